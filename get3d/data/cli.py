"""Command line of :mod:`get3d.data`.

::

    python -m get3d.data validate   --data ROOT/img/SYNSET [--camera-path ROOT/camera] [--split FILE]
    python -m get3d.data prepare    MESH_DIR --out ROOT --synset NAME [--views 24 --resolution 256 ...]
    python -m get3d.data procedural --out ROOT [--categories chair car --count 96 ...]
    python -m get3d.data split      --root ROOT --synset NAME [--fractions 0.7 0.1 0.2]
    python -m get3d.data preview    --data ROOT/img/SYNSET --out sheet.png

Every command exits with status 1 and a message naming the file and field when the data is wrong.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .builtin import ProceduralDatasetConfig, build_procedural_dataset
from .cameras import WorldUp
from .prepare import PrepareConfig, Renderer, prepare_dataset, write_dataset_splits
from .preview import contact_sheet
from .procedural import Category
from .validate import DatasetError, validate_dataset

__all__ = ["build_parser", "main"]


def _validate(args: argparse.Namespace) -> int:
    report = validate_dataset(
        args.data,
        args.camera_path,
        split_file=args.split,
        world_up=WorldUp(args.world_up),
        decode=args.decode,
    )
    print(report.summary(limit=args.limit))
    return 0 if report.ok else 1


def _prepare(args: argparse.Namespace) -> int:
    config = PrepareConfig(
        synset=args.synset,
        resolution=args.resolution,
        views=args.views,
        azimuth_deg=tuple(args.azimuth),
        elevation_deg=tuple(args.elevation),
        radius=args.radius,
        focal_mm=args.focal_mm,
        sensor_mm=args.sensor_mm,
        scale=args.scale,
        recenter=args.recenter,
        supersample=args.supersample,
        ambient=args.ambient,
        diffuse=args.diffuse,
        seed=args.seed,
        backend=args.backend,
        device=args.device,
        renderer=args.renderer,
        blender_python=args.blender_python,
        blender_samples=args.blender_samples,
    )
    report = prepare_dataset(args.mesh_dir, args.out, config, workers=args.workers, strict=False)
    counts = (len(report.rendered), len(report.skipped), len(report.failed))
    print("rendered {}, skipped {} (complete), failed {}".format(*counts))
    for shape_id, error in report.failed:
        print(f"  failed {shape_id}: {error}")
    if args.splits is not None:
        paths = write_dataset_splits(args.out, args.synset, args.splits, args.seed)
        print("splits: " + ", ".join(str(p) for p in paths.values()))
    data, cameras = os.path.join(args.out, "img", args.synset), os.path.join(args.out, "camera")
    print(f"train with: --data {data} --camera-path {cameras}")
    return 0 if report.ok else 1


def _procedural(args: argparse.Namespace) -> int:
    config = ProceduralDatasetConfig(
        categories=tuple(args.categories),
        shapes_per_category=args.count,
        seed=args.seed,
        views=args.views,
        resolution=args.resolution,
        supersample=args.supersample,
    )
    data = build_procedural_dataset(args.out, config, workers=args.workers)
    for category in config.categories:
        print(f"{category}: --data {data.data_dir(category)} --camera-path {data.camera_root}")
    return 0


def _split(args: argparse.Namespace) -> int:
    paths = write_dataset_splits(args.root, args.synset, args.fractions, args.seed, args.out)
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def _preview(args: argparse.Namespace) -> int:
    contact_sheet(args.data, args.shapes, args.views, args.tile).save(args.out)
    print(args.out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m get3d.data",
        description="Multiview data sets in GET3D's layout: validate, prepare, procedural, split, preview.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("validate", help="check a data set; exit status 1 listing every problem")
    check.add_argument("--data", required=True, help="folder holding the shape folders (<root>/img/<synset>)")
    check.add_argument(
        "--camera-path",
        default=None,
        help="GET3D camera root (<root>/camera, without the synset); omit for the transforms.json layout",
    )
    check.add_argument("--split", default=None, help="split file: one shape id per line")
    check.add_argument("--world-up", choices=[w.value for w in WorldUp], default=WorldUp.Z.value)
    check.add_argument("--decode", action="store_true", help="fully decode every PNG (slower)")
    check.add_argument("--limit", type=int, default=50, help="most problems to print")
    check.set_defaults(run=_validate)

    defaults = PrepareConfig()
    prep = commands.add_parser("prepare", help="render a folder of meshes into the GET3D layout")
    prep.add_argument(
        "mesh_dir", help="folder of .obj/.glb/.gltf/.ply/.off/.stl files (searched recursively)"
    )
    prep.add_argument("--out", required=True, help="output root (img/ and camera/ are created inside)")
    prep.add_argument("--synset", required=True, help="category folder name, e.g. 03001627")
    prep.add_argument("--views", type=int, default=defaults.views)
    prep.add_argument("--resolution", type=int, default=defaults.resolution)
    prep.add_argument("--azimuth", type=float, nargs=2, default=defaults.azimuth_deg, metavar=("MIN", "MAX"))
    prep.add_argument(
        "--elevation", type=float, nargs=2, default=defaults.elevation_deg, metavar=("MIN", "MAX")
    )
    prep.add_argument("--radius", type=float, default=defaults.radius)
    prep.add_argument("--focal-mm", type=float, default=defaults.focal_mm)
    prep.add_argument("--sensor-mm", type=float, default=defaults.sensor_mm)
    prep.add_argument("--scale", type=float, default=defaults.scale, help="longest side after normalising")
    prep.add_argument(
        "--recenter",
        action="store_true",
        help="centre the mesh's box on the origin before scaling (GET3D's script does not: default off)",
    )
    prep.add_argument(
        "--renderer",
        default=defaults.renderer.value,
        choices=[r.value for r in Renderer],
        help="builtin (fast, default) or blender (Cycles through bpy, GET3D's render_shapenet.py scene)",
    )
    prep.add_argument(
        "--blender-python",
        default=None,
        help="Python with bpy for --renderer blender "
        "(default: $ISOGEN3D_BPY_PYTHON, or this one if it has bpy)",
    )
    prep.add_argument("--blender-samples", type=int, default=defaults.blender_samples, help="Cycles samples")
    prep.add_argument("--supersample", type=int, default=defaults.supersample)
    prep.add_argument("--ambient", type=float, default=defaults.ambient)
    prep.add_argument("--diffuse", type=float, default=defaults.diffuse)
    prep.add_argument("--seed", type=int, default=defaults.seed)
    prep.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    prep.add_argument("--backend", default=defaults.backend, choices=["auto", "torch", "nvdiffrast"])
    prep.add_argument("--device", default=defaults.device)
    prep.add_argument(
        "--splits",
        type=float,
        nargs=3,
        default=None,
        metavar=("TRAIN", "VAL", "TEST"),
        help="also write splits",
    )
    prep.set_defaults(run=_prepare)

    proc_defaults = ProceduralDatasetConfig()
    proc = commands.add_parser("procedural", help="generate the built-in procedural data set")
    proc.add_argument("--out", required=True)
    proc.add_argument(
        "--categories", nargs="+", default=list(proc_defaults.categories), choices=[c.value for c in Category]
    )
    proc.add_argument(
        "--count", type=int, default=proc_defaults.shapes_per_category, help="shapes per category"
    )
    proc.add_argument("--seed", type=int, default=proc_defaults.seed)
    proc.add_argument("--views", type=int, default=proc_defaults.views)
    proc.add_argument("--resolution", type=int, default=proc_defaults.resolution)
    proc.add_argument("--supersample", type=int, default=proc_defaults.supersample)
    proc.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    proc.set_defaults(run=_procedural)

    split = commands.add_parser("split", help="write train/val/test split files for a prepared data set")
    split.add_argument("--root", required=True, help="the data set root (holding img/)")
    split.add_argument("--synset", required=True)
    split.add_argument(
        "--fractions", type=float, nargs=3, default=(0.7, 0.1, 0.2), metavar=("TRAIN", "VAL", "TEST")
    )
    split.add_argument("--seed", type=int, default=0)
    split.add_argument("--out", default=None, help="split folder (default <root>/splits/<synset>)")
    split.set_defaults(run=_split)

    view = commands.add_parser("preview", help="save a contact sheet of a data set")
    view.add_argument("--data", required=True, help="folder holding the shape folders")
    view.add_argument("--out", required=True, help="output image file")
    view.add_argument("--shapes", type=int, default=4)
    view.add_argument("--views", type=int, default=4)
    view.add_argument("--tile", type=int, default=128)
    view.set_defaults(run=_preview)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (1 with a message for bad data or arguments)."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (DatasetError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
