"""Tiny on-disk data sets with known contents, for the data tests."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

SYNSET = "03001627"


def write_rgba(path: Path, pixels: np.ndarray) -> Path:
    """Write a uint8 ``[H, W, 4]`` (or ``[H, W, 3]`` for no alpha) array as a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def pattern(size: int, seed: int) -> np.ndarray:
    """A random RGBA image with a mix of transparent, opaque and partly transparent pixels."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size, size, 4), dtype=np.uint8)
    alpha = rng.choice(np.array([0, 1, 128, 255], dtype=np.uint8), size=(size, size))
    alpha[0, 0] = 255  # never an empty silhouette
    pixels[..., 3] = alpha
    return pixels


@dataclass(frozen=True)
class Get3dSet:
    root: Path
    data_dir: Path
    camera_root: Path
    rotation: dict[str, np.ndarray]
    elevation: dict[str, np.ndarray]
    pixels: dict[tuple[str, int], np.ndarray]


def make_get3d(root: Path, shapes: dict[str, int] | None = None, size: int = 8, seed: int = 0) -> Get3dSet:
    """``root/img/<SYNSET>/<id>/NNN.png`` and ``root/camera/<SYNSET>/<id>/*.npy`` with known values."""
    shapes = shapes if shapes is not None else {"b_shape": 3, "a_shape": 2}
    rng = np.random.default_rng(seed)
    data_dir = root / "img" / SYNSET
    camera_root = root / "camera"
    rotation, elevation, pixels = {}, {}, {}
    for k, (shape_id, n_views) in enumerate(sorted(shapes.items())):
        for view in range(n_views):
            pixels[shape_id, view] = pattern(size, seed * 1000 + k * 100 + view)
            write_rgba(data_dir / shape_id / f"{view:03d}.png", pixels[shape_id, view])
        cam = camera_root / SYNSET / shape_id
        cam.mkdir(parents=True)
        rotation[shape_id] = rng.uniform(0, 360, n_views)
        elevation[shape_id] = rng.uniform(0, 30, n_views)
        np.save(cam / "rotation.npy", rotation[shape_id])
        np.save(cam / "elevation.npy", elevation[shape_id])
    return Get3dSet(root, data_dir, camera_root, rotation, elevation, pixels)


def blender_cam2world(rotation_deg: float, elevation_deg: float, radius: float = 1.2) -> np.ndarray:
    """Camera-to-world (Blender Z-up world) of GET3D's Blender script, built as Blender does.

    The camera starts at ``(0, radius, 0)``, is parented to an empty at the origin with Euler XYZ
    ``(elevation, 0, rotation)`` and tracks the origin (track -Z, up Y), i.e. a look-at with world
    up +Z. Independent of the library's camera code: the parity reference of spec §8.3.
    """
    e, a = math.radians(elevation_deg), math.radians(rotation_deg)
    rot_x = np.array([[1, 0, 0], [0, math.cos(e), -math.sin(e)], [0, math.sin(e), math.cos(e)]])
    rot_z = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    position = rot_z @ rot_x @ np.array([0.0, radius, 0.0])  # Euler XYZ: X applied first
    back = position / np.linalg.norm(position)
    right = np.cross([0.0, 0.0, 1.0], back)
    right /= np.linalg.norm(right)
    up = np.cross(back, right)
    out = np.eye(4)
    out[:3, 0], out[:3, 1], out[:3, 2], out[:3, 3] = right, up, back, position
    return out


def make_transforms(
    data_dir: Path, shapes: dict[str, int] | None = None, size: int = 8, seed: int = 0
) -> dict[str, list[tuple[float, float]]]:
    """``data_dir/<id>/{NNN.png, transforms.json}`` with Blender-script cameras; returns the angles."""
    shapes = shapes if shapes is not None else {"s1": 2, "s0": 3}
    rng = np.random.default_rng(seed)
    angles: dict[str, list[tuple[float, float]]] = {}
    for k, (shape_id, n_views) in enumerate(sorted(shapes.items())):
        frames = []
        angles[shape_id] = []
        for view in range(n_views):
            a, e = float(rng.uniform(0, 360)), float(rng.uniform(0, 30))
            angles[shape_id].append((a, e))
            write_rgba(data_dir / shape_id / f"{view:03d}.png", pattern(size, seed * 1000 + k * 100 + view))
            frames.append(
                {"file_path": f"{view:03d}.png", "transform_matrix": blender_cam2world(a, e).tolist()}
            )
        (data_dir / shape_id / "transforms.json").write_text(
            json.dumps({"camera_angle_x": 2 * math.atan(16 / 35), "frames": frames})
        )
    return angles
