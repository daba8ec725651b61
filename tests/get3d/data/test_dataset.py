"""Loading GET3D-layout and transforms-layout data sets: values, cameras, resizing, determinism."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from get3d.data import MultiviewDataset, WorldUp
from get3d.data.cameras import camera_condition, read_transforms, write_transforms
from get3d.data.dataset import load_view
from get3d.data.layout import Layout
from render.camera import Cameras, blender_to_world, world_to_blender

from .builders import blender_cam2world, make_get3d, make_transforms, write_rgba


def expected_image(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GET3D's per-item arithmetic at native size, written out by hand."""
    mask = (pixels[..., 3] > 0).astype(np.float64)
    rgb = pixels[..., :3].astype(np.float64) * mask[..., None]
    return (rgb / 127.5 - 1.0).transpose(2, 0, 1), mask[None]


def test_get3d_items_have_get3d_values(tmp_path):
    data = make_get3d(tmp_path)
    ds = MultiviewDataset(data.data_dir, data.camera_root)
    assert ds.layout is Layout.GET3D
    assert ds.shape_ids == ("a_shape", "b_shape")
    assert len(ds) == 5 and ds.resolution == 8
    order = [(r.shape_id, r.view) for r in ds.records]
    assert order == [("a_shape", 0), ("a_shape", 1), ("b_shape", 0), ("b_shape", 1), ("b_shape", 2)]
    for index, (shape_id, view) in enumerate(order):
        item = ds[index]
        assert item.image.dtype == torch.float32 and item.image.shape == (3, 8, 8)
        assert item.mask.shape == (1, 8, 8) and item.camera.shape == (2,)
        image, mask = expected_image(data.pixels[shape_id, view])
        np.testing.assert_allclose(item.image.numpy(), image, atol=1e-6)
        np.testing.assert_array_equal(item.mask.numpy(), mask)
        # background black (-1), alpha = 1 counts as foreground (GET3D: alpha > 0)
        assert bool((item.image[:, item.mask[0] == 0] == -1).all())
        rotation, elevation = data.rotation[shape_id][view], data.elevation[shape_id][view]
        c = torch.tensor([rotation / 180 * np.pi, (90 - elevation) / 180.0 * np.pi], dtype=torch.float32)
        assert torch.equal(item.camera, c)  # exactly GET3D's float arithmetic


def test_camera_condition_matches_get3d_formula_bitwise():
    rotation = np.random.default_rng(1).uniform(0, 360, 50)
    elevation = np.random.default_rng(2).uniform(0, 30, 50)
    azimuth, polar = camera_condition(rotation, elevation)
    for i in range(50):
        assert azimuth[i] == rotation[i] / 180 * np.pi
        assert polar[i] == (90 - elevation[i]) / 180.0 * np.pi
    # float32 files compute in float32, as GET3D does on the loaded array
    a32, p32 = camera_condition(rotation.astype(np.float32), elevation.astype(np.float32))
    assert a32.dtype == np.float64
    assert a32[3] == np.float64(np.float32(rotation[3]) / 180 * np.pi)


def test_cam2world_of_get3d_layout_is_the_blender_camera(tmp_path):
    data = make_get3d(tmp_path, {"s": 4})
    ds = MultiviewDataset(data.data_dir, data.camera_root)
    for index in range(4):
        a, e = data.rotation["s"][index], data.elevation["s"][index]
        obj = blender_to_world(torch.from_numpy(blender_cam2world(a, e)))
        np.testing.assert_allclose(ds[index].cam2world.numpy(), obj.numpy(), atol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_blender_script_camera_equals_get3d_angles(seed):
    """Spec §8.3: the Blender camera, in the OBJ frame, is o(theta=a, phi=90-e), whole matrix."""
    rng = np.random.default_rng(seed)
    a, e = rng.uniform(0, 360), rng.uniform(-60, 60)
    position_blender = blender_cam2world(a, e)[:3, 3]
    r = 1.2
    ea, aa = math.radians(e), math.radians(a)
    expected = [-r * math.cos(ea) * math.sin(aa), r * math.cos(ea) * math.cos(aa), r * math.sin(ea)]
    np.testing.assert_allclose(position_blender, expected, atol=1e-12)
    azimuth, polar = camera_condition(np.array([a]), np.array([e]))
    ours = Cameras.from_angles(torch.from_numpy(azimuth), torch.from_numpy(polar)).cam_to_world[0]
    obj = blender_to_world(torch.from_numpy(blender_cam2world(a, e)))
    np.testing.assert_allclose(ours.numpy(), obj.numpy(), atol=1e-12)


def test_resize_bilinear_rgb_nearest_mask(tmp_path):
    pixels = np.zeros((4, 4, 4), np.uint8)
    pixels[..., :3] = np.arange(16 * 3, dtype=np.uint8).reshape(4, 4, 3) * 5
    pixels[..., 3] = np.array([[0, 9, 9, 9], [9, 9, 9, 9], [9, 9, 0, 9], [9, 9, 9, 0]], np.uint8)
    path = write_rgba(tmp_path / "v.png", pixels)
    image, mask = load_view(path, resolution=2)
    # 2x downsampling: bilinear (align_corners=False, no antialias) = mean of each 2x2 block;
    # nearest picks each block's top-left pixel (cv2.INTER_NEAREST).
    rgb = pixels[..., :3].astype(np.float64)
    blocks = rgb.reshape(2, 2, 2, 2, 3).mean(axis=(1, 3))
    top_left_alpha = pixels[::2, ::2, 3]
    expected_mask = (top_left_alpha > 0).astype(np.float64)
    expected = (blocks * expected_mask[..., None] / 127.5 - 1.0).transpose(2, 0, 1)
    np.testing.assert_array_equal(mask[0].numpy(), expected_mask)
    np.testing.assert_allclose(image.numpy(), expected, atol=1e-5)
    # 2x upsampling: nearest repeats every alpha pixel
    _, big = load_view(path, resolution=8)
    np.testing.assert_array_equal(big[0].numpy(), np.repeat(np.repeat(pixels[..., 3] > 0, 2, 0), 2, 1))


def test_dataset_resolution_and_dataloader(tmp_path):
    data = make_get3d(tmp_path, size=8)
    ds = MultiviewDataset(data.data_dir, data.camera_root, resolution=4)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=3, shuffle=False)))
    assert batch.image.shape == (3, 3, 4, 4) and batch.mask.shape == (3, 1, 4, 4)
    assert batch.camera.shape == (3, 2) and batch.cam2world.shape == (3, 4, 4)
    assert set(torch.unique(batch.mask).tolist()) <= {0.0, 1.0}
    assert batch.image.min() >= -1 and batch.image.max() <= 1


def test_loading_is_deterministic(tmp_path):
    data = make_get3d(tmp_path)
    first = MultiviewDataset(data.data_dir, data.camera_root, resolution=4)
    second = MultiviewDataset(data.data_dir, data.camera_root, resolution=4)
    for i in range(len(first)):
        for x, y in zip(first[i], second[i], strict=True):
            assert torch.equal(x, y)


def test_split_file_restricts_shapes(tmp_path):
    data = make_get3d(tmp_path, {"a": 1, "b": 2, "c": 1})
    split = tmp_path / "train.txt"
    split.write_text("c\n\n  a \n")
    ds = MultiviewDataset(data.data_dir, data.camera_root, split_file=split)
    assert ds.shape_ids == ("a", "c") and len(ds) == 2


def test_transforms_layout_cameras(tmp_path):
    angles = make_transforms(tmp_path)
    ds = MultiviewDataset(tmp_path)
    assert ds.layout is Layout.TRANSFORMS and ds.shape_ids == ("s0", "s1") and len(ds) == 5
    for index, record in enumerate(ds.records):
        a, e = angles[record.shape_id][record.view]
        item = ds[index]
        expected = torch.tensor([math.radians(a), math.radians(90 - e)])
        assert torch.allclose(item.camera, expected, atol=1e-6)
        obj = blender_to_world(torch.from_numpy(blender_cam2world(a, e)))
        np.testing.assert_allclose(item.cam2world.numpy(), obj.numpy(), atol=1e-6)
        assert record.fovy == pytest.approx(2 * math.atan(16 / 35))


def test_transforms_layout_in_y_up_world(tmp_path):
    angles = make_transforms(tmp_path, {"s": 2})
    path = tmp_path / "s" / "transforms.json"
    data = json.loads(path.read_text())
    for frame in data["frames"]:
        m = blender_to_world(torch.tensor(frame["transform_matrix"], dtype=torch.float64))
        frame["transform_matrix"] = m.tolist()
    path.write_text(json.dumps(data))
    ds = MultiviewDataset(tmp_path, world_up=WorldUp.Y)
    a, e = angles["s"][1]
    assert torch.allclose(ds[1].camera, torch.tensor([math.radians(a), math.radians(90 - e)]), atol=1e-6)


def test_transforms_roundtrip_and_nerf_style_paths(tmp_path):
    matrices = world_to_blender(
        Cameras.from_angles(torch.tensor([0.3, 2.0]), torch.tensor([1.2, 1.4])).cam_to_world.double()
    ).numpy()
    path = write_transforms(tmp_path / "transforms.json", 0.5, ["./train/r_0", "b.png"], matrices, 0.45)
    loaded = read_transforms(path)
    assert loaded.camera_angle_x == 0.5
    assert loaded.image_paths == (tmp_path / "train" / "r_0.png", tmp_path / "b.png")
    np.testing.assert_allclose(loaded.cam2world, matrices)
    assert json.loads(path.read_text())["aabb"] == [[-0.45] * 3, [0.45] * 3]


def test_item_from_a_file_corrupted_after_opening_names_the_file(tmp_path):
    data = make_get3d(tmp_path, {"s": 2}, size=64)
    ds = MultiviewDataset(data.data_dir, data.camera_root)
    bad = data.data_dir / "s" / "001.png"
    bad.write_bytes(bad.read_bytes()[:100])
    with pytest.raises(ValueError, match="001.png: file: unreadable PNG"):
        ds[1]
    with pytest.raises(IndexError, match="index"):
        ds[2]
