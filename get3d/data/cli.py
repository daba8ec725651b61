"""Command line of :mod:`get3d.data`: ``python -m get3d.data {validate,prepare,procedural} ...``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .cameras import WorldUp
from .validate import validate_dataset

__all__ = ["main"]


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m get3d.data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser(
        "validate",
        help="check a data set; exit status 1 and every problem (file and field) if anything is wrong",
    )
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
