"""Parity of the pure-PyTorch backend with nvdiffrast on a CUDA GPU (strict: see below).

**When it runs.** Every test carries the ``cuda`` mark: without CUDA the suite skips. With CUDA
it runs, and when nvdiffrast cannot be *loaded* (its compiled plugin, not just the Python
package) every test fails instead of skipping (:mod:`tests.render.nvdiffrast_gate`, unit-tested
on CPU in ``test_nvdiffrast_gate.py``).

**Tolerances and why.** Both backends compute in float32 on the GPU (the torch backend on CUDA
tensors; nvdiffrast always), so values agree to float32 rounding of different but equivalent
formulas. The exception is coverage: nvdiffrast snaps vertices to 1/16 px (fixed point), so a
pixel centre within about 1/32 px of an edge can land in a different triangle or the background.
Hence:

- per-op tests feed both backends the *same* ``rast`` where possible and compare everywhere
  (``interpolate`` 1e-5, ``antialias`` 1e-5 / position gradients 1e-4 of their largest value,
  ``texture`` 1e-4);
- rasterizer outputs are compared on the pixels where both chose the same triangle (more than
  99.5 % of them): (u, v, z/w) to 2e-5 absolute (values of order 1, float32 eps 1.2e-7 times the
  conditioning of the barycentric solve), derivatives to 1e-6 absolute / 1e-3 relative;
- whole renders (``render_mesh``, ``rasterize_uv``, ``Generator.render``) compare positions,
  depths and normals where the triangle ids agree (1e-4: world units of order 1 after one more
  interpolation); the antialiased mask where the ids agree in the whole 3x3 neighbourhood (the
  antialias pass only looks at a pixel and its 4 neighbours: 1e-4); vertex gradients of losses
  restricted to those pixels to 1e-3 relative, and the silhouette (antialias) gradient, which
  also sums over the few edge pixels whose coverage differs, by direction (cosine >= 0.99) and
  size (relative L2 error <= 0.1);
- the generator's RGB passes the positions through the texture field (features change by O(1)
  over a triplane texel, so 2e-5 in position can give ~1e-3 in colour): 99 % of agreeing pixels
  within 2e-3, all within 2e-2.
"""

from __future__ import annotations

import math
import os

import pytest
import torch
import torch.nn.functional as F

import render
from render.mesh import render_mesh
from render.uv import rasterize_uv
from tests.render.fake_nvdiffrast import install_fake_nvdiffrast
from tests.render.nvdiffrast_gate import GateAction, load_nvdiffrast_context, parity_gate
from tests.render.raster_compare import assert_disagreements_on_edges
from tests.render.scenes import orbit_cameras, two_meshes, uv_sphere

pytestmark = [pytest.mark.cuda]


FAKE_ENV = "ISOGEN3D_PARITY_WITH_FAKE"
"""Set to 1 (with ``--noconftest``) to run this suite on CPU through the fake nvdiffrast: a check of
the suite's own code, not of nvdiffrast (``test_nvdiffrast_gate.py`` does it)."""


@pytest.fixture(scope="module", autouse=True)
def nvdiffrast_context():
    """The gate: skip without CUDA, fail (not skip) when nvdiffrast cannot load, else a context."""
    if os.environ.get(FAKE_ENV) == "1":
        with pytest.MonkeyPatch.context() as mp:
            install_fake_nvdiffrast(mp)
            yield load_nvdiffrast_context(torch.device("cpu"))
        return
    holder = []
    gate = parity_gate(
        torch.cuda.is_available(), lambda: holder.append(load_nvdiffrast_context(torch.device("cuda")))
    )
    if gate.action is GateAction.SKIP:
        pytest.skip(gate.reason)
    if gate.action is GateAction.FAIL:
        pytest.fail(gate.reason, pytrace=False)
    yield holder[0]


def test_nvdiffrast_plugin_is_loaded(nvdiffrast_context):
    import nvdiffrast.torch as dr

    assert isinstance(nvdiffrast_context, render.NvdiffrastRasterContext)
    assert isinstance(nvdiffrast_context.raw, dr.RasterizeCudaContext)
    assert nvdiffrast_context.device.type in render.backend.NVDIFFRAST_DEVICE_TYPES
    assert render.nvdiffrast_available()


def _clip_positions(verts, device, batch=2):
    """Perspective clip-space positions [B, V, 4] of the sphere seen from two nearby cameras."""
    f = 1.0 / math.tan(math.radians(49.0) / 2)
    near, far = 0.1, 10.0
    proj = torch.tensor(
        [
            [f, 0, 0, 0],
            [0, f, 0, 0],
            [0, 0, -(far + near) / (far - near), -2 * far * near / (far - near)],
            [0, 0, -1, 0],
        ]
    )
    out = []
    for b in range(batch):
        ang = 0.3 + 0.4 * b
        rot = torch.tensor([[math.cos(ang), 0, math.sin(ang)], [0, 1, 0], [-math.sin(ang), 0, math.cos(ang)]])
        cam = verts @ rot.T + torch.tensor([0.05 * b, -0.03, -1.4])
        hom = torch.cat([cam, torch.ones(len(cam), 1)], 1)
        out.append(hom @ proj.T)
    return torch.stack(out).to(device)


@pytest.fixture(scope="module")
def scene(nvdiffrast_context):
    device = nvdiffrast_context.device
    verts, faces = uv_sphere(24, 48, 0.5)
    pos = _clip_positions(verts, device)
    tri = faces.to(device=device, dtype=torch.int32)
    return pos, tri, render.make_context("torch"), nvdiffrast_context


def _both(scene, res=(96, 128), grad=False, ranges=False, grad_db=True):
    pos, tri, tctx, nctx = scene
    out = []
    for ctx in (tctx, nctx):
        p = pos.clone().requires_grad_(grad)
        if ranges:
            v = pos.shape[1]
            p_r = p.reshape(-1, 4)
            tri_r = torch.cat([tri, tri + v])
            rng = torch.tensor([[0, tri.shape[0]], [tri.shape[0], tri.shape[0]]], dtype=torch.int32)
            rast, db = render.rasterize(ctx, p_r, tri_r, res, ranges=rng, grad_db=grad_db)
        else:
            rast, db = render.rasterize(ctx, p, tri, res, grad_db=grad_db)
        out.append((p, rast, db))
    return out


def _ids(rast: torch.Tensor) -> torch.Tensor:
    return rast[..., 3].round().long() - 1


@pytest.mark.parametrize("ranges", [False, True])
def test_rasterize_parity(scene, ranges, record_property):
    (_, rt, dt), (_, rn, dn) = _both(scene, ranges=ranges)
    same = rt[..., 3] == rn[..., 3]
    pos, tri, _, _ = scene
    if ranges:  # the global ids index the stacked triangles of the range-mode call
        pos, tri = pos.reshape(-1, 4), torch.cat([tri, tri + pos.shape[1]])
    n = assert_disagreements_on_edges(pos, tri, _ids(rt), _ids(rn), max_px=0.1)
    record_property("id_disagreements", f"{n} of {same.numel()}")
    assert same.float().mean() > 0.98
    assert (rn[..., 3] > 0).float().mean() > 0.2
    m = same & (rn[..., 3] > 0)
    torch.testing.assert_close(rt[..., :3][m], rn[..., :3][m], atol=2e-5, rtol=1e-4)
    torch.testing.assert_close(dt[m], dn[m], atol=1e-6, rtol=1e-3)
    assert (rt[~(rt[..., 3] > 0)] == 0).all() and (rn[~(rn[..., 3] > 0)] == 0).all()


@pytest.mark.parametrize("grad_db", [True, False])
def test_rasterize_gradient_parity(scene, grad_db):
    (pt, rt, dt), (pn, rn, dn) = _both(scene, grad=True, grad_db=grad_db)
    same = ((rt[..., 3] == rn[..., 3]) & (rn[..., 3] > 0)).unsqueeze(-1)
    g = torch.randn(rt.shape, device=rt.device, generator=torch.Generator(rt.device).manual_seed(0))
    for r, d in ((rt, dt), (rn, dn)):
        ((r * g * same).sum() + (d * g * same).sum() * 10.0).backward()
    assert (pt.grad[..., 2] == 0).all() and (pn.grad[..., 2] == 0).all()
    scale = pn.grad.abs().max()
    assert scale > 0
    torch.testing.assert_close(pt.grad, pn.grad, atol=1e-4 * float(scale), rtol=1e-3)
    if not grad_db:  # the flag is honoured: with grad_db=True, rast_db's gradient changes pos.grad
        (_, _, _), (pn_db, rn_db, dn_db) = _both(scene, grad=True, grad_db=True)
        ((rn_db * g * same).sum() + (dn_db * g * same).sum() * 10.0).backward()
        assert not torch.allclose(pn_db.grad, pn.grad, atol=1e-4 * float(scale))


def test_interpolate_parity_on_the_same_rast(scene):
    (_, _, _), (pn, rn, dn) = _both(scene)
    pos, tri, _, _ = scene
    attr = torch.randn(pos.shape[0], pos.shape[1], 5, device=pos.device, requires_grad=True)
    rast = rn.detach().requires_grad_(True)
    db = dn.detach().requires_grad_(True)
    grads = []
    outs = []
    for backend in ("torch", "nvdiffrast"):
        out, da = render.interpolate(attr, rast, tri, db, diff_attrs=[0, -1], backend=backend)
        g = torch.ones_like(out)
        gs = torch.autograd.grad((out * g).sum() + da.square().sum(), (attr, rast, db))
        outs.append((out, da))
        grads.append(gs)
    torch.testing.assert_close(outs[0][0], outs[1][0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(outs[0][1], outs[1][1], atol=1e-6, rtol=1e-4)
    for a, b in zip(grads[0], grads[1], strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_antialias_parity_on_the_same_rast(scene):
    (_, _, _), (_, rn, _) = _both(scene)
    pos, tri, _, _ = scene
    results = []
    for backend in ("torch", "nvdiffrast"):
        p = pos.clone().requires_grad_(True)
        color = torch.cat([rn[..., 3:].clamp(0, 1), rn[..., :2]], -1).detach().requires_grad_(True)
        out = render.antialias(color, rn.detach(), p, tri, backend=backend)
        g = torch.randn(out.shape, device=out.device, generator=torch.Generator(out.device).manual_seed(1))
        gc, gp = torch.autograd.grad((out * g).sum(), (color, p))
        results.append((out, gc, gp))
    (ot, gct, gpt), (on, gcn, gpn) = results
    torch.testing.assert_close(ot, on, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(gct, gcn, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(gpt, gpn, atol=1e-4 * float(gpn.abs().max()), rtol=1e-3)


@pytest.mark.parametrize("filter_mode", ["nearest", "linear"])
@pytest.mark.parametrize("boundary_mode", ["wrap", "clamp", "zero"])
def test_texture_parity(nvdiffrast_context, filter_mode, boundary_mode, record_property):
    device = nvdiffrast_context.device
    gen = torch.Generator(device).manual_seed(2)
    tex = torch.rand(1, 16, 24, 3, device=device, generator=gen).requires_grad_(True)
    uv = (torch.rand(2, 20, 20, 2, device=device, generator=gen) * 1.6 - 0.3).requires_grad_(True)
    weight = torch.randn(2, 20, 20, 3, device=device, generator=gen)

    def sample(t: torch.Tensor, backend: str) -> torch.Tensor:
        return render.texture(t, uv, filter_mode=filter_mode, boundary_mode=boundary_mode, backend=backend)

    res = []
    for backend in ("torch", "nvdiffrast"):
        out = sample(tex, backend)
        # a loss linear in the texture: its gradient is exactly a difference of two forwards
        res.append((out, *torch.autograd.grad((out * weight).sum(), (tex, uv), allow_unused=True)))
    (ot, gtex_t, guv_t), (on, gtex_n, guv_n) = res
    torch.testing.assert_close(ot, on, atol=1e-4, rtol=1e-4)
    for a, b in ((guv_t, guv_n),):
        if a is None or b is None:
            assert (a is None or (a == 0).all()) and (b is None or (b == 0).all())
            continue
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    # texture gradient: where the two backends disagree, the one that is right is the one equal
    # to the exact gradient of nvdiffrast's own forward (unit steps of one texel, since linear)
    bad = ((gtex_t - gtex_n).abs() > 1e-4 + 1e-4 * gtex_n.abs()).nonzero().tolist()
    assert len(bad) <= 12, f"{len(bad)} texture-gradient entries differ"
    nvdiffrast_wrong = 0
    with torch.no_grad():
        base = float((sample(tex, "nvdiffrast") * weight).sum())
        for idx in bad:
            bumped = tex.detach().clone()
            bumped[tuple(idx)] += 1.0
            exact = float((sample(bumped, "nvdiffrast") * weight).sum()) - base
            assert abs(float(gtex_t[tuple(idx)]) - exact) <= 2e-3 * max(1.0, abs(exact)), (idx, exact)
            nvdiffrast_wrong += abs(float(gtex_n[tuple(idx)]) - exact) > 2e-3 * max(1.0, abs(exact))
    record_property("texture_grad_entries_where_nvdiffrast_differs_from_its_forward", nvdiffrast_wrong)
    record_property("texture_grad_disagreements", str(bad))


# ------------------------------------------------------------------------------------------
# Whole renders: render_mesh (range mode), empty meshes, rasterize_uv, Generator.render
# ------------------------------------------------------------------------------------------


def _agreement(face_t: torch.Tensor, face_n: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``[B, 1, H, W]`` masks: same face id, and same face ids in the whole 3x3 neighbourhood."""
    same = (face_t == face_n).unsqueeze(1).float()
    nbhd = -F.max_pool2d(-same, 3, stride=1, padding=1)  # min over 3x3 (max pooling ignores its padding)
    return same, nbhd


def _render_mesh_both(vertices, faces, cameras, resolution, nctx, normals="vertex"):
    g = torch.Generator(nctx.device).manual_seed(4)
    outs, vs_all = [], []
    for ctx in (render.make_context("torch"), nctx):
        vs = [v.clone().requires_grad_(True) for v in vertices]
        outs.append(render_mesh(vs, faces, cameras, resolution, backend=ctx, normals=normals))
        vs_all.append(vs)
    (ot, on), (vt, vn) = outs, vs_all
    same, nbhd = _agreement(ot.face_id, on.face_id)
    weights = {
        k: torch.randn(getattr(on, k).shape, device=nctx.device, generator=g)
        for k in ("position", "depth", "normals", "antialiased_mask")
    }

    def grads(out, vs, keys):
        loss = sum(
            (getattr(out, k) * weights[k] * (nbhd if k == "antialiased_mask" else same)).sum() for k in keys
        )
        got = torch.autograd.grad(loss, vs, retain_graph=True, allow_unused=True)
        return torch.cat(
            [(torch.zeros_like(v) if gr is None else gr).reshape(-1) for v, gr in zip(vs, got, strict=True)]
        )

    interior = ("position", "depth", "normals")
    g_int = (grads(ot, vt, interior), grads(on, vn, interior))
    g_sil = (grads(ot, vt, ("antialiased_mask",)), grads(on, vn, ("antialiased_mask",)))
    return ot, on, same.bool(), nbhd.bool(), g_int, g_sil


@pytest.mark.parametrize("normals", ["vertex", "face"])
def test_render_mesh_range_mode_parity(nvdiffrast_context, normals):
    device = nvdiffrast_context.device
    vertices, faces = two_meshes()
    vertices, faces = [v.to(device) for v in vertices], [f.to(device) for f in faces]
    cams = orbit_cameras(2).to(device)
    ot, on, same, nbhd, (git, gin), (gst, gsn) = _render_mesh_both(
        vertices, faces, cams, (96, 128), nvdiffrast_context, normals
    )
    assert same.float().mean() > 0.995 and on.mask.mean() > 0.1 and on.mask[1].sum() > 0
    for key in ("position", "depth", "normals"):
        a, b = getattr(ot, key), getattr(on, key)
        m = same.expand_as(a)
        torch.testing.assert_close(a[m], b[m], atol=1e-4, rtol=1e-4, msg=key)
    torch.testing.assert_close(ot.mask[same], on.mask[same], atol=0, rtol=0)
    m = nbhd & (on.mask > 0)
    torch.testing.assert_close(ot.antialiased_mask[m], on.antialiased_mask[m], atol=1e-4, rtol=0)
    assert ((on.antialiased_mask > 0) & (on.antialiased_mask < 1)).any()  # silhouettes were blended
    # gradients reach the vertices through both paths, and agree as the module docstring says
    scale = float(gin.abs().max())
    assert scale > 0
    torch.testing.assert_close(git, gin, atol=1e-3 * scale, rtol=1e-3)
    assert gsn.norm() > 0
    cos = torch.dot(gst, gsn) / (gst.norm() * gsn.norm())
    assert cos >= 0.99 and (gst - gsn).norm() <= 0.1 * gsn.norm()


def test_render_mesh_empty_meshes_parity(nvdiffrast_context):
    device = nvdiffrast_context.device
    vertices, faces = two_meshes()
    v, f = vertices[0].to(device), faces[0].to(device)
    ev, ef = v[:0], f[:0]
    cams = orbit_cameras(2).to(device)
    # an empty mesh among others: a zero-count range for nvdiffrast
    ot, on, same, _, _, _ = _render_mesh_both([v, ev], [f, ef], cams, (64, 64), nvdiffrast_context)
    for out in (ot, on):
        assert out.mask[1].sum() == 0 and out.antialiased_mask[1].sum() == 0 and (out.face_id[1] == -1).all()
        assert out.position[1].abs().sum() == 0 and out.normals[1].abs().sum() == 0
    assert on.mask[0].sum() > 0 and same.float().mean() > 0.995
    # only empty meshes, range and instanced mode: all-zero outputs (nvdiffrast is not called)
    for ctx in (render.make_context("torch"), nvdiffrast_context):
        for out in (
            render_mesh([ev, ev], [ef, ef], cams, 32, backend=ctx),
            render_mesh(ev, ef, cams, 32, backend=ctx),
        ):
            assert out.mask.sum() == 0 and out.antialiased_mask.sum() == 0 and (out.face_id == -1).all()


def test_rasterize_uv_parity(nvdiffrast_context, record_property):
    device = nvdiffrast_context.device
    # a 6x6 grid of quads over most of UV space, mapped onto a curved sheet (not affine per quad)
    n = 6
    s = torch.linspace(0.03, 0.97, n + 1)
    uu, vv = torch.meshgrid(s, s, indexing="xy")
    uvs = torch.stack([uu.reshape(-1), vv.reshape(-1)], -1)
    idx = torch.arange((n + 1) ** 2).view(n + 1, n + 1)
    a, b, c, d = (
        idx[:-1, :-1].reshape(-1),
        idx[:-1, 1:].reshape(-1),
        idx[1:, 1:].reshape(-1),
        idx[1:, :-1].reshape(-1),
    )
    faces = torch.cat([torch.stack([a, b, c], -1), torch.stack([a, c, d], -1)])
    vertices = torch.stack(
        [uvs[:, 0], uvs[:, 1], 0.3 * torch.sin(3 * uvs[:, 0]) * torch.cos(2 * uvs[:, 1])], -1
    )
    uvs, faces, vertices = uvs.to(device), faces.to(device), vertices.to(device)
    leaves, outs = [], []
    for ctx in (render.make_context("torch"), nvdiffrast_context):
        leaves.append(vertices.clone().requires_grad_(True))
        outs.append(rasterize_uv(leaves[-1], faces, uvs, faces, (128, 96), backend=ctx))
    ut, un = outs
    assert (ut.face_id == un.face_id).float().mean() > 0.99 and un.mask.float().mean() > 0.8
    uv_pos = torch.cat([uvs * 2 - 1, torch.zeros_like(uvs[:, :1]), torch.ones_like(uvs[:, :1])], -1)[None]
    n = assert_disagreements_on_edges(uv_pos, faces, ut.face_id[None], un.face_id[None], max_px=0.1)
    record_property("uv_id_disagreements", n)
    # texels covered by both through the same triangle agree to float32 rounding; where the
    # triangle differs (a texel centre on an edge) the sheet is curved, so the neighbour's plane
    # gives a position off by curvature x (distance to the edge)^2: small but above rounding
    cov = (ut.mask & un.mask)[0]
    same = cov & (ut.face_id == un.face_id)
    torch.testing.assert_close(ut.position[:, same], un.position[:, same], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ut.position[:, cov], un.position[:, cov], atol=1e-3, rtol=0)
    w = torch.linspace(-1, 1, 3, device=device).view(3, 1, 1) * cov
    gt, gn = (torch.autograd.grad((o.position * w).sum(), v)[0] for o, v in zip(outs, leaves, strict=True))
    assert gn.abs().sum() > 0
    torch.testing.assert_close(gt, gn, atol=1e-3 * float(gn.abs().max()), rtol=1e-3)


def test_generator_render_parity(nvdiffrast_context, record_property):
    from get3d.networks import Generator, GeneratorConfig
    from render.camera import sample_cameras

    device = nvdiffrast_context.device
    torch.manual_seed(0)
    G = Generator(GeneratorConfig.tiny()).to(device).eval()
    gen = torch.Generator(device).manual_seed(0)
    with torch.no_grad():
        ws = G.map_latents(
            torch.randn(2, G.config.z_dim, device=device, generator=gen),
            torch.randn(2, G.config.z_dim, device=device, generator=gen),
        )
        cams = sample_cameras(2, generator=torch.Generator().manual_seed(1)).to(device)
        ot = G.render(ws, cams, 64, backend=render.make_context("torch"))
        on = G.render(ws, cams, 64, backend=nvdiffrast_context)
    for mt, mn in zip(ot.meshes, on.meshes, strict=True):  # the same geometry went to both rasterizers
        assert torch.equal(mt.faces, mn.faces)
        torch.testing.assert_close(mt.vertices, mn.vertices, atol=1e-6, rtol=1e-6)  # CUDA atomics
    assert on.hard_mask.mean() > 0.1
    same = ot.hard_mask == on.hard_mask
    assert same.float().mean() > 0.99
    # which triangle each pixel shows, on each rasterizer (the same meshes, range mode)
    with torch.no_grad():
        vs, fs = [m.vertices for m in ot.meshes], [m.faces for m in ot.meshes]
        rt = render_mesh(vs, fs, cams, 64, backend=render.make_context("torch"), antialias=False)
        rn = render_mesh(vs, fs, cams, 64, backend=nvdiffrast_context, antialias=False)
    same_tri = (_ids(rt.rast) == _ids(rn.rast)).unsqueeze(1)
    covered = (same & same_tri & (on.hard_mask > 0)).expand_as(on.rgb)
    diff = (ot.rgb - on.rgb).abs()[covered]
    record_property("rgb_same_triangle_max_diff", float(diff.max()))
    record_property("rgb_same_triangle_frac_within_2e-3", float((diff <= 2e-3).float().mean()))
    # marching-tets surfaces of an untrained generator hold nearly coincident layers: besides
    # edge pixels, a z-buffer near-tie (1e-4 in NDC depth) may be broken either way
    n = assert_disagreements_on_edges(
        rt.pos_clip, rt.tri, _ids(rt.rast), _ids(rn.rast), max_px=0.1, depth_tie=1e-4
    )
    record_property("id_disagreements", n)
    assert float(diff.max()) <= 2e-2 and float((diff <= 2e-3).float().mean()) >= 0.99
    # the antialiased mask blends across the silhouette edge of the triangle a pixel shows, so
    # compare it where the triangle ids (not only the coverage) agree in the 3x3 neighbourhood, as
    # test_render_mesh_range_mode_parity does
    nbhd = -F.max_pool2d(-(same & same_tri).float(), 3, stride=1, padding=1) > 0
    torch.testing.assert_close(ot.mask[nbhd], on.mask[nbhd], atol=1e-4, rtol=0)
    bg = ~(ot.hard_mask > 0) & ~(on.hard_mask > 0)
    torch.testing.assert_close(ot.rgb[bg.expand_as(ot.rgb)], on.rgb[bg.expand_as(on.rgb)], atol=1e-6, rtol=0)
