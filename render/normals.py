"""Face and vertex normals of triangle meshes, differentiable, batched.

Faces are wound counter-clockwise seen from outside, so ``(v1 - v0) x (v2 - v0)`` points outward.
Vertex normals are area-weighted: the unnormalised face normal (whose length is twice the face's
area) is added to each of its three corners, then the sum is normalised. This is the one
implementation used by the renderer's smooth shading (:func:`render.render_mesh`) and by the
mesh exporters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["face_normals", "safe_normalize", "vertex_normals"]


def _check(vertices: object, faces: object) -> None:
    if not isinstance(vertices, Tensor) or not vertices.is_floating_point():
        raise TypeError(f"vertices: expected a float tensor [..., V, 3], got {type(vertices).__name__}")
    if vertices.dim() < 2 or vertices.shape[-1] != 3:
        raise ValueError(f"vertices: expected shape [..., V, 3], got {tuple(vertices.shape)}")
    if not isinstance(faces, Tensor) or faces.dtype not in (torch.int64, torch.int32):
        got = getattr(faces, "dtype", type(faces).__name__)
        raise TypeError(f"faces: expected an int64 or int32 tensor [F, 3], got {got}")
    if faces.dim() != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces: expected shape [F, 3], got {tuple(faces.shape)}")


def safe_normalize(v: Tensor) -> Tensor:
    """``v / |v|`` along the last axis; a zero vector stays zero (``|v|`` is clamped at sqrt(tiny))."""
    return v / v.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(v.dtype).tiny ** 0.5)


def face_normals(vertices: Tensor, faces: Tensor) -> Tensor:
    """Unnormalised face normals ``(v1 - v0) x (v2 - v0)``, length twice the face area.

    Args:
        vertices: float ``[..., V, 3]`` (any leading batch dimensions share ``faces``).
        faces: int64/int32 ``[F, 3]`` indices into the vertices.

    Returns:
        ``[..., F, 3]`` in the dtype and device of ``vertices``.
    """
    _check(vertices, faces)
    v0 = vertices[..., faces[:, 0], :]
    v1 = vertices[..., faces[:, 1], :]
    v2 = vertices[..., faces[:, 2], :]
    return torch.linalg.cross(v1 - v0, v2 - v0, dim=-1)


def vertex_normals(vertices: Tensor, faces: Tensor, *, fallback: Sequence[float] | None = None) -> Tensor:
    """Area-weighted unit vertex normals of a mesh with outward (counter-clockwise) faces.

    Args:
        vertices: float ``[..., V, 3]`` (any leading batch dimensions share ``faces``).
        faces: int64/int32 ``[F, 3]`` indices into the vertices (``F`` may be 0).
        fallback: the normal of a vertex that is in no face or whose incident face normals
            cancel (sum shorter than sqrt of the dtype's smallest normal number); default: the
            zero vector. Exporters pass a unit vector (e.g. ``(0, 1, 0)``) because file formats
            want unit normals.

    Returns:
        ``[..., V, 3]`` in the dtype and device of ``vertices``; differentiable w.r.t. them.
    """
    summed = torch.zeros_like(vertices)
    fn = face_normals(vertices, faces)  # [..., F, 3]
    for k in range(3):
        summed = summed.index_add(-2, faces[:, k], fn)
    normals = safe_normalize(summed)
    if fallback is None:
        return normals
    default = torch.as_tensor(fallback, dtype=vertices.dtype, device=vertices.device)
    if default.shape != (3,):
        raise ValueError(f"fallback: expected three numbers (a unit vector), got {fallback!r}")
    length = summed.norm(dim=-1, keepdim=True)
    return torch.where(length > torch.finfo(vertices.dtype).tiny ** 0.5, normals, default.expand_as(normals))
