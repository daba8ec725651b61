"""Loss terms of multiview reconstruction (pure functions of tensors).

* :func:`silhouette_loss`: MSE between rendered (antialiased) and target masks;
* :func:`rgb_loss`: L1 between rendered and target colours;
* :func:`laplacian_smoothness`: uniform-Laplacian smoothness of a triangle mesh;
* :func:`empty_surface_loss`: GET3D's fix for a field that lost its surface;
* the SDF sign regulariser is :func:`dmtet.sdf_sign_reg`.
"""

from __future__ import annotations

import torch

__all__ = ["empty_surface_loss", "laplacian_smoothness", "rgb_loss", "silhouette_loss"]


def _check_pair(name: str, pred: torch.Tensor, target: torch.Tensor, channels: int) -> None:
    if not isinstance(pred, torch.Tensor) or not pred.is_floating_point():
        raise TypeError(f"pred: expected a float tensor [B, {channels}, H, W], got {type(pred).__name__}")
    if pred.dim() != 4 or pred.shape[1] != channels:
        raise ValueError(f"pred: expected shape [B, {channels}, H, W] for {name}, got {tuple(pred.shape)}")
    if not isinstance(target, torch.Tensor) or target.shape != pred.shape:
        shape = tuple(target.shape) if isinstance(target, torch.Tensor) else type(target).__name__
        raise ValueError(f"target: expected shape {tuple(pred.shape)} (pred's), got {shape}")


def silhouette_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of masks.

    Args:
        pred: float [B, 1, H, W] rendered coverage in [0, 1] (the antialiased mask, whose gradient
            moves silhouette vertices).
        target: float [B, 1, H, W] target coverage in [0, 1].

    Returns:
        Scalar ``mean((pred - target)^2)`` in [0, 1].
    """
    _check_pair("silhouette_loss", pred, target, 1)
    return (pred - target.to(pred)).square().mean()


def rgb_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of colour images (robust to the few pixels lighting cannot explain).

    Args:
        pred: float [B, 3, H, W] rendered RGB in [-1, 1], background included.
        target: float [B, 3, H, W] target RGB in [-1, 1].

    Returns:
        Scalar ``mean(|pred - target|)`` in [0, 2].
    """
    _check_pair("rgb_loss", pred, target, 3)
    return (pred - target.to(pred)).abs().mean()


def laplacian_smoothness(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Mean squared length of the uniform Laplacian ``mean(neighbours) - v`` over the vertices.

    Neighbours are the vertices sharing a face edge (each counted once). Vertices used by no face
    are ignored. Zero for an empty mesh (still connected to ``vertices``). Units: squared
    positions; translation and rotation invariant, zero only where every vertex is the centroid
    of its ring (e.g. a flat regular grid in its interior).

    Args:
        vertices: float [V, 3].
        faces: int64 [F, 3].

    Returns:
        Scalar in the dtype of ``vertices``.
    """
    if not isinstance(vertices, torch.Tensor) or vertices.dim() != 2 or vertices.shape[1] != 3:
        raise ValueError(
            f"vertices: expected a float tensor [V, 3], got {getattr(vertices, 'shape', vertices)!r}"
        )
    if not isinstance(faces, torch.Tensor) or faces.dim() != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces: expected an int tensor [F, 3], got {getattr(faces, 'shape', faces)!r}")
    if faces.shape[0] == 0:
        return vertices.sum() * 0.0
    n = vertices.shape[0]
    pairs = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]).to(torch.int64)
    lo, hi = pairs.min(1).values, pairs.max(1).values
    key = torch.unique(lo * n + hi)
    a, b = key // n, key % n
    src = torch.cat([a, b])
    dst = torch.cat([b, a])
    degree = torch.zeros(n, dtype=vertices.dtype, device=vertices.device).index_add_(
        0, src, torch.ones_like(src, dtype=vertices.dtype)
    )
    total = torch.zeros_like(vertices).index_add(0, src, vertices[dst])
    used = degree > 0
    lap = total[used] / degree[used, None] - vertices[used]
    return lap.square().sum(-1).mean()


def empty_surface_loss(
    sdf: torch.Tensor, boundary_idx: torch.Tensor, center_idx: torch.Tensor
) -> torch.Tensor:
    """GET3D's empty-shape fix: a pull back towards a surface when every vertex has one sign.

    All ``sdf <= 0`` (nothing occupied): ``relu(-sdf[center]) + relu(-sdf).mean()`` pushes the centre
    inside. All ``sdf > 0`` (the box is full): ``relu(sdf[boundary]).mean()`` pushes the box
    boundary outside. Otherwise exactly 0 (still connected to ``sdf``).

    Args:
        sdf: float [N] (positive inside).
        boundary_idx, center_idx: int64 [Nb], [1] from :class:`dmtet.TetGrid`.
    """
    if not bool((sdf > 0).any()):
        return torch.relu(-sdf[center_idx]).sum() + torch.relu(-sdf).mean()
    if bool((sdf > 0).all()):
        return torch.relu(sdf[boundary_idx]).mean()
    return sdf.sum() * 0.0
