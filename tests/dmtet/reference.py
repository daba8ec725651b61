"""A slow, obviously-correct marching tetrahedra: one Python loop over the tets (tests only).

Independent of the library's vectorised assembly: welding goes through a dictionary keyed by the
sorted global edge, vertex ids follow the sorted keys, faces are collected tet by tet.
"""

from __future__ import annotations

import torch

from dmtet.tables import TET_EDGES, triangle_table


def reference_marching_tets(
    vertices: torch.Tensor, tets: torch.Tensor, sdf: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """vertices [N, 3], tets [T, 4], sdf [N] -> (verts [V, 3], faces [F, 3], tet_idx [F])."""
    table = triangle_table().tolist()
    occ = [bool(s > 0) for s in sdf.tolist()]
    singles, doubles = [], []  # (tet id, [(global edge key) x 3] per triangle)
    for t, tet in enumerate(tets.tolist()):
        case = sum(1 << i for i in range(4) if occ[tet[i]])
        row = [e for e in table[case] if e >= 0]
        tris = []
        for k in range(0, len(row), 3):
            tri = []
            for e in row[k : k + 3]:
                a, b = tet[TET_EDGES[e][0]], tet[TET_EDGES[e][1]]
                tri.append((min(a, b), max(a, b)))
            tris.append(tri)
        if len(tris) == 1:
            singles.append((t, tris))
        elif len(tris) == 2:
            doubles.append((t, tris))
    keys = sorted({key for _, tris in singles + doubles for tri in tris for key in tri})
    ids = {key: i for i, key in enumerate(keys)}
    faces, tet_idx = [], []
    for t, tris in singles + doubles:
        for tri in tris:
            faces.append([ids[key] for key in tri])
            tet_idx.append(t)
    points = []
    for a, b in keys:
        s_a, s_b = sdf[a], sdf[b]
        points.append((vertices[a] * (-s_b) + vertices[b] * s_a) / (s_a - s_b))
    verts = torch.stack(points) if points else vertices.new_zeros((0, 3))
    return (
        verts,
        torch.tensor(faces, dtype=torch.int64).reshape(-1, 3),
        torch.tensor(tet_idx, dtype=torch.int64),
    )
