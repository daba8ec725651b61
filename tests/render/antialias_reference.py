"""Slow references for the antialias tests: a tiny per-pixel rasterizer and nvdiffrast's antialias
rules transcribed one pixel pair at a time in Python floats (tests only).
"""

from __future__ import annotations

import math

import torch

F32_MAX = 3.402823466e38


# ----------------------------------------------------------------------------------------------
# Helpers: a tiny rasterizer and a slow per-pair reference of nvdiffrast's antialias.


def rasterize_ref(pos: torch.Tensor, tri: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``pos[B, V, 4]`` or ``[V, 4]`` -> ``rast[B or 1, H, W, 4]`` (float64), nvdiffrast layout."""
    if pos.dim() == 2:
        pos = pos[None]
    pos = pos.detach().double()
    batch = pos.shape[0]
    ys = (2 * torch.arange(height, dtype=torch.float64) + 1) / height - 1
    xs = (2 * torch.arange(width, dtype=torch.float64) + 1) / width - 1
    fy, fx = torch.meshgrid(ys, xs, indexing="ij")
    rast = torch.zeros(batch, height, width, 4, dtype=torch.float64)
    for b in range(batch):
        best = torch.full((height, width), math.inf, dtype=torch.float64)
        for f, (i0, i1, i2) in enumerate(tri.tolist()):
            p = pos[b, [i0, i1, i2]]
            qx = p[:, 0, None, None] - fx * p[:, 3, None, None]
            qy = p[:, 1, None, None] - fy * p[:, 3, None, None]
            a0 = qx[1] * qy[2] - qy[1] * qx[2]
            a1 = qx[2] * qy[0] - qy[2] * qx[0]
            a2 = qx[0] * qy[1] - qy[0] * qx[1]
            s = a0 + a1 + a2
            u, v, w = a0 / s, a1 / s, a2 / s
            z = (a0 * p[0, 2] + a1 * p[1, 2] + a2 * p[2, 2]) / (a0 * p[0, 3] + a1 * p[1, 3] + a2 * p[2, 3])
            inside = (u >= 0) & (v >= 0) & (w >= 0) & (s != 0) & (z < best)
            best = torch.where(inside, z, best)
            new = torch.stack([u, v, z, torch.full_like(u, f + 1.0)], dim=-1)
            rast[b] = torch.where(inside[..., None], new, rast[b])
    return rast


def _ref_topology(tri: list[list[int]]) -> dict[tuple[int, int], list[int]]:
    table: dict[tuple[int, int], list[int]] = {}
    for v0, v1, v2 in tri:
        if min(v0, v1, v2) < 0 or v0 == v1 or v1 == v2 or v2 == v0:
            continue
        for a, b, opp in ((v1, v2, v0), (v2, v0, v1), (v0, v1, v2)):
            slot = table.setdefault((min(a, b), max(a, b)), [])
            if opp not in slot and len(slot) < 2:
                slot.append(opp)
    return table


def _ref_find(table, va: int, vb: int, vr: int) -> int:
    if va == vb:
        return -1
    slot = table.get((min(va, vb), max(va, vb)), [])
    slot = slot + [-1] * (2 - len(slot))
    if slot[0] == vr:
        return slot[1]
    if slot[1] == vr:
        return slot[0]
    return -1


def _sgn(a: float) -> bool:
    return math.copysign(1.0, a) < 0


def _same(a: float, b: float) -> bool:
    return _sgn(a) == _sgn(b)


def antialias_ref(color, rast, pos, tri, dy=None, boost=1.0):
    """Slow reference: returns ``out`` and, if ``dy`` is given, ``(grad_color, grad_pos)``."""
    color = color.detach().double()
    rast = rast.detach().double()
    posd = pos.detach().double()
    instance = posd.dim() == 3
    batch, height, width, channels = color.shape
    tri_l = tri.tolist()
    table = _ref_topology(tri_l)
    out = color.clone()
    gcol = dy.detach().double().clone() if dy is not None else None
    gpos = torch.zeros_like(posd)
    xh, yh = 0.5 * width, 0.5 * height

    def vert(b, i):
        return posd[b, i] if instance else posd[i]

    for b in range(batch):
        for py in range(height):
            for px in range(width):
                for down in (False, True):
                    qx, qy = (px, py + 1) if down else (px + 1, py)
                    if qx >= width or qy >= height:
                        continue
                    t0 = int(rast[b, py, px, 3]) - 1
                    t1 = int(rast[b, qy, qx, 3]) - 1
                    if t0 == t1:
                        continue
                    if t0 >= 0 and t1 >= 0:
                        t = t0 if rast[b, py, px, 2] < rast[b, qy, qx, 2] else t1
                    else:
                        t = t0 if t0 >= 0 else t1
                    cx, cy = (qx, qy) if t == t1 else (px, py)
                    ds = 1.0 if t == t0 else -1.0
                    vi = tri_l[t]
                    ops = [_ref_find(table, vi[(k + 1) % 3], vi[(k + 2) % 3], vi[k]) for k in range(3)]
                    fx, fy = cx + 0.5 - xh, cy + 0.5 - yh

                    def proj(p, fx=fx, fy=fy):
                        return (float(p[0] / p[3] * xh - fx), float(p[1] / p[3] * yh - fy))

                    P = [proj(vert(b, i)) for i in vi]
                    O = [proj(vert(b, o)) if o >= 0 else P[k] for k, o in enumerate(ops)]

                    def orient(a, c, e):
                        return (c[0] - a[0]) * (e[1] - a[1]) - (e[0] - a[0]) * (c[1] - a[1])

                    bb = orient(P[0], P[1], P[2])
                    sil = [_same(orient(O[k], P[(k + 1) % 3], P[(k + 2) % 3]), bb) for k in range(3)]
                    if not any(sil):
                        continue
                    S = [(p[1], p[0]) if down else p for p in P]
                    best_k, best_val = 0, -math.inf
                    cand = []
                    for k in range(3):
                        (xj, yj), (xl, yl) = S[(k + 1) % 3], S[(k + 2) % 3]
                        if _same(yj, yl):
                            cand.append((k, -F32_MAX, 1.0, xl - xj))
                        else:
                            dyk, dxk = yl - yj, xl - xj
                            cand.append((k, ds * (xj * dyk - yj * dxk), dyk, dxk))
                    # largest crossing towards the neighbour: argmax of num/dy (first on ties)
                    for k, num, dyk, _ in cand:
                        val = num / dyk
                        if val > best_val:
                            best_k, best_val = k, val
                    k, num, dyk, dxk = cand[best_k]
                    if not (sil[k] and abs(dyk) >= abs(dxk)):
                        continue
                    dc = num / dyk
                    if not (-0.0625 < dc < 1.0625):
                        continue
                    dc = min(max(dc, 0.0), 1.0)
                    alpha = ds * (0.5 - dc)
                    c0, c1 = color[b, py, px], color[b, qy, qx]
                    tgt = (py, px) if alpha > 0 else (qy, qx)
                    out[b, tgt[0], tgt[1]] += alpha * (c1 - c0)
                    if dy is None or (alpha == 0 and not _sgn(alpha)):  # +0.0: no work item
                        continue
                    g = dy.double()[b, tgt[0], tgt[1]]
                    gcol[b, py, px] -= alpha * g
                    gcol[b, qy, qx] += alpha * g
                    if abs(alpha) >= 0.5:
                        continue
                    dd = float((g * (c1 - c0)).sum())
                    # d(alpha)/d(crossing) = -1; crossing = db/dy of the edge, in the swapped frame.
                    i1, i2 = vi[(k + 1) % 3], vi[(k + 2) % 3]
                    pp1, pp2 = vert(b, i1), vert(b, i2)
                    sw = (1, 0) if down else (0, 1)
                    hx, hy = (yh, xh) if down else (xh, yh)
                    gx, gy = (fy, fx) if down else (fx, fy)
                    X1, Y1, W1 = float(pp1[sw[0]]), float(pp1[sw[1]]), float(pp1[3])
                    X2, Y2, W2 = float(pp2[sw[0]]), float(pp2[sw[1]]), float(pp2[3])
                    x1, y1 = X1 / W1 * hx - gx, Y1 / W1 * hy - gy
                    x2, y2 = X2 / W2 * hx - gx, Y2 / W2 * hy - gy
                    ey = y2 - y1
                    den = ey + math.copysign(1e-3, ey)
                    cross = (x1 * ey - y1 * (x2 - x1)) / den
                    # partial derivatives of the crossing w.r.t. projected coordinates
                    dcx1, dcx2 = y2 / den, -y1 / den
                    dcy1, dcy2 = (cross - x2) / den, -(cross - x1) / den
                    ends = ((i1, dcx1, dcy1, X1, Y1, W1), (i2, dcx2, dcy2, X2, Y2, W2))
                    for idx, dcx, dcy, X, Y, W in ends:
                        gX = -dd * dcx * hx / W
                        gY = -dd * dcy * hy / W
                        gW = -dd * (dcx * hx * (-X / W**2) + dcy * hy * (-Y / W**2))
                        comp = [0.0] * 4
                        comp[sw[0]], comp[sw[1]], comp[3] = gX, gY, gW
                        target = gpos[b, idx] if instance else gpos[idx]
                        target += boost * torch.tensor(comp, dtype=torch.float64)
    if dy is None:
        return out
    return out, gcol, gpos


# ----------------------------------------------------------------------------------------------
# Geometry used by several tests.


def quad_mesh(x0: float, x1: float, y0: float, y1: float, w: float = 1.0) -> tuple[torch.Tensor, ...]:
    """An axis-aligned rectangle in NDC made of two front-facing triangles sharing a diagonal."""
    pos = torch.tensor(
        [[x0, y0, 0.0, 1.0], [x1, y0, 0.0, 1.0], [x1, y1, 0.0, 1.0], [x0, y1, 0.0, 1.0]], dtype=torch.float64
    )
    pos = pos * torch.tensor([w, w, w, w], dtype=torch.float64)
    tri = torch.tensor([[0, 1, 2], [0, 2, 3]])
    return pos, tri


def perspective_mesh() -> tuple[torch.Tensor, torch.Tensor]:
    """A small welded fan with a fold and varied w, pixel centres kept away from edges."""
    pos = torch.tensor(
        [
            [-0.52, -0.61, 0.10, 1.10],
            [0.71, -0.47, 0.20, 1.30],
            [0.13, 0.66, 0.30, 0.90],
            [-0.83, 0.41, 0.50, 1.20],  # neighbour across edge (0, 2): normal wing
            [0.45, 0.12, 0.60, 1.05],  # neighbour across edge (1, 2) folded back over the first face
        ],
        dtype=torch.float64,
    )
    tri = torch.tensor([[0, 1, 2], [0, 2, 3], [2, 1, 4]])
    return pos, tri
