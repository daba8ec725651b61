"""From a mesh and a colour field to a textured mesh on disk: unwrap, bake, write.

``texture_mesh`` runs xatlas (:func:`~get3d.export.unwrap.unwrap`, on the full mesh unless a
face budget is given), bakes the field (:func:`~get3d.export.bake.bake_texture`) and computes vertex normals;
``save_textured_mesh`` writes OBJ+MTL+PNG or GLB by suffix. A generator's colour field comes from
:func:`get3d.sampling.generator_color_fn`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from torch import Tensor

from render.backend import BackendLike
from render.normals import vertex_normals

from .bake import bake_texture
from .glb import write_glb
from .material import Material
from .mesh import TexturedMesh
from .obj import write_obj
from .unwrap import unwrap

__all__ = ["save_textured_mesh", "texture_mesh"]


def texture_mesh(
    vertices: Tensor,
    faces: Tensor,
    color_fn: Callable[[Tensor], Tensor],
    *,
    texture_size: int = 2048,
    max_faces: int | None = None,
    padding: int = 8,
    value_range: tuple[float, float] = (-1.0, 1.0),
    backend: BackendLike = "auto",
) -> TexturedMesh:
    """UV-unwrap a mesh and bake ``color_fn`` into a ``texture_size``² texture.

    Args:
        vertices: float ``[V, 3]`` world positions; faces: int ``[F, 3]`` outward (CCW).
        color_fn: world points ``[P, 3]`` -> RGB ``[P, 3]`` in ``value_range`` (the generator's
            texture field gives about [-1, 1]).
        texture_size: texture side in texels (>= 8).
        max_faces: face budget before unwrapping (denser meshes are simplified first by vertex
            clustering); None (default): never, the full mesh is unwrapped as GET3D does.
        padding: seam dilation passes.
        value_range: range of ``color_fn``'s output, mapped to [0, 1] (clamped).
        backend: the rasterizer context (``render.make_context``) or a backend name.

    Returns:
        :class:`TexturedMesh` (texture in [0, 1], texture memory order).
    """
    if isinstance(texture_size, bool) or not isinstance(texture_size, int) or texture_size < 8:
        raise ValueError(f"texture_size: expected an int >= 8, got {texture_size!r}")
    lo, hi = value_range
    if not hi > lo:
        raise ValueError(f"value_range: expected (low, high) with high > low, got {value_range!r}")
    layout = unwrap(vertices.detach(), faces, max_faces=max_faces, padding=max(2, texture_size // 256))
    baked = bake_texture(
        layout.vertices,
        layout.faces,
        layout.uvs,
        layout.uv_faces,
        color_fn,
        texture_size,
        padding=padding,
        backend=backend,
    )
    if baked.texture.shape[0] != 3:
        raise ValueError(f"color_fn: expected 3 colour channels, got {baked.texture.shape[0]}")
    texture = ((baked.texture - lo) / (hi - lo)).clamp(0.0, 1.0)
    return TexturedMesh(
        vertices=layout.vertices,
        faces=layout.faces,
        normals=vertex_normals(layout.vertices, layout.faces, fallback=(0.0, 1.0, 0.0)),
        uvs=layout.uvs,
        uv_faces=layout.uv_faces,
        uv_vertex=layout.uv_vertex,
        texture=texture,
    )


def save_textured_mesh(
    path: str | os.PathLike, mesh: TexturedMesh, material: Material | None = None
) -> list[Path]:
    """Write ``mesh`` by the suffix of ``path``: ``.glb`` or ``.obj`` (+ ``.mtl`` + ``.png``).

    Returns:
        the paths written (all or nothing).
    """
    material = Material() if material is None else material
    suffix = Path(os.fspath(path)).suffix.lower()
    if suffix == ".glb":
        return [write_glb(path, mesh, material)]
    if suffix == ".obj":
        return list(write_obj(path, mesh, material))
    raise ValueError(f"path: expected a .glb or .obj file name, got {os.fspath(path)!r}")
