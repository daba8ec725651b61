"""``prepare --renderer blender`` (Cycles through bpy) against the built-in renderer.

Both renderers place the mesh the same way (scale normalisation, no re-centring) and use GET3D's
cameras, so their silhouettes agree up to edge pixels. Needs a Python with ``bpy``
(``$ISOGEN3D_BPY_PYTHON``, see scripts/setup_bpy.sh); otherwise skips.
"""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from PIL import Image
from scipy import ndimage

from get3d.data.blender import find_bpy_python
from get3d.data.meshes import load_mesh, normalize
from get3d.data.prepare import PrepareConfig, Renderer, prepare_dataset
from get3d.data.procedural import generate_shape, write_shape

BPY_PYTHON = find_bpy_python()
needs_bpy = pytest.mark.skipif(
    BPY_PYTHON is None, reason="bpy is not importable (set ISOGEN3D_BPY_PYTHON, see scripts/setup_bpy.sh)"
)


def _meshes(root):
    write_shape(generate_shape("chair", 1, texture_size=64), root / "chair1")
    write_shape(generate_shape("car", 2, texture_size=64), root / "car2", "glb")
    # an off-centre box: no re-centring moves it off the image centre in both renderers
    box = trimesh.creation.box(extents=(0.5, 0.3, 0.2))
    box.apply_translation((0.35, 0.1, -0.05))
    box.export(root / "box.obj")
    return root


def _alphas(root, synset, shape_id):
    pngs = sorted((root / "img" / synset / shape_id).glob("*.png"))
    return np.stack([np.asarray(Image.open(p))[..., 3] for p in pngs])


def test_prepare_does_not_recenter_by_default(tmp_path):
    mesh_dir = _meshes(tmp_path / "meshes")
    assert PrepareConfig().recenter is False
    source = load_mesh(mesh_dir / "box.obj")
    placed, norm = normalize(source, PrepareConfig().scale, PrepareConfig().recenter)
    assert norm.center == (0.0, 0.0, 0.0)
    assert np.allclose(placed.vertices, source.vertices * norm.factor)
    with pytest.raises(ValueError, match="renderer"):
        PrepareConfig(renderer="cycles")
    assert PrepareConfig(renderer="blender").renderer is Renderer.BLENDER


@needs_bpy
@pytest.mark.slow
def test_blender_and_builtin_silhouettes_agree_up_to_edge_pixels(tmp_path):
    mesh_dir = _meshes(tmp_path / "meshes")
    common = dict(synset="s", resolution=48, views=3, supersample=1, scale=0.9)
    prepare_dataset(mesh_dir, tmp_path / "builtin", PrepareConfig(**common), progress=False)
    blender = PrepareConfig(**common, renderer="blender", blender_python=BPY_PYTHON, blender_samples=2)
    report = prepare_dataset(mesh_dir, tmp_path / "blender", blender, workers=2, progress=False)
    assert sorted(report.rendered) == ["box", "car2", "chair1"]
    for shape_id in report.rendered:
        ours = _alphas(tmp_path / "builtin", "s", shape_id) > 127
        theirs = _alphas(tmp_path / "blender", "s", shape_id) > 127
        assert ours.shape == theirs.shape == (3, 48, 48)
        assert ours.mean() > 0.03  # a real silhouette, not an empty image
        for a, b in zip(ours, theirs, strict=True):
            edge = ndimage.binary_dilation(a) & ~ndimage.binary_erosion(a)
            disagree = a != b
            assert not (disagree & ~edge).any(), f"{shape_id}: silhouettes differ beyond edge pixels"
            assert disagree.sum() <= 0.5 * edge.sum()
        # the camera files are the same draws (same seed, same shape id)
        for name in ("rotation.npy", "elevation.npy"):
            a = np.load(tmp_path / "builtin" / "camera" / "s" / shape_id / name)
            assert np.array_equal(a, np.load(tmp_path / "blender" / "camera" / "s" / shape_id / name))
    # resumable: a second run skips every complete shape
    again = prepare_dataset(mesh_dir, tmp_path / "blender", blender, progress=False)
    assert again.rendered == () and sorted(again.skipped) == ["box", "car2", "chair1"]
