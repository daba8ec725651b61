"""Field, colour models and the surface-attribute transfer."""

import math

import pytest
import torch

import dmtet
from get3d.reconstruct.model import ColorMLP, GridColors, TetField, fourier_features, surface_attributes


def _field(grid: dmtet.TetGrid, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    sdf = 0.3 - grid.vertices.norm(dim=-1) + 0.02 * torch.randn(grid.num_vertices, generator=gen)
    offset = 0.01 * torch.randn(grid.num_vertices, 3, generator=gen)
    return sdf, offset


def test_surface_attributes_reproduce_marching_tets_vertices():
    grid = dmtet.TetGrid.bcc(6)
    sdf, offset = _field(grid)
    mesh = dmtet.marching_tets(grid, sdf[None], offset, outward=True)[0]
    assert mesh.vertices.shape[0] > 0
    carried = surface_attributes(grid, sdf, grid.vertices + offset)
    torch.testing.assert_close(carried, mesh.vertices, atol=1e-6, rtol=0)


def test_surface_attributes_interpolate_on_the_crossing_edge():
    grid = dmtet.TetGrid.bcc(1, dtype=torch.float64)
    sdf = -torch.ones(grid.num_vertices, dtype=torch.float64)
    sdf[grid.center_idx] = 1.0  # one inside vertex: its edges all cross at the midpoint
    values = torch.zeros(grid.num_vertices, 1, dtype=torch.float64)
    values[grid.center_idx] = 4.0
    out = surface_attributes(grid, sdf, values)
    assert out.shape[0] == int((grid.edges == grid.center_idx).any(-1).sum())
    torch.testing.assert_close(out, torch.full_like(out, 2.0))


def test_surface_attributes_gradcheck():
    grid = dmtet.TetGrid.bcc(2, dtype=torch.float64)
    sdf = (0.3 - grid.vertices.norm(dim=-1)).requires_grad_()
    values = torch.randn(grid.num_vertices, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s, v: surface_attributes(grid, s, v), (sdf, values))


def test_tet_field_bounds_and_round_trips_offsets():
    grid = dmtet.TetGrid.bcc(4)
    sdf, offset = _field(grid)
    field = TetField(grid, sdf, offset, max_offset=0.05)
    torch.testing.assert_close(field.offset(), offset, atol=1e-6, rtol=0)
    with torch.no_grad():
        field.raw_offset.fill_(100.0)
    assert field.offset().abs().max() <= 0.05
    mesh = field.extract()
    assert mesh.faces.shape[0] > 0
    mesh.vertices.sum().backward()
    assert field.sdf.grad is not None and field.raw_offset.grad is not None
    with pytest.raises(ValueError, match="sdf"):
        TetField(grid, sdf[:-1], max_offset=0.1)
    with pytest.raises(ValueError, match="max_offset"):
        TetField(grid, sdf, max_offset=0.0)


def test_outward_faces_enclose_positive_volume():
    grid = dmtet.TetGrid.bcc(8)
    field = TetField(grid, 0.3 - grid.vertices.norm(dim=-1), max_offset=0.01)
    mesh = field.extract()
    v = mesh.vertices[mesh.faces]
    volume = torch.linalg.cross(v[:, 0], v[:, 1]).mul(v[:, 2]).sum() / 6
    assert volume.item() == pytest.approx(4 / 3 * math.pi * 0.3**3, rel=0.1)


def test_colour_models():
    gen = torch.Generator().manual_seed(0)
    mlp = ColorMLP(hidden=16, layers=2, octaves=3, generator=gen)
    points = torch.rand(50, 3) - 0.5
    rgb = mlp(points)
    assert rgb.shape == (50, 3) and rgb.abs().max() < 1
    assert fourier_features(points, 3).shape == (50, 21)
    torch.testing.assert_close(fourier_features(points, 0), points)
    again = ColorMLP(hidden=16, layers=2, octaves=3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(again(points), rgb)
    colours = torch.tensor([[0.5, -0.25, 0.0], [1.0, -1.0, 0.2]])
    grid_colours = GridColors(colours)
    torch.testing.assert_close(grid_colours()[0], colours[0])
    assert grid_colours()[1].abs().max() < 1
    with pytest.raises(ValueError, match="colors"):
        GridColors(torch.zeros(3))
