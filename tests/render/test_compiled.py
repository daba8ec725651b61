"""The torch.compile'd per-pixel kernels (TorchRasterContext(compile=True)) against the eager ones."""

from __future__ import annotations

import math

import pytest
import torch

import render

EAGER = render.make_context("torch")
COMPILED = render.make_context("torch", compile=True)


def _scene(batch: int = 2, n_tri: int = 60, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    verts = torch.rand(batch, 3 * n_tri, 3, generator=g) * 1.6 - 0.8
    verts[..., 2] = verts[..., 2] * 0.5 - 2.0  # in front of the camera
    f = 1.0 / math.tan(math.radians(25))
    near, far = 0.1, 10.0
    x, y, z = verts.unbind(-1)
    pos = torch.stack([f * x, f * y, (far + near) / (near - far) * z + 2 * far * near / (near - far), -z], -1)
    tri = torch.arange(3 * n_tri).view(n_tri, 3)
    attr = torch.rand(batch, 3 * n_tri, 5, generator=g)
    return pos, tri, attr


def test_compile_option_is_validated():
    with pytest.raises(ValueError, match="compile must be a bool"):
        render.TorchRasterContext(compile=1)


def test_compiled_forward_matches_eager():
    pos, tri, attr = _scene()
    with torch.no_grad():
        re_, de = render.rasterize(EAGER, pos, tri, (40, 56))
        rc, dc = render.rasterize(COMPILED, pos, tri, (40, 56))
        assert torch.equal(rc[..., 3], re_[..., 3])  # same triangle at every pixel
        torch.testing.assert_close(rc[..., :3], re_[..., :3], atol=2e-5, rtol=0)
        torch.testing.assert_close(dc, de, atol=1e-4, rtol=1e-4)
        for a in (attr, attr[:1], attr[0]):  # per item, broadcast, shared
            fe, _ = render.interpolate(a, re_, tri)
            fc, _ = render.interpolate(a, re_, tri, backend=COMPILED)
            torch.testing.assert_close(fc, fe, atol=1e-6, rtol=0)
        # another size and the range mode reuse the dynamic-shape kernels
        ranges = torch.tensor([[0, 30], [20, 40]])
        flat = pos[0]
        re2, _ = render.rasterize(EAGER, flat, tri, (33, 21), ranges=ranges)
        rc2, _ = render.rasterize(COMPILED, flat, tri, (33, 21), ranges=ranges)
        assert torch.equal(rc2[..., 3], re2[..., 3])
        torch.testing.assert_close(rc2[..., :3], re2[..., :3], atol=2e-5, rtol=0)


def test_compiled_path_has_the_same_gradients():
    pos, tri, attr = _scene(seed=1)
    grads = []
    for ctx in (EAGER, COMPILED):
        p = pos.clone().requires_grad_(True)
        a = attr.clone().requires_grad_(True)
        rast, db = render.rasterize(ctx, p, tri, (32, 32))
        feat, _ = render.interpolate(a, rast, tri, backend=ctx)
        (feat.square().sum() + db.sum()).backward()
        grads.append((p.grad, a.grad))
    torch.testing.assert_close(grads[1][0], grads[0][0], atol=1e-3, rtol=1e-3)
    torch.testing.assert_close(grads[1][1], grads[0][1], atol=1e-5, rtol=1e-5)
