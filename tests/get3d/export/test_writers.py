"""OBJ/MTL/PNG and GLB files read back, texture orientation end to end, atomic writes, clean-up."""

from __future__ import annotations

import io
import math
import pathlib

import numpy as np
import pytest
import torch
import trimesh
from PIL import Image

from get3d.export import (
    Material,
    cleanup_mesh,
    image_grid,
    save_textured_mesh,
    texture_mesh,
    write_gif,
    write_glb,
    write_obj,
    write_png,
)
from render.camera import visualization_cameras

from ..roundtrip import assert_silhouettes_match, load_mesh_file, obj_counts, silhouette
from .helpers import accessor, field, read_glb, sphere

RES = 128


@pytest.fixture(scope="module")
def mesh():
    v, f = sphere(1)
    return texture_mesh(v, f, field, texture_size=RES)


def _expected_rgb(points: torch.Tensor) -> np.ndarray:
    return ((field(points.double().float()) + 1) / 2 * 255).numpy()


def test_obj_files(tmp_path, mesh):
    obj, mtl, png = write_obj(tmp_path / "shape.obj", mesh, Material(roughness=0.6))
    lines = obj.read_text().splitlines()
    count = {k: sum(1 for ln in lines if ln.startswith(k + " ")) for k in ("v", "vt", "vn", "f")}
    assert count == {
        "v": mesh.num_vertices,
        "vt": mesh.uvs.shape[0],
        "vn": mesh.num_vertices,
        "f": mesh.num_faces,
    }
    assert "mtllib shape.mtl" in lines and "usemtl material_0" in lines
    assert lines.index("usemtl material_0") < next(i for i, ln in enumerate(lines) if ln.startswith("f "))
    first_face = next(ln for ln in lines if ln.startswith("f "))
    corners = [tuple(map(int, c.split("/"))) for c in first_face.split()[1:]]
    f0, t0 = mesh.faces[0].tolist(), mesh.uv_faces[0].tolist()
    assert corners == [(f0[k] + 1, t0[k] + 1, f0[k] + 1) for k in range(3)]
    m = mtl.read_text().splitlines()
    assert "newmtl material_0" in m and "map_Kd shape.png" in m and "Pr 0.600000" in m
    assert not any(ln.startswith("Ns") for ln in m) and "Ks 0.000000 0.000000 0.000000" in m
    assert Image.open(png).size == (RES, RES)
    loaded = trimesh.load(obj, process=False)
    assert isinstance(loaded.visual, trimesh.visual.texture.TextureVisuals)
    assert loaded.visual.material.image.size == (RES, RES)
    v = mesh.vertices.numpy()
    assert np.allclose(loaded.bounds, [v.min(0), v.max(0)], atol=1e-5)


def test_obj_texture_orientation_end_to_end(tmp_path, mesh):
    """Face centroids: the PNG pixel at the centroid's vt is the field at the centroid's world point."""
    obj, _, png = write_obj(tmp_path / "a.obj", mesh)
    img = np.asarray(Image.open(png).convert("RGB")).astype(np.float64)
    uv = mesh.uvs[mesh.uv_faces].mean(1).numpy()
    world = mesh.vertices[mesh.faces].mean(1)
    rows = np.floor((1.0 - uv[:, 1]) * RES).astype(int)  # OBJ v = 0 is the bottom row of the image
    cols = np.floor(uv[:, 0] * RES).astype(int)
    err = np.abs(img[rows, cols] - _expected_rgb(world))
    assert np.median(err) < 3 and np.percentile(err, 95) < 10


def test_glb_structure_and_orientation(tmp_path, mesh):
    path = write_glb(tmp_path / "a.glb", mesh, Material(roughness=0.8, metallic=0.1))
    doc, binary, _ = read_glb(path)
    assert doc["asset"]["version"] == "2.0"
    prim = doc["meshes"][0]["primitives"][0]
    assert prim["mode"] == 4 and set(prim["attributes"]) == {"POSITION", "NORMAL", "TEXCOORD_0"}
    pbr = doc["materials"][prim["material"]]["pbrMetallicRoughness"]
    assert pbr["baseColorTexture"]["index"] == 0 and pbr["metallicFactor"] == pytest.approx(0.1)
    assert pbr["roughnessFactor"] == pytest.approx(0.8)
    image = doc["images"][doc["textures"][0]["source"]]
    assert image["mimeType"] == "image/png"
    view = doc["bufferViews"][image["bufferView"]]
    png = Image.open(io.BytesIO(binary[view["byteOffset"] : view["byteOffset"] + view["byteLength"]]))
    assert png.size == (RES, RES) and png.mode == "RGB"
    pos = accessor(doc, binary, prim["attributes"]["POSITION"])
    nrm = accessor(doc, binary, prim["attributes"]["NORMAL"])
    tc = accessor(doc, binary, prim["attributes"]["TEXCOORD_0"])
    idx = accessor(doc, binary, prim["indices"]).reshape(-1, 3).astype(np.int64)
    acc = doc["accessors"][prim["attributes"]["POSITION"]]
    assert np.allclose(acc["min"], pos.min(0)) and np.allclose(acc["max"], pos.max(0))
    assert len(pos) == mesh.uvs.shape[0] and len(idx) == mesh.num_faces and idx.max() < len(pos)
    assert np.allclose(np.linalg.norm(nrm, axis=1), 1, atol=1e-5)
    # CCW faces seen from outside (Y up world, object around the origin)
    fn = np.cross(pos[idx[:, 1]] - pos[idx[:, 0]], pos[idx[:, 2]] - pos[idx[:, 0]])
    assert np.all((fn * pos[idx].mean(1)).sum(1) > 0)
    # texture orientation: glTF (0, 0) is the top-left of the image
    img = np.asarray(png).astype(np.float64)
    uvc = tc[idx].mean(1)
    rows, cols = np.floor(uvc[:, 1] * RES).astype(int), np.floor(uvc[:, 0] * RES).astype(int)
    err = np.abs(img[rows, cols] - _expected_rgb(torch.from_numpy(pos[idx].mean(1))))
    assert np.median(err) < 3 and np.percentile(err, 95) < 10
    scene = trimesh.load(path)
    geom = next(iter(scene.geometry.values()))
    assert len(geom.faces) == mesh.num_faces and geom.visual.material.baseColorTexture.size == (RES, RES)


def test_save_by_suffix_and_errors(tmp_path, mesh):
    assert [p.name for p in save_textured_mesh(tmp_path / "x.obj", mesh)] == ["x.obj", "x.mtl", "x.png"]
    assert [p.name for p in save_textured_mesh(tmp_path / "x.glb", mesh)] == ["x.glb"]
    with pytest.raises(ValueError, match="path"):
        save_textured_mesh(tmp_path / "x.fbx", mesh)
    with pytest.raises(ValueError, match="roughness"):
        Material(roughness=2.0)
    with pytest.raises(ValueError, match="name"):
        Material(name="has space")


def _boom(*args, **kwargs):
    raise OSError("disk full (simulated)")


def test_failed_obj_export_leaves_nothing(tmp_path, mesh, monkeypatch):
    (tmp_path / "keep.mtl").write_text("old")
    monkeypatch.setattr(pathlib.Path, "write_text", _boom)  # PNG already written, MTL/OBJ fail
    with pytest.raises(OSError, match="simulated"):
        write_obj(tmp_path / "keep.obj", mesh)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mtl"]
    monkeypatch.undo()
    assert (tmp_path / "keep.mtl").read_text() == "old"


def test_failed_glb_export_leaves_nothing(tmp_path, mesh, monkeypatch):
    real = pathlib.Path.write_bytes

    def half(self, data):
        real(self, data[: len(data) // 2])
        raise OSError("interrupted (simulated)")

    monkeypatch.setattr(pathlib.Path, "write_bytes", half)
    with pytest.raises(OSError, match="simulated"):
        write_glb(tmp_path / "a.glb", mesh)
    assert list(tmp_path.iterdir()) == []


def test_cleanup_welds_drops_floaters_and_orients():
    v, f = sphere(2, radius=0.4)
    # an unwelded copy of vertex 0 used by its faces, a tiny floater, and a flipped sphere elsewhere
    v2 = torch.cat([v, v[:1]])
    f2 = f.clone()
    f2[f2 == 0] = len(v)
    tet = torch.tensor([[0.0, 0.0, 0.0], [0.01, 0, 0], [0, 0.01, 0], [0, 0, 0.01]]) + 0.45
    tet_f = torch.tensor([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]) + len(v2)
    sv, sf = sphere(1, radius=0.2)
    flipped_f = sf[:, [0, 2, 1]] + len(v2) + 4
    verts = torch.cat([v2, tet, sv + torch.tensor([0.0, 0.0, 1.5])])
    faces = torch.cat([f2, tet_f, flipped_f, f2[:3]])  # + 3 duplicate faces
    out_v, out_f, rep = cleanup_mesh(verts, faces, min_component_faces=10)
    assert rep.welded_vertices == 1 and rep.removed_faces == 3
    assert rep.removed_components == 1 and rep.flipped_components == 1
    assert out_f.shape[0] == f.shape[0] + sf.shape[0] and out_v.shape[0] == len(v) + len(sv)
    vol = torch.einsum(
        "ij,ij->i", out_v[out_f[:, 0]], torch.linalg.cross(out_v[out_f[:, 1]], out_v[out_f[:, 2]])
    )
    big = out_v[out_f].mean(1)[:, 2] < 1.0
    assert vol[big].sum() / 6 == pytest.approx(4 / 3 * math.pi * 0.4**3, rel=0.05)
    assert vol[~big].sum() > 0  # re-oriented outward (volume about a point outside is still positive)


def test_images(tmp_path):
    imgs = torch.linspace(-1, 1, 6 * 3 * 4 * 5).reshape(6, 3, 4, 5)
    grid = image_grid(imgs, 2, 3)
    assert grid.shape == (3, 8, 15) and torch.equal(grid[:, 4:8, 5:10], imgs[4])
    write_png(tmp_path / "g.png", grid)
    arr = np.asarray(Image.open(tmp_path / "g.png"))
    assert arr.shape == (8, 15, 3) and arr[0, 0, 0] == 0
    write_gif(tmp_path / "a.gif", imgs, fps=10)
    gif = Image.open(tmp_path / "a.gif")
    assert gif.n_frames == 6 and gif.size == (5, 4)
    with pytest.raises(ValueError, match="rows, cols"):
        image_grid(imgs, 2, 2)


def test_glb_uses_uint32_indices_beyond_65535_vertices(tmp_path):
    from get3d.export import TexturedMesh
    from get3d.export.glb import glb_bytes

    n = 70_000
    g = torch.Generator().manual_seed(0)
    verts = torch.rand(n, 3, generator=g)
    faces = torch.stack([torch.arange(0, n - 2), torch.arange(1, n - 1), torch.arange(2, n)], 1)[::7]
    tm = TexturedMesh(
        vertices=verts,
        faces=faces,
        normals=torch.nn.functional.normalize(verts, dim=1),
        uvs=torch.rand(n, 2, generator=g),
        uv_faces=faces.clone(),
        uv_vertex=torch.arange(n),
        texture=torch.rand(3, 8, 8, generator=g),
    )
    (tmp_path / "big.glb").write_bytes(glb_bytes(tm))
    doc, binary, _ = read_glb(tmp_path / "big.glb")
    assert doc["accessors"][0]["componentType"] == 5125
    assert np.array_equal(accessor(doc, binary, 0).reshape(-1, 3), faces.numpy())


def test_glb_and_obj_read_back_render_like_the_mesh(tmp_path):
    """trimesh reads our GLB and OBJ back into the same surface: same silhouettes from four sides
    and above, same counts (OBJ positions are not split at seams; glTF's are)."""
    v, f = sphere(2)
    v = v * torch.tensor([0.5, 0.75, 1.1]) + torch.tensor([0.08, 0.1, -0.05])  # no symmetry to hide a flip
    tm = texture_mesh(v, f, field, texture_size=32)
    glb = write_glb(tmp_path / "shape.glb", tm)
    obj = write_obj(tmp_path / "shape.obj", tm)[0]
    cams = visualization_cameras(4, elevation_deg=35.0)
    want = silhouette(tm.vertices, tm.faces, cams, 64)
    for path in (glb, obj):
        got_v, got_f = load_mesh_file(path)
        assert got_f.shape == tm.faces.shape
        assert_silhouettes_match(silhouette(got_v, got_f, cams, 64), want)
    assert obj_counts(obj) == {
        "v": tm.num_vertices,
        "vt": tm.uvs.shape[0],
        "vn": tm.num_vertices,
        "f": tm.num_faces,
    }
    assert load_mesh_file(glb)[0].shape[0] == tm.uvs.shape[0]


def test_silhouette_check_catches_frame_and_offset_errors():
    """The round-trip check fails for the errors it is there to catch."""
    v, f = sphere(2)
    v = v * torch.tensor([0.5, 0.75, 1.1]) + torch.tensor([0.08, 0.1, -0.05])
    cams = visualization_cameras(4, elevation_deg=35.0)
    want = silhouette(v, f, cams, 64)
    assert_silhouettes_match(silhouette(v.clone(), f, cams, 64), want)
    wrong = {
        "z up instead of y up": v[:, [0, 2, 1]],
        "mirrored x": v * torch.tensor([-1.0, 1.0, 1.0]),
        "shifted by 2 cm": v + torch.tensor([0.02, 0.0, 0.0]),
        "scaled by 5 %": v * 1.05,
    }
    for name, bad in wrong.items():
        with pytest.raises(AssertionError):
            assert_silhouettes_match(silhouette(bad, f, cams, 64), want)
            pytest.fail(f"not caught: {name}")
    with pytest.raises(AssertionError, match="IoU|differ"):
        assert_silhouettes_match(silhouette(v, f[: len(f) // 2], cams, 64), want)
