"""The tet grid of ``python -m get3d.metrics eval`` (``--tet-grid``, ``--grid-resolution``): recorded
in the report, listed as a deviation unless it is GET3D's, warned about for official checkpoints;
and ``--split-dir`` (GET3D's split folder) choosing the evaluated shapes."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

import dmtet
from get3d.metrics.cli import main
from get3d.metrics.evaluate import run_eval
from get3d.networks import Generator, GeneratorConfig
from get3d.networks.checkpoint import OfficialGridWarning


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from get3d.data.procedural import generate_shape, write_shape

    folder = tmp_path_factory.mktemp("eval_grid")
    for i in range(2):
        write_shape(generate_shape("chair", i, texture_size=64), folder / "meshes" / f"chair_{i}")
    torch.manual_seed(0)
    ckpt = folder / "official.pt"  # official layout: state_dicts only, no config
    torch.save({"G_ema": Generator(GeneratorConfig.tiny()).state_dict()}, ckpt)
    grid = dmtet.TetGrid.bcc(4)  # a grid off the lattice, in GET3D's file layout
    v = grid.vertices.double().clone()
    inside = (v.abs() < 0.5 - 1e-9).all(-1)
    v[inside] += 0.002 * torch.cos(torch.arange(int(inside.sum()) * 3.0)).reshape(-1, 3)
    np.savez_compressed(folder / "quartet.npz", vertices=v.numpy(), tets=grid.tets.numpy())
    (folder / "splits").mkdir()
    (folder / "splits" / "test.txt").write_text("chair_1\n")
    return folder, ckpt


def _eval(folder, ckpt, capsys, *extra: str) -> tuple[int, dict | str, list[str]]:
    """Exit code, the report (or stderr on failure) and the OfficialGridWarning messages."""
    args = ["eval", "--checkpoint", str(ckpt), "--config", "tiny", "--metrics", "cov_mmd",
            "--meshes", str(folder / "meshes"), "--gen-per-ref", "1", "--no-nna", *extra]  # fmt: skip
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        code = main(args)
    captured = capsys.readouterr()
    official = [str(w.message) for w in record if issubclass(w.category, OfficialGridWarning)]
    return code, (json.loads(captured.out) if code == 0 else captured.err), official


def test_the_report_records_the_grid_and_lists_a_bcc_grid_as_a_deviation(inputs, capsys):
    folder, ckpt = inputs
    code, report, warned = _eval(folder, ckpt, capsys)
    assert code == 0 and len(warned) == 1  # an official checkpoint on the BCC default
    grid = report["protocol"]["tet_grid"]
    assert grid["kind"] == "bcc" and grid["resolution"] == GeneratorConfig.tiny().grid_resolution
    assert grid["path"] is None
    (deviation,) = [d for d in report["deviations"] if d.startswith("tet grid")]
    assert "BCC grid" in deviation and "90_compress.npz" in deviation
    code, report, warned = _eval(folder, ckpt, capsys, "--grid-resolution", "3")
    assert code == 0 and len(warned) == 1 and report["protocol"]["tet_grid"]["resolution"] == 3


def test_tet_grid_file(inputs, capsys):
    folder, ckpt = inputs
    code, report, warned = _eval(folder, ckpt, capsys, "--tet-grid", str(folder / "quartet.npz"))
    assert code == 0 and warned == []  # not a lattice: no warning
    grid = report["protocol"]["tet_grid"]
    assert grid == {
        "kind": "other",
        "resolution": None,
        "num_vertices": dmtet.TetGrid.bcc(4).num_vertices,
        "num_tets": dmtet.TetGrid.bcc(4).num_tets,
        "path": str(folder / "quartet.npz"),
    }
    assert any(d.startswith("tet grid: tet grid from") for d in report["deviations"])  # not GET3D's 90 grid
    code, err, _ = _eval(folder, ckpt, capsys, "--tet-grid", str(folder / "none.npz"))
    assert code == 2 and "--tet-grid: no file" in err
    with pytest.raises(SystemExit):  # one grid option at a time
        main(["eval", "--checkpoint", str(ckpt), "--tet-grid", "a.npz", "--grid-resolution", "3"])


def test_split_dir_picks_the_split_of_split_name(inputs, capsys):
    folder, ckpt = inputs
    code, report, _ = _eval(folder, ckpt, capsys, "--split-dir", str(folder / "splits"))
    assert code == 0 and report["geometry"]["num_ref"] == 1  # test.txt: chair_1 only
    assert report["protocol"]["split_file"] == str(folder / "splits" / "test.txt")
    code, err, _ = _eval(folder, ckpt, capsys, "--split-dir", str(folder / "splits"), "--split-name", "val")
    assert code == 2 and "--split-dir: no val.txt" in err


def test_run_eval_takes_no_grid_with_a_generator():
    with pytest.raises(ValueError, match="grid, grid_resolution: apply to a checkpoint path"):
        run_eval(Generator(GeneratorConfig.tiny()), grid_resolution=3, mesh_dir=".")


def test_a_flexicubes_generator_is_evaluated_on_its_voxel_grid(inputs):
    from get3d.metrics.evaluate import EvalConfig, Metric
    from get3d.metrics.geometry import GeometryProtocol
    from get3d.networks.config import IsoSurface

    folder, _ = inputs
    torch.manual_seed(0)
    G = Generator(GeneratorConfig.tiny(iso_surface=IsoSurface.FLEXICUBES))
    geometry = GeometryProtocol(num_points=64, gen_per_ref=1)
    config = EvalConfig(metrics=(Metric.COV_MMD,), geometry=geometry, resolution=32)
    report = run_eval(G, mesh_dir=folder / "meshes", config=config, backend="torch")
    assert report.protocol["voxel_grid"] == G.config.grid_resolution
    assert "tet_grid" not in report.protocol
    assert not any(d.startswith("tet grid") for d in report.deviations)
    assert report.geometry is not None
