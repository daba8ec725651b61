"""Benchmark sampling one shape and exporting it as a textured GLB (defaults: GET3D's export).

For the official configuration (34.3 M parameters, random weights, BCC grid of 35 cells ≈ GET3D's
tet_res-90 grid), the tiny test configuration and ``field`` (no generator: a marching-tets noisy
sphere on a BCC grid of 70 cells, about 142k faces, coloured by an analytic field), each in its own
process with ``--threads`` torch threads (default 2): build the generator, recompute ``w_avg``
(GET3D's step, ``--w-avg-samples``, reported separately, it is once per session), then per repeat
sample one shape (latents -> triplanes -> grid SDF -> marching tets) and export it (xatlas unwrap of
the full mesh, or after simplification to ``--max-faces`` when given, bake a ``--texture-size``²
texture, write the GLB). Prints median wall seconds per stage, the CPU seconds of the whole
sample+export (all threads; on a shared, loaded machine wall time inflates, CPU time much less),
the faces before/after simplification, the atlas' charts, seam vertices (UV vertices minus
positions) and texel utilisation (texels covered by a UV triangle), and the process's peak
resident memory.

    python benchmarks/bench_export.py [--config official|tiny|field|both] [--repeats 3]
                                      [--texture-size 2048] [--max-faces 0] [--threads 2]
                                      [--w-avg-samples 100000]
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

from dmtet.grid import TetGrid
from dmtet.marching import marching_tets
from get3d.export import TexturedMesh, write_glb
from get3d.export.bake import bake_texture
from get3d.export.unwrap import unwrap
from get3d.networks import Generator, GeneratorConfig, Latents
from get3d.sampling import generator_color_fn, prepare_generator, sample_latents
from render.normals import vertex_normals

STAGES = ("sample", "unwrap", "bake", "write glb", "total")


def _field_mesh(resolution: int = 70) -> tuple[torch.Tensor, torch.Tensor]:
    """A marching-tets noisy sphere (about 142k faces at 70 cells), official-size export input."""
    grid = TetGrid.bcc(resolution)
    v = grid.vertices
    noise = 0.04 * torch.sin(7 * v[:, 0]) * torch.cos(5 * v[:, 1]) + 0.03 * torch.sin(
        9 * v[:, 2] + 3 * v[:, 0]
    )
    mesh = marching_tets(grid, (0.42 + noise - v.norm(dim=1))[None], outward=True)[0]
    return mesh.vertices, mesh.faces


def _field_color(points: torch.Tensor) -> torch.Tensor:
    x, y, z = points.unbind(-1)
    return torch.stack([torch.sin(3.0 * x), torch.cos(2.0 * y + 0.5), (x * 1.5 + z).clamp(-1, 1)], dim=-1)


def _export(vertices, faces, color_fn, texture_size: int, max_faces: int | None, path: str) -> tuple:
    """Unwrap, bake, write; returns ((unwrap, bake, write) seconds, the mesh, atlas statistics)."""
    t0 = time.perf_counter()
    layout = unwrap(vertices, faces, max_faces=max_faces, padding=max(2, texture_size // 256))
    t1 = time.perf_counter()
    baked = bake_texture(layout.vertices, layout.faces, layout.uvs, layout.uv_faces, color_fn, texture_size)
    texture = ((baked.texture + 1) / 2).clamp(0, 1)
    tm = TexturedMesh(
        vertices=layout.vertices,
        faces=layout.faces,
        normals=vertex_normals(layout.vertices, layout.faces, fallback=(0.0, 1.0, 0.0)),
        uvs=layout.uvs,
        uv_faces=layout.uv_faces,
        uv_vertex=layout.uv_vertex,
        texture=texture,
    )
    t2 = time.perf_counter()
    write_glb(path, tm)
    t3 = time.perf_counter()
    stats = {
        "seam_vertices": layout.uvs.shape[0] - layout.vertices.shape[0],
        "utilisation": float(baked.covered.float().mean()),
    }
    return (t1 - t0, t2 - t1, t3 - t2), tm, stats


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _measure(
    name: str, repeats: int, texture_size: int, max_faces: int, threads: int, w_avg_samples: int, queue
) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    budget = max_faces or None
    times = {s: [] for s in STAGES}
    faces, cpu, stats = [], [], []
    build = w_avg = 0.0
    grid_vertices = 0
    G = None
    if name != "field":
        cfg = GeneratorConfig() if name == "official" else GeneratorConfig.tiny()
        t0 = time.perf_counter()
        G = Generator(cfg).eval().requires_grad_(False)
        build = time.perf_counter() - t0
        grid_vertices = G.tet_grid.num_vertices
        t0 = time.perf_counter()
        prepare_generator(G, w_avg_samples=w_avg_samples)
        w_avg = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        seed, done = 0, 0
        while done < repeats and seed < 50:
            t0, c0 = time.perf_counter(), time.process_time()
            if G is None:
                vertices, faces_in = _field_mesh()
                color_fn = _field_color
            else:
                lat = sample_latents(G, 1, geo_seed=seed, psi=0.7)
                one = Latents(geo=lat.ws.geo, tex=lat.ws.tex)
                with torch.no_grad():
                    planes = G.triplanes(one)
                    mesh = G.meshes(G.grid_geometry(planes, one))[0]
                vertices, faces_in = mesh.vertices, mesh.faces
                color_fn = generator_color_fn(G, one, planes=planes)
            t1 = time.perf_counter()
            seed += 1
            if faces_in.shape[0] == 0:
                continue
            stage, tm, st = _export(
                vertices, faces_in, color_fn, texture_size, budget, os.path.join(tmp, "shape.glb")
            )
            cpu.append(time.process_time() - c0)
            for key, dt in zip(STAGES, (t1 - t0, *stage, t1 - t0 + sum(stage)), strict=True):
                times[key].append(dt)
            faces.append((faces_in.shape[0], tm.num_faces))
            stats.append(st)
            done += 1
    queue.put(
        {
            "config": name,
            "grid_vertices": grid_vertices,
            "build": build,
            "w_avg": w_avg,
            "median": {s: statistics.median(v) for s, v in times.items() if v},
            "faces": faces,
            "stats": stats[0] if stats else {"seam_vertices": 0, "utilisation": float("nan")},
            "cpu": statistics.median(cpu) if cpu else float("nan"),
            "peak_rss_mb": _rss_mb(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="both", choices=["official", "tiny", "field", "both"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--texture-size", type=int, default=2048)
    parser.add_argument("--max-faces", type=int, default=0, help="0: the full mesh (default)")
    parser.add_argument("--w-avg-samples", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    names = ["official", "tiny"] if args.config == "both" else [args.config]
    ctx = mp.get_context("spawn")
    print(
        f"threads {args.threads}, texture {args.texture_size}², max faces {args.max_faces or 'all'}, "
        f"repeats {args.repeats}"
    )
    header = f"{'config':<9} {'grid V':>7} {'w_avg':>6} " + " ".join(f"{s:>12}" for s in STAGES)
    print(
        header + f" {'CPU s (total)':>14} {'faces in -> out':>18} {'seam V':>7} {'texels':>6} {'peak RSS':>9}"
    )
    for name in names:
        queue = ctx.Queue()
        proc = ctx.Process(
            target=_measure,
            args=(
                name,
                args.repeats,
                args.texture_size,
                args.max_faces,
                args.threads,
                args.w_avg_samples,
                queue,
            ),
        )
        proc.start()
        res = queue.get()
        proc.join()
        med = res["median"]
        faces = res["faces"][0] if res["faces"] else (0, 0)
        print(
            f"{name:<9} {res['grid_vertices']:>7} {res['w_avg']:>5.1f}s "
            + " ".join(f"{med.get(s, float('nan')):>11.2f}s" for s in STAGES)
            + f" {res['cpu']:>13.2f}s {faces[0]:>8} -> {faces[1]:<7} {res['stats']['seam_vertices']:>7}"
            + f" {res['stats']['utilisation']:>6.1%} {res['peak_rss_mb']:>7.0f}MB"
        )


if __name__ == "__main__":
    main()
