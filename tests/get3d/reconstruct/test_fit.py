"""End to end: tiny reconstructions, rendering of results, config checks, result files."""

import dataclasses

import numpy as np
import pytest
import torch
import trimesh
from PIL import Image

import dmtet
from get3d.export.obj import write_untextured_obj
from get3d.reconstruct import (
    ColorMode,
    Init,
    ReconstructConfig,
    Shading,
    mesh_chamfer,
    reconstruct,
    render_result,
    silhouette_iou,
)
from get3d.reconstruct.fit import render_surface
from get3d.reconstruct.io import write_result, write_textured
from get3d.reconstruct.views import render_target_views
from render import sample_cameras

TINY = ReconstructConfig(
    grid_resolutions=(8, 12),
    steps=(30, 20),
    views_per_step=4,
    lr=0.02,
    weight_smooth=0.01,
    init=Init.SPHERE,
    init_radius=0.3,
    progress=False,
)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """The tiny problems here are dominated by per-op overhead: intra-op threads only add
    contention on a shared machine (several times slower). Restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def box_target():
    box = trimesh.creation.box((0.5, 0.35, 0.4))
    v, f = torch.tensor(box.vertices, dtype=torch.float32), torch.tensor(box.faces)
    colours = (v / 0.5).clamp(-1, 1)  # a colour gradient across the box
    cams = sample_cameras(10, generator=torch.Generator().manual_seed(1))
    views = render_target_views(v, f, cams, 32, colours)
    return v, f, views.subset(slice(0, 8)), views.subset(slice(8, 10))


@pytest.fixture(scope="module")
def tiny_result(box_target):
    _, _, train, _ = box_target
    return reconstruct(train, TINY)


def test_tiny_reconstruction_of_a_box_reaches_the_stated_chamfer_bound(box_target, tiny_result):
    v, f, _, held_out = box_target
    grid = dmtet.TetGrid.bcc(TINY.grid_resolutions[0])
    start = dmtet.marching_tets(grid, (TINY.init_radius - grid.vertices.norm(dim=-1))[None], outward=True)[0]
    initial = mesh_chamfer(start.vertices, start.faces, v, f, points=5000).chamfer_l1
    final = mesh_chamfer(tiny_result.vertices, tiny_result.faces, v, f, points=5000).chamfer_l1
    # in units of the box's longest side; the sphere starts at about 0.086
    assert final < 0.05, final
    assert final < 0.6 * initial, (initial, final)
    image = render_result(tiny_result, held_out.cameras, 32)
    assert silhouette_iou(image.mask, held_out.masks).min() > 0.85
    assert (image.rgb - held_out.images).abs().mean() < 0.1
    # history: one entry per step, silhouette loss went down, stages recorded
    assert len(tiny_result.history) == sum(TINY.steps)
    assert tiny_result.history[-1].silhouette < 0.5 * tiny_result.history[0].silhouette
    assert [s.resolution for s in tiny_result.stages] == list(TINY.grid_resolutions)
    assert tiny_result.sdf.shape == (tiny_result.grid.num_vertices,)
    assert tiny_result.vertex_colors.min() >= 0 and tiny_result.vertex_colors.max() <= 1


def test_visual_hull_start_and_vertex_colours_with_lambert_shading(box_target):
    v, f, train, _ = box_target
    config = dataclasses.replace(
        TINY, steps=(6, 4), init=Init.VISUAL_HULL, color_mode=ColorMode.VERTEX, shading=Shading.LAMBERT
    )
    result = reconstruct(train, config)
    assert all(np.isfinite(h.total) for h in result.history)
    # the visual hull of 8 views at grid 8 already sits close to the box (the sphere starts at 0.086)
    assert mesh_chamfer(result.vertices, result.faces, v, f, points=5000).chamfer_l1 < 0.07
    image = render_result(result, train.cameras[:2], 32)
    assert image.rgb.shape == (2, 3, 32, 32) and image.rgb.min() >= -1 and image.rgb.max() <= 1


def test_render_surface_gives_geometry_and_colour_gradients():
    grid = dmtet.TetGrid.bcc(6)
    sdf = (0.3 - grid.vertices.norm(dim=-1)).requires_grad_()
    mesh = dmtet.marching_tets(grid, sdf[None], outward=True)[0]
    cams = sample_cameras(2, generator=torch.Generator().manual_seed(0))
    colours = torch.zeros_like(mesh.vertices, requires_grad=True)
    out = render_surface(mesh.vertices, mesh.faces, cams, 24, vertex_colors=colours, shading=Shading.LAMBERT)
    (out.mask.sum() + out.rgb.sum()).backward()
    assert sdf.grad.abs().sum() > 0 and colours.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="color_mlp, vertex_colors"):
        render_surface(mesh.vertices, mesh.faces, cams, 24)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="steps"):
        ReconstructConfig(grid_resolutions=(8, 12), steps=(10,))
    with pytest.raises(ValueError, match="grid_resolutions"):
        ReconstructConfig(grid_resolutions=(12, 8), steps=(1, 1))
    with pytest.raises(ValueError, match="init_radius"):
        ReconstructConfig(init_radius=0.6)
    with pytest.raises(ValueError, match="color_mode"):
        ReconstructConfig(color_mode="texture")
    with pytest.raises(ValueError, match="weight_rgb"):
        ReconstructConfig(weight_rgb=-1.0)
    assert ReconstructConfig(shading="lambert").shading is Shading.LAMBERT
    with pytest.raises(TypeError, match="views"):
        reconstruct("views", TINY)


def test_write_result_files(tmp_path, box_target, tiny_result):
    _, _, train, _ = box_target
    files = write_result(tiny_result, tmp_path / "out", train, max_views=3)
    loaded = trimesh.load(files.mesh, process=False)
    assert len(loaded.vertices) == tiny_result.vertices.shape[0]
    assert len(loaded.faces) == tiny_result.faces.shape[0]
    np.testing.assert_allclose(loaded.vertices, tiny_result.vertices.numpy(), atol=1e-5)
    picture = np.asarray(Image.open(files.comparison))
    assert picture.shape == (64, 96, 3)
    assert not list((tmp_path / "out").glob(".*tmp"))
    with pytest.raises(ValueError, match="path"):
        write_untextured_obj(tmp_path / "mesh.ply", tiny_result.vertices, tiny_result.faces)
    with pytest.raises(ValueError, match="textured"):
        write_result(tiny_result, tmp_path / "out", train, textured="fbx")


def test_write_textured_glb_carries_the_colour_field(tmp_path, tiny_result):
    (path,) = write_textured(tiny_result, tmp_path / "box.glb", texture_size=64)
    scene = trimesh.load(path)
    mesh = next(iter(scene.geometry.values())) if hasattr(scene, "geometry") else scene
    assert len(mesh.faces) == tiny_result.faces.shape[0]
    texture = np.asarray(mesh.visual.material.baseColorTexture.convert("RGB"), dtype=np.float64) / 255
    # the box's colours span a gradient: the baked texture is not a flat fill
    assert texture.reshape(-1, 3).std(0).max() > 0.05
