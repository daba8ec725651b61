"""Tests of get3d.export.images.to_uint8, the one float-image -> uint8 conversion of the library."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from get3d.export.images import to_uint8
from get3d.export.mesh import TexturedMesh


def test_to_uint8_values_rounding_clamping_and_layout():
    # [1, 2, 1, 3]: channel 0 and channel 1 of a 1 x 3 image
    x = torch.tensor([[[[-1.0, 0.0, 1.0]], [[-2.0, 0.5, 3.0]]]])
    out = to_uint8(x)
    assert out.dtype == np.uint8 and out.shape == (1, 1, 3, 2)  # channels last
    # (x + 1) * 127.5 rounded half to even: 0 -> 127.5 -> 128, 0.5 -> 191.25 -> 191; clamped outside
    assert out[0, 0].tolist() == [[0, 0], [128, 191], [255, 255]]
    unit = to_uint8(torch.tensor([[[0.0, 0.5, 1.0, 1.5, -0.1]]]), (0.0, 1.0))
    assert unit[..., 0].tolist() == [[0, 128, 255, 255, 0]]
    assert to_uint8(torch.tensor([[[0.002]]], dtype=torch.float64), (0.0, 1.0)).item() == 1  # 0.51 -> 1


def test_to_uint8_errors():
    with pytest.raises(TypeError, match="images"):
        to_uint8(torch.zeros(3, 2, 2, dtype=torch.uint8))
    with pytest.raises(ValueError, match="value_range"):
        to_uint8(torch.zeros(3, 2, 2), (1.0, 1.0))


def test_texture_image_is_flipped_into_image_order():
    texture = torch.zeros(3, 2, 1)
    texture[:, 0] = 1.0  # texture row 0 (v = 0) white, row 1 black
    v = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    f = torch.tensor([[0, 1, 2]])
    mesh = TexturedMesh(v, f, torch.tensor([[0.0, 0.0, 1.0]] * 3), v[:, :2], f, torch.arange(3), texture)
    image = mesh.texture_image_uint8()
    assert image.dtype == torch.uint8 and image.shape == (2, 1, 3) and image.is_contiguous()
    assert image[:, 0, 0].tolist() == [0, 255]  # v = 0 is the bottom row of the image
