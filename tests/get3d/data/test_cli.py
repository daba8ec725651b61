"""The ``python -m get3d.data`` command line."""

from __future__ import annotations

import runpy
import sys

import pytest
from PIL import Image

from get3d.data.cli import main
from get3d.data.procedural import generate_shape, write_shape

from .builders import SYNSET, make_get3d


def test_validate_command_reports_and_sets_exit_status(tmp_path, capsys):
    data = make_get3d(tmp_path)
    assert main(["validate", "--data", str(data.data_dir), "--camera-path", str(data.camera_root)]) == 0
    assert "no problems" in capsys.readouterr().out
    (data.camera_root / SYNSET / "a_shape" / "rotation.npy").unlink()
    assert main(["validate", "--data", str(data.data_dir), "--camera-path", str(data.camera_root)]) == 1
    out = capsys.readouterr().out
    assert "rotation.npy: camera file: does not exist" in out


def test_prepare_split_preview_commands(tmp_path, capsys):
    for seed in range(3):
        write_shape(generate_shape("chair", seed, texture_size=64), tmp_path / "meshes" / f"c{seed}")
    out = tmp_path / "out"
    args = ["prepare", str(tmp_path / "meshes"), "--out", str(out), "--synset", "chairs", "--views", "2"]
    args += ["--resolution", "16", "--supersample", "1", "--workers", "1", "--splits", "0.34", "0.33", "0.33"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "rendered 3, skipped 0 (complete), failed 0" in text and "--camera-path" in text
    assert sorted(p.name for p in (out / "splits" / "chairs").iterdir()) == [
        "test.txt",
        "train.txt",
        "val.txt",
    ]
    assert (
        main(["validate", "--data", str(out / "img" / "chairs"), "--camera-path", str(out / "camera")]) == 0
    )
    assert main(["split", "--root", str(out), "--synset", "chairs", "--out", str(tmp_path / "s")]) == 0
    assert (tmp_path / "s" / "train.txt").is_file()
    sheet = tmp_path / "sheet.png"
    assert main(["preview", "--data", str(out / "img" / "chairs"), "--out", str(sheet), "--tile", "16"]) == 0
    assert Image.open(sheet).size == (4 * 16, 3 * 16)


def test_bad_input_exits_with_a_message(tmp_path, capsys):
    assert main(["prepare", str(tmp_path / "none"), "--out", str(tmp_path / "o"), "--synset", "x"]) == 1
    assert "mesh_dir" in capsys.readouterr().err


def test_module_entry_point(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["python -m get3d.data", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("get3d.data", run_name="__main__")
    assert exit_info.value.code == 0 and "procedural" in capsys.readouterr().out
