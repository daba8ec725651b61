from __future__ import annotations

import math

import pytest
import torch

from get3d.training.optim import ema_beta, lazy_adam, lazy_correction, sanitize_gradients, update_ema
from get3d.training.phases import Phase, phases_for_step


def test_lazy_correction_gives_get3d_effective_values():
    lr, (b1, b2) = lazy_correction(0.002, (0.0, 0.99), 4)
    assert math.isclose(lr, 0.0016) and b1 == 0.0 and abs(b2 - 0.99199) < 1e-5
    lr, (b1, b2) = lazy_correction(0.002, (0.0, 0.99), 16)
    assert abs(lr - 0.0018824) < 1e-7 and abs(b2 - 0.99059) < 1e-5
    assert lazy_correction(0.1, (0.5, 0.9), None) == (0.1, (0.5, 0.9))
    with pytest.raises(ValueError, match="reg_interval"):
        lazy_correction(0.1, (0.5, 0.9), 0)
    opt = lazy_adam([torch.nn.Parameter(torch.zeros(1))], 0.002, (0.0, 0.99), 1e-8, 16)
    assert abs(opt.param_groups[0]["lr"] - 0.0018824) < 1e-7


def test_zero_gradient_adam_step_moves_nothing_with_beta1_zero():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = lazy_adam([p], 0.002, (0.0, 0.99), 1e-8, 4)
    p.grad = torch.tensor([0.5, 0.5])
    opt.step()
    before = p.detach().clone()
    v_before = opt.state[p]["exp_avg_sq"].clone()
    p.grad = torch.zeros(2)
    opt.step()  # GET3D's Greg phase
    assert torch.equal(p.detach(), before)
    assert torch.all(opt.state[p]["exp_avg_sq"] < v_before)  # but v decays


def test_ema_beta_steady_state_and_rampup():
    assert abs(ema_beta(32, 10**9, 10.0, 0.05) - 0.99778) < 1e-5
    # ramp-up: after 1000 images the half-life is 50 images
    assert math.isclose(ema_beta(32, 1000, 10.0, 0.05), 0.5 ** (32 / 50))
    assert math.isclose(ema_beta(32, 1000, 10.0, None), 0.5 ** (32 / 10000))


def test_update_ema_lerps_parameters_and_copies_buffers():
    a, b = torch.nn.BatchNorm1d(2), torch.nn.BatchNorm1d(2)
    with torch.no_grad():
        a.weight.fill_(1.0)
        b.weight.fill_(3.0)
        b.running_mean.fill_(7.0)
    update_ema(a, b, 0.25)
    assert torch.allclose(a.weight, torch.full((2,), 3.0 + (1.0 - 3.0) * 0.25))
    assert torch.equal(a.running_mean, b.running_mean)


def test_sanitize_gradients_replaces_and_counts():
    p = torch.nn.Parameter(torch.zeros(4))
    q = torch.nn.Parameter(torch.zeros(2))  # no gradient: skipped
    p.grad = torch.tensor([math.nan, math.inf, -math.inf, 1.0])
    assert sanitize_gradients([p, q], 1e5) == 3
    assert torch.equal(p.grad, torch.tensor([0.0, 1e5, -1e5, 1.0]))
    assert sanitize_gradients([p], 1e5) == 0


def test_phase_schedule():
    assert phases_for_step(0, 4, 16) == [Phase.GMAIN, Phase.GREG, Phase.DMAIN, Phase.DREG]
    assert phases_for_step(1, 4, 16) == [Phase.GMAIN, Phase.DMAIN]
    assert phases_for_step(4, 4, 16) == [Phase.GMAIN, Phase.GREG, Phase.DMAIN]
    assert phases_for_step(16, 4, 16, greg=False) == [Phase.GMAIN, Phase.DMAIN, Phase.DREG]
    assert Phase.GREG.is_generator and not Phase.DREG.is_generator
    with pytest.raises(ValueError, match="step"):
        phases_for_step(-1, 4, 16)
