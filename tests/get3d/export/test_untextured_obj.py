"""Tests of get3d.export.obj.write_untextured_obj (bare OBJ, optional vertex colours)."""

from __future__ import annotations

import pytest
import torch
import trimesh

from get3d.export.obj import write_untextured_obj

V = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
F = torch.tensor([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])


def test_text_by_hand(tmp_path):
    path = write_untextured_obj(tmp_path / "t.obj", V[:3], F[:1])
    assert path == tmp_path / "t.obj"
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# 3 vertices, 1 faces")
    assert lines[1:] == [
        "v 0.000000 0.000000 0.000000",
        "v 1.000000 0.000000 0.000000",
        "v 0.000000 1.000000 0.000000",
        "f 1 3 2",
    ]


def test_vertex_colours_are_clamped_and_read_back(tmp_path):
    colors = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [2.0, -1.0, 0.5]])
    path = write_untextured_obj(tmp_path / "c.obj", V, F, colors)
    assert "v 0.000000 0.000000 1.000000 1.0000 0.0000 0.5000" in path.read_text().splitlines()
    mesh = trimesh.load(path, process=False)
    assert mesh.vertices.tolist() == V.tolist() and mesh.faces.tolist() == F.tolist()
    assert mesh.visual.vertex_colors[:, :3].tolist() == [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 128]]
    assert mesh.volume > 0  # outward faces survive the round trip


def test_errors_leave_nothing(tmp_path):
    with pytest.raises(ValueError, match="path"):
        write_untextured_obj(tmp_path / "m.ply", V, F)
    with pytest.raises(ValueError, match="vertices"):
        write_untextured_obj(tmp_path / "m.obj", V[:, :2], F)
    with pytest.raises(ValueError, match="faces"):
        write_untextured_obj(tmp_path / "m.obj", V, F + 1)
    with pytest.raises(ValueError, match="vertex_colors"):
        write_untextured_obj(tmp_path / "m.obj", V, F, V[:2])
    assert list(tmp_path.iterdir()) == []
