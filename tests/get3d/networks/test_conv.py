"""Modulated convolution, synthesis layer and ToRGB against explicit per-sample convolution."""

from __future__ import annotations

import math

import pytest
import torch

from get3d.networks.conv import SynthesisLayer, ToRGBLayer, modulated_conv2d
from get3d.networks.fir import setup_filter

from ._reference import modulated_conv2d_ref


@pytest.mark.parametrize("up", [1, 2])
@pytest.mark.parametrize("demodulate", [True, False])
@pytest.mark.parametrize("fused", [False, True])
def test_modulated_conv2d_matches_per_sample_reference(up, demodulate, fused):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 5, 5, generator=g, dtype=torch.float64)
    weight = torch.randn(6, 4, 3, 3, generator=g, dtype=torch.float64)
    styles = torch.randn(3, 4, generator=g, dtype=torch.float64)
    noise = torch.randn(3, 1, 5 * up, 5 * up, generator=g, dtype=torch.float64)
    f = setup_filter(dtype=torch.float64)
    got = modulated_conv2d(
        x, weight, styles, noise, up=up, padding=1, resample_filter=f, demodulate=demodulate, fused=fused
    )
    want = modulated_conv2d_ref(x, weight, styles, noise, up=up, padding=1, f=f, demodulate=demodulate)
    torch.testing.assert_close(got, want)


def test_modulated_conv2d_gradcheck():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 2, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(2, 2, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    styles = torch.randn(2, 2, generator=g, dtype=torch.float64, requires_grad=True)
    f = setup_filter(dtype=torch.float64)
    for up in (1, 2):
        assert torch.autograd.gradcheck(
            lambda a, b, c, up=up: modulated_conv2d(a, b, c, up=up, padding=1, resample_filter=f),
            (x, weight, styles),
            fast_mode=True,
        )


def test_demodulation_makes_output_invariant_to_style_scale():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 4, 4, generator=g)
    weight = torch.randn(5, 3, 3, 3, generator=g)
    s = torch.rand(2, 3, generator=g) + 0.5
    a = modulated_conv2d(x, weight, s, padding=1)
    b = modulated_conv2d(x, weight, s * torch.tensor([[3.0], [0.1]]), padding=1)
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_synthesis_layer_matches_reference_and_noise_modes():
    torch.manual_seed(3)
    layer = SynthesisLayer(4, 6, w_dim=8, resolution=8, up=2, conv_clamp=0.9).double()
    with torch.no_grad():
        layer.noise_strength.fill_(0.3)
        layer.bias.normal_()
    x = torch.randn(2, 4, 4, 4, dtype=torch.float64)
    w = torch.randn(2, 8, dtype=torch.float64)
    styles = layer.affine(w)
    y = modulated_conv2d_ref(
        x, layer.weight, styles, layer.noise_const * 0.3, up=2, padding=1, f=layer.resample_filter
    )

    def want_fn(gain):
        act = torch.nn.functional.leaky_relu(y + layer.bias.reshape(1, -1, 1, 1), 0.2) * math.sqrt(2) * gain
        return act.clamp(-0.9 * gain, 0.9 * gain)

    want = (torch.nn.functional.leaky_relu(y + layer.bias.reshape(1, -1, 1, 1), 0.2) * math.sqrt(2)).clamp(
        -0.9, 0.9
    )
    torch.testing.assert_close(layer(x, w, noise_mode="const"), want)
    # a batch of one takes the per-sample-weight path by default; both paths agree
    torch.testing.assert_close(layer(x[:1], w[:1], noise_mode="const"), want[:1])
    torch.testing.assert_close(layer(x, w, noise_mode="const", fused=True), want)
    torch.testing.assert_close(layer(x, w, noise_mode="const", gain=0.5), (want_fn(0.5)))
    # const is deterministic, random is not, none differs from const when the strength is non-zero
    torch.testing.assert_close(layer(x, w, noise_mode="const"), layer(x, w, noise_mode="const"))
    assert not torch.equal(layer(x, w, noise_mode="random"), layer(x, w, noise_mode="random"))
    assert not torch.equal(layer(x, w, noise_mode="none"), layer(x, w, noise_mode="const"))
    with pytest.raises(ValueError, match="noise_mode"):
        layer(x, w, noise_mode="fixed")
    with pytest.raises(ValueError, match="x"):
        layer(torch.zeros(2, 4, 8, 8, dtype=torch.float64), w)
    # affine bias starts at 1, noise strength at 0
    fresh = SynthesisLayer(4, 6, w_dim=8, resolution=8)
    torch.testing.assert_close(fresh.affine.bias.detach(), torch.ones(4))
    assert fresh.noise_strength.item() == 0.0
    assert [n for n, _ in fresh.named_parameters()] == [
        "weight",
        "noise_strength",
        "bias",
        "affine.weight",
        "affine.bias",
    ]
    assert [n for n, _ in fresh.named_buffers()] == ["resample_filter", "noise_const"]


def test_to_rgb_is_unnormalised_1x1_modulation():
    torch.manual_seed(4)
    layer = ToRGBLayer(5, 3, w_dim=7, conv_clamp=2.0).double()
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(2, 5, 3, 4, dtype=torch.float64) * 10
    w = torch.randn(2, 7, dtype=torch.float64)
    s = layer.affine(w) / math.sqrt(5)
    want = torch.einsum("oc,bc,bchw->bohw", layer.weight[:, :, 0, 0], s, x) + layer.bias.reshape(1, 3, 1, 1)
    torch.testing.assert_close(layer(x, w), want.clamp(-2, 2))
    torch.testing.assert_close(layer(x, w, fused=True), want.clamp(-2, 2))


@pytest.mark.parametrize("demodulate", [True, False])
@pytest.mark.parametrize("fused", [False, True])
def test_out_gain_scales_the_convolution_not_the_noise(demodulate, fused):
    g = torch.Generator().manual_seed(7)
    x = torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64)
    weight = torch.randn(4, 3, 3, 3, generator=g, dtype=torch.float64)
    styles = torch.randn(2, 3, generator=g, dtype=torch.float64)
    noise = torch.randn(4, 4, generator=g, dtype=torch.float64)
    kw = dict(padding=1, demodulate=demodulate, fused=fused)
    got = modulated_conv2d(x, weight, styles, noise, out_gain=1.7, **kw)
    torch.testing.assert_close(got, 1.7 * modulated_conv2d(x, weight, styles, **kw) + noise)
