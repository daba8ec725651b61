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
    flat = rast.reshape(-1, 4)
    tid = flat[:, 3].detach().to(torch.int64) - 1
    pix = torch.nonzero(tid >= 0).squeeze(1)
    t = tid[pix]
    vidx = tri.to(torch.int64)[t]  # [n, 3]
    if attr.dim() == 3:
        b = pix // (height * width) if attr.shape[0] > 1 else torch.zeros_like(pix)
        a = attr[b[:, None], vidx]  # [n, 3, C]
    else:
        a = attr[vidx]
    u = flat[pix, 0:1].to(attr.dtype)
    v = flat[pix, 1:2].to(attr.dtype)
    a0, a1, a2 = a.unbind(1)
    val = u * a0 + v * a1 + (1.0 - u - v) * a2
    out = attr.new_zeros(n_pix, n_chan).index_copy(0, pix, val).view(batch, height, width, n_chan)
    if not n_da:
        return out, attr.new_zeros(batch, height, width, 0)
    assert rast_db is not None
    db = rast_db.reshape(-1, 4)[pix].to(attr.dtype)  # [n, 4]
    sel = torch.as_tensor(list(diff_attrs), dtype=torch.int64, device=attr.device)
    d0 = (a0 - a2)[:, sel]  # [n, K]
    d1 = (a1 - a2)[:, sel]
    dx = db[:, 0:1] * d0 + db[:, 2:3] * d1
    dy = db[:, 1:2] * d0 + db[:, 3:4] * d1
    da = torch.stack([dx, dy], dim=2).reshape(-1, n_da)
    out_da = attr.new_zeros(n_pix, n_da).index_copy(0, pix, da).view(batch, height, width, n_da)
    return out, out_da
