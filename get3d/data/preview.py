"""Contact sheets of multiview data sets: a quick look at what training will see."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .layout import list_shape_dirs, list_view_images

__all__ = ["contact_sheet"]


def contact_sheet(
    data_dir: str | Path,
    shapes: int = 4,
    views: int = 4,
    tile: int = 128,
    background: tuple[int, int, int] = (255, 255, 255),
) -> Image.Image:
    """A grid of the first ``views`` views (columns) of the first ``shapes`` shapes (rows).

    Args:
        data_dir: folder of shape folders (``<root>/img/<synset>``).
        shapes, views: grid size (fewer when the data set has fewer).
        tile: side of each cell in pixels.
        background: RGB composited under the alpha channel.

    Returns:
        An RGB image of ``rows * tile`` by ``views * tile`` pixels.
    """
    shape_dirs = list_shape_dirs(data_dir)[:shapes]
    if not shape_dirs:
        raise ValueError(f"data_dir: no shape folders in {data_dir}")
    rows = []
    for shape_dir in shape_dirs:
        cells = []
        for path in list_view_images(shape_dir)[:views]:
            with Image.open(path) as pic:
                rgba = pic.convert("RGBA").resize((tile, tile), Image.Resampling.BILINEAR)
            canvas = Image.new("RGB", (tile, tile), background)
            canvas.paste(rgba, mask=rgba.getchannel("A"))
            cells.append(np.asarray(canvas))
        cells += [np.full((tile, tile, 3), background, np.uint8)] * (views - len(cells))
        rows.append(np.concatenate(cells, axis=1))
    return Image.fromarray(np.concatenate(rows, axis=0))
