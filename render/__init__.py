"""Differentiable rasterization with nvdiffrast's semantics, on CPU (pure PyTorch) and CUDA.

The four ops have nvdiffrast's call shapes, so ``import render as dr`` ports nvdiffrast code::

    ctx = dr.make_context()                      # Backend.AUTO: nvdiffrast on CUDA if importable
    rast, rast_db = dr.rasterize(ctx, pos_clip, tri, (H, W))
    feat, _ = dr.interpolate(attr, rast, tri)
    mask = dr.antialias(rast[..., 3:].clamp(0, 1), rast, pos_clip, tri)

``rast[B, H, W, 4]`` = (u, v, z/w, triangle_id + 1) with row 0 at NDC y = -1, on every backend.

The top level holds what a user calls; building blocks stay in their modules:
:mod:`render.camera` (``look_at``, ``perspective``, ``visualization_cameras``, ``CameraRanges``),
:mod:`render.uv` (``UVRaster``, ``pad_texture``, ``flip_v``) and :mod:`render.shading`
(``shade_lambert``, ``shade_normals``).
"""

from render.backend import (
    Backend,
    NvdiffrastRasterContext,
    RasterContext,
    TorchRasterContext,
    make_context,
    nvdiffrast_available,
)
from render.camera import CameraDistribution, Cameras, sample_cameras
from render.mesh import MeshRender, NormalMode, render_mesh
from render.ops import antialias, interpolate, rasterize, texture
from render.shading import render_preview
from render.uv import rasterize_uv

__all__ = [
    # nvdiffrast's four ops and their contexts
    "Backend",
    "NvdiffrastRasterContext",
    "RasterContext",
    "TorchRasterContext",
    "antialias",
    "interpolate",
    "make_context",
    "nvdiffrast_available",
    "rasterize",
    "texture",
    # GET3D's cameras, mesh and UV rendering, previews
    "CameraDistribution",
    "Cameras",
    "MeshRender",
    "NormalMode",
    "rasterize_uv",
    "render_mesh",
    "render_preview",
    "sample_cameras",
]
