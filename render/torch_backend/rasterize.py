"""Pure-PyTorch triangle rasterizer with nvdiffrast's semantics (``rasterize``).

Frames and conventions (identical to nvdiffrast's CUDA rasterizer):

- ``pos`` is homogeneous clip space (x, y, z, w); the visible frustum is ``-w <= x, y, z <= w``.
- Pixel ``(px, py)`` samples NDC ``((2 px + 1) / W - 1, (2 py + 1) / H - 1)``: row 0 is NDC y = -1.
- ``rast[B, H, W, 4]`` = (u, v, z/w, triangle_id + 1), float, zeros where no triangle covers the
  pixel. (u, v) are perspective-correct barycentrics of the first and second vertex of the
  triangle (the third gets ``1 - u - v``), saturated to [0, 1] and renormalised when u + v > 1.
  z/w is clamped to [-1, 1]; the triangle id is the global row of ``tri``.
- ``rast_db[B, H, W, 4]`` = (du/dX, du/dY, dv/dX, dv/dY) per pixel, of the unclamped barycentrics.
- Both windings rasterise (no back-face culling); the nearest z/w wins (ties: the lower id).
- Triangles crossing the near/far planes or the camera plane are handled by homogeneous
  rasterization: a pixel is covered when its ray meets the triangle at a point with
  ``w > 0`` and ``-1 <= z/w <= 1``, which is exactly the set geometric clipping against the
  frustum keeps.

Gradients follow nvdiffrast's backward: only ``pos`` x, y and w receive gradient (z gets 0),
from d(u, v) and, with ``grad_db``, from d rast_db; the gradient is the derivative of the
*unclamped* barycentrics ``a_i / (sum a + copysign(1e-6, sum a))``.

Algorithm: the visibility pass (:mod:`render.torch_backend.visibility`, vectorised, tiled,
memory bounded by ``max_fragments`` fragments per chunk plus O(B H W)) finds the nearest triangle
per pixel as a dense entry map; the outputs are then evaluated at every pixel, in blocks of
image rows, from a per-entry table of the same affine edge and depth functions (the empty-pixel
entry evaluates to exact zeros), which are algebraically identical to nvdiffrast's clip-space
formulas (float32 results agree to about 1e-6). With a compiled kernel
(:mod:`render.torch_backend.compiled`) the whole image is shaded in one fused loop. The backward
pass uses nvdiffrast's clip-space expressions.

Differences to nvdiffrast: nvdiffrast snaps vertices to 1/16 pixel for the coverage test, this
rasterizer tests coverage in floating point, so triangle ids may differ at pixel centres within
about 1/16 px of an edge. An empty ``tri`` gives all-zero outputs (nvdiffrast raises).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from render.torch_backend.alloc import empty_output
from render.torch_backend.blocks import BLOCK_PIXELS, covered_box, row_blocks, zero_outside
from render.torch_backend.visibility import gather_cols, visible_triangles

__all__ = ["XYW_ROWS", "bary_grad", "pixel_centres", "rasterize_torch"]

_GRAD_EPS = 1e-6  # nvdiffrast's epsilon in the backward denominator


def _shade(verts: torch.Tensor, fx: torch.Tensor, fy: torch.Tensor, xs: float, ys: float):
    """nvdiffrast's backward expressions: unclamped barycentrics and their pixel derivatives.

    Written as nvdiffrast's kernel computes them from clip space, with its ``copysign(1e-6, area)``
    in the denominator; the backward pass differentiates ``db`` with autograd (the (u, v) part
    has the closed form of :func:`bary_grad`).

    Args:
        verts: [n, 3, 4] clip-space vertices of the triangle seen at each pixel.
        fx, fy: [n] NDC pixel centre.

    Returns:
        b0, b1 [n], db [n, 4].
    """
    x, y, _, w = verts.unbind(-1)
    px = x - fx[:, None] * w
    py = y - fy[:, None] * w
    p0x, p1x, p2x = px.unbind(1)
    p0y, p1y, p2y = py.unbind(1)
    a0 = p1x * p2y - p1y * p2x
    a1 = p2x * p0y - p2y * p0x
    a2 = p0x * p1y - p0y * p1x
    at = a0 + a1 + a2
    iw = 1.0 / (at + torch.where(at < 0, -_GRAD_EPS, _GRAD_EPS))
    b0 = a0 * iw
    b1 = a1 * iw
    x0, x1, x2 = x.unbind(1)
    y0, y1, y2 = y.unbind(1)
    w0, w1, w2 = w.unbind(1)
    da0dx = y2 * w1 - y1 * w2
    da0dy = x1 * w2 - x2 * w1
    da1dx = y0 * w2 - y2 * w0
    da1dy = x2 * w0 - x0 * w2
    da2dx = y1 * w0 - y0 * w1
    da2dy = x0 * w1 - x1 * w0
    datdx = da0dx + da1dx + da2dx
    datdy = da0dy + da1dy + da2dy
    dfx = xs * iw
    dfy = ys * iw
    db = torch.stack(
        [
            dfx * (b0 * datdx - da0dx),
            dfy * (b0 * datdy - da0dy),
            dfx * (b1 * datdx - da1dx),
            dfy * (b1 * datdy - da1dy),
        ],
        dim=1,
    )
    return b0, b1, db


def _shade_rect(table: torch.Tensor, entry: torch.Tensor, y0: int, x0: int, rast, rast_db) -> None:
    """Forward outputs of a rectangle of pixels from the affine edge/depth functions of the
    visibility pass; identical in value to nvdiffrast's clip-space formulas.

    Args:
        table: [15, N + 1] per entry: rows 0-3 the values at the expansion pixel of the
            normalised edge functions a0, a1, their sum s = a0 + a1 + a2, and z/w, rows 4-7
            their d/dX, rows 8-11 their d/dY, row 12 the triangle id + 1, rows 13-14 the
            expansion pixel (X, global row). Column N (the entry of empty pixels) is s = 1 and
            0 otherwise, which makes every output 0.
        entry: [R, W'] int64 entry seen at each pixel of the rectangle, whose first pixel is
            (x0, y0) in (column, global row of all B * H rows).
        rast: [R, W', 4] written: u, v (clamped and renormalised), z/w (clamped), id + 1.
        rast_db: [R, W', 4] written: du/dX, du/dY, dv/dX, dv/dY of the unclamped barycentrics.
    """
    n_rows, width = entry.shape
    flat = entry.reshape(-1)
    c0, c1, cs, cz, gx0, gx1, gxs, gxz, gy0, gy1, gys, gyz, ids, cx, cy = (
        table[r].index_select(0, flat).view(n_rows, width) for r in range(15)
    )
    # offset from the expansion pixel: integers, exact in float32 below 2**24
    lx = torch.arange(x0, x0 + width, device=entry.device, dtype=table.dtype).sub(cx)
    ly = torch.arange(y0, y0 + n_rows, device=entry.device, dtype=table.dtype).unsqueeze(1).sub(cy)
    iw = cs.addcmul_(gxs, lx).addcmul_(gys, ly).reciprocal_()
    b0 = c0.addcmul_(gx0, lx).addcmul_(gy0, ly).mul_(iw)
    b1 = c1.addcmul_(gx1, lx).addcmul_(gy1, ly).mul_(iw)
    torch.clamp(cz.addcmul_(gxz, lx).addcmul_(gyz, ly), -1, 1, out=rast[..., 2])
    rast[..., 3] = ids
    # d(a_i / s) = (da_i - b_i ds) / s
    torch.mul(gx0.addcmul_(b0, gxs, value=-1.0), iw, out=rast_db[..., 0])
    torch.mul(gy0.addcmul_(b0, gys, value=-1.0), iw, out=rast_db[..., 1])
    torch.mul(gx1.addcmul_(b1, gxs, value=-1.0), iw, out=rast_db[..., 2])
    torch.mul(gy1.addcmul_(b1, gys, value=-1.0), iw, out=rast_db[..., 3])
    u = b0.clamp_(0, 1)
    v = b1.clamp_(0, 1)
    total = torch.add(u, v).clamp_(min=1.0)
    torch.div(u, total, out=rast[..., 0])
    torch.div(v, total, out=rast[..., 1])


class _RasterShade(torch.autograd.Function):
    """Identity on the forward outputs; nvdiffrast's backward from rast / rast_db to pos x, y, w."""

    @staticmethod
    def forward(ctx, pos, rast, rast_db, entry_map, vidx_all, shape, grad_db, grad_kernel):
        ctx.save_for_backward(pos, entry_map, vidx_all)
        ctx.set_materialize_grads(False)
        ctx.shape, ctx.grad_db, ctx.grad_kernel = shape, grad_db, grad_kernel
        ctx.mark_non_differentiable(entry_map)
        return rast.view(*shape, 4), rast_db.view(*shape, 4)

    @staticmethod
    def backward(ctx, g_rast, g_db):
        pos, entry_map, vidx_all = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return (None,) * 8
        _, height, width = ctx.shape
        grad_flat = pos.new_zeros(pos.numel() // 4, 4)
        if g_db is not None and not ctx.grad_db:
            g_db = None
        if g_rast is None and g_db is None:
            return grad_flat.view_as(pos), *(None,) * 7
        n_entry = vidx_all.shape[0]
        pos_flat = pos.detach().reshape(-1, 4)
        # per (item, triangle) rows x0 x1 x2 y0 y1 y2 z0 z1 z2 w0 w1 w2, and their gradients
        v12 = gather_cols(pos_flat.t().contiguous(), vidx_all.t().reshape(-1)).view(12, n_entry)
        acc = pos.new_zeros(12, n_entry)  # z rows stay 0: nvdiffrast gives z no gradient
        covered = torch.nonzero(entry_map != n_entry).squeeze(1)
        if g_rast is not None and ctx.grad_kernel is not None:
            g_uv = g_rast.reshape(-1, 4).index_select(0, covered)[:, :2].to(pos.dtype)
            acc += ctx.grad_kernel(v12, entry_map.index_select(0, covered), covered, g_uv, height, width)
            g_rast = None
        for lo in range(0, covered.shape[0] if g_rast is not None or g_db is not None else 0, BLOCK_PIXELS):
            pix = covered[lo : lo + BLOCK_PIXELS]  # blocks: small temporaries, reused
            entry = entry_map.index_select(0, pix)
            fx, fy = pixel_centres(pix, height, width, pos.dtype)
            if g_rast is not None:
                g = g_rast.reshape(-1, 4).index_select(0, pix)
                v = [v12[r].index_select(0, entry) for r in XYW_ROWS]
                for r, grad in zip(XYW_ROWS, bary_grad(v, fx, fy, g[:, 0], g[:, 1]), strict=True):
                    acc[r].index_add_(0, entry, grad)
            if g_db is not None:
                gd = g_db.reshape(-1, 4).index_select(0, pix)
                vidx = vidx_all.index_select(0, entry)
                with torch.enable_grad():
                    verts = pos_flat.index_select(0, vidx.reshape(-1)).view(-1, 3, 4).requires_grad_(True)
                    _, _, db = _shade(verts, fx, fy, 2.0 / width, 2.0 / height)
                    (gv,) = torch.autograd.grad((db * gd).sum(), verts)
                for r in XYW_ROWS:  # row r = 3 * coordinate + corner
                    acc[r].index_add_(0, entry, gv[:, r % 3, r // 3])
        for i in range(3):
            grad_flat.index_add_(0, vidx_all[:, i], acc[i::3].t())
        return grad_flat.view_as(pos), *(None,) * 7


XYW_ROWS = (0, 1, 2, 3, 4, 5, 9, 10, 11)  # rows of x0 x1 x2 y0 y1 y2 w0 w1 w2 in the [12, N] layout


def pixel_centres(pix: torch.Tensor, height: int, width: int, dtype: torch.dtype):
    """NDC centres (fx, fy) [n] of flat pixel indices into [B, H, W] (float64 index arithmetic)."""
    pixf = pix.to(torch.float64)
    rem = pixf - torch.floor(pixf / (height * width)) * (height * width)
    py = torch.floor(rem / width)
    fx = ((2.0 * (rem - py * width) + 1.0) / width - 1.0).to(dtype)
    fy = ((2.0 * py + 1.0) / height - 1.0).to(dtype)
    return fx, fy


def bary_grad(v: list[torch.Tensor], fx: torch.Tensor, fy: torch.Tensor, gu: torch.Tensor, gv: torch.Tensor):
    """nvdiffrast's closed-form gradient of (b0, b1) = (a0, a1) / (sum a + copysign(1e-6, sum a)).

    Args:
        v: 9 [n] rows: clip-space x0 x1 x2 y0 y1 y2 w0 w1 w2 of the triangle at each pixel.
        fx, fy: [n] NDC pixel centres; gu, gv: [n] incoming gradients of u and v.

    Returns:
        9 [n] gradients in the same order.
    """
    x0, x1, x2, y0, y1, y2, w0, w1, w2 = v
    p0x, p1x, p2x = x0 - fx * w0, x1 - fx * w1, x2 - fx * w2
    p0y, p1y, p2y = y0 - fy * w0, y1 - fy * w1, y2 - fy * w2
    a0 = p1x * p2y - p1y * p2x
    a1 = p2x * p0y - p2y * p0x
    at = a0 + a1 + (p0x * p1y - p0y * p1x)
    iw = (at + torch.where(at < 0, -_GRAD_EPS, _GRAD_EPS)).reciprocal_()
    gb0 = gu * iw
    gb1 = gv * iw
    gbb = gb0 * a0 * iw + gb1 * a1 * iw
    gx0 = gbb * (p2y - p1y) - gb1 * p2y
    gx1 = gbb * (p0y - p2y) + gb0 * p2y
    gx2 = gbb * (p1y - p0y) - gb0 * p1y + gb1 * p0y
    gy0 = gbb * (p1x - p2x) + gb1 * p2x
    gy1 = gbb * (p2x - p0x) - gb0 * p2x
    gy2 = gbb * (p0x - p1x) + gb0 * p1x - gb1 * p0x
    gw = [-fx * gx - fy * gy for gx, gy in ((gx0, gy0), (gx1, gy1), (gx2, gy2))]
    return [gx0, gx1, gx2, gy0, gy1, gy2, *gw]


def rasterize_torch(
    pos: torch.Tensor,
    tri: torch.Tensor,
    resolution: tuple[int, int],
    ranges: torch.Tensor | None = None,
    grad_db: bool = True,
    *,
    tile_size: int = 32,
    max_fragments: int = 1 << 21,
    shade: Callable | None = None,
    frag: Callable | None = None,
    grad: Callable | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rasterize triangles with nvdiffrast's semantics (see the module docstring).

    Inputs are assumed validated (``render.ops.rasterize`` does that).

    Args:
        pos: [B, V, 4] (instanced mode) or [V, 4] (range mode) float clip-space positions.
        tri: [F, 3] int32/int64 vertex indices.
        resolution: (H, W).
        ranges: range mode only: [B, 2] int (start, count) rows of ``tri`` drawn by item b.
        grad_db: propagate gradients of ``rast_db`` to ``pos`` in the backward pass.
        tile_size: largest side of the tiles the triangles' screen boxes are cut into.
        max_fragments: most candidate fragments expanded per chunk (bounds temporary memory).
        shade: compiled :func:`render.torch_backend.compiled.shade_image`, or None for the
            eager, row-blocked shading.
        frag: compiled :func:`render.torch_backend.compiled.fragment_keys`, or None (eager).
        grad: compiled :func:`render.torch_backend.compiled.raster_grad` for the backward pass
            from (u, v), or None (eager).

    Returns:
        rast: [B, H, W, 4] (u, v, z/w, id + 1), dtype of ``pos``.
        rast_db: [B, H, W, 4] (du/dX, du/dY, dv/dX, dv/dY), dtype of ``pos``.
    """
    height, width = int(resolution[0]), int(resolution[1])
    device = pos.device
    tri = tri.to(torch.int64)
    n_tri = tri.shape[0]
    if pos.dim() == 3:
        batch, n_vert = pos.shape[0], pos.shape[1]
        item = torch.arange(batch, device=device).repeat_interleave(n_tri)
        tri_id = torch.arange(n_tri, device=device).repeat(batch)
        vidx_all = (tri.unsqueeze(0) + (torch.arange(batch, device=device) * n_vert).view(-1, 1, 1)).view(
            -1, 3
        )
    else:
        assert ranges is not None
        r = ranges.to(torch.int64).cpu()
        batch = r.shape[0]
        starts, counts = r[:, 0], r[:, 1]
        total = int(counts.sum())
        item = torch.repeat_interleave(torch.arange(batch), counts)
        offs = torch.cumsum(counts, 0) - counts
        tri_id = torch.arange(total) - offs[item] + starts[item]
        item, tri_id = item.to(device), tri_id.to(device)
        vidx_all = tri.index_select(0, tri_id)
    work_dtype = torch.float64 if pos.dtype == torch.float64 else torch.float32
    pos_t = pos.detach().reshape(-1, 4).t().to(work_dtype).contiguous()  # [4, P]
    verts = gather_cols(pos_t, vidx_all.t().reshape(-1)).view(12, -1)  # rows x0 x1 x2 y0 ... w2
    entry, coef, corner = visible_triangles(verts, item, batch, height, width, tile_size, max_fragments, frag)
    # per-entry table (see _shade_rect) with the empty-pixel entry N appended
    n_entry = verts.shape[1]
    table = torch.zeros(15, n_entry + 1, dtype=work_dtype, device=device)
    for r in (0, 4, 8):  # (a0, a1, a2, z/w) -> (a0, a1, a0 + a1 + a2, z/w)
        table[r : r + 2, :n_entry] = coef[r : r + 2]
        torch.sum(coef[r : r + 3], 0, out=table[r + 2, :n_entry])
        table[r + 3, :n_entry] = coef[r + 3]
    table[2, n_entry] = 1.0
    table[12, :n_entry] = tri_id + 1
    table[13, :n_entry] = corner[0]
    table[14, :n_entry] = item * height + corner[1]
    grid = entry.view(batch * height, width)
    if shade is not None:
        rast, rast_db = shade(table, grid)
    else:
        rast = empty_output((batch * height * width, 4), work_dtype, device)
        rast_db = empty_output((batch * height * width, 4), work_dtype, device)
        rast3, db3 = rast.view(batch * height, width, 4), rast_db.view(batch * height, width, 4)
        for r0, r1, _ in row_blocks(batch, height, width):
            blk = grid[r0:r1]
            box = covered_box(blk != n_entry)
            zero_outside(rast3[r0:r1], box)
            zero_outside(db3[r0:r1], box)
            if box is not None:
                y0, y1, x0, x1 = box
                rect = (slice(r0 + y0, r0 + y1), slice(x0, x1))
                _shade_rect(table, blk[y0:y1, x0:x1], r0 + y0, x0, rast3[rect], db3[rect])
    rast, rast_db = rast.to(pos.dtype), rast_db.to(pos.dtype)
    return _RasterShade.apply(pos, rast, rast_db, entry, vidx_all, (batch, height, width), grad_db, grad)
