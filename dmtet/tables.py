"""Lookup tables of marching tetrahedra, derived from geometric rules rather than pasted.

A tet has four local vertices 0..3 and six local edges in kaolin's order::

    e0 = (0, 1)   e1 = (0, 2)   e2 = (0, 3)   e3 = (1, 2)   e4 = (1, 3)   e5 = (2, 3)

The case index of a tet is ``sum_i occ[i] * 2**i`` over its local vertices, where a vertex is
occupied when ``sdf > 0``. Each case emits 0, 1 or 2 triangles whose corners are crossing edges
(one endpoint occupied, the other not). The rules, checked on the reference tet
``(0,0,0), (1,0,0), (0,1,0), (0,0,1)``:

* **Winding**: the normal ``(p1 - p0) x (p2 - p0)`` points towards the occupied side, i.e.
  towards increasing sdf on a positively oriented tet.
* **1-vs-3 cases** (one vertex alone on its side): one triangle over the three edges incident to
  that vertex.
* **2-vs-2 cases**: the four crossing edges form a quad, split along the diagonal joining edges
  ``(0,2)`` and ``(1,3)`` when both cross, otherwise along ``(0,3)``-``(1,2)``. Both triangles start
  at the same diagonal corner ``d0``; the first is ``(d0, d1, x)`` and the second ``(d0, y, d1)``,
  where ``x < y`` are the two other crossing edges, and ``d0`` is the diagonal corner that makes the
  winding right.
* **Cyclic start of single triangles**: kaolin begins each single triangle at a particular edge
  that follows no geometric rule. Faces are only index-for-index identical to kaolin's when that
  start is kept, so it is recorded below as data (one edge per case), and the tests check the
  resulting faces against kaolin's published test vectors.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import torch

__all__ = ["TET_EDGES", "num_triangles_table", "triangle_table"]

#: Local vertex pairs of the six tet edges, in kaolin's order.
TET_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))

_REFERENCE_TET = ((0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))

# kaolin's first edge of the single triangle of each 1-vs-3 case (data, see the module docstring).
_SINGLE_TRIANGLE_FIRST_EDGE = {1: 1, 2: 4, 4: 3, 7: 4, 8: 4, 11: 1, 13: 3, 14: 2}


def _midpoint(edge: int) -> tuple[float, float, float]:
    a, b = TET_EDGES[edge]
    pa, pb = _REFERENCE_TET[a], _REFERENCE_TET[b]
    return tuple((pa[k] + pb[k]) / 2.0 for k in range(3))  # type: ignore[return-value]


def _faces_occupied_side(tri: tuple[int, int, int], occupied: list[int]) -> bool:
    """True when the triangle's right-hand normal points towards the occupied vertices."""
    p0, p1, p2 = (_midpoint(e) for e in tri)
    u = [p1[k] - p0[k] for k in range(3)]
    v = [p2[k] - p0[k] for k in range(3)]
    normal = (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])
    centroid = [(p0[k] + p1[k] + p2[k]) / 3.0 for k in range(3)]
    inside = [sum(_REFERENCE_TET[i][k] for i in occupied) / len(occupied) for k in range(3)]
    return sum(normal[k] * (inside[k] - centroid[k]) for k in range(3)) > 0


def _case_triangles(case: int) -> list[tuple[int, int, int]]:
    occupied = [i for i in range(4) if (case >> i) & 1]
    if len(occupied) in (0, 4):
        return []
    crossing = [e for e, (a, b) in enumerate(TET_EDGES) if ((case >> a) & 1) != ((case >> b) & 1)]
    if len(crossing) == 3:
        first = _SINGLE_TRIANGLE_FIRST_EDGE[case]
        rest = [e for e in crossing if e != first]
        for tri in ((first, rest[0], rest[1]), (first, rest[1], rest[0])):
            if _faces_occupied_side(tri, occupied):
                return [tri]
        raise AssertionError(f"no winding faces the occupied side in case {case}")
    diagonal = (1, 4) if 1 in crossing and 4 in crossing else (2, 3)
    x, y = sorted(e for e in crossing if e not in diagonal)
    for d0, d1 in (diagonal, diagonal[::-1]):
        first, second = (d0, d1, x), (d0, y, d1)
        if _faces_occupied_side(first, occupied):
            if not _faces_occupied_side(second, occupied):
                raise AssertionError(f"inconsistent quad winding in case {case}")
            return [first, second]
    raise AssertionError(f"no winding faces the occupied side in case {case}")


@lru_cache(maxsize=1)
def _tables() -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
    rows, counts = [], []
    for case in range(16):
        tris = _case_triangles(case)
        flat = list(itertools.chain.from_iterable(tris))
        rows.append(tuple(flat + [-1] * (6 - len(flat))))
        counts.append(len(tris))
    return tuple(rows), tuple(counts)


def triangle_table(device: torch.device | str | None = None) -> torch.Tensor:
    """Local edge ids of the triangles of each case.

    Returns:
        int64 tensor [16, 6]: row ``case`` holds ``3 * num_triangles`` local edge ids (0..5),
        padded with -1.
    """
    return torch.tensor(_tables()[0], dtype=torch.int64, device=device)


def num_triangles_table(device: torch.device | str | None = None) -> torch.Tensor:
    """Number of triangles (0, 1 or 2) each of the 16 cases emits, int64 tensor [16]."""
    return torch.tensor(_tables()[1], dtype=torch.int64, device=device)
