"""Speed of the data pipeline: procedural shapes, prepare (rendering), the built-in data set.

Prints medians per shape. Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_data.py``
(``--full`` also builds the default built-in data set and reports its size and build time).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from get3d.data.builtin import CATEGORY_SCALE, ProceduralDatasetConfig, build_procedural_dataset
from get3d.data.meshes import load_mesh, normalize
from get3d.data.prepare import PrepareConfig, render_source_mesh, sample_view_angles
from get3d.data.procedural import generate_shape, write_shape


def _median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="also build the default built-in data set")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    tmp = Path(tempfile.mkdtemp())
    print("\nprocedural generator (mesh + 512^2 texture, then OBJ export), seconds per shape")
    for category in ("chair", "table", "car"):
        seeds = iter(range(1000))
        gen = _median_seconds(lambda c=category, s=seeds: generate_shape(c, next(s)), args.repeats * 3)
        write = _median_seconds(lambda c=category: write_shape(generate_shape(c, 0), tmp / c), args.repeats)
        print(f"  {category:6s} generate {gen:.3f}   generate+write {write:.3f}")

    print("\nprepare: render 24 views, seconds per shape (one process)")
    print(f"  {'category':8s} {'faces':>6s} {'128^2 ss2':>10s} {'256^2 ss1':>10s} {'256^2 ss2':>10s}")
    for category in ("chair", "table", "car"):
        mesh, _ = normalize(load_mesh(tmp / category / "model.obj"), CATEGORY_SCALE[category])
        row = []
        for resolution, supersample in ((128, 2), (256, 1), (256, 2)):
            config = PrepareConfig(resolution=resolution, supersample=supersample)
            rotation, elevation = sample_view_angles(category, config)
            row.append(
                _median_seconds(
                    lambda m=mesh, r=rotation, e=elevation, c=config: render_source_mesh(m, r, e, c),
                    args.repeats,
                )
            )
        print(f"  {category:8s} {len(mesh.faces):6d} " + " ".join(f"{t:10.2f}" for t in row))

    if args.full:
        config = ProceduralDatasetConfig()
        start = time.perf_counter()
        data = build_procedural_dataset(
            tmp / "builtin", config, workers=torch.get_num_threads(), progress=False
        )
        seconds = time.perf_counter() - start
        files = [p for p in data.root.rglob("*") if p.is_file()]
        pngs = [p for p in (data.root / "img").rglob("*.png")]
        size = sum(p.stat().st_size for p in files) / 2**20
        img_size = sum(p.stat().st_size for p in pngs) / 2**20
        shapes = len(config.categories) * config.shapes_per_category
        print(
            f"\ndefault built-in data set: {shapes} shapes, {len(pngs)} images of {config.resolution}^2, "
            f"{size:.1f} MiB on disk ({img_size:.1f} MiB images), built in {seconds:.0f} s "
            f"({seconds / shapes:.2f} s per shape with {torch.get_num_threads()} workers)"
        )


if __name__ == "__main__":
    main()
