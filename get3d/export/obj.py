"""Wavefront OBJ writers: textured (OBJ + MTL + PNG) and untextured (one OBJ).

:func:`write_obj` writes a :class:`TexturedMesh`: one call writes ``NAME.obj``, ``NAME.mtl`` and
``NAME.png`` (all or nothing):

* the OBJ has ``mtllib NAME.mtl``, ``v`` (positions, metres, Y up), ``vt`` (u, v with v = 0 at the
  bottom of the image, the OBJ convention and the library's UV convention), ``vn`` (unit vertex
  normals), ``usemtl``, and ``f v/vt/vn`` faces (1-based, counter-clockwise from outside). Vertex
  positions are not split at UV seams: there are ``V`` ``v``/``vn`` lines and ``U`` ``vt`` lines.
* the MTL names the PNG with a path relative to it (``map_Kd NAME.png``) and writes the
  material's values (:class:`Material`), including the PBR extension ``Pr``/``Pm``.
* the PNG is the texture in image order (row 0 at the top, v = 1).

:func:`write_untextured_obj` writes bare positions and faces, with per-vertex RGB as
``v x y z r g b`` lines when given (the vertex-colour extension read by Blender, MeshLab, trimesh
and Open3D), and 1-based ``f`` lines, outward (counter-clockwise) faces.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from get3d.atomic import atomic_files

from .material import Material
from .mesh import TexturedMesh

__all__ = ["obj_paths", "write_obj", "write_untextured_obj"]


def obj_paths(path: str | os.PathLike) -> tuple[Path, Path, Path]:
    """``(NAME.obj, NAME.mtl, NAME.png)`` for an OBJ path (its suffix must be ``.obj``)."""
    p = Path(os.fspath(path))
    if p.suffix.lower() != ".obj":
        raise ValueError(f"path: expected a file name ending in .obj, got {str(p)!r}")
    return p, p.with_suffix(".mtl"), p.with_suffix(".png")


def _rows(fmt: str, array: np.ndarray) -> str:
    buf = io.StringIO()
    np.savetxt(buf, array, fmt=fmt)
    return buf.getvalue()


def obj_text(mesh: TexturedMesh, mtl_name: str, material: Material) -> str:
    """The OBJ file's text."""
    v = mesh.vertices.detach().cpu().double().numpy()
    vt = mesh.uvs.detach().cpu().double().numpy()
    vn = mesh.normals.detach().cpu().double().numpy()
    f = mesh.faces.cpu().numpy() + 1
    ft = mesh.uv_faces.cpu().numpy() + 1
    corners = np.stack([f, ft, f], axis=-1).reshape(-1, 9)
    parts = [
        "# written by isogen3d (get3d.export)\n",
        f"mtllib {mtl_name}\n",
        "o mesh\n",
        _rows("v %.6f %.6f %.6f", v),
        _rows("vt %.6f %.6f", vt),
        _rows("vn %.6f %.6f %.6f", vn),
        f"usemtl {material.name}\n",
        "s 1\n",
        _rows("f %d/%d/%d %d/%d/%d %d/%d/%d", corners),
    ]
    return "".join(parts)


def mtl_text(texture_name: str, material: Material) -> str:
    """The MTL file's text."""
    ks = material.specular
    return (
        "# written by isogen3d (get3d.export)\n"
        f"newmtl {material.name}\n"
        "Ka 0.000000 0.000000 0.000000\n"
        "Kd 1.000000 1.000000 1.000000\n"
        f"Ks {ks:.6f} {ks:.6f} {ks:.6f}\n"
        "d 1.000000\n"
        f"illum {2 if ks > 0 else 1}\n"
        f"Pr {material.roughness:.6f}\n"
        f"Pm {material.metallic:.6f}\n"
        f"map_Kd {texture_name}\n"
    )


def write_obj(
    path: str | os.PathLike, mesh: TexturedMesh, material: Material | None = None
) -> tuple[Path, Path, Path]:
    """Write ``mesh`` as ``NAME.obj`` + ``NAME.mtl`` + ``NAME.png`` next to each other, atomically.

    Returns:
        the three paths written.
    """
    if not isinstance(mesh, TexturedMesh):
        raise TypeError(f"mesh: expected a TexturedMesh, got {type(mesh).__name__}")
    material = Material() if material is None else material
    if not isinstance(material, Material):
        raise TypeError(f"material: expected a Material, got {type(material).__name__}")
    obj_path, mtl_path, png_path = obj_paths(path)
    if " " in obj_path.stem:
        raise ValueError(f"path: OBJ/MTL references cannot contain spaces, got {obj_path.name!r}")
    obj = obj_text(mesh, mtl_path.name, material)
    mtl = mtl_text(png_path.name, material)
    image = Image.fromarray(mesh.texture_image_uint8().numpy())
    with atomic_files([obj_path, mtl_path, png_path]) as (t_obj, t_mtl, t_png):
        image.save(t_png, format="PNG")
        t_mtl.write_text(mtl, encoding="utf-8")
        t_obj.write_text(obj, encoding="utf-8")
    return obj_path, mtl_path, png_path


def write_untextured_obj(
    path: str | os.PathLike,
    vertices: torch.Tensor,
    faces: torch.Tensor,
    vertex_colors: torch.Tensor | None = None,
) -> Path:
    """Write a triangle mesh as one OBJ file (no material), with per-vertex RGB when given, atomically.

    Args:
        path: file name ending in ``.obj``.
        vertices: float [V, 3]; faces: int [F, 3] (0-based; written 1-based), counter-clockwise
            seen from outside.
        vertex_colors: float [V, 3] in [0, 1] (clamped), or None.

    Returns:
        The path written.
    """
    path = Path(os.fspath(path))
    if path.suffix.lower() != ".obj":
        raise ValueError(f"path: expected a file name ending in '.obj', got {str(path)!r}")
    v = vertices.detach().cpu().to(torch.float64).numpy()
    f = faces.detach().cpu().to(torch.int64).numpy()
    if v.ndim != 2 or v.shape[1] != 3:
        raise ValueError(f"vertices: expected shape [V, 3], got {v.shape}")
    if f.ndim != 2 or f.shape[1] != 3 or (f.size and (f.min() < 0 or f.max() >= len(v))):
        raise ValueError(f"faces: expected shape [F, 3] with ids in [0, {len(v)}), got {f.shape}")
    parts = [f"# {len(v)} vertices, {len(f)} faces, written by isogen3d (get3d.export)\n"]
    if vertex_colors is not None:
        c = vertex_colors.detach().cpu().to(torch.float64).numpy()
        if c.shape != v.shape:
            raise ValueError(f"vertex_colors: expected shape {v.shape} (one RGB per vertex), got {c.shape}")
        colored = np.concatenate([v, np.clip(c, 0.0, 1.0)], axis=1)
        parts.append(_rows("v %.6f %.6f %.6f %.4f %.4f %.4f", colored))
    else:
        parts.append(_rows("v %.6f %.6f %.6f", v))
    parts.append(_rows("f %d %d %d", f + 1))
    with atomic_files([path]) as (tmp,):
        tmp.write_text("".join(parts), encoding="ascii")
    return path
