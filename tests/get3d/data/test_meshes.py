"""Mesh discovery, loading (textures, materials, vertex/face colours) and normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from PIL import Image

from get3d.data.meshes import DEFAULT_GREY, find_meshes, load_mesh, normalize


def write_textured_quad(folder, texture_rgb, kd=None):
    """An OBJ quad in the z = 0 plane, x, y in [-0.3, 0.3], u = (x + 0.3) / 0.6, v = (y + 0.3) / 0.6."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(texture_rgb, np.uint8)).save(folder / "tex.png")
    mtl = "newmtl m\n" + (f"Kd {kd[0]} {kd[1]} {kd[2]}\n" if kd else "") + "map_Kd tex.png\n"
    (folder / "model.mtl").write_text(mtl)
    (folder / "model.obj").write_text(
        "mtllib model.mtl\n"
        "v -0.3 -0.3 0\nv 0.3 -0.3 0\nv 0.3 0.3 0\nv -0.3 0.3 0\n"
        "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\n"
        "usemtl m\nf 1/1 2/2 3/3\nf 1/1 3/3 4/4\n"
    )
    return folder / "model.obj"


def test_find_meshes_ids(tmp_path):
    for rel in ["a1/model.obj", "b2/models/model_normalized.obj", "flat.ply", "sub/c.glb", "notes.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    found = find_meshes(tmp_path)
    assert sorted(found) == ["a1", "b2", "flat", "sub_c"]
    assert found["b2"] == tmp_path / "b2/models/model_normalized.obj"


def test_find_meshes_errors(tmp_path):
    with pytest.raises(ValueError, match="no mesh files"):
        find_meshes(tmp_path)
    with pytest.raises(ValueError, match="existing folder"):
        find_meshes(tmp_path / "missing")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "model.obj").write_text("")
    (tmp_path / "x.ply").write_text("")
    with pytest.raises(ValueError, match="both give the shape id 'x'"):
        find_meshes(tmp_path)


def test_obj_texture_replaces_kd_like_blender(tmp_path):
    texture = np.zeros((2, 2, 3), np.uint8)
    texture[0, 0] = (255, 0, 0)
    path = write_textured_quad(tmp_path / "q", texture, kd=(0.2, 0.2, 0.2))
    mesh = load_mesh(path)
    assert len(mesh.materials) == 1
    np.testing.assert_allclose(mesh.materials[0].base_color, 1.0)
    np.testing.assert_allclose(mesh.materials[0].texture[0, 0], [1, 0, 0])
    assert mesh.uvs is not None and mesh.uvs.shape == (len(mesh.vertices), 2)
    # uv of the vertex at (x, y) is ((x + 0.3) / 0.6, (y + 0.3) / 0.6)
    np.testing.assert_allclose(mesh.uvs, (mesh.vertices[:, :2] + 0.3) / 0.6, atol=1e-6)


def test_obj_plain_materials(tmp_path):
    (tmp_path / "m.mtl").write_text("newmtl red\nKd 1 0 0\nnewmtl green\nKd 0 1 0\n")
    (tmp_path / "m.obj").write_text(
        "mtllib m.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\n"
        "usemtl red\nf 1 2 3\nusemtl green\nf 1 3 4\nf 1 4 2\n"
    )
    mesh = load_mesh(tmp_path / "m.obj")
    colors = {tuple(np.round(m.base_color, 3)) for m in mesh.materials}
    assert colors == {(1.0, 0.0, 0.0), (0.0, 1.0, 0.0)}
    per_face = np.stack([mesh.materials[i].base_color for i in mesh.face_material])
    assert sorted(map(tuple, np.round(per_face, 3))) == [(0, 1, 0), (0, 1, 0), (1, 0, 0)]


def test_ply_vertex_colors(tmp_path):
    box = trimesh.creation.box()
    colors = np.random.default_rng(0).integers(0, 256, (8, 4)).astype(np.uint8)
    colors[:, 3] = 255
    box.visual.vertex_colors = colors
    box.export(tmp_path / "b.ply")
    mesh = load_mesh(tmp_path / "b.ply")
    order = np.lexsort(np.round(mesh.vertices, 6).T)
    ref = np.lexsort(np.round(box.vertices, 6).T)
    np.testing.assert_allclose(mesh.vertex_colors[order], colors[ref, :3] / 255.0)


def test_face_colors_become_vertex_colors(tmp_path):
    box = trimesh.creation.box()
    box.visual.face_colors = np.tile([[10, 200, 30, 255]], (12, 1))
    box.visual.face_colors[5] = [255, 0, 0, 255]
    box.export(tmp_path / "f.ply")
    mesh = load_mesh(tmp_path / "f.ply")
    assert mesh.vertex_colors is not None
    face_color = mesh.vertex_colors[mesh.faces].mean(axis=1)
    np.testing.assert_allclose(mesh.vertex_colors[mesh.faces].std(axis=1), 0, atol=1e-12)  # flat per face
    assert sum(np.allclose(c, [1, 0, 0]) for c in face_color) == 1


def test_uncoloured_mesh_is_grey(tmp_path):
    trimesh.creation.icosphere(1).export(tmp_path / "s.off")
    mesh = load_mesh(tmp_path / "s.off")
    assert mesh.vertex_colors is None and mesh.uvs is None
    np.testing.assert_allclose(mesh.materials[0].base_color, DEFAULT_GREY)


def test_glb_base_color_factor_multiplies_texture(tmp_path):
    box = trimesh.creation.box()
    image = Image.fromarray(np.full((4, 4, 3), 200, np.uint8))
    material = trimesh.visual.material.PBRMaterial(
        baseColorTexture=image, baseColorFactor=[0.5, 1.0, 1.0, 1.0]
    )
    box.visual = trimesh.visual.TextureVisuals(uv=np.random.default_rng(0).random((8, 2)), material=material)
    box.export(tmp_path / "g.glb")
    mesh = load_mesh(tmp_path / "g.glb")
    np.testing.assert_allclose(mesh.materials[0].base_color, [0.5, 1.0, 1.0], atol=1 / 255)  # stored as uint8
    np.testing.assert_allclose(mesh.materials[0].texture, 200 / 255, atol=1e-6)


def test_unreadable_mesh_names_the_file(tmp_path):
    (tmp_path / "bad.glb").write_bytes(b"not a glb")
    with pytest.raises(ValueError, match="bad.glb"):
        load_mesh(tmp_path / "bad.glb")


def test_normalize():
    mesh = load_mesh_from(trimesh.creation.box(extents=(2.0, 1.0, 0.5), transform=_shift(3, 1, -2)))
    scaled, norm = normalize(mesh, 0.9)
    lo, hi = scaled.bounds
    np.testing.assert_allclose((lo + hi) / 2, 0, atol=1e-12)
    assert (hi - lo).max() == pytest.approx(0.9)
    np.testing.assert_allclose((mesh.vertices - norm.center) * norm.factor, scaled.vertices)
    kept, norm = normalize(mesh, 0.9, recenter=False)
    assert norm.center == (0.0, 0.0, 0.0)
    np.testing.assert_allclose(kept.vertices, mesh.vertices * 0.45)
    with pytest.raises(ValueError, match="size"):
        normalize(mesh, 0.0)


def _shift(x, y, z):
    m = np.eye(4)
    m[:3, 3] = (x, y, z)
    return m


def load_mesh_from(tm):
    from get3d.data.meshes import SourceMaterial, SourceMesh

    return SourceMesh(
        np.asarray(tm.vertices),
        np.asarray(tm.faces),
        np.zeros(len(tm.faces), np.int64),
        (SourceMaterial(np.ones(3)),),
    )
