"""SDF regularisers used with marching tets (GET3D / nvdiffrec), not part of kaolin."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._validate import check_float, check_index, check_index_range, check_same_device

__all__ = ["sdf_sign_reg"]


def sdf_sign_reg(sdf: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """GET3D's sign cross-entropy over the grid edges whose endpoints change sign.

    For every unique edge (i, j) of every sample with ``sign(s_i) != sign(s_j)`` (``torch.sign``, so
    an exact zero differs from both signs) the loss is
    ``BCEWithLogits(s_i, [s_j > 0]) + BCEWithLogits(s_j, [s_i > 0])``, averaged over the selected
    edges of the whole batch. It discourages needless sign flips (floating or internal faces).
    GET3D weights it by 0.01.

    Args:
        sdf: float [B, N] or [N] per-vertex values.
        edges: integer [E, 2] unique grid edges (``TetGrid.edges``).

    Returns:
        A float scalar in the dtype of ``sdf``; exactly 0 (still connected to ``sdf``) when no edge
        changes sign.
    """
    check_index("edges", edges, "[E, 2]", 2, 2)
    if sdf.dim() == 1:
        sdf = sdf.unsqueeze(0)
    check_float("sdf", sdf, "[B, N] or [N]", 2)
    check_same_device(sdf=sdf, edges=edges)
    check_index_range("edges", edges, sdf.shape[1], "vertices")
    s_i, s_j = sdf[:, edges[:, 0]], sdf[:, edges[:, 1]]
    mask = torch.sign(s_i) != torch.sign(s_j)
    s_i, s_j = s_i[mask], s_j[mask]
    if s_i.numel() == 0:
        return sdf.sum() * 0.0
    loss = F.binary_cross_entropy_with_logits(
        s_i, (s_j > 0).to(sdf.dtype)
    ) + F.binary_cross_entropy_with_logits(s_j, (s_i > 0).to(sdf.dtype))
    return loss
