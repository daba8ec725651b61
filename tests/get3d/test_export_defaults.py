"""Exports are the generated mesh: no simplification and a 2048² texture unless asked (GET3D §9.2)."""

from __future__ import annotations

import inspect

import pytest

from get3d.cli import build_parser
from get3d.export import texture_mesh
from get3d.export.unwrap import unwrap
from get3d.sampling import export_sample, textured_mesh_of


@pytest.mark.parametrize("command", ["sample", "export", "interpolate"])
def test_cli_exports_full_mesh_at_2048_by_default(command):
    args = build_parser().parse_args([command, "ckpt.pt", "--out", "out.glb"])
    assert args.texture_size == 2048
    assert args.max_faces == 0  # 0: never simplify (the commands pass `max_faces or None`)
    args = build_parser().parse_args([command, "ckpt.pt", "--out", "o.glb", "--max-faces", "20000"])
    assert args.max_faces == 20_000  # decimation stays an explicit option


@pytest.mark.parametrize("fn", [texture_mesh, textured_mesh_of, export_sample, unwrap])
def test_library_exports_full_mesh_by_default(fn):
    params = inspect.signature(fn).parameters
    assert params["max_faces"].default is None
    if "texture_size" in params:
        assert params["texture_size"].default == 2048
