"""scripts/gpu_check.sh and the CUDA modes of the benchmarks it runs, checked on CPU.

The script's GPU work cannot run here; its mechanics can: ``GPU_CHECK_DRY=1`` runs every step at
a tiny size on CPU, and the rasterizer benchmark's backend comparison runs through the fake
nvdiffrast.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_check.sh"


def _bench_raster():
    spec = importlib.util.spec_from_file_location("bench_raster", ROOT / "benchmarks" / "bench_raster.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_parses():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


@pytest.mark.parametrize("mode", ["fwd", "bwd"])
def test_backend_measurement_runs_the_torch_backend(mode):
    r = _bench_raster().measure_backend("torch", "1k", 16, mode, 1, torch.device("cpu"))
    assert (r["backend"], r["faces"], r["res"], r["mode"]) == ("torch", 960, 16, mode)
    assert r["ms"] > 0 and 0.2 < r["coverage"] < 0.8


def test_backend_measurement_runs_nvdiffrast_through_the_fake(fake_nvdiffrast):
    r = _bench_raster().measure_backend("nvdiffrast", "1k", 16, "bwd", 1, torch.device("cpu"))
    assert r["backend"] == "nvdiffrast" and r["ms"] > 0
    names = set(fake_nvdiffrast.op_names())
    assert {"rasterize", "interpolate", "antialias", "rasterize_grad_db", "antialias_grad"} <= names


def _run(tmp_path: Path, env_extra: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHON=sys.executable, GPU_CHECK_DRY="1", GPU_CHECK_WORK=str(tmp_path / "work"))
    env.pop("OUT", None)
    env.update(env_extra)
    cmd = ["bash", str(SCRIPT), str(tmp_path / "wheels"), "--out", str(tmp_path / "out"), *args]
    (tmp_path / "wheels").mkdir(exist_ok=True)
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_dry_run_of_every_step_writes_the_json_results(tmp_path):
    proc = _run(tmp_path, {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ok"] and [s["step"] for s in summary["steps"]] == [1, 2, 3, 4, 5]
    assert all(s["status"] == "ok" for s in summary["steps"])
    results = {s["name"]: s.get("result") for s in summary["steps"]}
    parity = results["tests"]["parity"]
    assert parity["tests"] > 10 and parity["skipped"] == parity["tests"]  # no CUDA here: skipped
    assert results["raster"]["rows"][0]["mesh"] == "1k"
    assert results["generator"]["configs"]["tiny"]["backward"]["seconds"] > 0
    assert results["train"]["steps"] == 2 and results["train"]["s_per_kimg"] > 0
    assert (out / "env.json").is_file() and (out / "train_metrics.jsonl").is_file()
    assert not (out / "train").exists()  # the run (its checkpoint) stays in the work folder
    assert "step name" in proc.stdout and "all requested steps passed" in proc.stdout


@pytest.mark.slow
def test_a_failed_step_does_not_stop_the_next_and_the_exit_code_says_so(tmp_path):
    proc = _run(tmp_path, {"STEPS": "2 4", "PYTEST_ADDOPTS": "--no-such-option"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    steps = json.loads((tmp_path / "out" / "summary.json").read_text())["steps"]
    assert [(s["step"], s["status"]) for s in steps] == [(2, "failed"), (4, "ok")]
    assert "gpu_check: FAILED" in proc.stdout


def test_steps_without_time_left_are_failures(tmp_path):
    proc = _run(tmp_path, {"STEPS": "1 3", "GPU_CHECK_BUDGET": "0"})
    assert proc.returncode == 1
    steps = json.loads((tmp_path / "out" / "summary.json").read_text())["steps"]
    assert [(s["step"], s["status"]) for s in steps] == [(1, "no time"), (3, "no time")]
