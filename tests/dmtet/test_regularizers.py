"""sdf_sign_reg: GET3D's sign cross-entropy over sign-changing edges."""

import math

import pytest
import torch

from dmtet import TetGrid, sdf_sign_reg


def _bce(logit, target):
    return -(
        target * math.log(1 / (1 + math.exp(-logit)))
        + (1 - target) * math.log(1 - 1 / (1 + math.exp(-logit)))
    )


def test_hand_computed_value():
    edges = torch.tensor([[0, 1], [1, 2], [2, 3], [0, 3]])
    sdf = torch.tensor([[0.5, -0.25, -1.0, 0.0]], dtype=torch.float64)
    # Sign-changing edges: (0,1): 0.5/-0.25, (2,3): -1/0, (0,3): 0.5/0 (sign 0 differs from both).
    terms = [
        _bce(0.5, 0) + _bce(-0.25, 1),
        _bce(-1.0, 0) + _bce(0.0, 0),
        _bce(0.5, 0) + _bce(0.0, 1),
    ]
    assert torch.isclose(sdf_sign_reg(sdf, edges), torch.tensor(sum(terms) / 3, dtype=torch.float64))


def test_mean_over_the_whole_batch_and_1d_input():
    grid = TetGrid.cubes(2)
    gen = torch.Generator().manual_seed(0)
    sdf = torch.randn(3, grid.num_vertices, generator=gen)
    batched = sdf_sign_reg(sdf, grid.edges)
    per = []
    for b in range(3):
        s_i, s_j = sdf[b, grid.edges[:, 0]], sdf[b, grid.edges[:, 1]]
        m = torch.sign(s_i) != torch.sign(s_j)
        per.append(
            torch.nn.functional.binary_cross_entropy_with_logits(
                s_i[m], (s_j[m] > 0).float(), reduction="none"
            )
            + torch.nn.functional.binary_cross_entropy_with_logits(
                s_j[m], (s_i[m] > 0).float(), reduction="none"
            )
        )
    assert torch.isclose(batched, torch.cat(per).mean())
    assert torch.isclose(sdf_sign_reg(sdf[0], grid.edges), per[0].mean())


def test_no_sign_change_gives_zero_with_gradient_path():
    grid = TetGrid.cubes(1)
    sdf = torch.ones(1, grid.num_vertices, requires_grad=True)
    loss = sdf_sign_reg(sdf, grid.edges)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(sdf.grad, torch.zeros_like(sdf))


def test_gradient_pushes_towards_agreement():
    edges = torch.tensor([[0, 1]])
    sdf = torch.tensor([0.1, -0.1], requires_grad=True)
    sdf_sign_reg(sdf, edges).backward()
    # Each end is pulled towards the other's side.
    assert sdf.grad[0] > 0 and sdf.grad[1] < 0


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"edges: expected ids in \[0, 1\]"):
        sdf_sign_reg(torch.zeros(2), torch.tensor([[0, 2]]))
    with pytest.raises(ValueError, match=r"edges: expected shape \[E, 2\]"):
        sdf_sign_reg(torch.zeros(2), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="sdf: expected a floating-point"):
        sdf_sign_reg(torch.zeros(2, dtype=torch.int64), torch.tensor([[0, 1]]))
