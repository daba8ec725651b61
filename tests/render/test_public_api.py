"""The top level of ``render`` holds what a user calls; building blocks stay in their modules."""

from __future__ import annotations

import importlib

import render

TOP_LEVEL = {
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
    "CameraDistribution",
    "Cameras",
    "MeshRender",
    "NormalMode",
    "rasterize_uv",
    "render_mesh",
    "render_preview",
    "sample_cameras",
}

BUILDING_BLOCKS = {
    "render.camera": ("CameraRanges", "look_at", "perspective", "visualization_cameras"),
    "render.uv": ("UVRaster", "flip_v", "pad_texture"),
    "render.shading": ("shade_lambert", "shade_normals"),
}


def test_top_level_names_are_exactly_the_user_facing_ones():
    assert len(render.__all__) == len(set(render.__all__))
    assert set(render.__all__) == TOP_LEVEL
    for name in render.__all__:
        assert getattr(render, name) is not None


def test_building_blocks_are_importable_from_their_modules_only():
    for module_name, names in BUILDING_BLOCKS.items():
        module = importlib.import_module(module_name)
        for name in names:
            assert name in module.__all__ and hasattr(module, name)
            assert name not in render.__all__ and not hasattr(render, name)
