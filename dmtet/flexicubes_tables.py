"""Lookup tables of FlexiCubes (dual marching cubes), derived from rules rather than pasted.

A cube has eight local corners, numbered with x fastest, and twelve local edges in kaolin's order::

    corner i = (i & 1, (i >> 1) & 1, (i >> 2) & 1)
    edges    = 0-1, 1-5, 4-5, 0-4, 2-3, 3-7, 6-7, 2-6, 2-0, 3-1, 7-5, 6-4

A corner is *inside* when its scalar value is negative (FlexiCubes' convention, the opposite of
marching tets' occupancy). The case of a cube is ``sum_i inside[i] * 2**i``.

The rules, each checked entry for entry against kaolin's published tables in
``tests/dmtet/test_flexicubes_tables.py``:

* **Dual vertices** (``dmc_table``, ``num_vd_table``): inside corners are connected through cube
  edges only, outside corners through edges and face diagonals. Every crossing edge joins one
  inside component to one outside component; the crossing edges that join the same pair of
  components form one group, i.e. one dual vertex. Groups are ordered by (lowest corner of the
  inside component, lowest corner of the outside component); each group lists its edges in
  increasing order, padded with -1 to 7 edges, and each case to 4 groups.
* **Ambiguity check** (``check_table``, cases C16/C19 of the paper's supplement): a case is flagged
  when it has exactly one ambiguous face (its two inside corners are diagonal) and still a single
  dual vertex. The row is ``[1, dx, dy, dz, 255 - case]`` where ``(dx, dy, dz)`` is the outward
  normal of the ambiguous face, i.e. the offset of the neighbouring cube that shares it, and
  ``255 - case`` is the complement case whose grouping resolves the face the other way.
* **Tetrahedralisation** (``tet_table``): for each case and each cube face (0: x=0, 1: x=1,
  2: y=0, 3: y=1, 4: z=0, 5: z=1), the cube edge whose dual vertex represents the cube on that
  face: the first edge of the last group with a crossing edge on the face; with no crossing edge
  on the face, the first edge of the only group, or -1 when there are several. The empty case is
  all -1 and the full case is all 12 (the cube centre).
"""

from __future__ import annotations

from functools import lru_cache

import torch

__all__ = [
    "CUBE_CORNERS",
    "CUBE_EDGES",
    "check_table",
    "dmc_table",
    "num_vd_table",
    "tet_table",
]

#: Local corner offsets (x, y, z), x fastest, as kaolin orders them.
CUBE_CORNERS: tuple[tuple[int, int, int], ...] = tuple((i & 1, (i >> 1) & 1, (i >> 2) & 1) for i in range(8))

#: Local corner pairs of the twelve cube edges, in kaolin's order (y edges point towards -y).
CUBE_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1),
    (1, 5),
    (4, 5),
    (0, 4),
    (2, 3),
    (3, 7),
    (6, 7),
    (2, 6),
    (2, 0),
    (3, 1),
    (7, 5),
    (6, 4),
)

#: Cube faces as (axis, side), in the order ``tet_table`` and the tetrahedralisation use.
CUBE_FACES: tuple[tuple[int, int], ...] = ((0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1))

MAX_DUAL_VERTICES = 4
MAX_GROUP_EDGES = 7
CENTER_COLUMN = 12


def _manhattan(a: int, b: int) -> int:
    return sum(abs(p - q) for p, q in zip(CUBE_CORNERS[a], CUBE_CORNERS[b], strict=True))


def _components(corners: list[int], max_step: int) -> list[frozenset[int]]:
    """Connected components of ``corners`` where two corners touch when 0 < |a - b|_1 <= max_step."""
    left, out = set(corners), []
    while left:
        stack = [left.pop()]
        comp = set(stack)
        while stack:
            a = stack.pop()
            for b in [b for b in left if _manhattan(a, b) <= max_step]:
                left.remove(b)
                comp.add(b)
                stack.append(b)
        out.append(frozenset(comp))
    return out


def _inside(case: int, corner: int) -> bool:
    return bool((case >> corner) & 1)


def _groups(case: int) -> list[list[int]]:
    """Crossing edges of ``case`` grouped by dual vertex, in kaolin's order (see module docstring)."""
    inside = _components([c for c in range(8) if _inside(case, c)], 1)
    outside = _components([c for c in range(8) if not _inside(case, c)], 2)
    groups: dict[tuple[int, int], list[int]] = {}
    for e, (a, b) in enumerate(CUBE_EDGES):
        if _inside(case, a) == _inside(case, b):
            continue
        i, o = (a, b) if _inside(case, a) else (b, a)
        key = (min(next(c for c in inside if i in c)), min(next(c for c in outside if o in c)))
        groups.setdefault(key, []).append(e)
    return [sorted(groups[key]) for key in sorted(groups)]


def _face_edges(axis: int, side: int) -> set[int]:
    return {
        e
        for e, (a, b) in enumerate(CUBE_EDGES)
        if CUBE_CORNERS[a][axis] == side and CUBE_CORNERS[b][axis] == side
    }


def _ambiguous_faces(case: int) -> list[tuple[int, int]]:
    """Faces whose inside corners are exactly two diagonal ones."""
    out = []
    for axis, side in CUBE_FACES:
        ins = [c for c in range(8) if CUBE_CORNERS[c][axis] == side and _inside(case, c)]
        if len(ins) == 2 and _manhattan(*ins) == 2:
            out.append((axis, side))
    return out


def _tet_row(case: int) -> list[int]:
    if case == 0:
        return [-1] * 6
    if case == 255:
        return [CENTER_COLUMN] * 6
    groups = _groups(case)
    row = []
    for axis, side in CUBE_FACES:
        on_face = [g for g in groups if set(g) & _face_edges(axis, side)]
        if on_face:
            row.append(on_face[-1][0])
        else:
            row.append(groups[0][0] if len(groups) == 1 else -1)
    return row


def _check_row(case: int) -> list[int]:
    faces = _ambiguous_faces(case)
    if len(faces) != 1 or len(_groups(case)) != 1:
        return [0, 0, 0, 0, 0]
    axis, side = faces[0]
    offset = [0, 0, 0]
    offset[axis] = 1 if side else -1
    return [1, *offset, 255 - case]


@lru_cache(maxsize=1)
def _all_tables() -> dict[str, tuple]:
    dmc, num_vd = [], []
    for case in range(256):
        groups = _groups(case)
        rows = [g + [-1] * (MAX_GROUP_EDGES - len(g)) for g in groups]
        rows += [[-1] * MAX_GROUP_EDGES] * (MAX_DUAL_VERTICES - len(rows))
        dmc.append(tuple(tuple(r) for r in rows))
        num_vd.append(len(groups))
    return {
        "dmc": tuple(dmc),
        "num_vd": tuple(num_vd),
        "check": tuple(tuple(_check_row(c)) for c in range(256)),
        "tet": tuple(tuple(_tet_row(c)) for c in range(256)),
    }


@lru_cache(maxsize=32)
def _table(name: str, device: torch.device) -> torch.Tensor:
    """Table ``name`` as an int64 tensor on ``device``, built once per device (read-only: the
    extraction indexes it on every call)."""
    return torch.tensor(_all_tables()[name], dtype=torch.int64, device=device)


def dmc_table(device: torch.device | str | None = None) -> torch.Tensor:
    """Crossing edges of each dual vertex: int64 [256, 4, 7], -1 padded."""
    return _table("dmc", torch.device(device) if device is not None else torch.device("cpu"))


def num_vd_table(device: torch.device | str | None = None) -> torch.Tensor:
    """Number of dual vertices (0 to 4) of each case: int64 [256]."""
    return _table("num_vd", torch.device(device) if device is not None else torch.device("cpu"))


def check_table(device: torch.device | str | None = None) -> torch.Tensor:
    """Ambiguity rows ``[flag, dx, dy, dz, inverted case]`` of each case: int64 [256, 5]."""
    return _table("check", torch.device(device) if device is not None else torch.device("cpu"))


def tet_table(device: torch.device | str | None = None) -> torch.Tensor:
    """Representative cube edge (0..11), 12 (centre) or -1 per case and face: int64 [256, 6]."""
    return _table("tet", torch.device(device) if device is not None else torch.device("cpu"))
