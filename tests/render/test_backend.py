"""Tests of backend selection, contexts and op dispatch."""

from __future__ import annotations

import logging
import sys
import types
import warnings

import pytest
import torch

import render
from render import nvdiffrast_loader
from render.backend import resolve_backend
from render.nvdiffrast_checks import NvdiffrastUnavailable, check_ninja


@pytest.fixture
def no_nvdiffrast(monkeypatch):
    """nvdiffrast not installed, whatever this machine has."""
    monkeypatch.setattr(nvdiffrast_loader, "_CACHE", nvdiffrast_loader._PluginCache())
    monkeypatch.setitem(sys.modules, "nvdiffrast", None)  # `import nvdiffrast` raises ImportError


@pytest.fixture
def fake_cuda(monkeypatch):
    """torch sees one CUDA device (nothing is allocated on it in these tests)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)


def _loader_gives(monkeypatch, outcome):
    """Make render's nvdiffrast loader return a fake ``nvdiffrast.torch`` or raise ``outcome``."""
    dr = types.SimpleNamespace(RasterizeCudaContext=lambda device=None: ("raw context", device))

    def load_nvdiffrast():
        if isinstance(outcome, Exception):
            raise outcome
        return dr

    monkeypatch.setattr(nvdiffrast_loader, "load_nvdiffrast", load_nvdiffrast)


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


def test_named_nvdiffrast_never_falls_back(no_nvdiffrast):
    with pytest.raises(ValueError, match="needs CUDA tensors"):
        render.make_context("nvdiffrast", device="cpu")
    with pytest.raises(ImportError, match="pip install diffrp-nvdiffrast"):
        render.make_context("nvdiffrast")
    with pytest.raises(ImportError, match="pip install diffrp-nvdiffrast"):
        render.NvdiffrastRasterContext()


def test_auto_on_cuda_device_without_nvdiffrast_warns(no_nvdiffrast):
    with pytest.warns(
        UserWarning, match=r"pure-PyTorch rasterizer on cuda:0 because nvdiffrast is unusable: "
    ):
        chosen = resolve_backend("auto", torch.device("cuda", 0))
    assert chosen is render.Backend.TORCH
    assert not render.nvdiffrast_available()


def test_auto_on_cuda_falls_back_with_the_loaders_reason(monkeypatch):
    try:
        check_ninja(None)
    except NvdiffrastUnavailable as err:
        _loader_gives(monkeypatch, err)
    assert not render.nvdiffrast_available()
    with pytest.warns(UserWarning, match=r"nvdiffrast is unusable: building nvdiffrast's plugin needs ninja"):
        assert resolve_backend("auto", "cuda:0") is render.Backend.TORCH
    with pytest.raises(NvdiffrastUnavailable, match="needs ninja"):  # asked for by name: no fallback
        resolve_backend("nvdiffrast", "cuda:0")


def test_auto_on_cuda_picks_nvdiffrast_when_its_plugin_loads(monkeypatch):
    _loader_gives(monkeypatch, None)
    assert render.nvdiffrast_available()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_backend("auto", "cuda:1") is render.Backend.NVDIFFRAST
    assert resolve_backend("auto", "cpu") is render.Backend.TORCH


def test_make_context_without_device_is_the_drop_in_for_rasterize_cuda_context(fake_cuda, monkeypatch):
    _loader_gives(monkeypatch, None)
    ctx = render.make_context()
    assert isinstance(ctx, render.NvdiffrastRasterContext)
    assert ctx.device == torch.device("cuda", 0) and ctx.raw == ("raw context", torch.device("cuda", 0))
    assert isinstance(render.make_context("torch"), render.TorchRasterContext)  # by name: no loader
    _loader_gives(monkeypatch, NvdiffrastUnavailable("nvcc missing"))
    with pytest.warns(
        UserWarning, match="pure-PyTorch rasterizer on cuda:0 because nvdiffrast is unusable: nvcc"
    ):
        ctx = render.make_context()
    assert isinstance(ctx, render.TorchRasterContext)
    with pytest.raises(NvdiffrastUnavailable, match="nvcc missing"):
        render.make_context("nvdiffrast")


def test_make_context_without_device_or_cuda_is_the_torch_context(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _loader_gives(monkeypatch, AssertionError("the loader is not consulted for CPU tensors"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert isinstance(render.make_context(), render.TorchRasterContext)


TRIANGLE = torch.tensor([[[-0.5, -0.5, 0, 1], [0.5, -0.5, 0, 1], [0, 0.5, 0, 1]]])


def _triangle_barycentrics(height: int, width: int) -> torch.Tensor:
    """By hand: barycentrics of the pixel centres of ``TRIANGLE`` (0 outside), ``[H, W, 3]`` float64.

    Pixel (i, j) has its centre at NDC ((j + 0.5) / W * 2 - 1, (i + 0.5) / H * 2 - 1) (row 0 at
    y = -1). No centre of a 16x16 grid lies on an edge of the triangle, so coverage is unambiguous.
    """
    (x0, y0), (x1, y1), (x2, y2) = TRIANGLE[0, :, :2].double().tolist()
    ys = (torch.arange(height, dtype=torch.float64) + 0.5) / height * 2 - 1
    xs = (torch.arange(width, dtype=torch.float64) + 0.5) / width * 2 - 1
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    b0 = ((x1 - x) * (y2 - y) - (x2 - x) * (y1 - y)) / area
    b1 = ((x2 - x) * (y0 - y) - (x0 - x) * (y2 - y)) / area
    b = torch.stack([b0, b1, 1 - b0 - b1], dim=-1)
    inside = (b > 0).all(dim=-1, keepdim=True)
    return torch.where(inside, b, torch.zeros_like(b))


def test_ops_dispatch_to_torch_on_cpu():
    from render.torch_backend.interpolate import interpolate_torch
    from render.torch_backend.rasterize import rasterize_torch

    ctx = render.make_context("torch")
    pos = TRIANGLE
    tri = torch.tensor([[0, 1, 2]], dtype=torch.int32)
    rast, rast_db = render.rasterize(ctx, pos, tri, (16, 16))
    # the context's rasterize is the torch backend's, with the context's options
    direct_rast, direct_db = rasterize_torch(
        pos, tri, (16, 16), tile_size=ctx.tile_size, max_fragments=ctx.max_fragments
    )
    assert torch.equal(rast, direct_rast) and torch.equal(rast_db, direct_db)
    expected = _triangle_barycentrics(16, 16)
    assert 10 < int((expected.sum(-1) > 0).sum()) < 256  # the case covers some pixels, not all
    assert torch.equal(rast[0, ..., 3], (expected.sum(-1) > 0).float())
    # attribute eye(3) interpolates to the barycentrics; same on every way of asking for torch
    a, _ = render.interpolate(torch.eye(3), rast, tri, backend="torch")
    b, _ = render.interpolate(torch.eye(3), rast, tri)
    c, _ = render.interpolate(torch.eye(3), rast, tri, backend=ctx)
    direct, _ = interpolate_torch(torch.eye(3), rast, tri)
    for out in (a, b, c):
        assert out.shape == (1, 16, 16, 3)
        torch.testing.assert_close(out[0].double(), expected, rtol=0, atol=1e-6)
        assert torch.equal(out, direct)
    with pytest.raises(ValueError, match="needs CUDA tensors"):
        render.antialias(rast[..., 3:].clamp(0, 1), rast, pos, tri, backend=render.Backend.NVDIFFRAST)
    with pytest.raises(ValueError, match="needs CUDA tensors"):
        render.texture(torch.rand(1, 4, 4, 3), torch.rand(1, 8, 8, 2), backend="nvdiffrast")
    with pytest.raises(ValueError, match="needs CUDA tensors"):
        render.interpolate(torch.eye(3), rast, tri, backend="nvdiffrast")


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
    # by hand: a 2x2 texture; texel centres at u, v in {0.25, 0.75}, u along columns, v along rows
    tex2 = torch.tensor([[[[1.0], [2.0]], [[3.0], [4.0]]]])
    uv2 = torch.tensor([[[[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.5, 0.75], [0.5, 0.5]]]])
    for out in (render.texture(tex2, uv2, filter_mode="linear"), render.texture(tex2, uv2, backend="torch")):
        torch.testing.assert_close(out.flatten(), torch.tensor([1.0, 2.0, 3.0, 3.5, 2.5]))
    nearest = render.texture(tex2, torch.tensor([[[[0.1, 0.9], [0.9, 0.1]]]]), filter_mode="nearest")
    assert nearest.flatten().tolist() == [3.0, 2.0]
    with pytest.raises(NotImplementedError, match="mip"):
        render.texture(tex, uv, mip=[tex])
    with pytest.raises(ValueError, match="filter_mode must be one of"):
        render.texture(tex, uv, filter_mode="cubic")
    ctx = render.make_context("torch")
    pos = torch.tensor([[[-0.5, -0.5, 0, 1], [0.5, -0.5, 0, 1], [0, 0.5, 0, 1]]])
    tri = torch.tensor([[0, 1, 2]])
    rast, _ = render.rasterize(ctx, pos, tri, (8, 8))
    mask = rast[..., 3:].clamp(0, 1)
    aa = render.antialias(mask, rast, pos, tri)
    assert torch.equal(aa, antialias_torch(mask, rast, pos, tri))
    # by hand: the edges are blended (values strictly between 0 and 1 appear, nothing leaves [0, 1])
    # and a colour that is equal on both sides of every edge is left as it is
    assert bool(((aa > 0) & (aa < 1)).any()) and not torch.equal(aa, mask)
    assert float(aa.min()) >= 0 and float(aa.max()) <= 1
    flat = torch.full_like(mask, 0.25)
    assert torch.equal(render.antialias(flat, rast, pos, tri), flat)
    # an empty mesh leaves the colour unchanged
    empty = torch.zeros(0, 3, dtype=torch.int64)
    assert torch.equal(render.antialias(mask, rast * 0, pos, empty), mask)
