"""Whole-image forms of the per-pixel kernels, for ``torch.compile`` (opt-in).

``TorchRasterContext(compile=True)`` runs the shading, the fragment keys and the (u, v)
gradient of ``rasterize`` and the blend of ``interpolate`` with its gradient through
``torch.compile``: TorchInductor fuses the gathers and the arithmetic of every pixel into one
loop, several times faster on CPU than the eager, row-blocked kernels of
:mod:`render.torch_backend.rasterize`, :mod:`render.torch_backend.visibility` and
:mod:`render.torch_backend.interpolate`.
The formulas are the same, written whole-image; ``tests/render/test_compiled.py`` checks that
both paths agree. The first call compiles (tens of seconds on 2 cores; needs a C++ compiler on
CPU); shapes are dynamic, so image and mesh sizes do not recompile, a new dtype does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

from render.torch_backend.rasterize import XYW_ROWS, bary_grad, pixel_centres

__all__ = ["blend_grad", "blend_image", "compiled", "fragment_keys", "raster_grad", "shade_image"]

_log = logging.getLogger(__name__)


def shade_image(table: torch.Tensor, grid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``rast`` and ``rast_db`` rows of every pixel; see ``rasterize._shade_rect`` for ``table``.

    Args:
        table: [15, N + 1] per-entry table (column N: the empty-pixel entry).
        grid: [R, W] int64 entry seen at each pixel of all R = B * H image rows.

    Returns:
        rast, rast_db: [R * W, 4] each, dtype of ``table``.
    """
    n_rows, width = grid.shape
    flat = grid.reshape(-1)
    c0, c1, cs, cz, gx0, gx1, gxs, gxz, gy0, gy1, gys, gyz, ids, cx, cy = (table[r][flat] for r in range(15))
    x = torch.arange(width, device=grid.device, dtype=table.dtype).repeat(n_rows)
    y = torch.arange(n_rows, device=grid.device, dtype=table.dtype).repeat_interleave(width)
    lx = x - cx
    ly = y - cy
    iw = 1.0 / (cs + gxs * lx + gys * ly)
    b0 = (c0 + gx0 * lx + gy0 * ly) * iw
    b1 = (c1 + gx1 * lx + gy1 * ly) * iw
    z = (cz + gxz * lx + gyz * ly).clamp(-1.0, 1.0)
    db = torch.stack(
        [(gx0 - b0 * gxs) * iw, (gy0 - b0 * gys) * iw, (gx1 - b1 * gxs) * iw, (gy1 - b1 * gys) * iw], dim=1
    )
    u = b0.clamp(0.0, 1.0)
    v = b1.clamp(0.0, 1.0)
    total = (u + v).clamp(min=1.0)
    return torch.stack([u / total, v / total, z, ids], dim=1), db


def _blend_weights(tab: torch.Tensor, flat: torch.Tensor, n_tri: int, pixels_per_item: int, batched: bool):
    """Per pixel: the corner-table column (0 when empty, offset per item when ``batched``) and
    the weights u, v, 1 - u - v of the three corners, all [P]."""
    col = flat[:, 3].to(torch.int64)
    if batched:
        item = torch.arange(flat.shape[0], device=flat.device) // pixels_per_item
        col = torch.where(col > 0, col + item * n_tri, col)
    u = flat[:, 0].to(tab.dtype)
    v = flat[:, 1].to(tab.dtype)
    return col, u, v, 1.0 - u - v


def blend_image(tab: torch.Tensor, flat: torch.Tensor, n_tri: int, pixels_per_item: int, batched: bool):
    """``u A0 + v A1 + (1 - u - v) A2`` at every pixel; see ``interpolate._Blend``.

    Args:
        tab: [3 C, 1 + T'] channel-major corner table with a zero column 0.
        flat: [P, 4] rast rows.
        n_tri: triangles per minibatch item; pixels_per_item: H * W.
        batched: the table holds a block of ``n_tri`` columns per item.

    Returns:
        [P, C], dtype of ``tab``.
    """
    n_chan = tab.shape[0] // 3
    col, u, v, w = _blend_weights(tab, flat, n_tri, pixels_per_item, batched)
    chans = [tab[2 * n_chan + c][col] * w + tab[c][col] * u + tab[n_chan + c][col] * v for c in range(n_chan)]
    return torch.stack(chans, dim=1)


def fragment_keys(
    row_pix: torch.Tensor,
    gz: torch.Tensor,
    row_d: torch.Tensor,
    row_id: torch.Tensor,
    row: torch.Tensor,
    k0: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat pixel and depth-test key of fragments ``k0 ..`` (see ``visibility._spans``).

    Args:
        row_pix, row_id: [R] int64; gz, row_d: [R] float64 per-row tables; row: [n] int64 row of
            each fragment.

    Returns:
        pix, key: [n] int64.
    """
    k = torch.arange(row.shape[0], device=row.device) + k0
    pix = row_pix[row] + k
    d = (gz[row] * k.to(torch.float64) + row_d[row]).to(torch.float32).clamp(-1.0, 1.0) + 1.0
    return pix, (d.view(torch.int32).to(torch.int64) << 32) | row_id[row]


def raster_grad(
    v12: torch.Tensor, entry: torch.Tensor, pix: torch.Tensor, g_uv: torch.Tensor, height: int, width: int
) -> torch.Tensor:
    """nvdiffrast's gradient of (u, v) at the covered pixels, summed per (item, triangle).

    Args:
        v12: [12, N] clip-space rows x0 x1 x2 y0 y1 y2 z0 z1 z2 w0 w1 w2 per entry.
        entry, pix: [n] int64 entry and flat pixel of the covered pixels.
        g_uv: [n, 2] incoming gradient of (u, v) there.

    Returns:
        [12, N] in the rows of ``v12`` (the z rows are 0); see ``rasterize._RasterShade``.
    """
    fx, fy = pixel_centres(pix, height, width, v12.dtype)
    grads = bary_grad([v12[r][entry] for r in XYW_ROWS], fx, fy, g_uv[:, 0], g_uv[:, 1])
    zero = v12.new_zeros(v12.shape[1])
    rows = [zero] * 12
    for r, g in zip(XYW_ROWS, grads, strict=True):
        rows[r] = zero.index_add(0, entry, g)
    return torch.stack(rows)


def blend_grad(
    tab: torch.Tensor,
    flat: torch.Tensor,
    g_out: torch.Tensor,
    n_tri: int,
    pixels_per_item: int,
    batched: bool,
):
    """Gradients of :func:`blend_image` to ``tab`` [3 C, 1 + T'] and to rast [P, 4] (channels
    u, v; the others 0), given ``g_out`` [P, C]; see ``interpolate._Blend``."""
    n_chan = tab.shape[0] // 3
    col, u, v, w = _blend_weights(tab, flat, n_tri, pixels_per_item, batched)
    zero = tab.new_zeros(tab.shape[1])
    g_tab = [zero] * (3 * n_chan)
    g_u = g_v = torch.zeros_like(u)
    for c in range(n_chan):
        g = g_out[:, c]
        for k, weight in enumerate((u, v, w)):
            g_tab[k * n_chan + c] = zero.index_add(0, col, g * weight)
        a2 = tab[2 * n_chan + c][col]
        g_u = g_u + g * (tab[c][col] - a2)
        g_v = g_v + g * (tab[n_chan + c][col] - a2)
    g_rast = torch.stack([g_u, g_v, torch.zeros_like(g_u), torch.zeros_like(g_u)], dim=1)
    return torch.stack(g_tab), g_rast.to(flat.dtype)


_KERNELS = {
    "shade_image": shade_image,
    "blend_image": blend_image,
    "fragment_keys": fragment_keys,
    "raster_grad": raster_grad,
    "blend_grad": blend_grad,
}


def compiled(cache: dict, name: str) -> Callable:
    """The ``torch.compile`` wrapper of kernel ``name`` (a function of this module),
    created on first use and kept in ``cache`` (a context's)."""
    fn = cache.get(name)
    if fn is None:
        _log.info("render: compiling the %s kernel with torch.compile (first use)", name)
        fn = torch.compile(_KERNELS[name], dynamic=True)
        cache[name] = fn
    return fn
