"""Benchmark sampling one shape and exporting it as a textured GLB.

For the official configuration (34.3 M parameters, random weights, BCC grid of 35 cells ≈ GET3D's
tet_res-90 grid) and the tiny test configuration, each in its own process with ``--threads``
torch threads (default 2): build the generator, recompute ``w_avg`` (GET3D's 100k-sample step,
reported separately, it is once per session), then per repeat sample one shape (latents ->
triplanes -> grid SDF -> marching tets) and export it (xatlas unwrap after simplification to
``--max-faces``, bake a ``--texture-size``² texture, write the GLB). Prints median wall seconds
per stage, the CPU seconds of the whole sample+export (all threads; on a shared, loaded machine
wall time inflates, CPU time much less), the faces before/after simplification, and the
process's peak resident memory.

    python benchmarks/bench_export.py [--config official|tiny|both] [--repeats 3]
                                      [--texture-size 1024] [--max-faces 20000] [--threads 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import statistics
import tempfile
import time

import torch

from get3d.export import texture_mesh, write_glb
from get3d.networks import Generator, GeneratorConfig, Latents
from get3d.sampling import generator_color_fn, prepare_generator, sample_latents

STAGES = ("sample", "unwrap+bake", "write glb", "total")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _measure(name: str, repeats: int, texture_size: int, max_faces: int, threads: int, queue) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = GeneratorConfig() if name == "official" else GeneratorConfig.tiny()
    t0 = time.perf_counter()
    G = Generator(cfg).eval().requires_grad_(False)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    prepare_generator(G, w_avg_samples=100_000)
    w_avg = time.perf_counter() - t0
    times = {s: [] for s in STAGES}
    faces, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        seed, done = 0, 0
        while done < repeats and seed < 50:
            t0, c0 = time.perf_counter(), time.process_time()
            lat = sample_latents(G, 1, geo_seed=seed, psi=0.7)
            one = Latents(geo=lat.ws.geo, tex=lat.ws.tex)
            with torch.no_grad():
                planes = G.triplanes(one)
                mesh = G.meshes(G.grid_geometry(planes, one))[0]
            t1 = time.perf_counter()
            seed += 1
            if mesh.faces.shape[0] == 0:
                continue
            tm = texture_mesh(
                mesh.vertices,
                mesh.faces,
                generator_color_fn(G, one, planes=planes),
                texture_size=texture_size,
                max_faces=max_faces,
            )
            t2 = time.perf_counter()
            write_glb(os.path.join(tmp, "shape.glb"), tm)
            t3 = time.perf_counter()
            cpu.append(time.process_time() - c0)
            for stage, dt in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
                times[stage].append(dt)
            faces.append((mesh.faces.shape[0], tm.num_faces))
            done += 1
    queue.put(
        {
            "config": name,
            "grid_vertices": G.tet_grid.num_vertices,
            "build": build,
            "w_avg": w_avg,
            "median": {s: statistics.median(v) for s, v in times.items() if v},
            "faces": faces,
            "cpu": statistics.median(cpu) if cpu else float("nan"),
            "peak_rss_mb": _rss_mb(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="both", choices=["official", "tiny", "both"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--texture-size", type=int, default=1024)
    parser.add_argument("--max-faces", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    names = ["official", "tiny"] if args.config == "both" else [args.config]
    ctx = mp.get_context("spawn")
    print(
        f"threads {args.threads}, texture {args.texture_size}², max faces {args.max_faces}, "
        f"repeats {args.repeats}"
    )
    header = f"{'config':<9} {'grid V':>7} {'w_avg':>6} " + " ".join(f"{s:>12}" for s in STAGES)
    print(header + f" {'CPU s (total)':>14} {'faces in -> out':>18} {'peak RSS':>9}")
    for name in names:
        queue = ctx.Queue()
        proc = ctx.Process(
            target=_measure, args=(name, args.repeats, args.texture_size, args.max_faces, args.threads, queue)
        )
        proc.start()
        res = queue.get()
        proc.join()
        med = res["median"]
        faces = res["faces"][0] if res["faces"] else (0, 0)
        print(
            f"{name:<9} {res['grid_vertices']:>7} {res['w_avg']:>5.1f}s "
            + " ".join(f"{med.get(s, float('nan')):>11.2f}s" for s in STAGES)
            + f" {res['cpu']:>13.2f}s {faces[0]:>8} -> {faces[1]:<7} {res['peak_rss_mb']:>7.0f}MB"
        )


if __name__ == "__main__":
    main()
