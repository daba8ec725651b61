"""Multiview reconstruction with DMTet: fit a textured mesh to images with known cameras.

From target views (a GET3D-layout data set, or a mesh rendered on the fly) optimise a per-vertex
SDF and deformation on a :class:`dmtet.TetGrid` plus colours (a small MLP on positions, or
per-vertex colours) by rendering the marching-tets surface with :func:`render.render_mesh` and
comparing it with the images; the grid is refined coarse to fine. See :mod:`get3d.reconstruct.fit`
for the losses::

    views = load_views("data_root", shape_id="chair_0000")      # or views_from_mesh("model.obj")
    result = reconstruct(views, ReconstructConfig())
    write_result(result, "out/", views)                            # OBJ + comparison picture

The package exports what a user calls (the config and its enums, :class:`Views`, loading,
:func:`reconstruct`, rendering and writing the result, :func:`mesh_chamfer` and
:func:`silhouette_iou`); the building blocks are imported from their modules:
:mod:`~get3d.reconstruct.model` (fields and colours), :mod:`~get3d.reconstruct.losses`,
:mod:`~get3d.reconstruct.init` (sphere / visual-hull SDFs), :mod:`~get3d.reconstruct.upsample`
(coarse-to-fine transfer), :mod:`~get3d.reconstruct.metrics`, :mod:`~get3d.reconstruct.io`,
:mod:`~get3d.reconstruct.views` and :mod:`~get3d.reconstruct.fit`.
"""

from .config import ColorMode, Init, ReconstructConfig, Shading
from .fit import reconstruct, render_result
from .io import write_result
from .metrics import mesh_chamfer, silhouette_iou
from .views import Views, load_views, views_from_mesh

__all__ = [
    "ColorMode",
    "Init",
    "ReconstructConfig",
    "Shading",
    "Views",
    "load_views",
    "mesh_chamfer",
    "reconstruct",
    "render_result",
    "silhouette_iou",
    "views_from_mesh",
    "write_result",
]
