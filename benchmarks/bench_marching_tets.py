"""Benchmark marching tetrahedra: fast grid path vs kaolin drop-in vs kaolin's per-call algorithm.

On a BCC grid the size of GET3D's default ``tet_res 90`` grid (resolution 35: 96,881 vertices,
529,200 tets), for a sphere SDF and a white-noise SDF (crossings on about half of all edges), at
batch 1 and 4, forward and forward+backward. Each measurement runs in its own child process so that
its peak memory can be read (peak resident set size above the resident size after set-up on CPU,
with the kernel's peak mark reset after set-up; peak allocated memory on CUDA). Every
implementation's output is checked to be identical to the fast path's before it is timed.

    python benchmarks/bench_marching_tets.py [--resolution 35] [--repeats 5] [--device cpu]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import multiprocessing as mp
import resource
import statistics
import time

import torch

import dmtet
from dmtet.tables import num_triangles_table, triangle_table

EDGE_ORDER = torch.tensor([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])


def kaolin_baseline(vertices: torch.Tensor, tets: torch.Tensor, sdf: torch.Tensor) -> list[tuple]:
    """A straightforward implementation of kaolin's per-call algorithm (the reference to beat):
    ``torch.unique(dim=0)`` over the sorted edges of the emitting tets, every call, per sample."""
    table = triangle_table(vertices.device)
    counts_table = num_triangles_table(vertices.device)
    out = []
    for pos, s in zip(vertices, sdf, strict=True):
        with torch.no_grad():
            occ = s > 0
            occ4 = occ[tets]
            total = occ4.sum(-1)
            valid = (total > 0) & (total < 4)
            edges = tets[valid][:, EDGE_ORDER.to(tets.device)].reshape(-1, 2)
            edges = edges.sort(dim=1).values
            unique, inverse = torch.unique(edges, dim=0, return_inverse=True)
            crossing = occ[unique].sum(-1) == 1
            mapping = torch.full((unique.shape[0],), -1, dtype=torch.int64, device=pos.device)
            mapping[crossing] = torch.arange(int(crossing.sum()), device=pos.device)
            ids = mapping[inverse].reshape(-1, 6)
            interp = unique[crossing]
            case = (occ4[valid].long() * torch.tensor([1, 2, 4, 8], device=pos.device)).sum(-1)
            n = counts_table[case]
            faces = torch.cat(
                [
                    torch.gather(ids[n == 1], 1, table[case[n == 1]][:, :3]).reshape(-1, 3),
                    torch.gather(ids[n == 2], 1, table[case[n == 2]][:, :6]).reshape(-1, 3),
                ]
            )
        p, v = pos[interp.reshape(-1)].reshape(-1, 2, 3), s[interp.reshape(-1)].reshape(-1, 2, 1)
        v = torch.cat([v[:, :1], -v[:, 1:]], dim=1)
        weights = torch.flip(v, [1]) / v.sum(1, keepdim=True)
        out.append(((p * weights).sum(1), faces))
    return out


def _fields(grid: dmtet.TetGrid, kind: str, batch: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    if kind == "sphere":
        radii = torch.linspace(0.3, 0.4, batch).unsqueeze(-1)
        return radii - grid.vertices.cpu().norm(dim=-1)
    return torch.rand(batch, grid.num_vertices, generator=gen) - 0.5


def _run(impl: str, grid: dmtet.TetGrid, sdf: torch.Tensor, backward: bool) -> list[torch.Tensor]:
    sdf = sdf.detach().requires_grad_(backward)
    if impl == "fast":
        meshes = dmtet.marching_tets(grid, sdf)
        result = [(m.vertices, m.faces) for m in meshes]
    elif impl == "drop-in":
        v, f = dmtet.marching_tetrahedra(grid.vertices.expand(sdf.shape[0], -1, -1), grid.tets, sdf)
        result = list(zip(v, f, strict=True))
    else:
        result = kaolin_baseline(grid.vertices.expand(sdf.shape[0], -1, -1), grid.tets, sdf)
    if backward:
        torch.stack([v.sum() for v, _ in result]).sum().backward()
    return result


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _release_free_heap() -> None:
    """Give freed heap memory back to the OS (glibc), so that the resident size after set-up is a
    fair baseline and the peak counts what the measured calls allocate."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of this process; False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _measure(args: tuple) -> tuple[list[float], float, bool]:
    impl, resolution, kind, batch, backward, repeats, device, threads = args
    torch.set_num_threads(threads)
    grid = dmtet.TetGrid.bcc(resolution).to(device)
    sdf = _fields(grid, kind, batch).to(device)
    expected = _run("fast", grid, sdf, False)
    got = _run(impl, grid, sdf, False)
    identical = all(
        torch.equal(a[0], b[0]) or torch.allclose(a[0], b[0], rtol=0, atol=1e-6)
        for a, b in zip(expected, got, strict=True)
    ) and all(torch.equal(a[1], b[1]) for a, b in zip(expected, got, strict=True))
    _run(impl, grid, sdf, backward)  # warm-up (allocator, autograd graph)
    del expected, got
    gc.collect()
    _release_free_heap()
    times = []
    cuda = device.startswith("cuda")
    base = _rss_bytes()
    _reset_peak_rss()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    for _ in range(repeats):
        start = time.perf_counter()
        result = _run(impl, grid, sdf, backward)
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        del result
    if cuda:
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = _peak_rss_bytes() - base
    return times, max(peak, 0) / 2**20, identical


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--resolution", type=int, default=35, help="BCC cells per side (35 ~ GET3D res 90)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (median shown)")
    parser.add_argument("--baseline-repeats", type=int, default=3, help="timed runs of the slow baseline")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:i]")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    args = parser.parse_args()

    grid = dmtet.TetGrid.bcc(args.resolution)
    print(f"grid: {grid}; device {args.device}; {args.threads} CPU threads; torch {torch.__version__}")
    header = f"{'field':>6} {'B':>2} {'pass':>8} | " + " | ".join(
        f"{name:>20}" for name in ("fast path", "drop-in", "kaolin per-call")
    )
    print(header + " | speed-up fast vs per-call")
    print("-" * len(header) + "-" * 28)
    ctx = mp.get_context("spawn")
    for kind in ("sphere", "noise"):
        for batch in (1, 4):
            for backward in (False, True):
                cells, medians = [], []
                for impl in ("fast", "drop-in", "baseline"):
                    repeats = args.baseline_repeats if impl == "baseline" else args.repeats
                    job = (impl, args.resolution, kind, batch, backward, repeats, args.device, args.threads)
                    with ctx.Pool(1) as pool:
                        times, peak, identical = pool.apply(_measure, (job,))
                    median = statistics.median(times)
                    medians.append(median)
                    flag = "" if identical else " DIFF!"
                    cells.append(f"{median * 1e3:8.1f} ms {peak:6.0f} MB{flag}")
                pass_name = "fwd+bwd" if backward else "fwd"
                print(
                    f"{kind:>6} {batch:>2} {pass_name:>8} | "
                    + " | ".join(f"{c:>20}" for c in cells)
                    + f" | {medians[2] / medians[0]:6.1f}x (drop-in {medians[2] / medians[1]:.1f}x)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
