"""Target views for reconstruction: images, masks and the cameras that took them.

Three sources:

* :func:`load_views`: one shape of a data set folder in GET3D's layout (``<root>/img/<synset>/<id>``
  + ``<root>/camera/<synset>/<id>``) or the transforms layout, read with
  :class:`get3d.data.MultiviewDataset` (validated; masks are ``alpha > 0``).
* :func:`views_from_mesh`: a mesh file rendered on the fly by
  :func:`get3d.data.prepare.render_source_mesh`
  (normalised, lit and supersampled exactly as ``prepare`` writes data sets; masks are the
  supersampled coverage).
* :func:`render_target_views`: a mesh given as tensors with per-vertex colours, rendered by
  :func:`render.render_mesh` with the reconstruction's own image model (unlit, antialiased).

Images follow docs/conventions.md: NCHW, row 0 at the top, RGB in [-1, 1] with a black (-1)
background, masks in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from get3d.data import MultiviewDataset
from get3d.data.cameras import camera_condition
from get3d.data.meshes import SourceMesh, load_mesh, normalize
from get3d.data.prepare import PrepareConfig, render_source_mesh, sample_view_angles
from render import antialias, interpolate
from render.backend import BackendLike, as_context
from render.camera import Cameras
from render.mesh import render_mesh

__all__ = ["Views", "load_views", "render_target_views", "views_from_mesh"]


@dataclass(frozen=True, eq=False)
class Views:
    """``B`` target views of one object.

    Attributes:
        images: float [B, 3, H, W] RGB in [-1, 1], -1 (black) on the background; row 0 at the top.
        masks: float [B, 1, H, W] coverage in [0, 1].
        cameras: the ``B`` cameras (:class:`render.Cameras`, OBJ frame, GET3D's projection).
    """

    images: torch.Tensor
    masks: torch.Tensor
    cameras: Cameras

    def __post_init__(self) -> None:
        if not isinstance(self.images, torch.Tensor) or not self.images.is_floating_point():
            raise TypeError(f"images: expected a float tensor [B, 3, H, W], got {type(self.images).__name__}")
        if self.images.dim() != 4 or self.images.shape[1] != 3 or self.images.shape[0] == 0:
            raise ValueError(
                f"images: expected shape [B, 3, H, W] with B >= 1, got {tuple(self.images.shape)}"
            )
        b, _, h, w = self.images.shape
        if not isinstance(self.masks, torch.Tensor) or self.masks.shape != (b, 1, h, w):
            shape = (
                tuple(self.masks.shape) if isinstance(self.masks, torch.Tensor) else type(self.masks).__name__
            )
            raise ValueError(f"masks: expected shape {(b, 1, h, w)} to match images, got {shape}")
        if not isinstance(self.cameras, Cameras) or len(self.cameras) != b:
            raise ValueError(
                f"cameras: expected render.Cameras with {b} entries (one per image), got {self.cameras!r}"
            )
        if self.masks.device != self.images.device or self.cameras.device != self.images.device:
            raise ValueError("images, masks, cameras: expected one device for all three")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def resolution(self) -> tuple[int, int]:
        """``(H, W)``."""
        return int(self.images.shape[2]), int(self.images.shape[3])

    def subset(self, index: torch.Tensor | list[int] | slice) -> Views:
        """The views at ``index`` (a slice, a list of ints or an int64 tensor)."""
        if isinstance(index, list):
            index = torch.tensor(index, dtype=torch.int64, device=self.images.device)
        return Views(self.images[index], self.masks[index], self.cameras[index])

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Views:
        """A copy on ``device`` with floating-point ``dtype``."""
        return Views(
            self.images.to(device=device, dtype=dtype),
            self.masks.to(device=device, dtype=dtype),
            self.cameras.to(device=device, dtype=dtype),
        )


def _resolve_layout(path: Path, synset: str | None, camera_root: Path | None) -> tuple[Path, Path | None]:
    """(data_dir, camera_root) for MultiviewDataset from a root or an image folder."""
    if (path / "img").is_dir():
        synsets = sorted(
            d.name for d in (path / "img").iterdir() if d.is_dir() and not d.name.startswith(".")
        )
        if synset is None:
            if len(synsets) != 1:
                raise ValueError(f"synset: {path}/img holds {len(synsets)} synsets {synsets[:8]}; name one")
            synset = synsets[0]
        elif synset not in synsets:
            raise ValueError(f"synset: expected one of {synsets[:8]} under {path}/img, got {synset!r}")
        if camera_root is None and (path / "camera" / synset).is_dir():
            camera_root = path / "camera"
        return path / "img" / synset, camera_root
    if synset is not None:
        raise ValueError(
            f"synset: only meaningful for a data set root holding img/, got {synset!r} with {path}"
        )
    return path, camera_root


def load_views(
    path: str | Path,
    shape_id: str | None = None,
    *,
    synset: str | None = None,
    camera_root: str | Path | None = None,
    resolution: int | None = None,
) -> Views:
    """All views of one shape of a data set folder.

    Args:
        path: a data set root holding ``img/<synset>/`` (and ``camera/<synset>/``, GET3D's layout;
            without it the ``transforms.json`` files are read), or a folder of shape folders
            (GET3D's ``--data``; give ``camera_root`` for the GET3D layout).
        shape_id: the shape folder's name; may be omitted when there is exactly one shape.
        synset: category folder under ``img/`` when the root holds several.
        camera_root: GET3D's ``--camera_path`` (``<root>/camera``); found automatically for a root.
        resolution: resize the views to ``resolution``² (GET3D's loader: bilinear RGB, nearest
            alpha); None keeps the files' size.

    Returns:
        :class:`Views` on the CPU, float32, in view order.

    Raises:
        get3d.data.DatasetError: the folder fails validation (names the file and field).
        ValueError: unknown ``shape_id`` or ``synset``, or a missing choice between several.
    """
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"path: expected a data set folder, got {str(root)!r} (not a directory)")
    data_dir, cameras_dir = _resolve_layout(root, synset, None if camera_root is None else Path(camera_root))
    dataset = MultiviewDataset(data_dir, cameras_dir, resolution=resolution)
    ids = dataset.shape_ids
    if shape_id is None:
        if len(ids) != 1:
            raise ValueError(f"shape_id: {data_dir} holds {len(ids)} shapes (e.g. {list(ids[:5])}); name one")
        shape_id = ids[0]
    elif shape_id not in ids:
        raise ValueError(
            f"shape_id: expected one of the shapes in {data_dir} (e.g. {list(ids[:5])}), got {shape_id!r}"
        )
    picked = [i for i, record in enumerate(dataset.records) if record.shape_id == shape_id]
    samples = [dataset[i] for i in picked]
    fovy = torch.tensor([dataset.records[i].fovy for i in picked], dtype=torch.float32)
    cam2world = torch.stack([s.cam2world for s in samples])
    return Views(
        images=torch.stack([s.image for s in samples]),
        masks=torch.stack([s.mask for s in samples]),
        cameras=Cameras.from_cam_to_world(cam2world, fovy),
    )


def views_from_mesh(
    mesh: str | Path | SourceMesh,
    views: int = 24,
    *,
    resolution: int = 128,
    scale: float = 0.9,
    seed: int = 0,
    shape_id: str = "mesh",
    config: PrepareConfig | None = None,
) -> tuple[Views, SourceMesh]:
    """Render a mesh the way :mod:`get3d.data.prepare` does, without writing files.

    Args:
        mesh: a mesh file (any format :func:`get3d.data.meshes.load_mesh` reads) or a loaded
            :class:`get3d.data.meshes.SourceMesh`.
        views, resolution, scale, seed: prepare's settings (views per shape, image side, longest
            side of the normalised mesh, camera seed); ignored when ``config`` is given.
        shape_id: combined with the seed to draw the cameras, as prepare does per shape.
        config: a full :class:`get3d.data.prepare.PrepareConfig` (lens, light, elevation range...).

    Returns:
        ``(views, normalised_mesh)``: the views (float32, CPU; mask = supersampled coverage, RGB
        un-premultiplied then blacked out where the mask is 0) and the normalised mesh they show,
        the ground truth in the views' frame.
    """
    if config is None:
        config = PrepareConfig(resolution=resolution, views=views, scale=scale, seed=seed)
    elif not isinstance(config, PrepareConfig):
        raise TypeError(f"config: expected a get3d.data.prepare.PrepareConfig, got {type(config).__name__}")
    source = mesh if isinstance(mesh, SourceMesh) else load_mesh(mesh)
    normalised, _ = normalize(source, config.scale, config.recenter)
    rotation, elevation = sample_view_angles(shape_id, config)
    rgba = (
        torch.from_numpy(render_source_mesh(normalised, rotation, elevation, config)).to(torch.float32)
        / 255.0
    )
    rgba = rgba.permute(0, 3, 1, 2)
    mask = rgba[:, 3:4]
    image = torch.where(mask > 0, rgba[:, :3] * 2.0 - 1.0, torch.full_like(rgba[:, :3], -1.0))
    azimuth, polar = camera_condition(rotation, elevation)
    cameras = Cameras.from_angles(
        torch.from_numpy(np.asarray(azimuth)).float(),
        torch.from_numpy(np.asarray(polar)).float(),
        config.radius,
        config.fovy,
    )
    return Views(image.contiguous(), mask.contiguous(), cameras), normalised


def render_target_views(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    cameras: Cameras,
    resolution: int,
    vertex_colors: torch.Tensor | None = None,
    *,
    backend: BackendLike = "auto",
) -> Views:
    """Render a mesh with per-vertex colours, unlit and antialiased (the reconstruction's image model).

    Args:
        vertices: float [V, 3] world positions (OBJ frame).
        faces: int [F, 3].
        cameras: ``B`` cameras.
        resolution: image side ``S``.
        vertex_colors: float [V, 3] RGB in [-1, 1] (None: mid grey 0).
        backend: the rasterizer context for all four ops, or a backend name.

    Returns:
        :class:`Views` with the antialiased mask as ``masks`` and the antialiased colour over a
        black background as ``images`` (no gradient).
    """
    if vertex_colors is None:
        vertex_colors = torch.zeros_like(vertices)
    if vertex_colors.shape != vertices.shape:
        raise ValueError(
            f"vertex_colors: expected shape {tuple(vertices.shape)} (one RGB per vertex), "
            f"got {tuple(vertex_colors.shape)}"
        )
    ctx = as_context(backend, vertices.device)
    with torch.no_grad():
        out = render_mesh(vertices, faces, cameras, resolution, backend=ctx)
        colour, _ = interpolate(vertex_colors.to(vertices).contiguous(), out.rast, out.tri, backend=ctx)
        hard = out.mask.permute(0, 2, 3, 1)
        rgb = colour * hard - (1.0 - hard)
        rgb = antialias(rgb.contiguous(), out.rast, out.pos_clip, out.tri, backend=ctx)
    return Views(
        rgb.permute(0, 3, 1, 2).contiguous(),
        out.antialiased_mask.contiguous(),
        cameras.to(vertices.device, vertices.dtype),
    )
