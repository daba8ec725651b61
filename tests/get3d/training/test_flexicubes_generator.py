"""GET3D's FlexiCubes generator (``generator.iso_surface=flexicubes``) through training: two tiny
steps with its regularisers logged, its checkpoint read back as that model, and its presets."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from get3d.networks import load_generator
from get3d.training import load_config, train

from .helpers import CONFIGS, tiny_overrides


def test_two_step_run_of_the_flexicubes_model(tiny_cache: Path, tmp_path: Path):
    config = load_config(
        CONFIGS / "default.yaml",
        tiny_overrides(tiny_cache) + ["total_kimg=0.008", "generator.iso_surface=flexicubes"],
    )
    assert config.generator.flexicubes and config.generator.grid_resolution == 4
    result = train(config, tmp_path / "run")
    assert result.finished and result.steps == 2
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    for row in rows:
        assert math.isfinite(row["G/flexicubes_dev"]) and row["G/flexicubes_weights"] >= 0.0
    G = load_generator(result.checkpoint)
    assert G.config == config.generator and G.grid.resolution == 4
    assert any(k.startswith("synthesis.generator.mlp_synthesis_weight.") for k in G.state_dict())
    ws = G.map_latents(torch.randn(2, G.config.z_dim), torch.randn(2, G.config.z_dim))
    geo = G.grid_geometry(G.triplanes(ws), ws)
    assert geo.sdf.shape == (2, 5**3) and geo.weights.shape == (2, 4**3, 21)
    assert all(math.isfinite(float(p.detach().abs().sum())) for p in G.parameters())


def test_flexicubes_presets_follow_the_readme():
    for name, gamma, scale in (("shapenet_car_flexicubes", 40, 1.0), ("shapenet_chair_flexicubes", 400, 0.8)):
        config = load_config(CONFIGS / f"{name}.yaml")
        g = config.generator
        assert g.flexicubes and g.one_3d_generator and g.dmtet_scale == scale and config.loss.gamma == gamma
        # README: the unified command (--fp32 0: clamp 256) plus --iso_surface flexicubes, tet_res 90
        assert g.conv_clamp == 256.0 and g.grid_resolution == 90 and g.deformation_divisor == 90
        assert g.effective_deformation_multiplier == 2.0
        loss = config.loss
        assert (loss.flexicubes_surface_reg_weight, loss.flexicubes_weights_reg_weight) == (0.5, 0.1)
        assert (g.triplane_resolution, g.image_resolution, config.batch) == (256, 1024, 32)
