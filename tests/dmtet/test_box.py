"""Tests of dmtet.box.box_center_extent, the library's one bounding-box computation."""

from __future__ import annotations

import pytest
import torch

from dmtet import TetGrid
from dmtet.box import box_center_extent


def test_center_and_longest_side_by_hand():
    p = torch.tensor([[0.0, 0.0, 0.0], [2.0, 1.0, 0.0], [1.0, -1.0, 4.0]], dtype=torch.float64)
    center, extent = box_center_extent(p)
    assert torch.equal(center, torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64))
    assert extent == 4.0 and isinstance(extent, float)
    unit = (p - center) / extent
    assert torch.equal(unit.amax(0) - unit.amin(0), torch.tensor([0.5, 0.5, 1.0], dtype=torch.float64))
    assert box_center_extent(p.float())[0].dtype == torch.float32


def test_grid_from_tensors_fills_the_box_it_computes():
    g = torch.Generator().manual_seed(0)
    v = torch.rand(40, 3, generator=g, dtype=torch.float64) * torch.tensor([4.0, 1.0, 2.0]) + 7.0
    tets = torch.arange(40).reshape(10, 4)
    grid = TetGrid.from_tensors(v, tets, scale=0.8)
    center, extent = box_center_extent(v)
    assert torch.equal(grid.vertices, (v - center) / extent * 0.8)
    assert box_center_extent(grid.vertices)[1] == pytest.approx(0.8, abs=1e-15)


def test_bad_points():
    with pytest.raises(ValueError, match="mesh: expected at least one point"):
        box_center_extent(torch.zeros(0, 3), "mesh")
    with pytest.raises(ValueError, match="points: expected points with a positive, finite extent"):
        box_center_extent(torch.ones(5, 3))
    with pytest.raises(ValueError, match="positive, finite extent"):
        box_center_extent(torch.tensor([[0.0, 0.0, 0.0], [float("inf"), 0.0, 0.0]]))
    with pytest.raises(TypeError, match="vertices: expected a floating-point tensor"):
        box_center_extent(torch.zeros(4, 3, dtype=torch.int64), "vertices")
    with pytest.raises(ValueError, match=r"points: expected shape \[N, 3\]"):
        box_center_extent(torch.zeros(4, 2))
