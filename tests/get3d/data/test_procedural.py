"""Procedural shapes: determinism, normalisation, closed outward parts, real textures."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from get3d.data.meshes import load_mesh
from get3d.data.procedural import Category, generate_shape, write_shape

CATEGORIES = [c.value for c in Category]


@pytest.mark.parametrize("category", CATEGORIES)
def test_deterministic_for_a_seed(category):
    a, b = generate_shape(category, 7), generate_shape(category, 7)
    np.testing.assert_array_equal(a.vertices, b.vertices)
    np.testing.assert_array_equal(a.faces, b.faces)
    np.testing.assert_array_equal(a.visual.uv, b.visual.uv)
    assert np.array_equal(np.asarray(a.visual.material.image), np.asarray(b.visual.material.image))
    c = generate_shape(category, 8)
    assert a.vertices.shape != c.vertices.shape or not np.allclose(a.vertices, c.vertices)


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("seed", range(6))
def test_normalised_to_the_unit_box(category, seed):
    mesh = generate_shape(category, seed)
    lo, hi = mesh.vertices.min(0), mesh.vertices.max(0)
    np.testing.assert_allclose((lo + hi) / 2, 0, atol=1e-12)
    assert (hi - lo).max() == pytest.approx(1.0)
    assert mesh.metadata["category"] == category and mesh.metadata["seed"] == seed
    assert len(mesh.metadata["face_part"]) == len(mesh.faces)


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("seed", range(4))
def test_every_primitive_is_closed_convex_and_outward(category, seed):
    mesh = generate_shape(category, seed)
    welded = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    welded.merge_vertices(merge_tex=True, merge_norm=True, digits_vertex=9)
    pieces = welded.split(only_watertight=False)
    assert len(pieces) >= 3
    for piece in pieces:
        assert piece.is_watertight
        # signed volume (divergence theorem) positive and equal to the convex hull's: closed,
        # convex, every face wound counter-clockwise seen from outside
        assert piece.volume > 0
        assert piece.volume == pytest.approx(piece.convex_hull.volume, rel=1e-6)


def test_categories_have_their_parts():
    names = {c: set() for c in CATEGORIES}
    for category in CATEGORIES:
        for seed in range(12):
            names[category] |= set(generate_shape(category, seed).metadata["parts"])
    assert {"seat", "legs", "back", "arms"} <= names["chair"]
    assert {"top", "legs"} <= names["table"]
    assert {"body", "cabin", "wheels"} <= names["car"]


def test_topology_varies_with_the_seed():
    counts = {len(generate_shape("chair", s).faces) for s in range(12)}
    assert len(counts) >= 4


def test_texture_is_a_solid_pattern_on_the_surface():
    """Sampling the texture at a face's UV gives the colour painted at that point in 3-D: check
    that a car's wheels (solid near-black) and lights (solid pale yellow) read back their colours."""
    mesh = generate_shape("car", 3)
    image = np.asarray(mesh.visual.material.image, dtype=np.float64) / 255
    parts = mesh.metadata["parts"]
    for name, expected in (("wheels", [0.06, 0.06, 0.07]), ("lights", [1.0, 0.95, 0.7])):
        faces = mesh.faces[mesh.metadata["face_part"] == parts.index(name)]
        uv = mesh.visual.uv[faces].mean(axis=1)  # face centroids
        size = image.shape[0]
        rows = ((1 - uv[:, 1]) * size).astype(int)
        cols = (uv[:, 0] * size).astype(int)
        np.testing.assert_allclose(image[rows, cols], np.broadcast_to(expected, (len(uv), 3)), atol=1 / 255)


@pytest.mark.parametrize("file_format", ["obj", "glb"])
def test_written_mesh_reloads_with_its_texture(tmp_path, file_format):
    mesh = generate_shape("table", 2, texture_size=128)
    path = write_shape(mesh, tmp_path / "t", file_format)
    loaded = load_mesh(path)
    assert len(loaded.materials) == 1 and loaded.materials[0].texture.shape == (128, 128, 3)
    np.testing.assert_allclose(loaded.materials[0].base_color, 1.0)
    np.testing.assert_allclose(
        loaded.materials[0].texture, np.asarray(mesh.visual.material.image) / 255, atol=1e-6
    )
    # the same surface (vertex order may differ after export): compare sorted rows
    key = np.lexsort(np.round(loaded.vertices, 6).T)
    ref = np.lexsort(np.round(mesh.vertices, 6).T)
    np.testing.assert_allclose(loaded.vertices[key], mesh.vertices[ref], atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="category"):
        generate_shape("sofa", 0)
    with pytest.raises(ValueError, match="seed"):
        generate_shape("chair", -1)
    with pytest.raises(ValueError, match="texture_size"):
        generate_shape("chair", 0, texture_size=8)
