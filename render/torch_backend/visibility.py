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
3. **Spans.** For every tile, the X where each of its half-planes (the three edge functions
   and, for triangles crossing the near/far planes, the two depth planes) crosses a row is
   affine in the row index; tabulated once per tile, it gives the exact span of covered pixel
   centres of every tile row (all rows of a group of tiles at once); the spans are expanded
   into one fragment per covered pixel (``repeat_interleave``) in chunks.
4. **Depth test.** Each fragment becomes an int64 key ``bits(float32(z/w + 1)) << 32 | entry``
   (non-negative floats order like their bit patterns) and one ``scatter_reduce('amin')`` per
   chunk keeps the nearest fragment per pixel; ties go to the lower entry (triangle). The low
   half of the key buffer is then the dense entry map (empty pixels hold the sentinel N).

Per-triangle data is kept as structure-of-arrays ``[K, N]`` tensors (contiguous rows); columns
are gathered one row at a time (``index_select`` along dim 1 is about 10x slower). Temporaries
are kept to about 1 MiB (row groups, fragment chunks): larger ones are mapped afresh by the C
allocator on every call and cost a page fault per 4 KiB.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from render.torch_backend.alloc import empty_output

__all__ = ["gather_cols", "visible_triangles"]

_BBOX_MARGIN = 1e-3  # pixels; boxes are conservative by this much


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


def gather_cols(table: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``table[:, idx]`` as a contiguous [K, n] tensor, one 1-D gather per row.

    (``index_select`` along dim 1 of a row-major table is an order of magnitude slower.)
    """
    out = table.new_empty(table.shape[0], idx.shape[0])
    for k in range(table.shape[0]):
        torch.index_select(table[k], 0, idx, out=out[k])
    return out


def visible_triangles(
    verts: torch.Tensor,
    item: torch.Tensor,
    batch: int,
    height: int,
    width: int,
    tile_size: int,
    max_fragments: int,
    frag: Callable | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Nearest covering triangle at every pixel centre.

    Args:
        verts: [12, N] clip-space data (rows x0 x1 x2 y0 y1 y2 z0 z1 z2 w0 w1 w2) of every
            (minibatch item, triangle) pair to draw, ordered by triangle within each item (ties
            in depth go to the lower entry); float32 or float64 (the working precision).
        item: [N] int64 minibatch index of each pair.
        frag: compiled :func:`render.torch_backend.compiled.fragment_keys`, or None (eager).

    Returns:
        entry: [B * H * W] int64 index (into N) of the pair seen at each pixel, N where none is.
        coef: [12, N] affine functions (see :func:`_setup`) about ``corner``.
        corner: [2, N] int64 (X, Y) pixel the functions are expanded about.
    """
    n_entry = verts.shape[1]
    if n_entry >= 1 << 32:
        raise ValueError(f"at most 2**32 - 1 (item, triangle) pairs can be drawn at once, got {n_entry}")
    device = verts.device
    # empty pixels: larger than every fragment key, and its low half is the sentinel entry N
    keys = empty_output((batch * height * width,), torch.int64, device).fill_((0x7FFFFFFF << 32) | n_entry)
    coef, box, simple = _setup(verts, height, width)
    owner, dx, dy, tw, th = _tiles(box, tile_size)
    if owner.numel():
        pc = gather_cols(coef, owner)
        if bool((dx > 0).any() or (dy > 0).any()):
            dxf, dyf = dx.to(pc.dtype), dy.to(pc.dtype)
            pc[0:4] += pc[4:8] * dxf + pc[8:12] * dyf
        base = (
            item.index_select(0, owner) * (height * width)
            + (box[1].index_select(0, owner) + dy) * width
            + box[0].index_select(0, owner)
            + dx
        )
        bounds = _row_bounds(pc, ~simple.index_select(0, owner))
        # groups of whole tiles of about _GROUP_ROWS rows (at most max_fragments; a tile has at
        # most tile_size rows)
        edges = _cuts(torch.cumsum(th, 0), min(max_fragments, _GROUP_ROWS))
        for t0, t1 in zip(edges[:-1], edges[1:], strict=True):
            if t1 > t0:
                sl = slice(t0, t1)
                _spans(
                    keys,
                    owner[sl],
                    pc[:, sl],
                    bounds[:, sl],
                    tw[sl],
                    th[sl],
                    base[sl],
                    width,
                    max_fragments,
                    frag,
                )
    return keys.bitwise_and_(0xFFFFFFFF), coef, box[:2]


def _row_bounds(pc: torch.Tensor, hard: torch.Tensor) -> torch.Tensor:
    """Per tile and half-plane, the X where the plane crosses row Y as ``c + g Y``.

    Each half-plane ``c + gx X + gy Y >= 0`` (the three normalised edge functions, and for
    triangles crossing the near/far planes ``1 -+ z/w >= 0``) bounds X from below (gx > 0) or
    above (gx < 0) at ``-(c + gy Y) / gx``; a (nearly) row-constant plane keeps the whole row
    when c >= 0 and nothing otherwise.

    Args:
        pc: [12, T] affine functions of each tile about its corner; hard: [T] near/far crossing.

    Returns:
        [4, T, P] rows (lower c, lower g, upper c, upper g) for P = 3 or 5 planes; a plane that
        does not bound a side has c = -inf (lower) or +inf (upper) and g = 0 there.
    """
    planes = [(pc[i], pc[4 + i], pc[8 + i]) for i in range(3)]
    if bool(hard.any()):
        planes += [(1.0 - pc[3], -pc[7], -pc[11]), (1.0 + pc[3], pc[7], pc[11])]
    out = pc.new_empty(4, pc.shape[1], len(planes))
    for k, (c, gx, gy) in enumerate(planes):
        gx = torch.where(gx.abs() < 1e-20, 1e-20, gx)
        inv = -1.0 / gx
        bc, bg = c * inv, gy * inv
        rising = gx > 0
        if k >= 3:
            rising_lo, rising_hi = rising & hard, ~rising & hard
        else:
            rising_lo, rising_hi = rising, ~rising
        out[0, :, k] = torch.where(rising_lo, bc, -math.inf)
        out[1, :, k] = torch.where(rising_lo, bg, 0.0)
        out[2, :, k] = torch.where(rising_hi, bc, math.inf)
        out[3, :, k] = torch.where(rising_hi, bg, 0.0)
    return out


def _spans(keys, owner, pc, bounds, tw, th, base, width, max_fragments, frag):
    """Rasterize tiles as exact row spans into ``keys``.

    The covered pixels of a tile row are the integers between the largest lower and the
    smallest upper bound of :func:`_row_bounds`, clipped to the tile. All rows of the tiles are
    handled at once; their fragments are expanded in chunks of about ``max_fragments``.

    Args:
        owner, tw, th, base: [T] entry, width, height and first flat pixel of each tile;
        pc: [12, T] its affine functions about its corner; bounds: [4, T, P] its row bounds.
        frag: compiled :func:`render.torch_backend.compiled.fragment_keys`, or None (eager).
    """
    device, dtype = keys.device, pc.dtype
    n_tiles = owner.shape[0]
    tile = torch.repeat_interleave(torch.arange(n_tiles, device=device), th)  # [R] tile of each row
    n_rows = tile.shape[0]
    y = torch.arange(n_rows, device=device) - (torch.cumsum(th, 0) - th).index_select(0, tile)
    yf = y.to(dtype).unsqueeze(1)
    lo = torch.addcmul(bounds[0].index_select(0, tile), bounds[1].index_select(0, tile), yf)
    lo = lo.amax(1).clamp_(0.0, 1e9)
    hi = torch.addcmul(bounds[2].index_select(0, tile), bounds[3].index_select(0, tile), yf).amin(1)
    hi = torch.minimum(hi, (tw - 1).to(dtype).index_select(0, tile))
    x0 = torch.ceil(lo)
    count = (torch.floor(hi) - x0).add_(1.0).clamp_(min=0.0).to(torch.int64)
    end = torch.cumsum(count, 0)
    total = int(end[-1])
    if not total:
        return
    # fragment K (running index over the rows' fragments) of row r is at local X = K - first[r]
    first = (end - count).sub_(x0.to(torch.int64))
    row_pix = (base.index_select(0, tile) + y * width).sub_(first)
    gz = pc[7].to(torch.float64).index_select(0, tile)
    z0 = torch.addcmul(pc[3].index_select(0, tile), pc[11].index_select(0, tile), yf.squeeze(1))
    row_d = z0.to(torch.float64).sub_(gz * first.to(torch.float64))
    row_id = owner.index_select(0, tile)
    # compiled keys need no temporaries: one chunk of at most max_fragments
    edges = _cuts(end, max_fragments if frag is not None else min(max_fragments, _CHUNK_FRAGMENTS))
    at = torch.tensor(edges[1:], device=device)
    ends = [0, *torch.where(at > 0, end.index_select(0, (at - 1).clamp_(min=0)), 0).tolist()]
    for r0, r1, k0, k1 in zip(edges[:-1], edges[1:], ends[:-1], ends[1:], strict=True):
        if k1 == k0:
            continue
        row = torch.repeat_interleave(torch.arange(r0, r1, device=device), count[r0:r1], output_size=k1 - k0)
        if frag is not None:
            pix, key = frag(row_pix, gz, row_d, row_id, row, k0)
        else:
            k = torch.arange(k0, k1, device=device)
            pix = row_pix.index_select(0, row).add_(k)
            d = gz.index_select(0, row).mul_(k.to(torch.float64)).add_(row_d.index_select(0, row))
            d = d.to(torch.float32).clamp_(-1.0, 1.0).add_(1.0)  # in [0, 2]: its float bits order like it
            key = d.view(torch.int32).to(torch.int64).bitwise_left_shift_(32)
            key.bitwise_or_(row_id.index_select(0, row))
        keys.scatter_reduce_(0, pix, key, reduce="amin")


# Work sizes: temporaries of at most about 1 MiB are served again from the allocator's free
# lists, larger ones are mapped afresh (a page fault per 4 KiB) on every call.
_GROUP_ROWS = 1 << 16
_CHUNK_FRAGMENTS = 1 << 17


def _cuts(cum: torch.Tensor, limit: int) -> list[int]:
    """Split points [0, ..., n] of n items with inclusive running totals ``cum`` into runs whose
    totals exceed ``limit`` by less than one item (runs may be empty)."""
    n = cum.shape[0]
    total = int(cum[-1])
    if total <= limit:
        return [0, n]
    marks = torch.arange(limit, total, limit, device=cum.device, dtype=cum.dtype)
    return [0, *torch.searchsorted(cum, marks, right=True).tolist(), n]
