"""Equalised-lr FC/conv, bias_act and minibatch std against hand formulas and loops."""

from __future__ import annotations

import math

import pytest
import torch

from get3d.networks.fir import setup_filter
from get3d.networks.layers import (
    Activation,
    Conv2dLayer,
    FullyConnectedLayer,
    MinibatchStdLayer,
    bias_act,
    normalize_2nd_moment,
)

from ._reference import conv2d_resample_ref


def test_bias_act_hand_values():
    x = torch.tensor([[-2.0, 0.5], [1.0, -0.25]])
    b = torch.tensor([1.0, -1.0])
    # lrelu: slope 0.2, default gain sqrt(2)
    want = torch.tensor([[-0.2, -0.1], [2.0, -0.25]]) * math.sqrt(2)
    torch.testing.assert_close(bias_act(x, b, act="lrelu"), want)
    torch.testing.assert_close(bias_act(x, b), x + b)  # linear, gain 1
    torch.testing.assert_close(bias_act(x, b, act=Activation.RELU, gain=1.0), (x + b).clamp_min(0))
    torch.testing.assert_close(bias_act(x * 100, None, act="lrelu", clamp=3.0).abs().max(), torch.tensor(3.0))
    # bias along another dim
    x3 = torch.zeros(2, 3, 2)
    torch.testing.assert_close(bias_act(x3, b, dim=2)[1, 2], b)
    with pytest.raises(ValueError, match="act"):
        bias_act(x, act="swish")
    with pytest.raises(ValueError, match="b:"):
        bias_act(x, torch.zeros(3))


def test_normalize_2nd_moment():
    z = torch.randn(5, 7)
    n = normalize_2nd_moment(z)
    torch.testing.assert_close(n.square().mean(dim=1), torch.ones(5), rtol=1e-5, atol=1e-5)


def test_fully_connected_equalised_lr():
    torch.manual_seed(0)
    fc = FullyConnectedLayer(6, 4, activation="lrelu", lr_multiplier=0.01, bias_init=0.5)
    assert fc.weight.std().item() > 10  # stored N(0,1)/lr_mult
    torch.testing.assert_close(fc.bias.detach(), torch.full([4], 0.5))
    x = torch.randn(3, 6)
    pre = x @ (fc.weight * 0.01 / math.sqrt(6)).t() + fc.bias * 0.01
    torch.testing.assert_close(fc(x), torch.nn.functional.leaky_relu(pre, 0.2) * math.sqrt(2))
    lin = FullyConnectedLayer(6, 4)
    torch.testing.assert_close(lin(x), x @ (lin.weight / math.sqrt(6)).t() + lin.bias)


@pytest.mark.parametrize("down,k", [(1, 3), (2, 3), (1, 1)])
def test_conv2d_layer_matches_reference(down, k):
    torch.manual_seed(1)
    layer = Conv2dLayer(3, 5, k, activation="lrelu", down=down, conv_clamp=0.7).double()
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    w = layer.weight / math.sqrt(3 * k * k)
    y = conv2d_resample_ref(x, w, setup_filter(dtype=torch.float64), down=down, padding=k // 2)
    want = (torch.nn.functional.leaky_relu(y + layer.bias.reshape(1, -1, 1, 1), 0.2) * math.sqrt(2)).clamp(
        -0.7, 0.7
    )
    torch.testing.assert_close(layer(x), want)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in layer.named_buffers()] == ["resample_filter"]


def test_minibatch_std_matches_loops():
    torch.manual_seed(2)
    x = torch.randn(8, 6, 3, 3, dtype=torch.float64)
    layer = MinibatchStdLayer(group_size=4, num_channels=2)
    y = layer(x)
    assert y.shape == (8, 8, 3, 3)
    n_groups = 8 // 4
    for i in range(8):
        members = [j for j in range(8) if j % n_groups == i % n_groups]
        for f in range(2):
            chans = x[members][:, f * 3 : (f + 1) * 3]
            std = (chans.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
            torch.testing.assert_close(y[i, 6 + f], torch.full((3, 3), std.item(), dtype=torch.float64))
    torch.testing.assert_close(y[:, :6], x)
    # Batch smaller than the group: one group of the whole batch.
    assert MinibatchStdLayer(4)(x[:2]).shape == (2, 7, 3, 3)
    with pytest.raises(ValueError, match="divisible"):
        MinibatchStdLayer(4)(x[:6])
