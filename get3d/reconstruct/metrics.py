"""Geometry and silhouette metrics of a reconstruction, pure PyTorch.

* :func:`sample_surface`: area-weighted uniform points on a triangle mesh (seeded).
* :func:`point_chamfer`: symmetric Chamfer distance between two point sets, squared (kaolin's
  :func:`get3d.metrics.chamfer_distance`) and plain, with both directed means, on
  :func:`get3d.metrics.sided_distance`'s chunked nearest-neighbour search.
* :func:`mesh_chamfer`: both meshes normalised by the **ground truth's** box (longest side 1,
  centred), so scale and placement errors count (``separate=True`` normalises each mesh by its
  own box instead, as shape-generation metrics do).
* :func:`silhouette_iou`: intersection over union of binary masks per view.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from dmtet.box import box_center_extent
from get3d.metrics import sample_points, sided_distance
from get3d.metrics.pointcloud import face_areas

__all__ = ["ChamferResult", "mesh_chamfer", "point_chamfer", "sample_surface", "silhouette_iou"]


@dataclass(frozen=True)
class ChamferResult:
    """Symmetric Chamfer distance between two point sets A and B.

    Attributes:
        chamfer_l2: ``mean_a min_b |a-b|^2 + mean_b min_a |a-b|^2`` (kaolin's / GET3D's CD).
        chamfer_l1: ``(mean_a min_b |a-b| + mean_b min_a |a-b|) / 2``: the mean surface distance,
            in the units of the points.
        a_to_b, b_to_a: the two directed mean distances (accuracy and completeness).
    """

    chamfer_l2: float
    chamfer_l1: float
    a_to_b: float
    b_to_a: float


def _check_points(name: str, points: object) -> torch.Tensor:
    if not isinstance(points, torch.Tensor) or not points.is_floating_point():
        raise TypeError(f"{name}: expected a float tensor [P, 3], got {type(points).__name__}")
    if points.dim() != 2 or points.shape[1] != 3 or points.shape[0] == 0:
        raise ValueError(f"{name}: expected shape [P, 3] with P >= 1, got {tuple(points.shape)}")
    return points


def point_chamfer(a: torch.Tensor, b: torch.Tensor, *, chunk_elements: int = 1 << 22) -> ChamferResult:
    """Symmetric Chamfer distance between points ``a`` [P, 3] and ``b`` [Q, 3], in float64.

    The nearest neighbours come from :func:`get3d.metrics.sided_distance` (chunked: at most about
    ``chunk_elements`` pairwise distances exist at once); the distances are recomputed exactly
    from the chosen pairs.
    """
    a = _check_points("a", a).detach().to(torch.float64)
    b = _check_points("b", b).detach().to(a.device, torch.float64)
    ab, _ = sided_distance(a[None], b[None], chunk_elements=chunk_elements)
    ba, _ = sided_distance(b[None], a[None], chunk_elements=chunk_elements)
    a_to_b, b_to_a = float(ab.sqrt().mean()), float(ba.sqrt().mean())
    return ChamferResult(float(ab.mean() + ba.mean()), (a_to_b + b_to_a) / 2, a_to_b, b_to_a)


def sample_surface(
    vertices: torch.Tensor, faces: torch.Tensor, count: int, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``count`` points distributed uniformly by area over a triangle mesh.

    Args:
        vertices: float [V, 3]; faces: int [F, 3] with positive total area.
        count: number of points.
        generator: CPU generator for reproducible draws.

    Returns:
        float [count, 3] in the dtype and device of ``vertices``.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count: expected a positive int, got {count!r}")
    if not isinstance(faces, torch.Tensor) or faces.dim() != 2 or faces.shape[1] != 3 or faces.shape[0] == 0:
        raise ValueError(
            f"faces: expected a non-empty int tensor [F, 3], got {getattr(faces, 'shape', faces)!r}"
        )
    verts = vertices.detach().to(device="cpu", dtype=torch.float64).unsqueeze(0)  # [1, V, 3]
    faces = faces.to(device="cpu", dtype=torch.int64)
    areas = face_areas(verts, faces)
    if not float(areas.sum()) > 0:
        raise ValueError("faces: expected a mesh with positive area, got only degenerate triangles")
    points = sample_points(verts, faces, count, areas=areas, generator=generator).points[0]
    return points.to(device=vertices.device, dtype=vertices.dtype)


def mesh_chamfer(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    gt_vertices: torch.Tensor,
    gt_faces: torch.Tensor,
    *,
    points: int = 20000,
    seed: int = 0,
    separate: bool = False,
) -> ChamferResult:
    """Chamfer distance between a mesh and the ground truth, both in the GT's unit box.

    Each mesh is sampled with ``points`` area-uniform points (seeded). The points are then mapped
    by the transform that takes the ground truth's bounding box to a box of longest side 1
    centred on the origin (``separate=True``: each mesh by its own box). A mesh without faces
    raises ``ValueError``.

    Returns:
        :class:`ChamferResult` ``a = vertices`` (the reconstruction), ``b = gt``.
    """
    generator = torch.Generator().manual_seed(seed)
    a = sample_surface(vertices, faces, points, generator=generator).to(torch.float64)
    b = sample_surface(gt_vertices, gt_faces, points, generator=generator).to(torch.float64).to(a.device)
    gt_centre, gt_size = box_center_extent(gt_vertices.detach().to(a)[torch.unique(gt_faces)], "gt_vertices")
    if separate:
        centre, size = box_center_extent(vertices.detach().to(a)[torch.unique(faces)], "vertices")
        a = (a - centre) / size
    else:
        a = (a - gt_centre) / gt_size
    b = (b - gt_centre) / gt_size
    return point_chamfer(a, b)


def silhouette_iou(pred: torch.Tensor, target: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Per-view IoU of masks thresholded at ``threshold``.

    Args:
        pred, target: float [B, 1, H, W] in [0, 1] (same shape).
        threshold: a pixel is inside when its value is > threshold.

    Returns:
        float32 [B]; a view where both masks are empty scores 1.
    """
    if (
        not isinstance(pred, torch.Tensor)
        or not isinstance(target, torch.Tensor)
        or pred.shape != target.shape
    ):
        raise ValueError(
            f"pred, target: expected tensors of one shape [B, 1, H, W], got "
            f"{getattr(pred, 'shape', pred)!r} and {getattr(target, 'shape', target)!r}"
        )
    if pred.dim() != 4 or pred.shape[1] != 1:
        raise ValueError(f"pred: expected shape [B, 1, H, W], got {tuple(pred.shape)}")
    p, t = pred > threshold, target.to(pred.device) > threshold
    inter = (p & t).flatten(1).sum(1).to(torch.float32)
    union = (p | t).flatten(1).sum(1).to(torch.float32)
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))
