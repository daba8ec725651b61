"""Initial SDFs for reconstruction: a sphere, or the visual hull of the target silhouettes.

The visual hull is the largest shape consistent with every silhouette: a point belongs to it when
it projects inside the mask in all views. Here it is made a field on the grid vertices,

    sdf(x) = 2 h (min over views of mask_v(project_v(x)) - 0.5),

with ``mask_v`` sampled bilinearly (points projecting outside an image read the nearest border
pixel, so an object cut by the frame is not carved where the views cannot see it) and ``h`` the grid's
median edge length, so the zero level set follows the 0.5 contour of the silhouettes and the
values stay within one edge length of it. It captures every convex feature and thin part seen
against the background; concavities are left to the photometric fit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dmtet import TetGrid

from .views import Views

__all__ = ["sphere_sdf", "visual_hull_sdf"]


def sphere_sdf(grid: TetGrid, radius: float) -> torch.Tensor:
    """``radius - |x|`` at the grid vertices, float [N] (positive inside)."""
    if not radius > 0:
        raise ValueError(f"radius: expected a positive number, got {radius!r}")
    return radius - grid.vertices.norm(dim=-1)


def visual_hull_sdf(grid: TetGrid, views: Views, scale: float | None = None) -> torch.Tensor:
    """The visual-hull field of the module docstring at the grid vertices, float [N].

    Args:
        grid: the tet grid (undeformed vertices; same device as ``views``).
        views: target views; only masks and cameras are used.
        scale: the field's magnitude ``h`` (default the grid's median edge length).

    Returns:
        float [N] in ``[-h, h]``, dtype of the grid; positive inside every silhouette.
    """
    if not isinstance(views, Views):
        raise TypeError(f"views: expected get3d.reconstruct.Views, got {type(views).__name__}")
    if views.images.device != grid.device:
        raise ValueError(f"views: expected the grid's device {grid.device}, got {views.images.device}")
    h = float(grid.edge_lengths().median()) if scale is None else float(scale)
    if not h > 0:
        raise ValueError(f"scale: expected a positive number, got {scale!r}")
    points = grid.vertices
    cameras = views.cameras.to(points.device, points.dtype)
    lowest = torch.ones(points.shape[0], dtype=points.dtype, device=points.device)
    for start in range(0, len(views), 8):  # bounded memory: 8 views x N points at a time
        cams = cameras[start : start + 8]
        masks = views.masks[start : start + 8].to(points.dtype)
        _, clip = cams.transform_points(points)  # [b, N, 4]
        w = clip[..., 3:4]
        ndc = clip[..., :2] / w.clamp_min(1e-8)
        # rendered images have row 0 at NDC y = -1, which is grid_sample's y = -1
        sampled = F.grid_sample(
            masks, ndc[:, None], mode="bilinear", padding_mode="border", align_corners=False
        )
        sampled = torch.where(w[:, None, :, 0] > 0, sampled[:, :, 0], torch.zeros_like(sampled[:, :, 0]))
        lowest = torch.minimum(lowest, sampled[:, 0].min(0).values)
    return 2.0 * h * (lowest - 0.5)
