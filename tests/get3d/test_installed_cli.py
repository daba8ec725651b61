"""The console script works from a regular (non-editable) install, run outside the source tree.

The package is installed with ``pip install --no-deps`` into a fresh virtual environment that
sees this interpreter's site-packages (torch, numpy, ...) through a ``.pth`` file, so nothing
heavy is installed again. A plain directory line in a ``.pth`` file does not process the ``.pth``
files found there, so a development (editable) install of the library stays invisible: the test
asserts that ``get3d`` is imported from the new environment.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from get3d.training import config_to_dict, load_config

REPO = Path(__file__).resolve().parents[2]
SOURCES = ["setup.py", "pyproject.toml", "README.md", "dmtet", "render", "get3d", "configs"]

pytestmark = pytest.mark.slow


def _run(args: list[str | Path], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``bin/`` of a virtual environment holding a non-editable install of this source tree."""
    root = tmp_path_factory.mktemp("installed")
    src = root / "src"  # a copy, so that the build leaves no build/ or egg-info in the checkout
    src.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(REPO / name, src / name)
    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=root)
    assert made.returncode == 0, made.stderr
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    query = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = Path(_run([python, "-c", query], cwd=root).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    lines = sorted(p for p in ours if Path(p).is_dir())
    (purelib / "_dev_site_packages.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pip = [python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q", src]
    done = _run(pip, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    return bindir


def test_installed_package_is_the_imported_one(installed: Path, tmp_path: Path):
    python = installed / ("python.exe" if os.name == "nt" else "python")
    run = _run(
        [python, "-c", "import get3d, get3d.training.cli as c; print(get3d.__file__); print(c.__file__)"],
        tmp_path,
    )
    assert run.returncode == 0, run.stderr
    venv = installed.parent.resolve()
    for line in run.stdout.split():
        assert Path(line).resolve().is_relative_to(venv), f"{line} is not the installed copy in {venv}"


def test_console_script_help(installed: Path, tmp_path: Path):
    run = _run([installed / "get3d", "--help"], tmp_path)
    assert run.returncode == 0, run.stderr
    for command in ("doctor", "train", "sample", "interpolate", "export", "eval"):
        assert command in run.stdout


@pytest.mark.parametrize("preset", ["default", "shapenet_car"])
def test_console_script_train_dry_run(installed: Path, tmp_path: Path, preset: str):
    args = [installed / "get3d", "train", "--dry-run", "seed=5"]
    run = _run(args if preset == "default" else [*args, "--config", preset], tmp_path)
    assert run.returncode == 0, run.stderr
    expected = config_to_dict(load_config(REPO / "configs" / f"{preset}.yaml", ["seed=5"]))
    assert yaml.safe_load(run.stdout) == expected
    assert not any(tmp_path.iterdir())  # a dry run writes nothing


def test_installed_serve_page_files(installed: Path, tmp_path: Path):
    python = installed / ("python.exe" if os.name == "nt" else "python")
    code = "from get3d.serve.app import static_dir; print(*sorted(p.name for p in static_dir().iterdir()))"
    run = _run([python, "-c", code], tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["app.js", "index.html", "style.css", "viewer.js"]
