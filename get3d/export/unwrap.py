"""UV unwrapping with xatlas, with guards so that dense meshes never make it hang.

xatlas' chart growing is super-linear in the size of its charts (a smooth 20k-face sphere takes
about 9 s with its defaults, 1M faces take hours: user_needs.md §7). Two guards keep it bounded:

* on large meshes the chart area is capped at ``1 / min_charts`` of the mesh area, which caps the
  cost of growing one chart (GET3D's meshes are smooth, so uncapped charts grow very large); with
  it, an official-size marching-tets mesh (~90-140k faces) unwraps whole in about 6-8 s on one
  core (``benchmarks/bench_export.py``), so the full mesh is the default, as in GET3D;
* optionally (``max_faces``), meshes with more faces are first simplified by **vertex
  clustering** (:func:`decimate_clustering`): vertices are snapped to a uniform grid whose cell is
  chosen so that at most ``max_faces`` faces survive, each cell's vertices are merged into their
  mean, and collapsed or duplicated faces are dropped."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = ["UVLayout", "decimate_clustering", "unwrap"]


@dataclass(frozen=True)
class UVLayout:
    """A mesh and its UV atlas (xatlas' output in the library's conventions).

    Attributes:
        vertices: float ``[V, 3]`` positions (after simplification, if any).
        faces: int64 ``[F, 3]`` position indices (winding preserved).
        uvs: float ``[U, 2]`` in [0, 1], v = 0 at texture row 0.
        uv_faces: int64 ``[F, 3]`` UV indices.
        uv_vertex: int64 ``[U]`` the position index of each UV vertex.
        decimated: whether the input was simplified to meet the face budget.
    """

    vertices: Tensor
    faces: Tensor
    uvs: Tensor
    uv_faces: Tensor
    uv_vertex: Tensor
    decimated: bool


def _check_mesh(vertices: object, faces: object) -> tuple[Tensor, Tensor]:
    if not isinstance(vertices, Tensor) or not vertices.is_floating_point():
        raise TypeError(f"vertices: expected a floating-point tensor [V, 3], got {type(vertices).__name__}")
    if vertices.dim() != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices: expected shape [V, 3], got {tuple(vertices.shape)}")
    if not isinstance(faces, Tensor) or faces.is_floating_point() or faces.dim() != 2 or faces.shape[1] != 3:
        shape = tuple(faces.shape) if isinstance(faces, Tensor) else type(faces).__name__
        raise ValueError(f"faces: expected an integer tensor [F, 3], got {shape}")
    faces = faces.to(torch.int64)
    if faces.numel() and (int(faces.min()) < 0 or int(faces.max()) >= vertices.shape[0]):
        raise ValueError(f"faces: indices must lie in [0, {vertices.shape[0]})")
    return vertices, faces


def _unique_inverse(keys: Tensor) -> Tensor:
    """``torch.unique(keys, return_inverse=True)[1]`` for 1-D int64 keys (numpy's is much faster)."""
    _, inverse = np.unique(keys.numpy(), return_inverse=True)
    return torch.from_numpy(inverse.reshape(-1).astype(np.int64))


def _cluster(vertices: Tensor, faces: Tensor, cell: float) -> tuple[Tensor, Tensor]:
    lo = vertices.min(dim=0).values
    key = torch.floor((vertices - lo) / cell).to(torch.int64)
    dims = key.max(dim=0).values + 1
    scalar = (key[:, 0] * dims[1] + key[:, 1]) * dims[2] + key[:, 2]  # cells < 2^63 for any sane cell
    cluster = _unique_inverse(scalar)
    n = int(cluster.max()) + 1
    summed = vertices.new_zeros(n, 3).index_add_(0, cluster, vertices)
    count = vertices.new_zeros(n).index_add_(0, cluster, torch.ones_like(vertices[:, 0]))
    new_verts = summed / count[:, None]
    f = cluster[faces]
    keep = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])
    f = f[keep]
    if f.shape[0]:
        # one face per vertex triple (keeps the first one's winding)
        s = f.sort(dim=1).values
        if n < 2**21:
            inverse = _unique_inverse((s[:, 0] * n + s[:, 1]) * n + s[:, 2])
        else:  # pragma: no cover - the triple key would overflow int64
            _, inverse = torch.unique(s, dim=0, return_inverse=True)
        first = torch.full((int(inverse.max()) + 1,), f.shape[0], dtype=torch.int64)
        first.scatter_reduce_(0, inverse, torch.arange(f.shape[0]), reduce="amin")
        f = f[first.sort().values]
    used = torch.zeros(n, dtype=torch.bool)
    used[f.reshape(-1)] = True
    remap = torch.cumsum(used.to(torch.int64), 0) - 1
    return new_verts[used], remap[f]


def decimate_clustering(vertices: Tensor, faces: Tensor, max_faces: int) -> tuple[Tensor, Tensor]:
    """Simplify a mesh to at most ``max_faces`` faces by vertex clustering on a uniform grid.

    Args:
        vertices: float ``[V, 3]``; faces: int ``[F, 3]``.
        max_faces: face budget (>= 1). A mesh already within it is returned unchanged.

    Returns:
        ``(vertices [V', 3], faces [F', 3] int64)`` with ``F' <= max_faces``; windings of the
        surviving faces are kept, unreferenced vertices are dropped. The result approximates the
        input within about one grid cell; thin parts may become non-manifold (xatlas copes).
    """
    vertices, faces = _check_mesh(vertices, faces)
    if isinstance(max_faces, bool) or not isinstance(max_faces, int) or max_faces < 1:
        raise ValueError(f"max_faces: expected a positive int, got {max_faces!r}")
    if faces.shape[0] <= max_faces:
        return vertices, faces
    v = vertices.detach().cpu()
    f = faces.cpu()
    extent = float((v.max(dim=0).values - v.min(dim=0).values).max())
    edges = v[f[:, [1, 2, 0]]] - v[f]
    mean_edge = float(edges.norm(dim=-1).mean())
    # faces scale with (1 / cell)^2 on a surface: aim a little under the budget, then shrink further.
    cell = max(mean_edge, 1e-12) * math.sqrt(faces.shape[0] / max_faces) * 1.1
    for _ in range(30):
        nv, nf = _cluster(v, f, cell)
        if nf.shape[0] <= max_faces:
            return nv.to(vertices), nf.to(faces.device)
        cell *= max(1.05, math.sqrt(nf.shape[0] / max_faces))
        if cell > extent * 4:
            break
    raise RuntimeError(f"decimate_clustering: could not reach {max_faces} faces")  # pragma: no cover


def unwrap(
    vertices: Tensor,
    faces: Tensor,
    *,
    max_faces: int | None = None,
    padding: int = 4,
    min_charts: int = 64,
) -> UVLayout:
    """UV-unwrap a mesh with xatlas (one atlas, no overlaps), simplifying it first if too dense.

    Args:
        vertices: float ``[V, 3]``; faces: int ``[F, 3]`` (at least one face).
        max_faces: face budget before unwrapping (None, the default: never simplify; with the
            chart-area cap, xatlas takes seconds on official-size meshes of ~150k faces).
        padding: gap between charts in atlas texels (the atlas is about 1k texels wide).
        min_charts: caps each chart's area at ``1 / min_charts`` of the total, for speed, on meshes
            of at least ``256 * min_charts`` faces (smaller ones get ``F // 256`` as the divisor,
            below 512 faces no cap; 0: never cap).

    Returns:
        :class:`UVLayout` on the device of ``vertices``.
    """
    import xatlas  # imported here: an optional compiled dependency, only needed for export

    vertices, faces = _check_mesh(vertices, faces)
    if faces.shape[0] == 0:
        raise ValueError("faces: cannot unwrap an empty mesh (0 faces)")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding: expected a non-negative int, got {padding!r}")
    if isinstance(min_charts, bool) or not isinstance(min_charts, int) or min_charts < 0:
        raise ValueError(f"min_charts: expected a non-negative int, got {min_charts!r}")
    decimated = False
    if max_faces is not None:
        n_before = faces.shape[0]
        vertices, faces = decimate_clustering(vertices, faces, max_faces)
        decimated = faces.shape[0] != n_before
    v = vertices.detach().cpu().to(torch.float32).numpy()
    f = faces.cpu().numpy().astype(np.uint32)
    atlas = xatlas.Atlas()
    atlas.add_mesh(v, f)
    chart_options = xatlas.ChartOptions()
    n_cap = min(min_charts, f.shape[0] // 256)  # small meshes are fast: no cap, fewer seams
    if n_cap >= 2:
        tri = v[f.astype(np.int64)]
        area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum()
        chart_options.max_chart_area = float(area) / n_cap
    pack_options = xatlas.PackOptions()
    pack_options.padding = padding
    atlas.generate(chart_options=chart_options, pack_options=pack_options)
    vmapping, indices, uvs = atlas[0]
    device = vertices.device
    return UVLayout(
        vertices=vertices,
        faces=faces,
        uvs=torch.from_numpy(np.ascontiguousarray(uvs, dtype=np.float32)).to(device, vertices.dtype),
        uv_faces=torch.from_numpy(indices.astype(np.int64)).to(device),
        uv_vertex=torch.from_numpy(vmapping.astype(np.int64)).to(device),
        decimated=decimated,
    )
