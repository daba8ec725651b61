"""prepare: rendering meshes into the GET3D layout; round trip through the loader; resumability."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import trimesh
from PIL import Image

from get3d.data import MultiviewDataset, validate_dataset
from get3d.data.layout import Layout, read_split
from get3d.data.meshes import load_mesh, normalize
from get3d.data.prepare import (
    PrepareConfig,
    prepare_dataset,
    prepare_shape,
    render_source_mesh,
    sample_view_angles,
    write_dataset_splits,
)
from get3d.data.procedural import generate_shape, write_shape
from render.camera import Cameras
from render.mesh import render_mesh

from .builders import blender_cam2world
from .test_meshes import write_textured_quad

TINY = PrepareConfig(synset="s", resolution=32, views=4, supersample=1, scale=0.8)


def _head_on_flat(synset: str) -> PrepareConfig:
    """One 32 x 32 view from azimuth 0, elevation 0, with flat light (ambient 1): pixels show
    the material colours unchanged."""
    return PrepareConfig(
        synset=synset,
        resolution=32,
        views=1,
        supersample=1,
        azimuth_deg=(0, 0),
        elevation_deg=(0, 0),
        ambient=1.0,
        diffuse=0.0,
        scale=0.6,
    )


@pytest.fixture(scope="module")
def mesh_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("meshes")
    write_shape(generate_shape("chair", 1, texture_size=64), root / "chair1")
    write_shape(generate_shape("car", 2, texture_size=64), root / "car2", "glb")
    return root


@pytest.fixture(scope="module")
def prepared(mesh_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    report = prepare_dataset(mesh_dir, out, TINY, progress=False)
    assert report.rendered == ("car2", "chair1") and report.ok
    return out


def test_layout_and_files(prepared):
    for shape_id in ("car2", "chair1"):
        image_dir = prepared / "img" / "s" / shape_id
        assert sorted(p.name for p in image_dir.iterdir()) == [
            "000.png",
            "001.png",
            "002.png",
            "003.png",
            "transforms.json",
        ]
        rotation = np.load(prepared / "camera" / "s" / shape_id / "rotation.npy")
        elevation = np.load(prepared / "camera" / "s" / shape_id / "elevation.npy")
        assert rotation.dtype == np.float64 and rotation.shape == (4,) and elevation.shape == (4,)
        assert ((0 <= rotation) & (rotation < 360)).all() and ((0 <= elevation) & (elevation < 30)).all()
        with Image.open(image_dir / "000.png") as pic:
            assert pic.mode == "RGBA" and pic.size == (32, 32)
            pixels = np.asarray(pic)
        assert (pixels[[0, 0, -1, -1], [0, -1, 0, -1], 3] == 0).all()  # transparent corners
        assert (pixels[pixels[..., 3] == 0][:, :3] == 0).all()
        assert (pixels[..., 3] > 0).mean() > 0.05
    assert not (prepared / ".prepare_tmp").exists()
    assert validate_dataset(prepared / "img" / "s", prepared / "camera", decode=True).ok


def test_transforms_json_matches_the_blender_script_cameras(prepared):
    data = json.loads((prepared / "img" / "s" / "chair1" / "transforms.json").read_text())
    assert data["camera_angle_x"] == pytest.approx(2 * math.atan(16 / 35))
    assert data["aabb"] == [[-0.4] * 3, [0.4] * 3]
    assert data["source_mesh"] == "model.obj" and data["normalization"]["factor"] == pytest.approx(0.8)
    rotation = np.load(prepared / "camera" / "s" / "chair1" / "rotation.npy")
    elevation = np.load(prepared / "camera" / "s" / "chair1" / "elevation.npy")
    for frame, a, e in zip(data["frames"], rotation, elevation, strict=True):
        np.testing.assert_allclose(frame["transform_matrix"], blender_cam2world(a, e), atol=1e-6)


@pytest.mark.parametrize("layout", [Layout.GET3D, Layout.TRANSFORMS])
def test_round_trip_loaded_camera_reproduces_the_silhouette(prepared, mesh_dir, layout):
    camera_root = prepared / "camera" if layout is Layout.GET3D else None
    ds = MultiviewDataset(prepared / "img" / "s", camera_root)
    assert ds.layout is layout and len(ds) == 8
    meshes = {
        "chair1": normalize(load_mesh(mesh_dir / "chair1" / "model.obj"), 0.8)[0],
        "car2": normalize(load_mesh(mesh_dir / "car2" / "model.glb"), 0.8)[0],
    }
    for index, record in enumerate(ds.records):
        item = ds[index]
        mesh = meshes[record.shape_id]
        verts = torch.from_numpy(mesh.vertices).float()
        faces = torch.from_numpy(mesh.faces)

        def silhouette(cam2world, verts=verts, faces=faces):
            cams = Cameras.from_cam_to_world(cam2world[None].double()).to(dtype=torch.float32)
            return render_mesh(verts, faces, cams, 32, antialias=False).mask[0]

        mask = item.mask
        same = silhouette(item.cam2world)
        assert (same != mask).float().sum() <= 2, f"{record.image}: loaded camera does not reproduce the view"
        # a camera turned by 20 degrees does not: the comparison can fail
        turned = Cameras.from_angles(item.camera[:1].double() + math.radians(20), item.camera[1:].double())
        other = silhouette(turned.cam_to_world[0])
        assert (other != mask).float().sum() > 10


def test_colours_orientation_and_textures(tmp_path):
    """A textured quad seen head-on with flat light (ambient 1) reproduces its texture: the camera
    at azimuth 0 sits on -Z, so world +X is image left and world +Y image top."""
    texture = np.array(
        [[[255, 0, 0], [0, 0, 255]], [[0, 255, 0], [255, 255, 255]]], np.uint8
    )  # rows top-down
    write_textured_quad(tmp_path / "m" / "quad", np.repeat(np.repeat(texture, 8, 0), 8, 1))
    prepare_dataset(tmp_path / "m", tmp_path / "out", _head_on_flat("q"), progress=False)
    pixels = np.asarray(Image.open(tmp_path / "out" / "img" / "q" / "quad" / "000.png"))
    # texture top-left (red) is world x < 0, y > 0 -> image top-right
    np.testing.assert_array_equal(pixels[10, 21], [255, 0, 0, 255])
    np.testing.assert_array_equal(pixels[10, 10], [0, 0, 255, 255])
    np.testing.assert_array_equal(pixels[21, 21], [0, 255, 0, 255])
    np.testing.assert_array_equal(pixels[21, 10], [255, 255, 255, 255])


def test_vertex_colours_and_light_model(tmp_path):
    box = trimesh.creation.box(extents=(0.5, 0.5, 0.5))
    box.visual.vertex_colors = np.tile([[255, 128, 0, 255]], (8, 1))
    (tmp_path / "m").mkdir()
    box.export(tmp_path / "m" / "box.ply")
    mesh = normalize(load_mesh(tmp_path / "m" / "box.ply"), 0.5)[0]
    flat = render_source_mesh(
        mesh,
        np.array([30.0]),
        np.array([20.0]),
        PrepareConfig(resolution=16, supersample=1, ambient=1.0, diffuse=0.0),
    )
    inside = flat[0][flat[0, ..., 3] > 0]
    np.testing.assert_array_equal(np.unique(inside, axis=0), [[255, 128, 0, 255]])
    lit = render_source_mesh(
        mesh, np.array([30.0]), np.array([20.0]), PrepareConfig(resolution=16, supersample=1)
    )
    shades = {tuple(p) for p in lit[0][lit[0, ..., 3] > 0]}
    assert 2 <= len(shades) <= 3  # a cube shows two or three faces, each one flat shade
    assert all(r <= 255 and r > g for r, g, *_ in shades)


def test_supersampling_softens_only_the_edges(tmp_path):
    mesh = normalize(load_mesh_box(), 0.5)[0]
    hard = render_source_mesh(
        mesh, np.array([30.0]), np.array([20.0]), PrepareConfig(resolution=24, supersample=1)
    )
    soft = render_source_mesh(
        mesh, np.array([30.0]), np.array([20.0]), PrepareConfig(resolution=24, supersample=3)
    )
    alpha = soft[0, ..., 3]
    assert ((alpha > 0) & (alpha < 255)).sum() > 10
    assert abs(int((hard[0, ..., 3] > 0).sum()) - int((alpha > 127).sum())) < 12


def load_mesh_box():
    from get3d.data.meshes import SourceMaterial, SourceMesh

    box = trimesh.creation.box(extents=(0.5, 0.5, 0.5))
    return SourceMesh(
        np.asarray(box.vertices), np.asarray(box.faces), np.zeros(12, np.int64), (SourceMaterial(np.ones(3)),)
    )


def test_deterministic_and_order_independent(mesh_dir, prepared, tmp_path):
    again = prepare_dataset(mesh_dir, tmp_path / "again", TINY, progress=False, ids=["chair1"])
    assert again.rendered == ("chair1",)
    for name in ("000.png", "003.png", "transforms.json"):
        assert (tmp_path / "again/img/s/chair1" / name).read_bytes() == (
            prepared / "img/s/chair1" / name
        ).read_bytes()
    a, e = sample_view_angles("chair1", TINY)
    np.testing.assert_array_equal(np.load(prepared / "camera/s/chair1/rotation.npy"), a)
    assert not np.array_equal(sample_view_angles("car2", TINY)[0], a)


def test_resumable_and_never_half_written(mesh_dir, tmp_path, monkeypatch):
    out = tmp_path / "out"
    saved = []
    original = Image.Image.save

    def failing_save(self, fp, *args, **kwargs):
        if len(saved) == 2:
            raise OSError("disk full (simulated)")
        saved.append(fp)
        return original(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        prepare_shape(mesh_dir / "chair1" / "model.obj", "chair1", out, TINY)
    monkeypatch.setattr(Image.Image, "save", original)
    assert not (out / "img" / "s" / "chair1").exists() and not (out / "camera" / "s" / "chair1").exists()
    assert not list(out.rglob("*.png"))  # the temporary folder is removed too
    first = prepare_dataset(mesh_dir, out, TINY, progress=False)
    assert first.rendered == ("car2", "chair1") and not (out / ".prepare_tmp").exists()
    # an interrupted move (camera folder in place, images not) is redone; complete shapes skipped
    import shutil

    shutil.rmtree(out / "img" / "s" / "car2")
    second = prepare_dataset(mesh_dir, out, TINY, progress=False)
    assert second.rendered == ("car2",) and second.skipped == ("chair1",)
    assert validate_dataset(out / "img" / "s", out / "camera").ok
    with pytest.raises(ValueError, match="fresh output folder"):
        prepare_dataset(mesh_dir, out, PrepareConfig(synset="s", resolution=32, views=6), progress=False)


def test_failures_are_collected_and_reported(mesh_dir, tmp_path):
    import shutil

    meshes = tmp_path / "meshes"
    shutil.copytree(mesh_dir, meshes)
    (meshes / "broken.glb").write_bytes(b"not a mesh")
    with pytest.raises(RuntimeError, match="1 of 3 shapes failed") as err:
        prepare_dataset(meshes, tmp_path / "out", TINY, progress=False)
    assert "broken" in str(err.value)
    assert (tmp_path / "out/img/s/chair1/003.png").is_file()  # the others were rendered
    report = prepare_dataset(meshes, tmp_path / "out", TINY, progress=False, strict=False)
    assert [i for i, _ in report.failed] == ["broken"] and report.skipped == ("car2", "chair1")


@pytest.mark.slow
def test_two_workers_give_the_same_bytes(mesh_dir, prepared, tmp_path):
    report = prepare_dataset(mesh_dir, tmp_path / "w2", TINY, workers=2, progress=False)
    assert report.rendered == ("car2", "chair1")
    for shape_id in report.rendered:
        for name in ("000.png", "002.png"):
            assert (tmp_path / "w2/img/s" / shape_id / name).read_bytes() == (
                prepared / "img/s" / shape_id / name
            ).read_bytes()


def test_split_files(prepared, tmp_path):
    paths = write_dataset_splits(prepared, "s", (0.5, 0.0, 0.5), seed=1, split_dir=tmp_path / "split")
    ids = read_split(paths["train"]) + read_split(paths["test"])
    assert sorted(ids) == ["car2", "chair1"] and read_split(paths["val"]) == []
    ds = MultiviewDataset(prepared / "img" / "s", prepared / "camera", split_file=paths["train"])
    assert ds.shape_ids == tuple(read_split(paths["train"]))


def test_config_checks():
    with pytest.raises(ValueError, match="views"):
        PrepareConfig(views=0)
    with pytest.raises(ValueError, match="elevation_deg"):
        PrepareConfig(elevation_deg=(0, 90))
    with pytest.raises(ValueError, match="scale"):
        PrepareConfig(scale=2.0)


def test_one_texture_per_material(tmp_path):
    """Two quads with their own texture maps (and a Kd that a map replaces) keep their colours."""
    folder = tmp_path / "m" / "pair"
    folder.mkdir(parents=True)
    Image.fromarray(np.full((4, 4, 3), (255, 0, 0), np.uint8)).save(folder / "red.png")
    Image.fromarray(np.full((4, 4, 3), (0, 0, 255), np.uint8)).save(folder / "blue.png")
    (folder / "model.mtl").write_text(
        "newmtl a\nKd 0.1 0.1 0.1\nmap_Kd red.png\nnewmtl b\nmap_Kd blue.png\nnewmtl c\nKd 0 1 0\n"
    )
    (folder / "model.obj").write_text(
        "mtllib model.mtl\n"
        "v -0.3 -0.3 0\nv 0 -0.3 0\nv 0 0.3 0\nv -0.3 0.3 0\n"
        "v 0 -0.3 0\nv 0.3 -0.3 0\nv 0.3 0.3 0\nv 0 0.3 0\n"
        "v -0.3 -0.3 0.1\nv 0.3 -0.3 0.1\nv 0 -0.6 0.1\n"
        "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\n"
        "usemtl a\nf 1/1 2/2 3/3\nf 1/1 3/3 4/4\nusemtl b\nf 5/1 6/2 7/3\nf 5/1 7/3 8/4\n"
        "usemtl c\nf 9 10 11\n"
    )
    prepare_dataset(tmp_path / "m", tmp_path / "out", _head_on_flat("p"), progress=False)
    pixels = np.asarray(Image.open(tmp_path / "out" / "img" / "p" / "pair" / "000.png"))
    np.testing.assert_array_equal(pixels[13, 19], [255, 0, 0, 255])  # world x < 0 is image right
    np.testing.assert_array_equal(pixels[13, 12], [0, 0, 255, 255])
    np.testing.assert_array_equal(pixels[23, 16], [0, 255, 0, 255])  # the plain Kd material


@pytest.mark.slow
def test_workers_from_an_unguarded_script(mesh_dir, tmp_path):
    """A script without ``if __name__ == "__main__":`` can use workers (no re-run of the script)."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "run.py"
    script.write_text(
        "from get3d.data.prepare import PrepareConfig, prepare_dataset\n"
        f"r = prepare_dataset({str(mesh_dir)!r}, {str(tmp_path / 'o')!r}, "
        "PrepareConfig(synset='s', resolution=16, views=2, supersample=1), workers=2, progress=False)\n"
        "print('RENDERED', len(r.rendered))\n"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("RENDERED 2") == 1
