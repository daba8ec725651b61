"""Multiview reconstruction with DMTet: fit a textured mesh to images with known cameras.

From target views (a GET3D-layout data set, or a mesh rendered on the fly) optimise a per-vertex
SDF and deformation on a :class:`dmtet.TetGrid` plus colours (a small MLP on positions, or
per-vertex colours) by rendering the marching-tets surface with :func:`render.render_mesh` and
comparing it with the images; the grid is refined coarse to fine. See :mod:`get3d.reconstruct.fit`
for the losses::

    views = load_views("data_root", shape_id="chair_0000")      # or views_from_mesh("model.obj")
    result = reconstruct(views, ReconstructConfig())
    write_result(result, "out/", views)                            # OBJ + comparison picture
"""

from .config import ColorMode, Init, ReconstructConfig, Shading
from .fit import (
    ReconstructResult,
    StageSummary,
    StepLosses,
    SurfaceRender,
    reconstruct,
    render_result,
    render_surface,
)
from .init import sphere_sdf, visual_hull_sdf
from .io import ResultFiles, comparison_image, write_comparison, write_result, write_textured
from .losses import empty_surface_loss, laplacian_smoothness, rgb_loss, silhouette_loss
from .metrics import ChamferResult, mesh_chamfer, sample_surface, silhouette_iou
from .model import ColorMLP, GridColors, TetField, surface_attributes
from .upsample import PointLocation, interpolate_field, locate_points, upsample_field
from .views import Views, load_views, render_target_views, views_from_mesh

__all__ = [
    "ChamferResult",
    "ColorMLP",
    "ColorMode",
    "GridColors",
    "Init",
    "PointLocation",
    "ReconstructConfig",
    "ReconstructResult",
    "ResultFiles",
    "Shading",
    "StageSummary",
    "StepLosses",
    "SurfaceRender",
    "TetField",
    "Views",
    "comparison_image",
    "empty_surface_loss",
    "interpolate_field",
    "laplacian_smoothness",
    "load_views",
    "locate_points",
    "mesh_chamfer",
    "reconstruct",
    "render_result",
    "render_surface",
    "render_target_views",
    "rgb_loss",
    "sample_surface",
    "silhouette_iou",
    "silhouette_loss",
    "sphere_sdf",
    "surface_attributes",
    "upsample_field",
    "views_from_mesh",
    "visual_hull_sdf",
    "write_comparison",
    "write_result",
    "write_textured",
]
