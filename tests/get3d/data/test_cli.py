"""The ``python -m get3d.data`` command line."""

from __future__ import annotations

from get3d.data.cli import main

from .builders import SYNSET, make_get3d


def test_validate_command_reports_and_sets_exit_status(tmp_path, capsys):
    data = make_get3d(tmp_path)
    assert main(["validate", "--data", str(data.data_dir), "--camera-path", str(data.camera_root)]) == 0
    assert "no problems" in capsys.readouterr().out
    (data.camera_root / SYNSET / "a_shape" / "rotation.npy").unlink()
    assert main(["validate", "--data", str(data.data_dir), "--camera-path", str(data.camera_root)]) == 1
    out = capsys.readouterr().out
    assert "rotation.npy: camera file: does not exist" in out
