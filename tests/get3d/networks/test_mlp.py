"""Modulated FC layers and the modulated MLP against per-sample loops."""

from __future__ import annotations

import math

import pytest
import torch

from get3d.networks.mlp import ModulatedFC, ModulatedMLP, modulated_fc


def test_modulated_fc_matches_per_sample_loop():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 7, 4, generator=g, dtype=torch.float64)
    weight = torch.randn(5, 4, generator=g, dtype=torch.float64)
    styles = torch.randn(3, 4, generator=g, dtype=torch.float64)
    got = modulated_fc(x, weight, styles)
    for b in range(3):
        wb = weight * styles[b][None, :]
        for o in range(5):
            row = wb[o] / math.sqrt(float((wb[o] ** 2).sum()) + 1e-8)
            torch.testing.assert_close(got[b, :, o], x[b] @ row)
    assert torch.autograd.gradcheck(
        modulated_fc,
        (
            x[:2, :3].clone().requires_grad_(),
            weight[:2].clone().requires_grad_(),
            styles[:2].clone().requires_grad_(),
        ),
    )
    with pytest.raises(ValueError, match="x"):
        modulated_fc(x[..., :3], weight, styles)


def test_modulated_mlp_composition_and_names():
    torch.manual_seed(1)
    mlp = ModulatedMLP(4, 6, 2, w_dim=8, n_layers=1).double()
    assert mlp.num_ws == 2
    assert [n for n, _ in mlp.named_parameters()] == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.0.affine.weight",
        "layers.0.affine.bias",
        "layers.1.weight",
        "layers.1.bias",
        "layers.1.affine.weight",
        "layers.1.affine.bias",
    ]
    with torch.no_grad():
        for p in (mlp.layers[0].bias, mlp.layers[1].bias):
            p.normal_()
    x = torch.randn(2, 5, 4, dtype=torch.float64)
    ws = torch.randn(2, 2, 8, dtype=torch.float64)
    h = modulated_fc(x, mlp.layers[0].weight, mlp.layers[0].affine(ws[:, 0])) + mlp.layers[0].bias
    h = torch.nn.functional.leaky_relu(h, 0.2) * math.sqrt(2)
    out = modulated_fc(h, mlp.layers[1].weight, mlp.layers[1].affine(ws[:, 1])) + mlp.layers[1].bias
    torch.testing.assert_close(mlp(x, ws), out)
    with pytest.raises(ValueError, match="ws"):
        mlp(x, ws[:, :1])
    layer = ModulatedFC(4, 3, w_dim=8)
    assert layer(torch.randn(1, 2, 4), torch.randn(1, 8)).shape == (1, 2, 3)
