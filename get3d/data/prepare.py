"""Render a folder of meshes into GET3D's data layout (plus ``transforms.json``), with the library's renderer.

For every mesh (:func:`get3d.data.meshes.find_meshes`) :func:`prepare_dataset` writes::

    <out>/img/<synset>/<id>/000.png ... NNN.png     RGBA, transparent background
    <out>/img/<synset>/<id>/transforms.json         camera_angle_x, aabb, frames (Blender Z-up world)
    <out>/camera/<synset>/<id>/rotation.npy         float64[V] azimuth, degrees
    <out>/camera/<synset>/<id>/elevation.npy        float64[V] elevation, degrees

exactly what GET3D's Blender script writes (get3d_spec.md §8.1), so GET3D itself, this library's
:class:`get3d.data.MultiviewDataset` (either layout) and NeRF-style tools all read it.

Per shape: the mesh is normalised as GET3D's Blender script does (longest side of its box =
``scale``, scaled about the origin, not re-centred; ``recenter=True`` centres the box first),
``views`` cameras are drawn as the Blender script does (azimuth
``U[azimuth_deg)``, elevation ``U[elevation_deg)``, radius 1.2, 35 mm lens on a 32 mm sensor by
default) from a generator seeded by ``(seed, shape id)``, so a shape's views do not depend on the
order or the process that renders it, and every view is rendered by ``renderer``:

* :attr:`Renderer.BUILTIN` (default, fast): :func:`render.render_mesh` with the light model below;
* :attr:`Renderer.BLENDER`: Blender Cycles through ``bpy`` in a subprocess
  (:mod:`get3d.data.blender`), GET3D's ``render_shapenet.py`` scene: its area light, 32 samples
  (``blender_samples``), denoising, pixel filter width 0.01; ``supersample``, ``ambient`` and
  ``diffuse`` do not apply.

The built-in renderer's light model
(:func:`render.shading.shade_lambert`, documented there): a directional light fixed in
camera space towards ``normalize(0.3, 0.5, 1.0)`` (above, right of and behind the viewer) plus an
ambient term, two-sided, flat face normals::

    rgb = albedo * (ambient + diffuse * max(0, n . l)),   ambient 0.25, diffuse 0.75 by default

``albedo`` is the mesh's colour (:mod:`get3d.data.meshes`: material colour x texture x vertex
colour). Edges are antialiased by supersampling (``supersample`` x ``supersample`` samples per pixel,
colour averaged with alpha weights, so the PNG stores straight, un-premultiplied RGB).

Robustness: a shape is rendered into a temporary folder and moved into place with two renames
(camera folder, then image folder), so an interrupted run never leaves a half-written shape that
the loaders would read; a rerun skips complete shapes (resumable). Shapes run in worker processes
(``workers``) with a progress bar. Failures of single meshes are collected and reported at the end.
Runs for different synsets may share an output root; two runs of one synset at once may not.

``transforms.json`` also records ``source_mesh`` (the file name) and ``normalization``
(``center``, ``factor``: rendered = (source - center) * factor), linking renders to ground truth.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import uuid
import zlib
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from enum import Enum
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from get3d.export.images import to_uint8
from render import interpolate, texture
from render.backend import as_context
from render.camera import Cameras, world_to_blender
from render.mesh import NormalMode, render_mesh
from render.shading import shade_lambert

from .blender import render_with_blender
from .cameras import BLENDER_FOCAL_MM, BLENDER_SENSOR_MM, camera_condition, fov_from_lens, write_transforms
from .layout import (
    ELEVATION_FILE,
    ROTATION_FILE,
    TRANSFORMS_FILE,
    image_dir_for,
    list_shape_dirs,
    make_splits,
    write_splits,
)
from .meshes import Normalization, SourceMesh, find_meshes, load_mesh, normalize

__all__ = [
    "PrepareConfig",
    "Renderer",
    "PrepareReport",
    "prepare_dataset",
    "prepare_shape",
    "render_source_mesh",
    "sample_view_angles",
    "write_dataset_splits",
]

_TMP = ".prepare_tmp"
_CHUNK = 6  # views rendered per rasterizer call (bounds memory)


class Renderer(str, Enum):
    """Who renders ``prepare``'s images (module docstring)."""

    BUILTIN = "builtin"
    BLENDER = "blender"


@dataclass(frozen=True)
class PrepareConfig:
    """Settings of :func:`prepare_dataset` (defaults: GET3D's Blender script at 256 pixels).

    Attributes:
        synset: category folder name under ``img/`` and ``camera/``.
        resolution: image side in pixels.
        views: views per shape.
        azimuth_deg: ``[min, max)`` of the uniform azimuth (``rotation.npy``), degrees.
        elevation_deg: ``[min, max)`` of the uniform elevation above the horizon, degrees.
        radius: camera distance from the origin.
        focal_mm, sensor_mm: lens and sensor width (field of view ``2 atan(sensor / 2 / focal)``).
        scale: longest side of the normalised mesh (GET3D: car 0.9, chair 0.7, motorbike 0.9).
        recenter: centre the mesh's box on the origin before scaling (GET3D does not: default off).
        supersample: samples per pixel side for antialiasing (1 = hard edges; built-in renderer).
        ambient, diffuse: light model weights (module docstring; built-in renderer).
        renderer: :class:`Renderer` (or its value).
        blender_python: interpreter with ``bpy`` for the Blender renderer (None:
            ``$ISOGEN3D_BPY_PYTHON``, or this one if it has bpy).
        blender_samples: Cycles samples per pixel (GET3D: 32).
        seed: seed of the camera draws (combined with each shape id).
        backend: rasterizer backend (``"auto"``, ``"torch"``, ``"nvdiffrast"``).
        device: torch device to render on.
    """

    synset: str = "procedural"
    resolution: int = 256
    views: int = 24
    azimuth_deg: tuple[float, float] = (0.0, 360.0)
    elevation_deg: tuple[float, float] = (0.0, 30.0)
    radius: float = 1.2
    focal_mm: float = BLENDER_FOCAL_MM
    sensor_mm: float = BLENDER_SENSOR_MM
    scale: float = 0.9
    recenter: bool = False
    supersample: int = 2
    ambient: float = 0.25
    diffuse: float = 0.75
    seed: int = 0
    backend: str = "auto"
    device: str = "cpu"
    renderer: Renderer = Renderer.BUILTIN
    blender_python: str | None = None
    blender_samples: int = 32

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "renderer", Renderer(self.renderer))
        except ValueError:
            choices = [r.value for r in Renderer]
            raise ValueError(f"renderer: expected one of {choices}, got {self.renderer!r}") from None
        for name in ("resolution", "views", "supersample", "blender_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        if not self.synset or "/" in self.synset or self.synset.startswith("."):
            raise ValueError(f"synset: expected a plain folder name, got {self.synset!r}")
        lo, hi = self.azimuth_deg
        if not lo <= hi:
            raise ValueError(f"azimuth_deg: expected (min, max) with min <= max, got {self.azimuth_deg}")
        lo, hi = self.elevation_deg
        if not -90 < lo <= hi < 90:
            raise ValueError(f"elevation_deg: expected -90 < min <= max < 90, got {self.elevation_deg}")
        if not self.radius > 0 or not self.scale > 0:
            raise ValueError(f"radius, scale: expected positive numbers, got {self.radius}, {self.scale}")
        if self.scale * math.sqrt(3) / 2 >= self.radius:
            raise ValueError(f"scale: {self.scale} puts the mesh around the camera at radius {self.radius}")
        if self.ambient < 0 or self.diffuse < 0:
            raise ValueError(f"ambient, diffuse: expected non-negative, got {self.ambient}, {self.diffuse}")

    @property
    def fovy(self) -> float:
        return fov_from_lens(self.focal_mm, self.sensor_mm)


@dataclass(frozen=True)
class PrepareReport:
    """What :func:`prepare_dataset` did: shape ids rendered, skipped (already complete) and failed."""

    rendered: tuple[str, ...]
    skipped: tuple[str, ...]
    failed: tuple[tuple[str, str], ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.failed


def sample_view_angles(shape_id: str, config: PrepareConfig) -> tuple[np.ndarray, np.ndarray]:
    """The shape's ``(rotation_deg, elevation_deg)``, float64 ``[views]`` each, from ``(seed, shape_id)``.

    As the Blender script: ``rotation = a0 + (a1 - a0) U``, ``elevation = e0 + (e1 - e0) U``.
    """
    key = zlib.crc32(shape_id.encode("utf-8"))
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, key]))
    u = rng.random((2, config.views))
    a0, a1 = config.azimuth_deg
    e0, e1 = config.elevation_deg
    return a0 + (a1 - a0) * u[0], e0 + (e1 - e0) * u[1]


def _albedo(mesh: SourceMesh, face_id: torch.Tensor, rast: torch.Tensor, tri: torch.Tensor) -> torch.Tensor:
    """Per-pixel colour ``[B, H, W, 3]`` in [0, 1] (0 on the background)."""
    covered = face_id >= 0
    material = torch.from_numpy(mesh.face_material)[face_id.clamp_min(0)]
    base = torch.from_numpy(np.stack([m.base_color for m in mesh.materials])).to(torch.float32)
    albedo = base[material]
    if mesh.uvs is not None:
        uv_attr = torch.from_numpy(mesh.uvs).to(torch.float32)[None]
        uv, _ = interpolate(uv_attr, rast, tri)
        for index, mat in enumerate(mesh.materials):
            if mat.texture is None:
                continue
            selected = covered & (material == index)
            if not bool(selected.any()):
                continue
            # image rows are top-down (v = 1 first); render.texture wants row 0 at v = 0
            tex = torch.from_numpy(np.ascontiguousarray(mat.texture[::-1]))[None]
            samples = texture(tex, uv[selected][None, None], filter_mode="linear", boundary_mode="wrap")
            albedo[selected] = albedo[selected] * samples[0, 0]
    if mesh.vertex_colors is not None:
        color_attr = torch.from_numpy(mesh.vertex_colors).to(torch.float32)[None]
        colors, _ = interpolate(color_attr, rast, tri)
        albedo = albedo * colors
    return albedo.clamp(0, 1) * covered[..., None]


def render_source_mesh(
    mesh: SourceMesh, rotation_deg: np.ndarray, elevation_deg: np.ndarray, config: PrepareConfig
) -> np.ndarray:
    """Render ``mesh`` (already normalised) from GET3D cameras given in the Blender script's angles.

    Args:
        mesh: the mesh in the OBJ frame.
        rotation_deg, elevation_deg: float ``[V]`` degrees.
        config: resolution, lens, radius, supersampling, light and backend.

    Returns:
        uint8 ``[V, H, W, 4]`` straight-alpha RGBA, row 0 at the top, transparent background.
    """
    azimuth, polar = camera_condition(rotation_deg, elevation_deg)
    device = torch.device(config.device)
    verts = torch.from_numpy(mesh.vertices).to(torch.float32)
    faces = torch.from_numpy(mesh.faces)
    size = config.resolution * config.supersample
    ctx = as_context(config.backend, device)  # one context for all of this mesh's views
    images = []
    for start in range(0, len(azimuth), _CHUNK):
        cams = Cameras.from_angles(
            torch.from_numpy(azimuth[start : start + _CHUNK]).float(),
            torch.from_numpy(polar[start : start + _CHUNK]).float(),
            config.radius,
            config.fovy,
        )
        out = render_mesh(
            verts.to(device),
            faces.to(device),
            cams.to(device),
            size,
            backend=ctx,
            antialias=False,
            normals=NormalMode.FACE,
        )
        rast, tri = out.rast.cpu(), out.tri.cpu()
        albedo = _albedo(mesh, out.face_id.cpu(), rast, tri).permute(0, 3, 1, 2)
        mask = out.mask.cpu()
        rgb = shade_lambert(
            out.normals.cpu(),
            mask,
            cams,
            ambient=config.ambient,
            diffuse=config.diffuse,
            albedo=albedo,
            positions=out.position.cpu(),
            background=0.0,
        )
        if config.supersample > 1:
            k = config.supersample
            alpha = torch.nn.functional.avg_pool2d(mask, k)
            premultiplied = torch.nn.functional.avg_pool2d(rgb * mask, k)
            rgb = torch.where(
                alpha > 0, premultiplied / alpha.clamp_min(1e-8), torch.zeros_like(premultiplied)
            )
            mask = alpha
        images.append(to_uint8(torch.cat([rgb, mask], dim=1), (0.0, 1.0)))  # [b, H, W, 4]
    return np.concatenate(images)


def _shape_paths(out_root: Path, synset: str, shape_id: str) -> tuple[Path, Path]:
    return image_dir_for(out_root, synset) / shape_id, out_root / "camera" / synset / shape_id


def _is_complete(image_dir: Path, camera_dir: Path, config: PrepareConfig) -> bool:
    if not (image_dir.is_dir() and camera_dir.is_dir()):
        return False
    pngs = sorted(image_dir.glob("*.png"))
    if len(pngs) != config.views or not (image_dir / TRANSFORMS_FILE).is_file():
        raise ValueError(
            f"{image_dir}: holds {len(pngs)} views, expected {config.views}; "
            "write to a fresh output folder to change the number of views"
        )
    with Image.open(pngs[0]) as pic:
        if pic.size != (config.resolution, config.resolution):
            raise ValueError(
                f"{pngs[0]}: is {pic.size[0]}x{pic.size[1]}, expected {config.resolution}x"
                f"{config.resolution}; write to a fresh output folder to change the resolution"
            )
    return all((camera_dir / name).is_file() for name in (ROTATION_FILE, ELEVATION_FILE))


def _write_shape(
    tmp: Path,
    mesh_path: str | Path,
    norm: Normalization,
    rotation: np.ndarray,
    elevation: np.ndarray,
    rgba: np.ndarray,
    config: PrepareConfig,
) -> None:
    """Write one shape's images, camera files and transforms.json under ``tmp/{img,camera}``."""
    tmp_img, tmp_cam = tmp / "img", tmp / "camera"
    tmp_img.mkdir(parents=True)
    tmp_cam.mkdir()
    names = [f"{view:03d}.png" for view in range(config.views)]
    for name, pixels in zip(names, rgba, strict=True):
        Image.fromarray(pixels, "RGBA").save(tmp_img / name)
    np.save(tmp_cam / ROTATION_FILE, rotation.astype(np.float64))
    np.save(tmp_cam / ELEVATION_FILE, elevation.astype(np.float64))
    azimuth, polar = camera_condition(rotation, elevation)
    cams = Cameras.from_angles(torch.from_numpy(azimuth), torch.from_numpy(polar), config.radius, config.fovy)
    blender = world_to_blender(cams.cam_to_world).numpy()
    provenance = {
        "source_mesh": Path(mesh_path).name,
        "normalization": {"center": list(norm.center), "factor": norm.factor},
    }
    write_transforms(tmp_img / TRANSFORMS_FILE, config.fovy, names, blender, config.scale / 2, provenance)


def prepare_shape(mesh_path: str | Path, shape_id: str, out_root: str | Path, config: PrepareConfig) -> bool:
    """Render one mesh into the layout under ``out_root``; returns False when it was already complete.

    The shape is written into ``<out_root>/.prepare_tmp/`` and moved into place with two renames
    (camera folder first), so it is either complete or absent as far as the loaders can tell.
    """
    out_root = Path(out_root)
    image_dir, camera_dir = _shape_paths(out_root, config.synset, shape_id)
    if _is_complete(image_dir, camera_dir, config):
        return False
    mesh, norm = normalize(load_mesh(mesh_path), config.scale, config.recenter)
    rotation, elevation = sample_view_angles(shape_id, config)
    if config.renderer is Renderer.BLENDER:
        rgba = render_with_blender(
            mesh_path,
            norm.center,
            norm.factor,
            rotation,
            elevation,
            resolution=config.resolution,
            radius=config.radius,
            focal_mm=config.focal_mm,
            sensor_mm=config.sensor_mm,
            samples=config.blender_samples,
            threads=torch.get_num_threads(),
            python=config.blender_python,
        )
    else:
        rgba = render_source_mesh(mesh, rotation, elevation, config)

    tmp = out_root / _TMP / config.synset / f"{shape_id}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    try:
        _write_shape(tmp, mesh_path, norm, rotation, elevation, rgba, config)
        for final in (image_dir, camera_dir):  # leftovers of an interrupted move
            if final.exists():
                shutil.rmtree(final)
        camera_dir.parent.mkdir(parents=True, exist_ok=True)
        image_dir.parent.mkdir(parents=True, exist_ok=True)
        (tmp / "camera").rename(camera_dir)
        (tmp / "img").rename(image_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return True


def _worker(
    mesh_path: str, shape_id: str, out_root: str, config: PrepareConfig, threads: int
) -> tuple[str, bool]:
    torch.set_num_threads(threads)
    return shape_id, prepare_shape(mesh_path, shape_id, out_root, config)


def prepare_dataset(
    mesh_dir: str | Path,
    out_root: str | Path,
    config: PrepareConfig,
    *,
    workers: int = 1,
    progress: bool = True,
    ids: Sequence[str] | None = None,
    strict: bool = True,
) -> PrepareReport:
    """Render every mesh under ``mesh_dir`` into GET3D's layout under ``out_root`` (module docstring).

    Args:
        mesh_dir: folder of meshes (see :func:`get3d.data.meshes.find_meshes` for the shape ids).
        out_root: output root (``img/`` and ``camera/`` are created inside).
        config: :class:`PrepareConfig`.
        workers: processes (1 = in this process), forked on Linux, spawned elsewhere (there, call
            from under ``if __name__ == "__main__":``). Each uses ``cpu_count // workers`` threads.
        progress: show a tqdm progress bar.
        ids: render only these shape ids (all by default).
        strict: raise ``RuntimeError`` at the end when any shape failed (after the others finished).

    Raises:
        ValueError: bad arguments, or ``out_root`` holds shapes made with another number of views
            or resolution (checked before anything is rendered).

    Returns:
        :class:`PrepareReport`.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: expected a positive int, got {workers!r}")
    meshes = find_meshes(mesh_dir)
    if ids is not None:
        unknown = sorted(set(ids) - set(meshes))
        if unknown:
            raise ValueError(f"ids: {len(unknown)} ids have no mesh in {mesh_dir}: {unknown[:5]}")
        meshes = {i: meshes[i] for i in sorted(ids)}
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    # leftovers of interrupted runs of this synset (runs for other synsets may share out_root)
    shutil.rmtree(out_root / _TMP / config.synset, ignore_errors=True)
    # Complete shapes are skipped here; a shape made with other settings raises ValueError now.
    skipped = [i for i in meshes if _is_complete(*_shape_paths(out_root, config.synset, i), config)]
    meshes = {i: p for i, p in meshes.items() if i not in set(skipped)}
    rendered, failed = [], []
    bar = tqdm(total=len(meshes), desc=f"prepare {config.synset}", unit="shape", disable=not progress)
    if workers == 1:
        for shape_id, path in meshes.items():
            try:
                (rendered if prepare_shape(path, shape_id, out_root, config) else skipped).append(shape_id)
            except Exception as err:  # report every failure at the end, with its shape
                failed.append((shape_id, f"{type(err).__name__}: {err}"))
            bar.update()
    else:
        threads = max(1, (os.cpu_count() or 1) // workers)
        # fork on Linux: no re-import of the caller's __main__ (spawn would re-run an unguarded
        # script) and no start-up cost; spawn elsewhere, where fork is unsafe or missing.
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        with ProcessPoolExecutor(workers, mp_context=get_context(method)) as pool:
            futures = {
                pool.submit(_worker, str(path), shape_id, str(out_root), config, threads): shape_id
                for shape_id, path in meshes.items()
            }
            for future in as_completed(futures):
                try:
                    shape_id, done = future.result()
                    (rendered if done else skipped).append(shape_id)
                except Exception as err:
                    failed.append((futures[future], f"{type(err).__name__}: {err}"))
                bar.update()
    bar.close()
    shutil.rmtree(out_root / _TMP / config.synset, ignore_errors=True)
    if (out_root / _TMP).is_dir() and not any((out_root / _TMP).iterdir()):
        (out_root / _TMP).rmdir()
    report = PrepareReport(tuple(sorted(rendered)), tuple(sorted(skipped)), tuple(sorted(failed)))
    if strict and failed:
        lines = "\n".join(f"  {i}: {e}" for i, e in report.failed[:20])
        total = len(meshes) + len(skipped)
        raise RuntimeError(f"prepare: {len(failed)} of {total} shapes failed:\n{lines}")
    return report


def write_dataset_splits(
    out_root: str | Path,
    synset: str,
    fractions: Sequence[float] = (0.7, 0.1, 0.2),
    seed: int = 0,
    split_dir: str | Path | None = None,
) -> dict[str, Path]:
    """Write ``train/val/test.txt`` for the complete shapes of ``<out_root>/img/<synset>``.

    Files go to ``split_dir`` (default ``<out_root>/splits/<synset>``); see
    :func:`get3d.data.layout.make_splits` for the cut. Returns the written paths.
    """
    image_root = image_dir_for(out_root, synset)
    if not image_root.is_dir():
        raise ValueError(f"out_root: no image folder {image_root}")
    ids = [d.name for d in list_shape_dirs(image_root)]
    if not ids:
        raise ValueError(f"out_root: no shapes in {image_root}")
    target = Path(split_dir) if split_dir is not None else Path(out_root) / "splits" / synset
    return write_splits(target, make_splits(ids, fractions, seed))
