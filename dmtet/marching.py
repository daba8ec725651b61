"""Differentiable marching tetrahedra with kaolin's exact semantics.

Two entry points produce identical meshes (same vertex order, face order, values and gradients):

* ``marching_tetrahedra(vertices, tets, sdf, return_tet_idx=False)``: a drop-in for
  ``kaolin.ops.conversions.marching_tetrahedra``, including its return structure.
* ``marching_tets(grid, sdf, deform=None, outward=False)``: the fast path on a precomputed
  ``TetGrid``, batched, returning one frozen ``SurfaceMesh`` per sample.

Semantics (kaolin's, see docs/conventions.md):

* a grid vertex is occupied when ``sdf > 0`` (``sdf == 0`` is empty); a tet emits faces when
  1 to 3 of its corners are occupied;
* one welded output vertex per crossing edge (exactly one endpoint occupied), numbered in the
  lexicographic order of the sorted edge ``(a, b)``, ``a < b``, placed at the zero crossing
  ``x_a * (-s_b) / (s_a - s_b) + x_b * s_a / (s_a - s_b)``;
* faces of one-triangle tets first (in tet order), then both faces of each two-triangle tet;
  winding from ``dmtet.tables``: normals point towards increasing sdf on positively oriented tets,
  i.e. inwards for a positive-inside SDF. ``outward=True`` flips every face as GET3D does;
* gradients reach ``sdf`` and the vertex positions only through the zero-crossing interpolation;
  the topology is piecewise constant. Inputs are never modified.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._validate import (
    check_finite,
    check_float,
    check_index,
    check_index_range,
    check_same_device,
    check_tensor,
)
from .grid import TetGrid, tet_edge_topology
from .tables import triangle_table

__all__ = ["SurfaceMesh", "marching_tetrahedra", "marching_tets"]

_CORNER_WEIGHTS = (1, 2, 4, 8)
_MAX_PACKED_BATCH = 62  # samples whose occupancy bits share one int64


def _packed_dtype(batch: int) -> torch.dtype:
    """Smallest integer dtype holding one occupancy bit per sample (sign bit unused)."""
    for dtype, bits in ((torch.uint8, 8), (torch.int16, 15), (torch.int32, 31)):
        if batch <= bits:
            return dtype
    return torch.int64


@dataclass(frozen=True, eq=False)
class SurfaceMesh:
    """A triangle mesh extracted by marching tets.

    Attributes:
        vertices: float [V, 3], dtype and device of the grid positions; differentiable.
        faces: int64 [F, 3] vertex ids.
        tet_idx: int64 [F] id of the tet that emitted each face.
    """

    vertices: torch.Tensor
    faces: torch.Tensor
    tet_idx: torch.Tensor


def _zero_crossing(
    pos_a: torch.Tensor, pos_b: torch.Tensor, s_a: torch.Tensor, s_b: torch.Tensor
) -> torch.Tensor:
    """Point where the linear interpolation of (s_a, s_b) crosses zero on segment (pos_a, pos_b).

    Shapes: pos [M, 3], s [M]. One of s_a, s_b is > 0 and the other <= 0, so s_a - s_b != 0.
    """
    denominator = (s_a - s_b).unsqueeze(-1)
    return pos_a * (-s_b.unsqueeze(-1) / denominator) + pos_b * (s_a.unsqueeze(-1) / denominator)


def _case_index(occ_corners: torch.Tensor) -> torch.Tensor:
    """Case index sum_i occ[i] * 2^i of each tet; occ_corners bool [..., 4] -> int64 [...]."""
    weights = torch.tensor(_CORNER_WEIGHTS, dtype=torch.int64, device=occ_corners.device)
    return (occ_corners.to(torch.int64) * weights).sum(-1)


def _assemble_faces(
    case: torch.Tensor, corner_vertex_ids: torch.Tensor, tet_ids: torch.Tensor, tets_per_sample: list[int]
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Faces and source tets of the emitting tets of each sample, in kaolin's order.

    Args:
        case: int64 [M] case of each emitting tet (1..14), sample-major, in tet order per sample.
        corner_vertex_ids: int64 [M, 6] output vertex id of each local edge (only crossing ones are read).
        tet_ids: int64 [M] tet id of each emitting tet.
        tets_per_sample: number of emitting tets of each sample (sums to M).

    Returns:
        Per sample: faces int64 [F, 3] (one-triangle tets first, then both triangles of each
        two-triangle tet) and the emitting tet of each face, int64 [F].
    """
    rows = triangle_table(case.device).index_select(0, case)  # [M, 6], -1 padded
    triangles = torch.gather(corner_vertex_ids, 1, rows.clamp(min=0)).reshape(-1, 2, 3)
    two = rows[:, 3] >= 0
    one_idx, two_idx = torch.nonzero(~two).reshape(-1), torch.nonzero(two).reshape(-1)
    sample = torch.repeat_interleave(
        torch.arange(len(tets_per_sample), device=case.device),
        torch.tensor(tets_per_sample, device=case.device, dtype=torch.int64),
        output_size=case.shape[0],
    )
    ones_per_sample = torch.bincount(sample.index_select(0, one_idx), minlength=len(tets_per_sample)).tolist()
    twos_per_sample = [m - k for m, k in zip(tets_per_sample, ones_per_sample, strict=True)]
    faces_one = triangles[:, 0].index_select(0, one_idx).split(ones_per_sample)
    faces_two = triangles.index_select(0, two_idx).reshape(-1, 3).split([2 * k for k in twos_per_sample])
    tets_one = tet_ids.index_select(0, one_idx).split(ones_per_sample)
    tets_two = tet_ids.index_select(0, two_idx).repeat_interleave(2).split([2 * k for k in twos_per_sample])
    return [
        (torch.cat([f1, f2]), torch.cat([t1, t2]))
        for f1, f2, t1, t2 in zip(faces_one, faces_two, tets_one, tets_two, strict=True)
    ]


# --------------------------------------------------------------------------- kaolin drop-in
def _march_one(
    pos: torch.Tensor, tets: torch.Tensor, sdf: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """kaolin's per-call algorithm for one sample: the edge topology of the emitting tets is
    rebuilt every call (with a 1-D key instead of ``unique(dim=0)``, same order)."""
    with torch.no_grad():
        occ = sdf > 0
        occ_corners = occ[tets]
        occupied = occ_corners.sum(-1)
        valid = (occupied > 0) & (occupied < 4)
        valid_tets = tets[valid]
        edges, tet_edges = tet_edge_topology(valid_tets, pos.shape[0])
        crossing = occ[edges[:, 0]] != occ[edges[:, 1]]
        vertex_of_edge = torch.cumsum(crossing.to(torch.int64), 0) - 1
        crossing_edges = edges[crossing]
        case = _case_index(occ_corners[valid])
        tet_ids = torch.nonzero(valid).reshape(-1)
        ((faces, tet_idx),) = _assemble_faces(case, vertex_of_edge[tet_edges], tet_ids, [tet_ids.shape[0]])
    a, b = crossing_edges[:, 0], crossing_edges[:, 1]
    s = sdf.to(pos.dtype)
    verts = _zero_crossing(pos[a], pos[b], s[a], s[b])
    return verts, faces, tet_idx


def marching_tetrahedra(
    vertices: torch.Tensor, tets: torch.Tensor, sdf: torch.Tensor, return_tet_idx: bool = False
) -> list[tuple[torch.Tensor, ...]]:
    """Drop-in for ``kaolin.ops.conversions.marching_tetrahedra`` (same arguments, outputs, order).

    Args:
        vertices: float [B, N, 3] grid vertex positions (usually already deformed).
        tets: integer [T, 4] vertex ids, one topology shared by the batch.
        sdf: float [B, N] per-vertex values; ``sdf > 0`` is occupied. Must be finite.
        return_tet_idx: also return the id of the tet that emitted each face.

    Returns:
        kaolin's structure, a list of tuples over the batch:
        ``[(verts_0, ..., verts_{B-1}), (faces_0, ...)]`` plus ``(tet_idx_0, ...)`` when
        ``return_tet_idx``; ``verts_b`` float [V_b, 3] in the dtype of ``vertices``, ``faces_b`` int64
        [F_b, 3], ``tet_idx_b`` int64 [F_b]. Empty surfaces give shapes (0, 3), (0, 3) and (0,).
    """
    check_float("vertices", vertices, "[B, N, 3]", 3, 3)
    check_index("tets", tets, "[T, 4]", 2, 4)
    check_float("sdf", sdf, "[B, N]", 2)
    check_same_device(vertices=vertices, tets=tets, sdf=sdf)
    if sdf.shape != vertices.shape[:2]:
        raise ValueError(
            f"sdf: expected shape [B, N] = {tuple(vertices.shape[:2])} to match vertices [B, N, 3], "
            f"got {tuple(sdf.shape)}"
        )
    check_index_range("tets", tets, vertices.shape[1], "vertices")
    check_finite("sdf", sdf)
    tets = tets.to(torch.int64)
    per_sample = [_march_one(vertices[b], tets, sdf[b]) for b in range(vertices.shape[0])]
    if not return_tet_idx:
        per_sample = [item[:2] for item in per_sample]
    return list(zip(*per_sample, strict=True))


# --------------------------------------------------------------------------- fast grid path
def _check_grid_inputs(grid: TetGrid, sdf: torch.Tensor, deform: torch.Tensor | None) -> None:
    if not isinstance(grid, TetGrid):
        raise TypeError(f"grid: expected a dmtet.TetGrid, got {type(grid).__name__}")
    check_float("sdf", sdf, "[B, N]", 2)
    if sdf.shape[1] != grid.num_vertices:
        raise ValueError(
            f"sdf: expected shape [B, N] with N = {grid.num_vertices} grid vertices, got {tuple(sdf.shape)}"
        )
    check_same_device(grid=grid.vertices, sdf=sdf)
    check_finite("sdf", sdf)
    if deform is not None:
        check_tensor("deform", deform)
        expected = (sdf.shape[0], grid.num_vertices, 3)
        if not deform.is_floating_point() or (deform.shape != expected and deform.shape != expected[1:]):
            raise ValueError(
                f"deform: expected float offsets of shape [B, N, 3] = {expected} or [N, 3], "
                f"got {tuple(deform.shape)} {deform.dtype}"
            )
        check_same_device(grid=grid.vertices, deform=deform)
        check_finite("deform", deform)


def marching_tets(
    grid: TetGrid, sdf: torch.Tensor, deform: torch.Tensor | None = None, outward: bool = False
) -> list[SurfaceMesh]:
    """Marching tetrahedra on a precomputed grid, for a batch of fields.

    Identical to ``marching_tetrahedra(grid.vertices + deform, grid.tets, sdf, True)`` (same vertex
    and face order, values and gradients) but reuses the grid's edge topology and processes the
    whole batch at once.

    Args:
        grid: the tet grid (its device must match ``sdf``).
        sdf: float [B, N] per-vertex values, ``sdf > 0`` occupied (positive inside). Finite.
        deform: optional float offsets [B, N, 3] or [N, 3] added to ``grid.vertices`` (e.g. GET3D's
            ``tanh(d) / (tet_res * multiplier)``), differentiable.
        outward: flip every face (``faces[:, [0, 2, 1]]``, as GET3D does) so that normals point
            outwards for a positive-inside SDF on a positively oriented grid.

    Returns:
        One ``SurfaceMesh`` per sample; vertices in the dtype of the grid positions (after adding
        ``deform``).
    """
    _check_grid_inputs(grid, sdf, deform)
    batch, n = sdf.shape
    if batch > _MAX_PACKED_BATCH:  # occupancy bits of a whole chunk travel in one int64 per vertex
        return [
            mesh
            for start in range(0, batch, _MAX_PACKED_BATCH)
            for mesh in marching_tets(
                grid,
                sdf[start : start + _MAX_PACKED_BATCH],
                None if deform is None or deform.dim() == 2 else deform[start : start + _MAX_PACKED_BATCH],
                outward,
            )
        ]
    tet_columns, edge_columns = grid.index_columns
    with torch.no_grad():
        # Bit b of occ_bits[v] is sample b's occupancy of vertex v: one gather serves the batch.
        bits_dtype = _packed_dtype(batch)
        sample_mask = (1 << torch.arange(batch, device=sdf.device, dtype=torch.int64)).unsqueeze(-1)
        occ_bits = ((sdf > 0).to(torch.int64) * sample_mask).sum(0).to(bits_dtype)  # [N]
        sample_mask = sample_mask.to(bits_dtype)
        # Edge crossings and the per-sample output vertex id of each crossing edge.
        crossing_bits = occ_bits.index_select(0, edge_columns[0]) ^ occ_bits.index_select(0, edge_columns[1])
        crossing = (crossing_bits.unsqueeze(0) & sample_mask) != 0  # [B, E]
        vertex_of_edge = torch.cumsum(crossing, dim=1, dtype=torch.int32) - 1  # [B, E]
        cross_b, cross_e = torch.nonzero(crossing, as_tuple=True)  # sample-major, edges in order
        verts_per_sample = crossing.sum(dim=1).tolist()
        # Emitting tets (corners not all on one side), sample-major in tet order, and their cases.
        corner_bits = [occ_bits.index_select(0, column) for column in tet_columns]  # 4 x [T]
        mixed = (corner_bits[0] ^ corner_bits[1]) | (corner_bits[0] ^ corner_bits[2])
        mixed |= corner_bits[0] ^ corner_bits[3]
        emitting = (mixed.unsqueeze(0) & sample_mask) != 0  # [B, T]
        tet_b, tet_t = torch.nonzero(emitting, as_tuple=True)
        tets_per_sample = emitting.sum(dim=1).tolist()
        case = torch.zeros_like(tet_t)
        for k, bits in enumerate(corner_bits):
            case |= ((bits.index_select(0, tet_t).to(torch.int64) >> tet_b) & 1) << k
        flat_edges = grid.tet_edges.index_select(0, tet_t) + (tet_b * grid.edges.shape[0]).unsqueeze(-1)
        corner_ids = vertex_of_edge.reshape(-1).index_select(0, flat_edges.reshape(-1))
        corner_ids = corner_ids.reshape(-1, 6).to(torch.int64)  # [M, 6]

    a = edge_columns[0].index_select(0, cross_e)
    b = edge_columns[1].index_select(0, cross_e)
    s = sdf.to(grid.vertices.dtype)
    s_flat, offset = s.reshape(-1), cross_b * n
    s_a, s_b = s_flat.index_select(0, offset + a), s_flat.index_select(0, offset + b)
    if deform is None or deform.dim() == 2:
        pos = grid.vertices if deform is None else grid.vertices + deform
        pos_a, pos_b = pos.index_select(0, a), pos.index_select(0, b)
    else:
        pos = (grid.vertices + deform).reshape(-1, 3)
        pos_a, pos_b = pos.index_select(0, offset + a), pos.index_select(0, offset + b)
    verts = _zero_crossing(pos_a, pos_b, s_a, s_b)

    with torch.no_grad():
        assembled = _assemble_faces(case, corner_ids, tet_t, tets_per_sample)
    meshes = []
    for sample_verts, (faces, tet_idx) in zip(verts.split(verts_per_sample), assembled, strict=True):
        meshes.append(SurfaceMesh(sample_verts, faces[:, [0, 2, 1]] if outward else faces, tet_idx))
    return meshes
