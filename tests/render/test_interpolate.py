"""Tests of interpolate: analytic values, modes, pixel derivatives, gradients, validation."""

from __future__ import annotations

import pytest
import torch

import render

CTX = render.make_context("torch")


def _scene(dtype=torch.float32, batch=1):
    # perspective triangle; edges stay >= 0.1 px from the pixel centres at 12 x 12
    pos = torch.tensor(
        [[-0.8, -0.8, 0.1, 1.0], [0.9 * 1.3, -0.8 * 1.3, 0.4, 1.3], [-0.8 * 0.8, 0.9 * 0.8, 0.2, 0.8]],
        dtype=dtype,
    )
    pos = pos.expand(batch, 3, 4).clone()
    tri = torch.tensor([[0, 1, 2]], dtype=torch.int32)
    rast, db = render.rasterize(CTX, pos, tri, (12, 12))
    return pos, tri, rast, db


def test_values_are_barycentric_blend():
    _, tri, rast, _ = _scene()
    attr = torch.tensor([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0]])
    out, da = render.interpolate(attr, rast, tri)
    u, v = rast[..., 0:1], rast[..., 1:2]
    expect = u * attr[0] + v * attr[1] + (1 - u - v) * attr[2]
    cov = rast[..., 3:] > 0
    torch.testing.assert_close(out, torch.where(cov, expect, 0.0))
    assert da.shape == (1, 12, 12, 0)


def test_clip_position_attribute_reproduces_pixel_centres():
    # interpolating clip-space (x, w) perspective-correctly gives x/w = the pixel centre's NDC x
    pos, tri, rast, _ = _scene(torch.float64)
    out, _ = render.interpolate(pos[0], rast, tri)
    cov = rast[0, ..., 3] > 0
    fx = ((2 * torch.arange(12, dtype=torch.float64) + 1) / 12 - 1).expand(12, 12)
    fy = fx.T
    torch.testing.assert_close((out[0, ..., 0] / out[0, ..., 3])[cov], fx[cov])
    torch.testing.assert_close((out[0, ..., 1] / out[0, ..., 3])[cov], fy[cov])


def test_instanced_broadcast_and_range_attr_shapes():
    pos, tri, rast, _ = _scene(batch=2)
    a = torch.rand(2, 3, 5)
    out_b, _ = render.interpolate(a, rast, tri)
    out_0, _ = render.interpolate(a[0], rast, tri)  # [V, C]: shared by all items
    out_1, _ = render.interpolate(a[:1], rast, tri)  # [1, V, C] broadcasts
    torch.testing.assert_close(out_0, out_1)
    torch.testing.assert_close(out_b[0], out_0[0])
    assert not torch.allclose(out_b[1], out_0[1])
    # range mode: global triangle ids index a shared attribute array
    pos_r = pos.reshape(6, 4)
    tri_r = torch.tensor([[0, 1, 2], [3, 4, 5]])
    rast_r, _ = render.rasterize(CTX, pos_r, tri_r, (12, 12), ranges=torch.tensor([[0, 1], [1, 1]]))
    out_r, _ = render.interpolate(a.reshape(6, 5), rast_r, tri_r)
    torch.testing.assert_close(out_r, out_b)


def test_pixel_derivatives_of_affine_attributes():
    # with w = 1 everywhere, an attribute equal to NDC x has dA/dX = 2/W and dA/dY = 0
    pos = torch.tensor([[[-0.8, -0.8, 0, 1], [0.9, -0.8, 0, 1], [-0.8, 0.9, 0, 1]]])
    tri = torch.tensor([[0, 1, 2]])
    rast, db = render.rasterize(CTX, pos, tri, (16, 20))
    attr = torch.stack([pos[0, :, 0], pos[0, :, 1], pos[0, :, 0] * 3 + 1], 1)
    out, da = render.interpolate(attr, rast, tri, db, diff_attrs="all")
    cov = rast[0, ..., 3] > 0
    assert da.shape == (1, 16, 20, 6)
    expect = torch.tensor([2 / 20, 0, 0, 2 / 16, 6 / 20, 0])
    torch.testing.assert_close(da[0][cov], expect.expand(int(cov.sum()), 6), atol=1e-6, rtol=1e-5)
    assert (da[0][~cov] == 0).all()
    # a channel subset, negative indices, in the order given
    _, da2 = render.interpolate(attr, rast, tri, db, diff_attrs=[-1, 0])
    torch.testing.assert_close(da2, torch.cat([da[..., 4:6], da[..., 0:2]], -1))


def test_gradcheck_attr_and_barycentrics():
    _, tri, rast, db = _scene(torch.float64)
    attr = torch.rand(3, 4, dtype=torch.float64, requires_grad=True)
    uv = rast[..., :2].clone().requires_grad_(True)
    dbv = db.clone().requires_grad_(True)
    rest = rast[..., 2:]

    def f(a, uv_, db_):
        r = torch.cat([uv_, rest], -1)
        return render.interpolate(a, r, tri, db_, diff_attrs=[0, 2])

    assert torch.autograd.gradcheck(f, (attr, uv, dbv))


@pytest.mark.parametrize("attr_batch", [0, 1, 2])
def test_gradcheck_plain_path(attr_batch):
    # no diff_attrs: the hand-written backward; attr [V, C], [1, V, C] (broadcast) and [B, V, C]
    _, tri, rast, _ = _scene(torch.float64, batch=2)
    shape = (3, 2) if attr_batch == 0 else (attr_batch, 3, 2)
    attr = torch.rand(*shape, dtype=torch.float64, requires_grad=True)
    uv = rast[..., :2].clone().requires_grad_(True)
    rest = rast[..., 2:]

    def f(a, uv_):
        return render.interpolate(a, torch.cat([uv_, rest], -1), tri)[0]

    assert torch.autograd.gradcheck(f, (attr, uv))


def test_gradients_reach_positions_and_not_z_id_channels():
    pos, tri, _, _ = _scene(torch.float64)
    p = pos.clone().requires_grad_(True)
    rast, db = render.rasterize(CTX, p, tri, (12, 12))
    rast.retain_grad()
    attr = torch.rand(3, 3, dtype=torch.float64)
    out, da = render.interpolate(attr, rast, tri, db, diff_attrs="all")
    (out.sum() + da.square().sum()).backward()
    assert (rast.grad[..., 2:] == 0).all()
    assert p.grad[..., [0, 1, 3]].abs().sum() > 0 and (p.grad[..., 2] == 0).all()


@pytest.mark.parametrize("diff", [None, "all"])
def test_gradcheck_end_to_end_through_rasterize(diff):
    pos, tri, ref, _ = _scene(torch.float64)
    attr = torch.rand(3, 2, dtype=torch.float64)

    def f(p):
        rast, db = render.rasterize(CTX, p, tri, (12, 12))
        assert torch.equal(rast[..., 3], ref[..., 3])
        return render.interpolate(attr, rast, tri, db if diff else None, diff_attrs=diff)

    assert torch.autograd.gradcheck(f, (pos.clone().requires_grad_(True),), eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"attr": torch.zeros(3)}, ValueError, "attr must have shape"),
        ({"attr": torch.zeros(3, 3, 2)}, ValueError, "attr's minibatch must be 1 or rast's"),
        ({"attr": torch.zeros(3, 2, dtype=torch.int64)}, TypeError, "attr must be a floating"),
        ({"rast": torch.zeros(1, 4, 4)}, ValueError, "rast must have shape"),
        ({"diff_attrs": [0]}, ValueError, "diff_attrs needs rast_db"),
        ({"diff_attrs": "some", "rast_db": torch.zeros(1, 4, 4, 4)}, ValueError, "diff_attrs must be None"),
        ({"diff_attrs": [2], "rast_db": torch.zeros(1, 4, 4, 4)}, ValueError, r"diff_attrs entries must lie"),
        ({"diff_attrs": 1, "rast_db": torch.zeros(1, 4, 4, 4)}, TypeError, "diff_attrs must be None"),
        ({"rast_db": torch.zeros(1, 4, 4, 3)}, ValueError, "rast_db must have rast's shape"),
        ({"tri": torch.tensor([[0, 1, 5]])}, ValueError, "tri must index vertices"),
        ({"rast": torch.full((1, 4, 4, 4), 3.0)}, ValueError, "rast holds triangle id 3"),
        ({"backend": "opengl"}, ValueError, "backend must be"),
        ({"backend": "nvdiffrast"}, ValueError, "needs CUDA tensors"),
    ],
)
def test_validation_errors(kwargs, err, match):
    args = {
        "attr": torch.zeros(3, 2),
        "rast": torch.zeros(1, 4, 4, 4),
        "tri": torch.tensor([[0, 1, 2]]),
        "rast_db": None,
        "diff_attrs": None,
    }
    backend = kwargs.pop("backend", "auto")
    args.update(kwargs)
    with pytest.raises(err, match=match):
        render.interpolate(**args, backend=backend)
