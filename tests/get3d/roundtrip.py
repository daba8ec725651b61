"""Exported files read back: their silhouettes against the generator's own render, their counts.

Used by the end-to-end sample and export tests: an exported GLB/OBJ is loaded with trimesh (not
with our code), rendered with :func:`render.mesh.render_mesh` from the same cameras as the
generator's render, and the two hard masks are compared (:func:`assert_silhouettes_match`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import trimesh

from render.camera import Cameras
from render.mesh import render_mesh

MIN_IOU = 0.98  # the file holds the generated mesh itself: only float32 rounding may differ
EDGE_PX = 1  # and then only on pixels at most this far from the reference silhouette's edge


def load_mesh_file(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """(vertices ``[V, 3]`` float32, faces ``[F, 3]`` int64) of a GLB/OBJ as trimesh reads it."""
    mesh = trimesh.load(path, force="mesh", process=False)
    assert isinstance(mesh, trimesh.Trimesh), f"{path}: trimesh read a {type(mesh).__name__}"
    vertices = torch.from_numpy(np.asarray(mesh.vertices, dtype=np.float32))
    faces = torch.from_numpy(np.asarray(mesh.faces, dtype=np.int64))
    return vertices, faces


def obj_counts(path: str | Path) -> dict[str, int]:
    """Counts of the ``v``, ``vt``, ``vn`` and ``f`` records of an OBJ file, read as text."""
    counts = {"v": 0, "vt": 0, "vn": 0, "f": 0}
    for line in Path(path).read_text().splitlines():
        key = line.split(" ", 1)[0]
        if key in counts:
            counts[key] += 1
    return counts


def silhouette(
    vertices: torch.Tensor, faces: torch.Tensor, cameras: Cameras, resolution: int
) -> torch.Tensor:
    """Hard coverage masks ``[B, H, W]`` bool of one mesh seen from ``B`` cameras (torch backend)."""
    out = render_mesh(vertices, faces, cameras, resolution, backend="torch", antialias=False)
    return out.mask[:, 0] > 0.5


def silhouette_iou(got: torch.Tensor, want: torch.Tensor) -> float:
    union = int((got | want).sum())
    return 1.0 if union == 0 else int((got & want).sum()) / union


def assert_silhouettes_match(
    got: torch.Tensor, want: torch.Tensor, *, min_iou: float = MIN_IOU, edge_px: int = EDGE_PX
) -> None:
    """``got`` and ``want`` (bool ``[B, H, W]``) agree: IoU of at least ``min_iou`` over all views,
    every view non-empty in ``want``, and every mismatching pixel within ``edge_px`` of ``want``'s
    silhouette edge."""
    assert got.shape == want.shape, (got.shape, want.shape)
    assert bool(want.flatten(1).any(1).all()), "the reference silhouette is empty in some view"
    iou = silhouette_iou(got, want)
    assert iou >= min_iou, f"silhouette IoU {iou:.4f} < {min_iou}"
    w = want.float()[:, None]
    k = 2 * edge_px + 1
    dilated = F.max_pool2d(w, k, stride=1, padding=edge_px)[:, 0] > 0.5
    eroded = -F.max_pool2d(-w, k, stride=1, padding=edge_px)[:, 0] > 0.5
    band = dilated & ~eroded
    far = (got != want) & ~band
    assert not bool(far.any()), (
        f"{int(far.sum())} pixels differ farther than {edge_px} px from the silhouette edge (IoU {iou:.4f})"
    )
