"""GET3D's separate-generator model (``generator.one_3d_generator=false``) through training: two
tiny steps, its checkpoint read back as that model, and its presets' official settings."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from get3d.networks import load_generator
from get3d.training import load_config, train

from .helpers import CONFIGS, tiny_overrides


def test_two_step_run_of_the_separate_model(tiny_cache: Path, tmp_path: Path):
    config = load_config(
        CONFIGS / "default.yaml",
        tiny_overrides(tiny_cache) + ["total_kimg=0.008", "generator.one_3d_generator=false"],
    )
    assert config.generator.one_3d_generator is False
    result = train(config, tmp_path / "run")
    assert result.finished and result.steps == 2
    G = load_generator(result.checkpoint)
    assert G.config == config.generator and G.num_ws_geo == 5 and G.num_ws == 7
    assert any(k.startswith("synthesis.geometry_synthesis_sdf.") for k in G.state_dict())
    ws = G.map_latents(torch.randn(2, G.config.z_dim), torch.randn(2, G.config.z_dim))
    sdf = G.grid_geometry(G.triplanes(ws), ws).sdf
    assert sdf.shape == (2, G.tet_grid.vertices.shape[0]) and bool(torch.isfinite(sdf).all())
    assert all(math.isfinite(float(p.detach().abs().sum())) for p in G.parameters())


def test_separate_presets_follow_the_readme():
    for name, gamma, scale in (("shapenet_car_separate", 40, 1.0), ("shapenet_chair_separate", 3200, 0.8)):
        config = load_config(CONFIGS / f"{name}.yaml")
        g = config.generator
        assert g.one_3d_generator is False and g.dmtet_scale == scale and config.loss.gamma == gamma
        # no --fp32 0 in the README's separate commands: GET3D's --fp32 1, i.e. no clamping
        assert g.conv_clamp is None and config.discriminator.conv_clamp is None
        assert (g.triplane_resolution, g.volume_resolution, g.image_resolution) == (256, 32, 1024)
        assert config.batch == 32
