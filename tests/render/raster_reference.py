"""A slow, obviously-correct rasterizer used as the tests' reference (numpy float64, loops).

It follows the textbook pipeline rather than the edge-function formulation of the library:
clip each triangle against the near (z >= -w) and far (z <= w) planes with Sutherland-Hodgman,
project the clipped polygon, test each pixel centre for inclusion in the projected polygon, solve
the 3x3 homogeneous system for the perspective-correct barycentrics and keep the nearest z/w.
It also reports, per pixel, the distance (in pixels) from the centre to the nearest projected
polygon edge of any triangle, so that tests can ignore pixels where coverage is a coin toss.
"""

from __future__ import annotations

import numpy as np


def _clip(poly: list[np.ndarray], sign: float) -> list[np.ndarray]:
    """Keep the part of a homogeneous polygon with ``w + sign * z >= 0``."""
    out: list[np.ndarray] = []
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        da, db = a[3] + sign * a[2], b[3] + sign * b[2]
        if da >= 0:
            out.append(a)
        if (da >= 0) != (db >= 0):
            t = da / (da - db)
            out.append(a + t * (b - a))
    return out


def _edge_distance(pts: np.ndarray, p: np.ndarray) -> float:
    """Distance from point p to the closest segment of the closed polygon pts [n, 2]."""
    best = np.inf
    for i in range(len(pts)):
        a, b = pts[i], pts[(i + 1) % len(pts)]
        ab = b - a
        t = np.clip(np.dot(p - a, ab) / max(np.dot(ab, ab), 1e-300), 0.0, 1.0)
        best = min(best, float(np.linalg.norm(a + t * ab - p)))
    return best


def reference_rasterize(pos, tri, resolution, ranges=None):
    """Returns (ids [B, H, W] int (0 = none), u, v, zw [B, H, W] float64, margin [B, H, W] px)."""
    pos = np.asarray(pos, dtype=np.float64)
    tri = np.asarray(tri, dtype=np.int64)
    height, width = resolution
    if pos.ndim == 3:
        items = [(pos[b], range(len(tri))) for b in range(pos.shape[0])]
    else:
        items = [(pos, range(int(s), int(s) + int(c))) for s, c in np.asarray(ranges)]
    batch = len(items)
    ids = np.zeros((batch, height, width), dtype=np.int64)
    u = np.zeros((batch, height, width))
    v = np.zeros((batch, height, width))
    zw = np.zeros((batch, height, width))
    depth = np.full((batch, height, width), np.inf)
    margin = np.full((batch, height, width), np.inf)
    scale = np.array([width / 2.0, height / 2.0])
    for b, (verts, rows) in enumerate(items):
        for t in rows:
            tv = verts[tri[t]]  # [3, 4]
            poly = _clip(_clip([tv[0], tv[1], tv[2]], 1.0), -1.0)
            if len(poly) < 3:
                continue
            poly = np.array(poly)
            if np.any(poly[:, 3] <= 1e-12):
                continue
            proj = poly[:, :2] / poly[:, 3:4]
            proj_px = proj * scale  # pixel units
            m = tv[:, [0, 1, 3]].T  # columns: vertices; rows: x, y, w
            if abs(np.linalg.det(m)) < 1e-14:
                continue
            # polygon orientation
            area = 0.0
            for i in range(len(proj)):
                a, c = proj[i], proj[(i + 1) % len(proj)]
                area += a[0] * c[1] - a[1] * c[0]
            if area == 0.0:
                continue
            for py in range(height):
                fy = (2 * py + 1) / height - 1
                for px in range(width):
                    fx = (2 * px + 1) / width - 1
                    f = np.array([fx, fy])
                    margin[b, py, px] = min(margin[b, py, px], _edge_distance(proj_px, f * scale))
                    inside = True
                    for i in range(len(proj)):
                        a, c = proj[i], proj[(i + 1) % len(proj)]
                        cross = (c[0] - a[0]) * (f[1] - a[1]) - (c[1] - a[1]) * (f[0] - a[0])
                        if cross * area < 0:
                            inside = False
                            break
                    if not inside:
                        continue
                    lam = np.linalg.solve(m, np.array([fx, fy, 1.0]))  # point with w = 1
                    z = float(lam @ tv[:, 2])
                    if z < depth[b, py, px]:
                        depth[b, py, px] = z
                        bary = lam / lam.sum()
                        ids[b, py, px] = t + 1
                        u[b, py, px], v[b, py, px] = bary[0], bary[1]
                        zw[b, py, px] = z
    return ids, u, v, zw, margin
