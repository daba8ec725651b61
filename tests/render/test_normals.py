"""Tests of render.normals: face and area-weighted vertex normals (hand-made cases, gradcheck)."""

from __future__ import annotations

import math

import pytest
import torch

from render.normals import face_normals, safe_normalize, vertex_normals

D = torch.float64


def tent() -> tuple[torch.Tensor, torch.Tensor]:
    """Two triangles on the edge v0-v1: one in z = 0 (area 1/2, normal +z), one in y = 0 (area 1,
    normal +y); v4 is in no face."""
    v = torch.tensor([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 2], [5, 5, 5]], dtype=D)
    f = torch.tensor([[0, 1, 2], [0, 3, 1]])
    return v, f


def test_face_normals_are_twice_the_area_along_the_outward_normal():
    v, f = tent()
    assert torch.equal(face_normals(v, f), torch.tensor([[0.0, 0.0, 1.0], [0.0, 2.0, 0.0]], dtype=D))


def test_vertex_normals_weight_faces_by_area():
    v, f = tent()
    n = vertex_normals(v, f)
    shared = torch.tensor([0.0, 2.0, 1.0], dtype=D) / math.sqrt(5.0)  # (0, 0, 1) + (0, 2, 0)
    z, y = torch.tensor([0.0, 0.0, 1.0], dtype=D), torch.tensor([0.0, 1.0, 0.0], dtype=D)
    expected = torch.stack([shared, shared, z, y, torch.zeros(3, dtype=D)])
    assert torch.allclose(n, expected, atol=1e-15)


def test_fallback_for_lonely_and_cancelling_vertices():
    v, f = tent()
    up = (0.0, 1.0, 0.0)
    n = vertex_normals(v, f, fallback=up)
    assert torch.equal(n[4], torch.tensor(up, dtype=D))  # in no face
    assert torch.equal(n[:4], vertex_normals(v, f)[:4])  # the others are unchanged
    # one triangle twice with opposite windings: the normals cancel at every corner
    both = torch.tensor([[0, 1, 2], [0, 2, 1]])
    assert torch.equal(vertex_normals(v, both)[:3], torch.zeros(3, 3, dtype=D))
    assert torch.equal(vertex_normals(v, both, fallback=up)[:3], torch.tensor([up] * 3, dtype=D))
    # no faces at all
    empty = torch.zeros(0, 3, dtype=torch.int64)
    assert torch.equal(vertex_normals(v, empty, fallback=up), torch.tensor([up] * 5, dtype=D))


def test_batched_equals_one_mesh_at_a_time_and_float32_follows():
    g = torch.Generator().manual_seed(0)
    v = torch.randn(3, 20, 3, generator=g, dtype=D)
    f = torch.randint(0, 20, (30, 3), generator=g)
    batched = vertex_normals(v, f)
    for b in range(3):
        assert torch.allclose(batched[b], vertex_normals(v[b], f), atol=1e-14)
    assert vertex_normals(v.float(), f.to(torch.int32)).dtype == torch.float32


def test_gradcheck():
    g = torch.Generator().manual_seed(1)
    v = torch.randn(6, 3, generator=g, dtype=D, requires_grad=True)
    f = torch.tensor([[0, 1, 2], [0, 2, 3], [3, 4, 5], [1, 4, 2]])
    assert torch.autograd.gradcheck(lambda x: vertex_normals(x, f), (v,))
    assert torch.autograd.gradcheck(lambda x: face_normals(x, f), (v,))


def test_safe_normalize_keeps_zero_vectors():
    out = safe_normalize(torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0]], dtype=D))
    assert torch.equal(out, torch.tensor([[0.6, 0.8, 0.0], [0.0, 0.0, 0.0]], dtype=D))


def test_bad_input():
    v, f = tent()
    with pytest.raises(TypeError, match="faces"):
        vertex_normals(v, f.to(D))
    with pytest.raises(ValueError, match="vertices"):
        vertex_normals(v[:, :2], f)
    with pytest.raises(TypeError, match="vertices"):
        face_normals(v.long(), f)
    with pytest.raises(ValueError, match="faces"):
        face_normals(v, f[:, :2])
    with pytest.raises(ValueError, match="fallback"):
        vertex_normals(v, f, fallback=(0.0, 1.0))
