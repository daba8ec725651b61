"""What a tet grid is, told from its contents: a BCC or cube lattice, one of GET3D's Quartet grids,
or another grid.

GET3D extracts meshes on Quartet grids (``data/tets/<res>_compress.npz`` of its repository; NVIDIA's
files, under a non-commercial licence, so not shipped here) and its released checkpoints were
trained on the ``tet_res 90`` one, ``90_compress.npz`` (98,653 vertices, 532,314 tets). This project
defaults to ``dmtet.TetGrid.bcc(35)``, a lattice of about the same size. :func:`grid_info` tells the
two apart by what the grid holds, not by its file name: a lattice grid is recognised by its vertex
positions (every vertex on the lattice, none missing) and its tet count; a Quartet grid is not a
lattice and has the vertex and tet counts of one of GET3D's files (get3d_spec.md §4.1).
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass

import torch

import dmtet

from .config import GeneratorConfig

__all__ = ["GET3D_GRID", "GridInfo", "GridKind", "configured_grid", "grid_info"]


class GridKind(enum.Enum):
    """The kinds of tet grid :func:`grid_info` recognises."""

    BCC = "bcc"
    """The body-centred-cubic lattice of ``dmtet.TetGrid.bcc`` (this project's default)."""
    CUBES = "cubes"
    """The cube lattice of ``dmtet.TetGrid.cubes`` (six tets per cube)."""
    GET3D_QUARTET = "get3d_quartet"
    """One of GET3D's Quartet grids ``data/tets/<res>_compress.npz`` (by vertex and tet counts)."""
    OTHER = "other"
    """Any other grid."""


GET3D_GRID = "data/tets/90_compress.npz"
"""GET3D's grid of its released checkpoints and the paper's numbers (in GET3D's repository)."""

_GET3D_QUARTET_COUNTS = {  # tet_res: (vertices, tets) of GET3D's data/tets/<res>_compress.npz
    64: (36_562, 192_492),
    70: (47_416, 251_447),
    80: (69_942, 374_532),
    90: (98_653, 532_314),
    100: (134_302, 729_162),
}
_GET3D_RES = 90


@dataclass(frozen=True)
class GridInfo:
    """A tet grid's kind and size.

    Attributes:
        kind: :class:`GridKind`.
        resolution: cells per side of a lattice, GET3D's ``tet_res`` of a Quartet grid, else None.
        num_vertices, num_tets: the grid's sizes.
        path: the file the grid was read from, when known (None: built in memory).
    """

    kind: GridKind
    resolution: int | None
    num_vertices: int
    num_tets: int
    path: str | None = None

    @property
    def is_get3d_grid(self) -> bool:
        """True for GET3D's ``90_compress.npz``, the grid of its checkpoints and of the paper."""
        return self.kind is GridKind.GET3D_QUARTET and self.resolution == _GET3D_RES

    @property
    def is_lattice(self) -> bool:
        """True for the BCC and cube lattices."""
        return self.kind in (GridKind.BCC, GridKind.CUBES)

    def as_dict(self) -> dict:
        """Plain JSON-ready fields (``kind`` as its value)."""
        return {
            "kind": self.kind.value,
            "resolution": self.resolution,
            "num_vertices": self.num_vertices,
            "num_tets": self.num_tets,
            "path": self.path,
        }

    def __str__(self) -> str:
        names = {
            GridKind.BCC: f"BCC grid of {self.resolution} cells per side",
            GridKind.CUBES: f"cube grid of {self.resolution} cells per side",
            GridKind.GET3D_QUARTET: f"GET3D's Quartet grid {self.resolution}_compress.npz",
            GridKind.OTHER: "tet grid",
        }
        where = f" from {self.path}" if self.path else ""
        return f"{names[self.kind]}{where} ({self.num_vertices:,} vertices, {self.num_tets:,} tets)"


def _lattice_coords(vertices: torch.Tensor, steps: int) -> torch.Tensor | None:
    """Vertices as int64 lattice coordinates ``0..steps`` of their bounding cube, or None when a
    vertex is off the lattice (by more than 1e-3 of a step) or the bounding box is not a cube."""
    v = vertices.detach().to("cpu", torch.float64)
    lo, hi = v.min(0).values, v.max(0).values
    extent = float((hi - lo).max())
    if extent <= 0 or float((hi - lo).min()) < extent * (1 - 1e-6):
        return None
    q = (v - lo) / extent * steps
    coords = q.round()
    if float((q - coords).abs().max()) > 1e-3:
        return None
    return coords.to(torch.int64)


def _distinct(coords: torch.Tensor, steps: int) -> bool:
    key = (coords[:, 0] * (steps + 1) + coords[:, 1]) * (steps + 1) + coords[:, 2]
    return int(torch.unique(key).numel()) == coords.shape[0]


def _is_bcc(grid: dmtet.TetGrid, n: int) -> bool:
    """``grid`` holds exactly the vertices of ``bcc_lattice(n)`` and as many tets."""
    if grid.num_tets != 12 * n * n * (n + 1):
        return False
    c = _lattice_coords(grid.vertices, 2 * n)  # half-cell units: corners even, centres odd
    if c is None:
        return False
    odd = c % 2 == 1
    on_face = (c == 0) | (c == 2 * n)
    corner = ~odd.any(1)
    centre = odd.all(1)
    face_centre = (on_face & ~odd).sum(1).eq(1) & odd.sum(1).eq(2)
    # N distinct points of the lattice's point set, whose size is N: the whole set
    return bool((corner | centre | face_centre).all()) and _distinct(c, 2 * n)


def _is_cubes(grid: dmtet.TetGrid, n: int) -> bool:
    if grid.num_tets != 6 * n**3:
        return False
    c = _lattice_coords(grid.vertices, n)
    return c is not None and _distinct(c, n)


def _cube_root_candidates(value: float) -> range:
    r = round(value ** (1.0 / 3.0))
    return range(max(1, r - 2), r + 3)


def grid_info(grid: dmtet.TetGrid, path: str | os.PathLike | None = None) -> GridInfo:
    """The kind and size of ``grid`` (``path``: the file it came from, recorded as given).

    A BCC lattice of ``n`` cells has ``(n+1)^3 + n^3 + 6 n^2`` vertices and ``12 n^2 (n+1)`` tets, a
    cube lattice ``(n+1)^3`` and ``6 n^3``; the vertex positions are checked too, so a lattice in any
    file layout or vertex order is recognised, and a grid of the same counts that is not a lattice
    is not. Costs a few vector operations over the vertices (milliseconds at GET3D's size).
    """
    if not isinstance(grid, dmtet.TetGrid):
        raise TypeError(f"grid: expected a dmtet.TetGrid, got {type(grid).__name__}")
    nv, nt = grid.num_vertices, grid.num_tets
    where = None if path is None else os.fspath(path)
    for n in _cube_root_candidates(nv / 2):
        if (n + 1) ** 3 + n**3 + 6 * n * n == nv and _is_bcc(grid, n):
            return GridInfo(GridKind.BCC, n, nv, nt, where)
    n = round(nv ** (1.0 / 3.0)) - 1
    if n >= 1 and (n + 1) ** 3 == nv and _is_cubes(grid, n):
        return GridInfo(GridKind.CUBES, n, nv, nt, where)
    for res, counts in _GET3D_QUARTET_COUNTS.items():
        if counts == (nv, nt):
            return GridInfo(GridKind.GET3D_QUARTET, res, nv, nt, where)
    return GridInfo(GridKind.OTHER, None, nv, nt, where)


def configured_grid(config: GeneratorConfig) -> dmtet.TetGrid:
    """The grid a configuration names, in its box: its ``tet_grid`` file (scaled to
    ``dmtet_scale``), else ``TetGrid.bcc(grid_resolution, dmtet_scale)``.

    Raises:
        FileNotFoundError: ``config.tet_grid`` names no file (the message says where GET3D's are).
    """
    if config.tet_grid is None:
        return dmtet.TetGrid.bcc(config.grid_resolution, scale=config.dmtet_scale)
    if not os.path.isfile(config.tet_grid):
        raise FileNotFoundError(
            f"tet_grid: no tet-grid file at {config.tet_grid!r} (GET3D's grids are data/tets/*.npz of its "
            "repository; give another grid file, or tet_grid None for the BCC grid of grid_resolution)"
        )
    return dmtet.TetGrid.load(config.tet_grid, scale=config.dmtet_scale)
