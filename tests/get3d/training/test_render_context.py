"""The run's rasterizer: one context per process (``config.render``), used by every render."""

from __future__ import annotations

from pathlib import Path

import pytest

from get3d.training import load_config, train
from get3d.training.config import ConfigError, RenderConfig
from get3d.training.distributed import DistInfo, render_context
from render.backend import Backend, TorchRasterContext

from .helpers import REPO, tiny_overrides


def test_a_run_makes_one_context_and_renders_with_it(tiny_cache: Path, tmp_path: Path, monkeypatch):
    made: list[TorchRasterContext] = []
    real_init = TorchRasterContext.__post_init__

    def counting_init(self):
        made.append(self)
        real_init(self)

    monkeypatch.setattr(TorchRasterContext, "__post_init__", counting_init)
    overrides = tiny_overrides(tiny_cache) + ["total_kimg=0.008", "snapshot_every=1", "render.backend=torch"]
    config = load_config(REPO / "configs" / "default.yaml", overrides)
    result = train(config, tmp_path / "run")
    assert result.steps == 2
    assert len(list((tmp_path / "run").glob("snapshot-*.png"))) >= 2  # snapshots rendered too
    assert len(made) == 1, f"{len(made)} rasterizer contexts were made for one run"


def test_render_config_reaches_the_context():
    import torch

    info = DistInfo(rank=0, world_size=1, device=torch.device("cpu"))
    ctx = render_context(RenderConfig(backend=Backend.TORCH, compile=True), info)
    assert isinstance(ctx, TorchRasterContext) and ctx.compile
    ctx = render_context(RenderConfig(), info)  # auto on the CPU: the torch rasterizer
    assert isinstance(ctx, TorchRasterContext) and not ctx.compile


def test_render_config_validation():
    config = load_config(REPO / "configs" / "default.yaml", ["render.backend=torch", "render.compile=true"])
    assert config.render == RenderConfig(Backend.TORCH, True)
    with pytest.raises(ConfigError, match="render.backend"):
        load_config(REPO / "configs" / "default.yaml", ["render.backend=opengl"])
    with pytest.raises(ConfigError, match="render.compile"):
        RenderConfig(Backend.NVDIFFRAST, compile=True)
