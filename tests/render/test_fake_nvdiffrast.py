"""The nvdiffrast code path on CPU, through the recording fake of ``nvdiffrast.torch``.

The fake (``tests/render/fake_nvdiffrast.py``) checks every call the way nvdiffrast does and
returns the torch backend's results, so these tests prove, without a GPU, that the library hands
nvdiffrast what it accepts (float32 / int32, contiguous, ``ranges`` on the CPU, ``grad_db``) and
that the nvdiffrast path of ``render_mesh`` and ``rasterize_uv`` computes what the torch path does.
"""

from __future__ import annotations

import importlib
import types

import pytest
import torch

import render
from render import nvdiffrast_loader
from render.mesh import render_mesh
from render.torch_backend.antialias import antialias_construct_topology_hash_torch
from render.torch_backend.rasterize import rasterize_torch
from render.uv import rasterize_uv
from tests.render.fake_nvdiffrast import PLUGIN_NAME, TensorInfo
from tests.render.scenes import orbit_cameras, two_meshes, uv_sphere

RES = (24, 32)


def _triangle_pos(batch: int = 1) -> torch.Tensor:
    pos = torch.tensor([[-0.6, -0.5, 0.1, 1.0], [0.7, -0.4, 0.2, 1.0], [0.0, 0.6, 0.3, 1.0]])
    return pos.expand(batch, -1, -1).contiguous()


def _contexts():
    return {
        "torch": render.make_context("torch"),
        "nvdiffrast": render.make_context("nvdiffrast", device="cpu"),
    }


# ------------------------------------------------------------------------------------------
# The fake itself
# ------------------------------------------------------------------------------------------


def test_fake_is_importable_as_nvdiffrast_and_never_builds(fake_nvdiffrast):
    import nvdiffrast.torch as dr

    ops = importlib.import_module("nvdiffrast.torch.ops")
    assert dr is importlib.import_module("nvdiffrast.torch") and dr.ops is ops
    plugin = ops._get_plugin()
    assert isinstance(plugin, types.ModuleType) and plugin.__name__ == PLUGIN_NAME
    assert render.nvdiffrast_available()
    ctx = render.make_context("nvdiffrast", device="cpu")
    assert isinstance(ctx, render.NvdiffrastRasterContext) and ctx.device == torch.device("cpu")
    assert isinstance(ctx.raw, dr.RasterizeCudaContext)
    assert fake_nvdiffrast.ops("RasterizeCudaContext")[0].args == {"device": torch.device("cpu")}


def test_installing_the_fake_keeps_the_loaders_process_cache_apart():
    from tests.render.fake_nvdiffrast import install_fake_nvdiffrast

    before = nvdiffrast_loader._CACHE
    with pytest.MonkeyPatch.context() as mp:
        fake = install_fake_nvdiffrast(mp)
        assert nvdiffrast_loader._CACHE is not before  # a fresh cache: the fake is really loaded
        assert render.nvdiffrast_available() and fake.plugin_requests == 1
        assert nvdiffrast_loader._CACHE.module is fake.modules["nvdiffrast.torch"]
    assert nvdiffrast_loader._CACHE is before  # the process's own outcome is back
    assert before.module is not fake.modules["nvdiffrast.torch"]


def test_context_and_ops_fetch_the_plugin_through_ops_get_plugin(fake_nvdiffrast, monkeypatch):
    # a loader that wraps ops._get_plugin (render.nvdiffrast_loader) is what every call runs:
    # load first (the loader wraps the fake's _get_plugin), then record over its wrapper
    assert render.nvdiffrast_available()
    ops = importlib.import_module("nvdiffrast.torch.ops")
    original, seen = ops._get_plugin, []
    assert getattr(original, nvdiffrast_loader._WRAPPED_MARK, False)

    def wrapped(gl=False):
        seen.append(gl)
        return original(gl)

    monkeypatch.setattr(ops, "_get_plugin", wrapped)
    ctx = render.make_context("nvdiffrast", device="cpu")
    assert seen == [False]
    render.rasterize(ctx, _triangle_pos(), torch.tensor([[0, 1, 2]]), RES)
    assert seen == [False, False]


def test_fake_checks_inputs_like_nvdiffrast(fake_nvdiffrast):
    import nvdiffrast.torch as dr

    ctx = dr.RasterizeCudaContext(device="cpu")
    pos, tri = _triangle_pos(), torch.tensor([[0, 1, 2]], dtype=torch.int32)
    rast, db = dr.rasterize(ctx, pos, tri, RES)
    expected = rasterize_torch(pos, tri, RES)
    assert torch.equal(rast, expected[0]) and torch.equal(db, expected[1])

    with pytest.raises(RuntimeError, match=r"rasterize_fwd_cuda\(\): Inputs tri, ranges must be int32"):
        dr.rasterize(ctx, pos, tri.long(), RES)
    with pytest.raises(RuntimeError, match="Inputs pos must be float32"):
        dr.rasterize(ctx, pos.double(), tri, RES)
    with pytest.raises(RuntimeError, match="must be contiguous"):
        dr.rasterize(ctx, torch.cat([pos, pos], -1)[..., :4], tri, RES)
    with pytest.raises(RuntimeError, match="tri must have shape"):
        dr.rasterize(ctx, pos, tri[:0], RES)
    with pytest.raises(RuntimeError, match="range mode - ranges must have shape"):
        dr.rasterize(ctx, pos[0], tri, RES)  # range mode without ranges
    with pytest.raises(RuntimeError, match="must be int32"):
        dr.rasterize(ctx, pos[0], tri, RES, ranges=torch.tensor([[0, 1]]))
    with pytest.raises(AssertionError):
        dr.rasterize(ctx, pos, tri, RES, grad_db=1)
    with pytest.raises(RuntimeError, match="not a device the fake serves"):
        dr.RasterizeCudaContext(device="meta")

    with pytest.raises(RuntimeError, match=r"interpolate_fwd\(\): Inputs tri must be int32"):
        dr.interpolate(torch.rand(3, 2), rast, tri.long())
    with pytest.raises(RuntimeError, match="Inputs attr, rast must be float32"):
        dr.interpolate(torch.rand(3, 2, dtype=torch.float64), rast, tri)
    with pytest.raises(AssertionError):  # diff_attrs without rast_db
        dr.interpolate(torch.rand(3, 2), rast, tri, diff_attrs="all")
    with pytest.raises(AssertionError):  # the torch backend's topology is not nvdiffrast's
        dr.antialias(
            rast[..., 3:], rast, pos, tri, topology_hash=antialias_construct_topology_hash_torch(tri)
        )
    with pytest.raises(RuntimeError, match="Inputs color, rast, pos must be float32"):
        dr.antialias(rast[..., 3:].double(), rast, pos, tri)
    with pytest.raises(RuntimeError, match="Inputs tex, uv must be float32"):
        dr.texture(torch.rand(1, 4, 4, 3, dtype=torch.float64), torch.rand(1, 2, 2, 2))
    assert [c.op for c in fake_nvdiffrast.ops("rasterize")][:1] == ["rasterize"]


# ------------------------------------------------------------------------------------------
# The library's nvdiffrast path
# ------------------------------------------------------------------------------------------


def test_library_hands_nvdiffrast_float32_int32_contiguous_inputs(fake_nvdiffrast):
    ctx = render.make_context("nvdiffrast", device="cpu")
    pos64 = torch.cat([_triangle_pos(2).double()] * 2, -1)[..., :4]  # float64, not contiguous
    assert not pos64.is_contiguous()
    tri64 = torch.tensor([[0, 1, 2]])
    rast, db = render.rasterize(ctx, pos64, tri64, RES)
    (call,) = fake_nvdiffrast.ops("rasterize")
    assert call.args["pos"] == TensorInfo(torch.float32, torch.device("cpu"), (2, 3, 4), True, False)
    assert call.args["tri"].dtype == torch.int32 and call.args["tri"].contiguous
    assert call.args["resolution"] == RES and call.args["grad_db"] is True
    expected = rasterize_torch(pos64.float().contiguous(), tri64, RES)
    assert rast.dtype == torch.float32 and torch.equal(rast, expected[0]) and torch.equal(db, expected[1])

    # range mode: the ranges go to nvdiffrast as int32 on the CPU, whatever they were given as
    flat = _triangle_pos(1)[0]
    ranges = torch.tensor([[0, 1], [0, 0]], dtype=torch.int64)
    render.rasterize(ctx, flat, tri64, RES, ranges=ranges)
    r = fake_nvdiffrast.ops("rasterize")[-1].args["ranges"]
    assert (r.dtype, r.device, r.shape, r.contiguous) == (torch.int32, torch.device("cpu"), (2, 2), True)


def test_auto_backend_takes_the_nvdiffrast_path_while_the_fake_is_installed(fake_nvdiffrast):
    ctx = render.make_context("auto", device="cpu")
    assert isinstance(ctx, render.NvdiffrastRasterContext)
    rast, _ = render.rasterize(ctx, _triangle_pos(), torch.tensor([[0, 1, 2]]), RES)
    render.interpolate(torch.rand(3, 2), rast, torch.tensor([[0, 1, 2]]))
    assert fake_nvdiffrast.op_names() == ["RasterizeCudaContext", "rasterize", "interpolate"]


@pytest.mark.parametrize("grad_db", [False, True])
def test_grad_db_reaches_nvdiffrast_and_selects_its_backward(fake_nvdiffrast, grad_db):
    tri = torch.tensor([[0, 1, 2]])
    g = torch.Generator().manual_seed(0)
    weights = torch.randn(1, *RES, 4, generator=g), torch.randn(1, *RES, 4, generator=g)
    grads = {}
    for name, ctx in _contexts().items():
        pos = _triangle_pos().requires_grad_(True)
        rast, db = render.rasterize(ctx, pos, tri, RES, grad_db=grad_db)
        ((rast * weights[0]).sum() + (db * weights[1]).sum() * 50).backward()
        grads[name] = pos.grad
    names = fake_nvdiffrast.op_names()
    assert ("rasterize_grad_db" in names) is grad_db and ("rasterize_grad" in names) is not grad_db
    assert fake_nvdiffrast.ops("rasterize")[0].args["grad_db"] is grad_db
    assert grads["nvdiffrast"].abs().sum() > 0
    torch.testing.assert_close(grads["nvdiffrast"], grads["torch"], rtol=1e-6, atol=1e-7)
    if not grad_db:  # the flag matters: rast_db's gradient would have changed the result
        pos = _triangle_pos().requires_grad_(True)
        rast, db = render.rasterize(render.make_context("torch"), pos, tri, RES, grad_db=True)
        ((rast * weights[0]).sum() + (db * weights[1]).sum() * 50).backward()
        assert not torch.allclose(pos.grad, grads["torch"])


def _render_both(vertices, faces, cameras, **kwargs):
    """render_mesh on both backends; outputs and the gradients of a loss on every output."""
    g = torch.Generator().manual_seed(3)
    results = {}
    for name, ctx in _contexts().items():
        vs = [v.clone().requires_grad_(True) for v in vertices]
        out = render_mesh(vs, faces, cameras, RES, backend=ctx, **kwargs)
        parts = [out.antialiased_mask, out.position, out.depth, out.normals]
        loss = sum((p * torch.randn(p.shape, generator=g)).sum() for p in parts if p is not None)
        g.manual_seed(3)
        grads = torch.autograd.grad(loss, vs, allow_unused=True)
        results[name] = (out, grads)
    return results["torch"], results["nvdiffrast"]


def _assert_same_render(a, b):
    for field in ("mask", "antialiased_mask", "position", "depth", "face_id", "normals", "rast"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None) == (y is None), field
        if x is not None:
            assert x.dtype == y.dtype, field
            torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-7, msg=field)


def test_render_mesh_range_mode_through_nvdiffrast_matches_torch(fake_nvdiffrast):
    vertices, faces = two_meshes()
    (out_t, grad_t), (out_n, grad_n) = _render_both(vertices, faces, orbit_cameras(2), normals="vertex")
    _assert_same_render(out_t, out_n)
    assert out_n.mask.mean() > 0.2 and (out_n.face_id[1] >= 0).any()
    for gt, gn in zip(grad_t, grad_n, strict=True):
        assert gn.abs().sum() > 0
        torch.testing.assert_close(gn, gt, rtol=1e-5, atol=1e-6)
    # what nvdiffrast was given: one range-mode call with int32 CPU ranges and grad_db=False
    (call,) = fake_nvdiffrast.ops("rasterize")
    n_v = sum(v.shape[0] for v in vertices)
    n_f = [f.shape[0] for f in faces]
    assert call.args["pos"] == TensorInfo(torch.float32, torch.device("cpu"), (n_v, 4), True, True)
    assert call.args["tri"].dtype == torch.int32 and call.args["tri"].shape == (sum(n_f), 3)
    assert call.args["ranges"].dtype == torch.int32 and call.args["ranges"].device.type == "cpu"
    assert call.args["grad_db"] is False
    names = fake_nvdiffrast.op_names()
    assert names[:5] == [
        "RasterizeCudaContext",
        "rasterize",
        "interpolate",
        "antialias_construct_topology_hash",
        "antialias",
    ]
    assert {"antialias_grad", "interpolate_grad", "rasterize_grad"} <= set(names)
    assert "rasterize_grad_db" not in names


def test_render_mesh_instanced_through_nvdiffrast_matches_torch(fake_nvdiffrast):
    v, f = uv_sphere(10, 20, 0.4)
    (out_t, grad_t), (out_n, grad_n) = _render_both([v], [f], orbit_cameras(1), normals="face")
    _assert_same_render(out_t, out_n)
    torch.testing.assert_close(grad_n[0], grad_t[0], rtol=1e-5, atol=1e-6)
    (call,) = fake_nvdiffrast.ops("rasterize")
    assert call.args["grad_db"] is False


def test_render_mesh_with_empty_meshes_through_nvdiffrast(fake_nvdiffrast):
    vertices, faces = two_meshes()
    empty_v, empty_f = vertices[0][:0], faces[0][:0]
    cams = orbit_cameras(2)
    # one empty mesh among others: nvdiffrast draws a zero-count range for it
    (out_t, _), (out_n, _) = _render_both([vertices[0], empty_v], [faces[0], empty_f], cams)
    _assert_same_render(out_t, out_n)
    assert out_n.mask[1].sum() == 0 and out_n.mask[0].sum() > 0 and (out_n.face_id[1] == -1).all()
    assert fake_nvdiffrast.ops("rasterize")[0].args["ranges"].shape == (2, 2)
    # only empty meshes: nvdiffrast (which rejects 0 triangles) is not called at all
    fake_nvdiffrast.clear()
    out = render_mesh([empty_v, empty_v], [empty_f, empty_f], cams, RES, backend=_contexts()["nvdiffrast"])
    assert out.mask.sum() == 0 and out.antialiased_mask.sum() == 0
    assert fake_nvdiffrast.op_names() == ["RasterizeCudaContext"]


def test_rasterize_uv_through_nvdiffrast_matches_torch(fake_nvdiffrast):
    uvs = torch.tensor([[0.05, 0.05], [0.95, 0.1], [0.9, 0.95], [0.1, 0.9]])
    a = torch.tensor([[0.7, -0.2], [0.1, 0.5], [-0.3, 0.4]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    results = {}
    for name, ctx in _contexts().items():
        vertices = (uvs @ a.T).requires_grad_(True)
        out = rasterize_uv(vertices, faces, uvs, faces, (9, 12), backend=ctx)
        (grad,) = torch.autograd.grad((out.position * torch.arange(3.0).view(3, 1, 1)).sum(), vertices)
        results[name] = (out, grad)
    (ut, gt), (un, gn) = results["torch"], results["nvdiffrast"]
    for field in ("position", "mask", "face_id", "rast"):
        assert torch.equal(getattr(ut, field), getattr(un, field)), field
    assert un.mask.float().mean() > 0.5
    torch.testing.assert_close(gn, gt, rtol=1e-6, atol=1e-7)
    ras, itp = fake_nvdiffrast.ops("rasterize")[0], fake_nvdiffrast.ops("interpolate")[0]
    assert ras.args["pos"].shape == (1, 4, 4) and ras.args["pos"].dtype == torch.float32
    assert ras.args["grad_db"] is False
    assert itp.args["attr"] == TensorInfo(torch.float32, torch.device("cpu"), (1, 4, 3), True, True)
    assert itp.args["tri"].dtype == torch.int32 and itp.args["diff_attrs"] is None
    assert "interpolate_grad" in fake_nvdiffrast.op_names()


@pytest.mark.parametrize("diff_attrs", [[0, -1], "all"])
def test_interpolate_with_pixel_derivatives_through_nvdiffrast(fake_nvdiffrast, diff_attrs):
    tri = torch.tensor([[0, 1, 2]])
    ctx = render.make_context("torch")
    rast, db = rasterize_torch(_triangle_pos(), tri, RES)
    attr = torch.rand(3, 3, generator=torch.Generator().manual_seed(5))
    out_t = render.interpolate(attr, rast, tri, db, diff_attrs=diff_attrs, backend=ctx)
    out_n = render.interpolate(attr, rast, tri, db, diff_attrs=diff_attrs, backend="nvdiffrast")
    for x, y in zip(out_t, out_n, strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    (call,) = fake_nvdiffrast.ops("interpolate")
    assert call.args["diff_attrs"] == ([0, 2] if diff_attrs != "all" else "all")
    assert call.args["rast_db"].dtype == torch.float32


def test_texture_through_nvdiffrast_matches_torch(fake_nvdiffrast):
    g = torch.Generator().manual_seed(7)
    tex = torch.rand(1, 5, 6, 3, generator=g)
    uv = torch.rand(2, 4, 4, 2, generator=g) * 1.4 - 0.2
    results = []
    for backend in ("torch", "nvdiffrast"):
        t, u = tex.clone().requires_grad_(True), uv.clone().requires_grad_(True)
        out = render.texture(t, u, filter_mode="linear", boundary_mode="clamp", backend=backend)
        results.append((out, *torch.autograd.grad(out.square().sum(), (t, u))))
    for x, y in zip(*results, strict=True):
        torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-7)
    assert fake_nvdiffrast.op_names() == ["texture", "texture_grad_linear"]
