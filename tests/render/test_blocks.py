"""Row blocks, covered rectangles and output allocation of the eager per-pixel kernels."""

from __future__ import annotations

import torch

from render.torch_backend.alloc import empty_output
from render.torch_backend.blocks import BLOCK_PIXELS, covered_box, row_blocks, zero_outside


def test_row_blocks_tile_every_item_without_spanning_two():
    for batch, height, width in ((1, 1024, 1024), (3, 7, 5), (2, 300, 1 << 18), (1, 1, 1)):
        blocks = list(row_blocks(batch, height, width))
        rows = [r for r0, r1, _ in blocks for r in range(r0, r1)]
        assert rows == list(range(batch * height))
        for r0, r1, b in blocks:
            assert b * height <= r0 < r1 <= (b + 1) * height
            assert (r1 - r0) * width <= max(BLOCK_PIXELS, width)


def test_covered_box_and_zero_outside():
    mask = torch.zeros(6, 9, dtype=torch.bool)
    assert covered_box(mask) is None
    mask[2, 3] = mask[4, 7] = True
    assert covered_box(mask) == (2, 5, 3, 8)
    t = torch.ones(6, 9, 2)
    zero_outside(t, (2, 5, 3, 8))
    expect = torch.zeros(6, 9, 2)
    expect[2:5, 3:8] = 1
    assert torch.equal(t, expect)
    zero_outside(t, None)
    assert not t.any()


def test_empty_output_shapes_dtypes_and_devices():
    big = empty_output((1 << 18, 4), torch.float32, torch.device("cpu"))  # 4 MiB: through NumPy
    small = empty_output((3, 4), torch.float64, torch.device("cpu"))
    bf16 = empty_output((1 << 20,), torch.bfloat16, torch.device("cpu"))  # no NumPy dtype
    keys = empty_output((1 << 18,), torch.int64, torch.device("cpu"))
    for t, shape, dtype in (
        (big, (1 << 18, 4), torch.float32),
        (small, (3, 4), torch.float64),
        (bf16, (1 << 20,), torch.bfloat16),
        (keys, (1 << 18,), torch.int64),
    ):
        assert t.shape == shape and t.dtype == dtype and t.is_contiguous() and t.device.type == "cpu"
    big.fill_(2.0)
    assert float(big.sum()) == 2.0 * big.numel()
