"""UV unwrapping, simplification, texture baking against an analytic field, seam padding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from get3d.export import texture_mesh
from get3d.export.bake import bake_texture, dilate_texture
from get3d.export.unwrap import decimate_clustering, unwrap
from render.normals import vertex_normals
from render.uv import pad_texture

from .helpers import field, sphere


@pytest.fixture(scope="module")
def layout():
    v, f = sphere(1)
    return unwrap(v, f)


def test_unwrap_layout_is_consistent(layout):
    v, f = sphere(1)
    assert not layout.decimated
    assert torch.equal(layout.faces, f) and torch.equal(layout.vertices, v)
    assert layout.uvs.min() >= 0 and layout.uvs.max() <= 1
    # each UV corner belongs to the position corner it replaces
    assert torch.equal(layout.uv_vertex[layout.uv_faces], layout.faces)
    # charts do not overlap: UV areas sum to at most 1 and no triangle is degenerate
    t = layout.uvs[layout.uv_faces].double()
    area = 0.5 * (
        (t[:, 1, 0] - t[:, 0, 0]) * (t[:, 2, 1] - t[:, 0, 1])
        - (t[:, 2, 0] - t[:, 0, 0]) * (t[:, 1, 1] - t[:, 0, 1])
    )
    assert area.abs().min() > 0 and area.abs().sum() < 1.0


def test_decimation_meets_budget_and_stays_on_surface():
    v, f = sphere(4, radius=1.0)  # 5120 faces
    nv, nf = decimate_clustering(v, f, 600)
    assert 100 < nf.shape[0] <= 600
    assert int(nf.max()) < nv.shape[0] and torch.unique(nf).numel() == nv.shape[0]
    r = nv.norm(dim=1)
    assert r.min() > 0.85 and r.max() <= 1.0 + 1e-6
    # surviving faces keep outward winding
    n = torch.linalg.cross(nv[nf[:, 1]] - nv[nf[:, 0]], nv[nf[:, 2]] - nv[nf[:, 0]])
    assert ((n * nv[nf].mean(1)).sum(1) > 0).float().mean() > 0.95
    lay = unwrap(v, f, max_faces=600)
    assert lay.decimated and lay.faces.shape[0] <= 600
    same_v, same_f = decimate_clustering(v, f, 10_000)
    assert same_v is v and torch.equal(same_f, f)


def test_unwrap_rejects_bad_input():
    v, f = sphere(0)
    with pytest.raises(ValueError, match="faces"):
        unwrap(v, f[:0])
    with pytest.raises(ValueError, match="faces"):
        unwrap(v, f + 100)
    with pytest.raises(ValueError, match="max_faces"):
        decimate_clustering(v, f, 0)


def _reference_positions(layout, res: int):
    """For every texel centre: the world point of the UV triangle containing it (brute force)."""
    ij = np.stack(np.meshgrid(np.arange(res), np.arange(res), indexing="ij"), -1).reshape(-1, 2)
    centre = np.stack([(ij[:, 1] + 0.5) / res, (ij[:, 0] + 0.5) / res], -1)  # (u, v), row i <-> v
    tri = layout.uvs[layout.uv_faces].double().numpy()  # [F, 3, 2]
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    v0, v1 = b - a, c - a
    d = centre[:, None, :] - a[None]
    den = v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]
    l1 = (d[..., 0] * v1[:, 1] - d[..., 1] * v1[:, 0]) / den
    l2 = (v0[:, 0] * d[..., 1] - v0[:, 1] * d[..., 0]) / den
    l0 = 1 - l1 - l2
    bary = np.stack([l0, l1, l2], -1)  # [P, F, 3]
    inside_margin = bary.min(-1)
    face = inside_margin.argmax(1)
    margin = inside_margin[np.arange(len(face)), face]
    w = bary[np.arange(len(face)), face]
    world = layout.vertices.double().numpy()[layout.faces.numpy()[face]]  # [P, 3, 3]
    pos = (w[..., None] * world).sum(1)
    return pos.reshape(res, res, 3), margin.reshape(res, res)


def test_baked_texels_equal_field_at_texel_world_position(layout):
    res = 64
    baked = bake_texture(
        layout.vertices, layout.faces, layout.uvs, layout.uv_faces, field, res, padding=0, fill=False
    )
    pos, margin = _reference_positions(layout, res)
    covered = baked.covered.numpy()
    # coverage = texel centre inside a UV triangle (ties on edges may go either way)
    assert np.all(covered[margin > 1e-6]) and not np.any(covered[margin < -1e-6])
    assert covered.sum() > 0.3 * res * res
    sel = covered & (margin > 1e-6)
    expected = field(torch.from_numpy(pos[sel]).float())
    got = baked.texture.permute(1, 2, 0)[torch.from_numpy(sel)]
    assert torch.allclose(got, expected, atol=1e-5)
    assert torch.all(baked.texture[:, ~baked.covered] == 0)


def test_padding_never_shows_background(layout):
    res, k = 48, 3
    baked = bake_texture(
        layout.vertices, layout.faces, layout.uvs, layout.uv_faces, field, res, padding=k, fill=False
    )
    cov = baked.covered.numpy()
    expect_grown = ndimage.binary_dilation(cov, structure=np.ones((3, 3)), iterations=k)
    grown = (baked.covered | baked.padded).numpy()
    assert np.array_equal(grown, expect_grown) and not np.any(baked.padded.numpy() & cov)
    tex = baked.texture
    lo = tex[:, baked.covered].min(dim=1).values
    hi = tex[:, baked.covered].max(dim=1).values
    pad = tex[:, baked.padded]
    assert pad.shape[1] > 0
    assert torch.all(pad >= lo[:, None] - 1e-6) and torch.all(pad <= hi[:, None] + 1e-6)
    # a constant field: covered and padded texels are exactly that colour, and with fill every texel is
    c = torch.tensor([0.25, -0.5, 0.75])
    const = bake_texture(
        layout.vertices,
        layout.faces,
        layout.uvs,
        layout.uv_faces,
        lambda p: c.expand(p.shape[0], 3),
        res,
        padding=2,
    )
    assert torch.allclose(const.texture, c[:, None, None].expand(3, res, res), atol=1e-6)


def test_dilation_matches_render_pad_texture():
    g = torch.Generator().manual_seed(0)
    tex = torch.rand(3, 30, 41, generator=g)
    mask = torch.rand(30, 41, generator=g) > 0.93
    ours, grown = dilate_texture(tex, mask, 4)
    ref, ref_grown = pad_texture(tex, mask[None], iterations=4)
    assert torch.equal(grown, ref_grown[0])
    assert torch.allclose(ours[:, grown], ref[:, grown], atol=1e-6)


def test_texture_mesh_normals_and_range():
    v, f = sphere(1)
    tm = texture_mesh(v, f, field, texture_size=32)
    assert tm.texture.min() >= 0 and tm.texture.max() <= 1 and tm.texture_size == (32, 32)
    n = vertex_normals(v, f, fallback=(0.0, 1.0, 0.0))
    assert torch.allclose(n.norm(dim=1), torch.ones(len(v)), atol=1e-5)
    assert torch.all((n * v).sum(1) > 0)  # outward on a sphere
    # the exported normals are those of the unwrapped mesh, unit length and outward
    assert torch.equal(tm.normals, vertex_normals(tm.vertices, tm.faces, fallback=(0.0, 1.0, 0.0)))
    assert torch.allclose(tm.normals.norm(dim=1), torch.ones(len(tm.vertices)), atol=1e-5)
    assert torch.all((tm.normals * tm.vertices).sum(1) > 0)
    with pytest.raises(ValueError, match="texture_size"):
        texture_mesh(v, f, field, texture_size=4)


def test_texture_mesh_keeps_a_mesh_over_20k_faces_whole_by_default():
    """The old default simplified meshes over 20k faces; now the generated mesh is exported as is."""
    v, f = sphere(5)  # 20,480 faces
    tm = texture_mesh(v, f, field, texture_size=16)
    assert torch.equal(tm.faces, f) and torch.equal(tm.vertices, v)
    assert torch.equal(tm.uv_vertex[tm.uv_faces], tm.faces)
    assert tm.uvs.min() >= 0 and tm.uvs.max() <= 1
    small = texture_mesh(v, f, field, texture_size=16, max_faces=20_000)  # explicit budget
    assert small.num_faces <= 20_000
