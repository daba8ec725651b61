"""Load mesh files (OBJ+MTL, GLB/GLTF, PLY, OFF, STL) with their colours, and normalise them.

Every file is read with trimesh (``force="scene"``, node transforms applied) and flattened into one
:class:`SourceMesh`: positions, triangles, and a colour model that covers what mesh files carry::

    colour(pixel) = material.base_color * material.texture(uv) * vertex_color

* texture maps (OBJ ``map_Kd``, glTF ``baseColorTexture``) with per-vertex UVs; an OBJ ``map_Kd``
  replaces ``Kd`` (as Blender's OBJ importer does), a glTF ``baseColorFactor`` multiplies its texture;
* plain materials (OBJ ``Kd``, glTF ``baseColorFactor``) as ``base_color``;
* per-vertex colours (PLY, OFF, glTF ``COLOR_0``) and per-face colours (split into per-vertex);
* nothing at all: a light grey material (:data:`DEFAULT_GREY`).

Each face knows its material (``face_material``); a texture is an sRGB float image
``[Ht, Wt, 3]`` in [0, 1] with **row 0 at the top** (v = 1), as in image files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import trimesh
from PIL import Image

from dmtet.box import box_center_extent

__all__ = [
    "DEFAULT_GREY",
    "MESH_SUFFIXES",
    "Normalization",
    "SourceMaterial",
    "SourceMesh",
    "find_meshes",
    "load_mesh",
    "normalize",
]

#: File suffixes :func:`find_meshes` picks up.
MESH_SUFFIXES: tuple[str, ...] = (".obj", ".glb", ".gltf", ".ply", ".off", ".stl")
#: Colour of meshes that carry none.
DEFAULT_GREY = (0.7, 0.7, 0.7)


@dataclass(frozen=True, eq=False)
class SourceMaterial:
    """A source mesh's material as the renderer of ``prepare`` uses it: a flat colour times an
    optional texture map (not the exporters' :class:`get3d.export.Material`).

    Attributes:
        base_color: float64 ``[3]`` RGB in [0, 1].
        texture: float32 ``[Ht, Wt, 3]`` RGB in [0, 1], row 0 at the top (v = 1), or None.
    """

    base_color: np.ndarray
    texture: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class SourceMesh:
    """A triangle mesh with everything needed to colour it.

    Attributes:
        vertices: float64 ``[V, 3]``.
        faces: int64 ``[F, 3]``.
        face_material: int64 ``[F]`` index into ``materials``.
        materials: one :class:`SourceMaterial` per index.
        uvs: float64 ``[V, 2]`` texture coordinates (v up), or None when no material has a texture.
        vertex_colors: float64 ``[V, 3]`` in [0, 1], or None (= white).
    """

    vertices: np.ndarray
    faces: np.ndarray
    face_material: np.ndarray
    materials: tuple[SourceMaterial, ...]
    uvs: np.ndarray | None = None
    vertex_colors: np.ndarray | None = None

    @property
    def bounds(self) -> np.ndarray:
        """``[2, 3]`` axis-aligned box of the vertices used by faces."""
        used = self.vertices[np.unique(self.faces)]
        return np.stack([used.min(0), used.max(0)])


def find_meshes(folder: str | Path) -> dict[str, Path]:
    """Mesh files under ``folder`` (recursively), keyed by shape id.

    The id is the file's path relative to ``folder`` without suffix, with ``/`` replaced by ``_``;
    a file named ``model`` or ``model_normalized`` (ShapeNet v1 / v2) and a ``models`` folder add
    nothing, so ``<id>/model.obj`` and ``<id>/models/model_normalized.obj`` give ``<id>``.

    Raises:
        ValueError: when ``folder`` is missing, holds no mesh, or two files give one id.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"mesh_dir: expected an existing folder, got {str(folder)!r}")
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in MESH_SUFFIXES:
            continue
        parts = list(path.relative_to(folder).with_suffix("").parts)
        if parts[-1] in ("model", "model_normalized") and len(parts) > 1:
            parts.pop()
        if len(parts) > 1 and parts[-1] == "models":
            parts.pop()
        shape_id = "_".join(parts)
        if shape_id in found:
            raise ValueError(f"mesh_dir: {found[shape_id]} and {path} both give the shape id {shape_id!r}")
        found[shape_id] = path
    if not found:
        raise ValueError(f"mesh_dir: no mesh files ({', '.join(MESH_SUFFIXES)}) under {folder}")
    return found


def _image_array(image: object) -> np.ndarray | None:
    if image is None:
        return None
    if not isinstance(image, Image.Image):
        raise TypeError(f"expected a PIL image as texture, got {type(image).__name__}")
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def _rgb(color: object) -> np.ndarray:
    """RGB in [0, 1] from trimesh's colour (uint8 0-255 or float 0-1)."""
    values = np.asarray(color)
    if values.size < 3:
        return np.array(DEFAULT_GREY)
    scale = 255.0 if np.issubdtype(values.dtype, np.integer) else 1.0
    return values.ravel()[:3].astype(np.float64) / scale


def _material_of(material: object) -> SourceMaterial:
    if isinstance(material, trimesh.visual.material.PBRMaterial):
        factor = material.baseColorFactor
        base = np.ones(3) if factor is None else _rgb(factor)
        return SourceMaterial(base, _image_array(material.baseColorTexture))
    if isinstance(material, trimesh.visual.material.SimpleMaterial):
        image = _image_array(material.image)
        # OBJ/MTL: like Blender's importer (which rendered GET3D's data), a map_Kd replaces Kd.
        if image is not None:
            return SourceMaterial(np.ones(3), image)
        diffuse = material.diffuse
        return SourceMaterial(_rgb(diffuse) if diffuse is not None else np.array(DEFAULT_GREY))
    return SourceMaterial(np.array(DEFAULT_GREY))


def _pieces(
    geometry: trimesh.Trimesh,
) -> tuple[np.ndarray, np.ndarray, SourceMaterial, np.ndarray | None, np.ndarray | None]:
    """``(vertices, faces, material, uvs, vertex_colors)`` of one geometry."""
    vertices, faces = np.asarray(geometry.vertices, np.float64), np.asarray(geometry.faces, np.int64)
    visual = geometry.visual
    kind = getattr(visual, "kind", None)
    if kind == "texture":
        material = _material_of(visual.material)
        uv = None if visual.uv is None else np.asarray(visual.uv, np.float64)
        if material.texture is not None and (uv is None or len(uv) != len(vertices)):
            material = SourceMaterial(material.base_color)  # a texture without UVs cannot be applied
            uv = None
        return vertices, faces, material, uv if material.texture is not None else None, None
    if kind == "vertex":
        colors = np.asarray(visual.vertex_colors, np.float64)[:, :3] / 255.0
        return vertices, faces, SourceMaterial(np.ones(3)), None, colors
    if kind == "face":
        colors = np.asarray(visual.face_colors, np.float64)[:, :3] / 255.0
        split = vertices[faces].reshape(-1, 3)
        return (
            split,
            np.arange(len(split)).reshape(-1, 3),
            SourceMaterial(np.ones(3)),
            None,
            np.repeat(colors, 3, axis=0),
        )
    return vertices, faces, SourceMaterial(np.array(DEFAULT_GREY)), None, None


def load_mesh(path: str | Path) -> SourceMesh:
    """Read a mesh file into one :class:`SourceMesh` (scene nodes flattened, transforms applied).

    Raises:
        ValueError: the file cannot be read or holds no triangles (message names the file).
    """
    path = Path(path)
    try:
        scene = trimesh.load(path, force="scene")
        geometries = [g for g in scene.dump(concatenate=False) if isinstance(g, trimesh.Trimesh)]
    except Exception as err:  # trimesh raises many kinds of errors for bad files
        raise ValueError(f"{path}: unreadable mesh ({type(err).__name__}: {err})") from err
    geometries = [g for g in geometries if len(g.faces)]
    if not geometries:
        raise ValueError(f"{path}: no triangles (expected a surface mesh)")
    pieces = [_pieces(g) for g in geometries]
    any_uv = any(p[3] is not None for p in pieces)
    any_color = any(p[4] is not None for p in pieces)
    vertices, faces, face_material, uvs, colors = [], [], [], [], []
    offset = 0
    for index, (v, f, _, uv, color) in enumerate(pieces):
        vertices.append(v)
        faces.append(f + offset)
        face_material.append(np.full(len(f), index, np.int64))
        uvs.append(uv if uv is not None else np.zeros((len(v), 2)))
        colors.append(color if color is not None else np.ones((len(v), 3)))
        offset += len(v)
    mesh = SourceMesh(
        vertices=np.concatenate(vertices),
        faces=np.concatenate(faces),
        face_material=np.concatenate(face_material),
        materials=tuple(p[2] for p in pieces),
        uvs=np.concatenate(uvs) if any_uv else None,
        vertex_colors=np.concatenate(colors) if any_color else None,
    )
    if not np.all(np.isfinite(mesh.vertices)):
        raise ValueError(f"{path}: vertex positions contain NaN or Inf")
    return mesh


@dataclass(frozen=True)
class Normalization:
    """``normalized = (source - center) * factor``."""

    center: tuple[float, float, float]
    factor: float


def normalize(mesh: SourceMesh, size: float, recenter: bool = True) -> tuple[SourceMesh, Normalization]:
    """Scale ``mesh`` so that the longest side of its box is ``size``; optionally centre the box.

    Without ``recenter`` the scaling is about the origin (GET3D's Blender script does not
    re-centre; ShapeNet models are roughly centred already).

    Returns:
        The normalised mesh and the :class:`Normalization` applied.
    """
    if not (isinstance(size, int | float) and math.isfinite(size) and size > 0):
        raise ValueError(f"size: expected a positive number, got {size!r}")
    box_center, extent = box_center_extent(torch.from_numpy(mesh.vertices[np.unique(mesh.faces)]), "mesh")
    center = box_center.numpy() if recenter else np.zeros(3)
    factor = size / extent
    vertices = (mesh.vertices - center) * factor
    result = SourceMesh(
        vertices, mesh.faces, mesh.face_material, mesh.materials, mesh.uvs, mesh.vertex_colors
    )
    return result, Normalization(tuple(float(c) for c in center), float(factor))
