"""Every script in ``examples/`` runs, at a tiny size, and writes what it says it writes.

Scripts are found by globbing, so a new example is covered automatically, and the test fails until
it is given a tiny invocation in ``TINY`` below. Each runs in a fresh interpreter with its outputs
(and any temporary files it makes) under ``tmp_path``.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _check_extract_sdf_mesh(out: Path, stdout: str) -> None:
    names = sorted(p.name for p in out.iterdir())
    assert names == ["sphere.obj", "table.obj", "torus.obj"], names
    for path in out.iterdir():
        mesh = trimesh.load(path, process=False)
        assert len(mesh.faces) > 100 and mesh.is_watertight, path
        assert mesh.volume > 0, f"{path}: faces point inwards (volume {mesh.volume})"
    # the sphere of radius 0.35 is close to its analytic volume even on the coarse grid
    sphere = trimesh.load(out / "sphere.obj", process=False)
    expected = 4 / 3 * math.pi * 0.35**3
    assert abs(sphere.volume - expected) < 0.06 * expected, (sphere.volume, expected)
    assert np.abs(np.linalg.norm(sphere.vertices, axis=1) - 0.35).max() < 0.03
    assert "sphere:" in stdout and "torus:" in stdout and "table:" in stdout


def _check_reconstruct_from_views(out: Path, stdout: str) -> None:
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "reconstruction.obj",
        "reconstruction_textured.glb",
        "reconstruction_views.png",
    ], names
    mesh = trimesh.load(out / "reconstruction.obj", process=False)
    assert len(mesh.faces) > 0
    glb = trimesh.load(out / "reconstruction_textured.glb")
    assert sum(len(g.faces) for g in glb.geometry.values()) > 0
    with Image.open(out / "reconstruction_views.png") as image:
        assert image.width > 0 and image.height > 0
    assert "4 views at 32x32" in stdout


@dataclass(frozen=True)
class Tiny:
    """How to run one example in seconds: its arguments (``{out}`` is the output folder)."""

    args: tuple[str, ...]
    check: Callable[[Path, str], None]


TINY: dict[str, Tiny] = {
    "extract_sdf_mesh.py": Tiny(
        ("--out", "{out}", "--resolution", "8"), _check_extract_sdf_mesh
    ),
    "reconstruct_from_views.py": Tiny(
        (
            "--out", "{out}", "--resolution", "32", "--views", "4",
            "--grid", "6", "--steps", "3", "--threads", "1",
        ),
        _check_reconstruct_from_views,
    ),
}  # fmt: skip

SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def test_examples_are_found() -> None:
    assert len(SCRIPTS) >= 2, SCRIPTS
    stale = sorted(set(TINY) - set(SCRIPTS))
    assert stale == [], f"TINY lists examples that no longer exist: {stale}"


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_tiny(script: str, tmp_path: Path) -> None:
    assert script in TINY, (
        f"examples/{script} has no tiny invocation: add one to TINY in {Path(__file__).name}"
    )
    tiny = TINY[script]
    out = tmp_path / "out"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
        "TMPDIR": str(scratch),  # anything the example puts in a temporary folder stays here
    }
    args = [a.format(out=out) for a in tiny.args]
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"examples/{script} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    tiny.check(out, proc.stdout)
