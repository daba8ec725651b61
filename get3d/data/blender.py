"""``prepare --renderer blender``: render a shape with Blender Cycles (``bpy``) in a subprocess.

``bpy`` (Blender as a Python module) needs its own Python 3.11 environment (``scripts/setup_bpy.sh``
makes ``.venv-bpy``), so :func:`render_with_blender` runs :mod:`get3d.data.blender_script` with that
interpreter: the one given (``PrepareConfig.blender_python``), else ``$ISOGEN3D_BPY_PYTHON``, else
this interpreter when it can import ``bpy``. The script reproduces GET3D's
``render_shapenet.py`` (cameras, lights, sampling); placement is ``prepare``'s normalisation
(scale normalisation, no re-centring unless asked), passed in as ``(center, factor)``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["BPY_PYTHON_ENV", "SCRIPT", "find_bpy_python", "render_with_blender"]

#: Environment variable naming a Python interpreter that can ``import bpy``.
BPY_PYTHON_ENV = "ISOGEN3D_BPY_PYTHON"
#: The bpy-side script.
SCRIPT = Path(__file__).with_name("blender_script.py")


def find_bpy_python(explicit: str | None = None) -> str | None:
    """The interpreter to run Blender with: ``explicit``, ``$ISOGEN3D_BPY_PYTHON``, or this one if it
    has ``bpy``; None when there is none."""
    if explicit:
        return explicit
    env = os.environ.get(BPY_PYTHON_ENV)
    if env:
        return env
    if importlib.util.find_spec("bpy") is not None:
        return sys.executable
    return None


def render_with_blender(
    mesh_path: str | Path,
    center: tuple[float, float, float],
    factor: float,
    rotation_deg: np.ndarray,
    elevation_deg: np.ndarray,
    *,
    resolution: int,
    radius: float,
    focal_mm: float,
    sensor_mm: float,
    samples: int = 32,
    threads: int = 1,
    python: str | None = None,
    timeout: float | None = None,
) -> np.ndarray:
    """Render ``mesh_path`` placed by ``(v - center) * factor`` (OBJ frame) from GET3D's cameras.

    Args:
        mesh_path: an OBJ, GLB/GLTF, PLY or STL file (Blender has no OFF importer).
        center, factor: the normalisation of :func:`get3d.data.meshes.normalize`.
        rotation_deg, elevation_deg: float ``[V]`` the Blender script's angles, degrees.
        resolution, radius, focal_mm, sensor_mm: image side and camera.
        samples: Cycles samples per pixel (GET3D: 32).
        threads: Cycles CPU threads.
        python: interpreter with ``bpy`` (see :func:`find_bpy_python`).
        timeout: seconds before the Blender process is killed (None: no limit).

    Returns:
        uint8 ``[V, H, W, 4]`` straight-alpha RGBA, row 0 at the top.

    Raises:
        RuntimeError: no interpreter with bpy, or Blender failed (its stderr tail is included).
    """
    interpreter = find_bpy_python(python)
    if interpreter is None:
        raise RuntimeError(
            f"renderer blender: no Python with bpy; pass --blender-python or set {BPY_PYTHON_ENV} "
            "(scripts/setup_bpy.sh makes .venv-bpy)"
        )
    rotation = np.asarray(rotation_deg, dtype=np.float64).reshape(-1)
    elevation = np.asarray(elevation_deg, dtype=np.float64).reshape(-1)
    if rotation.shape != elevation.shape:
        raise ValueError(
            f"rotation_deg, elevation_deg: expected equal lengths, got {rotation.shape} {elevation.shape}"
        )
    with tempfile.TemporaryDirectory(prefix="get3d-blender-") as tmp:
        job = {
            "mesh": str(Path(mesh_path).resolve()),
            "center": [float(c) for c in center],
            "factor": float(factor),
            "rotation_deg": rotation.tolist(),
            "elevation_deg": elevation.tolist(),
            "resolution": int(resolution),
            "radius": float(radius),
            "focal_mm": float(focal_mm),
            "sensor_mm": float(sensor_mm),
            "samples": int(samples),
            "threads": int(threads),
            "out_dir": tmp,
        }
        job_file = Path(tmp) / "job.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        run = subprocess.run(
            [interpreter, str(SCRIPT), str(job_file)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if run.returncode != 0:
            raise RuntimeError(f"renderer blender: Blender failed on {mesh_path}:\n{run.stderr[-3000:]}")
        images = []
        for view in range(rotation.shape[0]):
            with Image.open(Path(tmp) / f"{view:03d}.png") as pic:
                images.append(np.asarray(pic.convert("RGBA"), dtype=np.uint8))
    return np.stack(images)
