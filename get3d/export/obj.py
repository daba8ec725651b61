"""Wavefront OBJ + MTL + PNG writer.

One call writes ``NAME.obj``, ``NAME.mtl`` and ``NAME.png`` (all or nothing):

* the OBJ has ``mtllib NAME.mtl``, ``v`` (positions, metres, Y up), ``vt`` (u, v with v = 0 at the
  bottom of the image, the OBJ convention and the library's UV convention), ``vn`` (unit vertex
  normals), ``usemtl``, and ``f v/vt/vn`` faces (1-based, counter-clockwise from outside). Vertex
  positions are not split at UV seams: there are ``V`` ``v``/``vn`` lines and ``U`` ``vt`` lines.
* the MTL names the PNG with a path relative to it (``map_Kd NAME.png``) and writes the
  material's values (:class:`Material`), including the PBR extension ``Pr``/``Pm``.
* the PNG is the texture in image order (row 0 at the top, v = 1).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from get3d.atomic import atomic_files

from .material import Material
from .mesh import TexturedMesh

__all__ = ["obj_paths", "write_obj"]


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
