"""The generator and a training run on the nvdiffrast code path, on CPU through the recording fake
of ``nvdiffrast.torch`` (``tests/conftest.py``): what the library hands nvdiffrast, and that one
context serves every render (issue #14)."""

from __future__ import annotations

from pathlib import Path

import torch

from get3d.networks import Generator, GeneratorConfig
from get3d.training import load_config, train
from render.backend import NvdiffrastRasterContext, make_context
from render.camera import sample_cameras

from .helpers import REPO, tiny_overrides


def _check_nvdiffrast_inputs(fake) -> None:
    for call in fake.ops("rasterize"):
        a = call.args
        assert a["pos"].dtype == torch.float32 and a["pos"].contiguous and a["pos"].shape[-1] == 4
        assert a["tri"].dtype == torch.int32 and a["tri"].contiguous
        assert a["ranges"].dtype == torch.int32 and a["ranges"].device.type == "cpu"
        assert a["grad_db"] is False  # GET3D's path never needs rast_db
    for call in fake.ops("interpolate", "antialias"):
        assert call.args["tri"].dtype == torch.int32


def test_generator_render_through_nvdiffrast_matches_torch(fake_nvdiffrast):
    torch.manual_seed(0)
    G = Generator(GeneratorConfig.tiny())
    ws = G.map_latents(torch.randn(2, G.config.z_dim), torch.randn(2, G.config.z_dim))
    cams = sample_cameras(2, generator=torch.Generator().manual_seed(1))
    ref = G.render(ws, cams, backend="torch")
    ctx = make_context("nvdiffrast", device="cpu")
    assert isinstance(ctx, NvdiffrastRasterContext)
    fake_nvdiffrast.clear()
    out = G.render(ws, cams, backend=ctx)
    torch.testing.assert_close(out.image, ref.image, rtol=0, atol=1e-6)
    assert torch.equal(out.hard_mask, ref.hard_mask)
    names = fake_nvdiffrast.op_names()
    assert "RasterizeCudaContext" not in names  # the given context is reused, never remade
    assert names.count("rasterize") == 1 and "antialias" in names and "interpolate" in names
    assert fake_nvdiffrast.ops("rasterize")[0].args["pos"].shape[0] > 0  # range mode: [ΣV, 4]
    _check_nvdiffrast_inputs(fake_nvdiffrast)
    # the silhouette gradient reaches the geometry latents through nvdiffrast's antialias
    out.image[:, 3].sum().backward()
    assert any("antialias_grad" in c.op for c in fake_nvdiffrast.calls)


def test_two_training_steps_through_nvdiffrast_use_one_context(fake_nvdiffrast, tiny_cache: Path, tmp_path):
    overrides = tiny_overrides(tiny_cache) + ["total_kimg=0.008", "render.backend=nvdiffrast", "device=cpu"]
    config = load_config(REPO / "configs" / "default.yaml", overrides)
    result = train(config, tmp_path / "run")
    assert result.steps == 2 and result.nonfinite_steps == 0
    names = fake_nvdiffrast.op_names()
    assert names.count("RasterizeCudaContext") == 1, "one rasterizer context per process"
    assert names.count("rasterize") >= 4  # Gmain and Dmain of both steps, plus snapshots
    _check_nvdiffrast_inputs(fake_nvdiffrast)
