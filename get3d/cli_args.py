"""The flags and checks shared by the model commands of ``get3d`` (sample, interpolate, export,
invert, serve): the checkpoint and generator options, the export options, their validation,
and loading the generator and the one rasterizer context of a command."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable

__all__ = [
    "add_export_args",
    "add_model_args",
    "check_common",
    "config_by_name",
    "export_formats",
    "generator_config",
    "load_model",
    "material",
    "positive_int",
    "raster_context",
]


def positive_int(flag: str) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: expected a positive integer, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{flag}: expected a positive integer, got {text!r}")
        return value

    return convert


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="generator checkpoint (.pt): official GET3D or get3d.training")
    p.add_argument(
        "--config",
        default="auto",
        help="generator sizes: auto (stored in our checkpoints, else official), official, "
        "official-<car|chair|motorbike|table> or tiny",
    )
    grid = p.add_mutually_exclusive_group()
    grid.add_argument(
        "--grid-resolution",
        type=positive_int("--grid-resolution"),
        help="BCC tet grid cells per side for mesh extraction (default: the config's; 35 ~ GET3D's 90 grid)",
    )
    grid.add_argument("--tet-grid", help="tet grid file instead (e.g. GET3D's data/tets/90_compress.npz)")
    p.add_argument("--psi", type=float, default=0.7, help="truncation psi (default 0.7, GET3D's)")
    p.add_argument(
        "--w-avg-samples",
        type=positive_int("--w-avg-samples"),
        default=100_000,
        help="z samples for recomputing w_avg before sampling, as GET3D does (default 100000)",
    )
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--backend", default="auto", choices=["auto", "torch", "nvdiffrast"], help="rasterizer")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def add_export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--texture-size",
        type=positive_int("--texture-size"),
        default=2048,
        help="texture side (default 2048, GET3D's)",
    )
    p.add_argument(
        "--max-faces",
        type=int,
        default=0,
        help="simplify denser meshes to this many faces before unwrapping "
        "(default 0: never, the full marching-tets mesh as GET3D exports it)",
    )
    p.add_argument("--roughness", type=float, default=1.0, help="material roughness in [0, 1] (default 1)")
    p.add_argument("--metallic", type=float, default=0.0, help="material metallic in [0, 1] (default 0)")


def export_formats(parser: argparse.ArgumentParser, text: str, flag: str = "--export") -> list[str]:
    items = [t.strip().lower() for t in text.split(",") if t.strip()]
    if items == ["none"]:
        return []
    bad = [t for t in items if t not in ("glb", "obj")]
    if bad or not items:
        parser.error(f"{flag}: expected none, glb, obj or glb,obj, got {text!r}")
    return list(dict.fromkeys(items))


def config_by_name(name: str):  # -> GeneratorConfig | None
    """The generator sizes ``--config`` names: ``auto`` (None: stored in our checkpoints, else
    official), ``official``, ``official-<category>`` or ``tiny``. ValueError naming ``--config``."""
    from get3d.networks import GeneratorConfig

    if name == "auto":
        return None
    if name == "tiny":
        return GeneratorConfig.tiny()
    if name == "official":
        return GeneratorConfig.official()
    if name.startswith("official-"):
        try:
            return GeneratorConfig.official(name.split("-", 1)[1])
        except ValueError as err:
            raise ValueError(f"--config: {err}") from None
    raise ValueError(f"--config: expected auto, official, official-<category> or tiny, got {name!r}")


def generator_config(parser: argparse.ArgumentParser, name: str):  # -> GeneratorConfig | None
    """:func:`config_by_name`, with its error as the command's usage error."""
    try:
        return config_by_name(name)
    except ValueError as err:
        parser.error(str(err))


def check_common(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not math.isfinite(args.psi):
        parser.error(f"--psi: expected a finite number, got {args.psi}")
    if hasattr(args, "texture_size") and args.texture_size < 8:
        parser.error(f"--texture-size: expected at least 8, got {args.texture_size}")
    if hasattr(args, "max_faces") and args.max_faces < 0:
        parser.error(f"--max-faces: expected 0 (never simplify) or a positive count, got {args.max_faces}")
    for flag in ("roughness", "metallic"):
        value = getattr(args, flag, 0.0)
        if not 0.0 <= value <= 1.0:
            parser.error(f"--{flag}: expected a number in [0, 1], got {value}")
    if getattr(args, "resolution", None) is not None and args.resolution < 8:
        parser.error(f"--resolution: expected at least 8, got {args.resolution}")
    if not os.path.isfile(args.checkpoint):
        parser.error(f"checkpoint: no file at {args.checkpoint!r}")
    if args.tet_grid is not None and not os.path.isfile(args.tet_grid):
        parser.error(f"--tet-grid: no file at {args.tet_grid!r}")


def load_model(
    parser: argparse.ArgumentParser, args: argparse.Namespace, *, w_avg: bool = False
):  # -> Generator
    """The command's generator; ``w_avg`` is recomputed as GET3D does before sampling when ψ
    truncates (``--psi`` != 1) or when the command needs it anyway (``w_avg=True``)."""
    from get3d.networks import load_generator
    from get3d.sampling import prepare_generator

    try:
        G = load_generator(
            args.checkpoint,
            config=generator_config(parser, args.config),
            grid=args.tet_grid,
            grid_resolution=args.grid_resolution,
            device=args.device,
        )
    except (ValueError, FileNotFoundError) as err:
        msg = str(err)  # load_generator names its argument `path`; this command calls it checkpoint
        parser.error("checkpoint: " + msg.removeprefix("path: ") if msg.startswith("path: ") else msg)
    if w_avg or args.psi != 1.0:
        prepare_generator(G, w_avg_samples=args.w_avg_samples)
    return G


def raster_context(parser: argparse.ArgumentParser, args: argparse.Namespace, G):  # -> RasterContext
    """The one rasterizer context of this command (``--backend``), on the generator's device."""
    from render.backend import make_context

    try:
        return make_context(args.backend, G.mapping.fc0.weight.device)
    except (ImportError, ValueError) as err:
        parser.error(f"--backend: {err}")


def material(args: argparse.Namespace):
    from get3d.export import Material

    return Material(roughness=args.roughness, metallic=args.metallic)
