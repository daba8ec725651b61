"""A torch ``Dataset`` of multiview RGBA renders with GET3D camera conditions.

Each item is one view (GET3D trains on single views), built exactly as GET3D's loader does
(get3d_spec.md §8.2): the PNG's RGB is resized bilinearly (no antialiasing, like ``cv2.resize``)
and its alpha with nearest neighbour (``cv2.INTER_NEAREST`` = ``torch`` ``"nearest"``) to the
training resolution; ``mask = alpha > 0``; the RGB is multiplied by the mask and mapped to
[-1, 1], so the background is black (-1). The camera condition is ``c = (azimuth, polar)`` in
radians (:func:`get3d.data.cameras.camera_condition`). Loading is deterministic: items are sorted by
shape id then file name and nothing is random.

The data set is validated when it is opened (:func:`get3d.data.validate.validate_dataset`): any
problem raises :class:`get3d.data.validate.DatasetError` naming the file and field.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from render.camera import DEFAULT_RADIUS

from .cameras import WorldUp
from .layout import Layout
from .validate import ValidationReport, ViewRecord, validate_dataset

__all__ = ["MultiviewDataset", "MultiviewSample", "load_view"]


class MultiviewSample(NamedTuple):
    """One view. A ``NamedTuple`` (immutable, typed) so that the default ``DataLoader`` collates it.

    Attributes:
        image: float32 ``[3, H, W]`` RGB in [-1, 1], black (-1) where ``mask`` is 0; row 0 at the top.
        mask: float32 ``[1, H, W]`` silhouette, exactly 0 or 1.
        camera: float32 ``[2]`` GET3D's condition ``(azimuth, polar)`` in radians.
        cam2world: float32 ``[4, 4]`` camera-to-world in the OBJ frame (Y up, OpenGL camera).
    """

    image: torch.Tensor
    mask: torch.Tensor
    camera: torch.Tensor
    cam2world: torch.Tensor


def load_view(
    path: str | Path, resolution: int | None = None, antialias: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Read an RGBA PNG as GET3D's loader does.

    Args:
        path: the PNG (must have an alpha channel).
        resolution: output side ``S`` (None keeps the file's size; the image must then be square
            for a square output, but any size is returned as read).
        antialias: antialias the bilinear RGB downsampling (GET3D/cv2 does not; off by default).

    Returns:
        ``(image, mask)``: float32 ``[3, S, S]`` in [-1, 1] (RGB times mask, black background) and
        float32 ``[1, S, S]`` in {0, 1}.
    """
    path = Path(path)
    try:
        with Image.open(path) as pic:
            if not (pic.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in pic.info):
                raise ValueError(f"{path}: alpha channel: missing (mode {pic.mode}); expected an RGBA PNG")
            rgba = np.asarray(pic.convert("RGBA"))
    except (OSError, SyntaxError) as err:  # PIL's errors do not always name the file
        raise ValueError(f"{path}: file: unreadable PNG ({err})") from err
    pixels = torch.from_numpy(rgba.copy()).permute(2, 0, 1).to(torch.float32)  # [4, H, W] in [0, 255]
    rgb, alpha = pixels[:3], pixels[3:]
    if resolution is not None:
        if not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < 1:
            raise ValueError(f"resolution: expected a positive int, got {resolution!r}")
        if rgb.shape[-2:] != (resolution, resolution):
            size = (resolution, resolution)
            rgb = F.interpolate(
                rgb[None], size=size, mode="bilinear", align_corners=False, antialias=antialias
            )[0]
            alpha = F.interpolate(alpha[None], size=size, mode="nearest")[0]
    mask = (alpha > 0).to(torch.float32)
    image = (rgb * mask) / 127.5 - 1.0
    return image, mask


class MultiviewDataset(torch.utils.data.Dataset):
    """Views of a GET3D-layout or transforms-layout data set, validated on construction.

    Args:
        data_dir: folder containing the shape folders (GET3D's ``--data``: ``<root>/img/<synset>``).
        camera_root: GET3D's ``--camera_path`` (``<root>/camera``, without the synset); selects the
            GET3D layout. None: transforms layout (``<data_dir>/<id>/transforms.json``).
        resolution: training resolution ``S`` (None: the images' own size).
        split_file: optional file of shape ids, one per line.
        world_up: frame of transforms.json matrices (Blender's Z up by default).
        decode: validate by decoding every PNG (slower; default reads headers only).
        antialias: antialias RGB downsampling (GET3D does not).
        radius: camera distance of GET3D-layout cameras (used for ``cam2world``).

    Raises:
        DatasetError: when validation finds any problem (message lists them with file and field).
    """

    def __init__(
        self,
        data_dir: str | Path,
        camera_root: str | Path | None = None,
        *,
        resolution: int | None = None,
        split_file: str | Path | None = None,
        world_up: WorldUp = WorldUp.Z,
        decode: bool = False,
        antialias: bool = False,
        radius: float = DEFAULT_RADIUS,
    ) -> None:
        if resolution is not None and (
            not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < 1
        ):
            raise ValueError(f"resolution: expected a positive int or None, got {resolution!r}")
        report = validate_dataset(
            data_dir, camera_root, split_file=split_file, world_up=world_up, decode=decode, radius=radius
        )
        report.raise_for_problems()
        assert report.image_size is not None and report.records
        self.report: ValidationReport = report
        self.records: tuple[ViewRecord, ...] = report.records
        self.resolution: int = resolution if resolution is not None else report.image_size[0]
        self.antialias = antialias

    @property
    def layout(self) -> Layout:
        return self.report.layout

    @property
    def shape_ids(self) -> tuple[str, ...]:
        """Ids of the shapes, sorted."""
        return self.report.shape_ids

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> MultiviewSample:
        if not -len(self.records) <= index < len(self.records):
            raise IndexError(f"index: expected an int in [0, {len(self.records)}), got {index}")
        record = self.records[index]
        image, mask = load_view(record.image, self.resolution, self.antialias)
        camera = torch.tensor([record.azimuth, record.polar], dtype=torch.float32)
        cam2world = torch.from_numpy(record.cam2world).to(torch.float32)
        return MultiviewSample(image, mask, camera, cam2world)

    def __repr__(self) -> str:
        return (
            f"MultiviewDataset({self.layout.value}, {self.report.data_dir}, {len(self.shape_ids)} shapes, "
            f"{len(self)} views, resolution {self.resolution})"
        )
