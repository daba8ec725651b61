"""Tests of the pure-PyTorch ``texture`` (nvdiffrast semantics)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from render.torch_backend.texture import texture_construct_mip_torch, texture_torch


def _uv(points, dtype=torch.float64):
    """``[(u, v), ...]`` -> ``uv[1, 1, P, 2]``."""
    return torch.tensor(points, dtype=dtype).reshape(1, 1, -1, 2)


def _grid_sample(tex, uv, padding):
    img = F.grid_sample(
        tex.permute(0, 3, 1, 2), 2 * uv - 1, mode="bilinear", padding_mode=padding, align_corners=False
    )
    return img.permute(0, 2, 3, 1)


def _away_from_kinks(uv, size_hw, margin=1e-3):
    """Nudge texel-space positions off integers (bilinear kinks) and uv off integers (wrap)."""
    h, w = size_hw
    s = uv[..., 0] * w - 0.5
    t = uv[..., 1] * h - 0.5
    s = torch.where((s - s.round()).abs() < margin, s + 3 * margin, s)
    t = torch.where((t - t.round()).abs() < margin, t + 3 * margin, t)
    return torch.stack([(s + 0.5) / w, (t + 0.5) / h], dim=-1)


# ----------------------------------------------------------------------------------------------
# Hand-computed values.


def test_texel_centres_and_orientation():
    # 2 rows x 3 columns; value = 10 * row + column.
    tex = torch.tensor([[0.0, 1.0, 2.0], [10.0, 11.0, 12.0]], dtype=torch.float64).reshape(1, 2, 3, 1)
    centres = [((i + 0.5) / 3, (j + 0.5) / 2) for j in range(2) for i in range(3)]
    for mode in ("linear", "nearest"):
        for boundary in ("wrap", "clamp", "zero"):
            out = texture_torch(tex, _uv(centres), filter_mode=mode, boundary_mode=boundary)
            assert out.flatten().tolist() == [0.0, 1.0, 2.0, 10.0, 11.0, 12.0], (mode, boundary)
    # u runs along columns, v along rows, row 0 at v in [0, 1/2).
    out = texture_torch(tex, _uv([(0.99, 0.01)]), filter_mode="nearest")
    assert out.item() == 2.0


def test_bilinear_by_hand():
    tex = torch.tensor([[1.0, 3.0], [5.0, 13.0]], dtype=torch.float64).reshape(1, 2, 2, 1)
    # Texel-space (0.25, 0.5): between columns 0/1 at 1/4, rows 0/1 at 1/2.
    # top = 1 + 0.25 * 2 = 1.5, bottom = 5 + 0.25 * 8 = 7, result = 1.5 + 0.5 * 5.5 = 4.25.
    uv = _uv([((0.25 + 0.5) / 2, (0.5 + 0.5) / 2)])
    for boundary in ("wrap", "clamp", "zero"):
        assert texture_torch(tex, uv, boundary_mode=boundary).item() == pytest.approx(4.25, abs=1e-12)


def test_boundary_modes_by_hand():
    # One row of 4 texels: 0, 1, 2, 3. u = 0 is texel-space -0.5.
    tex = torch.arange(4, dtype=torch.float64).reshape(1, 1, 4, 1)
    uv = _uv([(0.0, 0.5), (1.0 / 32, 0.5), (1.1, 0.5), (-0.375, 0.5)])
    wrap = texture_torch(tex, uv, boundary_mode="wrap").flatten()
    clamp = texture_torch(tex, uv, boundary_mode="clamp").flatten()
    zero = texture_torch(tex, uv, boundary_mode="zero").flatten()
    # u = 0: halfway between texel 3 (wrapped) and texel 0 -> 1.5 | clamped to texel 0 -> 0 |
    # halfway between 0 (outside) and texel 0 -> 0.
    # u = 1/32 (s = -0.375): wrap 0.375 * 3 + 0.625 * 0 = 1.125 | clamp 0 | zero 0.625 * 0 = 0.
    # u = 1.1 wraps to 0.1 (s = -0.1): wrap 0.1 * 3 + 0.9 * 0 = 0.3 | clamp: s = 3.9 -> 3 | zero: s = 3.9:
    #   0.1 * 3 + 0.9 * 0 (outside) = 0.3.
    # u = -0.375 wraps to 0.625 (s = 2): 2 | clamp s = -2 -> 0 | zero: fully outside -> 0.
    torch.testing.assert_close(wrap, torch.tensor([1.5, 1.125, 0.3, 2.0], dtype=torch.float64))
    torch.testing.assert_close(clamp, torch.tensor([0.0, 0.0, 3.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(zero, torch.tensor([0.0, 0.0, 0.3, 0.0], dtype=torch.float64))

    near = [(-0.01, 0.5), (1.0, 0.5), (0.74, 0.5), (1.3, 0.5)]
    n_wrap = texture_torch(tex, _uv(near), "nearest", "wrap").flatten().tolist()
    n_clamp = texture_torch(tex, _uv(near), "nearest", "clamp").flatten().tolist()
    n_zero = texture_torch(tex, _uv(near), "nearest", "zero").flatten().tolist()
    assert n_wrap == [3.0, 0.0, 2.0, 1.0]
    assert n_clamp == [0.0, 3.0, 2.0, 3.0]
    assert n_zero == [0.0, 0.0, 2.0, 0.0]


def test_uv_gradient_by_hand():
    # A ramp along u (value = column index): interior bilinear value s = u * W - 0.5, so
    # d out / du = W and d out / dv = 0.
    width = 8
    tex = torch.arange(width, dtype=torch.float64).repeat(3, 1).reshape(1, 3, width, 1)
    uv = _uv([(0.3, 0.4), (0.55, 0.7)]).requires_grad_(True)
    out = texture_torch(tex, uv, boundary_mode="clamp")
    torch.testing.assert_close(
        out.flatten(), torch.tensor([0.3 * 8 - 0.5, 0.55 * 8 - 0.5], dtype=torch.float64)
    )
    out.sum().backward()
    torch.testing.assert_close(
        uv.grad.reshape(-1, 2), torch.tensor([[8.0, 0.0], [8.0, 0.0]], dtype=torch.float64)
    )
    # Clamped positions (beyond the edge texel centres) have zero uv gradient.
    uv2 = _uv([(0.01, 0.4), (0.99, 0.5)]).requires_grad_(True)
    texture_torch(tex, uv2, boundary_mode="clamp").sum().backward()
    assert torch.all(uv2.grad == 0)
    # Nearest has no uv gradient.
    uv3 = _uv([(0.3, 0.4)]).requires_grad_(True)
    out3 = texture_torch(tex.clone().requires_grad_(True), uv3, filter_mode="nearest")
    out3.sum().backward()
    assert uv3.grad is None or torch.all(uv3.grad == 0)


# ----------------------------------------------------------------------------------------------
# Against grid_sample (clamp = border padding, zero = zeros padding) and a circular-pad wrap.


@pytest.mark.parametrize(("boundary", "padding"), [("clamp", "border"), ("zero", "zeros")])
def test_linear_matches_grid_sample(boundary, padding):
    gen = torch.Generator().manual_seed(0)
    tex = torch.rand(2, 5, 7, 3, generator=gen, dtype=torch.float64)
    uv = torch.rand(2, 6, 4, 2, generator=gen, dtype=torch.float64) * 1.6 - 0.3
    out = texture_torch(tex, uv, boundary_mode=boundary)
    torch.testing.assert_close(out, _grid_sample(tex, uv, padding))


def test_linear_wrap_matches_circular_padding():
    gen = torch.Generator().manual_seed(1)
    tex = torch.rand(1, 4, 6, 2, generator=gen, dtype=torch.float64)
    uv = torch.rand(1, 5, 5, 2, generator=gen, dtype=torch.float64) * 3 - 1
    out = texture_torch(tex, uv, boundary_mode="wrap")
    # Pad one texel circularly on each side and sample the fractional uv inside the padded image.
    padded = torch.cat([tex[:, -1:], tex, tex[:, :1]], dim=1)
    padded = torch.cat([padded[:, :, -1:], padded, padded[:, :, :1]], dim=2)
    frac = uv - torch.floor(uv)
    s = (frac[..., 0] * 6 + 1) / 8
    t = (frac[..., 1] * 4 + 1) / 6
    ref = _grid_sample(padded, torch.stack([s, t], dim=-1), "border")
    torch.testing.assert_close(out, ref)


def test_broadcast_texture_batch():
    gen = torch.Generator().manual_seed(2)
    tex = torch.rand(1, 4, 4, 3, generator=gen, dtype=torch.float64)
    uv = torch.rand(3, 2, 5, 2, generator=gen, dtype=torch.float64)
    for mode in ("linear", "nearest"):
        out = texture_torch(tex, uv, filter_mode=mode)
        assert out.shape == (3, 2, 5, 3)
        per_item = torch.cat([texture_torch(tex, uv[b : b + 1], filter_mode=mode) for b in range(3)])
        torch.testing.assert_close(out, per_item)
        full = texture_torch(tex.expand(3, -1, -1, -1).contiguous(), uv, filter_mode=mode)
        torch.testing.assert_close(out, full)


def test_float32_and_dtype():
    tex = torch.rand(1, 4, 4, 2)
    uv = torch.rand(1, 3, 3, 2)
    out = texture_torch(tex, uv)
    assert out.dtype == torch.float32 and out.shape == (1, 3, 3, 2)
    torch.testing.assert_close(out.double(), texture_torch(tex.double(), uv.double()), atol=1e-6, rtol=0)


# ----------------------------------------------------------------------------------------------
# gradcheck in float64.


@pytest.mark.parametrize("boundary", ["wrap", "clamp", "zero"])
def test_gradcheck_linear(boundary):
    gen = torch.Generator().manual_seed(3)
    tex = torch.rand(1, 3, 4, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    uv = torch.rand(2, 3, 2, 2, generator=gen, dtype=torch.float64) * 1.4 - 0.2
    uv = _away_from_kinks(uv, (3, 4))
    if boundary == "wrap":
        uv = torch.where((uv - uv.round()).abs() < 1e-3, uv + 3e-3, uv)
    uv.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t, c: texture_torch(t, c, boundary_mode=boundary), (tex, uv))


@pytest.mark.parametrize("boundary", ["wrap", "clamp", "zero"])
def test_gradcheck_nearest_tex(boundary):
    gen = torch.Generator().manual_seed(4)
    tex = torch.rand(2, 3, 4, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    uv = torch.rand(2, 3, 3, 2, generator=gen, dtype=torch.float64) * 1.4 - 0.2
    assert torch.autograd.gradcheck(lambda t: texture_torch(t, uv, "nearest", boundary), (tex,))


# ----------------------------------------------------------------------------------------------
# Mipmaps.


def test_mip_stack_is_box_averaged():
    tex = torch.arange(32, dtype=torch.float64).reshape(1, 4, 8, 1)
    levels = texture_construct_mip_torch(tex)
    assert [tuple(lv.shape[1:3]) for lv in levels] == [(4, 8), (2, 4), (1, 2), (1, 1)]
    torch.testing.assert_close(
        levels[1][0, 0, 0, 0], (tex[0, 0, 0, 0] + tex[0, 0, 1, 0] + tex[0, 1, 0, 0] + tex[0, 1, 1, 0]) / 4
    )
    torch.testing.assert_close(levels[-1].flatten(), tex.mean().reshape(1))
    assert len(texture_construct_mip_torch(tex, max_mip_level=1)) == 2
    with pytest.raises(ValueError, match="max_mip_level"):
        texture_construct_mip_torch(torch.rand(1, 6, 6, 1))
    assert len(texture_construct_mip_torch(torch.rand(1, 6, 6, 1), max_mip_level=1)) == 2


def test_mip_level_selection():
    gen = torch.Generator().manual_seed(5)
    tex = torch.rand(1, 8, 8, 2, generator=gen, dtype=torch.float64)
    levels = texture_construct_mip_torch(tex)
    uv = torch.rand(1, 4, 4, 2, generator=gen, dtype=torch.float64)
    uv_wide = uv * 1.6 - 0.3  # reaches outside [0, 1] to exercise the boundary modes per level
    for boundary in ("wrap", "clamp", "zero"):
        for k in range(4):
            # An isotropic footprint of 2^k texels: uv_da = (2^k / W, 0, 0, 2^k / H) -> lambda = k.
            da = torch.tensor([2.0**k / 8, 0.0, 0.0, 2.0**k / 8], dtype=torch.float64).expand(1, 4, 4, 4)
            out = texture_torch(tex, uv_wide, "linear-mipmap-nearest", boundary, uv_da=da)
            torch.testing.assert_close(out, texture_torch(levels[k], uv_wide, "linear", boundary))
    # Fractional level 1.25 with linear-mipmap-linear blends levels 1 and 2 with weight 0.25.
    da = torch.tensor([2.0 / 8, 0.0, 0.0, 2.0 / 8], dtype=torch.float64).expand(1, 4, 4, 4)
    bias = torch.full((1, 4, 4), 0.25, dtype=torch.float64)
    out = texture_torch(tex, uv, "auto", uv_da=da, mip_level_bias=bias)
    ref = 0.75 * texture_torch(levels[1], uv) + 0.25 * texture_torch(levels[2], uv)
    torch.testing.assert_close(out, ref)
    # Bias only: lambda = bias; magnification (lambda < 0) clamps to level 0.
    out = texture_torch(
        tex, uv, "linear-mipmap-linear", mip_level_bias=torch.full((1, 4, 4), -2.0, dtype=torch.float64)
    )
    torch.testing.assert_close(out, texture_torch(tex, uv))
    out = texture_torch(
        tex, uv, "linear-mipmap-linear", mip_level_bias=torch.full((1, 4, 4), 9.0, dtype=torch.float64)
    )
    torch.testing.assert_close(out, texture_torch(levels[-1], uv))


@pytest.mark.parametrize("boundary", ["wrap", "clamp", "zero"])
def test_per_pixel_levels_mixed_in_one_call(boundary):
    gen = torch.Generator().manual_seed(9)
    tex = torch.rand(2, 16, 8, 2, generator=gen, dtype=torch.float64)
    levels = texture_construct_mip_torch(tex)  # 16x8, 8x4, 4x2, 2x1, 1x1
    uv = torch.rand(2, 6, 7, 2, generator=gen, dtype=torch.float64) * 1.4 - 0.2
    bias = torch.rand(2, 6, 7, generator=gen, dtype=torch.float64) * 4.6 - 0.3
    out = texture_torch(tex, uv, "linear-mipmap-linear", boundary, mip_level_bias=bias)
    per_level = torch.stack([texture_torch(lv, uv, "linear", boundary) for lv in levels])  # [L, B, h, w, C]
    lam = bias.clamp(0, len(levels) - 1)
    l0 = lam.floor().long()
    l1 = (l0 + 1).clamp(max=len(levels) - 1)
    frac = (lam - l0)[..., None]
    pick0 = per_level.gather(0, l0[None, ..., None].expand(1, -1, -1, -1, 2))[0]
    pick1 = per_level.gather(0, l1[None, ..., None].expand(1, -1, -1, -1, 2))[0]
    torch.testing.assert_close(out, pick0 + frac * (pick1 - pick0))
    assert len(torch.unique(l0)) >= 4


def test_gradcheck_mipmap_linear():
    gen = torch.Generator().manual_seed(6)
    tex = torch.rand(1, 4, 4, 1, generator=gen, dtype=torch.float64, requires_grad=True)
    uv = _away_from_kinks(torch.rand(1, 2, 3, 2, generator=gen, dtype=torch.float64) * 0.8 + 0.1, (4, 4))
    uv = uv.requires_grad_(True)
    # Anisotropic footprints between levels 0 and 2 (away from integer levels).
    da = (torch.rand(1, 2, 3, 4, generator=gen, dtype=torch.float64) * 0.3 + 0.1) * torch.tensor(
        [1, 0.2, -0.3, 1.0], dtype=torch.float64
    )
    da = da.requires_grad_(True)
    bias = (torch.rand(1, 2, 3, generator=gen, dtype=torch.float64) * 0.2).requires_grad_(True)

    def f(t, c, d, b):
        return texture_torch(t, c, "linear-mipmap-linear", "clamp", uv_da=d, mip_level_bias=b)

    assert torch.autograd.gradcheck(f, (tex, uv, da, bias))


def test_isotropic_footprint_has_zero_uv_da_gradient_like_nvdiffrast():
    tex = torch.rand(1, 8, 8, 1, dtype=torch.float64)
    uv = torch.full((1, 1, 1, 2), 0.37, dtype=torch.float64)
    da = torch.tensor([0.3, 0.0, 0.0, 0.3], dtype=torch.float64).reshape(1, 1, 1, 4).requires_grad_(True)
    bias = torch.zeros(1, 1, 1, dtype=torch.float64, requires_grad=True)
    texture_torch(tex, uv, "linear-mipmap-linear", uv_da=da, mip_level_bias=bias).sum().backward()
    assert torch.all(da.grad == 0)
    assert torch.isfinite(bias.grad).all() and bias.grad.abs().sum() > 0


# ----------------------------------------------------------------------------------------------
# Errors.


def test_bad_inputs_raise():
    tex = torch.rand(1, 4, 4, 3)
    uv = torch.rand(2, 3, 3, 2)
    with pytest.raises(ValueError, match="cube"):
        texture_torch(tex, uv, boundary_mode="cube")
    with pytest.raises(ValueError, match="filter_mode"):
        texture_torch(tex, uv, filter_mode="cubic")
    with pytest.raises(ValueError, match="tex batch"):
        texture_torch(torch.rand(3, 4, 4, 3), uv)
    with pytest.raises(ValueError, match="uv must have shape"):
        texture_torch(tex, uv[..., :1])
    with pytest.raises(ValueError, match="tex must have shape"):
        texture_torch(tex[0], uv)
    with pytest.raises(TypeError, match="uv"):
        texture_torch(tex, uv.long())
    with pytest.raises(ValueError, match="uv_da"):
        texture_torch(tex, uv, "linear-mipmap-linear")
    with pytest.raises(ValueError, match="uv_da must have shape"):
        texture_torch(tex, uv, uv_da=torch.zeros(2, 3, 3, 2))


@pytest.mark.cuda
@pytest.mark.parametrize("mode", ["nearest", "linear", "linear-mipmap-linear"])
def test_cuda_tensors_match_cpu(mode):
    gen = torch.Generator().manual_seed(8)
    tex = torch.rand(1, 8, 8, 3, generator=gen, dtype=torch.float64)
    uv = torch.rand(2, 5, 5, 2, generator=gen, dtype=torch.float64) * 1.5 - 0.25
    bias = torch.rand(2, 5, 5, generator=gen, dtype=torch.float64) * 2
    results = []
    for device in ("cpu", "cuda"):
        t = tex.to(device, copy=True).requires_grad_(True)  # a fresh leaf on each device
        c = uv.to(device, copy=True).requires_grad_(True)
        extra = {"mip_level_bias": bias.to(device)} if "mipmap" in mode else {}
        out = texture_torch(t, c, mode, "wrap", **extra)
        out.sum().backward()
        grad_uv = c.grad.cpu() if c.grad is not None else torch.zeros_like(uv)
        results.append((out.detach().cpu(), t.grad.cpu(), grad_uv))
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b)
