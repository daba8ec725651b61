"""nvdiffrast's ``antialias`` in pure PyTorch: silhouette analysis, blend and gradients.

The op is the only source of visibility gradients for vertex positions (a mask from
``rast[..., 3] > 0`` alone has none). It follows nvdiffrast's ``antialias.cu`` exactly:

1. **Pairs.** Every horizontally adjacent pixel pair ``(x, y), (x + 1, y)`` and every vertically
   adjacent pair ``(x, y), (x, y + 1)`` (memory rows, i.e. +1 in NDC y) whose triangle ids
   ``rast[..., 3]`` differ is a work item. Background is id 0; nothing pairs across the image
   border.
2. **Triangle.** The item uses the triangle of the pixel with the smaller ``z/w``
   (``rast[..., 2]``); when one pixel is background, the other pixel's triangle. Its geometry is
   expressed relative to the centre of that pixel (``ds = +1`` when it is the first pixel of the
   pair, ``-1`` when it is the second).
3. **Silhouette edges.** Vertices go to pixel space, ``x_pix = x / w * W / 2`` about the image
   centre. An edge of the triangle is a silhouette when the vertex opposite to it in the
   neighbouring triangle (found through the topology, see :func:`antialias_construct_topology_hash_torch`)
   lies on the same side of the edge as the triangle's own third vertex (a fold: the neighbour
   faces the other way on screen), or when the edge has no neighbour (boundary edge).
4. **Crossing.** Along the line through the chosen pixel centre (the x axis for horizontal
   pairs, the y axis for vertical pairs, handled by swapping x and y), the edge crossing farthest
   towards the other pixel is taken. If it is a silhouette edge, is at least as steep as it is
   wide (``|dy| >= |dx|`` in the swapped frame), and crosses at ``dc`` (in pixels from the
   chosen centre towards the other one) with ``-1/16 < dc < 1 + 1/16``, then ``dc`` is clamped to
   ``[0, 1]`` and ``alpha = ds * (0.5 - dc)``.
5. **Blend.** ``out[p] += alpha * (color[q1] - color[q0])`` where ``q0, q1`` are the pair's first
   and second pixels and ``p`` is ``q0`` when ``alpha > 0``, else ``q1``. Everything else is
   copied from ``color``; several items may add to one pixel.

Gradients (a custom autograd function reproducing nvdiffrast's backward kernel):

* to ``color``: the exact transpose of the blend;
* to ``pos``: only the x, y and w of the two vertices of each item's silhouette edge, through
  ``dc``; none when ``|alpha| >= 0.5`` (saturated); the crossing slope uses nvdiffrast's
  ``1 / (dy + copysign(1e-3, dy))``; everything is multiplied by ``pos_gradient_boost``;
* none to ``rast``, ``tri``, ``pos.z``.

Cost: pairs are found with two vectorised comparisons; pairs whose triangle cannot have a
silhouette edge (every wing clearly folds the other way, checked once per face with a
rounding-error margin) are culled before the exact per-pair analysis, which therefore runs only
near silhouettes. No per-pixel or per-triangle Python loops.

Shapes: ``color[B, H, W, C]``, ``rast[B, H, W, 4]``, ``pos[B, V, 4]`` (instanced mode, one vertex
set per image) or ``pos[V, 4]`` (range mode: triangle ids in ``rast`` are global rows of ``tri``),
``tri[F, 3]`` integer. Floating dtypes are kept; geometry is evaluated in at least float32.
Works on any device (the data's).

Differences from nvdiffrast, all deliberate and documented:

* nvdiffrast's hash keeps, per undirected edge, the first two *distinct* opposite vertices in
  the order its GPU threads happen to insert them; here "first" means lowest face index (then
  edge order), which makes non-manifold edges deterministic. Manifold meshes are unaffected.
* ``tri`` with zero faces is accepted (nvdiffrast raises); ``rast`` then holds no triangles and
  the output equals ``color``.
* Pixels whose triangle id is out of range for ``tri`` are skipped, as nvdiffrast does; vertex
  indices outside ``[0, V)`` raise ``ValueError`` instead of being skipped.

The module is slightly over the house limit of about 500 lines because the forward pass and its
hand-written backward share the per-item geometry and must change together; the topology lives
apart in ``aa_topology``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from render.torch_backend.aa_topology import (
    AntialiasTopology,
    antialias_construct_topology_hash_torch,
    check_tri,
)
from render.torch_backend.aa_topology import take_rows as _take

__all__ = [
    "AntialiasTopology",
    "antialias_construct_topology_hash_torch",
    "antialias_torch",
]

_F32_MAX = 3.402823466e38
_EPS_CROSSING = 0.0625  # nvdiffrast expects no more than 1/16 pixel of inaccuracy
_EPS_SLOPE = 1e-3  # ~1/1000 pixel, added to the edge's dy in the backward pass


def _rot(x: Tensor, shift: int) -> Tensor:
    """Columns ``(k + shift) % 3`` of an ``[N, 3]`` tensor (``roll(-shift, 1)`` without a concat)."""
    perm = torch.tensor([shift % 3, (shift + 1) % 3, (shift + 2) % 3], device=x.device)
    return x.index_select(1, perm)


def _pick(x: Tensor, col: Tensor) -> Tensor:
    """``x[n, col[n]]`` for an ``[N, 3]`` tensor."""
    flat = torch.arange(x.shape[0], device=x.device) * 3 + col
    return x.reshape(-1).index_select(0, flat)


def _same_sign(a: Tensor, b: Tensor) -> Tensor:
    """nvdiffrast's ``same_sign``: equal IEEE sign bits (so ``+0`` and ``-0`` differ)."""
    return torch.signbit(a) == torch.signbit(b)


def _rational_gt(n0: Tensor, n1: Tensor, d0: Tensor, d1: Tensor) -> Tensor:
    """``n0 / d0 > n1 / d1`` without division, as nvdiffrast evaluates it."""
    return (n0 * d1 > n1 * d0) == _same_sign(d0, d1)


def _max_idx3(n: Tensor, d: Tensor) -> Tensor:
    """Index of the largest ``n[:, k] / d[:, k]`` with nvdiffrast's tie rules. ``[N, 3] -> [N]``."""
    n0, n1, n2 = n.unbind(1)
    d0, d1, d2 = d.unbind(1)
    g10 = _rational_gt(n1, n0, d1, d0)
    g20 = _rational_gt(n2, n0, d2, d0)
    g21 = _rational_gt(n2, n1, d2, d1)
    return torch.where(g20 & g21, 2, torch.where(g10, 1, 0))


@dataclass(frozen=True)
class _Items:
    """The work items that modify the image (the forward pass's record for backward)."""

    pix0: Tensor  # [N] flat index of the pair's first pixel
    pix1: Tensor  # [N] flat index of the pair's second pixel
    alpha: Tensor  # [N] blend weight (geometry dtype)
    vert1: Tensor  # [N] flat (instance-offset) index of the silhouette edge's first vertex
    vert2: Tensor  # [N] flat index of its second vertex
    cx: Tensor  # [N] x of the pixel whose triangle was used (int64)
    cy: Tensor  # [N] y of that pixel
    down: Tensor  # [N] bool: vertical pair


def _silhouette_candidates(
    pos_flat: Tensor,
    tri: Tensor,
    opposite: Tensor,
    num_vertices: int,
    instance_mode: bool,
    width: int,
    height: int,
) -> Tensor:
    """Faces that may have a silhouette edge: ``[B * F]`` (instanced) or ``[F]`` bool.

    The exact per-pair test evaluates orientations in coordinates relative to a pixel centre;
    here they are evaluated once per face in absolute pixel coordinates and a face is culled only
    when every wing is opposite to the face by more than a rounding-error bound, so culling never
    changes a result. Non-finite geometry is always kept.
    """
    gdt = pos_flat.dtype
    iw = 1.0 / pos_flat[:, 3]
    xv = pos_flat[:, 0] * iw * (0.5 * width)
    yv = pos_flat[:, 1] * iw * (0.5 * height)
    vi = tri
    op = opposite
    if instance_mode:
        batch = pos_flat.shape[0] // num_vertices
        base = (torch.arange(batch, device=tri.device) * num_vertices)[:, None, None]
        vi = (tri[None] + base).reshape(-1, 3)
        op = torch.where(opposite[None] >= 0, opposite[None] + base, -1).reshape(-1, 3)
    x = _take(xv, vi)
    y = _take(yv, vi)
    wing_idx = torch.where(op >= 0, op, vi)  # no neighbour: the face's own vertex
    ox = _take(xv, wing_idx)
    oy = _take(yv, wing_idx)
    xj, xl = _rot(x, 1), _rot(x, 2)
    yj, yl = _rot(y, 1), _rot(y, 2)
    bx1, by1 = x[:, 1] - x[:, 0], y[:, 1] - y[:, 0]
    bx2, by2 = x[:, 2] - x[:, 0], y[:, 2] - y[:, 0]
    bb = bx1 * by2 - bx2 * by1
    ax1, ay1 = xj - ox, yj - oy
    ax2, ay2 = xl - ox, yl - oy
    wing = ax1 * ay2 - ax2 * ay1
    # Rounding bound: coordinates up to `mag` carry errors ~eps * mag in either frame.
    eps = torch.finfo(gdt).eps
    mag = torch.maximum(
        torch.maximum(x.abs().amax(1), y.abs().amax(1)), torch.maximum(ox.abs().amax(1), oy.abs().amax(1))
    ) + float(max(width, height))
    tol_bb = 16 * eps * mag * (bx1.abs() + by1.abs() + bx2.abs() + by2.abs())
    tol_wing = 16 * eps * mag[:, None] * (ax1.abs() + ay1.abs() + ax2.abs() + ay2.abs())
    maybe = (_same_sign(wing, bb[:, None]) | (wing.abs() <= tol_wing)).any(dim=1) | (bb.abs() <= tol_bb)
    finite = torch.isfinite(bb) & torch.isfinite(wing).all(dim=1)
    return maybe | ~finite


def _analyse(
    rast: Tensor, pos_flat: Tensor, tri: Tensor, opposite: Tensor, num_vertices: int, instance_mode: bool
) -> _Items:
    """Find the pixel pairs that nvdiffrast's analysis kernel blends, with their alphas."""
    height, width = rast.shape[1], rast.shape[2]
    gdt = pos_flat.dtype
    tid = rast[..., 3]
    zw = rast[..., 2].reshape(-1)
    tid_flat = tid.reshape(-1)

    hb, hy, hx = torch.nonzero(tid[:, :, :-1] != tid[:, :, 1:], as_tuple=True)
    vb, vy, vx = torch.nonzero(tid[:, :-1, :] != tid[:, 1:, :], as_tuple=True)
    pb = torch.cat([hb, vb])
    px = torch.cat([hx, vx])
    py = torch.cat([hy, vy])
    down = torch.cat([torch.zeros_like(hb, dtype=torch.bool), torch.ones_like(vb, dtype=torch.bool)])
    pix0 = (pb * height + py) * width + px
    pix1 = pix0 + torch.where(down, width, 1)

    tri0 = _take(tid_flat, pix0).long() - 1
    tri1 = _take(tid_flat, pix1).long() - 1
    chosen = torch.where(tri0 >= 0, tri0, tri1)
    both = (tri0 >= 0) & (tri1 >= 0)
    chosen = torch.where(both, torch.where(_take(zw, pix0) < _take(zw, pix1), tri0, tri1), chosen)
    use1 = chosen == tri1
    cx = px + (use1 & ~down).long()
    cy = py + (use1 & down).long()

    num_faces = tri.shape[0]
    valid = (chosen >= 0) & (chosen < num_faces)
    # Cheap cull: pairs whose triangle has no (possible) silhouette edge cannot blend.
    candidates = _silhouette_candidates(pos_flat, tri, opposite, num_vertices, instance_mode, width, height)
    face = chosen.clamp(0, num_faces - 1)
    if instance_mode:
        face = face + pb * num_faces
    valid &= _take(candidates, face)
    keep = torch.nonzero(valid).squeeze(1)
    pix0, pix1, pb, cx, cy, down, chosen, use1 = (
        _take(v, keep) for v in (pix0, pix1, pb, cx, cy, down, chosen, use1)
    )

    vi = _take(tri, chosen)  # [N, 3]
    op = _take(opposite, chosen)  # [N, 3]
    if instance_mode:
        vbase = (pb * num_vertices)[:, None]
        vi = vi + vbase
        op = torch.where(op >= 0, op + vbase, op)
    pv = _take(pos_flat, vi)  # [N, 3, 4]
    ov = _take(pos_flat, torch.where(op >= 0, op, vi))

    xh = 0.5 * width
    yh = 0.5 * height
    fx = (cx.to(gdt) + 0.5 - xh)[:, None]
    fy = (cy.to(gdt) + 0.5 - yh)[:, None]
    iw = 1.0 / pv[..., 3]
    oiw = 1.0 / ov[..., 3]
    x = pv[..., 0] * iw * xh - fx  # [N, 3]
    y = pv[..., 1] * iw * yh - fy
    ox = ov[..., 0] * oiw * xh - fx
    oy = ov[..., 1] * oiw * yh - fy

    # Orientation of the triangle itself and of each "wing" (corner k replaced by the vertex
    # across edge k). Same sign => the neighbour folds over the edge => silhouette.
    xj, xl = _rot(x, 1), _rot(x, 2)
    yj, yl = _rot(y, 1), _rot(y, 2)
    bb = (x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0]) - (x[:, 2] - x[:, 0]) * (y[:, 1] - y[:, 0])
    wing = (xj - ox) * (yl - oy) - (xl - ox) * (yj - oy)
    silhouette = _same_sign(wing, bb[:, None])  # [N, 3]

    # Swap x and y for vertical pairs, so the pair always lies along +x.
    dcol = down[:, None]
    xs = torch.where(dcol, y, x)
    ys = torch.where(dcol, x, y)
    xsj, xsl = _rot(xs, 1), _rot(xs, 2)
    ysj, ysl = _rot(ys, 1), _rot(ys, 2)
    dx = xsl - xsj
    dy = ysl - ysj
    ds = torch.where(use1, -1.0, 1.0).to(gdt)
    dnum = ds[:, None] * (xsj * dy - ysj * dx)
    no_cross = _same_sign(ysj, ysl)
    dnum = torch.where(no_cross, torch.full_like(dnum, -_F32_MAX), dnum)
    dy = torch.where(no_cross, torch.ones_like(dy), dy)

    di = _max_idx3(dnum, dy)
    s_num = _pick(dnum, di)
    s_dy = _pick(dy, di)
    s_dx = _pick(dx, di)
    s_sil = _pick(silhouette, di)
    ok = s_sil & (s_dy.abs() >= s_dx.abs())
    dc = torch.where(ok, s_num / s_dy, torch.full_like(s_num, -_F32_MAX))
    hit = (dc > -_EPS_CROSSING) & (dc < 1.0 + _EPS_CROSSING)
    dc = dc.clamp(0.0, 1.0)
    alpha = ds * (0.5 - dc)

    # The silhouette edge's vertices: corners di+1 and di+2.
    cycle = torch.tensor([1, 2, 0, 1], device=di.device)
    i1 = cycle.index_select(0, di)
    i2 = cycle.index_select(0, di + 1)
    vert1 = _pick(vi, i1)
    vert2 = _pick(vi, i2)
    sel_hit = torch.nonzero(hit).squeeze(1)
    return _Items(
        pix0=_take(pix0, sel_hit),
        pix1=_take(pix1, sel_hit),
        alpha=_take(alpha, sel_hit),
        vert1=_take(vert1, sel_hit),
        vert2=_take(vert2, sel_hit),
        cx=_take(cx, sel_hit),
        cy=_take(cy, sel_hit),
        down=_take(down, sel_hit),
    )


def _position_gradient(
    items: _Items, pos_flat: Tensor, dd: Tensor, width: int, height: int
) -> tuple[Tensor, Tensor]:
    """nvdiffrast's per-item gradient of the loss w.r.t. the edge vertices. Returns 2 x ``[N, 4]``."""
    gdt = pos_flat.dtype
    down = items.down
    p1 = _take(pos_flat, items.vert1)
    p2 = _take(pos_flat, items.vert2)
    xh = torch.where(down, 0.5 * height, 0.5 * width).to(gdt)
    yh = torch.where(down, 0.5 * width, 0.5 * height).to(gdt)
    fx0 = items.cx.to(gdt) + 0.5 - 0.5 * width
    fy0 = items.cy.to(gdt) + 0.5 - 0.5 * height
    fx = torch.where(down, fy0, fx0)
    fy = torch.where(down, fx0, fy0)
    p1x = torch.where(down, p1[:, 1], p1[:, 0])
    p1y = torch.where(down, p1[:, 0], p1[:, 1])
    p2x = torch.where(down, p2[:, 1], p2[:, 0])
    p2y = torch.where(down, p2[:, 0], p2[:, 1])

    w1 = 1.0 / p1[:, 3]
    w2 = 1.0 / p2[:, 3]
    x1 = p1x * w1 * xh - fx
    y1 = p1y * w1 * yh - fy
    x2 = p2x * w2 * xh - fx
    y2 = p2y * w2 * yh - fy
    dx = x2 - x1
    dy = y2 - y1
    db = x1 * dy - y1 * dx
    ep = torch.copysign(torch.full_like(dy, _EPS_SLOPE), dy)
    iy = 1.0 / (dy + ep)
    dby = db * iy
    iw1 = -w1 * iy * dd
    iw2 = w2 * iy * dd
    g1x = iw1 * xh * y2
    g2x = iw2 * xh * y1
    g1y = iw1 * yh * (dby - x2)
    g2y = iw2 * yh * (dby - x1)
    g1w = -(p1x * g1x + p1y * g1y) * w1
    g2w = -(p2x * g2x + p2y * g2y) * w2
    # Swap back, and kill the gradient where alpha saturated.
    # nvdiffrast stores alpha in the work item and skips items whose alpha bits are 0 (+0.0).
    plus_zero = (items.alpha == 0) & ~torch.signbit(items.alpha)
    live = ((items.alpha.abs() < 0.5) & ~plus_zero).to(gdt)
    zero = torch.zeros_like(g1x)
    g1 = (
        torch.stack([torch.where(down, g1y, g1x), torch.where(down, g1x, g1y), zero, g1w], dim=1)
        * live[:, None]
    )
    g2 = (
        torch.stack([torch.where(down, g2y, g2x), torch.where(down, g2x, g2y), zero, g2w], dim=1)
        * live[:, None]
    )
    return g1, g2


class _AntialiasFunction(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        color: Tensor,
        rast: Tensor,
        pos: Tensor,
        tri: Tensor,
        opposite: Tensor,
        pos_gradient_boost: float,
    ) -> Tensor:
        instance_mode = pos.dim() == 3
        num_vertices = pos.shape[-2]
        gdt = torch.promote_types(pos.dtype, torch.float32)
        pos_flat = pos.detach().reshape(-1, 4).to(gdt)
        items = _analyse(rast.detach(), pos_flat, tri, opposite, num_vertices, instance_mode)

        channels = color.shape[-1]
        color_flat = color.detach().reshape(-1, channels)
        out = color.detach().clone(memory_format=torch.contiguous_format)
        target = torch.where(items.alpha > 0, items.pix0, items.pix1)
        delta = items.alpha.to(color.dtype)[:, None] * (
            _take(color_flat, items.pix1) - _take(color_flat, items.pix0)
        )
        out.view(-1, channels).index_add_(0, target, delta)

        ctx.items = items
        ctx.boost = float(pos_gradient_boost)
        ctx.image_hw = (rast.shape[1], rast.shape[2])
        ctx.save_for_backward(color, pos)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: Tensor):  # type: ignore[override]
        color, pos = ctx.saved_tensors
        items: _Items = ctx.items
        height, width = ctx.image_hw
        channels = color.shape[-1]
        grad_out = grad_out.contiguous()
        g_flat = grad_out.view(-1, channels)
        target = torch.where(items.alpha > 0, items.pix0, items.pix1)
        g_src = _take(g_flat, target)  # [N, C]

        grad_color = None
        if ctx.needs_input_grad[0]:
            grad_color = grad_out.clone()
            gc = grad_color.view(-1, channels)
            v = items.alpha.to(grad_out.dtype)[:, None] * g_src
            gc.index_add_(0, items.pix0, -v)
            gc.index_add_(0, items.pix1, v)

        grad_pos = None
        if ctx.needs_input_grad[2]:
            gdt = torch.promote_types(pos.dtype, torch.float32)
            pos_flat = pos.detach().reshape(-1, 4).to(gdt)
            color_flat = color.detach().reshape(-1, channels)
            dd = (g_src * (_take(color_flat, items.pix1) - _take(color_flat, items.pix0))).sum(dim=1).to(gdt)
            g1, g2 = _position_gradient(items, pos_flat, dd, width, height)
            gp = torch.zeros_like(pos_flat)
            gp.index_add_(0, items.vert1, g1)
            gp.index_add_(0, items.vert2, g2)
            if ctx.boost != 1.0:
                gp = gp * ctx.boost
            grad_pos = gp.reshape(pos.shape).to(pos.dtype)
        return grad_color, None, grad_pos, None, None, None


def antialias_torch(
    color: Tensor,
    rast: Tensor,
    pos: Tensor,
    tri: Tensor,
    pos_gradient_boost: float = 1.0,
    *,
    topology_hash: AntialiasTopology | None = None,
) -> Tensor:
    """Antialias ``color`` along silhouette edges, exactly as ``nvdiffrast.torch.antialias``.

    See the module docstring for the algorithm, the gradients and the few deliberate
    differences from nvdiffrast.

    Args:
        color: ``[B, H, W, C]`` floating image to antialias (e.g. a hard mask or shaded colours).
        rast: ``[B, H, W, 4]`` rasterizer output (u, v, z/w, triangle_id + 1); only channels 2
            and 3 are read. Row 0 is NDC y = -1, as the rasterizer writes it.
        pos: ``[B, V, 4]`` clip-space vertices (instanced mode) or ``[V, 4]`` (range mode): the
            same positions that were rasterized.
        tri: ``[F, 3]`` integer vertex indices into ``pos``'s ``V`` axis, the same triangles
            that were rasterized. Must be welded for correct silhouettes.
        pos_gradient_boost: multiplier applied to the position gradient.
        topology_hash: optional precomputed :func:`antialias_construct_topology_hash_torch` of
            ``tri``; built on every call when ``None``.

    Returns:
        ``[B, H, W, C]`` tensor, ``color``'s dtype and device.
    """
    if not isinstance(color, Tensor) or not color.dtype.is_floating_point:
        raise TypeError(f"color must be a floating-point torch.Tensor, got {_describe(color)}")
    if not isinstance(rast, Tensor) or not rast.dtype.is_floating_point:
        raise TypeError(f"rast must be a floating-point torch.Tensor, got {_describe(rast)}")
    if not isinstance(pos, Tensor) or not pos.dtype.is_floating_point:
        raise TypeError(f"pos must be a floating-point torch.Tensor, got {_describe(pos)}")
    check_tri(tri)
    if isinstance(pos_gradient_boost, bool) or not isinstance(pos_gradient_boost, (int, float)):
        raise TypeError(f"pos_gradient_boost must be a real number, got {_describe(pos_gradient_boost)}")
    if color.dim() != 4 or min(color.shape) == 0:
        raise ValueError(f"color must have shape [B>0, H>0, W>0, C>0], got {list(color.shape)}")
    if rast.dim() != 4 or rast.shape[-1] != 4:
        raise ValueError(f"rast must have shape [B, H, W, 4], got {list(rast.shape)}")
    if rast.shape[:3] != color.shape[:3]:
        raise ValueError(
            f"color and rast must share [B, H, W]; got color {list(color.shape)} and rast {list(rast.shape)}"
        )
    if pos.dim() == 3:
        if pos.shape[2] != 4 or pos.shape[1] == 0:
            raise ValueError(f"pos must have shape [B, V>0, 4] or [V>0, 4], got {list(pos.shape)}")
        if pos.shape[0] != color.shape[0]:
            raise ValueError(
                f"instanced mode needs pos's batch to equal color's: pos {list(pos.shape)}, "
                f"color {list(color.shape)}"
            )
    elif pos.dim() == 2:
        if pos.shape[1] != 4 or pos.shape[0] == 0:
            raise ValueError(f"pos must have shape [B, V>0, 4] or [V>0, 4], got {list(pos.shape)}")
    else:
        raise ValueError(f"pos must have shape [B, V, 4] or [V, 4], got {list(pos.shape)}")
    for name, t in (("rast", rast), ("pos", pos), ("tri", tri)):
        if t.device != color.device:
            raise ValueError(
                f"{name} is on {t.device} but color is on {color.device}; all inputs must share a device"
            )
    num_vertices = pos.shape[-2]
    tri = tri.long()
    if tri.numel() and (int(tri.min()) < 0 or int(tri.max()) >= num_vertices):
        raise ValueError(
            f"tri indices must lie in [0, {num_vertices}) (pos has V={num_vertices}); got range "
            f"[{int(tri.min())}, {int(tri.max())}]"
        )
    if topology_hash is None:
        topology_hash = antialias_construct_topology_hash_torch(tri)
    elif not isinstance(topology_hash, AntialiasTopology):
        raise TypeError(
            "topology_hash must be an AntialiasTopology from antialias_construct_topology_hash_torch, "
            f"got {type(topology_hash).__name__}"
        )
    elif topology_hash.num_faces != tri.shape[0]:
        raise ValueError(
            f"topology_hash was built for {topology_hash.num_faces} faces but tri has {tri.shape[0]}"
        )
    if tri.shape[0] == 0:
        return color.clone()
    opposite = topology_hash.opposite.to(color.device)
    return _AntialiasFunction.apply(color, rast, pos, tri, opposite, float(pos_gradient_boost))


def _describe(x: object) -> str:
    if isinstance(x, Tensor):
        return f"a {x.dtype} tensor of shape {list(x.shape)}"
    return type(x).__name__
