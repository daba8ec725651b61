"""FIR resampling against the textbook definitions (zero insertion, padding, flipped filter)."""

from __future__ import annotations

import pytest
import torch

from get3d.networks.fir import conv2d_resample, downsample2d, setup_filter, upfirdn2d, upsample2d

from ._reference import conv2d_resample_ref, upfirdn2d_ref


def test_setup_filter_is_normalised_outer_product():
    f = setup_filter()
    assert f.shape == (4, 4)
    t = torch.tensor([1.0, 3.0, 3.0, 1.0]) / 8
    torch.testing.assert_close(f, torch.outer(t, t))
    assert f.sum().item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="taps"):
        setup_filter(())


@pytest.mark.parametrize(
    "up,down,padding,gain",
    [
        (1, 1, (0, 0, 0, 0), 1.0),
        (2, 1, (2, 1, 2, 1), 4.0),
        (1, 2, (1, 1, 1, 1), 1.0),
        (2, 1, (-1, 3, 0, 2), 2.5),
        (1, 2, (0, -1, 2, 0), 1.0),
        (3, 1, (1, 2, 0, 1), 1.0),
    ],
)
def test_upfirdn2d_matches_definition(up, down, padding, gain):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, 6, generator=g, dtype=torch.float64)
    f = torch.rand(4, 3, generator=g, dtype=torch.float64)  # asymmetric: checks the flip
    got = upfirdn2d(x, f, up=up, down=down, padding=padding, gain=gain)
    want = upfirdn2d_ref(x, f, up=up, down=down, padding=padding, gain=gain)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want)


def test_resample_keeps_dc_level_and_shapes():
    f = setup_filter()
    x = torch.full((1, 2, 8, 8), 3.0)
    up = upsample2d(x, f)
    down = downsample2d(x, f)
    assert up.shape == (1, 2, 16, 16) and down.shape == (1, 2, 4, 4)
    torch.testing.assert_close(up[..., 2:-2, 2:-2], torch.full_like(up[..., 2:-2, 2:-2], 3.0))
    torch.testing.assert_close(down[..., 1:-1, 1:-1], torch.full_like(down[..., 1:-1, 1:-1], 3.0))


@pytest.mark.parametrize(
    "k,up,down,flip",
    [
        (3, 1, 1, True),
        (3, 2, 1, False),
        (3, 2, 1, True),
        (3, 1, 2, True),
        (1, 2, 1, True),
        (1, 1, 2, True),
        (1, 1, 1, True),
    ],
)
def test_conv2d_resample_matches_definition(k, up, down, flip):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 6, 6, generator=g, dtype=torch.float64)
    w = torch.randn(4, 3, k, k, generator=g, dtype=torch.float64)
    f = setup_filter(dtype=torch.float64)
    got = conv2d_resample(x, w, f, up=up, down=down, padding=k // 2, flip_weight=flip)
    want = conv2d_resample_ref(x, w, f, up=up, down=down, padding=k // 2, flip_weight=flip)
    assert got.shape == (2, 4, 6 * up // down, 6 * up // down)
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize("up,down", [(2, 1), (1, 2)])
def test_conv2d_resample_groups_equal_separate_convolutions(up, down):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1, 4, 4, 4, generator=g, dtype=torch.float64)
    w = torch.randn(6, 2, 3, 3, generator=g, dtype=torch.float64)
    f = setup_filter(dtype=torch.float64)
    got = conv2d_resample(x, w, f, up=up, down=down, padding=1, groups=2, flip_weight=(up == 1))
    a = conv2d_resample(x[:, :2], w[:3], f, up=up, down=down, padding=1, flip_weight=(up == 1))
    b = conv2d_resample(x[:, 2:], w[3:], f, up=up, down=down, padding=1, flip_weight=(up == 1))
    torch.testing.assert_close(got, torch.cat([a, b], dim=1))


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 2, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    f = setup_filter(dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: upfirdn2d(a, f, up=2, padding=(2, 1, 2, 1), gain=4), (x,))
    assert torch.autograd.gradcheck(
        lambda a, b: conv2d_resample(a, b, f, up=2, padding=1, flip_weight=False), (x, w), fast_mode=True
    )
    assert torch.autograd.gradcheck(
        lambda a, b: conv2d_resample(a, b, f, down=2, padding=1), (x, w), fast_mode=True
    )


def test_bad_arguments_raise():
    f = setup_filter()
    with pytest.raises(ValueError, match="x"):
        upfirdn2d(torch.zeros(3, 4, 4), f)
    with pytest.raises(ValueError, match="padding"):
        upfirdn2d(torch.zeros(1, 1, 4, 4), f, padding=(1, 2, 3))
    with pytest.raises(ValueError, match="up/down"):
        conv2d_resample(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 3, 3), f, up=2, down=2)
    with pytest.raises(ValueError, match="filter"):
        conv2d_resample(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 3, 3), None, up=2)
