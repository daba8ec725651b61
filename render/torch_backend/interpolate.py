"""Pure-PyTorch attribute interpolation with nvdiffrast's semantics (``interpolate``).

``out = u * A[t0] + v * A[t1] + (1 - u - v) * A[t2]`` at every pixel whose ``rast`` triangle id is
non-zero, 0 elsewhere; with ``rast_db`` and ``diff_attrs`` also the attributes' pixel derivatives
``dA/dX = du/dX (A0 - A2) + dv/dX (A1 - A2)`` (and the same for Y), ordered
(dA_0/dX, dA_0/dY, dA_1/dX, ...). Gradients (through autograd) reach ``attr``, ``rast[..., 0:2]``
and ``rast_db``; ``rast[..., 2:4]`` and ``tri`` get none, as in nvdiffrast.
"""

from __future__ import annotations

import torch

__all__ = ["interpolate_torch"]


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
    a = table.index_select(0, row)  # [n, 3, C]
    a0, a1, a2 = a[:, 0], a[:, 1], a[:, 2]
    uv = flat.index_select(0, pix)[:, :2].to(attr.dtype)
    u, v = uv[:, 0:1], uv[:, 1:2]
    val = torch.addcmul(torch.addcmul(a2 * (1.0 - u - v), u, a0), v, a1)
    out = attr.new_zeros(n_pix, n_chan).index_copy(0, pix, val).view(batch, height, width, n_chan)
    if not n_da:
        return out, attr.new_zeros(batch, height, width, 0)
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
