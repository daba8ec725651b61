"""Triplane sampling: explicit bilinear reference, axis order, summation, detached coordinates."""

from __future__ import annotations

import pytest
import torch

from get3d.networks.triplane import normalize_points, sample_triplane

from ._reference import bilinear_zeros_ref


def test_matches_explicit_bilinear_sum_of_three_planes():
    g = torch.Generator().manual_seed(0)
    planes = torch.randn(2, 3 * 4, 5, 6, generator=g, dtype=torch.float64)
    pts = (torch.rand(2, 7, 3, generator=g, dtype=torch.float64) - 0.5) * 1.3  # some outside the box
    got = sample_triplane(planes, pts, box_min=-0.5, box_size=1.0)
    assert got.shape == (2, 7, 4)
    q = ((pts + 0.5).clamp(0, 1)) * 2 - 1
    for b in range(2):
        for p in range(7):
            x, y, z = (float(v) for v in q[b, p])
            want = (
                bilinear_zeros_ref(planes[b, 0:4], x, y)
                + bilinear_zeros_ref(planes[b, 4:8], y, z)
                + bilinear_zeros_ref(planes[b, 8:12], x, z)
            )
            torch.testing.assert_close(got[b, p], want)


def test_axis_order_with_planted_planes():
    r = 8
    ramp = torch.linspace(-1, 1, r, dtype=torch.float64)
    cols = ramp.reshape(1, r).expand(r, r)  # varies with u (width)
    rows = ramp.reshape(r, 1).expand(r, r)  # varies with v (height)
    zero = torch.zeros(r, r, dtype=torch.float64)
    # Only plane 1 is non-zero and it varies along its rows -> must depend on world z only.
    planes = torch.stack([zero, rows, zero])[None]
    pts = torch.tensor([[[0.1, 0.2, -0.3], [-0.4, 0.3, -0.3], [0.0, 0.0, 0.25]]], dtype=torch.float64)
    out = sample_triplane(planes, pts, -0.5, 1.0)[0, :, 0]
    assert out[0] == pytest.approx(out[1].item())
    assert out[2] > out[0]
    # Plane 0 varying along columns depends on x only; plane 2 along rows on z only.
    planes = torch.stack([cols, zero, zero])[None]
    out = sample_triplane(planes, pts, -0.5, 1.0)[0, :, 0]
    assert out[0] > out[1] and out[2] == pytest.approx(
        sample_triplane(planes, pts * 0, -0.5, 1.0)[0, 0, 0].item()
    )
    planes = torch.stack([zero, zero, rows])[None]
    out = sample_triplane(planes, pts, -0.5, 1.0)[0, :, 0]
    assert out[0] == pytest.approx(out[1].item()) and out[2] > out[0]


def test_gradients_reach_planes_not_points():
    planes = torch.randn(1, 6, 4, 4, dtype=torch.float64, requires_grad=True)
    pts = (torch.rand(1, 5, 3, dtype=torch.float64) - 0.5).requires_grad_()
    out = sample_triplane(planes, pts, -0.5, 1.0)
    out.sum().backward()
    assert pts.grad is None
    assert planes.grad is not None and planes.grad.abs().sum() > 0
    assert torch.autograd.gradcheck(lambda p: sample_triplane(p, pts.detach(), -0.5, 1.0), (planes,))


def test_box_normalisation_and_errors():
    p = torch.tensor([[-0.4, 0.0, 0.4, 9.0]])
    torch.testing.assert_close(normalize_points(p, -0.4, 0.8), torch.tensor([[-1.0, 0.0, 1.0, 1.0]]))
    with pytest.raises(ValueError, match="planes"):
        sample_triplane(torch.zeros(1, 4, 2, 2), torch.zeros(1, 1, 3), -0.5, 1.0)
    with pytest.raises(ValueError, match="points"):
        sample_triplane(torch.zeros(1, 6, 2, 2), torch.zeros(2, 1, 3), -0.5, 1.0)
    with pytest.raises(ValueError, match="box_size"):
        normalize_points(p, 0.0, 0.0)


def test_mirror_symmetry_of_the_sampling():
    """Negating world x equals flipping the planes indexed by x (P0, P2) along their width; the same
    for z with the height of P1 and P2: the pixel grid is centred on the box (align_corners=False)."""
    g = torch.Generator().manual_seed(5)
    planes = torch.randn(1, 3 * 2, 6, 6, generator=g, dtype=torch.float64)
    pts = (torch.rand(1, 9, 3, generator=g, dtype=torch.float64) - 0.5) * 0.8
    p0, p1, p2 = planes.chunk(3, dim=1)
    flip_x = torch.cat([p0.flip(3), p1, p2.flip(3)], dim=1)
    mirrored = pts * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(
        sample_triplane(flip_x, mirrored, -0.5, 1.0), sample_triplane(planes, pts, -0.5, 1.0)
    )
    flip_z = torch.cat([p0, p1.flip(2), p2.flip(2)], dim=1)
    mirrored = pts * torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    torch.testing.assert_close(
        sample_triplane(flip_z, mirrored, -0.5, 1.0), sample_triplane(planes, pts, -0.5, 1.0)
    )
