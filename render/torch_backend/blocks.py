"""How the eager per-pixel kernels walk an image: blocks of rows, and the rectangle of each
block that holds covered pixels.

Temporaries of a block stay small enough (``BLOCK_PIXELS`` values, 512 KiB in float32) to be
served again by the C allocator instead of being mapped afresh (a page fault per 4 KiB) on every
call, and pixels outside the covered rectangle are only zero-filled.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

__all__ = ["BLOCK_PIXELS", "covered_box", "row_blocks", "zero_outside"]

BLOCK_PIXELS = 1 << 17


def row_blocks(batch: int, height: int, width: int) -> Iterator[tuple[int, int, int]]:
    """(first row, end row, minibatch item) of blocks of about ``BLOCK_PIXELS`` pixels of the
    [B * H, W] image; a block never spans two items."""
    step = max(1, min(height, BLOCK_PIXELS // max(width, 1)))
    for b in range(batch):
        for r0 in range(b * height, (b + 1) * height, step):
            yield r0, min(r0 + step, (b + 1) * height), b


def covered_box(mask: torch.Tensor) -> tuple[int, int, int, int] | None:
    """Smallest (y0, y1, x0, x1) with every True of ``mask`` [R, W] in ``[y0:y1, x0:x1]``, or
    None when there is none."""
    rows = torch.nonzero(mask.any(1)).squeeze(1)
    if not rows.numel():
        return None
    cols = torch.nonzero(mask.any(0)).squeeze(1)
    y0, y1, x0, x1 = torch.stack([rows[0], rows[-1], cols[0], cols[-1]]).tolist()
    return y0, y1 + 1, x0, x1 + 1


def zero_outside(t: torch.Tensor, box: tuple[int, int, int, int] | None) -> None:
    """Zero ``t`` [R, W, ...] outside ``box`` (everywhere when it is None)."""
    if box is None:
        t.zero_()
        return
    y0, y1, x0, x1 = box
    t[:y0].zero_()
    t[y1:].zero_()
    t[y0:y1, :x0].zero_()
    t[y0:y1, x1:].zero_()
