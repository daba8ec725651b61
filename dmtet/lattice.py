"""Deterministic tetrahedralisations of the cube [-0.5, 0.5]^3, built without data files.

Two lattices, both conforming (every interior face is shared by exactly two tets) and positively
oriented (``((v1 - v0) x (v2 - v0)) . (v3 - v0) > 0``):

* ``bcc_lattice(n)``: the body-centred-cubic tetrahedralisation, isotropic like the Quartet grids
  GET3D ships. Vertices are the ``(n+1)^3`` cell corners, the ``n^3`` cell centres and the
  ``6 n^2`` centres of the cells' faces on the box boundary (which make the box faces flat). Each
  interior cell face contributes four tets (two cell centres and one face edge each), each
  boundary cell face four half-tets (its cell centre, its face centre and one face edge).
  ``n = 35`` gives 96,881 vertices and 529,200 tets with a mean edge length of about 0.026: the
  size of GET3D's default ``tet_res 90`` grid (98,653 vertices, 532,314 tets, mean edge 0.0255).
* ``cube_lattice(n)``: the regular ``n^3`` cube grid, each cube split into 6 tets around its main
  diagonal (Kuhn / Freudenthal split), ``(n+1)^3`` vertices and ``6 n^3`` tets.

Vertex order: corners in lexicographic (x, y, z) order with z fastest, then (BCC only) cell
centres in the same order, then boundary face centres side by side (-x, +x, -y, +y, -z, +z).
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["bcc_lattice", "cube_lattice", "signed_volumes"]


def signed_volumes(vertices: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """Six times the signed volume of each tet, ``((v1-v0) x (v2-v0)) . (v3-v0)``; shape [T]."""
    v = vertices[tets]
    return np.einsum("ij,ij->i", np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]), v[:, 3] - v[:, 0])


def _orient_positive(vertices: np.ndarray, tets: np.ndarray) -> np.ndarray:
    flip = signed_volumes(vertices, tets) < 0
    tets = tets.copy()
    tets[flip, 2], tets[flip, 3] = tets[flip, 3], tets[flip, 2].copy()
    return tets


def _check_resolution(resolution: int) -> None:
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 1:
        raise ValueError(f"resolution: expected an integer >= 1 (cells per side), got {resolution!r}")


def _corner_ids(n: int) -> np.ndarray:
    return np.arange((n + 1) ** 3, dtype=np.int64).reshape(n + 1, n + 1, n + 1)


def _corner_positions(n: int) -> np.ndarray:
    ax = np.arange(n + 1, dtype=np.float64) / n - 0.5
    return np.stack(np.meshgrid(ax, ax, ax, indexing="ij"), axis=-1).reshape(-1, 3)


def cube_lattice(resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Regular cube grid split into 6 tets per cube.

    Args:
        resolution: cubes per side, ``n >= 1``.

    Returns:
        ``(vertices, tets)``: float64 [(n+1)^3, 3] in [-0.5, 0.5]^3 and int64 [6 n^3, 4].
    """
    _check_resolution(resolution)
    n = int(resolution)
    ids = _corner_ids(n)
    i, j, k = np.meshgrid(*(np.arange(n),) * 3, indexing="ij")
    base = np.stack([i.ravel(), j.ravel(), k.ravel()], axis=-1)  # [n^3, 3] cube origins

    def corner(offset: np.ndarray) -> np.ndarray:
        p = base + offset
        return ids[p[:, 0], p[:, 1], p[:, 2]]

    eye = np.eye(3, dtype=np.int64)
    tets = []
    for a, b, _ in itertools.permutations(range(3)):
        path = [np.zeros(3, np.int64), eye[a], eye[a] + eye[b], np.ones(3, np.int64)]
        tets.append(np.stack([corner(p) for p in path], axis=-1))
    vertices = _corner_positions(n)
    tets = np.stack(tets, axis=1).reshape(-1, 4)  # the 6 tets of a cube stay together
    return vertices, _orient_positive(vertices, tets)


def _pick(
    table: np.ndarray, axis: int, along: np.ndarray, first: np.ndarray, second: np.ndarray
) -> np.ndarray:
    """``table[i, j, k]`` with index ``along`` on ``axis`` and ``first``, ``second`` on the other two axes."""
    b, c = [d for d in range(3) if d != axis]
    idx: list[np.ndarray] = [along, along, along]
    idx[b], idx[c] = first, second
    return table[idx[0], idx[1], idx[2]]


def bcc_lattice(resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Body-centred-cubic tetrahedralisation of [-0.5, 0.5]^3.

    Args:
        resolution: cubic cells per side, ``n >= 1``.

    Returns:
        ``(vertices, tets)``: float64 [(n+1)^3 + n^3 + 6 n^2, 3] in [-0.5, 0.5]^3 and
        int64 [12 n^3 + 12 n^2, 4].
    """
    _check_resolution(resolution)
    n = int(resolution)
    corners = _corner_ids(n)
    n_corners = (n + 1) ** 3
    centres = n_corners + np.arange(n**3, dtype=np.int64).reshape(n, n, n)
    ax = (np.arange(n, dtype=np.float64) + 0.5) / n - 0.5
    centre_pos = np.stack(np.meshgrid(ax, ax, ax, indexing="ij"), axis=-1).reshape(-1, 3)

    tets: list[np.ndarray] = []
    face_pos: list[np.ndarray] = []
    next_id = n_corners + n**3
    for axis in range(3):
        b, c = [d for d in range(3) if d != axis]
        # The four edges of a face normal to `axis`, as offsets (db, dc) of their two corners.
        quad = [(0, 0), (1, 0), (1, 1), (0, 1)]
        edges = [(quad[q], quad[(q + 1) % 4]) for q in range(4)]

        # Interior faces: between cells ia and ia + 1 along `axis`.
        if n > 1:
            ia, jb, jc = (
                g.ravel() for g in np.meshgrid(np.arange(n - 1), np.arange(n), np.arange(n), indexing="ij")
            )
            c1, c2 = _pick(centres, axis, ia, jb, jc), _pick(centres, axis, ia + 1, jb, jc)
            for p, q in edges:
                tets.append(
                    np.stack(
                        [
                            c1,
                            c2,
                            _pick(corners, axis, ia + 1, jb + p[0], jc + p[1]),
                            _pick(corners, axis, ia + 1, jb + q[0], jc + q[1]),
                        ],
                        -1,
                    )
                )
        # Boundary faces: the low side (plane 0) and the high side (plane n).
        jb, jc = (g.ravel() for g in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
        for side in (0, n):
            ia = np.full_like(jb, 0 if side == 0 else n - 1)
            face_ids = next_id + np.arange(n * n, dtype=np.int64)
            next_id += n * n
            pos = np.empty((n * n, 3))
            pos[:, axis] = side / n - 0.5
            pos[:, b] = (jb + 0.5) / n - 0.5
            pos[:, c] = (jc + 0.5) / n - 0.5
            face_pos.append(pos)
            c1 = _pick(centres, axis, ia, jb, jc)
            for p, q in edges:
                plane = np.full_like(jb, side)
                tets.append(
                    np.stack(
                        [
                            c1,
                            face_ids,
                            _pick(corners, axis, plane, jb + p[0], jc + p[1]),
                            _pick(corners, axis, plane, jb + q[0], jc + q[1]),
                        ],
                        -1,
                    )
                )

    vertices = np.concatenate([_corner_positions(n), centre_pos, *face_pos], axis=0)
    return vertices, _orient_positive(vertices, np.concatenate(tets, axis=0))
