"""The discriminator pair: branch separation, camera encoding, projection, R1 double backward."""

from __future__ import annotations

import math

import pytest
import torch

from get3d.networks.config import DiscriminatorConfig
from get3d.networks.discriminator import Discriminator, DiscriminatorLogits, encode_camera
from get3d.networks.fir import downsample2d


@pytest.fixture(scope="module")
def disc():
    torch.manual_seed(0)
    d = Discriminator(DiscriminatorConfig.tiny())
    with torch.no_grad():  # non-trivial biases so that every path matters
        for name, p in d.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.1)
    return d


def test_camera_encoding_order():
    a, b = 0.3, 1.1
    got = encode_camera(torch.tensor([[a, b]]))[0]
    want = []
    for k in range(3):
        f = 2.0**k
        want += [math.sin(f * a), math.sin(f * b), math.cos(f * a), math.cos(f * b)]
    want += [a, b]
    torch.testing.assert_close(got, torch.tensor(want))
    assert DiscriminatorConfig().camera_dim == 14


def test_shapes_and_branch_separation(disc):
    torch.manual_seed(1)
    img = torch.randn(4, 4, 32, 32)
    c = torch.rand(4, 2)
    out = disc(img, c)
    assert isinstance(out, DiscriminatorLogits)
    assert out.rgb.shape == (4, 1) and out.mask.shape == (4, 1)
    img2 = img.clone()
    img2[:, 3] += 1.0  # silhouette only
    out2 = disc(img2, c)
    torch.testing.assert_close(out2.rgb, out.rgb)
    assert not torch.allclose(out2.mask, out.mask)
    img3 = img.clone()
    img3[:, :3] += 1.0  # colour only
    out3 = disc(img3, c)
    torch.testing.assert_close(out3.mask, out.mask)
    assert not torch.allclose(out3.rgb, out.rgb)
    assert not torch.allclose(disc(img, c + 0.5).rgb, out.rgb)  # camera conditioning matters


def test_branch_composition_by_hand(disc):
    torch.manual_seed(2)
    img = torch.randn(2, 4, 32, 32)
    c = torch.rand(2, 2)
    x, rgb = None, img[:, :3]
    for r in (32, 16, 8):
        blk = getattr(disc, f"b{r}")
        y = blk.fromrgb(rgb)
        x = y if x is None else x + y
        x = blk.conv1(blk.conv0(x))
        rgb = downsample2d(rgb, blk.resample_filter)
    ep = disc.b4
    h = ep.conv(ep.mbstd(x + ep.fromrgb(rgb)))
    h = ep.out(ep.fc(h.flatten(1)))
    cmap = disc.mapping(None, encode_camera(c))
    want = (h * cmap).sum(1, keepdim=True) / math.sqrt(cmap.shape[1])
    torch.testing.assert_close(disc(img, c).rgb, want)


def test_r1_double_backward(disc):
    img = torch.randn(2, 4, 32, 32, requires_grad=True)
    c = torch.rand(2, 2)
    out = disc(img, c)
    (g,) = torch.autograd.grad(out.rgb.sum() + out.mask.sum(), img, create_graph=True)
    penalty = g.square().sum()
    penalty.backward()
    assert disc.b32.conv0.weight.grad is not None and disc.mask_b32.conv0.weight.grad is not None
    disc.zero_grad(set_to_none=True)


def test_bad_inputs(disc):
    with pytest.raises(ValueError, match="img"):
        disc(torch.zeros(2, 3, 32, 32), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="img"):
        disc(torch.zeros(2, 4, 16, 16), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="c:"):
        disc(torch.zeros(2, 4, 32, 32), torch.zeros(2, 3))
    with pytest.raises(TypeError, match="config"):
        Discriminator({"image_resolution": 32})
    with pytest.raises(ValueError, match="image_resolution"):
        DiscriminatorConfig(image_resolution=48)
