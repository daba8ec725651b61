"""Sided/Chamfer distances against brute force (values, indices, gradients) and surface sampling."""

from __future__ import annotations

import math

import pytest
import torch

from get3d.metrics.pointcloud import (
    chamfer_distance,
    chamfer_distance_matrix,
    face_areas,
    sample_points,
    sided_distance,
)


def _brute_sided(p1: torch.Tensor, p2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    d = ((p1[:, :, None, :] - p2[:, None, :, :]) ** 2).sum(-1)  # [B, N, M]
    return d.min(-1)


def _brute_chamfer(p1, p2, w1=1.0, w2=1.0):
    return w1 * _brute_sided(p1, p2)[0].mean(-1) + w2 * _brute_sided(p2, p1)[0].mean(-1)


def _clouds(b=2, n=37, m=53, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, n, 3, generator=g, dtype=dtype) - 0.5, torch.rand(b, m, 3, generator=g, dtype=dtype)


def test_sided_distance_equals_brute_force_for_any_chunk():
    p1, p2 = _clouds()
    want_d, want_i = _brute_sided(p1, p2)
    for chunk in (1, 50, 53 * 2 * 5, 1 << 22):
        d, i = sided_distance(p1, p2, chunk_elements=chunk)
        assert torch.equal(i, want_i)
        torch.testing.assert_close(d, want_d, rtol=0, atol=1e-7)


def test_hand_made_sided_distance():
    p1 = torch.tensor([[[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]]])
    p2 = torch.tensor([[[0.0, 0.0, 1.0], [2.0, 3.0, 0.0], [5.0, 0.0, 0.0]]])
    d, i = sided_distance(p1, p2)
    assert d.tolist() == [[1.0, 5.0]] and i.tolist() == [[0, 0]]
    # chamfer = mean(1, 5) + mean(1, 9, 9): p2 -> p1 gives 1, 9 and 9
    assert chamfer_distance(p1, p2).tolist() == pytest.approx([3.0 + 19.0 / 3.0])
    assert chamfer_distance(p1, p2, w1=2.0, w2=0.0).tolist() == pytest.approx([6.0])
    assert chamfer_distance(p1, p2, squared=False).tolist() == pytest.approx(
        [(1 + math.sqrt(5)) / 2 + (1 + 3 + 3) / 3]
    )


def test_chamfer_values_and_gradients_match_brute_force():
    p1, p2 = _clouds(dtype=torch.float64)
    a1, a2 = p1.clone().requires_grad_(), p2.clone().requires_grad_()
    b1, b2 = p1.clone().requires_grad_(), p2.clone().requires_grad_()
    ours = chamfer_distance(a1, a2, w1=0.7, w2=1.3, chunk_elements=64)
    ref = _brute_chamfer(b1, b2, 0.7, 1.3)
    torch.testing.assert_close(ours, ref)
    (ours * torch.tensor([1.0, 2.0], dtype=torch.float64)).sum().backward()
    (ref * torch.tensor([1.0, 2.0], dtype=torch.float64)).sum().backward()
    torch.testing.assert_close(a1.grad, b1.grad)
    torch.testing.assert_close(a2.grad, b2.grad)


def test_gradcheck_float64():
    p1, p2 = _clouds(b=1, n=6, m=5, dtype=torch.float64, seed=3)
    p1.requires_grad_()
    p2.requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: chamfer_distance(a, b, chunk_elements=7), (p1, p2))
    assert torch.autograd.gradcheck(lambda a, b: sided_distance(a, b)[0], (p1, p2))
    assert torch.autograd.gradcheck(lambda a, b: chamfer_distance(a, b, squared=False), (p1, p2))


def test_chamfer_matrix_equals_pairwise_chamfer():
    g = torch.Generator().manual_seed(1)
    a = torch.rand(3, 40, 3, generator=g) + 0.3
    b = torch.rand(5, 29, 3, generator=g) - 0.2
    want = torch.stack([_brute_chamfer(a[i : i + 1].expand(5, -1, -1), b) for i in range(3)])
    for pairs, points in ((1, 1), (2, 7), (16, 16), (64, 64)):
        got = chamfer_distance_matrix(a, b, block_pairs=pairs, block_points=points)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=2e-7)
    self_d = chamfer_distance_matrix(a, a)
    assert self_d.diagonal().abs().max() < 1e-6


def test_bad_inputs_name_the_argument():
    p1, p2 = _clouds()
    with pytest.raises(ValueError, match="p2"):
        sided_distance(p1, p2[:1])
    with pytest.raises(ValueError, match="p2"):
        sided_distance(p1, p2[:, :0])
    with pytest.raises(ValueError, match="p1"):
        sided_distance(p1[..., :2], p2)
    with pytest.raises(TypeError, match="p1"):
        sided_distance(p1.long(), p2)
    with pytest.raises(ValueError, match="p2"):
        sided_distance(p1, p2.double())
    with pytest.raises(ValueError, match="block_pairs"):
        chamfer_distance_matrix(p1, p2, block_pairs=0)


# ------------------------------------------------------------------------------ sampling

_TWO_FACES = (
    torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [3.0, 0.0, 1.0]]]),
    torch.tensor([[0, 1, 2], [0, 3, 4]]),  # areas 0.5 and 1.5
)


def test_points_lie_inside_their_faces():
    vertices, faces = _TWO_FACES
    s = sample_points(vertices, faces, 2000, generator=torch.Generator().manual_seed(0))
    assert s.points.shape == (1, 2000, 3) and s.face_index.shape == (1, 2000) and s.features is None
    tri = vertices[0][faces[s.face_index[0]]]  # [S, 3, 3]
    p = s.points[0]
    # barycentric coordinates by least squares; all in [0, 1] and the residual 0
    e1, e2, r = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], p - tri[:, 0]
    m = torch.stack([e1, e2], -1)  # [S, 3, 2]
    coef = torch.linalg.lstsq(m, r.unsqueeze(-1)).solution[..., 0]
    torch.testing.assert_close((m @ coef.unsqueeze(-1))[..., 0], r, atol=1e-6, rtol=0)
    assert (coef >= -1e-6).all() and (coef.sum(-1) <= 1 + 1e-6).all()


def test_face_choice_is_area_proportional_and_uniform_within_the_face():
    vertices, faces = _TWO_FACES
    assert face_areas(vertices, faces).tolist() == [[0.5, 1.5]]
    s = sample_points(vertices, faces, 40000, generator=torch.Generator().manual_seed(1))
    share = (s.face_index == 1).double().mean().item()
    assert abs(share - 0.75) < 0.01  # 5 sigma is 0.011
    # uniform on the unit right triangle: E[x] = E[y] = 1/3
    on0 = s.points[0][s.face_index[0] == 0]
    torch.testing.assert_close(on0[:, :2].mean(0), torch.tensor([1 / 3, 1 / 3]), atol=0.01, rtol=0)


def test_sampling_is_deterministic_and_follows_kaolins_formula():
    vertices, faces = _TWO_FACES
    features = torch.arange(2 * 3 * 2, dtype=torch.float32).view(1, 2, 3, 2)
    a = sample_points(vertices, faces, 64, face_features=features, generator=torch.Generator().manual_seed(7))
    b = sample_points(vertices, faces, 64, face_features=features, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a.points, b.points) and torch.equal(a.face_index, b.face_index)
    # recompute by hand from the same draws
    g = torch.Generator().manual_seed(7)
    choice = torch.multinomial(face_areas(vertices, faces).double(), 64, replacement=True, generator=g)
    uniform = torch.rand(1, 64, 2, generator=g)
    u, v = uniform[..., 0].sqrt(), uniform[..., 1]
    tri = vertices[0][faces[choice[0]]]
    want = (
        (1 - u[0])[:, None] * tri[:, 0]
        + (u * (1 - v))[0][:, None] * tri[:, 1]
        + (u * v)[0][:, None] * tri[:, 2]
    )
    assert torch.equal(a.face_index, choice)
    torch.testing.assert_close(a.points[0], want)
    f = features[0][choice[0]]
    want_f = (
        (1 - u[0])[:, None] * f[:, 0] + (u * (1 - v))[0][:, None] * f[:, 1] + (u * v)[0][:, None] * f[:, 2]
    )
    torch.testing.assert_close(a.features[0], want_f)


def test_sampling_gradients_reach_the_vertices():
    vertices, faces = _TWO_FACES
    vertices = vertices.clone().requires_grad_()
    s = sample_points(vertices, faces, 100, generator=torch.Generator().manual_seed(0))
    s.points.sum().backward()
    # each sample's weights sum to 1, so the gradient of sum(points) per vertex sums to the sample count
    assert vertices.grad[0].sum(0).tolist() == pytest.approx([100.0, 100.0, 100.0])


def test_sampling_rejects_bad_input():
    vertices, faces = _TWO_FACES
    with pytest.raises(ValueError, match="num_samples"):
        sample_points(vertices, faces, 0)
    with pytest.raises(TypeError, match="faces"):
        sample_points(vertices, faces.int(), 3)
    with pytest.raises(ValueError, match="areas"):
        sample_points(vertices, faces, 3, areas=torch.zeros(1, 2))
    with pytest.raises(ValueError, match="faces"):
        sample_points(vertices, faces[:0], 3)
