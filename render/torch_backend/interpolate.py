"""Pure-PyTorch attribute interpolation with nvdiffrast's semantics (``interpolate``).

``out = u * A[t0] + v * A[t1] + (1 - u - v) * A[t2]`` at every pixel whose ``rast`` triangle id is
non-zero, 0 elsewhere; with ``rast_db`` and ``diff_attrs`` also the attributes' pixel derivatives
``dA/dX = du/dX (A0 - A2) + dv/dX (A1 - A2)`` (and the same for Y), ordered
(dA_0/dX, dA_0/dY, dA_1/dX, ...). Gradients (through autograd) reach ``attr``, ``rast[..., 0:2]``
and ``rast_db``; ``rast[..., 2:4]`` and ``tri`` get none, as in nvdiffrast.
"""

from __future__ import annotations

import math

import torch

__all__ = ["interpolate_torch"]


class _Blend(torch.autograd.Function):
    """out[pix] = u A0 + v A1 + (1 - u - v) A2 with hand-written gradients to the corner table and
    to rast's (u, v) channels (what autograd would give, with fewer temporaries)."""

    @staticmethod
    def forward(ctx, table, rast, row, pix):
        n_pix = rast.numel() // 4
        n_chan = table.shape[-1]
        flat = rast.detach().reshape(n_pix, 4)
        u = flat[:, 0].index_select(0, pix).to(table.dtype)
        v = flat[:, 1].index_select(0, pix).to(table.dtype)
        w = 1.0 - u - v
        # corner attributes as rows [3 C, n] (contiguous per channel), blended in place
        a = table.detach().permute(1, 2, 0).reshape(3 * n_chan, -1).index_select(1, row)
        val = a[2 * n_chan :].mul_(w).addcmul_(a[:n_chan], u).addcmul_(a[n_chan : 2 * n_chan], v)
        ctx.save_for_backward(table, torch.stack([u, v], dim=1), row, pix)
        ctx.rast_meta = (rast.shape, rast.dtype)
        ctx.set_materialize_grads(False)
        return table.new_zeros(n_pix, n_chan).index_copy_(0, pix, val.t())

    @staticmethod
    def backward(ctx, g_out):
        table, uv, row, pix = ctx.saved_tensors
        rast_shape, rast_dtype = ctx.rast_meta
        if g_out is None:
            return None, None, None, None
        g = g_out.index_select(0, pix)  # [n, C]
        u, v = uv[:, 0:1], uv[:, 1:2]
        g_table = g_rast = None
        if ctx.needs_input_grad[0]:
            weights = torch.cat([u, v, 1.0 - u - v], dim=1)  # [n, 3]
            g_table = torch.zeros_like(table).index_add_(0, row, weights.unsqueeze(2) * g.unsqueeze(1))
        if ctx.needs_input_grad[1]:
            a = table.detach().index_select(0, row)
            a2 = a[:, 2]
            g_uv = torch.stack([(g * (a[:, 0] - a2)).sum(1), (g * (a[:, 1] - a2)).sum(1)], dim=1)
            rows = g_uv.new_zeros(g_uv.shape[0], 4)
            rows[:, :2] = g_uv
            n_pix = math.prod(rast_shape) // 4
            g_rast = rows.new_zeros(n_pix, 4).index_copy_(0, pix, rows).view(rast_shape).to(rast_dtype)
        return g_table, g_rast, None, None


def interpolate_torch(
    attr: torch.Tensor,
    rast: torch.Tensor,
    tri: torch.Tensor,
    rast_db: torch.Tensor | None = None,
    diff_attrs: list[int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Interpolate vertex attributes over a rasterized image.

    Inputs are assumed validated (``render.ops.interpolate`` does that).

    Args:
        attr: [V, C] (shared / range mode) or [B, V, C] / [1, V, C] (instanced) float.
        rast: [B, H, W, 4] output of ``rasterize``.
        tri: [F, 3] int32/int64 vertex indices.
        rast_db: [B, H, W, 4] barycentric pixel derivatives, needed when ``diff_attrs`` is given.
        diff_attrs: resolved, non-negative channel indices whose pixel derivatives are wanted.

    Returns:
        out: [B, H, W, C], dtype of ``attr``.
        out_da: [B, H, W, 2 * len(diff_attrs)] (``[B, H, W, 0]`` without ``diff_attrs``).
    """
    batch, height, width, _ = rast.shape
    n_chan = attr.shape[-1]
    n_da = 2 * len(diff_attrs) if diff_attrs else 0
    n_pix = batch * height * width
    n_tri = tri.shape[0]
    flat = rast.reshape(n_pix, 4)
    ids = flat[:, 3].detach()
    pix = torch.nonzero(ids > 0).squeeze(1)
    row = ids.index_select(0, pix).to(torch.int64) - 1
    # per-triangle corner attributes [T (or B T), 3, C], then one row gather per covered pixel
    corners = tri.to(torch.int64).reshape(-1)
    if attr.dim() == 3:
        table = attr.index_select(1, corners).reshape(-1, 3, n_chan)
        if attr.shape[0] > 1:
            row = row + (pix // (height * width)) * n_tri
    else:
        table = attr.index_select(0, corners).view(n_tri, 3, n_chan)
    if not n_da:
        out = _Blend.apply(table, rast, row, pix)
        return out.view(batch, height, width, n_chan), attr.new_zeros(batch, height, width, 0)
    a = table.index_select(0, row)  # [n, 3, C]
    a0, a1, a2 = a[:, 0], a[:, 1], a[:, 2]
    uv = flat.index_select(0, pix)[:, :2].to(attr.dtype)
    u, v = uv[:, 0:1], uv[:, 1:2]
    val = torch.addcmul(torch.addcmul(a2 * (1.0 - u - v), u, a0), v, a1)
    out = attr.new_zeros(n_pix, n_chan).index_copy(0, pix, val).view(batch, height, width, n_chan)
    assert rast_db is not None
    db = rast_db.reshape(n_pix, 4).index_select(0, pix).to(attr.dtype)  # [n, 4]
    sel = torch.as_tensor(list(diff_attrs), dtype=torch.int64, device=attr.device)
    d0 = (a0 - a2).index_select(1, sel)  # [n, K]
    d1 = (a1 - a2).index_select(1, sel)
    dx = db[:, 0:1] * d0 + db[:, 2:3] * d1
    dy = db[:, 1:2] * d0 + db[:, 3:4] * d1
    da = torch.stack([dx, dy], dim=2).reshape(-1, n_da)
    out_da = attr.new_zeros(n_pix, n_da).index_copy(0, pix, da).view(batch, height, width, n_da)
    return out, out_da
