"""Triplane feature sampling, exactly as GET3D's unified generator does it.

A triplane ``[B, 3C, R, R]`` holds three planes of ``C`` channels: ``P0 = [:, :C]``,
``P1 = [:, C:2C]``, ``P2 = [:, 2C:]``. A world point ``p`` is normalised by the object box,
``q = clamp((p - box_min) / box_size, 0, 1) * 2 - 1``, then each plane is sampled bilinearly
(``align_corners=False``, zero padding) at

* ``P0``: ``(u, v) = (q_x, q_y)``, ``P1``: ``(q_y, q_z)``, ``P2``: ``(q_x, q_z)``,

where ``u`` indexes the width (columns, left = -1) and ``v`` the height (rows, top = -1). The three
features are **summed**. The sampling coordinates are detached: no gradient flows to the points,
only to the planes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["PLANE_AXES", "normalize_points", "sample_triplane"]

#: The two world axes (u, v) that index each plane: (x, y), (y, z), (x, z).
PLANE_AXES: tuple[tuple[int, int], ...] = ((0, 1), (1, 2), (0, 2))


def normalize_points(points: torch.Tensor, box_min: float, box_size: float) -> torch.Tensor:
    """``clamp((points - box_min) / box_size, 0, 1) * 2 - 1``: world -> [-1, 1]^3, same shape."""
    if box_size <= 0:
        raise ValueError(f"box_size: expected > 0, got {box_size}")
    return ((points - box_min) / box_size).clamp(0.0, 1.0) * 2.0 - 1.0


def sample_triplane(
    planes: torch.Tensor, points: torch.Tensor, box_min: float, box_size: float
) -> torch.Tensor:
    """Sum of the three plane features at world points.

    Args:
        planes: float ``[B, 3C, R, R]``.
        points: float ``[B, P, 3]`` world positions (the object box is
            ``[box_min, box_min + box_size]^3``; points outside are clamped onto it).
        box_min, box_size: the box (GET3D: ``-scale/2`` and ``scale``).

    Returns:
        float ``[B, P, C]``; differentiable w.r.t. ``planes`` only.
    """
    if planes.ndim != 4 or planes.shape[1] % 3 != 0:
        raise ValueError(f"planes: expected [B, 3C, R, R], got shape {tuple(planes.shape)}")
    if points.ndim != 3 or points.shape[2] != 3 or points.shape[0] != planes.shape[0]:
        raise ValueError(
            f"points: expected [{planes.shape[0]}, P, 3] (batch of planes), got {tuple(points.shape)}"
        )
    q = normalize_points(points, box_min, box_size).detach().to(planes.dtype)
    feats = None
    for plane, (a, b) in zip(planes.chunk(3, dim=1), PLANE_AXES, strict=True):
        grid = torch.stack([q[..., a], q[..., b]], dim=-1).unsqueeze(1)  # [B, 1, P, 2]
        f = F.grid_sample(plane, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        feats = f if feats is None else feats + f
    return feats.squeeze(2).permute(0, 2, 1)
