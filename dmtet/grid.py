"""``TetGrid``: a tetrahedral grid with the topology that marching tets needs, precomputed once.

Frame and units: the grid is normalised GET3D's way, re-centred on the mid-point of its bounding
box and divided by its largest extent, then multiplied by ``scale``, so that it fills a box of side
``scale`` centred on the origin (see docs/conventions.md).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from ._validate import check_finite, check_float, check_index, check_index_range
from .box import box_center_extent
from .lattice import bcc_lattice, cube_lattice
from .tables import TET_EDGES

__all__ = ["TetGrid", "tet_edge_topology"]


def tet_edge_topology(tets: torch.Tensor, num_vertices: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Unique sorted edges of a tet mesh and each tet's six edge ids.

    Args:
        tets: int64 [T, 4] vertex ids.
        num_vertices: N, the number of grid vertices (ids are < N).

    Returns:
        ``(edges, tet_edges)``: int64 [E, 2] with ``edges[:, 0] < edges[:, 1]`` in lexicographic
        order (the order ``torch.unique(dim=0)`` gives), and int64 [T, 6] edge ids of each tet's local
        edges in kaolin's order (0,1), (0,2), (0,3), (1,2), (1,3), (2,3).
    """
    local = torch.tensor(TET_EDGES, dtype=torch.int64, device=tets.device)
    pairs = tets[:, local]  # [T, 6, 2]
    lo = torch.minimum(pairs[..., 0], pairs[..., 1])
    hi = torch.maximum(pairs[..., 0], pairs[..., 1])
    keys, inverse = torch.unique((lo * num_vertices + hi).reshape(-1), return_inverse=True)
    edges = torch.stack([keys // num_vertices, keys % num_vertices], dim=-1)
    return edges, inverse.reshape(-1, 6)


@dataclass(frozen=True, eq=False)
class TetGrid:
    """A tetrahedral grid and its precomputed topology.

    Attributes:
        vertices: float [N, 3], in a box of side ``scale`` centred on the origin.
        tets: int64 [T, 4] vertex ids.
        edges: int64 [E, 2] unique edges, each sorted (``edges[:, 0] < edges[:, 1]``), rows in
            lexicographic order.
        tet_edges: int64 [T, 6] ids into ``edges`` of each tet's local edges (0,1), (0,2), (0,3),
            (1,2), (1,3), (2,3).
        boundary_idx: int64 [Nb] vertices with any coordinate equal to the grid's minimum or maximum
            (GET3D's definition, used by its empty-shape fix).
        center_idx: int64 [1] the vertex nearest to the origin.
    """

    vertices: torch.Tensor
    tets: torch.Tensor
    edges: torch.Tensor
    tet_edges: torch.Tensor
    boundary_idx: torch.Tensor
    center_idx: torch.Tensor

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_tensors(
        cls, vertices: torch.Tensor | np.ndarray, tets: torch.Tensor | np.ndarray, scale: float = 1.0
    ) -> TetGrid:
        """Build a grid from vertices [N, 3] and tets [T, 4], normalising it to a box of side ``scale``.

        The vertex dtype is kept when floating point (float32 and float64 grids both exist in the
        wild); the tets become int64. Tet orientation is kept as given (see ``signed_volumes``).
        """
        vertices = torch.as_tensor(vertices)
        tets = torch.as_tensor(tets)
        check_float("vertices", vertices, "[N, 3]", 2, 3)
        check_index("tets", tets, "[T, 4]", 2, 4)
        check_finite("vertices", vertices)
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not scale > 0:
            raise ValueError(f"scale: expected a positive number, got {scale!r}")
        if vertices.shape[0] == 0 or tets.shape[0] == 0:
            raise ValueError(
                f"vertices, tets: expected a non-empty grid, got {vertices.shape[0]} vertices and "
                f"{tets.shape[0]} tets"
            )
        tets = tets.to(torch.int64)
        check_index_range("tets", tets, vertices.shape[0], "vertices")
        center, extent = box_center_extent(vertices, "vertices")
        vertices = (vertices - center) / extent * scale
        edges, tet_edges = tet_edge_topology(tets, vertices.shape[0])
        vmin, vmax = vertices.min(), vertices.max()
        on_boundary = ((vertices == vmin) | (vertices == vmax)).any(dim=-1)
        boundary_idx = torch.nonzero(on_boundary).reshape(-1)
        center_idx = torch.argmin(vertices.norm(dim=-1)).reshape(1)
        return cls(vertices.contiguous(), tets.contiguous(), edges, tet_edges, boundary_idx, center_idx)

    @classmethod
    def bcc(cls, resolution: int, scale: float = 1.0, dtype: torch.dtype = torch.float32) -> TetGrid:
        """Body-centred-cubic grid with ``resolution`` cells per side (see ``dmtet.lattice``).

        ``resolution=35`` matches the size of GET3D's default ``tet_res 90`` Quartet grid.
        """
        vertices, tets = bcc_lattice(resolution)
        return cls.from_tensors(torch.from_numpy(vertices).to(dtype), torch.from_numpy(tets), scale)

    @classmethod
    def cubes(cls, resolution: int, scale: float = 1.0, dtype: torch.dtype = torch.float32) -> TetGrid:
        """Regular grid of ``resolution``^3 cubes, each split into 6 tets."""
        vertices, tets = cube_lattice(resolution)
        return cls.from_tensors(torch.from_numpy(vertices).to(dtype), torch.from_numpy(tets), scale)

    # ------------------------------------------------------------------ files
    @classmethod
    def load(cls, path: str | os.PathLike, scale: float = 1.0) -> TetGrid:
        """Load a grid from ``.npz`` and normalise it to a box of side ``scale``.

        Accepted layouts:

        * GET3D (``data/tets/90_compress.npz``): keys ``vertices`` [N, 3] and ``tets`` [T, 4];
        * nvdiffrec (``data/tets/64_tets.npz``): keys ``vertices`` and ``indices`` [T, 4];
        * kaolin's split samples: ``<prefix>verts.npz`` (key ``data``, [N, 3]) with its four siblings
          ``<prefix>tets_0.npz`` .. ``<prefix>tets_3.npz`` (key ``data``, one column of tet ids each);
          pass the path of the ``verts`` file.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"path: expected an existing .npz tet-grid file, got {str(path)!r}")
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            if {"vertices", "tets"} <= keys:
                return cls.from_tensors(data["vertices"], data["tets"], scale)
            if {"vertices", "indices"} <= keys:
                return cls.from_tensors(data["vertices"], data["indices"], scale)
            if keys == {"data"}:
                return cls._load_kaolin(path, data["data"], scale)
        raise ValueError(
            f"path: expected an .npz with keys ('vertices', 'tets'), ('vertices', 'indices') or kaolin's "
            f"'data' split files, got keys {sorted(keys)} in {str(path)!r}"
        )

    @classmethod
    def _load_kaolin(cls, path: Path, verts: np.ndarray, scale: float) -> TetGrid:
        match = re.fullmatch(r"(.*)verts\.npz", path.name)
        if match is None or verts.ndim != 2 or verts.shape[1] != 3:
            raise ValueError(
                f"path: expected kaolin's '<prefix>verts.npz' holding 'data' [N, 3], got {path.name!r} "
                f"with 'data' of shape {verts.shape}"
            )
        columns = []
        for i in range(4):
            part = path.with_name(f"{match.group(1)}tets_{i}.npz")
            if not part.is_file():
                raise FileNotFoundError(f"path: kaolin tet grid {path.name!r} needs {part.name!r} beside it")
            with np.load(part, allow_pickle=False) as data:
                columns.append(np.asarray(data["data"]).reshape(-1))
        if len({c.shape[0] for c in columns}) != 1:
            raise ValueError(f"path: kaolin tet columns of {path.name!r} differ in length")
        return cls.from_tensors(verts, np.stack(columns, axis=-1), scale)

    def save(self, path: str | os.PathLike) -> None:
        """Write ``vertices`` and ``tets`` to a compressed ``.npz`` (GET3D's keys), atomically."""
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"path: expected a file name ending in '.npz', got {str(path)!r}")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez_compressed(f, vertices=self.vertices.cpu().numpy(), tets=self.tets.cpu().numpy())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # ------------------------------------------------------------------ queries
    @cached_property
    def index_columns(self) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        """Contiguous columns of ``tets`` (4 x [T]) and ``edges`` (2 x [E]) for fast gathers.

        Computed on first use and kept with this grid object (derived data, never stale: the grid
        is immutable and ``to()`` returns a new grid).
        """
        return (
            tuple(c.contiguous() for c in self.tets.unbind(1)),
            tuple(c.contiguous() for c in self.edges.unbind(1)),
        )

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def num_tets(self) -> int:
        return int(self.tets.shape[0])

    @property
    def device(self) -> torch.device:
        return self.vertices.device

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> TetGrid:
        """A copy on ``device`` (vertices optionally cast to the floating-point ``dtype``)."""
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError(f"dtype: expected a floating-point dtype for the vertices, got {dtype}")
        return TetGrid(
            self.vertices.to(device=device, dtype=dtype),
            *(
                t.to(device)
                for t in (self.tets, self.edges, self.tet_edges, self.boundary_idx, self.center_idx)
            ),
        )

    def signed_volumes(self) -> torch.Tensor:
        """Six times each tet's signed volume, ``((v1-v0) x (v2-v0)) . (v3-v0)``, float [T]."""
        v = self.vertices[self.tets]
        return torch.linalg.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]).mul(v[:, 3] - v[:, 0]).sum(-1)

    def edge_lengths(self) -> torch.Tensor:
        """Length of every unique edge, float [E]."""
        return (self.vertices[self.edges[:, 0]] - self.vertices[self.edges[:, 1]]).norm(dim=-1)

    def __repr__(self) -> str:
        return (
            f"TetGrid(vertices={self.num_vertices}, tets={self.num_tets}, edges={self.edges.shape[0]}, "
            f"dtype={self.vertices.dtype}, device={self.device})"
        )
