"""Coarse-to-fine transfer of per-vertex fields between tet grids by barycentric interpolation.

The field marching tets sees on a grid is piecewise linear over its tets, so the natural way to
carry it to a finer grid is to evaluate that same piecewise-linear function at the fine vertices:
find the coarse tet containing each fine vertex and blend the coarse values with the vertex's
barycentric coordinates. This is exact for any field linear in space, and it carries the
deformation consistently: a fine vertex given the interpolated SDF *and* the interpolated offset
lands exactly where the coarse deformation map sends it, holding the coarse SDF value there.

Point location uses a uniform bucket grid over the tets' bounding boxes, so it costs
``O(P * tets per bucket)`` instead of ``O(P * T)``. Points outside every tet (only possible when the
two grids do not cover the same box) take the tet whose barycentrics are least negative, i.e. the
field is extrapolated linearly from the nearest tet, which is still exact for linear fields.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dmtet import TetGrid

__all__ = ["PointLocation", "interpolate_field", "locate_points", "upsample_field"]

_CHUNK = 65536  # query points handled per batch (bounds memory: chunk x candidates x 4)


@dataclass(frozen=True, eq=False)
class PointLocation:
    """Where query points lie in a tet grid.

    Attributes:
        tet: int64 [P] id of the containing (or nearest) tet.
        weights: float64 [P, 4] barycentric coordinates in that tet (sum to 1; all >= 0 inside).
        inside: bool [P], True where the point is inside its tet up to a 1e-9 tolerance.
    """

    tet: torch.Tensor
    weights: torch.Tensor
    inside: torch.Tensor


def _barycentric(points: torch.Tensor, origin: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
    """Barycentrics [..., 4] of points [..., 3] in tets given by v0 [..., 3] and inv(E) [..., 3, 3]."""
    rest = torch.einsum("...ij,...j->...i", inverse, points - origin)
    return torch.cat([1.0 - rest.sum(-1, keepdim=True), rest], dim=-1)


def locate_points(grid: TetGrid, points: torch.Tensor) -> PointLocation:
    """Find the tet of ``grid`` containing each point and its barycentric coordinates.

    Args:
        grid: the tet grid (its undeformed ``vertices``); tets must be non-degenerate.
        points: float [P, 3] query points in the grid's frame, on the grid's device.

    Returns:
        :class:`PointLocation` (computed in float64 whatever the input dtype).
    """
    if not isinstance(grid, TetGrid):
        raise TypeError(f"grid: expected a dmtet.TetGrid, got {type(grid).__name__}")
    if not isinstance(points, torch.Tensor) or not points.is_floating_point():
        raise TypeError(f"points: expected a floating-point tensor [P, 3], got {type(points).__name__}")
    if points.dim() != 2 or points.shape[1] != 3:
        raise ValueError(f"points: expected shape [P, 3], got {tuple(points.shape)}")
    if points.device != grid.device:
        raise ValueError(f"points: expected device {grid.device} (the grid's), got {points.device}")
    device = grid.device
    verts = grid.vertices.to(torch.float64)
    corners = verts[grid.tets]  # [T, 4, 3]
    edges = (corners[:, 1:] - corners[:, :1]).transpose(1, 2)  # [T, 3, 3], columns v_i - v0
    det = torch.linalg.det(edges)
    if bool((det.abs() <= 1e-14).any()):
        raise ValueError("grid: expected non-degenerate tets, got tets of zero volume")
    inverse = torch.linalg.inv(edges)
    origin = corners[:, 0]

    # bucket grid: about one bucket per tet, tets registered in every bucket their box touches
    lo, hi = verts.min(0).values, verts.max(0).values
    cells = max(1, round(grid.num_tets ** (1.0 / 3.0) / 2))
    size = (hi - lo).clamp_min(1e-12) / cells

    def cell_of(x: torch.Tensor) -> torch.Tensor:
        return ((x - lo) / size).floor().to(torch.int64).clamp(0, cells - 1)

    box_lo, box_hi = cell_of(corners.min(1).values), cell_of(corners.max(1).values)
    span = int((box_hi - box_lo).max()) + 1
    offsets = torch.stack(
        torch.meshgrid(*(torch.arange(span, device=device),) * 3, indexing="ij"), dim=-1
    ).reshape(-1, 3)
    candidate = box_lo[:, None, :] + offsets[None]  # [T, span^3, 3]
    valid = (candidate <= box_hi[:, None, :]).all(-1)
    tet_of_pair = torch.arange(grid.num_tets, device=device)[:, None].expand_as(valid)[valid]
    cell_ids = candidate[valid] @ torch.tensor([cells * cells, cells, 1], device=device)
    order = torch.argsort(cell_ids, stable=True)
    bucket_tets = tet_of_pair[order]
    counts = torch.bincount(cell_ids, minlength=cells**3)
    starts = torch.cumsum(counts, 0) - counts
    width = int(counts.max())

    pts = points.detach().to(torch.float64)
    tet_out, weight_out = [], []
    for chunk in pts.split(_CHUNK):
        c = cell_of(chunk) @ torch.tensor([cells * cells, cells, 1], device=device)
        slot = torch.arange(width, device=device)
        present = slot[None] < counts[c][:, None]  # [p, width]
        index = (starts[c][:, None] + slot[None]).clamp(max=bucket_tets.shape[0] - 1)
        tets = bucket_tets[index]  # [p, width]
        bary = _barycentric(chunk[:, None, :], origin[tets], inverse[tets])  # [p, width, 4]
        score = bary.min(-1).values.masked_fill(~present, -torch.inf)
        best = score.argmax(-1)
        tet_out.append(tets.gather(1, best[:, None]).squeeze(1))
        weight_out.append(bary.gather(1, best[:, None, None].expand(-1, 1, 4)).squeeze(1))
    tet = torch.cat(tet_out) if tet_out else torch.zeros(0, dtype=torch.int64, device=device)
    weights = torch.cat(weight_out) if weight_out else torch.zeros(0, 4, dtype=torch.float64, device=device)
    # bucket candidates may miss the true nearest tet of a point outside the grid; fall back to an
    # exhaustive search for those few points only (never hit when both grids fill the same box)
    outside = weights.min(-1).values < -1e-9
    if bool(outside.any()):
        idx = torch.nonzero(outside).reshape(-1)
        for i in idx.tolist():
            bary = _barycentric(pts[i][None], origin, inverse)  # [T, 4]
            best = int(bary.min(-1).values.argmax())
            tet[i], weights[i] = best, bary[best]
    inside = weights.min(-1).values >= -1e-9
    return PointLocation(tet=tet, weights=weights, inside=inside)


def interpolate_field(grid: TetGrid, values: torch.Tensor, location: PointLocation) -> torch.Tensor:
    """Evaluate the piecewise-linear field ``values`` of ``grid`` at located points.

    Args:
        grid: the grid ``values`` live on.
        values: float [N] or [N, C] per-vertex values.
        location: from :func:`locate_points` on the same grid.

    Returns:
        float [P] or [P, C] in the dtype of ``values``; differentiable with respect to ``values``.
    """
    if not isinstance(values, torch.Tensor) or not values.is_floating_point():
        raise TypeError(
            f"values: expected a floating-point tensor [N] or [N, C], got {type(values).__name__}"
        )
    if values.dim() not in (1, 2) or values.shape[0] != grid.num_vertices:
        raise ValueError(
            f"values: expected shape [N] or [N, C] with N = {grid.num_vertices}, got {tuple(values.shape)}"
        )
    squeeze = values.dim() == 1
    v = values[:, None] if squeeze else values
    corner_values = v[grid.tets[location.tet]]  # [P, 4, C]
    out = (corner_values * location.weights.to(v.dtype)[..., None]).sum(1)
    return out[:, 0] if squeeze else out


def upsample_field(coarse: TetGrid, values: torch.Tensor, fine: TetGrid) -> torch.Tensor:
    """Carry per-vertex ``values`` [N_coarse(, C)] of ``coarse`` to the vertices of ``fine``.

    Barycentric interpolation in the coarse tets at the fine grid's undeformed vertices (see the
    module docstring); exact for fields linear in space. Returns [N_fine(, C)], dtype of ``values``.
    """
    if not isinstance(fine, TetGrid):
        raise TypeError(f"fine: expected a dmtet.TetGrid, got {type(fine).__name__}")
    location = locate_points(coarse, fine.vertices.to(device=coarse.device))
    return interpolate_field(coarse, values, location)
