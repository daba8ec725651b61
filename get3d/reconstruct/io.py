"""Write a reconstruction: OBJ with vertex colours and a target-vs-result picture, atomically.

Every file is written to a temporary name in its folder and moved into place with
``os.replace``, so a reader never sees a half-written file.

* :func:`comparison_image` / :func:`write_comparison`: a two-row PNG, target views on top and the
  reconstruction from the same cameras below.
* :func:`write_textured`: a UV-textured OBJ (+ MTL + PNG) or GLB through :mod:`get3d.export`
  (xatlas unwrap, the colour field baked into a texture).
* :func:`write_result`: the vertex-colour OBJ (:func:`get3d.export.obj.write_untextured_obj`) and
  the picture (and optionally the textured mesh).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from get3d.atomic import atomic_files
from get3d.export import save_textured_mesh, texture_mesh
from get3d.export.images import to_uint8
from get3d.export.obj import write_untextured_obj
from get3d.metrics import sided_distance

from .fit import ReconstructResult, render_result
from .model import ColorMLP
from .views import Views

__all__ = [
    "ResultFiles",
    "comparison_image",
    "write_comparison",
    "write_result",
    "write_textured",
]


@dataclass(frozen=True)
class ResultFiles:
    """Paths written by :func:`write_result` (``textured``: empty unless asked for)."""

    mesh: Path
    comparison: Path
    textured: tuple[Path, ...] = ()


def _atomic_write(path: Path, data: bytes) -> None:
    with atomic_files([path]) as (tmp,):
        tmp.write_bytes(data)


def comparison_image(targets: torch.Tensor, results: torch.Tensor, max_views: int = 8) -> np.ndarray:
    """Targets (top row) above results (bottom row), up to ``max_views`` columns.

    Args:
        targets, results: float [B, 3, H, W] in [-1, 1], same shape, row 0 at the top.
        max_views: columns shown (the first views).

    Returns:
        uint8 [2H, min(B, max_views) W, 3].
    """
    if targets.shape != results.shape or targets.dim() != 4 or targets.shape[1] != 3:
        raise ValueError(
            f"targets, results: expected two [B, 3, H, W] tensors of one shape, got "
            f"{tuple(targets.shape)} and {tuple(results.shape)}"
        )
    if isinstance(max_views, bool) or not isinstance(max_views, int) or max_views < 1:
        raise ValueError(f"max_views: expected a positive int, got {max_views!r}")
    n = min(targets.shape[0], max_views)
    top = np.concatenate(list(to_uint8(targets[:n])), axis=1)
    bottom = np.concatenate(list(to_uint8(results[:n])), axis=1)
    return np.concatenate([top, bottom], axis=0)


def write_comparison(
    path: str | os.PathLike, targets: torch.Tensor, results: torch.Tensor, max_views: int = 8
) -> Path:
    """Write :func:`comparison_image` as a PNG (atomically); returns the path."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path: expected a file name ending in '.png', got {str(path)!r}")
    buffer = io.BytesIO()
    Image.fromarray(comparison_image(targets, results, max_views)).save(buffer, format="PNG")
    _atomic_write(path, buffer.getvalue())
    return path


def write_textured(
    result: ReconstructResult, path: str | os.PathLike, *, texture_size: int = 512
) -> tuple[Path, ...]:
    """Write the reconstruction as a UV-textured ``.obj`` (+ ``.mtl`` + ``.png``) or ``.glb``.

    The mesh is unwrapped with xatlas and the colour baked into a ``texture_size``² texture by
    :func:`get3d.export.texture_mesh`. With a colour MLP the field is queried exactly at every
    texel's surface point; with per-vertex colours each texel takes the colour of the nearest
    surface vertex (piecewise constant). Returns the paths written (all or nothing).
    """
    if result.faces.shape[0] == 0:
        raise ValueError("result: the reconstruction has no faces to export")
    model = result.color_model
    if isinstance(model, ColorMLP):

        def color_fn(points: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return model(points.to(result.vertices))

    else:
        colours = result.vertex_colors * 2.0 - 1.0

        def color_fn(points: torch.Tensor) -> torch.Tensor:
            _, idx = sided_distance(points.to(result.vertices)[None], result.vertices[None])
            return colours[idx[0]]

    mesh = texture_mesh(result.vertices, result.faces, color_fn, texture_size=texture_size)
    return tuple(save_textured_mesh(path, mesh))


def write_result(
    result: ReconstructResult,
    out_dir: str | os.PathLike,
    views: Views,
    *,
    name: str = "reconstruction",
    max_views: int = 8,
    textured: str | None = None,
    texture_size: int = 512,
) -> ResultFiles:
    """Write ``<out_dir>/<name>.obj`` (vertex colours) and ``<out_dir>/<name>_views.png``.

    The picture shows the first ``max_views`` of ``views`` above the reconstruction rendered
    from the same cameras at the same resolution. ``textured="glb"`` or ``"obj"`` also writes
    ``<name>_textured.glb`` / ``.obj`` (+ ``.mtl`` + ``.png``) with :func:`write_textured`.
    """
    if textured not in (None, "obj", "glb"):
        raise ValueError(f"textured: expected None, 'obj' or 'glb', got {textured!r}")
    if not isinstance(views, Views):
        raise TypeError(f"views: expected get3d.reconstruct.Views, got {type(views).__name__}")
    out = Path(out_dir)
    shown = views.subset(slice(0, max_views))
    image = render_result(result, shown.cameras, shown.resolution)
    mesh = write_untextured_obj(out / f"{name}.obj", result.vertices, result.faces, result.vertex_colors)
    picture = write_comparison(out / f"{name}_views.png", shown.images, image.rgb, max_views)
    extra: tuple[Path, ...] = ()
    if textured is not None:
        extra = write_textured(result, out / f"{name}_textured.{textured}", texture_size=texture_size)
    return ResultFiles(mesh=mesh, comparison=picture, textured=extra)
