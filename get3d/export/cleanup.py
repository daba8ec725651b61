"""Optional mesh clean-up before export (user_needs.md §7, "geometry hygiene").

Steps, in order: weld vertices closer than ``weld_tolerance`` (quantised positions), drop faces
that became degenerate or duplicate, drop connected components (through shared vertices) with
fewer than ``min_component_faces`` faces or less than ``min_component_fraction`` of all faces,
orient each closed component outward (a negative enclosed volume flips all its faces), and drop
unreferenced vertices. Marching tets already gives watertight, consistently outward meshes;
this mostly removes GET3D's small floaters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = ["CleanupReport", "cleanup_mesh"]


@dataclass(frozen=True)
class CleanupReport:
    """What :func:`cleanup_mesh` changed.

    Attributes:
        welded_vertices: vertices merged into another one.
        removed_faces: degenerate or duplicate faces dropped after welding.
        removed_components: connected components dropped as too small.
        flipped_components: closed components whose winding was reversed (inward -> outward).
    """

    welded_vertices: int
    removed_faces: int
    removed_components: int
    flipped_components: int


def _is_closed(faces: np.ndarray) -> bool:
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return bool(np.all(counts == 2))


def cleanup_mesh(
    vertices: Tensor,
    faces: Tensor,
    *,
    weld_tolerance: float = 1e-6,
    min_component_faces: int = 0,
    min_component_fraction: float = 0.0,
    orient_outward: bool = True,
) -> tuple[Tensor, Tensor, CleanupReport]:
    """Clean a triangle mesh.

    Args:
        vertices: float ``[V, 3]``; faces: int ``[F, 3]``.
        weld_tolerance: positions are snapped to this grid to find duplicates (> 0).
        min_component_faces, min_component_fraction: components below either are dropped
            (the largest component is always kept).
        orient_outward: flip closed components with negative signed volume.

    Returns:
        ``(vertices [V', 3], faces [F', 3] int64, report)`` on the input's device and dtype.
    """
    if (
        not isinstance(vertices, Tensor)
        or not vertices.is_floating_point()
        or vertices.dim() != 2
        or vertices.shape[1] != 3
    ):
        raise ValueError("vertices: expected a float tensor [V, 3]")
    if not isinstance(faces, Tensor) or faces.is_floating_point() or faces.dim() != 2 or faces.shape[1] != 3:
        raise ValueError("faces: expected an integer tensor [F, 3]")
    if not weld_tolerance > 0:
        raise ValueError(f"weld_tolerance: expected a positive number, got {weld_tolerance!r}")
    if not 0.0 <= min_component_fraction <= 1.0:
        raise ValueError(
            f"min_component_fraction: expected a number in [0, 1], got {min_component_fraction!r}"
        )
    n_min = min_component_faces
    if isinstance(n_min, bool) or not isinstance(n_min, int) or n_min < 0:
        raise ValueError(f"min_component_faces: expected a non-negative int, got {min_component_faces!r}")
    from scipy.sparse import coo_matrix  # scipy is optional (the [dev] extra); only clean-up needs it
    from scipy.sparse.csgraph import connected_components

    v = vertices.detach().cpu().double().numpy()
    f = faces.cpu().numpy().astype(np.int64)
    n_faces_in = f.shape[0]
    # weld
    keys = np.round(v / weld_tolerance).astype(np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    welded = v.shape[0] - first.shape[0]
    v = v[first]
    f = inverse[f]
    # degenerate + duplicate faces
    f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
    if f.shape[0]:
        _, keep = np.unique(np.sort(f, axis=1), axis=0, return_index=True)
        f = f[np.sort(keep)]
    removed_faces = n_faces_in - f.shape[0]
    # components
    removed_components = flipped = 0
    if f.shape[0]:
        n = v.shape[0]
        rows = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
        cols = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
        graph = coo_matrix((np.ones(rows.shape[0]), (rows, cols)), shape=(n, n))
        n_comp, label = connected_components(graph, directed=False)
        face_label = label[f[:, 0]]
        sizes = np.bincount(face_label, minlength=n_comp)
        threshold = max(min_component_faces, min_component_fraction * f.shape[0])
        keep_comp = sizes >= threshold
        keep_comp[np.argmax(sizes)] = True
        removed_components = int(np.sum((sizes > 0) & ~keep_comp))
        f = f[keep_comp[face_label]]
        face_label = face_label[keep_comp[face_label]]
        if orient_outward:
            for comp in np.unique(face_label):
                sel = face_label == comp
                cf = f[sel]
                if not _is_closed(cf):
                    continue
                a, b, c = v[cf[:, 0]], v[cf[:, 1]], v[cf[:, 2]]
                volume = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0
                if volume < 0:
                    f[sel] = cf[:, [0, 2, 1]]
                    flipped += 1
    used = np.zeros(v.shape[0], dtype=bool)
    used[f.reshape(-1)] = True
    remap = np.cumsum(used) - 1
    out_v = torch.from_numpy(v[used]).to(vertices)
    out_f = torch.from_numpy(remap[f].astype(np.int64)).to(faces.device)
    return out_v, out_f, CleanupReport(welded, removed_faces, removed_components, flipped)
