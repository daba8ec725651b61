"""Blender round trip: Blender's own importers read our GLB and OBJ as written.

Needs ``bpy`` (Blender as a Python module, PyPI ``bpy``; 4.5 LTS wheels are cp311 and pin
numpy < 2, so it usually lives in its own environment). The test runs ``blender_check.py`` with
the first of: this interpreter if it can import bpy, or ``$ISOGEN3D_BPY_PYTHON``. Otherwise it
skips. Blender's world is Z up: its importers map our Y-up ``(x, y, z)`` to ``(x, -z, y)``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from get3d.export import texture_mesh, write_glb, write_obj

from .helpers import field, sphere

CHECK = Path(__file__).with_name("blender_check.py")


def _bpy_python() -> str | None:
    if importlib.util.find_spec("bpy") is not None:
        return sys.executable
    return os.environ.get("ISOGEN3D_BPY_PYTHON") or None


BPY_PYTHON = _bpy_python()
pytestmark = pytest.mark.skipif(
    BPY_PYTHON is None, reason="bpy is not importable (pip install bpy, or set ISOGEN3D_BPY_PYTHON)"
)


@pytest.mark.parametrize("texture_size", [64, None], ids=["64", "default-2048"])
def test_blender_imports_glb_and_obj(tmp_path, texture_size):
    v, f = sphere(2)
    v = v * torch.tensor([0.5, 0.75, 1.1]) + torch.tensor([0.05, 0.1, -0.02])  # asymmetric box
    if texture_size is None:  # texture_mesh's defaults: the full mesh, a 2048² texture
        tm, texture_size = texture_mesh(v, f, field), 2048
    else:
        tm = texture_mesh(v, f, field, texture_size=texture_size)
    assert tm.num_faces == f.shape[0]
    glb = write_glb(tmp_path / "shape.glb", tm)
    obj = write_obj(tmp_path / "shape.obj", tm)[0]
    run = subprocess.run(
        [BPY_PYTHON, str(CHECK), str(glb), str(obj)], capture_output=True, text=True, timeout=600, check=False
    )
    assert run.returncode == 0, run.stderr[-3000:]
    glb_info, obj_info = json.loads(run.stdout.strip().splitlines()[-1])
    ours = tm.vertices.double().numpy()
    blender_frame = np.stack([ours[:, 0], -ours[:, 2], ours[:, 1]], axis=1)
    expected_bbox = [blender_frame.min(0), blender_frame.max(0)]
    counts = {"glb": tm.uvs.shape[0], "obj": tm.num_vertices}  # glTF splits vertices at UV seams
    for kind, info in (("glb", glb_info), ("obj", obj_info)):
        assert len(info["meshes"]) == 1, info
        m = info["meshes"][0]
        assert m["vertices"] == counts[kind] and m["faces"] == tm.num_faces and m["triangles"]
        assert len(m["uv_layers"]) >= 1 and m["materials"] == 1
        assert m["image_size"] == [texture_size, texture_size]
        assert m["image_colorspace"] == "sRGB"
        assert np.allclose(m["bbox"], expected_bbox, atol=1e-4)
    # both importers end with the same UV at the same corner: our v flips for glTF are right
    a = np.array(glb_info["meshes"][0]["corners"])
    b = np.array(obj_info["meshes"][0]["corners"])
    assert a.shape == b.shape == (3 * tm.num_faces, 5)
    assert np.allclose(a, b, atol=2e-4)
