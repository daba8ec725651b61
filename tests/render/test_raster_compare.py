"""The edge-distance check that the GPU parity tests use for triangle-id disagreements."""

from __future__ import annotations

import math

import pytest
import torch

from render.camera import visualization_cameras
from render.mesh import render_mesh

from .raster_compare import assert_disagreements_on_edges, depth_at_pixels, edge_distance_px


def test_edge_distance_of_a_hand_made_triangle():
    # an 8x8 image; screen corners (1, 1), (7, 1), (1, 7) in pixels -> NDC = s / 4 - 1
    screen = torch.tensor([[1.0, 1.0], [7.0, 1.0], [1.0, 7.0]])
    pos = torch.cat([screen / 4 - 1, torch.zeros(3, 1), torch.ones(3, 1)], 1)[None]
    tri = torch.tensor([[0, 1, 2]])
    ids = torch.full((1, 8, 8), -1)
    ids[0, 2, 1] = 0  # centre (1.5, 2.5): 0.5 px from the edge x = 1
    ids[0, 1, 3] = 0  # centre (3.5, 1.5): 0.5 px from y = 1
    ids[0, 3, 3] = 0  # centre (3.5, 3.5): distance to the hypotenuse x + y = 8 is 1/sqrt(2)
    d = edge_distance_px(pos, tri, ids)
    assert d[0, 2, 1] == pytest.approx(0.5) and d[0, 1, 3] == pytest.approx(0.5)
    assert d[0, 3, 3] == pytest.approx(1 / math.sqrt(2))
    assert torch.isinf(d[0, 0, 0])


def _ids(vertices, faces, cams):
    out = render_mesh(vertices, faces, cams, 48, backend="torch", antialias=False)
    return out.rast[..., 3].round().long() - 1, out


def test_subpixel_moves_disagree_only_on_edges_and_larger_moves_are_caught():
    from tests.render.test_render_mesh import sphere

    v, f = sphere(0.35, subdivisions=2, dtype=torch.float64)
    cams = visualization_cameras(2, dtype=torch.float64)
    ref, out = _ids(v, f, cams)
    # a move of 1/200 of the image width in world units is ~0.1 px: only edge pixels may change
    gen = torch.Generator().manual_seed(0)
    small = v + 1e-4 * torch.randn(v.shape, generator=gen, dtype=torch.float64)
    ids_small, _ = _ids(small, f, cams)
    n = assert_disagreements_on_edges(out.pos_clip, out.tri, ref, ids_small, max_px=0.1)
    assert n > 0  # the test case does exercise disagreements
    big = v + 2e-2 * torch.randn(v.shape, generator=gen, dtype=torch.float64)
    ids_big, _ = _ids(big, f, cams)
    with pytest.raises(AssertionError, match="farther than"):
        assert_disagreements_on_edges(out.pos_clip, out.tri, ref, ids_big, max_px=0.1)


def test_depth_ties_explain_disagreements_between_overlapping_triangles():
    # two overlapping triangles, the second 1e-5 (NDC) behind the first; a rasterizer that picks
    # the second at interior pixels broke a near-tie, one that does so at depth 0.1 did not
    corners = torch.tensor([[-0.8, -0.8], [0.8, -0.8], [-0.8, 0.8]], dtype=torch.float64)

    def pos_for(gap: float) -> torch.Tensor:
        front = torch.cat([corners, torch.full((3, 1), 0.2), torch.ones(3, 1)], 1)
        back = torch.cat([corners, torch.full((3, 1), 0.2 + gap), torch.ones(3, 1)], 1)
        return torch.cat([front, back])[None]

    tri = torch.tensor([[0, 1, 2], [3, 4, 5]])
    ids_a = torch.full((1, 16, 16), -1)
    ids_a[0, 3:8, 3:8] = 0
    ids_b = ids_a.clone()
    ids_b[ids_a == 0] = 1
    z = depth_at_pixels(pos_for(1e-5), tri, ids_b)
    assert torch.allclose(z[ids_b == 1], torch.full_like(z[ids_b == 1], 0.2 + 1e-5))
    assert assert_disagreements_on_edges(pos_for(1e-5), tri, ids_a, ids_b, depth_tie=1e-4) == 25
    with pytest.raises(AssertionError, match="farther than"):
        assert_disagreements_on_edges(pos_for(0.1), tri, ids_a, ids_b, depth_tie=1e-4)
    with pytest.raises(AssertionError, match="farther than"):
        assert_disagreements_on_edges(pos_for(1e-5), tri, ids_a, ids_b)  # no tie allowance
