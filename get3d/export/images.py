"""Image files: tensors to PNG, image grids and animated GIFs, written atomically.

Inputs are the library's image tensors: float ``[3, H, W]`` / ``[B, 3, H, W]`` RGB in [-1, 1]
(``value_range=(-1, 1)``) or [0, 1], **row 0 at the top** (rendered images already are; textures
are flipped by their writers).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from get3d.atomic import atomic_files

__all__ = ["image_grid", "to_uint8", "write_gif", "write_png"]


def to_uint8(images: Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """``[..., C, H, W]`` float in ``value_range`` -> ``[..., H, W, C]`` uint8 (clamped, rounded)."""
    if not isinstance(images, Tensor) or not images.is_floating_point() or images.dim() < 3:
        raise TypeError("images: expected a float tensor [..., C, H, W]")
    lo, hi = value_range
    if not hi > lo:
        raise ValueError(f"value_range: expected (low, high) with high > low, got {value_range!r}")
    x = ((images.detach().float() - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0
    return x.round().to(torch.uint8).movedim(-3, -1).cpu().numpy()


def image_grid(images: Tensor, rows: int, cols: int, *, pad: int = 0) -> Tensor:
    """Tile ``[rows * cols, C, H, W]`` images row-major into one ``[C, rows*H + .., cols*W + ..]``."""
    if not isinstance(images, Tensor) or images.dim() != 4:
        raise ValueError(f"images: expected [N, C, H, W], got {getattr(images, 'shape', type(images))}")
    if images.shape[0] != rows * cols:
        raise ValueError(f"rows, cols: expected rows * cols == {images.shape[0]} images, got {rows} x {cols}")
    n, c, h, w = images.shape
    out = images.new_zeros(c, rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad)
    for k in range(n):
        r, q = divmod(k, cols)
        out[:, r * (h + pad) : r * (h + pad) + h, q * (w + pad) : q * (w + pad) + w] = images[k]
    return out


def write_png(
    path: str | os.PathLike, image: Tensor | np.ndarray, value_range: tuple[float, float] = (-1.0, 1.0)
) -> Path:
    """Write ``[C, H, W]`` float (C = 1, 3 or 4) or ``[H, W, C]`` uint8 to a PNG, atomically."""
    arr = to_uint8(image, value_range) if isinstance(image, Tensor) else np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ValueError(f"image: expected [C, H, W] float or [H, W, C] uint8, got {arr.shape} {arr.dtype}")
    pil = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
    with atomic_files([path]) as (tmp,):
        pil.save(tmp, format="PNG")
    return Path(path)


def write_gif(
    path: str | os.PathLike,
    frames: Tensor | Sequence[Tensor],
    *,
    fps: float = 12.0,
    value_range: tuple[float, float] = (-1.0, 1.0),
    loop: bool = True,
) -> Path:
    """Write ``[N, 3, H, W]`` frames as an animated GIF (adaptive palette), atomically."""
    stack = torch.stack(list(frames)) if not isinstance(frames, Tensor) else frames
    if stack.dim() != 4 or stack.shape[0] < 1:
        raise ValueError(f"frames: expected [N, C, H, W] with N >= 1, got {tuple(stack.shape)}")
    if not fps > 0:
        raise ValueError(f"fps: expected a positive number, got {fps!r}")
    arr = to_uint8(stack[:, :3], value_range)
    pils = [Image.fromarray(a) for a in arr]
    with atomic_files([path]) as (tmp,):
        pils[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=pils[1:],
            duration=max(1, round(1000.0 / fps)),
            loop=0 if loop else 1,
            disposal=2,
        )
    return Path(path)
