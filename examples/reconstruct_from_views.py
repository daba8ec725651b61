"""Reconstruct a textured mesh from images with known cameras (DMTet inverse rendering).

Three inputs:

    # one shape of a data set in GET3D's layout (img/<synset>/<id>, camera/<synset>/<id>)
    python examples/reconstruct_from_views.py --data path/to/root --shape-id chair_0000 --out out/rec
    # a mesh file, rendered on the fly exactly as `python -m get3d.data prepare` would
    python examples/reconstruct_from_views.py --mesh model.obj --out out/rec
    # nothing: a procedural chair, rendered on the fly (the default, seconds on CPU)
    python examples/reconstruct_from_views.py --out out/rec

Writes ``<out>/reconstruction.obj`` (vertex colours), ``<out>/reconstruction_textured.glb`` (UV
texture baked from the colour field; ``--textured obj`` for OBJ+MTL+PNG) and
``<out>/reconstruction_views.png`` (target views on top, the reconstruction below) and prints the
fit's stages. The default flags are tiny (64² views, two coarse grids, 30 steps); for a real fit
use e.g. ``--resolution 128 --grid 12,20,28 --steps 120,100,80`` (about 20 s per shape on an idle
2-core machine, see the README's table).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import torch

from get3d.data.procedural import generate_shape, write_shape
from get3d.reconstruct import (
    ReconstructConfig,
    Shading,
    load_views,
    reconstruct,
    views_from_mesh,
    write_result,
)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(","))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data", type=Path, help="data set root in GET3D's layout")
    source.add_argument("--mesh", type=Path, help="a mesh file to render and reconstruct")
    parser.add_argument("--shape-id", default=None, help="shape of --data (optional when it holds one)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "reconstruct_from_views")
    parser.add_argument("--resolution", type=int, default=64, help="image side (views are resized)")
    parser.add_argument("--views", type=int, default=12, help="views rendered for --mesh / the default")
    parser.add_argument("--grid", type=_ints, default=(10, 14), help="grid resolution schedule")
    parser.add_argument("--steps", type=_ints, default=(20, 10), help="steps per grid")
    parser.add_argument(
        "--unlit", action="store_true", help="targets are unlit (GET3D renders); default Lambert"
    )
    parser.add_argument(
        "--textured", choices=("glb", "obj", "none"), default="glb", help="textured mesh format"
    )
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if args.data is not None:
        views = load_views(args.data, args.shape_id, resolution=args.resolution)
    else:
        mesh = args.mesh
        if mesh is None:
            mesh = write_shape(
                generate_shape("chair", 0, texture_size=256), Path(tempfile.mkdtemp()) / "chair"
            )
        views, _ = views_from_mesh(mesh, args.views, resolution=args.resolution)
    config = ReconstructConfig(
        grid_resolutions=args.grid,
        steps=args.steps,
        shading=Shading.UNLIT if args.unlit else Shading.LAMBERT,
    )
    print(f"{len(views)} views at {views.resolution[0]}x{views.resolution[1]}")
    result = reconstruct(views, config)
    for stage in result.stages:
        last = stage.last
        print(
            f"grid {stage.resolution:>3} ({stage.grid_vertices} vertices): {stage.steps} steps "
            f"in {stage.seconds:.1f} s, silhouette {last.silhouette:.4f}, rgb {last.rgb:.4f}, "
            f"{last.faces} faces"
        )
    files = write_result(result, args.out, views, textured=None if args.textured == "none" else args.textured)
    print(f"wrote {files.mesh}, {files.comparison}", *(f", {p}" for p in files.textured), sep="")


if __name__ == "__main__":
    main()
