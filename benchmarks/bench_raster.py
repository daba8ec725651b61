"""Benchmark of the pure-PyTorch rasterizer, with Mesa's llvmpipe (software OpenGL) as the anchor.

It is one script over the usual ~500 lines on purpose: the CPU comparison (eager, compiled,
llvmpipe) and the GPU comparison (``--device cuda``: torch backend vs nvdiffrast) must time the
very same meshes, cameras and workload and print one table, so they share its scene builder,
subprocess runner and reporting.

Workload: a closed, bumpy sphere of ~40k and ~200k faces, seen by a perspective camera, filling
about half of a square frame, at 256^2, 512^2 and 1024^2.

- ``eager fwd``: ``render.rasterize`` + ``render.interpolate`` (3 channels: world position).
- ``compiled``: the same with ``TorchRasterContext(compile=True)`` (per-pixel kernels through
  ``torch.compile``; the compiling first call is excluded and its duration printed).
- ``fwd+bwd`` (eager; the compiled figure is in the note under each row): the same plus
  ``render.antialias`` of the hard mask, and the backward pass of a loss on the interpolated
  positions and the antialiased mask to the clip-space positions.
- ``llvmpipe fwd``: the same forward workload in OpenGL (moderngl, headless EGL context on Mesa's
  llvmpipe): upload the clip-space positions, draw, read back z/w, barycentrics and triangle ids
  (float32 RGBA, like ``rast``). Needs ``pip install moderngl`` and Mesa's EGL
  (``apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri``); skipped with a message otherwise.

Each measurement runs in a fresh subprocess so that its peak resident memory (above the
process's baseline after setup) can be reported. On a shared virtual machine the speed of a
whole process can differ by 1.5x from the next one's, so each configuration runs ``--rounds``
rounds that alternate a torch and an llvmpipe process; the fwd/gl ratio is taken within each
round (printed) and its median over rounds is reported, with the medians of the seconds. Also
printed: the ratio of CPU time (all threads) of the forward passes.
On a busy machine, prefer ``--threads 1`` (or ``OMP_WAIT_POLICY=PASSIVE``): OpenMP's spinning
barriers make multi-threaded PyTorch many times slower when its cores are oversubscribed.

With ``--device cuda`` it compares nvdiffrast with the torch backend on the GPU instead (no
llvmpipe, no compile): the same meshes at 512^2, 1024^2 and 2048^2 by default, ``fwd`` and
``fwd+bwd`` as above, each op given the backend explicitly. All runs share one process (the GPU is
not shared with other work, and peak memory is ``torch.cuda.max_memory_allocated`` reset before
each configuration); times are medians over ``--repeats`` runs after a warm-up, measured with CUDA
events around each run and a synchronisation after it. A configuration that fails (e.g. out of
memory, or nvdiffrast missing) is reported and the others still run.

``--json PATH`` also writes every measurement (both devices) as JSON.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_raster.py [--sizes 256 512 1024] [--repeats 7]
    PYTHONPATH=. python benchmarks/bench_raster.py --device cuda [--json raster.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

MESHES = {"40k": (100, 200), "200k": (224, 448), "1k": (16, 32)}  # 1k: quick checks only
DEFAULT_MESHES = ["40k", "200k"]


def bumpy_sphere(n_lat: int, n_lon: int):
    """Welded bumpy UV sphere: vertices [V, 3] float32, faces [F, 3] int64 (F = 2 n_lon (n_lat - 1))."""
    import torch

    i = torch.arange(1, n_lat, dtype=torch.float64)
    j = torch.arange(n_lon, dtype=torch.float64)
    th, ph = torch.meshgrid(math.pi * i / n_lat, 2 * math.pi * j / n_lon, indexing="ij")
    r = 0.5 * (1 + 0.08 * torch.sin(5 * th) * torch.cos(7 * ph))
    ring = torch.stack([r * th.sin() * ph.cos(), r * th.cos(), r * th.sin() * ph.sin()], -1).reshape(-1, 3)
    verts = torch.cat(
        [torch.tensor([[0.0, 0.5, 0.0]], dtype=torch.float64), ring, torch.tensor([[0.0, -0.5, 0.0]])]
    )
    idx = torch.arange(n_lon)
    faces = [torch.stack([torch.zeros(n_lon, dtype=torch.long), 1 + (idx + 1) % n_lon, 1 + idx], 1)]
    for k in range(n_lat - 2):
        a, b = 1 + k * n_lon + idx, 1 + k * n_lon + (idx + 1) % n_lon
        c, d = a + n_lon, b + n_lon
        faces += [torch.stack([a, b, d], 1), torch.stack([a, d, c], 1)]
    last = verts.shape[0] - 1
    a, b = 1 + (n_lat - 2) * n_lon + idx, 1 + (n_lat - 2) * n_lon + (idx + 1) % n_lon
    faces.append(torch.stack([torch.full((n_lon,), last), a, b], 1))
    return verts.float(), torch.cat(faces)


def clip_positions(verts):
    """[1, V, 4] clip-space positions: camera 1.5 units away, fovy 49 deg (GET3D's near plane 0.1)."""
    import torch

    f = 1.0 / math.tan(math.radians(49.0) / 2)
    near, far = 0.1, 1000.0
    proj = torch.tensor(
        [
            [f, 0, 0, 0],
            [0, f, 0, 0],
            [0, 0, -(far + near) / (far - near), -2 * far * near / (far - near)],
            [0, 0, -1, 0],
        ]
    )
    ang = 0.4
    rot = torch.tensor([[math.cos(ang), 0, math.sin(ang)], [0, 1, 0], [-math.sin(ang), 0, math.cos(ang)]])
    cam = verts @ rot.T + torch.tensor([0.0, 0.0, -1.5])
    return (torch.cat([cam, torch.ones(len(cam), 1)], 1) @ proj.T)[None].contiguous()


def _median_time(fn, repeats: int) -> tuple[float, float]:
    """Median wall-clock seconds and median CPU seconds (all threads of the process) of ``fn``."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return sorted(wall)[len(wall) // 2], sorted(cpu)[len(cpu) // 2]


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _peak_mb(baseline_kb: int) -> float:
    return max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline_kb) / 1024.0


def worker_torch(mesh: str, res: int, mode: str, repeats: int) -> dict:
    import torch

    import render

    verts, faces = bumpy_sphere(*MESHES[mesh])
    pos = clip_positions(verts)
    ctx = render.make_context("torch", compile=mode in ("fwdc", "bwdc"))
    out: dict = {"threads": torch.get_num_threads(), "faces": int(faces.shape[0])}
    if mode in ("fwd", "fwdc"):

        def step():
            with torch.no_grad():
                rast, _ = render.rasterize(ctx, pos, faces, (res, res))
                render.interpolate(verts, rast, faces, backend=ctx)

        t0 = time.perf_counter()
        with torch.no_grad():  # compiles with fwdc (dynamic shapes: once for every size)
            rast, _ = render.rasterize(ctx, pos, faces, (64, 64))
            render.interpolate(verts, rast, faces, backend=ctx)
        out["first_call_s"] = time.perf_counter() - t0
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rast, _ = render.rasterize(ctx, pos, faces, (res, res))
        out["coverage"] = float((rast[..., 3] > 0).float().mean())
    else:
        try:
            from render.torch_backend import antialias as _aa  # noqa: F401

            has_aa = True
        except ImportError:
            has_aa = False
        out["antialias"] = has_aa

        def step():
            p = pos.clone().requires_grad_(True)
            rast, _ = render.rasterize(ctx, p, faces, (res, res))
            feat, _ = render.interpolate(verts, rast, faces, backend=ctx)
            loss = feat.square().mean()
            if has_aa:
                mask = render.antialias(rast[..., 3:].clamp(0, 1), rast, p, faces)
                loss = loss + mask.mean()
            loss.backward()

        if mode == "bwdc":  # compile outside the measurement
            step()
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    out["seconds"], out["cpu_seconds"] = _median_time(step, repeats)
    out["peak_mb"] = _peak_mb(baseline)
    return out


def _cuda_step(backend: str, ctx, pos, verts, faces, res: int, mode: str):
    """One fwd or fwd+bwd run on CUDA with every op on ``backend`` ('torch' or 'nvdiffrast')."""
    import torch

    import render

    interp_backend = ctx if backend == "torch" else "nvdiffrast"

    def fwd():
        with torch.no_grad():
            rast, _ = render.rasterize(ctx, pos, faces, (res, res))
            render.interpolate(verts, rast, faces, backend=interp_backend)

    def bwd():
        p = pos.clone().requires_grad_(True)
        rast, _ = render.rasterize(ctx, p, faces, (res, res))
        feat, _ = render.interpolate(verts, rast, faces, backend=interp_backend)
        mask = render.antialias(rast[..., 3:].clamp(0, 1), rast, p, faces, backend=backend)
        (feat.square().mean() + mask.mean()).backward()

    return fwd if mode == "fwd" else bwd


def measure_backend(backend: str, mesh: str, res: int, mode: str, repeats: int, device) -> dict:
    """Median milliseconds and peak allocated memory of one configuration on ``device``.

    On CUDA (what ``--device cuda`` runs) each run is timed with CUDA events and followed by a
    synchronisation; elsewhere (checks of this code on CPU) with ``time.perf_counter``, and the
    peak memory is not measured (0).
    """
    import torch

    import render

    cuda = device.type == "cuda"
    verts, faces = bumpy_sphere(*MESHES[mesh])
    verts, faces = verts.to(device), faces.to(device=device, dtype=torch.int32)
    pos = clip_positions(verts.cpu()).to(device)
    t0 = time.perf_counter()
    ctx = render.make_context(backend, device=device)
    step = _cuda_step(backend, ctx, pos, verts, faces, res, mode)
    step()  # warm-up (and, for nvdiffrast, loading the plugin and sizing its buffers)
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            step()
            end.record()
            torch.cuda.synchronize(device)
            times.append(start.elapsed_time(end))
        else:
            t1 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t1) * 1e3)
    peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20 if cuda else 0.0
    with torch.no_grad():
        rast, _ = render.rasterize(ctx, pos, faces, (res, res))
    return {
        "backend": backend,
        "mesh": mesh,
        "faces": int(faces.shape[0]),
        "res": res,
        "mode": mode,
        "ms": _median(times),
        "ms_min": min(times),
        "peak_mb": peak,
        "first_call_s": first,
        "coverage": float((rast[..., 3] > 0).float().mean()),
    }


def main_cuda(args) -> list[dict]:
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("bench_raster --device cuda: CUDA is not available")
    device = torch.device("cuda", torch.cuda.current_device())
    sizes = args.sizes or [512, 1024, 2048]
    modes = ["fwd"] if args.no_backward else ["fwd", "bwd"]
    name = torch.cuda.get_device_name()
    print(f"bench_raster on {name}, torch {torch.__version__}, median of {args.repeats} runs (CUDA events)")
    header = (
        f"{'mesh':>5} {'res':>5} {'mode':>4} | {'torch':>10} {'peak':>8} | "
        f"{'nvdiffrast':>10} {'peak':>8} | {'torch/nvdr':>10}"
    )
    print(header)
    print("-" * len(header))
    rows: list[dict] = []
    for mesh in args.meshes:
        for res in sizes:
            for mode in modes:
                got = {}
                for backend in ("torch", "nvdiffrast"):
                    try:
                        got[backend] = measure_backend(backend, mesh, res, mode, args.repeats, device)
                    except Exception as err:  # report and go on (OOM, nvdiffrast missing, ...)
                        got[backend] = {
                            "backend": backend,
                            "mesh": mesh,
                            "res": res,
                            "mode": mode,
                            "error": f"{type(err).__name__}: {err}",
                        }
                    rows.append(got[backend])
                    torch.cuda.empty_cache()
                    if args.json:  # after every run, so that a timeout keeps what was measured
                        _write_json(
                            args.json, {"device": "cuda", "gpu": name, "repeats": args.repeats, "rows": rows}
                        )
                cells = [f"{mesh:>5} {res:>5} {mode:>4} |"]
                for backend in ("torch", "nvdiffrast"):
                    r = got[backend]
                    cells.append(
                        f" {r['ms']:8.2f}ms {r['peak_mb']:6.0f}MB |"
                        if "ms" in r
                        else f" {'failed':>10} {'':>8} |"
                    )
                if "ms" in got["torch"] and "ms" in got["nvdiffrast"]:
                    cells.append(f" {got['torch']['ms'] / got['nvdiffrast']['ms']:9.1f}x")
                print("".join(cells), flush=True)
                for r in got.values():
                    if "error" in r:
                        print(f"{'':>17}{r['backend']}: {r['error']}")
    return rows


_VS = """
#version 330
in vec4 in_pos;
out vec2 bary;
void main() {
    int k = gl_VertexID % 3;
    bary = vec2(k == 0 ? 1.0 : 0.0, k == 1 ? 1.0 : 0.0);
    gl_Position = in_pos;
}
"""
_FS = """
#version 330
in vec2 bary;
out vec4 rast;
void main() {
    rast = vec4(bary, gl_FragCoord.z * 2.0 - 1.0, float(gl_PrimitiveID + 1));
}
"""


def worker_gl(mesh: str, res: int, repeats: int) -> dict:
    import moderngl
    import numpy as np

    verts, faces = bumpy_sphere(*MESHES[mesh])
    pos = clip_positions(verts)[0]
    soup = pos[faces.reshape(-1)].numpy().astype(np.float32)  # [3 F, 4] unindexed: per-corner bary
    gl = moderngl.create_context(standalone=True, backend="egl")
    renderer = gl.info["GL_RENDERER"]
    prog = gl.program(vertex_shader=_VS, fragment_shader=_FS)
    vbo = gl.buffer(reserve=soup.nbytes)
    vao = gl.vertex_array(prog, [(vbo, "4f", "in_pos")])
    color = gl.renderbuffer((res, res), components=4, dtype="f4")
    depth = gl.depth_renderbuffer((res, res))
    fbo = gl.framebuffer(color_attachments=[color], depth_attachment=depth)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def step():
        vbo.write(soup)
        fbo.use()
        gl.enable(moderngl.DEPTH_TEST)
        gl.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        vao.render(moderngl.TRIANGLES)
        data = np.frombuffer(fbo.read(components=4, dtype="f4"), dtype=np.float32)
        return data.reshape(res, res, 4)

    img = step()
    out = {"renderer": renderer, "coverage": float((img[..., 3] > 0).mean())}
    out["seconds"], out["cpu_seconds"] = _median_time(step, repeats)
    out["peak_mb"] = _peak_mb(baseline)
    return out


def _run(args: list[str], threads: int | None = None) -> dict | str:
    env = dict(os.environ)
    if threads:  # the same number of threads for torch (intra-op) and llvmpipe
        env["OMP_NUM_THREADS"] = env["LP_NUM_THREADS"] = str(threads)
    env.setdefault("PYTHONPATH", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", *args],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        return lines[-1] if lines else f"exit code {proc.returncode}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=None, help="default: 256 512 1024 (cpu), 512 1024 2048 (cuda)"
    )
    parser.add_argument("--meshes", nargs="+", default=DEFAULT_MESHES, choices=list(MESHES))
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per process")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating torch / llvmpipe processes per configuration"
    )
    parser.add_argument("--no-backward", action="store_true", help="skip the forward+backward runs")
    parser.add_argument(
        "--no-compile", action="store_true", help="skip the TorchRasterContext(compile=True) runs"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="threads for torch and llvmpipe (default: all)"
    )
    parser.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="cpu: torch vs llvmpipe; cuda: torch vs nvdiffrast",
    )
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the measurements as JSON")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, mesh, res, *rest = args.worker
        if kind == "torch":
            result = worker_torch(mesh, int(res), rest[0], args.repeats)
        else:
            result = worker_gl(mesh, int(res), args.repeats)
        print(json.dumps(result))
        return
    if args.device == "cuda":
        rows = main_cuda(args)
    else:
        rows = main_cpu(args)
    if args.json:
        extra = {"gpu": torch_gpu_name()} if args.device == "cuda" else {}
        _write_json(args.json, {"device": args.device, **extra, "repeats": args.repeats, "rows": rows})
        print(f"wrote {args.json}")
    if any("error" in r for r in rows if isinstance(r, dict)):
        raise SystemExit("bench_raster: some configurations failed (see above)")


def torch_gpu_name() -> str:
    import torch

    return torch.cuda.get_device_name()


def _write_json(path: str, data: dict) -> None:
    """Write ``data`` as JSON atomically (a temporary file renamed over ``path``)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def main_cpu(args) -> list[dict]:
    """The CPU benchmark (torch eager / compiled against llvmpipe); returns its rows."""
    args.sizes = args.sizes or [256, 512, 1024]
    rows: list[dict] = []
    threads = args.threads or "default"
    print(
        f"bench_raster: {os.cpu_count()} CPUs, threads {threads}, median of {args.repeats} runs per "
        f"process, median over {args.rounds} alternating rounds; peak = extra RSS"
    )
    header = (
        f"{'mesh':>5} {'res':>5} | {'eager fwd':>10} {'peak':>7} | {'compiled':>10} {'peak':>7} | "
        f"{'llvmpipe':>10} {'peak':>7} | {'eager/gl':>8} {'comp/gl':>8} | {'fwd+bwd':>10} {'peak':>7}"
    )
    print(header)
    print("-" * len(header))
    gl_note = None
    cpu_ratios: list[str] = []
    modes = ["fwd"] if args.no_compile else ["fwd", "fwdc"]
    for mesh in args.meshes:
        for res in args.sizes:
            # rounds alternate fresh torch and llvmpipe processes, so that both see the same
            # machine state; the ratios are taken within each round, then the median over rounds
            runs: dict[str, list[dict]] = {m: [] for m in modes}
            ratios: dict[str, list[float]] = {m: [] for m in modes}
            gls, cpu = [], []
            for _ in range(args.rounds):
                got = {}
                for m in modes:
                    r = _run(["torch", mesh, str(res), m, "--repeats", str(args.repeats)], args.threads)
                    if isinstance(r, str):
                        raise SystemExit(f"torch {m} failed: {r}")
                    runs[m].append(r)
                    got[m] = r
                gl = _run(["gl", mesh, str(res), "--repeats", str(args.repeats)], args.threads)
                if isinstance(gl, str):
                    gl_note = gl
                    continue
                gls.append(gl)
                for m in modes:
                    ratios[m].append(got[m]["seconds"] / gl["seconds"])
                cpu.append(got["fwd"]["cpu_seconds"] / gl["cpu_seconds"])
            bwd = bwdc = None
            if not args.no_backward:
                bwd = _run(["torch", mesh, str(res), "bwd", "--repeats", str(args.repeats)], args.threads)
                if not args.no_compile:
                    bwdc = _run(
                        ["torch", mesh, str(res), "bwdc", "--repeats", str(args.repeats)], args.threads
                    )
            cells = [f"{mesh:>5} {res:>5} |"]
            for m in ("fwd", "fwdc"):
                if m in runs:
                    sec = _median([r["seconds"] for r in runs[m]])
                    peak = max(r["peak_mb"] for r in runs[m])
                    cells.append(f" {sec * 1e3:8.1f}ms {peak:5.0f}MB |")
                else:
                    cells.append(f" {'-':>10} {'':>7} |")
            if gls:
                gl_s = _median([g["seconds"] for g in gls])
                gl_peak = max(g["peak_mb"] for g in gls)
                cpu_ratios.append(f"{mesh} {res}: {_median(cpu):.2f}x")
                comp = f"{_median(ratios['fwdc']):7.2f}x" if "fwdc" in ratios else f"{'-':>8}"
                cells.append(
                    f" {gl_s * 1e3:8.1f}ms {gl_peak:5.0f}MB | {_median(ratios['fwd']):7.2f}x {comp} |"
                )
            else:
                cells.append(f" {'n/a':>10} {'':>7} | {'n/a':>8} {'n/a':>8} |")
            if isinstance(bwd, dict):
                tag = "" if bwd.get("antialias") else " (no antialias)"
                cells.append(f" {bwd['seconds'] * 1e3:8.1f}ms {bwd['peak_mb']:5.0f}MB{tag}")
            elif isinstance(bwd, str):
                cells.append(f" failed: {bwd}")
            print("".join(cells), flush=True)
            notes = [f"coverage torch {runs['fwd'][0]['coverage']:.3f}"]
            if gls:
                notes[0] += f" / gl {gls[0]['coverage']:.3f}"
                for m in modes:
                    notes.append(f"{m}/gl per round " + " ".join(f"{r:.2f}" for r in ratios[m]))
            if "fwdc" in runs:
                notes.append(f"first compiled call {_median([r['first_call_s'] for r in runs['fwdc']]):.1f}s")
            if isinstance(bwdc, dict):
                notes.append(f"compiled fwd+bwd {bwdc['seconds'] * 1e3:.1f}ms")
            notes.append(f"torch threads {runs['fwd'][0]['threads']}")
            print(f"{'':>12}  (" + "; ".join(notes) + ")")
            rows.append(
                {
                    "mesh": mesh,
                    "res": res,
                    "faces": runs["fwd"][0]["faces"],
                    "runs": {m: runs[m] for m in modes},
                    "llvmpipe": gls,
                    "fwd_bwd": bwd,
                    "fwd_bwd_compiled": bwdc,
                }
            )
    if cpu_ratios:
        print("forward CPU-time ratio torch/llvmpipe (robust to other load): " + ", ".join(cpu_ratios))
    if gl_note:
        print(f"llvmpipe anchor skipped: {gl_note}")
        print("  install: pip install moderngl; apt-get install -y libegl1 libegl-mesa0 libgl1-mesa-dri")
    return rows


if __name__ == "__main__":
    main()
