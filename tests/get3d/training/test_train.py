"""End-to-end runs at tiny size: every preset, exact resume after SIGKILL, 2 processes vs 1."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image

from get3d.training import config_to_dict, load_config, train
from get3d.training.checkpoint import load_checkpoint

from .helpers import PRESETS, REPO, tiny_overrides


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def _metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_two_step_smoke_run_of_every_preset(preset: Path, tiny_cache: Path, tmp_path: Path):
    config = load_config(preset, tiny_overrides(tiny_cache) + ["total_kimg=0.008", "snapshot_every=1"])
    result = train(config, tmp_path / "run")
    assert result.finished and result.steps == 2 and result.images_seen == 8
    rows = _metrics(tmp_path / "run")
    assert [r["step"] for r in rows] == [1, 2]
    for key in ("G/loss", "G/adv_rgb", "G/adv_mask", "G/sdf_sign", "D/loss", "D/r1", "images_per_s"):
        assert math.isfinite(rows[0][key])
    assert "D/r1" not in rows[1]  # lazy R1 only every d_reg_interval (2) steps: steps 0, 2, ...
    written = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert written == config_to_dict(config)
    ckpt = load_checkpoint(result.checkpoint)
    assert (
        ckpt["step"] == 2
        and ckpt["images_seen"] == 8
        and set(ckpt) >= {"G", "G_ema", "D", "opt_G", "opt_D", "rng"}
    )
    with Image.open(tmp_path / "run" / "snapshot-00000002.png") as snap:
        assert snap.size == (2 * 16, 2 * 16)  # 2 samples; RGB row above silhouette row
    assert (tmp_path / "run" / "curves.png").is_file()


_CHILD = """
import sys
from get3d.training import load_config, train
config = load_config(sys.argv[1], sys.argv[3:])
train(config, sys.argv[2], resume=True)
"""


def _states_equal(a: dict, b: dict) -> None:
    for name in ("G", "G_ema", "D"):
        assert a[name].keys() == b[name].keys()
        for k in a[name]:
            assert torch.equal(a[name][k], b[name][k]), f"{name}.{k} differs"
    for name in ("opt_G", "opt_D"):
        for pid, st in a[name]["state"].items():
            for k, v in st.items():
                assert torch.equal(v, b[name]["state"][pid][k]), f"{name} state {pid}.{k} differs"


def test_resume_after_sigkill_is_exact(tiny_cache: Path, tmp_path: Path):
    overrides = tiny_overrides(tiny_cache) + ["total_kimg=0.02"]  # 5 steps of 4 images
    config = load_config(REPO / "configs" / "default.yaml", overrides)
    full = train(config, tmp_path / "full")
    assert full.steps == 5

    run = tmp_path / "killed"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(REPO / "configs" / "default.yaml"), str(run), *overrides],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    while not (run / "checkpoint-00000002.pt").exists():
        assert child.poll() is None, child.stderr.read().decode()
        assert time.time() < deadline, "no checkpoint within 120 s"
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stderr.close()
    killed_at = max(int(p.stem.split("-")[1]) for p in run.glob("checkpoint-*.pt"))
    assert killed_at < 5, "the child finished before it was killed; the test proves nothing"

    resumed = train(config, run, resume=True)
    assert resumed.start_step == killed_at and resumed.steps == 5
    _states_equal(load_checkpoint(full.checkpoint), load_checkpoint(resumed.checkpoint))
    assert [r["step"] for r in _metrics(run)] == [1, 2, 3, 4, 5]
    assert [r["G/loss"] for r in _metrics(run)] == [r["G/loss"] for r in _metrics(tmp_path / "full")]


def test_two_processes_match_one(tiny_cache: Path, tmp_path: Path):
    overrides = tiny_overrides(tiny_cache) + ["total_kimg=0.008"]  # 2 steps; batch 4 = 2 x batch_gpu 2
    config = load_config(REPO / "configs" / "default.yaml", overrides)
    single = train(config, tmp_path / "one")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(REPO / "train.py"),
        "--out",
        str(tmp_path / "two"),
        *overrides,
    ]
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, (
        proc.stdout[-2000:] + "\n---\n" + proc.stderr[:3000] + "\n...\n" + proc.stderr[-3000:]
    )
    one, two = _metrics(tmp_path / "one"), _metrics(tmp_path / "two")
    assert [r["step"] for r in two] == [1, 2]
    for a, b in zip(one, two, strict=True):
        for key in ("G/loss", "G/adv_mask", "D/loss", "D/loss_mask", "D/real_rgb", "G/sdf_sign"):
            assert math.isclose(a[key], b[key], rel_tol=1e-4, abs_tol=1e-5), (a["step"], key, a[key], b[key])
        if "D/r1" in a:
            assert math.isclose(a["D/r1"], b["D/r1"], rel_tol=1e-4, abs_tol=1e-6)
    ga = load_checkpoint(single.checkpoint)["G"]
    gb = load_checkpoint(tmp_path / "two" / "checkpoint-00000002.pt")["G"]
    for k in ga:
        assert torch.allclose(ga[k], gb[k], rtol=1e-4, atol=1e-6), k


def test_nonfinite_gradients_are_sanitised_counted_and_logged(tiny_cache: Path, tmp_path: Path, monkeypatch):
    import get3d.training.loop as loop

    real = loop.run_g_main
    calls = {"n": 0}

    def poisoned(G, D, fake, config, scale, **kwargs):
        out = real(G, D, fake, config, scale, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:  # first micro-batch of step 1: one NaN and one Inf in G's gradients
            G.synthesis.to_rgb.bias.grad[0] = math.nan
            G.synthesis.to_rgb.bias.grad[1] = math.inf
        return out

    monkeypatch.setattr(loop, "run_g_main", poisoned)
    config = load_config(REPO / "configs" / "default.yaml", tiny_overrides(tiny_cache) + ["total_kimg=0.008"])
    result = train(config, tmp_path / "run")
    assert result.finished and result.nonfinite_steps == 1
    rows = _metrics(tmp_path / "run")
    assert [r["nonfinite_step"] for r in rows] == [True, False]
    assert rows[-1]["nonfinite_values"] == 2
    for tensor in load_checkpoint(result.checkpoint)["G"].values():
        assert torch.isfinite(tensor).all()


def test_train_py_time_limit_then_resume(tiny_cache: Path, tmp_path: Path, capsys):
    import train as entry

    args = ["--out", str(tmp_path / "run"), *tiny_overrides(tiny_cache), "total_kimg=0.012"]
    assert entry.main([*args, "max_minutes=1e-6"]) == 0  # stops after its first step, with a checkpoint
    assert "stopped at step 1" in capsys.readouterr().out
    assert entry.main([*args, "--resume"]) == 0
    assert "finished at step 3" in capsys.readouterr().out
    assert [r["step"] for r in _metrics(tmp_path / "run")] == [1, 2, 3]
    before = sorted(p.name for p in (tmp_path / "run").iterdir())
    with pytest.raises(SystemExit):
        entry.main(args)  # a fresh start must not overwrite a run folder that holds a run
    assert "--out: run_dir: expected a new run folder" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == before
    with pytest.raises(SystemExit):
        entry.main(["--resume", *tiny_overrides(tiny_cache)])  # --resume needs --out


def test_tet_grid_file_is_used(tiny_cache: Path, tmp_path: Path):
    import numpy as np

    import dmtet

    grid = dmtet.TetGrid.bcc(3)
    np.savez_compressed(
        tmp_path / "3_compress.npz", vertices=grid.vertices.double().numpy(), tets=grid.tets.numpy()
    )
    overrides = tiny_overrides(tiny_cache) + ["total_kimg=0.004", f"tet_grid={tmp_path / '3_compress.npz'}"]
    config = load_config(REPO / "configs" / "default.yaml", overrides)
    from get3d.training.data import load_grid

    loaded = load_grid(config)
    assert loaded.vertices.shape == grid.vertices.shape and float(loaded.vertices.max()) == pytest.approx(0.4)
    result = train(config, tmp_path / "run")
    assert result.finished
    # the grid file is stored in the checkpoint and used again when loading it
    assert load_checkpoint(result.checkpoint)["config"]["generator"]["tet_grid"] == str(
        tmp_path / "3_compress.npz"
    )
    from get3d.networks import load_generator

    assert torch.equal(load_generator(result.checkpoint).tet_grid.tets, grid.tets)
    from get3d.training.progress import main as progress_main

    with pytest.raises(SystemExit):
        progress_main([str(tmp_path / "run"), "--tet-grid", str(tmp_path / "missing.npz")])
    bad = load_config(
        REPO / "configs" / "default.yaml", [*overrides[:-1], f"tet_grid={tmp_path / 'missing.npz'}"]
    )
    with pytest.raises(FileNotFoundError, match="tet_grid"):
        train(bad, tmp_path / "bad")
