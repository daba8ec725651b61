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

Algorithm (vectorised, no per-pixel or per-triangle Python loops): every triangle gets affine
edge and depth functions of the pixel indices and a screen bounding box of its clipped polygon;
boxes are cut into tiles of at most ``tile_size`` pixels per side, the tiles are grouped by
power-of-two size class and each class is evaluated on a dense stamp; the nearest fragment per
pixel is found with one ``scatter_reduce('amin')`` over packed (depth, id) keys. Memory is bounded
by ``max_fragments`` candidate fragments per chunk plus O(B H W) for the outputs.

Differences to nvdiffrast: nvdiffrast snaps vertices to 1/16 pixel for the coverage test, this
rasterizer tests coverage in floating point, so triangle ids may differ at pixel centres within
about 1/16 px of an edge. An empty ``tri`` gives all-zero outputs (nvdiffrast raises).
"""

from __future__ import annotations

import torch

__all__ = ["rasterize_torch"]

_KEY_EMPTY = torch.iinfo(torch.int64).max
_MAX_TRIANGLES = 1 << 24  # ids are stored as float32 and exact up to 2**24
_BBOX_MARGIN = 1e-3  # pixels; the bounding box is conservative by this much
_GRAD_EPS = 1e-6  # nvdiffrast's epsilon in the backward denominator


def _ordered_bits(depth: torch.Tensor) -> torch.Tensor:
    """Map float32 values to int64 keys with the same order (monotonic, exact)."""
    bits = depth.to(torch.float32).contiguous().view(torch.int32).to(torch.int64)
    return torch.where(bits < 0, bits ^ 0x7FFFFFFF, bits)


def _triangle_setup(verts: torch.Tensor, height: int, width: int):
    """Per-triangle affine coverage/depth functions and clipped screen bounding boxes.

    Args:
        verts: [N, 3, 4] float64 clip-space vertices.

    Returns:
        coef: [N, 4, 3] float64; rows are the edge functions a0, a1, a2 (divided by the signed
            determinant, so a pixel is inside iff all three are >= 0) and z/w, columns the
            constant, the X (column index) and the Y (row index) coefficient.
        box: [N, 4] int64 (x0, y0, x1, y1), inclusive, clipped to the image; empty when x0 > x1.
    """
    x, y, z, w = verts.unbind(-1)  # each [N, 3]
    xj, yj, wj = x.roll(-1, 1), y.roll(-1, 1), w.roll(-1, 1)
    xk, yk, wk = x.roll(-2, 1), y.roll(-2, 1), w.roll(-2, 1)
    # a_i(fx, fy) = c_i + fx * gx_i + fy * gy_i for the (j, k) = (i + 1, i + 2) edge
    c = xj * yk - yj * xk
    gx = yj * wk - wj * yk
    gy = wj * xk - xj * wk
    det = (w * c).sum(1)  # = sum_i w_i a_i, constant over the screen
    safe_det = torch.where(det == 0, torch.ones_like(det), det)[:, None]
    sx, ox = 2.0 / width, 1.0 / width - 1.0
    sy, oy = 2.0 / height, 1.0 / height - 1.0
    c_pix = (c + gx * ox + gy * oy) / safe_det
    gx_pix = gx * sx / safe_det
    gy_pix = gy * sy / safe_det
    edge = torch.stack([c_pix, gx_pix, gy_pix], dim=-1)  # [N, 3, 3]
    depth = (z[:, :, None] * edge).sum(1, keepdim=True)  # [N, 1, 3]
    coef = torch.cat([edge, depth], dim=1)

    # Frustum culling: all three vertices outside one plane.
    outside = (
        (x > w).all(1) | (x < -w).all(1) | (y > w).all(1) | (y < -w).all(1) | (z > w).all(1) | (z < -w).all(1)
    )
    valid_tri = ~outside & (det != 0) & torch.isfinite(coef).all(2).all(1)

    # Screen bounding box of the polygon clipped against the near (z >= -w) and far (z <= w)
    # planes: its vertices are the original vertices inside the slab and the edge crossings.
    vj = verts.roll(-1, 1)
    dn, df = z + w, w - z
    dnj, dfj = dn.roll(-1, 1), df.roll(-1, 1)
    inside = (dn >= 0) & (df >= 0)
    t_near = (dn / torch.where(dn == dnj, torch.ones_like(dn), dn - dnj)).clamp(0, 1)
    q_near = verts + t_near[..., None] * (vj - verts)
    ok_near = (dn * dnj < 0) & (q_near[..., 3] - q_near[..., 2] >= 0)
    t_far = (df / torch.where(df == dfj, torch.ones_like(df), df - dfj)).clamp(0, 1)
    q_far = verts + t_far[..., None] * (vj - verts)
    ok_far = (df * dfj < 0) & (q_far[..., 2] + q_far[..., 3] >= 0)
    pts = torch.cat([verts, q_near, q_far], dim=1)  # [N, 9, 4]
    ok = torch.cat([inside, ok_near, ok_far], dim=1)  # [N, 9]
    pw = pts[..., 3]
    unbounded = (ok & (pw <= 0)).any(1)
    good = ok & (pw > 0)
    pw_safe = torch.where(good, pw, torch.ones_like(pw))
    # pixel-index coordinates, clamped to a little beyond the image to stay finite
    px = ((pts[..., 0] / pw_safe + 1.0) * (0.5 * width) - 0.5).clamp(-2.0, width + 1.0)
    py = ((pts[..., 1] / pw_safe + 1.0) * (0.5 * height) - 0.5).clamp(-2.0, height + 1.0)
    big = float(max(width, height) + 10)
    xmin = torch.where(good, px, torch.full_like(px, big)).amin(1)
    xmax = torch.where(good, px, torch.full_like(px, -big)).amax(1)
    ymin = torch.where(good, py, torch.full_like(py, big)).amin(1)
    ymax = torch.where(good, py, torch.full_like(py, -big)).amax(1)
    xmin = torch.where(unbounded, torch.zeros_like(xmin), xmin)
    ymin = torch.where(unbounded, torch.zeros_like(ymin), ymin)
    xmax = torch.where(unbounded, torch.full_like(xmax, width - 1.0), xmax)
    ymax = torch.where(unbounded, torch.full_like(ymax, height - 1.0), ymax)
    x0 = torch.ceil(xmin - _BBOX_MARGIN).clamp(min=0).to(torch.int64)
    x1 = torch.floor(xmax + _BBOX_MARGIN).clamp(max=width - 1).to(torch.int64)
    y0 = torch.ceil(ymin - _BBOX_MARGIN).clamp(min=0).to(torch.int64)
    y1 = torch.floor(ymax + _BBOX_MARGIN).clamp(max=height - 1).to(torch.int64)
    empty = ~valid_tri | ~(good.any(1) | unbounded) | (x0 > x1) | (y0 > y1)
    x1 = torch.where(empty, x0 - 1, x1)
    return coef, torch.stack([x0, y0, x1, y1], dim=1)


def _split_tiles(box: torch.Tensor, tile: int):
    """Cut inclusive boxes [N, 4] into tiles of at most ``tile`` pixels per side.

    Returns (owner [P], x0 [P], y0 [P], w [P], h [P]) for the non-empty tiles.
    """
    x0, y0, x1, y1 = box.unbind(1)
    bw = (x1 - x0 + 1).clamp(min=0)
    bh = (y1 - y0 + 1).clamp(min=0)
    nx = (bw + tile - 1) // tile
    ny = (bh + tile - 1) // tile
    count = nx * ny
    if bool((count <= 1).all()):
        keep = torch.nonzero(count == 1).squeeze(1)
        return keep, x0[keep], y0[keep], bw[keep], bh[keep]
    owner = torch.repeat_interleave(torch.arange(box.shape[0], device=box.device), count)
    start = torch.cumsum(count, 0) - count
    k = torch.arange(owner.shape[0], device=box.device) - start[owner]
    ix = k % nx[owner]
    iy = k // nx[owner]
    tx0 = x0[owner] + ix * tile
    ty0 = y0[owner] + iy * tile
    tw = torch.minimum(x1[owner] - tx0 + 1, torch.full_like(tx0, tile))
    th = torch.minimum(y1[owner] - ty0 + 1, torch.full_like(ty0, tile))
    return owner, tx0, ty0, tw, th


def _size_class(n: torch.Tensor) -> torch.Tensor:
    """Smallest k with 2**k >= n (n >= 1), as int64."""
    k = torch.zeros_like(n)
    m = n - 1
    while bool((m > 0).any()):
        k = k + (m > 0).to(k.dtype)
        m = m >> 1
    return k


def _visible_triangles(
    verts: torch.Tensor,
    item: torch.Tensor,
    tri_id: torch.Tensor,
    batch: int,
    height: int,
    width: int,
    work_dtype: torch.dtype,
    tile_size: int,
    max_fragments: int,
) -> torch.Tensor:
    """Nearest visible triangle per pixel.

    Args:
        verts: [N, 3, 4] clip-space vertices of every (minibatch item, triangle) pair to draw.
        item: [N] int64 minibatch index of each pair.
        tri_id: [N] int64 global triangle row of each pair.

    Returns:
        [B * H * W] int64 packed keys; ``_KEY_EMPTY`` where no triangle covers the pixel, else the
        low 32 bits hold the triangle row.
    """
    device = verts.device
    keys = torch.full((batch * height * width,), _KEY_EMPTY, dtype=torch.int64, device=device)
    if verts.shape[0] == 0:
        return keys
    coef, box = _triangle_setup(verts.to(torch.float64), height, width)
    owner, tx0, ty0, tw, th = _split_tiles(box, tile_size)
    if owner.shape[0] == 0:
        return keys
    # move the origin of each tile's affine functions to its corner (in float64), then cast
    pcoef = coef[owner]
    pcoef = torch.stack(
        [
            pcoef[..., 0] + pcoef[..., 1] * tx0[:, None] + pcoef[..., 2] * ty0[:, None],
            pcoef[..., 1],
            pcoef[..., 2],
        ],
        dim=-1,
    ).to(work_dtype)
    base = item[owner] * (height * width) + ty0 * width + tx0
    pid = tri_id[owner]
    cw, ch = _size_class(tw), _size_class(th)
    cls = cw * 16 + ch
    for c in torch.unique(cls).tolist():
        sel = torch.nonzero(cls == c).squeeze(1)
        kw, kh = 1 << (c // 16), 1 << (c % 16)
        stamp = kw * kh
        s = torch.arange(stamp, device=device)
        sx, sy = s % kw, s // kw
        sxf, syf = sx.to(work_dtype), sy.to(work_dtype)
        soff = sy * width + sx
        chunk = max(1, max_fragments // stamp)
        for lo in range(0, sel.shape[0], chunk):
            idx = sel[lo : lo + chunk]
            cf = pcoef[idx]  # [n, 4, 3]
            vals = torch.addcmul(
                torch.addcmul(cf[..., 0:1], cf[..., 1:2], sxf), cf[..., 2:3], syf
            )  # [n, 4, S]
            emin = torch.minimum(torch.minimum(vals[:, 0], vals[:, 1]), vals[:, 2])
            depth = vals[:, 3]
            cov = (emin >= 0) & (depth.abs() <= 1)
            cov &= (sx[None, :] < tw[idx, None]) & (sy[None, :] < th[idx, None])
            key = (_ordered_bits(depth) << 32) | pid[idx, None]
            key = torch.where(cov, key, _KEY_EMPTY)
            pix = torch.where(cov, base[idx, None] + soff[None, :], 0)
            keys.scatter_reduce_(0, pix.reshape(-1), key.reshape(-1), reduce="amin")
    return keys


def _shade(verts: torch.Tensor, fx: torch.Tensor, fy: torch.Tensor, xs: float, ys: float, eps: bool):
    """nvdiffrast's per-pixel barycentrics, z/w and barycentric pixel derivatives.

    Args:
        verts: [n, 3, 4] clip-space vertices of the triangle seen at each pixel.
        fx, fy: [n] NDC pixel centre.
        eps: add nvdiffrast's backward epsilon to the denominator (the backward's formula).

    Returns:
        b0, b1 (unclamped), zw (unclamped), db [n, 4].
    """
    x, y, z, w = verts.unbind(-1)
    px = x - fx[:, None] * w
    py = y - fy[:, None] * w
    p0x, p1x, p2x = px.unbind(1)
    p0y, p1y, p2y = py.unbind(1)
    a0 = p1x * p2y - p1y * p2x
    a1 = p2x * p0y - p2y * p0x
    a2 = p0x * p1y - p0y * p1x
    at = a0 + a1 + a2
    if eps:
        at = at + torch.where(at < 0, -_GRAD_EPS, _GRAD_EPS)
    iw = 1.0 / at
    b0 = a0 * iw
    b1 = a1 * iw
    zw = (z[:, 0] * a0 + z[:, 1] * a1 + z[:, 2] * a2) / (w[:, 0] * a0 + w[:, 1] * a1 + w[:, 2] * a2)
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
    return b0, b1, zw, db


class _RasterShade(torch.autograd.Function):
    """Fills rast / rast_db for known visible triangles; nvdiffrast's backward to pos x, y, w."""

    @staticmethod
    def forward(ctx, pos, vidx, pix, tid, fx, fy, shape, xs, ys, grad_db):
        flat_pos = pos.reshape(-1, 4)
        verts = flat_pos[vidx]
        b0, b1, zw, db = _shade(verts, fx, fy, xs, ys, eps=False)
        u = b0.clamp(0, 1)
        v = b1.clamp(0, 1)
        s = u + v
        over = s > 1
        s_safe = torch.where(over, s, torch.ones_like(s))
        u = u / s_safe
        v = v / s_safe
        zw = zw.clamp(-1, 1)
        n_pix = shape[0] * shape[1] * shape[2]
        rast = pos.new_zeros(n_pix, 4)
        rast[pix] = torch.stack([u, v, zw, (tid + 1).to(pos.dtype)], dim=1)
        rast_db = pos.new_zeros(n_pix, 4)
        rast_db[pix] = db
        ctx.save_for_backward(pos, vidx, pix, fx, fy)
        ctx.xs, ctx.ys, ctx.grad_db = xs, ys, grad_db
        return rast.view(*shape, 4), rast_db.view(*shape, 4)

    @staticmethod
    def backward(ctx, g_rast, g_db):
        pos, vidx, pix, fx, fy = ctx.saved_tensors
        grad_pos = None
        if ctx.needs_input_grad[0]:
            gu = g_rast.reshape(-1, 4)[pix, :2] if g_rast is not None else None
            gd = g_db.reshape(-1, 4)[pix] if (g_db is not None and ctx.grad_db) else None
            grad_flat = pos.new_zeros(pos.numel() // 4, 4)
            if gu is not None or gd is not None:
                with torch.enable_grad():
                    verts = pos.detach().reshape(-1, 4)[vidx].requires_grad_(True)
                    b0, b1, _, db = _shade(verts, fx, fy, ctx.xs, ctx.ys, eps=True)
                    total = verts.new_zeros(())
                    if gu is not None:
                        total = total + (b0 * gu[:, 0]).sum() + (b1 * gu[:, 1]).sum()
                    if gd is not None:
                        total = total + (db * gd).sum()
                    (gv,) = torch.autograd.grad(total, verts)
                gv = gv.clone()
                gv[..., 2] = 0.0  # nvdiffrast: no gradient to z
                grad_flat.index_add_(0, vidx.reshape(-1), gv.reshape(-1, 4))
            grad_pos = grad_flat.view_as(pos)
        return grad_pos, None, None, None, None, None, None, None, None, None


def rasterize_torch(
    pos: torch.Tensor,
    tri: torch.Tensor,
    resolution: tuple[int, int],
    ranges: torch.Tensor | None = None,
    grad_db: bool = True,
    *,
    tile_size: int = 32,
    max_fragments: int = 1 << 22,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rasterize triangles with nvdiffrast's semantics (see the module docstring).

    Inputs are assumed validated (``render.ops.rasterize`` does that).

    Args:
        pos: [B, V, 4] (instanced mode) or [V, 4] (range mode) float clip-space positions.
        tri: [F, 3] int32/int64 vertex indices.
        resolution: (H, W).
        ranges: range mode only: [B, 2] int (start, count) rows of ``tri`` drawn by item b.
        grad_db: propagate gradients of ``rast_db`` to ``pos`` in the backward pass.
        tile_size: largest side of the dense stamps the triangles' boxes are cut into.
        max_fragments: candidate fragments evaluated per chunk (bounds temporary memory).

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
        vidx_all = (tri[tri_id] + item[:, None] * n_vert) if n_tri else tri.new_zeros(0, 3)
    else:
        assert ranges is not None
        r = ranges.to(torch.int64).cpu()
        batch = r.shape[0]
        starts, counts = r[:, 0], r[:, 1]
        total = int(counts.sum())
        item = torch.repeat_interleave(torch.arange(batch), counts)
        offs = torch.cumsum(counts, 0) - counts
        tri_id = (
            (torch.arange(total) - offs[item] + starts[item]) if total else torch.zeros(0, dtype=torch.int64)
        )
        item, tri_id = item.to(device), tri_id.to(device)
        vidx_all = tri[tri_id]
    flat_pos = pos.detach().reshape(-1, 4)
    work_dtype = torch.float64 if pos.dtype == torch.float64 else torch.float32
    keys = _visible_triangles(
        flat_pos[vidx_all],
        item,
        tri_id,
        batch,
        height,
        width,
        work_dtype,
        tile_size,
        max_fragments,
    )
    pix = torch.nonzero(keys != _KEY_EMPTY).squeeze(1)
    tid = keys[pix] & 0xFFFFFFFF
    b = pix // (height * width)
    rem = pix % (height * width)
    py = rem // width
    px = rem % width
    fx = (2.0 * px.to(pos.dtype) + 1.0) / width - 1.0
    fy = (2.0 * py.to(pos.dtype) + 1.0) / height - 1.0
    vidx = tri[tid]
    if pos.dim() == 3:
        vidx = vidx + b[:, None] * pos.shape[1]
    return _RasterShade.apply(
        pos, vidx, pix, tid, fx, fy, (batch, height, width), 2.0 / width, 2.0 / height, grad_db
    )
