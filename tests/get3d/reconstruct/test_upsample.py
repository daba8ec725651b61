"""Coarse-to-fine transfer: point location and barycentric interpolation between tet grids."""

import pytest
import torch

import dmtet
from get3d.reconstruct.upsample import interpolate_field, locate_points, upsample_field


def _linear(points: torch.Tensor) -> torch.Tensor:
    a = torch.tensor([[0.3, -1.2, 2.0], [1.5, 0.1, -0.7]], dtype=torch.float64)
    b = torch.tensor([0.25, -0.5], dtype=torch.float64)
    return points.to(torch.float64) @ a.T + b


@pytest.mark.parametrize(
    ("coarse", "fine"),
    [
        (dmtet.TetGrid.bcc(3, dtype=torch.float64), dmtet.TetGrid.bcc(7, dtype=torch.float64)),
        (dmtet.TetGrid.cubes(2, dtype=torch.float64), dmtet.TetGrid.bcc(5, dtype=torch.float64)),
        (dmtet.TetGrid.bcc(4, 0.8, dtype=torch.float64), dmtet.TetGrid.cubes(6, 0.8, dtype=torch.float64)),
    ],
)
def test_upsample_is_exact_on_linear_fields(coarse, fine):
    values = _linear(coarse.vertices)
    out = upsample_field(coarse, values, fine)
    torch.testing.assert_close(out, _linear(fine.vertices), atol=1e-12, rtol=0)
    # one channel, [N] shape kept
    out1 = upsample_field(coarse, values[:, 0], fine)
    assert out1.shape == (fine.num_vertices,)


def test_located_points_are_inside_their_tet_and_reproduce_positions():
    coarse = dmtet.TetGrid.bcc(3)
    torch.manual_seed(0)
    points = torch.rand(500, 3) - 0.5
    loc = locate_points(coarse, points)
    assert loc.inside.all()
    assert (loc.weights >= -1e-9).all()
    torch.testing.assert_close(loc.weights.sum(-1), torch.ones(500, dtype=torch.float64))
    corners = coarse.vertices.double()[coarse.tets[loc.tet]]  # [P, 4, 3]
    torch.testing.assert_close((corners * loc.weights[..., None]).sum(1), points.double(), atol=1e-6, rtol=0)


def test_points_outside_the_grid_extrapolate_linearly():
    coarse = dmtet.TetGrid.bcc(2, dtype=torch.float64)
    points = torch.tensor([[0.7, 0.0, 0.0], [-0.6, 0.55, 0.1]], dtype=torch.float64)
    loc = locate_points(coarse, points)
    assert not loc.inside.any()
    out = interpolate_field(coarse, _linear(coarse.vertices), loc)
    torch.testing.assert_close(out, _linear(points), atol=1e-12, rtol=0)


def test_upsample_is_differentiable_in_the_values():
    coarse, fine = dmtet.TetGrid.bcc(2, dtype=torch.float64), dmtet.TetGrid.bcc(3, dtype=torch.float64)
    loc = locate_points(coarse, fine.vertices)
    values = torch.randn(coarse.num_vertices, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: interpolate_field(coarse, v, loc), (values,))


def test_bad_inputs_name_the_argument():
    grid = dmtet.TetGrid.bcc(2)
    with pytest.raises(TypeError, match="grid"):
        locate_points("grid", torch.zeros(1, 3))
    with pytest.raises(ValueError, match="points"):
        locate_points(grid, torch.zeros(4, 2))
    with pytest.raises(ValueError, match="values"):
        upsample_field(grid, torch.zeros(3), grid)
    with pytest.raises(TypeError, match="fine"):
        upsample_field(grid, torch.zeros(grid.num_vertices), None)
