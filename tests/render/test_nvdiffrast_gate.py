"""The skip / fail rule of the nvdiffrast parity suite, and the suite's own code, checked on CPU."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.render.nvdiffrast_gate import GateAction, load_nvdiffrast_context, parity_gate
from tests.render.test_nvdiffrast_parity import FAKE_ENV

ROOT = Path(__file__).resolve().parents[2]
PARITY = ROOT / "tests" / "render" / "test_nvdiffrast_parity.py"


def _never_called():
    raise AssertionError("load must not be called without CUDA")


def _broken():
    raise ModuleNotFoundError("No module named 'nvdiffrast_plugin_x'")


def test_without_cuda_the_suite_skips_and_does_not_try_to_load():
    gate = parity_gate(False, _never_called)
    assert gate.action is GateAction.SKIP and "no CUDA" in gate.reason


def test_with_cuda_a_loader_error_fails_the_suite_and_names_the_error():
    gate = parity_gate(True, _broken)
    assert gate.action is GateAction.FAIL
    assert "ModuleNotFoundError: No module named 'nvdiffrast_plugin_x'" in gate.reason


def test_with_cuda_and_a_loadable_nvdiffrast_the_suite_runs(fake_nvdiffrast):
    gate = parity_gate(True, lambda: load_nvdiffrast_context(torch.device("cpu")))
    assert gate.action is GateAction.RUN
    assert fake_nvdiffrast.op_names() == ["RasterizeCudaContext"]  # the plugin was really asked for


def test_importable_is_not_enough_a_context_must_load(fake_nvdiffrast, monkeypatch):
    # nvdiffrast 0.3.3.1 with pybind11 3: the package imports, the plugin does not load
    ops = sys.modules["nvdiffrast.torch.ops"]

    def get_plugin(gl=False):
        raise ModuleNotFoundError("No module named 'nvdiffrast_plugin_0_3_3_1_torch2_13_0'")

    monkeypatch.setattr(ops, "_get_plugin", get_plugin)
    gate = parity_gate(True, lambda: load_nvdiffrast_context(torch.device("cpu")))
    assert gate.action is GateAction.FAIL and "nvdiffrast_plugin_0_3_3_1" in gate.reason


def _pytest(args: list[str], env_extra: dict[str, str], prelude: str = "") -> subprocess.CompletedProcess:
    code = f"import sys, pytest, torch\n{prelude}\nsys.exit(pytest.main(sys.argv[1:]))"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", **env_extra)
    cmd = [sys.executable, "-c", code, "-q", "-p", "no:cacheprovider", "-rA", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_on_a_cuda_machine_without_nvdiffrast_the_suite_fails_not_skips(monkeypatch):
    # pretend CUDA is available; nvdiffrast is not installed here (or, if it is, cannot load
    # on this CPU-only torch), so every test of the suite must fail or error, none skip
    monkeypatch.delenv(FAKE_ENV, raising=False)
    proc = _pytest([str(PARITY)], {}, "torch.cuda.is_available = lambda: True")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "CUDA is available but nvdiffrast cannot be loaded" in out
    assert " skipped" not in out.splitlines()[-1] and " passed" not in out.splitlines()[-1]


@pytest.mark.slow
def test_the_parity_suite_runs_end_to_end_through_the_fake_on_cpu():
    proc = _pytest(["--noconftest", str(PARITY)], {FAKE_ENV: "1"})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    summary = out.strip().splitlines()[-1]
    assert " passed" in summary and "skipped" not in summary and "failed" not in summary
