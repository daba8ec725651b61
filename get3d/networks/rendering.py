"""Rendering of generated shapes, GET3D's way (get3d_spec.md §3.5, §5.3).

Per sample: rasterise the extracted mesh from its camera (``render.render_mesh``), gather the
world positions of the foreground pixels (``hard mask > 0.5``), query the texture field there,
scatter the features back into an image whose background features are 0, and convert with the
final ToRGB, so the background colour is the ToRGB bias. The output image is
``[RGB | antialiased mask]``. The texture query detaches the positions and the hard mask has no
gradient, so the only route from the image to the geometry (SDF, deformation) is the
antialiased silhouette.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

import dmtet
from render.backend import BackendLike
from render.camera import Cameras
from render.mesh import render_mesh

from .outputs import GridGeometry

__all__ = ["GeneratorOutput", "gather_foreground", "render_textured"]


@dataclass(frozen=True)
class GeneratorOutput:
    """A rendered batch.

    Attributes:
        image: float ``[B * n_views, 4, H, W]`` = RGB in about [-1, 1] and the antialiased mask in [0, 1],
            row 0 at the top (what the discriminator sees).
        rgb: float ``[B, 3, H, W]`` (= ``image[:, :3]``).
        mask: float ``[B, 1, H, W]`` antialiased silhouette (= ``image[:, 3:]``); differentiable
            w.r.t. the mesh vertices.
        hard_mask: float ``[B, 1, H, W]`` in {0, 1}; no gradient.
        geometry: the grid geometry the meshes came from (carries ``sdf_reg``).
        meshes: the ``B`` extracted meshes (one per sample, not per view): ``dmtet.SurfaceMesh``
            (DMTet) or ``dmtet.FlexiCubesMesh`` (FlexiCubes, with its ``l_dev``).
    """

    image: torch.Tensor
    rgb: torch.Tensor
    mask: torch.Tensor
    hard_mask: torch.Tensor
    geometry: GridGeometry
    meshes: list[dmtet.SurfaceMesh] | list[dmtet.FlexiCubesMesh]


def gather_foreground(
    values: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Foreground pixels first, in raster order, zero-padded to the batch maximum.

    Args:
        values: float ``[B, C, H, W]``.
        mask: ``[B, 1, H, W]``; a pixel is foreground when ``mask > 0.5``.

    Returns:
        ``(gathered [B, P, C], index [B, P] int64 pixel ids, valid [B, P] bool)`` with
        ``P = max_b count_b``; padded rows are 0 and ``valid`` False.
    """
    b, c = values.shape[:2]
    fg = mask.reshape(b, -1) > 0.5
    counts = fg.sum(dim=1)
    p = int(counts.max()) if b > 0 else 0
    index = torch.argsort((~fg).to(torch.int8), dim=1, stable=True)[:, :p]
    valid = torch.arange(p, device=values.device)[None, :] < counts[:, None]
    flat = values.reshape(b, c, -1).transpose(1, 2)  # [B, HW, C]
    gathered = torch.gather(flat, 1, index[..., None].expand(-1, -1, c)) * valid[..., None]
    return gathered, index, valid


def render_textured(
    meshes: Sequence[dmtet.SurfaceMesh] | Sequence[dmtet.FlexiCubesMesh],
    cameras: Cameras,
    resolution: int,
    texture_fn: Callable[[torch.Tensor], torch.Tensor],
    to_rgb: Callable[[torch.Tensor], torch.Tensor],
    feat_channels: int,
    *,
    backend: BackendLike = "auto",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Render ``B`` meshes from ``B`` cameras with a texture field.

    Args:
        meshes: ``B`` meshes (world frame).
        cameras: ``B`` cameras; mesh ``b`` is seen from camera ``b``.
        resolution: image side ``H = W``.
        texture_fn: ``[B, P, 3]`` world points -> ``[B, P, feat_channels]`` features.
        to_rgb: ``[B, feat_channels, H, W]`` -> ``[B, 3, H, W]``.
        backend: the process's rasterizer context (``render.make_context``), or a backend name.

    Returns:
        ``(rgb [B, 3, H, W], antialiased mask [B, 1, H, W], hard mask [B, 1, H, W])``.
    """
    if len(meshes) != cameras.batch_size:
        raise ValueError(
            f"cameras: expected {len(meshes)} cameras (one per sample), got {cameras.batch_size}"
        )
    out = render_mesh(
        [m.vertices for m in meshes],
        [m.faces for m in meshes],
        cameras,
        resolution,
        backend=backend,
        antialias=True,
    )
    hard = out.mask
    b, _, h, w = hard.shape
    points, index, valid = gather_foreground(out.position, hard)
    feat = texture_fn(points) * valid[..., None]  # [B, P, F]
    image = feat.new_zeros(b, h * w, feat_channels)
    image = image.scatter(1, index[..., None].expand(-1, -1, feat_channels), feat)
    image = image.transpose(1, 2).reshape(b, feat_channels, h, w) * hard
    return to_rgb(image), out.antialiased_mask, hard
