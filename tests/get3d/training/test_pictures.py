from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from PIL import Image

from get3d.training import load_config, train
from get3d.training.plots import plot_curves, snapshot_grid
from get3d.training.progress import main as progress_main

from .helpers import REPO, tiny_overrides


def test_snapshot_grid_layout_and_values():
    rgb = torch.full((2, 3, 4, 5), -1.0)
    rgb[1, 0] = 1.0  # second sample: red
    mask = torch.zeros(2, 1, 4, 5)
    mask[0] = 1.0
    img = snapshot_grid(rgb, mask)
    assert img.size == (10, 8)
    px = img.load()
    assert px[0, 0] == (0, 0, 0) and px[5, 0] == (255, 0, 0)  # RGB row
    assert px[0, 4] == (255, 255, 255) and px[5, 4] == (0, 0, 0)  # silhouette row
    with pytest.raises(ValueError, match="mask"):
        snapshot_grid(rgb, mask[:1])


def test_plot_curves_skips_non_finite(tmp_path: Path):
    path = plot_curves({"a": [(0, 1.0), (1, math.nan), (2, 3.0)], "b": [(0, math.inf)]}, tmp_path / "c.png")
    with Image.open(path) as img:
        assert img.size == (800, 480)
        colors = {c for _, c in img.getcolors(1 << 16)}
    assert (31, 119, 180) in colors  # the first series' line was drawn


def test_progress_reports_untrained_vs_trained(tiny_cache: Path, tmp_path: Path, capsys):
    config = load_config(REPO / "configs" / "default.yaml", tiny_overrides(tiny_cache) + ["total_kimg=0.004"])
    train(config, tmp_path / "run")
    assert progress_main([str(tmp_path / "run"), "--split", "train", "--per-ref", "1"]) == 0
    out = capsys.readouterr().out
    assert "untrained" in out and "trained" in out
    report = json.loads((tmp_path / "run" / "progress.json").read_text())
    assert report["num_ref"] == 2 and report["step"] == 1
    for name in ("untrained", "trained"):
        assert 0.0 <= report[name]["cov_cd"] <= 100.0 and report[name]["mmd_cd"] > 0
