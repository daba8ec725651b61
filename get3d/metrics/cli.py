"""``python -m get3d.metrics``: evaluate a checkpoint (FID, KID, COV/MMD/1-NNA) into a JSON report.

Examples::

    python -m get3d.metrics eval --checkpoint run/best.pt --builtin chair --inception inception.pkl

    python -m get3d.metrics eval --checkpoint shapenet_car.pt \\
        --data <root>/img/02958343 --camera-root <root>/camera --split test.txt \\
        --meshes <shapenet>/02958343 --inception ~/.cache/isogen3d/inception-2015-12-05.pkl \\
        --output eval.json

Defaults are GET3D's protocol (50k images, psi 1.0 with style mixing, 2048 points, seed 41, ...);
``--num-images`` etc. change it, and the report lists every deviation. Official checkpoints need
GET3D's tet grid, ``--tet-grid <GET3D>/data/tets/90_compress.npz`` (from GET3D's repository); any
other grid (the default BCC one) is recorded and listed as a deviation. ``--split-dir`` takes
GET3D's split folder and evaluates on its ``--split-name`` (test) shapes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from get3d.cli_args import config_by_name
from render.camera import CameraDistribution

from .evaluate import EvalConfig, Metric, procedural_eval_inputs, run_eval
from .geometry import GeometryProtocol, SurfaceSampling

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m get3d.metrics", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval", help="evaluate a generator checkpoint")
    ev.add_argument("--checkpoint", required=True, help="generator checkpoint (.pt with G_ema/G state_dicts)")
    ev.add_argument(
        "--config",
        default="auto",
        help="generator sizes: auto (stored in our checkpoints, else official), official, "
        "official-<car|chair|motorbike|table> or tiny (default auto)",
    )
    grid = ev.add_mutually_exclusive_group()
    grid.add_argument(
        "--tet-grid",
        help="tet grid file of mesh extraction: GET3D's data/tets/90_compress.npz (from GET3D's "
        "repository) for official checkpoints (default: the checkpoint's own, else a BCC grid)",
    )
    grid.add_argument(
        "--grid-resolution", type=int, help="a BCC tet grid of this many cells per side instead"
    )
    ev.add_argument(
        "--builtin",
        choices=["chair", "table", "car"],
        help="use this category of the built-in procedural data set (images, split and meshes)",
    )
    ev.add_argument(
        "--split-name",
        default="test",
        help="split of --builtin or --split-dir: train, val or test (default test)",
    )
    ev.add_argument("--data", help="real images: the folder of shape folders (GET3D --data)")
    ev.add_argument("--camera-root", help="GET3D layout camera root (omit for transforms.json data sets)")
    split = ev.add_mutually_exclusive_group()
    split.add_argument("--split", help="split file of shape ids (images and reference meshes)")
    split.add_argument(
        "--split-dir",
        help="GET3D's split folder (train.txt, val.txt, test.txt; its 3dgan_data_split/shapenet_<category>): "
        "uses <split-dir>/<split-name>.txt",
    )
    ev.add_argument("--meshes", help="folder of ground-truth meshes for COV/MMD/1-NNA")
    ev.add_argument("--inception", help="local Inception weights (TorchScript .pkl/.pt or a state_dict)")
    ev.add_argument(
        "--metrics",
        default="fid,kid,cov_mmd",
        help="comma-separated: fid, kid, cov_mmd, cov_mmd_lfd (default: fid,kid,cov_mmd)",
    )
    ev.add_argument("--num-images", type=int, default=EvalConfig.num_images)
    ev.add_argument("--max-real", type=int, default=EvalConfig.max_real)
    ev.add_argument("--resolution", type=int, help="image side (default: the generator's)")
    ev.add_argument(
        "--camera-distribution",
        default=CameraDistribution.SHAPENET_CAR.value,
        choices=[d.value for d in CameraDistribution],
    )
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--batch-size", type=int, default=4)
    ev.add_argument("--gen-per-ref", type=int, default=GeometryProtocol.gen_per_ref)
    ev.add_argument(
        "--category",
        help="the data's category (car, chair, ... or a ShapeNet synset; default: --builtin's): "
        "selects the paper's geometry protocol (cars: visible-surface points)",
    )
    ev.add_argument(
        "--surface",
        default="auto",
        choices=["auto", *(s.value for s in SurfaceSampling)],
        help="where COV/MMD-CD points lie: auto (the paper's for --category: visible for cars, "
        "else uniform), uniform or visible",
    )
    ev.add_argument("--no-nna", action="store_true", help="skip 1-NNA (saves two Chamfer matrices)")
    ev.add_argument("--workers", type=int, default=0, help="processes for the Chamfer matrices")
    ev.add_argument(
        "--cache-dir", help="real-statistics cache folder (default ~/.cache/isogen3d/gan-metrics)"
    )
    ev.add_argument("--no-cache", action="store_true")
    ev.add_argument("--device", default="cpu")
    ev.add_argument("--output", help="JSON report path")
    ev.add_argument("--progress", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        metrics = tuple(Metric(m.strip()) for m in args.metrics.split(",") if m.strip())
    except ValueError:
        print(
            f"--metrics: expected names among {[m.value for m in Metric]}, got {args.metrics!r}",
            file=sys.stderr,
        )
        return 2
    try:
        split_file = args.split
        if args.split_dir is not None:
            if args.split_name not in ("train", "val", "test"):
                raise ValueError(f"--split-name: expected train, val or test, got {args.split_name!r}")
            split_file = os.path.join(args.split_dir, f"{args.split_name}.txt")
            if not os.path.isfile(split_file):
                raise FileNotFoundError(f"--split-dir: no {args.split_name}.txt in {args.split_dir!r}")
        if args.tet_grid is not None and not os.path.isfile(args.tet_grid):
            raise FileNotFoundError(f"--tet-grid: no file at {args.tet_grid!r}")
        paths = {
            "data_dir": args.data,
            "camera_root": args.camera_root,
            "split_file": split_file,
            "mesh_dir": args.meshes,
        }
        if args.builtin:
            paths = procedural_eval_inputs(args.builtin, args.split_name)
        category = args.category or args.builtin
        geometry = GeometryProtocol.for_category(category, gen_per_ref=args.gen_per_ref)
        if args.surface != "auto":
            surface = SurfaceSampling(args.surface)
            extent = GeometryProtocol.for_category(
                "car" if surface is SurfaceSampling.VISIBLE else None
            ).extent
            geometry = GeometryProtocol(gen_per_ref=args.gen_per_ref, surface=surface, extent=extent)
        config = EvalConfig(
            metrics=metrics,
            num_images=args.num_images,
            max_real=args.max_real,
            resolution=args.resolution,
            camera_distribution=CameraDistribution(args.camera_distribution),
            seed=args.seed,
            batch_size=args.batch_size,
            geometry=geometry,
            nna=not args.no_nna,
            workers=args.workers,
        )
        report = run_eval(
            args.checkpoint,
            **paths,
            inception=args.inception,
            config=config,
            category=category,
            generator_config=config_by_name(args.config),
            grid=args.tet_grid,
            grid_resolution=args.grid_resolution,
            output=args.output,
            cache_dir=None if args.no_cache else (args.cache_dir or True),
            device=args.device,
            progress=args.progress,
        )
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_dict(), indent=2, sort_keys=True))
    return 0
