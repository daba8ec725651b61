"""Tests of the pure-PyTorch rasterizer against analytic cases, invariants and a slow reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import render
from tests.render.raster_reference import reference_rasterize

CTX = render.make_context("torch")


def _tri_pos(xyzw, batch=1, dtype=torch.float32):
    p = torch.tensor(xyzw, dtype=dtype)
    return p.expand(batch, *p.shape).clone()


def _centres(n):
    return (2 * np.arange(n) + 1) / n - 1


# A right triangle whose edges stay >= 0.1 px away from every pixel centre at 16 x 16.
TRI_XY = [[-0.8, -0.8], [0.9, -0.8], [-0.8, 0.9]]


def test_analytic_single_triangle():
    z = [0.1, 0.2, 0.3]
    pos = _tri_pos([[x, y, zz, 1.0] for (x, y), zz in zip(TRI_XY, z, strict=True)])
    tri = torch.tensor([[0, 1, 2]], dtype=torch.int32)
    rast, rast_db = render.rasterize(CTX, pos, tri, (16, 16))
    assert rast.shape == (1, 16, 16, 4) and rast.dtype == torch.float32
    c = _centres(16)
    fx, fy = np.meshgrid(c, c)  # [row, col]: row index is y
    b1 = (fx + 0.8) / 1.7
    b2 = (fy + 0.8) / 1.7
    b0 = 1 - b1 - b2
    inside = (b0 > 0) & (b1 > 0) & (b2 > 0)
    got = rast[0].numpy()
    np.testing.assert_array_equal(got[..., 3], inside.astype(np.float32))
    np.testing.assert_allclose(got[..., 0], np.where(inside, b0, 0), atol=1e-6)
    np.testing.assert_allclose(got[..., 1], np.where(inside, b1, 0), atol=1e-6)
    np.testing.assert_allclose(got[..., 2], np.where(inside, 0.1 * b0 + 0.2 * b1 + 0.3 * b2, 0), atol=1e-6)
    # affine triangle: constant barycentric pixel derivatives; du/dX = -(2/16)/1.7, dv/dX = (2/16)/1.7
    db = rast_db[0].numpy()
    k = (2 / 16) / 1.7
    np.testing.assert_allclose(db[inside], np.tile([-k, -k, k, 0.0], (inside.sum(), 1)), atol=1e-6)
    assert np.all(db[~inside] == 0)


def test_row_zero_is_ndc_y_minus_one():
    # a triangle in the lower half of NDC (y < 0) lands in the first rows
    pos = _tri_pos([[-0.9, -0.95, 0, 1], [0.9, -0.95, 0, 1], [0.0, -0.1, 0, 1]])
    rast, _ = render.rasterize(CTX, pos, torch.tensor([[0, 1, 2]]), (8, 8))
    rows = rast[0, :, :, 3].sum(1)
    assert rows[:4].sum() > 0 and rows[4:].sum() == 0


def test_perspective_and_random_meshes_match_reference():
    g = torch.Generator().manual_seed(0)
    for trial in range(3):
        n_tri = 6
        xy = torch.rand(n_tri * 3, 2, generator=g, dtype=torch.float64) * 2.4 - 1.2
        w = torch.rand(n_tri * 3, 1, generator=g, dtype=torch.float64) * 1.5 + 0.5
        z = (torch.rand(n_tri * 3, 1, generator=g, dtype=torch.float64) * 1.6 - 0.8) * w
        pos = torch.cat([xy * w, z, w], 1)[None]
        tri = torch.arange(n_tri * 3).view(n_tri, 3)
        res = (13, 17) if trial else (16, 16)
        rast, _ = render.rasterize(CTX, pos.float(), tri, res)
        ids, u, v, zw, margin = reference_rasterize(pos[0:1].numpy(), tri.numpy(), res)
        ok = margin > 1e-3
        got = rast.numpy()
        np.testing.assert_array_equal(got[..., 3][ok], ids[ok])
        both = ok & (ids > 0)
        np.testing.assert_allclose(got[..., 0][both], u[both], atol=2e-5)
        np.testing.assert_allclose(got[..., 1][both], v[both], atol=2e-5)
        np.testing.assert_allclose(got[..., 2][both], zw[both], atol=2e-5)


def test_invariants_and_depth_order():
    # two overlapping triangles at different depths, both windings, both orders in tri
    a = [[-0.7, -0.6, 0.5, 1], [0.8, -0.5, 0.5, 1], [0.0, 0.7, 0.5, 1]]
    b = [[-0.8, 0.6, -0.2, 1], [0.0, -0.8, -0.2, 1], [0.7, 0.5, -0.2, 1]]  # nearer (smaller z/w)
    for order in ([a, b], [b, a]):
        pos = _tri_pos(order[0] + order[1])
        for tri in (torch.tensor([[0, 1, 2], [3, 4, 5]]), torch.tensor([[0, 2, 1], [3, 5, 4]])):
            rast, _ = render.rasterize(CTX, pos, tri, (24, 24))
            r = rast[0]
            cov = r[..., 3] > 0
            assert cov.any()
            assert (r[..., 0][cov] >= 0).all() and (r[..., 1][cov] >= 0).all()
            assert (r[..., 0] + r[..., 1])[cov].max() <= 1 + 1e-6
            assert (r[~cov] == 0).all()
            near_id = 2 if order[0] is a else 1
            zs = r[..., 2][cov]
            # wherever the near triangle exists it wins: no pixel shows z = 0.5 inside it
            ids = r[..., 3][cov]
            assert torch.allclose(zs[ids == near_id], torch.tensor(-0.2))
            assert torch.allclose(zs[ids != near_id], torch.tensor(0.5))
    # both windings give identical coverage and swap (u, v) as the vertex order says
    pos = _tri_pos(a)
    r1, _ = render.rasterize(CTX, pos, torch.tensor([[0, 1, 2]]), (16, 16))
    r2, _ = render.rasterize(CTX, pos, torch.tensor([[1, 0, 2]]), (16, 16))
    assert torch.equal(r1[..., 3], r2[..., 3])
    assert torch.allclose(r1[..., 0], r2[..., 1]) and torch.allclose(r1[..., 1], r2[..., 0])


def test_instanced_equals_range_mode():
    g = torch.Generator().manual_seed(1)
    pos = torch.rand(2, 9, 4, generator=g) * 1.6 - 0.8
    pos[..., 3] = 1.0 + 0.3 * torch.rand(2, 9, generator=g)
    tri = torch.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 4, 8]])
    inst, inst_db = render.rasterize(CTX, pos, tri, (20, 12))
    pos_r = pos.reshape(18, 4)
    tri_r = torch.cat([tri, tri + 9])
    ranges = torch.tensor([[0, 4], [4, 4]], dtype=torch.int32)
    rng, rng_db = render.rasterize(CTX, pos_r, tri_r, (20, 12), ranges=ranges)
    assert torch.equal(inst[..., :3], rng[..., :3])
    assert torch.equal(inst_db, rng_db)
    shift = torch.tensor([0.0, 4.0]).view(2, 1, 1)
    assert torch.equal(torch.where(inst[..., 3] > 0, inst[..., 3] + shift, 0.0), rng[..., 3])
    # a range may skip triangles: item 1 draws only rows 5..6 of tri_r
    part, _ = render.rasterize(CTX, pos_r, tri_r, (20, 12), ranges=torch.tensor([[0, 0], [5, 2]]))
    assert (part[0] == 0).all()
    assert set(part[1, ..., 3].unique().tolist()) <= {0.0, 6.0, 7.0}
    none, none_db = render.rasterize(CTX, pos_r, tri_r, (20, 12), ranges=torch.tensor([[0, 0], [3, 0]]))
    assert none.shape == (2, 20, 12, 4) and (none == 0).all() and (none_db == 0).all()


@pytest.mark.parametrize("case", ["near", "far", "behind"])
def test_clipping_matches_reference(case):
    # triangles crossing the near plane (z/w = -1), the far plane and the camera plane (w = 0)
    if case == "near":
        pos = [[-0.9, -0.8, -1.5, 1.0], [0.9, -0.6, 0.5, 1.0], [0.1, 0.9, 0.2, 1.0]]
    elif case == "far":
        pos = [[-0.9, -0.8, 1.6, 1.0], [0.9, -0.6, 0.0, 1.0], [0.1, 0.9, 0.4, 1.0]]
    else:  # one vertex behind the camera, as a perspective projection produces it
        pos = [[-0.5, -0.4, 0.6, 1.0], [0.7, -0.3, 0.7, 1.2], [0.3, 2.0, -2.5, -0.5]]
    p = torch.tensor([pos], dtype=torch.float64)
    tri = torch.tensor([[0, 1, 2]])
    rast, _ = render.rasterize(CTX, p.float(), tri, (24, 20))
    ids, u, v, zw, margin = reference_rasterize(p.numpy(), tri.numpy(), (24, 20))
    assert 20 < ids.sum() < 24 * 20  # partly visible
    ok = margin > 1e-3
    got = rast.numpy()
    np.testing.assert_array_equal(got[..., 3][ok], ids[ok])
    both = ok & (ids > 0)
    np.testing.assert_allclose(got[..., 0][both], u[both], atol=2e-5)
    np.testing.assert_allclose(got[..., 1][both], v[both], atol=2e-5)
    np.testing.assert_allclose(got[..., 2][both], zw[both], atol=2e-5)


def test_frustum_culling_and_offscreen_parts():
    # entirely left of the frustum: nothing; partly off-screen: only on-screen pixels
    pos = _tri_pos(
        [[-3, -0.5, 0, 1], [-1.5, -0.5, 0, 1], [-2, 0.5, 0, 1], [-2, -2, 0, 1], [2, -2, 0, 1], [0, 4, 0, 1]]
    )
    rast, _ = render.rasterize(CTX, pos, torch.tensor([[0, 1, 2]]), (8, 8))
    assert (rast == 0).all()
    rast, _ = render.rasterize(CTX, pos, torch.tensor([[0, 1, 2], [3, 4, 5]]), (8, 8))
    assert (rast[..., 3] == 2).all()  # the big triangle covers the whole image


def test_tiling_is_exact():
    g = torch.Generator().manual_seed(2)
    n = 60
    pos = torch.rand(1, n * 3, 4, generator=g) * 2.2 - 1.1
    pos[..., 3] = 1.0 + 0.5 * torch.rand(1, n * 3, generator=g)
    pos[..., 2] = (torch.rand(1, n * 3, generator=g) * 1.8 - 0.9) * pos[..., 3]
    tri = torch.arange(n * 3).view(n, 3)
    ref, ref_db = render.rasterize(CTX, pos, tri, (37, 45))
    for tile, frags in ((1, 1 << 22), (3, 50), (8, 7), (64, 100000)):
        ctx = render.TorchRasterContext(tile_size=tile, max_fragments=frags)
        got, got_db = render.rasterize(ctx, pos, tri, (37, 45))
        assert torch.equal(got, ref) and torch.equal(got_db, ref_db)


def test_large_triangle_spanning_many_tiles():
    pos = _tri_pos([[-1, -1, 0, 1], [3, -1, 0, 1], [-1, 3, 0, 1]])
    rast, _ = render.rasterize(CTX, pos, torch.tensor([[0, 1, 2]]), (70, 100))
    assert (rast[..., 3] == 1).all()


def test_rast_db_matches_finite_differences():
    # perspective triangle: compare the analytic derivatives with central differences across pixels
    pos = torch.tensor(
        [[[-0.9, -0.9, 0.1, 1.0], [1.6, -1.2, 0.9, 2.0], [-0.5, 1.2, 0.3, 1.3]]], dtype=torch.float64
    )
    tri = torch.tensor([[0, 1, 2]])
    rast, db = render.rasterize(CTX, pos, tri, (96, 96))
    r, d = rast[0], db[0]
    inner = (r[..., 3] > 0).clone()
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        inner &= torch.roll(r[..., 3] > 0, (dy, dx), (0, 1))
    inner[0, :] = inner[-1, :] = inner[:, 0] = inner[:, -1] = False
    du_dx = (r[:, 2:, 0] - r[:, :-2, 0]) / 2
    du_dy = (r[2:, :, 0] - r[:-2, :, 0]) / 2
    dv_dx = (r[:, 2:, 1] - r[:, :-2, 1]) / 2
    dv_dy = (r[2:, :, 1] - r[:-2, :, 1]) / 2
    m = inner[1:-1, 1:-1]
    for fd, an in (
        (du_dx[1:-1], d[1:-1, 1:-1, 0]),
        (du_dy[:, 1:-1], d[1:-1, 1:-1, 1]),
        (dv_dx[1:-1], d[1:-1, 1:-1, 2]),
        (dv_dy[:, 1:-1], d[1:-1, 1:-1, 3]),
    ):
        assert m.sum() > 500
        torch.testing.assert_close(fd[m], an[m], rtol=2e-3, atol=1e-6)


def _grad_setup():
    # every pixel centre stays >= 0.1 px from the edges under gradcheck's perturbations
    pos = torch.tensor(
        [[[-0.8, -0.8, 0.1, 1.0], [0.9 * 1.3, -0.8 * 1.3, 0.4, 1.3], [-0.8 * 0.8, 0.9 * 0.8, 0.2, 0.8]]],
        dtype=torch.float64,
    )
    return pos, torch.tensor([[0, 1, 2]])


def test_gradcheck_barycentrics_and_db():
    pos, tri = _grad_setup()
    ref, _ = render.rasterize(CTX, pos, tri, (10, 10))

    def f(p):
        rast, db = render.rasterize(CTX, p, tri, (10, 10))
        assert torch.equal(rast[..., 3], ref[..., 3])  # coverage unchanged by the perturbation
        return rast[..., :2], db

    p = pos.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(f, (p,), eps=1e-6, atol=1e-5, rtol=1e-3)


def test_position_gradient_only_to_x_y_w():
    pos, tri = _grad_setup()
    p = pos.clone().requires_grad_(True)
    rast, db = render.rasterize(CTX, p, tri, (10, 10))
    (rast.square().sum() + db.square().sum()).backward()
    assert (p.grad[..., 2] == 0).all()
    assert (p.grad[..., [0, 1, 3]].abs() > 0).all()
    # the z/w channel alone sends no gradient at all
    p.grad = None
    rast, _ = render.rasterize(CTX, p, tri, (10, 10))
    rast[..., 2].sum().backward()
    assert (p.grad == 0).all()
    # grad_db=False ignores rast_db's gradient
    p.grad = None
    _, db = render.rasterize(CTX, p, tri, (10, 10), grad_db=False)
    db.sum().backward()
    assert (p.grad == 0).all()


def test_backward_is_nvdiffrast_formula():
    # nvdiffrast's closed-form gradient of the unclamped barycentrics (with its 1e-6 epsilon)
    pos, tri = _grad_setup()
    p = pos.clone().requires_grad_(True)
    rast, _ = render.rasterize(CTX, p, tri, (10, 10))
    g = torch.randn(1, 10, 10, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    (rast * g).sum().backward()
    expect = torch.zeros(3, 4, dtype=torch.float64)
    pv = pos[0]
    for py in range(10):
        for px in range(10):
            if rast[0, py, px, 3] == 0:
                continue
            fx, fy = (2 * px + 1) / 10 - 1, (2 * py + 1) / 10 - 1
            q = [(pv[i, 0] - fx * pv[i, 3], pv[i, 1] - fy * pv[i, 3]) for i in range(3)]
            (p0x, p0y), (p1x, p1y), (p2x, p2y) = q
            a0 = p1x * p2y - p1y * p2x
            a1 = p2x * p0y - p2y * p0x
            a2 = p0x * p1y - p0y * p1x
            at = a0 + a1 + a2
            iw = 1.0 / (at + np.copysign(1e-6, float(at)))
            b0, b1 = a0 * iw, a1 * iw
            gb0, gb1 = g[0, py, px, 0] * iw, g[0, py, px, 1] * iw
            gbb = gb0 * b0 + gb1 * b1
            gx = [
                gbb * (p2y - p1y) - gb1 * p2y,
                gbb * (p0y - p2y) + gb0 * p2y,
                gbb * (p1y - p0y) - gb0 * p1y + gb1 * p0y,
            ]
            gy = [
                gbb * (p1x - p2x) + gb1 * p2x,
                gbb * (p2x - p0x) - gb0 * p2x,
                gbb * (p0x - p1x) + gb0 * p1x - gb1 * p0x,
            ]
            for i in range(3):
                expect[i, 0] += gx[i]
                expect[i, 1] += gy[i]
                expect[i, 3] += -fx * gx[i] - fy * gy[i]
    torch.testing.assert_close(p.grad[0], expect, rtol=1e-9, atol=1e-12)


def test_empty_mesh_gives_zeros():
    pos = torch.rand(2, 5, 4, requires_grad=True)
    tri = torch.zeros(0, 3, dtype=torch.int64)
    rast, db = render.rasterize(CTX, pos, tri, (6, 7))
    assert rast.shape == (2, 6, 7, 4) and (rast == 0).all() and (db == 0).all()
    rast.sum().backward()
    assert (pos.grad == 0).all()
    out, da = render.interpolate(torch.rand(5, 3), rast, tri)
    assert out.shape == (2, 6, 7, 3) and (out == 0).all() and da.shape == (2, 6, 7, 0)


def test_degenerate_triangles_draw_nothing():
    pos = _tri_pos([[-0.5, -0.5, 0, 1], [0.5, 0.5, 0, 1], [0.0, 0.0, 0, 1], [0.2, 0.2, 0, 1]])
    rast, _ = render.rasterize(CTX, pos, torch.tensor([[0, 1, 2], [3, 3, 3]]), (9, 9))
    assert (rast == 0).all()


def test_float64_and_int32_inputs():
    pos = _tri_pos([[x, y, 0.0, 1.0] for x, y in TRI_XY], dtype=torch.float64)
    r64, _ = render.rasterize(CTX, pos, torch.tensor([[0, 1, 2]], dtype=torch.int32), (16, 16))
    r32, _ = render.rasterize(CTX, pos.float(), torch.tensor([[0, 1, 2]]), (16, 16))
    assert r64.dtype == torch.float64
    torch.testing.assert_close(r64.float(), r32, atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"ctx": None}, TypeError, "ctx must be"),
        ({"pos": torch.zeros(1, 3, 3)}, ValueError, "pos must have shape"),
        ({"pos": torch.zeros(1, 3, 4, dtype=torch.int64)}, TypeError, "pos must be a floating"),
        ({"tri": torch.zeros(1, 3)}, TypeError, "tri must be an int32 or int64"),
        ({"tri": torch.zeros(1, 4, dtype=torch.int64)}, ValueError, r"tri must have shape \[F, 3\]"),
        ({"tri": torch.tensor([[0, 1, 3]])}, ValueError, r"tri must index vertices in \[0, 3\)"),
        ({"resolution": (0, 4)}, ValueError, "resolution must be"),
        ({"resolution": 8}, ValueError, "resolution must be"),
        ({"ranges": torch.tensor([[0, 1]])}, ValueError, "ranges must be None in instanced mode"),
        ({"pos": torch.zeros(3, 4)}, ValueError, "ranges .* is required in range mode"),
        ({"pos": torch.zeros(3, 4), "ranges": torch.tensor([[0, 2]])}, ValueError, "start \\+ count <= 1"),
        ({"pos": torch.zeros(3, 4), "ranges": torch.tensor([0, 1])}, ValueError, r"ranges must have shape"),
        ({"grad_db": 1}, TypeError, "grad_db must be a bool"),
    ],
)
def test_validation_errors(kwargs, err, match):
    args = {
        "ctx": CTX,
        "pos": torch.zeros(1, 3, 4),
        "tri": torch.tensor([[0, 1, 2]]),
        "resolution": (4, 4),
        "ranges": None,
        "grad_db": True,
    }
    args.update(kwargs)
    with pytest.raises(err, match=match):
        render.rasterize(**args)
