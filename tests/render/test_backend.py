"""Tests of backend selection, contexts and op dispatch."""

from __future__ import annotations

import logging

import pytest
import torch

import render
from render.backend import resolve_backend

HAVE_NVDR = render.nvdiffrast_available()


def test_enum_values_and_parsing():
    assert [b.value for b in render.Backend] == ["auto", "torch", "nvdiffrast"]
    assert resolve_backend("TORCH", "cpu") is render.Backend.TORCH
    with pytest.raises(ValueError, match="backend must be a render.Backend or one of 'auto'"):
        render.make_context("opengl")


def test_auto_on_cpu_picks_torch_and_says_so(caplog):
    with caplog.at_level(logging.INFO, logger="render.backend"):
        ctx = render.make_context()
    assert isinstance(ctx, render.TorchRasterContext)
    assert ctx.backend is render.Backend.TORCH
    assert any("chose 'torch'" in r.getMessage() for r in caplog.records)
    with caplog.at_level(logging.INFO, logger="render.backend"):
        caplog.clear()
        render.make_context("torch")
    assert not caplog.records  # a named backend needs no announcement


def test_torch_context_options_are_validated():
    ctx = render.make_context("torch", tile_size=8, max_fragments=1000)
    assert (ctx.tile_size, ctx.max_fragments) == (8, 1000)
    with pytest.raises(ValueError, match="tile_size must be an int"):
        render.TorchRasterContext(tile_size=0)
    with pytest.raises(ValueError, match="max_fragments must be a positive int"):
        render.TorchRasterContext(max_fragments=-1)
    with pytest.raises(dataclasses_frozen_error()):
        ctx.tile_size = 4


def dataclasses_frozen_error():
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_named_nvdiffrast_never_falls_back():
    with pytest.raises(ValueError, match="needs CUDA tensors"):
        render.make_context("nvdiffrast", device="cpu")
    if not HAVE_NVDR:
        with pytest.raises(ImportError, match="pip install diffrp-nvdiffrast"):
            render.make_context("nvdiffrast")
        with pytest.raises(ImportError, match="pip install diffrp-nvdiffrast"):
            render.NvdiffrastRasterContext()


@pytest.mark.skipif(HAVE_NVDR, reason="checks the fallback when nvdiffrast is missing")
def test_auto_on_cuda_device_without_nvdiffrast_warns():
    with pytest.warns(UserWarning, match="pure-PyTorch rasterizer"):
        chosen = resolve_backend("auto", torch.device("cuda", 0))
    assert chosen is render.Backend.TORCH


def test_ops_dispatch_to_torch_on_cpu():
    ctx = render.make_context("torch")
    pos = torch.tensor([[[-0.5, -0.5, 0, 1], [0.5, -0.5, 0, 1], [0, 0.5, 0, 1]]])
    tri = torch.tensor([[0, 1, 2]], dtype=torch.int32)
    rast, _ = render.rasterize(ctx, pos, tri, (8, 8))
    a, _ = render.interpolate(torch.eye(3), rast, tri, backend="torch")
    b, _ = render.interpolate(torch.eye(3), rast, tri)
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="needs CUDA tensors"):
        render.antialias(rast[..., 3:].clamp(0, 1), rast, pos, tri, backend=render.Backend.NVDIFFRAST)
    with pytest.raises(ValueError, match="needs CUDA tensors"):
        render.texture(torch.rand(1, 4, 4, 3), torch.rand(1, 8, 8, 2), backend="nvdiffrast")


def test_public_exports():
    for name in ("rasterize", "interpolate", "antialias", "texture", "make_context", "Backend"):
        assert name in render.__all__ and hasattr(render, name)


def test_texture_and_antialias_dispatch_to_the_torch_backend():
    from render.torch_backend.antialias import antialias_torch
    from render.torch_backend.texture import texture_torch

    g = torch.Generator().manual_seed(0)
    tex = torch.rand(1, 4, 5, 3, generator=g)
    uv = torch.rand(2, 6, 6, 2, generator=g)
    assert torch.equal(render.texture(tex, uv), texture_torch(tex, uv, "auto", "wrap"))
    assert torch.equal(
        render.texture(tex, uv, filter_mode="nearest", boundary_mode="clamp"),
        texture_torch(tex, uv, "nearest", "clamp"),
    )
    with pytest.raises(NotImplementedError, match="mip"):
        render.texture(tex, uv, mip=[tex])
    with pytest.raises(ValueError, match="filter_mode must be one of"):
        render.texture(tex, uv, filter_mode="cubic")
    ctx = render.make_context("torch")
    pos = torch.tensor([[[-0.5, -0.5, 0, 1], [0.5, -0.5, 0, 1], [0, 0.5, 0, 1]]])
    tri = torch.tensor([[0, 1, 2]])
    rast, _ = render.rasterize(ctx, pos, tri, (8, 8))
    mask = rast[..., 3:].clamp(0, 1)
    assert torch.equal(render.antialias(mask, rast, pos, tri), antialias_torch(mask, rast, pos, tri))
    # an empty mesh leaves the colour unchanged
    empty = torch.zeros(0, 3, dtype=torch.int64)
    assert torch.equal(render.antialias(mask, rast * 0, pos, empty), mask)
