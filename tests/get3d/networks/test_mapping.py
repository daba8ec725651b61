"""Mapping network: normalisation, lr multiplier, w_avg tracking, truncation, conditioning."""

from __future__ import annotations

import math

import pytest
import torch

from get3d.networks.mapping import MappingNetwork


def _manual(net: MappingNetwork, z: torch.Tensor) -> torch.Tensor:
    x = z / torch.sqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)
    for i in range(net.num_layers):
        fc = getattr(net, f"fc{i}")
        pre = x @ (fc.weight * 0.01 / math.sqrt(fc.in_features)).t() + fc.bias * 0.01
        x = torch.nn.functional.leaky_relu(pre, 0.2) * math.sqrt(2)
    return x


def test_mapping_matches_manual_formula_and_broadcasts():
    torch.manual_seed(0)
    net = MappingNetwork(z_dim=6, c_dim=0, w_dim=5, num_ws=3, num_layers=3).double()
    with torch.no_grad():
        for i in range(3):
            getattr(net, f"fc{i}").bias.normal_()
    z = torch.randn(4, 6, dtype=torch.float64)
    w = net(z.float().double())
    assert w.shape == (4, 3, 5)
    want = _manual(net, z.float().double())
    for k in range(3):
        torch.testing.assert_close(w[:, k].double(), want, rtol=1e-5, atol=1e-6)
    # z's scale does not matter (second-moment normalisation)
    torch.testing.assert_close(net(z * 7.0), net(z), rtol=1e-4, atol=1e-5)
    assert [n for n, _ in net.named_buffers()] == ["w_avg"]


def test_w_avg_ema_and_truncation():
    torch.manual_seed(1)
    net = MappingNetwork(z_dim=4, c_dim=0, w_dim=3, num_ws=2, num_layers=2)
    z = torch.randn(5, 4)
    w = net(z, update_emas=True)
    torch.testing.assert_close(net.w_avg, w[:, 0].mean(0) * (1 - 0.998), rtol=1e-5, atol=1e-7)
    before = net.w_avg.clone()
    net(z)  # no update without update_emas
    torch.testing.assert_close(net.w_avg, before)
    with torch.no_grad():
        net.w_avg.copy_(torch.tensor([1.0, -2.0, 0.5]))
    torch.testing.assert_close(net(z, truncation_psi=0.0), net.w_avg.expand(5, 2, 3))
    torch.testing.assert_close(net(z, truncation_psi=0.7), net.w_avg + 0.7 * (net(z) - net.w_avg))
    cut = net(z, truncation_psi=0.0, truncation_cutoff=1)
    torch.testing.assert_close(cut[:, 0], net.w_avg.expand(5, 3))
    torch.testing.assert_close(cut[:, 1], net(z)[:, 1])


def test_update_w_avg_overwrites_with_sample_mean():
    torch.manual_seed(2)
    net = MappingNetwork(z_dim=4, c_dim=0, w_dim=3, num_ws=1, num_layers=2)
    g = torch.Generator().manual_seed(5)
    avg = net.update_w_avg(num_samples=3000, chunk=1000, generator=g)
    g = torch.Generator().manual_seed(5)
    z = torch.cat([torch.randn(1000, 4, generator=g) for _ in range(3)])
    torch.testing.assert_close(avg, net(z)[:, 0].mean(0), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(net.w_avg, avg)


def test_conditioning_only_network_has_embed_and_no_w_avg():
    net = MappingNetwork(z_dim=0, c_dim=14, w_dim=8, num_ws=None, w_avg_beta=None)
    names = [n for n, _ in net.state_dict().items()]
    assert names[:2] == ["embed.weight", "embed.bias"] and "w_avg" not in names
    assert net.embed.weight.shape == (8, 14) and net.fc0.weight.shape == (8, 8)
    c = torch.randn(3, 14)
    out = net(None, c)
    assert out.shape == (3, 8)
    with pytest.raises(ValueError, match="w_avg"):
        net(None, c, truncation_psi=0.5)
    with pytest.raises(ValueError, match="c:"):
        net(None, torch.randn(3, 2))
    with pytest.raises(TypeError, match="c:"):
        net(None, None)
