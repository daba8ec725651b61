"""Target views: validation, on-the-fly renders, data-set loading (frames end to end), visual hull."""

import pytest
import torch
import trimesh

import dmtet
from get3d.data.prepare import PrepareConfig, prepare_dataset
from get3d.reconstruct import Views, load_views, silhouette_iou, views_from_mesh
from get3d.reconstruct.init import sphere_sdf, visual_hull_sdf
from get3d.reconstruct.views import render_target_views
from render import sample_cameras


def _box_tensors(size=(0.5, 0.3, 0.4)):
    box = trimesh.creation.box(size)
    return torch.tensor(box.vertices, dtype=torch.float32), torch.tensor(box.faces)


def test_views_validate_their_fields():
    cams = sample_cameras(2, generator=torch.Generator().manual_seed(0))
    images, masks = torch.zeros(2, 3, 4, 4), torch.zeros(2, 1, 4, 4)
    views = Views(images, masks, cams)
    assert len(views) == 2 and views.resolution == (4, 4)
    assert len(views.subset([1])) == 1 and len(views.subset(slice(0, 1))) == 1
    with pytest.raises(ValueError, match="images"):
        Views(torch.zeros(2, 4, 4, 4), masks, cams)
    with pytest.raises(ValueError, match="masks"):
        Views(images, torch.zeros(2, 1, 4, 5), cams)
    with pytest.raises(ValueError, match="cameras"):
        Views(images, masks, cams[0])


def test_render_target_views_colours_and_background():
    v, f = _box_tensors()
    cams = sample_cameras(3, generator=torch.Generator().manual_seed(0))
    colours = torch.tensor([0.5, -0.5, 0.25]).expand_as(v)
    views = render_target_views(v, f, cams, 24, colours)
    inside = views.masks[:, 0] > 0.999
    outside = views.masks[:, 0] == 0
    assert inside.any() and outside.any()
    torch.testing.assert_close(
        views.images.permute(0, 2, 3, 1)[inside], colours[:1].expand(int(inside.sum()), 3)
    )
    assert (views.images.permute(0, 2, 3, 1)[outside] == -1).all()
    with pytest.raises(ValueError, match="vertex_colors"):
        render_target_views(v, f, cams, 24, colours[:3])


def test_prepared_data_set_loads_with_cameras_that_reproduce_its_silhouettes(tmp_path):
    box = trimesh.creation.box((0.6, 0.3, 0.45))
    (tmp_path / "meshes" / "box").mkdir(parents=True)
    box.export(tmp_path / "meshes" / "box" / "model.obj")
    config = PrepareConfig(resolution=32, views=4, supersample=1, seed=3)
    prepare_dataset(tmp_path / "meshes", tmp_path / "data", config, progress=False)
    views = load_views(tmp_path / "data")
    assert len(views) == 4 and views.resolution == (32, 32)
    assert views.images.min() >= -1 and views.images.max() <= 1
    # ground truth (the box normalised as prepare does: longest side 0.9) seen by the loaded cameras
    v, f = _box_tensors((0.9, 0.45, 0.675))
    rendered = render_target_views(v, f, views.cameras, 32)
    assert silhouette_iou(rendered.masks, views.masks).min() > 0.9
    # the same views rendered in memory (same seed and shape id) match the files
    direct, normalised = views_from_mesh(
        tmp_path / "meshes" / "box" / "model.obj", config=config, shape_id="box"
    )
    torch.testing.assert_close(direct.cameras.world_to_cam, views.cameras.world_to_cam, atol=1e-5, rtol=0)
    assert (direct.images - views.images).abs().max() <= 2.5 / 255 * 2
    assert abs(normalised.bounds[1] - normalised.bounds[0]).max() == pytest.approx(0.9)
    with pytest.raises(ValueError, match="shape_id"):
        load_views(tmp_path / "data", "no_such_shape")
    with pytest.raises(ValueError, match="path"):
        load_views(tmp_path / "missing")


def test_visual_hull_contains_the_object_and_excludes_the_outside():
    grid = dmtet.TetGrid.bcc(10)
    v, f = _box_tensors((0.5, 0.5, 0.5))
    cams = sample_cameras(12, generator=torch.Generator().manual_seed(1))
    views = render_target_views(v, f, cams, 48)
    sdf = visual_hull_sdf(grid, views)
    h = float(grid.edge_lengths().median())
    assert sdf.abs().max() <= h + 1e-6
    inner = (grid.vertices.abs() < 0.2).all(-1)
    far = (grid.vertices.abs() > 0.4).any(-1)
    assert (sdf[inner] > 0).all() and (sdf[far] < 0).all()
    torch.testing.assert_close(sphere_sdf(grid, 0.3)[grid.center_idx], torch.tensor([0.3]))


def test_visual_hull_does_not_carve_what_the_frame_cuts_off():
    # silhouettes filling every frame (an object larger than the view): nothing can be carved,
    # including grid corners that project outside the images
    grid = dmtet.TetGrid.bcc(8)
    v, f = _box_tensors((0.3, 0.3, 0.3))
    cams = sample_cameras(4, generator=torch.Generator().manual_seed(2))
    views = render_target_views(v, f, cams, 24)
    full = Views(views.images, torch.ones_like(views.masks), views.cameras)
    assert (visual_hull_sdf(grid, full) > 0).all()
