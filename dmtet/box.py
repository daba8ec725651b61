"""The axis-aligned bounding box of a point set, as the centre and longest side that map it into
a unit box: ``unit = (points - center) / extent`` has longest side 1 and is centred on the origin.

This is the one box computation of the library: tet grids (:meth:`dmtet.TetGrid.from_tensors`),
source meshes and procedural shapes (``get3d.data``), the metrics' extent normalisation and the
reconstruction's Chamfer distance all use it, each with its own scale and re-centring rule.
"""

from __future__ import annotations

import torch

from ._validate import check_float

__all__ = ["box_center_extent"]


def box_center_extent(points: torch.Tensor, name: str = "points") -> tuple[torch.Tensor, float]:
    """Centre and longest side of the axis-aligned bounding box of ``points``.

    Args:
        points: float ``[N, 3]`` with ``N >= 1`` (any frame; the result is in the same frame).
        name: the argument name that error messages use.

    Returns:
        ``(center, extent)``: ``center`` float ``[3]`` (dtype and device of ``points``), the
        mid-point of the box; ``extent`` the box's longest side, a positive Python float.

    Raises:
        ValueError: no points, or all points at one location (extent 0), or a non-finite extent.
    """
    check_float(name, points, "[N, 3]", 2, 3)
    if points.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one point, got an empty [0, 3] tensor")
    lo, hi = points.min(dim=0).values, points.max(dim=0).values
    extent = float((hi - lo).max())
    if not 0.0 < extent < float("inf"):
        raise ValueError(
            f"{name}: expected points with a positive, finite extent, got extent {extent} "
            f"({points.shape[0]} points)"
        )
    return (lo + hi) / 2, extent
