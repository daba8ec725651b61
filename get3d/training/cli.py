"""Train GET3D: ``get3d train [--config PRESET] [key=value ...] [--out DIR] [--resume] ...``
(the same as ``python train.py ...`` in a source checkout).

Without arguments it trains the ``default`` preset (``configs/default.yaml``: a tiny generator on
the built-in procedural chairs, CPU) into ``runs/default-<UTC timestamp>``, building the data set
on first use. ``--config`` takes a YAML file or the name of a preset shipped with the library
(``default``, ``shapenet_car``, ``shapenet_chair``, ``shapenet_motorbike``,
``shapenet_car_separate``, ``shapenet_chair_separate``). Several processes:
``torchrun --nproc_per_node N train.py ...`` (the global batch and the results do not depend on
N). Every run writes its resolved config to ``<out>/config.yaml``. ``--init-from CHECKPOINT``
starts a new run from a checkpoint's weights (fine-tuning an official GET3D file: GET3D's
``--resume_pretrain``); ``--resume`` continues a run with its optimisers and RNG state.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch
import yaml

from .config import ConfigError, config_to_dict
from .distributed import cleanup_distributed, init_distributed
from .loop import train
from .preset_loader import load_config, preset_path

__all__ = ["build_parser", "main"]


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of :func:`main` (``prog``: the command name shown in usage lines)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config",
        default="default",
        help="YAML file or preset name (default: default = configs/default.yaml)",
    )
    parser.add_argument("--out", default=None, help="run folder (default: runs/<preset>-<UTC timestamp>)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its latest checkpoint"
    )
    parser.add_argument(
        "--resume-from", type=Path, default=None, metavar="CHECKPOINT", help="continue from this file"
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        default=None,
        metavar="CHECKPOINT",
        help="start a new run from this checkpoint's G, G_ema and D weights (official GET3D or ours) "
        "with fresh optimisers at step 0, as GET3D's --resume_pretrain",
    )
    parser.add_argument(
        "--tet-grid",
        default=None,
        metavar="NPZ",
        help="tet grid file of the generator (= generator.tet_grid; GET3D's is data/tets/90_compress.npz "
        "of its repository; default: the config's, else a BCC grid)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    parser.add_argument(
        "overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. batch=16 loss.gamma=80"
    )
    return parser


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the training command line; returns the exit status (argument and configuration errors
    raise ``SystemExit(2)`` with a message naming the flag or key)."""
    parser = build_parser(prog)
    args = parser.parse_args(None if argv is None else list(argv))
    if args.tet_grid is not None and not Path(args.tet_grid).is_file():
        parser.error(f"--tet-grid: no file at {args.tet_grid!r}")
    if args.init_from is not None:
        if args.resume or args.resume_from is not None:
            parser.error("--init-from: starts a new run; it cannot be combined with --resume/--resume-from")
        if not args.init_from.is_file():
            parser.error(f"--init-from: no checkpoint file at {str(args.init_from)!r}")
    try:
        preset = preset_path(args.config)
        config = load_config(preset, args.overrides)
        if args.tet_grid is not None:  # the flag wins over the preset and the overrides
            config = replace(config, generator=replace(config.generator, tet_grid=args.tet_grid))
    except FileNotFoundError as exc:  # "config: expected a YAML file or a preset name ..."
        parser.error(f"--{exc}")
    except ConfigError as exc:
        parser.error(str(exc))
    if args.dry_run:
        sys.stdout.write(yaml.safe_dump(config_to_dict(config), sort_keys=False))
        return 0
    if args.resume and args.out is None:
        parser.error("--resume: needs --out (the run folder to continue)")
    resume = args.resume_from if args.resume_from is not None else args.resume
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    out = Path(args.out) if args.out else Path("runs") / f"{preset.stem}-{stamp}"
    info = init_distributed(config.device)
    try:
        result = train(config, out, resume=resume, init_from=args.init_from, info=info)
    except FileExistsError as exc:  # a fresh start into a folder that holds a run
        parser.error(f"--out: {exc}")
    except ValueError as exc:
        if not str(exc).startswith("init_from: "):
            raise
        parser.error(f"--init-from: {str(exc).removeprefix('init_from: ')}")
    else:
        if info.distributed:  # leave together: no rank tears the group down while another still works
            torch.distributed.barrier()
    finally:
        cleanup_distributed()
    if info.is_main:
        state = "finished" if result.finished else "stopped"
        print(
            f"{state} at step {result.steps} ({result.images_seen} images) in {result.run_dir}; "
            f"last checkpoint {result.checkpoint}"
        )
    return 0
