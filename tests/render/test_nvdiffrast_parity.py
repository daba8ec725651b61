"""Parity of the pure-PyTorch backend with nvdiffrast (CUDA only; skipped without nvdiffrast).

Coverage may differ only at pixel centres within about 1/16 px of an edge (nvdiffrast snaps
vertices to 1/16 px), so rasterizer outputs are compared where both backends agree on the
triangle; every other op is fed the *same* ``rast`` on both backends and compared everywhere.
"""

from __future__ import annotations

import math

import pytest
import torch

import render

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not render.nvdiffrast_available(), reason="nvdiffrast is not importable"),
]


def _sphere(n_lat=24, n_lon=48):
    """A welded UV sphere of radius 0.5 (vertices [V, 3], faces [F, 3] int64)."""
    verts = [[0.0, 0.5, 0.0]]
    for i in range(1, n_lat):
        th = math.pi * i / n_lat
        for j in range(n_lon):
            ph = 2 * math.pi * j / n_lon
            verts.append(
                [0.5 * math.sin(th) * math.cos(ph), 0.5 * math.cos(th), 0.5 * math.sin(th) * math.sin(ph)]
            )
    verts.append([0.0, -0.5, 0.0])
    faces = []
    for j in range(n_lon):
        faces.append([0, 1 + (j + 1) % n_lon, 1 + j])
    for i in range(n_lat - 2):
        for j in range(n_lon):
            a, b = 1 + i * n_lon + j, 1 + i * n_lon + (j + 1) % n_lon
            c, d = a + n_lon, b + n_lon
            faces += [[a, b, d], [a, d, c]]
    last = len(verts) - 1
    for j in range(n_lon):
        a, b = 1 + (n_lat - 2) * n_lon + j, 1 + (n_lat - 2) * n_lon + (j + 1) % n_lon
        faces.append([last, a, b])
    return torch.tensor(verts), torch.tensor(faces)


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
def scene():
    device = torch.device("cuda")
    verts, faces = _sphere()
    pos = _clip_positions(verts, device)
    tri = faces.to(device=device, dtype=torch.int32)
    return pos, tri, render.make_context("torch"), render.make_context("nvdiffrast", device=device)


def _both(scene, res=(96, 128), grad=False, ranges=False):
    pos, tri, tctx, nctx = scene
    out = []
    for ctx in (tctx, nctx):
        p = pos.clone().requires_grad_(grad)
        if ranges:
            v = pos.shape[1]
            p_r = p.reshape(-1, 4)
            tri_r = torch.cat([tri, tri + v])
            rng = torch.tensor([[0, tri.shape[0]], [tri.shape[0], tri.shape[0]]], dtype=torch.int32)
            rast, db = render.rasterize(ctx, p_r, tri_r, res, ranges=rng)
        else:
            rast, db = render.rasterize(ctx, p, tri, res)
        out.append((p, rast, db))
    return out


@pytest.mark.parametrize("ranges", [False, True])
def test_rasterize_parity(scene, ranges):
    (_, rt, dt), (_, rn, dn) = _both(scene, ranges=ranges)
    same = rt[..., 3] == rn[..., 3]
    assert same.float().mean() > 0.995  # mismatches only at edge pixels
    assert (rn[..., 3] > 0).float().mean() > 0.2
    m = same & (rn[..., 3] > 0)
    torch.testing.assert_close(rt[..., :3][m], rn[..., :3][m], atol=2e-5, rtol=1e-4)
    torch.testing.assert_close(dt[m], dn[m], atol=1e-6, rtol=1e-3)
    assert (rt[~(rt[..., 3] > 0)] == 0).all() and (rn[~(rn[..., 3] > 0)] == 0).all()


def test_rasterize_gradient_parity(scene):
    (pt, rt, dt), (pn, rn, dn) = _both(scene, grad=True)
    same = ((rt[..., 3] == rn[..., 3]) & (rn[..., 3] > 0)).unsqueeze(-1)
    g = torch.randn(rt.shape, device=rt.device, generator=torch.Generator(rt.device).manual_seed(0))
    for r, d in ((rt, dt), (rn, dn)):
        ((r * g * same).sum() + (d * g * same).sum() * 10.0).backward()
    assert (pt.grad[..., 2] == 0).all() and (pn.grad[..., 2] == 0).all()
    scale = pn.grad.abs().max()
    torch.testing.assert_close(pt.grad, pn.grad, atol=1e-4 * float(scale), rtol=1e-3)


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
def test_texture_parity(filter_mode, boundary_mode):
    device = torch.device("cuda")
    gen = torch.Generator(device).manual_seed(2)
    tex = torch.rand(1, 16, 24, 3, device=device, generator=gen).requires_grad_(True)
    uv = (torch.rand(2, 20, 20, 2, device=device, generator=gen) * 1.6 - 0.3).requires_grad_(True)
    res = []
    for backend in ("torch", "nvdiffrast"):
        out = render.texture(tex, uv, filter_mode=filter_mode, boundary_mode=boundary_mode, backend=backend)
        res.append((out, *torch.autograd.grad(out.square().sum(), (tex, uv), allow_unused=True)))
    for a, b in zip(res[0], res[1], strict=True):
        if a is None or b is None:
            assert (a is None or (a == 0).all()) and (b is None or (b == 0).all())
            continue
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
