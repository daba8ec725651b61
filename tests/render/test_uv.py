"""Tests of render.uv: UV-space rasterization (GET3D §9.2 step 3) and seam padding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from render.uv import UVRaster, flip_v, pad_texture, rasterize_uv

D = torch.float64


def _texel_centres(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """u, v of every texel centre, [H, W] each (row 0 at v = 0)."""
    v = (torch.arange(height, dtype=D) + 0.5) / height
    u = (torch.arange(width, dtype=D) + 0.5) / width
    return u.view(1, -1).expand(height, width), v.view(-1, 1).expand(height, width)


def _barycentric(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Weights of a, b, c for 2-D points p [N, 2] (independent numpy reference)."""
    m = np.stack([a - c, b - c], axis=-1)  # [N, 2, 2]
    wab = np.linalg.solve(m, (p - c)[..., None])[..., 0]
    return np.concatenate([wab, 1.0 - wab.sum(-1, keepdims=True)], axis=-1)


# ---------------------------------------------------------------------------------------------
# rasterize_uv
# ---------------------------------------------------------------------------------------------


def test_square_layout_maps_texel_centres_by_the_affine_map():
    # a unit UV square split in two triangles; world = A (u, v) + b on a tilted plane
    uvs = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], dtype=D)
    a = torch.tensor([[0.7, -0.2], [0.1, 0.5], [-0.3, 0.4]], dtype=D)
    b = torch.tensor([0.05, -0.1, 0.2], dtype=D)
    verts = uvs @ a.T + b
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    H, W = 9, 12  # non-square, so the diagonal misses every texel centre
    out = rasterize_uv(verts, faces, uvs, faces, (H, W), backend="torch")
    assert isinstance(out, UVRaster)
    assert out.position.shape == (3, H, W) and out.mask.shape == (1, H, W) and out.face_id.shape == (H, W)
    assert out.mask.dtype == torch.bool and out.mask.all()
    u, v = _texel_centres(H, W)
    expected = torch.einsum("ck,khw->chw", a, torch.stack([u, v])) + b.view(3, 1, 1)
    torch.testing.assert_close(out.position, expected, atol=1e-6, rtol=0)
    # the lower-right triangle (0, 1, 2) holds texels with u > v
    torch.testing.assert_close(out.face_id, (v > u).to(torch.int64))


def test_partial_coverage_matches_point_in_triangle():
    uv_tri = torch.tensor([[0.05, 0.1], [0.93, 0.2], [0.3, 0.87]], dtype=D)
    verts = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.5], [0.0, 1.0, -0.5]], dtype=D)
    faces = torch.tensor([[0, 1, 2]])
    H, W = 16, 16
    out = rasterize_uv(verts, faces, uv_tri.unsqueeze(0), None, H, backend="torch")
    u, v = _texel_centres(H, W)
    p = torch.stack([u, v], -1).reshape(-1, 2).numpy()
    w = _barycentric(p, *(uv_tri[k].numpy()[None] for k in range(3)))
    assert np.abs(w).min() > 1e-3  # no texel centre near an edge: the test is unambiguous
    inside = torch.from_numpy((w > 0).all(-1)).view(H, W)
    assert 40 < int(inside.sum()) < 200
    torch.testing.assert_close(out.mask[0], inside)
    expected = torch.from_numpy(w @ verts.numpy()).view(H, W, 3).permute(2, 0, 1) * inside
    torch.testing.assert_close(out.position, expected, atol=1e-6, rtol=0)
    assert (out.face_id[~inside] == -1).all() and (out.face_id[inside] == 0).all()
    assert (out.position[:, ~inside] == 0).all()


def test_xatlas_unwrapped_sphere_matches_reference_per_texel():
    xatlas = pytest.importorskip("xatlas")
    trimesh = pytest.importorskip("trimesh")
    mesh = trimesh.creation.icosphere(subdivisions=1, radius=0.4)
    verts_np = np.asarray(mesh.vertices, dtype=np.float32)
    faces_np = np.asarray(mesh.faces, dtype=np.uint32)
    vmapping, uv_idx, uvs_np = xatlas.parametrize(verts_np, faces_np)
    verts = torch.from_numpy(verts_np).to(D)
    faces = torch.from_numpy(faces_np.astype(np.int64))
    uvs = torch.from_numpy(uvs_np).to(D)
    uv_faces = torch.from_numpy(uv_idx.astype(np.int64))
    # xatlas keeps the face order: the corners of uv face f are copies of position face f
    assert (faces_np[:, :] == vmapping[uv_idx]).all()
    S = 64
    out = rasterize_uv(verts, faces, uvs, uv_faces, S, backend="torch")
    cov = out.mask[0]
    assert 0.3 * S * S < int(cov.sum()) < S * S  # xatlas packs charts densely
    u, v = _texel_centres(S, S)
    p = torch.stack([u, v], -1)[cov].numpy()
    fid = out.face_id[cov].numpy()
    tri_uv = uvs_np[uv_idx[fid]].astype(np.float64)  # [N, 3, 2]
    w = _barycentric(p, tri_uv[:, 0], tri_uv[:, 1], tri_uv[:, 2])
    assert w.min() > -1e-6  # each texel lies in the face the rasterizer reports
    expected = np.einsum("nk,nkc->nc", w, verts_np[faces_np[fid]].astype(np.float64))
    torch.testing.assert_close(
        out.position.permute(1, 2, 0)[cov], torch.from_numpy(expected), atol=1e-5, rtol=0
    )
    # every covered texel lies on the (faceted) sphere: inside radius, close to it
    r = out.position.permute(1, 2, 0)[cov].norm(dim=-1)
    assert r.max() <= 0.4 + 1e-6 and r.min() > 0.4 * 0.78
    # the per-face-corner form gives the same raster
    out2 = rasterize_uv(verts, faces, uvs[uv_faces], None, S, backend="torch")
    torch.testing.assert_close(out2.position, out.position)
    assert torch.equal(out2.mask, out.mask)


def test_position_gradient_is_the_barycentric_weight():
    uvs = torch.tensor([[[0.1, 0.1], [0.9, 0.15], [0.2, 0.8]]], dtype=D)
    verts = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.2, 0.0], [0.1, 1.0, 0.3]], dtype=D, requires_grad=True)
    faces = torch.tensor([[0, 1, 2]])

    def f(v):
        return rasterize_uv(v, faces, uvs, None, 6, backend="torch").position

    assert torch.autograd.gradcheck(f, (verts,), eps=1e-6, atol=1e-6)


def test_empty_and_bad_inputs():
    verts = torch.zeros(3, 3)
    out = rasterize_uv(
        verts, torch.zeros(0, 3, dtype=torch.int64), torch.zeros(0, 3, 2), None, (4, 5), backend="torch"
    )
    assert out.position.shape == (3, 4, 5) and not out.position.any()
    assert not out.mask.any() and (out.face_id == -1).all()
    faces = torch.tensor([[0, 1, 2]])
    with pytest.raises(ValueError, match="uvs"):
        rasterize_uv(verts, faces, torch.zeros(3, 2), None, 4)
    with pytest.raises(ValueError, match="uv_faces"):
        rasterize_uv(verts, faces, torch.zeros(3, 2), torch.tensor([[0, 1, 3]]), 4)
    with pytest.raises(ValueError, match="faces"):
        rasterize_uv(verts, torch.tensor([[0, 1, 5]]), torch.zeros(1, 3, 2), None, 4)
    with pytest.raises(TypeError, match="faces"):
        rasterize_uv(verts, faces.float(), torch.zeros(1, 3, 2), None, 4)
    with pytest.raises(ValueError, match="resolution"):
        rasterize_uv(verts, faces, torch.zeros(1, 3, 2), None, 0)


# ---------------------------------------------------------------------------------------------
# pad_texture / flip_v
# ---------------------------------------------------------------------------------------------


def test_padding_fills_neighbours_and_never_touches_covered_texels():
    g = torch.Generator().manual_seed(0)
    tex = torch.rand(3, 10, 10, generator=g, dtype=D)
    mask = torch.rand(1, 10, 10, generator=g) > 0.6
    tex_in = torch.where(mask, tex, torch.full_like(tex, float("nan")))  # garbage outside
    out, grown = pad_texture(tex_in, mask, iterations=1)
    assert torch.equal(out[:, mask[0]], tex[:, mask[0]])
    # exactly the uncovered texels with a covered 8-neighbour were filled, with their mean
    cov = mask[0].to(D)
    pad = torch.nn.functional.pad(cov, (1, 1, 1, 1))
    for i in range(10):
        for j in range(10):
            n = pad[i : i + 3, j : j + 3].sum()
            if mask[0, i, j]:
                continue
            if n == 0:
                assert not grown[0, i, j] and torch.isnan(out[:, i, j]).all()
                continue
            assert grown[0, i, j]
            nb = [
                (a, b)
                for a in range(i - 1, i + 2)
                for b in range(j - 1, j + 2)
                if 0 <= a < 10 and 0 <= b < 10 and mask[0, a, b]
            ]
            ref = torch.stack([tex[:, a, b] for a, b in nb]).mean(0)
            torch.testing.assert_close(out[:, i, j], ref)


def test_padding_iterations_and_fill_all():
    tex = torch.zeros(2, 7, 7)
    tex[:, 3, 3] = torch.tensor([0.25, 0.75])
    mask = torch.zeros(7, 7, dtype=torch.bool)
    mask[3, 3] = True
    out1, m1 = pad_texture(tex, mask.unsqueeze(0), iterations=1)
    assert int(m1.sum()) == 9 and torch.equal(out1[:, 2:5, 2:5], tex[:, 3:4, 3:4].expand(2, 3, 3))
    assert (out1[:, 0] == 0).all()
    out2, m2 = pad_texture(tex, mask, iterations=2)  # [H, W] mask is accepted
    assert int(m2.sum()) == 25
    out_all, m_all = pad_texture(tex, mask, iterations=None)
    assert m_all.all() and torch.equal(out_all, tex[:, 3:4, 3:4].expand(2, 7, 7))
    out0, m0 = pad_texture(tex, mask, iterations=0)
    assert torch.equal(out0, tex) and torch.equal(m0[0], mask)
    # batched form, and a float mask
    outb, mb = pad_texture(
        tex.unsqueeze(0).repeat(2, 1, 1, 1), mask.float().view(1, 1, 7, 7).repeat(2, 1, 1, 1), 1
    )
    assert outb.shape == (2, 2, 7, 7) and mb.shape == (2, 1, 7, 7)
    torch.testing.assert_close(outb[1], out1)
    with pytest.raises(ValueError, match="mask"):
        pad_texture(tex, torch.ones(1, 6, 7, dtype=torch.bool))
    with pytest.raises(ValueError, match="iterations"):
        pad_texture(tex, mask, iterations=-1)


def test_padding_fills_uv_seams_of_a_baked_texture():
    uvs = torch.tensor([[[0.1, 0.1], [0.9, 0.15], [0.2, 0.8]]], dtype=D)
    verts = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.2, 0.0], [0.1, 1.0, 0.3]], dtype=D)
    uv = rasterize_uv(verts, torch.tensor([[0, 1, 2]]), uvs, None, 32, backend="torch")
    colour = uv.position * uv.mask  # "query the texture field" at covered texels
    padded, grown = pad_texture(colour, uv.mask, iterations=2)
    assert torch.equal(padded[:, uv.mask[0]], colour[:, uv.mask[0]])
    ring = grown[0] & ~uv.mask[0]
    assert int(ring.sum()) > 0 and (padded[:, ring].abs().sum(0) > 0).any()


def test_flip_v():
    x = torch.arange(6.0).view(1, 3, 2)
    assert torch.equal(flip_v(x)[0, 0], torch.tensor([4.0, 5.0]))
    assert torch.equal(flip_v(flip_v(x)), x)
