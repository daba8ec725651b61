"""Camera files of multiview data sets: GET3D's angle files and ``transforms.json``.

The camera model itself (angles, look-at, Blender/OBJ frames) lives in :mod:`render.camera`; this
module adds what is specific to files on disk (get3d_spec.md §8):

* GET3D's Blender script stores ``rotation`` (azimuth, degrees) and ``elevation`` (degrees above
  the horizon) per view; the loader turns them into the discriminator's condition
  ``c = (rotation / 180 * pi, (90 - elevation) / 180 * pi)`` (:func:`camera_condition`). The
  Blender camera at ``(-r cos(e) sin(a), r cos(e) cos(a), r sin(e))`` is exactly the OBJ-frame
  camera with ``theta = a``, ``phi = 90 deg - e`` (spec §8.3; tested).
* ``transforms.json`` (GET3D's script, NeRF synthetic data, our ``prepare``) stores
  ``camera_angle_x`` and per frame ``file_path`` and ``transform_matrix``: an OpenGL-camera
  camera-to-world matrix (columns right, up, back, position) in **Blender's Z-up world** unless
  the reader is told the file is in the library's Y-up world (:class:`WorldUp`).
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "BLENDER_FOCAL_MM",
    "BLENDER_SENSOR_MM",
    "TransformsError",
    "TransformsFile",
    "WorldUp",
    "camera_condition",
    "fov_from_lens",
    "read_transforms",
    "write_transforms",
]

BLENDER_FOCAL_MM = 35.0
BLENDER_SENSOR_MM = 32.0


class WorldUp(enum.Enum):
    """World frame in which a ``transforms.json`` stores its camera-to-world matrices."""

    Z = "z"
    """Blender / NeRF synthetic / GET3D's script: Z up (the default)."""
    Y = "y"
    """Already the library's OBJ frame: Y up."""


def fov_from_lens(focal_mm: float = BLENDER_FOCAL_MM, sensor_mm: float = BLENDER_SENSOR_MM) -> float:
    """Field of view in radians of a pinhole with focal length ``focal_mm`` on a ``sensor_mm`` sensor."""
    if not (focal_mm > 0 and sensor_mm > 0):
        raise ValueError(f"focal_mm, sensor_mm: expected positive lengths, got {focal_mm}, {sensor_mm}")
    return 2.0 * math.atan(sensor_mm / 2.0 / focal_mm)


def camera_condition(rotation_deg: np.ndarray, elevation_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GET3D's camera condition from its ``rotation.npy`` and ``elevation.npy`` values.

    Computed with GET3D's exact operations (``training/dataset.py``): azimuth
    ``rotation / 180 * pi`` and polar angle ``(90 - elevation) / 180.0 * pi``, in the dtype of
    the stored arrays (float64 for integer input), returned as float64.

    Args:
        rotation_deg: azimuths in degrees, any shape.
        elevation_deg: elevations above the horizon in degrees, same shape.

    Returns:
        ``(azimuth, polar)`` in radians, float64 arrays of the input shape.
    """
    rotation, elevation = _as_float(rotation_deg), _as_float(elevation_deg)
    # GET3D indexes the loaded array and computes in its dtype; float64 results as in its condinfo.
    azimuth = (rotation / 180 * np.pi).astype(np.float64)
    polar = ((90 - elevation) / 180.0 * np.pi).astype(np.float64)
    return azimuth, polar


def _as_float(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values)
    return array if np.issubdtype(array.dtype, np.floating) else array.astype(np.float64)


@dataclass(frozen=True, eq=False)
class TransformsFile:
    """Contents of a ``transforms.json``.

    Attributes:
        path: the file.
        camera_angle_x: horizontal field of view in radians.
        image_paths: the frames' image files, resolved against the file's folder.
        cam2world: float64 ``[V, 4, 4]`` camera-to-world matrices as stored (frame ``world_up``).
    """

    path: Path
    camera_angle_x: float
    image_paths: tuple[Path, ...]
    cam2world: np.ndarray


class TransformsError(ValueError):
    """A malformed ``transforms.json``: ``path``, the field (``what``) and a message."""

    def __init__(self, path: Path, what: str, message: str) -> None:
        super().__init__(f"{path}: {what}: {message}")
        self.path, self.what, self.message = path, what, message


def read_transforms(path: str | Path) -> TransformsFile:
    """Read a ``transforms.json``; anything malformed raises :class:`TransformsError` naming the field.

    A ``file_path`` without a suffix (NeRF synthetic style, ``./train/r_0``) gets ``.png``.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        TransformsError: (a ``ValueError``) for unreadable JSON or a malformed field.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: transforms file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise TransformsError(path, "contents", f"unreadable JSON ({err})") from None
    if not isinstance(data, dict):
        raise TransformsError(path, "contents", f"expected a JSON object, got {type(data).__name__}")
    angle = data.get("camera_angle_x")
    if not isinstance(angle, int | float) or isinstance(angle, bool) or not 0 < angle < math.pi:
        what = "field 'camera_angle_x'"
        raise TransformsError(path, what, f"expected a number in (0, pi) radians, got {angle!r}")
    frames = data.get("frames")
    if not isinstance(frames, list) or not frames:
        raise TransformsError(path, "field 'frames'", f"expected a non-empty list, got {frames!r:.80}")
    images: list[Path] = []
    matrices: list[np.ndarray] = []
    for i, frame in enumerate(frames):
        if not isinstance(frame, dict):
            what = f"field 'frames[{i}]'"
            raise TransformsError(path, what, f"expected an object, got {type(frame).__name__}")
        file_path = frame.get("file_path")
        if not isinstance(file_path, str) or not file_path:
            what = f"field 'frames[{i}].file_path'"
            raise TransformsError(path, what, f"expected a non-empty string, got {file_path!r}")
        image = path.parent / file_path
        if not image.suffix:
            image = image.with_suffix(".png")
        images.append(image)
        matrices.append(_check_matrix(path, f"field 'frames[{i}].transform_matrix'", frame))
    return TransformsFile(path, float(angle), tuple(images), np.stack(matrices))


def _check_matrix(path: Path, what: str, frame: dict) -> np.ndarray:
    raw = frame.get("transform_matrix")
    try:
        matrix = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        matrix = np.zeros(0)
    if matrix.shape != (4, 4) or not np.all(np.isfinite(matrix)):
        raise TransformsError(path, what, f"expected a finite 4x4 matrix, got {raw!r:.80}")
    if not np.allclose(matrix[3], [0, 0, 0, 1], atol=1e-6):
        raise TransformsError(path, what, f"expected last row [0, 0, 0, 1], got {matrix[3]}")
    rotation = matrix[:3, :3]
    if not np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-4) or np.linalg.det(rotation) < 0:
        message = "expected a rigid camera-to-world matrix (rotation block orthonormal, determinant +1)"
        raise TransformsError(path, what, message)
    return matrix


def write_transforms(
    path: str | Path,
    camera_angle_x: float,
    file_names: Sequence[str],
    cam2world_blender: np.ndarray,
    aabb_half: float | None = None,
    extra: dict[str, object] | None = None,
) -> Path:
    """Write a ``transforms.json`` (Blender frame, as GET3D's script and NeRF tools do).

    Args:
        path: output file.
        camera_angle_x: horizontal field of view in radians.
        file_names: image file names relative to the file's folder, one per view.
        cam2world_blender: float ``[V, 4, 4]`` Blender-frame camera-to-world matrices.
        aabb_half: when given, writes ``"aabb": [[-h, -h, -h], [h, h, h]]`` (GET3D's ``+-scale/2``).
        extra: further top-level keys (JSON-serialisable), written before ``frames``.
    """
    matrices = np.asarray(cam2world_blender, dtype=np.float64)
    if matrices.shape != (len(file_names), 4, 4):
        raise ValueError(
            f"cam2world_blender: expected shape [{len(file_names)}, 4, 4] (one per file name), "
            f"got {matrices.shape}"
        )
    data: dict[str, object] = {"camera_angle_x": float(camera_angle_x)}
    if aabb_half is not None:
        data["aabb"] = [[-aabb_half] * 3, [aabb_half] * 3]
    if extra:
        reserved = {"camera_angle_x", "aabb", "frames"} & set(extra)
        if reserved:
            raise ValueError(f"extra: keys {sorted(reserved)} are written by write_transforms itself")
        data.update(extra)
    data["frames"] = [
        {"file_path": name, "transform_matrix": m.tolist()}
        for name, m in zip(file_names, matrices, strict=True)
    ]
    path = Path(path)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path
