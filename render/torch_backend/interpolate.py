"""Pure-PyTorch attribute interpolation with nvdiffrast's semantics (``interpolate``).

``out = u * A[t0] + v * A[t1] + (1 - u - v) * A[t2]`` at every pixel whose ``rast`` triangle id is
non-zero, 0 elsewhere; with ``rast_db`` and ``diff_attrs`` also the attributes' pixel derivatives
``dA/dX = du/dX (A0 - A2) + dv/dX (A1 - A2)`` (and the same for Y), ordered
(dA_0/dX, dA_0/dY, dA_1/dX, ...). Gradients (through autograd) reach ``attr``, ``rast[..., 0:2]``
and ``rast_db``; ``rast[..., 2:4]`` and ``tri`` get none, as in nvdiffrast.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from render.torch_backend.alloc import empty_output
from render.torch_backend.blocks import covered_box, row_blocks, zero_outside

__all__ = ["interpolate_torch"]


def _corner_rows(rect: torch.Tensor, b: int, n_tri: int, batched: bool) -> torch.Tensor:
    """Columns [n] of the corner table seen by a rectangle [R, W, 4] of rast: triangle id + 1
    (0 when empty), offset by the minibatch item's triangles when the attributes are per item."""
    ids = rect[..., 3].to(torch.int64).reshape(-1)
    if batched and b:
        ids = torch.where(ids > 0, ids + b * n_tri, ids)
    return ids


def _channel(rect: torch.Tensor, k: int, dtype: torch.dtype) -> torch.Tensor:
    """Channel ``k`` of a rectangle [R, W, 4] of rast as a contiguous [R W] tensor."""
    return rect[..., k].to(dtype, memory_format=torch.contiguous_format, copy=True).view(-1)


class _Blend(torch.autograd.Function):
    """out = u A0 + v A1 + (1 - u - v) A2 at every pixel, with hand-written gradients to the
    corner table and to rast's (u, v) channels (what autograd would give, with fewer and smaller
    temporaries). Pixels are processed in row blocks; empty pixels (id 0) read column 0 of the
    channel-major corner table, which is all zero, so they come out 0."""

    @staticmethod
    def forward(ctx, table, rast, n_tri, batched, blend, blend_grad):
        batch, height, width, _ = rast.shape
        n_chan = table.shape[-1]
        flat = rast.detach().reshape(-1, 4)
        tab = _channel_major(table.detach())
        ctx.save_for_backward(table, rast)
        ctx.n_tri, ctx.batched, ctx.blend_grad = n_tri, batched, blend_grad
        ctx.set_materialize_grads(False)
        if blend is not None:
            return blend(tab, flat, n_tri, height * width, batched)
        out = empty_output((flat.shape[0], n_chan), table.dtype, table.device)
        out3, r3 = out.view(batch * height, width, n_chan), flat.view(batch * height, width, 4)
        for r0, r1, b in row_blocks(batch, height, width):
            box = covered_box(r3[r0:r1, :, 3] > 0)
            zero_outside(out3[r0:r1], box)
            if box is None:
                continue
            rows, cols = slice(r0 + box[0], r0 + box[1]), slice(box[2], box[3])
            rect = r3[rows, cols]
            col = _corner_rows(rect, b, n_tri, batched)
            u, v = _channel(rect, 0, table.dtype), _channel(rect, 1, table.dtype)
            w = (1.0 - u).sub_(v)
            for c in range(n_chan):
                a0, a1, a2 = (tab[k * n_chan + c].index_select(0, col) for k in range(3))
                blend = a2.mul_(w).addcmul_(a0, u).addcmul_(a1, v)
                out3[rows, cols, c] = blend.view(rect.shape[:2])
        return out

    @staticmethod
    def backward(ctx, g_out):
        table, rast = ctx.saved_tensors
        if g_out is None:
            return (None,) * 6
        batch, height, width, _ = rast.shape
        n_chan = table.shape[-1]
        r3 = rast.detach().reshape(batch * height, width, 4)
        tab = _channel_major(table.detach())
        if ctx.blend_grad is not None:
            g_tab, g_rast = ctx.blend_grad(
                tab, r3.view(-1, 4), g_out.reshape(-1, n_chan), ctx.n_tri, height * width, ctx.batched
            )
            g_tab = g_tab[:, 1:].reshape(3, n_chan, -1).permute(2, 0, 1) if ctx.needs_input_grad[0] else None
            g_rast = g_rast.view(rast.shape) if ctx.needs_input_grad[1] else None
            return g_tab, g_rast, None, None, None, None
        g_tab = torch.zeros_like(tab) if ctx.needs_input_grad[0] else None
        g_rast = r3.new_zeros(r3.shape) if ctx.needs_input_grad[1] else None
        g3 = g_out.reshape(batch * height, width, n_chan)
        for r0, r1, b in row_blocks(batch, height, width):
            box = covered_box(r3[r0:r1, :, 3] > 0)
            if box is None:  # empty pixels have no gradient
                continue
            rows, cols = slice(r0 + box[0], r0 + box[1]), slice(box[2], box[3])
            rect = r3[rows, cols]
            col = _corner_rows(rect, b, n_tri=ctx.n_tri, batched=ctx.batched)
            u, v = _channel(rect, 0, table.dtype), _channel(rect, 1, table.dtype)
            w = 1.0 - u - v
            g_u = g_v = None
            for c in range(n_chan):
                g = g3[rows, cols, c].reshape(-1)
                if g_tab is not None:
                    for k, weight in enumerate((u, v, w)):
                        g_tab[k * n_chan + c].index_add_(0, col, g * weight)
                if g_rast is not None:
                    a0, a1, a2 = (tab[k * n_chan + c].index_select(0, col) for k in range(3))
                    gu, gv = (a0 - a2).mul_(g), (a1 - a2).mul_(g)
                    g_u = gu if g_u is None else g_u.add_(gu)
                    g_v = gv if g_v is None else g_v.add_(gv)
            if g_rast is not None and g_u is not None:
                g_rast[rows, cols, 0] = g_u.view(rect.shape[:2])
                g_rast[rows, cols, 1] = g_v.view(rect.shape[:2])
        if g_tab is not None:
            g_tab = g_tab[:, 1:].reshape(3, n_chan, -1).permute(2, 0, 1)
        if g_rast is not None:
            g_rast = g_rast.view(rast.shape).to(rast.dtype)
        return g_tab, g_rast, None, None, None, None


def _channel_major(table: torch.Tensor) -> torch.Tensor:
    """[T, 3, C] corner table as [3 C, 1 + T] rows (corner-major, then channel) with a zero
    column 0 for empty pixels."""
    t, _, n_chan = table.shape
    tab = table.new_zeros(3 * n_chan, t + 1)
    tab[:, 1:] = table.permute(1, 2, 0).reshape(3 * n_chan, t)
    return tab


def interpolate_torch(
    attr: torch.Tensor,
    rast: torch.Tensor,
    tri: torch.Tensor,
    rast_db: torch.Tensor | None = None,
    diff_attrs: list[int] | None = None,
    blend: Callable | None = None,
    blend_grad: Callable | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Interpolate vertex attributes over a rasterized image.

    Inputs are assumed validated (``render.ops.interpolate`` does that).

    Args:
        attr: [V, C] (shared / range mode) or [B, V, C] / [1, V, C] (instanced) float.
        rast: [B, H, W, 4] output of ``rasterize``.
        tri: [F, 3] int32/int64 vertex indices.
        rast_db: [B, H, W, 4] barycentric pixel derivatives, needed when ``diff_attrs`` is given.
        diff_attrs: resolved, non-negative channel indices whose pixel derivatives are wanted.
        blend: compiled :func:`render.torch_backend.compiled.blend_image` for the forward blend
            (without ``diff_attrs``), or None for the eager, row-blocked one.
        blend_grad: compiled :func:`render.torch_backend.compiled.blend_grad` for its backward,
            or None (eager).

    Returns:
        out: [B, H, W, C], dtype of ``attr``.
        out_da: [B, H, W, 2 * len(diff_attrs)] (``[B, H, W, 0]`` without ``diff_attrs``).
    """
    batch, height, width, _ = rast.shape
    n_chan = attr.shape[-1]
    n_da = 2 * len(diff_attrs) if diff_attrs else 0
    n_pix = batch * height * width
    n_tri = tri.shape[0]
    # per-triangle corner attributes [T (or B T), 3, C]
    corners = tri.to(torch.int64).reshape(-1)
    batched = attr.dim() == 3 and attr.shape[0] > 1
    if attr.dim() == 3:
        table = attr.index_select(1, corners).reshape(-1, 3, n_chan)
    else:
        table = attr.index_select(0, corners).view(n_tri, 3, n_chan)
    if not n_da:
        out = _Blend.apply(table, rast, n_tri, batched, blend, blend_grad)
        return out.view(batch, height, width, n_chan), attr.new_zeros(batch, height, width, 0)
    # with pixel derivatives: one row gather per covered pixel, autograd for the gradients
    flat = rast.reshape(n_pix, 4)
    ids = flat[:, 3].detach()
    pix = torch.nonzero(ids > 0).squeeze(1)
    row = ids.index_select(0, pix).to(torch.int64) - 1
    if batched:
        row = row + (pix // (height * width)) * n_tri
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
