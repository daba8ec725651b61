"""Visibility pass of the pure-PyTorch rasterizer: which triangle is nearest at each pixel centre.

Method (vectorised; no per-pixel or per-triangle Python loops):

1. **Setup** (per triangle). With ``p_i' = (x_i - fx w_i, y_i - fy w_i)`` the edge functions
   ``a_0 = p_1' x p_2'`` (and cyclic) are affine in the pixel centre (fx, fy), and
   ``sum_i w_i a_i = det[x; y; w]`` is constant. Dividing by that determinant, a pixel centre is
   covered iff all three normalised edge functions are >= 0 (this also puts the hit point in
   front of the camera, w > 0) and the affine z/w lies in [-1, 1]: exactly the pixels that
   geometric clipping against the near and far planes keeps (x/y clipping is the image border).
   Triangles entirely outside a frustum plane or with a zero determinant are culled. The
   functions are expanded about the centre of the corner pixel of the triangle's box (the
   ``p_i'`` there, as nvdiffrast computes them at a pixel), which keeps float32 accurate.
2. **Boxes.** The screen box of the clipped polygon (the vertices inside the near/far slab plus
   the edge crossings of both planes), clipped to the image, cut into tiles of at most
   ``tile_size`` pixels per side.
3. **Spans.** Tiles are grouped by (padded) height; in each row of a tile the three edge
   half-planes (and, for triangles crossing the near/far planes, the two depth half-planes)
   bound X from below and above, which gives the exact span of covered pixel centres; the
   spans are expanded into one entry per covered pixel (``repeat_interleave``).
4. **Depth test.** Each fragment becomes an int64 key ``bits(float32(z/w + 1)) << 32 | entry``
   (non-negative floats order like their bit patterns) and one ``scatter_reduce('amin')`` per
   chunk keeps the nearest fragment per pixel; ties go to the lower entry (triangle).

Per-triangle data is kept as structure-of-arrays ``[K, N]`` tensors (contiguous rows).
"""

from __future__ import annotations

import math

import torch

__all__ = ["visible_triangles"]

_BBOX_MARGIN = 1e-3  # pixels; boxes are conservative by this much
_EMPTY = torch.iinfo(torch.int64).max


def _setup(v: torch.Tensor, height: int, width: int):
    """Per-triangle affine functions of the pixel indices and inclusive screen boxes.

    Args:
        v: [12, N] clip-space vertex data, rows x0 x1 x2 y0 y1 y2 z0 z1 z2 w0 w1 w2.

    Returns:
        coef: [12, N]: rows 0-3 the values at the box corner pixel of a0, a1, a2 (normalised
            edge functions) and z/w, rows 4-7 their d/dX (column index), rows 8-11 their d/dY.
        box: [4, N] int64 (x0, y0, x1, y1), inclusive and inside the image; x0 > x1 when empty.
        simple: [N] bool, all three vertices inside the near/far slab (so every covered point is).
    """
    n = v.shape[1]
    dev, dt = v.device, v.dtype
    xy = v[0:6].view(2, 3, n)
    z, w = v[6:9], v[9:12]
    front = w > 0
    simple = ((z.abs() <= w) & front).all(0)
    # screen box (pixel-index units): the projected vertices when all lie inside the near/far
    # slab, else the polygon clipped against both planes. Triangles outside an x/y frustum
    # plane get an empty box once it is clipped to the image; no separate culling is needed.
    half = torch.tensor([0.5 * width, 0.5 * height], device=dev, dtype=dt).view(2, 1, 1)
    proj = (xy / torch.where(front, w, 1.0)).mul_(half).add_(half - 0.5)  # [2, 3, N]
    lo, hi = proj.amin(1), proj.amax(1)  # [2, N]
    hard = torch.nonzero(~simple).squeeze(1)
    if hard.numel():
        xmin, ymin, xmax, ymax = _clipped_box(v.index_select(1, hard), height, width)
        lo[:, hard] = torch.stack([xmin, ymin])
        hi[:, hard] = torch.stack([xmax, ymax])
    lim = float(max(width, height) + 4)
    size = torch.tensor([width - 1.0, height - 1.0], device=dev, dtype=dt).view(2, 1)
    c0 = torch.ceil(lo.sub_(_BBOX_MARGIN).clamp_(-lim, lim)).clamp_(min=0.0)  # [2, N] box corner
    c1 = torch.minimum(torch.floor(hi.add_(_BBOX_MARGIN).clamp_(-lim, lim)), size)

    # edge functions a_i = p_j' x p_k' (p' = (x - fx w, y - fy w)) at the centre of the corner
    # pixel, and their derivatives per pixel step, normalised by det = sum_i w_i a_i
    ndc = (c0 * 2.0 + 1.0).div_(size + 1.0).sub_(1.0)  # [2, N]
    q = xy - ndc.unsqueeze(1) * w  # [2, 3, N]
    qx, qy = q[0], q[1]
    coef = torch.empty(12, n, dtype=dt, device=dev)
    for i, (j, k) in enumerate(((1, 2), (2, 0), (0, 1))):
        torch.mul(qx[j], qy[k], out=coef[i]).addcmul_(qy[j], qx[k], value=-1.0)
        torch.mul(qy[j], w[k], out=coef[4 + i]).addcmul_(w[j], qy[k], value=-1.0)
        torch.mul(w[j], qx[k], out=coef[8 + i]).addcmul_(qx[j], w[k], value=-1.0)
    det = (w * coef[0:3]).sum(0)
    # degenerate (zero area up to rounding, relative to the triangle's extent) triangles draw
    # nothing, as nvdiffrast drops triangles whose snapped area is 0
    extent = q.abs().sum((0, 1))
    eps = 1e-6 if dt != torch.float64 else 1e-13
    ok = (det.abs() > eps * extent * extent * w.abs().amax(0)) & torch.isfinite(det)
    inv = torch.where(ok, torch.where(ok, det, 1.0).reciprocal(), 0.0)
    coef[0:3] *= inv
    coef[4:7] *= inv * (2.0 / width)
    coef[8:11] *= inv * (2.0 / height)
    for r in (3, 7, 11):  # z/w = sum_i z_i a_i / det
        torch.mul(z[0], coef[r - 3], out=coef[r]).addcmul_(z[1], coef[r - 2]).addcmul_(z[2], coef[r - 1])
    box = torch.cat([c0, c1]).to(torch.int64)  # (x0, y0, x1, y1)
    box[2] = torch.where(ok, box[2], box[0] - 1)
    return coef, box, simple


def _clipped_box(v: torch.Tensor, height: int, width: int):
    """Screen box (pixel-index units) of triangles [12, n] clipped against the near/far planes."""
    verts = v.view(4, 3, -1).permute(2, 1, 0)  # [n, 3, 4]
    vj = verts[:, [1, 2, 0]]
    z, w = verts[..., 2], verts[..., 3]
    dn, df = z + w, w - z
    dnj, dfj = dn[:, [1, 2, 0]], df[:, [1, 2, 0]]
    inside = (dn >= 0) & (df >= 0)
    t_near = (dn / torch.where(dn == dnj, 1.0, dn - dnj)).clamp(0, 1)
    q_near = verts + t_near.unsqueeze(-1) * (vj - verts)
    ok_near = (dn * dnj < 0) & (q_near[..., 3] - q_near[..., 2] >= 0)
    t_far = (df / torch.where(df == dfj, 1.0, df - dfj)).clamp(0, 1)
    q_far = verts + t_far.unsqueeze(-1) * (vj - verts)
    ok_far = (df * dfj < 0) & (q_far[..., 2] + q_far[..., 3] >= 0)
    pts = torch.cat([verts, q_near, q_far], dim=1)  # [n, 9, 4]
    ok = torch.cat([inside, ok_near, ok_far], dim=1)  # [n, 9]
    pw = pts[..., 3]
    unbounded = (ok & (pw <= 0)).any(1)  # a clipped vertex at w = 0: box = whole image
    good = ok & (pw > 0)
    pws = torch.where(good, pw, 1.0)
    big = float(max(width, height) + 10)
    px = ((pts[..., 0] / pws + 1.0) * (0.5 * width) - 0.5).clamp(-big, big)
    py = ((pts[..., 1] / pws + 1.0) * (0.5 * height) - 0.5).clamp(-big, big)
    xmin = torch.where(good, px, big).amin(1)
    xmax = torch.where(good, px, -big).amax(1)
    ymin = torch.where(good, py, big).amin(1)
    ymax = torch.where(good, py, -big).amax(1)
    xmin = torch.where(unbounded, 0.0, xmin)
    ymin = torch.where(unbounded, 0.0, ymin)
    xmax = torch.where(unbounded, width - 1.0, xmax)
    ymax = torch.where(unbounded, height - 1.0, ymax)
    return xmin, ymin, xmax, ymax


def _tiles(box: torch.Tensor, tile: int):
    """Cut inclusive boxes [4, N] into tiles of at most ``tile`` pixels per side.

    Returns (owner, dx, dy, w, h), each [P], for the non-empty tiles; (dx, dy) is the tile's
    corner relative to its box's corner.
    """
    x0, y0, x1, y1 = box.unbind(0)
    bw = (x1 - x0 + 1).clamp(min=0)
    bh = (y1 - y0 + 1).clamp(min=0)
    if bool(((bw <= tile) & (bh <= tile)).all()):
        keep = torch.nonzero(bw).squeeze(1)
        zero = torch.zeros_like(keep)
        return keep, zero, zero, bw.index_select(0, keep), bh.index_select(0, keep)
    nx = (bw + tile - 1) // tile
    ny = (bh + tile - 1) // tile
    count = nx * ny
    owner = torch.repeat_interleave(torch.arange(box.shape[1], device=box.device), count)
    first = torch.cumsum(count, 0) - count
    local = torch.arange(owner.shape[0], device=box.device) - first.index_select(0, owner)
    nxo = nx.index_select(0, owner)
    dx = (local % nxo) * tile
    dy = (local // nxo) * tile
    tw = (bw.index_select(0, owner) - dx).clamp(max=tile)
    th = (bh.index_select(0, owner) - dy).clamp(max=tile)
    return owner, dx, dy, tw, th


_ROW_CLASSES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)


def visible_triangles(
    verts: torch.Tensor,
    item: torch.Tensor,
    batch: int,
    height: int,
    width: int,
    tile_size: int,
    max_fragments: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Nearest covering triangle at every pixel centre.

    Args:
        verts: [12, N] clip-space data (rows x0 x1 x2 y0 y1 y2 z0 z1 z2 w0 w1 w2) of every
            (minibatch item, triangle) pair to draw, ordered by triangle within each item (ties
            in depth go to the lower entry); float32 or float64 (the working precision).
        item: [N] int64 minibatch index of each pair.

    Returns:
        pix: [n] int64 flat indices (into B * H * W) of the covered pixels, ascending.
        entry: [n] int64 index (into N) of the pair seen at each of them.
        coef: [12, N] affine functions (see :func:`_setup`) about ``corner``.
        corner: [2, N] int64 (X, Y) pixel the functions are expanded about.
    """
    device = verts.device
    keys = torch.full((batch * height * width,), _EMPTY, dtype=torch.int64, device=device)
    coef, box, simple = _setup(verts, height, width)
    owner, dx, dy, tw, th = _tiles(box, tile_size)
    if owner.numel():
        pc = coef.index_select(1, owner)
        if bool((dx > 0).any() or (dy > 0).any()):
            dxf, dyf = dx.to(pc.dtype), dy.to(pc.dtype)
            pc[0:4] += pc[4:8] * dxf + pc[8:12] * dyf
        corner = box[:2].index_select(1, owner)
        base = item.index_select(0, owner) * (height * width) + (corner[1] + dy) * width + corner[0] + dx
        hard = ~simple.index_select(0, owner)
        # group tiles by padded height; spans make the width exact
        cls = torch.searchsorted(torch.tensor(_ROW_CLASSES, device=device), th)
        order = torch.argsort(cls)
        counts = torch.bincount(cls, minlength=len(_ROW_CLASSES)).tolist()
        start = 0
        for c, cnt in enumerate(counts):
            if not cnt:
                continue
            sel = order[start : start + cnt]
            start += cnt
            kh = _ROW_CLASSES[c]
            chunk = max(1, max_fragments // (kh * tile_size))
            for lo in range(0, sel.shape[0], chunk):
                idx = sel[lo : lo + chunk]
                _spans(keys, idx, owner, kh, pc, tw, th, base, hard, width)
    pix = torch.nonzero(keys != _EMPTY).squeeze(1)
    entry = keys.index_select(0, pix) & 0xFFFFFFFF
    return pix, entry, coef, box[:2]


def _spans(keys, idx, owner, kh, pc, tw, th, base, hard, width):
    """Rasterize tiles ``idx`` (at most ``kh`` rows each) as exact row spans into ``keys``.

    In row Y of a tile, each half-plane ``c + gx X + gy Y >= 0`` (the three normalised edge
    functions, and for triangles crossing the near/far planes ``1 -+ z/w >= 0``) bounds X from
    below (gx > 0) or above (gx < 0); the covered pixels of the row are the integers between
    the largest lower and the smallest upper bound, clipped to the tile.
    """
    dtype = pc.dtype
    cf = pc.index_select(1, idx).unsqueeze(2)  # [12, n, 1]
    sy = torch.arange(kh, device=keys.device, dtype=dtype)
    n = idx.shape[0]
    lo = torch.zeros(n, kh, dtype=dtype, device=keys.device)
    hi = (tw.index_select(0, idx) - 1).to(dtype).unsqueeze(1).expand(n, kh).clone()
    planes = [(cf[i], cf[4 + i], cf[8 + i]) for i in range(3)]
    if bool(hard.index_select(0, idx).any()):
        planes += [(1.0 - cf[3], -cf[7], -cf[11]), (1.0 + cf[3], cf[7], cf[11])]
    for c0, gx, gy in planes:
        # a (nearly) row-constant plane keeps the whole row when c >= 0 and nothing otherwise
        gx = torch.where(gx.abs() < 1e-20, 1e-20, gx)
        bound = torch.addcmul(c0, gy, sy).mul_(-1.0 / gx)  # [n, kh]: where the plane crosses the row
        rising = gx > 0
        torch.maximum(lo, torch.where(rising, bound, -math.inf), out=lo)
        torch.minimum(hi, torch.where(rising, math.inf, bound), out=hi)
    x0 = torch.ceil(lo.clamp_(max=1e9))
    count = (torch.floor(hi.clamp_(min=-1e9)) - x0 + 1.0).clamp_(min=0.0)
    count.masked_fill_(sy >= th.index_select(0, idx).unsqueeze(1).to(dtype), 0.0)
    count = count.view(-1).to(torch.int64)
    total = int(count.sum())
    if not total:
        return
    # one entry per covered pixel: row r holds local X = x0[r] .. x0[r] + count[r] - 1, i.e.
    # X = k - first[r] for the running index k of the entry
    first = (torch.cumsum(count, 0) - count - x0.view(-1).to(torch.int64)).view(n, kh)
    t_row = idx.unsqueeze(1)
    ly = torch.arange(kh, device=keys.device)
    row_pix = (base.index_select(0, idx).unsqueeze(1) + ly * width - first).view(-1)
    gxd = cf[7].to(torch.float64)  # [n, 1]
    row_d = (torch.addcmul(cf[3], cf[11], sy).to(torch.float64) - gxd * first.to(torch.float64)).view(-1)
    row_g = gxd.expand(n, kh).reshape(-1)
    row_id = owner.index_select(0, t_row.expand(n, kh).reshape(-1))
    row = torch.repeat_interleave(torch.arange(n * kh, device=keys.device), count, output_size=total)
    k = torch.arange(total, device=keys.device)
    pix = row_pix.index_select(0, row) + k
    d = torch.addcmul(row_d.index_select(0, row), row_g.index_select(0, row), k.to(torch.float64))
    d = d.to(torch.float32).clamp_(-1.0, 1.0).add_(1.0)  # in [0, 2]: its float bits order like it
    key = (d.view(torch.int32).to(torch.int64) << 32) | row_id.index_select(0, row)
    keys.scatter_reduce_(0, pix, key, reduce="amin")
