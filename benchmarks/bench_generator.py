"""Benchmark GET3D's generator: ws -> triplanes -> SDF on the tet grid -> meshes -> render.

For the official configuration (34.3 M parameters, triplanes 256², BCC grid of 35 cells ≈ GET3D's
tet_res-90 grid) and the tiny test configuration, batch 1, it times each stage of the forward pass
and the whole forward+backward (loss = mean image + |sdf| regulariser), and reports the median
seconds and the peak memory of the measurement (peak resident set size above the baseline of the
child process on CPU; peak allocated memory on CUDA). Each measurement runs in its own process,
which creates one rasterizer context (``--backend``: ``auto`` picks nvdiffrast on CUDA when it
loads) and reuses it for every render. On CUDA each stage ends with a synchronisation.
``--json PATH`` also writes the results as JSON.

    python benchmarks/bench_generator.py [--config official|tiny|both] [--repeats 3]
                                         [--image-resolution 256] [--device cpu] [--batch 1]
                                         [--backend auto|torch|nvdiffrast] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import statistics
import time

import torch

import render
from get3d.networks import Generator, GeneratorConfig
from get3d.networks.rendering import render_textured
from render.camera import sample_cameras

STAGES = ("triplanes", "grid sdf", "marching tets", "render + texture")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _measure(
    config_name: str,
    mode: str,
    repeats: int,
    image_res: int,
    device_name: str,
    batch: int,
    backend: str,
    queue,
) -> None:
    """Child process: ``mode`` 'forward' (per-stage times, no grad) or 'backward' (forward+backward)."""
    torch.manual_seed(0)
    device = torch.device(device_name)
    cfg = GeneratorConfig() if config_name == "official" else GeneratorConfig.tiny()
    g = Generator(cfg).to(device)
    grid = g.tet_grid  # built with the generator, outside the timings
    ctx = render.make_context(backend, device=device)  # one context for every render
    z = torch.randn(batch, cfg.z_dim, device=device)
    cams = sample_cameras(batch, generator=torch.Generator().manual_seed(0)).to(device)
    z_tex = torch.randn_like(z)
    with torch.no_grad():
        ws = g.map_latents(z, z_tex)

    def forward() -> list[float]:
        marks = [time.perf_counter()]
        with torch.no_grad():
            planes = g.triplanes(ws)
            _sync(device)
            marks.append(time.perf_counter())
            geo = g.grid_geometry(planes, ws)
            _sync(device)
            marks.append(time.perf_counter())
            meshes = g.meshes(geo)
            _sync(device)
            marks.append(time.perf_counter())
            rgb, mask, hard = render_textured(
                meshes,
                cams,
                image_res,
                lambda pts: g.query_features(planes, ws, pts),
                lambda feat: g.features_to_rgb(feat, ws),
                cfg.feat_channels,
                backend=ctx,
            )
            _sync(device)
            marks.append(time.perf_counter())
        return [b - a for a, b in zip(marks[:-1], marks[1:], strict=True)]

    def backward() -> list[float]:
        t0 = time.perf_counter()
        out = g.render(g.map_latents(z, z_tex), cams, image_res, backend=ctx)
        (out.image.mean() + out.geometry.sdf_reg.mean()).backward()
        g.zero_grad(set_to_none=True)
        _sync(device)
        return [time.perf_counter() - t0]

    run = forward if mode == "forward" else backward
    base = _rss_mb()  # after building the model and grid; the warm-up run counts towards the peak
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    run()  # warm-up
    rows = [run() for _ in range(repeats)]
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak = max(_rss_mb() - base, 0.0)
    medians = [statistics.median(col) for col in zip(*rows, strict=True)]
    totals = statistics.median(sum(r) for r in rows)
    queue.put((medians, totals, peak, grid.num_vertices, type(ctx).__name__))


def _write_json(path: str, data: dict) -> None:
    """Write ``data`` as JSON atomically (a temporary file renamed over ``path``)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", choices=["official", "tiny", "both"], default="both")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--image-resolution", type=int, default=256)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=1, help="samples per forward pass")
    ap.add_argument("--backend", choices=["auto", "torch", "nvdiffrast"], default="auto")
    ap.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON")
    args = ap.parse_args()
    report: dict = {
        "device": args.device,
        "batch": args.batch,
        "backend": args.backend,
        "image_resolution": args.image_resolution,
        "repeats": args.repeats,
        "torch": torch.__version__,
        "configs": {},
    }
    configs = ["official", "tiny"] if args.config == "both" else [args.config]
    ctx = mp.get_context("spawn")
    print(
        f"device {args.device}, batch {args.batch}, image {args.image_resolution}², {args.repeats} repeats, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    for name in configs:
        cfg = GeneratorConfig() if name == "official" else GeneratorConfig.tiny()
        n_params = sum(p.numel() for p in Generator(cfg).parameters())
        print(
            f"\n{name}: {n_params:,} parameters, triplanes {cfg.triplane_resolution}², "
            f"BCC grid {cfg.grid_resolution}"
        )
        results = {}
        entry: dict = {"parameters": n_params}
        report["configs"][name] = entry
        for mode in ("forward", "backward"):
            queue = ctx.Queue()
            proc = ctx.Process(
                target=_measure,
                args=(
                    name,
                    mode,
                    args.repeats,
                    args.image_resolution,
                    args.device,
                    args.batch,
                    args.backend,
                    queue,
                ),
            )
            proc.start()
            proc.join()
            if proc.exitcode != 0:
                print(f"  {mode}: the measurement failed (exit code {proc.exitcode})")
                entry[mode] = {"error": f"exit code {proc.exitcode}"}
                continue
            results[mode] = queue.get()
            stages, total, peak, n_verts, ctx_name = results[mode]
            entry["grid_vertices"], entry["context"] = n_verts, ctx_name
            entry[mode] = {"seconds": total, "peak_mb": peak}
            if args.json:  # after every measurement, so that a timeout keeps what was measured
                _write_json(args.json, report)
            if mode == "forward":
                entry[mode]["stages"] = dict(zip(STAGES, stages, strict=True))
                print(f"  grid vertices {n_verts:,}, rasterizer {ctx_name}")
                print(f"  {'stage':<22} {'median s':>10} {'share':>7}")
                for stage, sec in zip(STAGES, stages, strict=True):
                    print(f"  {stage:<22} {sec:10.3f} {sec / sum(stages):7.0%}")
                print(f"  {'forward (no grad)':<22} {total:10.3f} {'':>7}   peak {peak:7.0f} MB")
            else:
                print(f"  {'forward+backward':<22} {total:10.3f} {'':>7}   peak {peak:7.0f} MB")
        if len(results) == 2:
            ratio = results["backward"][1] / results["forward"][1]
            entry["backward_over_forward"] = ratio
            print(f"  forward+backward / forward = {ratio:.2f}x")
    if args.json:
        _write_json(args.json, report)
        print(f"wrote {args.json}")
    failed = [
        f"{n}/{m}" for n, e in report["configs"].items() for m in ("forward", "backward") if "error" in e[m]
    ]
    if failed:
        raise SystemExit(f"bench_generator: failed measurements: {', '.join(failed)}")


if __name__ == "__main__":
    main()
