from __future__ import annotations

import math

import pytest
import torch

from get3d.networks.discriminator import DiscriminatorLogits
from get3d.training.losses import (
    discriminator_loss,
    generator_adversarial_loss,
    r1_penalty,
    sdf_regularization,
)


def _sp(x: float) -> float:
    return math.log1p(math.exp(x))


def _logits(rgb, mask) -> DiscriminatorLogits:
    return DiscriminatorLogits(
        torch.tensor(rgb, dtype=torch.float64)[:, None], torch.tensor(mask, dtype=torch.float64)[:, None]
    )


def test_generator_loss_by_hand():
    rgb, mask = generator_adversarial_loss(_logits([0.0, 2.0, -3.0], [1.0, -1.0, 0.5]))
    assert torch.allclose(rgb, torch.tensor([_sp(0.0), _sp(-2.0), _sp(3.0)], dtype=torch.float64))
    assert torch.allclose(mask, torch.tensor([_sp(-1.0), _sp(1.0), _sp(-0.5)], dtype=torch.float64))
    assert abs(float(rgb[0]) - math.log(2.0)) < 1e-12


def test_discriminator_loss_by_hand():
    fake, real = _logits([0.5, -1.0], [2.0, 0.0]), _logits([1.5, -0.2], [-2.0, 3.0])
    rgb, mask = discriminator_loss(fake, real)
    assert torch.allclose(
        rgb, torch.tensor([_sp(0.5) + _sp(-1.5), _sp(-1.0) + _sp(0.2)], dtype=torch.float64)
    )
    assert torch.allclose(
        mask, torch.tensor([_sp(2.0) + _sp(2.0), _sp(0.0) + _sp(-3.0)], dtype=torch.float64)
    )
    only_fake, _ = discriminator_loss(fake, None)
    assert torch.allclose(only_fake, torch.tensor([_sp(0.5), _sp(-1.0)], dtype=torch.float64))
    with pytest.raises(ValueError, match="fake, real"):
        discriminator_loss(None, None)
    with pytest.raises(TypeError, match="fake"):
        discriminator_loss((1, 2), None)  # type: ignore[arg-type]


def test_losses_reject_bad_logit_shapes():
    bad = DiscriminatorLogits(torch.zeros(3), torch.zeros(3, 1))
    with pytest.raises(ValueError, match=r"fake.rgb: expected shape \[B, 1\]"):
        generator_adversarial_loss(bad)


class _ToyD(torch.nn.Module):
    """rgb logit = <a, x[:3]> (+ c), mask logit = sum(b * x[3]^2): gradients known in closed form."""

    def __init__(self, h: int = 3) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.a = torch.nn.Parameter(torch.randn(3, h, h, generator=g, dtype=torch.float64))
        self.b = torch.nn.Parameter(torch.randn(h, h, generator=g, dtype=torch.float64))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> DiscriminatorLogits:
        rgb = (x[:, :3] * self.a).sum(dim=(1, 2, 3)) + c[:, 0]
        mask = (self.b * x[:, 3] ** 2).sum(dim=(1, 2))
        return DiscriminatorLogits(rgb[:, None], mask[:, None])


def test_r1_by_hand_on_a_toy_discriminator():
    D = _ToyD()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 3, 3, generator=g, dtype=torch.float64)
    c = torch.zeros(2, 2, dtype=torch.float64)
    terms = r1_penalty(D, x, c, gamma=3.0, gamma_mask=5.0)
    norm_rgb = D.a.detach().square().sum().expand(2)  # d rgb / dx = a on RGB, 0 on the mask channel
    norm_mask = (2 * D.b.detach() * x[:, 3]).square().sum(dim=(1, 2))  # d mask / dx = 2 b x on channel 3
    assert torch.allclose(terms.grad_norm_rgb, norm_rgb)
    assert torch.allclose(terms.grad_norm_mask, norm_mask)
    assert torch.allclose(terms.penalty, 1.5 * norm_rgb + 2.5 * norm_mask)
    assert not x.requires_grad  # the input is left alone
    # gamma_mask None means gamma
    same = r1_penalty(D, x, c, gamma=3.0)
    assert torch.allclose(same.penalty, 1.5 * (norm_rgb + norm_mask))


def test_r1_matches_autograd_and_is_differentiable_in_d():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(4, 3, 3), torch.nn.Softplus(), torch.nn.Flatten(), torch.nn.LazyLinear(2)
    )
    net = net.double()
    x = torch.randn(3, 4, 5, 5, dtype=torch.float64)
    net(x)

    def D(img, c):
        out = net(img)
        return DiscriminatorLogits(out[:, :1], out[:, 1:])

    terms = r1_penalty(D, x, torch.zeros(3, 2, dtype=torch.float64), gamma=2.0, gamma_mask=4.0)
    # reference: per-sample Jacobians by functorch-free loops
    ref = []
    for i in range(3):
        xi = x[i : i + 1].clone().requires_grad_(True)
        out = net(xi)
        (gr,) = torch.autograd.grad(out[0, 0], xi)
        (gm,) = torch.autograd.grad(net(xi)[0, 1], xi)
        ref.append(1.0 * gr.square().sum() + 2.0 * gm.square().sum())
    assert torch.allclose(terms.penalty, torch.stack(ref))
    weights = [net[0].weight, net[3].weight]  # biases of the last layer do not reach input gradients
    grads = torch.autograd.grad(terms.penalty.sum(), weights)
    assert all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)

    # gradcheck of the penalty w.r.t. a D weight (double backward through R1)
    w0 = net[0].weight

    def pen(w):
        def Dw(img, c):
            h = torch.nn.functional.conv2d(img, w, net[0].bias)
            out = net[3](net[2](net[1](h)))
            return DiscriminatorLogits(out[:, :1], out[:, 1:])

        return r1_penalty(Dw, x[:1], torch.zeros(1, 2, dtype=torch.float64), 2.0, 4.0).penalty

    assert torch.autograd.gradcheck(pen, (w0.detach().clone().requires_grad_(True),), fast_mode=True)


def test_sdf_regularization_by_hand():
    # one edge with a sign change (0 -> 1): BCE(s0, 1[s1>0]) + BCE(s1, 1[s0>0])
    sdf = torch.tensor([[-0.5, 2.0, 3.0]], dtype=torch.float64, requires_grad=True)
    edges = torch.tensor([[0, 1], [1, 2]])
    sign, empty = sdf_regularization(sdf, torch.tensor([0.25, 0.75], dtype=torch.float64), edges)
    expected = -math.log(1 / (1 + math.exp(0.5))) + -math.log(1 - 1 / (1 + math.exp(-2.0)))
    assert abs(float(sign.detach()) - expected) < 1e-12
    assert float(empty) == 0.5
    sign.backward()
    assert sdf.grad[0, 2] == 0 and sdf.grad[0, 0] != 0
