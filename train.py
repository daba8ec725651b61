"""Train GET3D: ``python train.py [--config X.yaml] [key=value ...] [--out DIR] [--resume] ...``.

Without arguments it trains the ``default`` preset (``configs/default.yaml``: a tiny generator on
the built-in procedural chairs, CPU) into ``runs/default-<UTC timestamp>``, building the data set
on first use. Several processes: ``torchrun --nproc_per_node N train.py ...`` (the global batch and
the results do not depend on N). Every run writes its resolved config to ``<out>/config.yaml``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

from get3d.training import ConfigError, config_to_dict, load_config, train
from get3d.training.distributed import cleanup_distributed, init_distributed

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config",
        default=str(HERE / "configs" / "default.yaml"),
        help="YAML preset (default: configs/default.yaml)",
    )
    parser.add_argument("--out", default=None, help="run folder (default: runs/<preset>-<UTC timestamp>)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its latest checkpoint"
    )
    parser.add_argument(
        "--resume-from", type=Path, default=None, metavar="CHECKPOINT", help="continue from this file"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    parser.add_argument(
        "overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. batch=16 loss.gamma=80"
    )
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, args.overrides)
    except ConfigError as exc:
        parser.error(str(exc))
    if args.dry_run:
        sys.stdout.write(yaml.safe_dump(config_to_dict(config), sort_keys=False))
        return 0
    if args.resume and args.out is None:
        parser.error("--resume: needs --out (the run folder to continue)")
    resume = args.resume_from if args.resume_from is not None else args.resume
    preset = Path(args.config).stem
    out = (
        Path(args.out)
        if args.out
        else Path("runs") / f"{preset}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    )
    info = init_distributed(config.device)
    try:
        result = train(config, out, resume=resume, info=info)
    except FileExistsError as exc:  # a fresh start into a folder that holds a run
        parser.error(f"--out: {exc}")
    finally:
        cleanup_distributed()
    if info.is_main:
        state = "finished" if result.finished else "stopped"
        print(
            f"{state} at step {result.steps} ({result.images_seen} images) in {result.run_dir}; "
            f"last checkpoint {result.checkpoint}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
