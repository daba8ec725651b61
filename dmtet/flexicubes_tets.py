"""Interior tetrahedralisation of a FlexiCubes surface (kaolin's ``output_tetmesh=True``).

Two kinds of tets, surface ones first:

* for every crossing grid edge (one endpoint inside, ``sdf < 0``) the surface triangles of its quad
  (2, or 4 with ``QuadSplit.CENTER``) are coned to the inside endpoint;
* for every inside grid edge shared by four surface-or-inside cubes, each of the four pairs of
  face-adjacent cubes around it gives the tet (vertex of cube A, vertex of cube B, edge endpoints),
  where a cube's vertex is its centre when it is fully inside, else the dual vertex that
  ``tet_table`` assigns to the shared face. Pairs lacking a vertex are skipped.

Vertices: the surface vertices, then the inside grid vertices (grid order), then the centres of the
fully inside cubes (cube order).
"""

from __future__ import annotations

import torch

from .flexicubes_tables import CENTER_COLUMN, CUBE_CORNERS, CUBE_EDGES, tet_table

__all__ = ["tetrahedralize"]

# The four cubes around an edge come in cube order (last axis fastest); these pairs walk them
# around the edge: (0, 1), (1, 3), (3, 2), (2, 0).
_ADJACENT_PAIRS = (0, 1, 1, 3, 3, 2, 2, 0)


def _edge_axis(edge: int) -> int:
    a, b = CUBE_EDGES[edge]
    return next(k for k in range(3) if CUBE_CORNERS[a][k] != CUBE_CORNERS[b][k])


def _shared_faces(axis: int) -> list[int]:
    """Faces (2 * axis + side) through which each adjacent pair of cubes around an edge touches.

    The cubes around an edge along ``axis`` sit at offsets (p, q) in {0, 1}^2 on the two other axes
    (q fastest); of a pair differing along axis d, the lower cube touches with its side-1 face.
    """
    p_axis, q_axis = (k for k in range(3) if k != axis)
    offsets = [(0, 0), (0, 1), (1, 0), (1, 1)]
    faces = []
    for m, n in zip(_ADJACENT_PAIRS[0::2], _ADJACENT_PAIRS[1::2], strict=True):
        (pm, qm), (pn, qn) = offsets[m], offsets[n]
        d = p_axis if pm != pn else q_axis
        lower_is_m = (pm, qm) < (pn, qn)
        faces += [2 * d + (1 if lower_is_m else 0), 2 * d + (0 if lower_is_m else 1)]
    return faces


def tetrahedralize(
    grid_vertices: torch.Tensor,
    inside: torch.Tensor,
    cubes: torch.Tensor,
    surf: torch.Tensor,
    case: torch.Tensor,
    surface_vertices: torch.Tensor,
    faces: torch.Tensor,
    surf_edges: torch.Tensor,
    quad_edges: torch.Tensor,
    vd_of_slot: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tet mesh of the inside volume (internal; called by ``dmtet.flexicubes``).

    Args:
        grid_vertices: float [N, 3]; inside: bool [N]; cubes: int64 [C, 8]; surf: bool [C];
        case: int64 [S] resolved case of each surface cube; surface_vertices: float [V, 3];
        faces: int64 [F, 3], 2 or 4 consecutive per quad; surf_edges: int64 [E, 2];
        quad_edges: int64 [Q] crossing edge of each quad; vd_of_slot: int64 [S*12].

    Returns:
        vertices float [V + I + K, 3] and tets int64 [T, 4].
    """
    device = grid_vertices.device
    per_quad = faces.shape[0] // max(quad_edges.shape[0], 1)
    with torch.no_grad():
        inside_ids = torch.full((inside.shape[0],), -1, dtype=torch.int64, device=device)
        num_inside = int(inside.sum())
        inside_ids[inside] = torch.arange(num_inside, device=device) + surface_vertices.shape[0]
        ends = surf_edges.index_select(0, quad_edges)  # [Q, 2]
        inner_end = torch.where(inside[ends[:, 0]], ends[:, 0], ends[:, 1])
        apex = inside_ids[inner_end].repeat_interleave(per_quad)
        tets_surface = torch.cat((faces, apex[:, None]), dim=-1)

        full = inside[cubes].all(-1)
        kept = surf | full
        kept_cubes = cubes[kept]
        surf_k, full_k = surf[kept], full[kept]
        num_centres = int(full.sum())
        centre_base = surface_vertices.shape[0] + num_inside
        vertex_of = torch.full((kept_cubes.shape[0], 13), -1, dtype=torch.int64, device=device)
        vertex_of[surf_k, :12] = vd_of_slot.reshape(-1, 12)
        vertex_of[full_k, CENTER_COLUMN] = torch.arange(num_centres, device=device) + centre_base

        n = grid_vertices.shape[0]
        edge_cols = torch.tensor([c for e in CUBE_EDGES for c in e], device=device)
        pairs = kept_cubes.index_select(1, edge_cols).reshape(-1, 2)
        unique_keys, inverse, counts = torch.unique(
            pairs[:, 0] * n + pairs[:, 1], sorted=True, return_inverse=True, return_counts=True
        )
        unique_edges = torch.stack((unique_keys // n, unique_keys % n), dim=-1)
        both_inside = inside[unique_edges[:, 0]] & inside[unique_edges[:, 1]]
        mapping = torch.full_like(unique_keys, -1)
        mapping[both_inside] = torch.arange(int(both_inside.sum()), device=device)
        slot_mask = (counts[inverse] == 4) & both_inside[inverse]
        edge_ids, order = torch.sort(mapping[inverse][slot_mask], stable=True)
        slots = torch.nonzero(slot_mask).reshape(-1)[order]
        cube4 = (slots // 12).reshape(-1, 4)
        axis_of_edge = torch.tensor([_edge_axis(e) for e in range(12)], device=device)
        faces_of_axis = torch.tensor([_shared_faces(a) for a in range(3)], device=device)  # [3, 8]
        axis = axis_of_edge[(slots % 12).reshape(-1, 4)[:, 0]]
        shared = faces_of_axis[axis].reshape(-1)
        cube4x2 = cube4[:, list(_ADJACENT_PAIRS)].reshape(-1)
        case_k = torch.full((kept_cubes.shape[0],), 255, dtype=torch.int64, device=device)
        case_k[surf_k] = case
        column = tet_table(device)[case_k[cube4x2], shared]
        column = torch.where(column < 0, column + 13, column)  # -1 reads the (empty) centre column
        pair_vertices = vertex_of[cube4x2, column].reshape(-1, 2)
        valid = (pair_vertices >= 0).all(-1)
        inside_edge = inside_ids[unique_edges[both_inside][edge_ids]]
        tets_inside = torch.cat((pair_vertices, inside_edge), dim=-1)[valid]

    centres = grid_vertices[cubes[full].reshape(-1)].reshape(-1, 8, 3).mean(1)
    vertices = torch.cat((surface_vertices, grid_vertices[inside], centres))
    return vertices, torch.cat((tets_surface, tets_inside))
