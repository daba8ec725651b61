"""Does a run learn? Geometry scores of a checkpoint's G_ema against the untrained generator.

``python -m get3d.training.progress RUN_DIR [--checkpoint PATH] [--split test] [--per-ref 5]
[--tet-grid NPZ]``
rebuilds the untrained generator of the run (same seed, so the same initial weights), generates
``per_ref`` shapes per reference shape for both (psi 1, fixed latents), and prints COV-CD (%,
higher is better) and MMD-CD (x 10^3, lower is better) against the built-in data set's
ground-truth meshes of ``split`` (GET3D's protocol: 2048 points, longest side 1). JSON goes to
``RUN_DIR/progress.json``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import torch

from get3d.data import read_split
from get3d.metrics.evaluate import reference_point_clouds
from get3d.metrics.geometry import GeometryProtocol, geometry_scores, surface_point_clouds
from get3d.networks import Generator, load_generator

from .checkpoint import CheckpointManager, load_checkpoint
from .config import DataSource, TrainConfig, config_from_dict
from .data import builtin_dataset, load_grid

__all__ = ["generated_clouds", "main"]


@torch.no_grad()
def generated_clouds(G: Generator, n: int, seed: int, protocol: GeometryProtocol) -> tuple[torch.Tensor, int]:
    """Protocol clouds of ``n`` shapes of ``G`` (fixed latents from ``seed``, psi 1) and the number
    of shapes without a surface (left out)."""
    gen = torch.Generator().manual_seed(seed)
    pairs = []
    for start in range(0, n, 8):
        b = min(8, n - start)
        z = torch.randn(2, b, G.config.z_dim, generator=gen)
        pairs += [(m.vertices, m.faces) for m in G.extract_meshes(G.map_latents(z[0], z[1]))]
    ok = [p for p in pairs if p[1].shape[0] > 0]
    return surface_point_clouds(ok, protocol), n - len(ok)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the run's latest")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--per-ref", type=int, default=5, help="generated shapes per reference (GET3D: 5)")
    parser.add_argument(
        "--tet-grid", default=None, help="tet grid file (default: the run's generator.tet_grid)"
    )
    args = parser.parse_args(argv)
    if args.tet_grid is not None and not Path(args.tet_grid).is_file():
        parser.error(f"--tet-grid: no file at {args.tet_grid!r}")
    path = args.checkpoint or CheckpointManager(args.run_dir).latest()
    if path is None:
        parser.error(f"run_dir: no checkpoint in {args.run_dir}")
    ckpt = load_checkpoint(path)
    config: TrainConfig = config_from_dict(ckpt["config"])
    if args.tet_grid is not None:
        config = replace(config, generator=replace(config.generator, tet_grid=args.tet_grid))
    if config.data.source is not DataSource.BUILTIN:
        parser.error("run_dir: only runs on the built-in data set have ground-truth meshes here")
    data = config.data
    built = builtin_dataset(config)
    protocol = GeometryProtocol()
    ids = read_split(built.split_file(data.category, args.split))
    refs, _ = reference_point_clouds(built.mesh_dir(data.category), protocol, shape_ids=ids)
    n = args.per_ref * len(ids)
    grid = load_grid(config)
    torch.manual_seed(config.seed)  # the run's initial weights (train() seeds the same way)
    untrained = Generator(config.generator, grid).eval()
    trained = load_generator(path, grid=grid)  # its G_ema, sizes from the stored config
    report = {"checkpoint": str(path), "step": int(ckpt["step"]), "split": args.split, "num_ref": len(ids)}
    for name, G in (("untrained", untrained), ("trained", trained)):
        clouds, empty = generated_clouds(G, n, config.seed + 5, protocol)
        scores = geometry_scores(refs, clouds, nna=False)
        report[name] = {"cov_cd": scores.cov_cd, "mmd_cd": scores.mmd_cd, "num_gen": n, "empty": empty}
        print(
            f"{name:9s} COV-CD {scores.cov_cd:6.2f} %  MMD-CD {scores.mmd_cd:7.3f} (x1e3)  empty {empty}/{n}"
        )
    (args.run_dir / "progress.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
