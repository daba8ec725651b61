"""Where a training step's time goes: ``torch.profiler`` over a few steps of a real run.

Runs ``train`` on a preset with overrides for ``--warmup`` + ``--steps`` steps (the profiler
records only the last ``--steps``), then prints the ops with the most self time on the device and
on the CPU, and the wall time per profiled step. Use it to see whether a run is bound by the GPU,
by host-side work (Python, small kernels, synchronisations) or by data loading. FID during
training (on in the ShapeNet presets) is turned off (``fid_every_kimg=0`` comes before the
given overrides): it would run at the last profiled step.

    python benchmarks/profile_train.py --config configs/shapenet_car.yaml --out /tmp/prof \\
        [--warmup 3] [--steps 3] [--rows 25] [--json PATH] key=value ...
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from get3d.training import load_config, train


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", required=True, help="preset YAML or name")
    parser.add_argument("--out", required=True, help="a new run folder")
    parser.add_argument(
        "--warmup", type=int, default=3, help="steps before profiling (allocations, autotuning)"
    )
    parser.add_argument("--steps", type=int, default=3, help="profiled steps")
    parser.add_argument("--rows", type=int, default=25, help="rows of each table")
    parser.add_argument("--json", default=None, help="also write the tables' top rows as JSON here")
    parser.add_argument("overrides", nargs="*", help="key=value config overrides")
    args = parser.parse_args()
    if args.warmup < 1 or args.steps < 1:
        parser.error(f"--warmup, --steps: expected positive integers, got {args.warmup}, {args.steps}")
    config = load_config(args.config, ["fid_every_kimg=0", *args.overrides])
    out = Path(args.out)
    train(config, out, stop_after=args.warmup)
    cuda = torch.cuda.is_available() and config.device != "cpu"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        t0 = time.perf_counter()
        train(config, out, resume=True, stop_after=args.steps)
        if cuda:
            torch.cuda.synchronize()
        wall = time.perf_counter() - t0
    events = prof.key_averages()
    print(
        f"{args.steps} profiled steps: {wall:.2f} s wall, {wall / args.steps:.3f} s per step (incl. resume)"
    )
    result: dict = {"steps": args.steps, "wall_s": wall, "tables": {}}
    sorts = (["self_cuda_time_total"] if cuda else []) + ["self_cpu_time_total"]
    for key in sorts:
        print(f"\n== top ops by {key}")
        print(events.table(sort_by=key, row_limit=args.rows))
        rows = sorted(events, key=lambda e: getattr(e, key.replace("cuda", "device"), 0) or 0, reverse=True)
        result["tables"][key] = [
            {
                "op": e.key,
                "count": e.count,
                "self_cpu_ms": e.self_cpu_time_total / 1e3,
                "self_device_ms": getattr(e, "self_device_time_total", 0) / 1e3,
            }
            for e in rows[: args.rows]
        ]
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
