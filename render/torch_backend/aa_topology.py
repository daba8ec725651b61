"""Edge adjacency for ``antialias``: the torch counterpart of nvdiffrast's topology hash.

``antialias`` decides whether a triangle edge is a silhouette by looking at the vertex across the
edge in the neighbouring face. nvdiffrast keeps that adjacency in a GPU hash keyed by the
unordered vertex pair; here it is a dense ``[F, 3]`` table built with one sort (``torch.unique``)
and two ``scatter_reduce`` passes, on the data's device, with nvdiffrast's insertion and lookup
rules (see :func:`antialias_construct_topology_hash_torch`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["AntialiasTopology", "antialias_construct_topology_hash_torch"]


@dataclass(frozen=True)
class AntialiasTopology:
    """Precomputed edge adjacency of a triangle list (nvdiffrast's ``topology_hash``).

    Attributes:
        opposite: ``[F, 3]`` int64. ``opposite[f, k]`` is the index of the vertex that lies across
            edge ``k`` of face ``f`` in the neighbouring face, or ``-1`` when the edge has no
            usable neighbour (a boundary edge, a degenerate edge, or a non-manifold edge whose
            first two distinct opposite vertices do not include this face's own). Edge ``k`` is
            the edge opposite corner ``k``: ``(tri[f, k+1], tri[f, k+2])`` (indices mod 3).
        num_faces: ``F``, checked against ``tri`` when the topology is reused.
    """

    opposite: Tensor
    num_faces: int


def check_tri(tri: Tensor, name: str = "tri") -> None:
    if not isinstance(tri, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of integer vertex indices, got {type(tri).__name__}")
    if tri.dtype.is_floating_point or tri.dtype.is_complex or tri.dtype == torch.bool:
        raise TypeError(f"{name} must have an integer dtype (int32 or int64), got {tri.dtype}")
    if tri.dim() != 2 or tri.shape[1] != 3:
        raise ValueError(f"{name} must have shape [F, 3], got {list(tri.shape)}")


def antialias_construct_topology_hash_torch(tri: Tensor) -> AntialiasTopology:
    """Build the edge adjacency that :func:`antialias_torch` uses to find silhouette edges.

    The torch counterpart of ``nvdiffrast.torch.antialias_construct_topology_hash``: compute it
    once for a fixed ``tri`` and pass it as ``topology_hash=`` to skip the rebuild on every call.
    The mesh must be welded (shared vertex indices); otherwise every edge is a boundary edge, i.e.
    a silhouette.

    Rules (nvdiffrast's): faces with a negative index or a repeated vertex index are not inserted.
    Every other face inserts its three edges, keyed by the unordered vertex pair, with the
    vertex opposite each edge; an edge keeps its first two *distinct* opposite vertices (lowest
    face index first). Looking up edge ``k`` of face ``f`` with its own opposite vertex ``r``
    returns the other stored vertex when ``r`` is one of the two, else ``-1``.

    Args:
        tri: ``[F, 3]`` integer vertex indices (any integer dtype), on any device.

    Returns:
        :class:`AntialiasTopology` on ``tri``'s device.
    """
    check_tri(tri)
    device = tri.device
    t = tri.long()
    num_faces = t.shape[0]
    if num_faces == 0:
        return AntialiasTopology(opposite=torch.empty(0, 3, dtype=torch.long, device=device), num_faces=0)

    # Edge k of each face: (t[:, k+1], t[:, k+2]) opposite t[:, k].
    ea = t.roll(-1, dims=1)
    eb = t.roll(-2, dims=1)
    lo = torch.minimum(ea, eb)
    hi = torch.maximum(ea, eb)
    stride = int(t.max().item()) + 2 if t.numel() else 1
    key = (lo + 1) * stride + (hi + 1)  # [F, 3]; +1 keeps negative indices from colliding

    nonneg = (t >= 0).all(dim=1)
    insert_face = nonneg & (t[:, 0] != t[:, 1]) & (t[:, 1] != t[:, 2]) & (t[:, 2] != t[:, 0])
    flat_key = key.reshape(-1)  # [3F], entry f * 3 + k: insertion order (face, then edge)
    own = t.reshape(-1)  # the vertex opposite each entry's edge in its own face
    uniq, group = torch.unique(flat_key, return_inverse=True)
    num_groups = uniq.numel()
    big = flat_key.numel()
    order = torch.arange(big, device=device)
    inserted = insert_face.repeat_interleave(3)
    # Slot 0: the first inserted opposite vertex of each edge; slot 1: the first one that differs.
    first = torch.full((num_groups,), big, dtype=torch.long, device=device)
    first.scatter_reduce_(0, group, torch.where(inserted, order, big), reduce="amin")
    slot0 = torch.where(first < big, take_rows(own, first.clamp(max=big - 1)), -1)
    differs = inserted & (own != take_rows(slot0, group))
    second = torch.full((num_groups,), big, dtype=torch.long, device=device)
    second.scatter_reduce_(0, group, torch.where(differs, order, big), reduce="amin")
    slot1 = torch.where(second < big, take_rows(own, second.clamp(max=big - 1)), -1)

    # Look up every face's edges (including faces that were not inserted).
    s0 = take_rows(slot0, group)
    s1 = take_rows(slot1, group)
    res = torch.where(s0 == own, s1, torch.where(s1 == own, s0, -1))
    usable = (lo.reshape(-1) != hi.reshape(-1)) & nonneg.repeat_interleave(3)
    res = torch.where(usable, res, -1)
    return AntialiasTopology(opposite=res.reshape(num_faces, 3), num_faces=num_faces)


def take_rows(src: Tensor, idx: Tensor) -> Tensor:
    """``src[idx]`` along dim 0 through ``index_select`` (much faster than advanced indexing on CPU)."""
    return src.index_select(0, idx.reshape(-1)).reshape(*idx.shape, *src.shape[1:])
