"""Benchmark FlexiCubes against marching tets: forward+backward time and peak memory.

FlexiCubes on a ``--resolution``^3 voxel grid (GET3D's FlexiCubes default is 90: 753,571 vertices,
729,000 cubes) with GET3D's 21 random per-cube weights in training mode, beside
``dmtet.marching_tets`` on a BCC grid of comparable size (``--bcc-resolution``, 35 ~ GET3D's
``tet_res 90`` tet grid). Fields: a sphere and white noise, batch ``--batch`` (FlexiCubes is
unbatched, so the batch is a loop as in GET3D). Each measurement runs in its own child process so
that its peak memory can be read (peak resident set size above the resident size after set-up on
CPU; peak allocated memory on CUDA). Medians over ``--repeats`` runs.

    python benchmarks/bench_flexicubes.py [--resolution 90] [--bcc-resolution 35] [--batch 4]
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import statistics
import time

import torch
from bench_marching_tets import _peak_rss_bytes, _release_free_heap, _reset_peak_rss, _rss_bytes

import dmtet


def _field(points: torch.Tensor, kind: str, batch: int, positive_inside: bool) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    if kind == "sphere":
        radii = torch.linspace(0.3, 0.4, batch).unsqueeze(-1)
        inside_positive = radii - points.norm(dim=-1)
    else:
        inside_positive = torch.rand(batch, points.shape[0], generator=gen) - 0.5
    return inside_positive if positive_inside else -inside_positive


def _run_flexicubes(setup: dict, backward: bool) -> None:
    x, cubes, res, sdf, weights = setup["x"], setup["cubes"], setup["res"], setup["sdf"], setup["w"]
    sdf = sdf.detach().requires_grad_(backward)
    weights = weights.detach().requires_grad_(backward)
    total = 0
    for b in range(sdf.shape[0]):
        w = weights[b]
        mesh = dmtet.flexicubes(
            x, sdf[b], cubes, res, beta=w[:, :12], alpha=w[:, 12:20], gamma=w[:, 20],
            weight_scale=0.5, split=dmtet.QuadSplit.CENTER,
        )  # fmt: skip
        total = total + mesh.vertices.sum() + 0.5 * mesh.l_dev.mean()
    if backward:
        total.backward()


def _run_marching(setup: dict, backward: bool) -> None:
    sdf = setup["sdf"].detach().requires_grad_(backward)
    meshes = dmtet.marching_tets(setup["grid"], sdf)
    if backward:
        torch.stack([m.vertices.sum() for m in meshes]).sum().backward()


def _measure(args: tuple) -> tuple[list[float], float]:
    impl, resolution, bcc_resolution, kind, batch, repeats, device, threads = args
    torch.set_num_threads(threads)
    if impl == "flexicubes":
        x, cubes = dmtet.construct_voxel_grid(resolution, device)
        gen = torch.Generator().manual_seed(1)
        w = 0.1 * torch.randn(batch, cubes.shape[0], 21, generator=gen)
        setup = {"x": x, "cubes": cubes, "res": resolution, "w": w.to(device)}
        setup["sdf"] = _field(x.cpu(), kind, batch, positive_inside=False).to(device)
        run = _run_flexicubes
    else:
        grid = dmtet.TetGrid.bcc(bcc_resolution).to(device)
        sdf = _field(grid.vertices.cpu(), kind, batch, positive_inside=True).to(device)
        setup = {"grid": grid, "sdf": sdf}
        run = _run_marching
    run(setup, True)  # warm-up
    gc.collect()
    _release_free_heap()
    cuda = device.startswith("cuda")
    base = _rss_bytes()
    _reset_peak_rss()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(setup, True)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() - base if cuda else _peak_rss_bytes() - base
    return times, max(peak, 0) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resolution", type=int, default=90, help="FlexiCubes cubes per side (GET3D: 90)")
    parser.add_argument("--bcc-resolution", type=int, default=35, help="BCC cells per side (35 ~ tet_res 90)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (median shown)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    args = parser.parse_args()

    grid = dmtet.TetGrid.bcc(args.bcc_resolution)
    r = args.resolution
    print(
        f"FlexiCubes: {r}^3 cubes, {(r + 1) ** 3} vertices; marching_tets: {grid}; batch {args.batch}, "
        f"forward+backward; device {args.device}; {args.threads} threads; torch {torch.__version__}"
    )
    print(f"{'field':>6} | {'FlexiCubes':>20} | {'marching_tets':>20} | time ratio | memory ratio")
    ctx = mp.get_context("spawn")
    for kind in ("sphere", "noise"):
        cells = {}
        for impl in ("flexicubes", "marching"):
            job = (impl, r, args.bcc_resolution, kind, args.batch, args.repeats, args.device, args.threads)
            with ctx.Pool(1) as pool:
                times, peak = pool.apply(_measure, (job,))
            cells[impl] = (statistics.median(times), peak)
        (tf, mf), (tm, mm) = cells["flexicubes"], cells["marching"]
        print(
            f"{kind:>6} | {tf * 1e3:9.1f} ms {mf:6.0f} MB | {tm * 1e3:9.1f} ms {mm:6.0f} MB | "
            f"{tf / tm:9.2f}x | {mf / max(mm, 1e-9):11.2f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
