"""Pictures of a run, drawn with PIL only: snapshot grids and training curves."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from get3d.export.images import to_uint8

__all__ = ["plot_curves", "snapshot_grid"]

_COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]


def snapshot_grid(rgb: torch.Tensor, mask: torch.Tensor) -> Image.Image:
    """A two-row picture: RGB tiles on top, silhouettes below.

    Args:
        rgb: float ``[B, 3, H, W]`` in [-1, 1], row 0 at the top.
        mask: float ``[B, 1, H, W]`` in [0, 1].
    """
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"rgb: expected [B, 3, H, W], got {tuple(rgb.shape)}")
    if (
        mask.ndim != 4
        or mask.shape[1] != 1
        or mask.shape[0] != rgb.shape[0]
        or mask.shape[2:] != rgb.shape[2:]
    ):
        raise ValueError(
            f"mask: expected [{rgb.shape[0]}, 1, {rgb.shape[2]}, {rgb.shape[3]}], got {tuple(mask.shape)}"
        )
    top = to_uint8(rgb, (-1.0, 1.0))  # [B, H, W, 3]
    bottom = to_uint8(mask.expand(-1, 3, -1, -1), (0.0, 1.0))
    grid = np.concatenate([np.concatenate(list(row), axis=1) for row in (top, bottom)], axis=0)
    return Image.fromarray(np.ascontiguousarray(grid))


def plot_curves(
    series: Mapping[str, Sequence[tuple[float, float]]],
    path: str | Path,
    title: str = "training curves",
    size: tuple[int, int] = (800, 480),
) -> Path:
    """Line plot of ``{name: [(x, y), ...]}`` (x: steps) into a PNG at ``path``; non-finite
    points are skipped. Returns the path."""
    width, height = size
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    left, right, top, bottom = 60, width - 170, 30, height - 40
    pts = {
        k: [(float(x), float(y)) for x, y in v if math.isfinite(x) and math.isfinite(y)]
        for k, v in series.items()
    }
    xs = [x for v in pts.values() for x, _ in v]
    ys = [y for v in pts.values() for _, y in v]
    draw.text((left, 8), title, fill="black", font=font)
    draw.rectangle([left, top, right, bottom], outline="black")
    if xs:
        x0, x1 = min(xs), max(xs)
        y0, y1 = min(ys), max(ys)
        if x1 == x0:
            x1 = x0 + 1
        if y1 == y0:
            y0, y1 = y0 - 0.5, y1 + 0.5

        def to_px(x: float, y: float) -> tuple[float, float]:
            return (
                left + (x - x0) / (x1 - x0) * (right - left),
                bottom - (y - y0) / (y1 - y0) * (bottom - top),
            )

        for i in range(5):
            fy = y0 + (y1 - y0) * i / 4
            py = to_px(x0, fy)[1]
            draw.line([left - 4, py, left, py], fill="black")
            draw.text((4, py - 6), f"{fy:.3g}", fill="black", font=font)
            fx = x0 + (x1 - x0) * i / 4
            px = to_px(fx, y0)[0]
            draw.line([px, bottom, px, bottom + 4], fill="black")
            draw.text((px - 10, bottom + 8), f"{fx:.0f}", fill="black", font=font)
        draw.text(((left + right) // 2 - 10, height - 16), "step", fill="black", font=font)
        for i, (name, v) in enumerate(pts.items()):
            color = _COLORS[i % len(_COLORS)]
            if len(v) > 1:
                draw.line([to_px(x, y) for x, y in v], fill=color, width=2)
            elif v:
                px, py = to_px(*v[0])
                draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=color)
            ly = top + 14 * i
            draw.line([right + 10, ly + 6, right + 30, ly + 6], fill=color, width=2)
            draw.text((right + 34, ly), name, fill="black", font=font)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path
