"""GET3D's separate-generator model on a tiny configuration: 3-D blocks with known answers, w
routing, the texture field's joint w's, meshes, and the checkpoint loaders telling the models apart."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import dmtet
from get3d.networks import (
    Discriminator,
    DiscriminatorConfig,
    Generator,
    GeneratorConfig,
    Latents,
    load_generator,
    load_official_checkpoint,
)
from get3d.networks.checkpoint import _generator_config
from get3d.networks.conv3d import Conv3DSynthesisBlock, modulated_conv3d, sample_volume
from get3d.networks.separate import positional_encoding
from get3d.networks.texture_triplane import joint_texture_ws

CFG = GeneratorConfig.tiny(one_3d_generator=False)


@pytest.fixture(scope="module")
def gen():
    torch.manual_seed(0)
    return Generator(CFG)


@pytest.fixture(scope="module")
def ws(gen):
    torch.manual_seed(1)
    return gen.map_latents(torch.randn(2, CFG.z_dim), torch.randn(2, CFG.z_dim))


# ---------------------------------------------------------------- 3-D building blocks
def test_modulated_conv3d_identity_kernel_and_demodulation():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 5, 6, dtype=torch.float64)
    weight = torch.zeros(3, 3, 3, 3, 3, dtype=torch.float64)
    for c in range(3):
        weight[c, c, 1, 1, 1] = 2.0  # centre tap: each demodulated filter is the identity
    styles = torch.rand(2, 3, dtype=torch.float64) + 0.5
    y = modulated_conv3d(x, weight, styles)
    torch.testing.assert_close(y, x * (1.0 / (1.0 + 1e-8 / (4 * styles[:, :, None, None, None] ** 2))).sqrt())
    # demodulation: scaling the styles of a sample changes nothing; samples are independent
    w = torch.randn(4, 3, 3, 3, 3, dtype=torch.float64)
    a = modulated_conv3d(x, w, styles)
    torch.testing.assert_close(modulated_conv3d(x, w, styles * torch.tensor([[3.0], [0.25]])), a)
    torch.testing.assert_close(modulated_conv3d(x[1:], w, styles[1:]), a[1:])
    # each output filter has unit norm after demodulation: a single input delta gives its taps
    delta = torch.zeros(1, 3, 5, 5, 5, dtype=torch.float64)
    delta[0, 0, 2, 2, 2] = 1.0
    out = modulated_conv3d(delta, w, torch.ones(1, 3, dtype=torch.float64))
    taps = out[0, :, 1:4, 1:4, 1:4].flip((1, 2, 3))  # correlation -> the filter's channel-0 slice
    norm = w.square().sum(dim=(1, 2, 3, 4), keepdim=True).sqrt()[:, 0]
    torch.testing.assert_close(taps, (w[:, 0] / norm))
    with pytest.raises(ValueError, match="styles"):
        modulated_conv3d(x, w, styles[:, :2])
    assert torch.autograd.gradcheck(
        modulated_conv3d,
        (
            x[:, :, :3, :3, :3].clone().requires_grad_(),
            w.clone().requires_grad_(),
            styles.clone().requires_grad_(),
        ),
    )


def test_sample_volume_reproduces_a_linear_field_with_corners_at_voxel_centres():
    r = 5
    d, h, w = torch.meshgrid(*[torch.arange(r, dtype=torch.float64)] * 3, indexing="ij")
    vol = torch.stack([w + 10 * h + 100 * d, -w])[None]  # [1, 2, D, H, W]
    q = torch.rand(1, 50, 3, dtype=torch.float64) * 2 - 1
    q[0, 0] = torch.tensor([-1.0, -1.0, -1.0])
    q[0, 1] = torch.tensor([1.0, -1.0, 1.0])
    idx = (q + 1) / 2 * (r - 1)  # x -> W, y -> H, z -> D; -1 / 1 = first / last voxel centre
    out = sample_volume(vol, q)
    torch.testing.assert_close(out[..., 0], idx[..., 0] + 10 * idx[..., 1] + 100 * idx[..., 2])
    torch.testing.assert_close(out[..., 1], -idx[..., 0])
    assert out[0, 0, 0] == 0 and out[0, 1, 0] == (r - 1) + 100 * (r - 1)
    # outside the box: clamped onto the border
    torch.testing.assert_close(
        sample_volume(vol, torch.full((1, 1, 3), 3.0, dtype=torch.float64))[0, 0, 0], vol.max()
    )


def test_residual_block_composition():
    torch.manual_seed(0)
    block = Conv3DSynthesisBlock(4, 3, 5, 8).double()
    x = torch.randn(2, 4, 4, 4, 4, dtype=torch.float64)
    ws = torch.randn(2, 2, 5, dtype=torch.float64)
    up = F.interpolate(x, scale_factor=2, mode="trilinear", align_corners=False)
    skip = F.conv3d(up, block.skip.weight / math.sqrt(4)) * math.sqrt(0.5)
    h0 = F.leaky_relu(
        modulated_conv3d(up, block.conv0.weight, block.conv0.affine(ws[:, 0])), 0.2
    ) * math.sqrt(2)
    h1 = F.leaky_relu(
        modulated_conv3d(h0, block.conv1.weight, block.conv1.affine(ws[:, 1])), 0.2
    )  # gain sqrt2*sqrt.5
    torch.testing.assert_close(block(x, ws), skip + h1)
    first = Conv3DSynthesisBlock(0, 3, 5, 4)
    assert first(None, ws[:, :1].float()).shape == (2, 3, 4, 4, 4) and first.num_ws == 1


def test_positional_encoding_and_joint_ws():
    p = torch.tensor([[0.5, 0.0, -0.25]])
    s = math.sqrt(0.5)
    torch.testing.assert_close(positional_encoding(p), torch.tensor([[1.0, 0.0, -s, 0.0, 1.0, s]]))
    tex = torch.arange(2 * 4 * 2, dtype=torch.float32).reshape(2, 4, 2)
    geo = -torch.arange(2 * 2 * 2, dtype=torch.float32).reshape(2, 2, 2) - 1
    joint = joint_texture_ws(tex, geo)
    assert joint.shape == (2, 4, 4)
    torch.testing.assert_close(joint[..., :2], tex)
    torch.testing.assert_close(joint[:, :2, 2:], geo)
    torch.testing.assert_close(joint[:, 2:, 2:], geo[:, 1:].expand(-1, 2, -1))
    with pytest.raises(ValueError, match="ws_geo"):
        joint_texture_ws(geo, tex)


# ---------------------------------------------------------------- the generator
def test_shapes_and_counts(gen, ws):
    # volume blocks 4, 8 (1 + 2 w's) + SDF MLP 4 w's; triplane blocks 4, 8, 16 (2 + 3 + 3) + MLP 2
    assert gen.num_ws_geo == 3 + 4 and gen.num_ws == 8 + 2
    feats = gen.triplanes(ws, noise_mode="const")
    v, c = (
        CFG.volume_resolution,
        2 * min(CFG.volume_channel_base // CFG.volume_resolution, CFG.volume_channel_max),
    )
    assert feats.geometry.shape == (2, c, v, v, v)
    r = CFG.triplane_resolution
    assert feats.texture.shape == (2, 3 * CFG.triplane_channels, r, r)
    field = gen.query_geometry(feats, ws, torch.rand(2, 7, 3) - 0.5)
    assert field.sdf.shape == (2, 7) and field.deformation.shape == (2, 7, 3)
    assert float(field.deformation.detach().abs().max()) <= 1 / CFG.deformation_divisor + 1e-7
    assert gen.query_rgb(feats, ws, torch.rand(7, 3) - 0.5).shape == (2, 7, 3)


def test_w_routing(gen, ws):
    """Geometry w's 0..2 drive both volumes, 3..5 both MLPs, 6 only the SDF MLP (official: 0..6,
    7..9, 10); texture w's reach only the texture; the texture reads the geometry w's without
    gradient."""
    pts = torch.rand(2, 9, 3) - 0.5
    base = gen.triplanes(ws, noise_mode="const")
    f0 = gen.query_geometry(base, ws, pts)

    def moved(i: int):
        geo = ws.geo.clone()
        geo[:, i] += 1.0
        w2 = Latents(geo, ws.tex)
        p = gen.triplanes(w2, noise_mode="const")
        return p, gen.query_geometry(p, w2, pts)

    p, f = moved(6)  # last SDF-MLP w
    torch.testing.assert_close(p.geometry, base.geometry)
    torch.testing.assert_close(f.deformation, f0.deformation)
    assert not torch.allclose(f.sdf, f0.sdf)
    p, f = moved(4)  # a w of both MLPs
    torch.testing.assert_close(p.geometry, base.geometry)
    assert not torch.allclose(f.sdf, f0.sdf) and not torch.allclose(f.deformation, f0.deformation)
    p, _ = moved(0)  # a volume w: both volumes and (through the joint w's) the texture planes
    c = p.geometry.shape[1] // 2
    assert not torch.allclose(p.geometry[:, :c], base.geometry[:, :c])
    assert not torch.allclose(p.geometry[:, c:], base.geometry[:, c:])
    assert not torch.allclose(p.texture, base.texture)
    tex = ws.tex.clone()
    tex[:, 0] += 1.0
    p = gen.triplanes(Latents(ws.geo, tex), noise_mode="const")
    torch.testing.assert_close(p.geometry, base.geometry)
    assert not torch.allclose(p.texture, base.texture)
    geo = ws.geo.detach().clone().requires_grad_(True)
    w2 = Latents(geo, ws.tex.detach())
    rgb = gen.query_rgb(gen.triplanes(w2, noise_mode="const"), w2, pts)
    (g,) = torch.autograd.grad(rgb.sum(), geo, allow_unused=True)
    assert g is None or not g.any()


def test_texture_noise_is_random_by_default_as_in_get3d(gen, ws):
    with torch.no_grad():
        for name, p in gen.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.5)
    try:
        a, b = gen.triplanes(ws), gen.triplanes(ws)
        torch.testing.assert_close(a.geometry, b.geometry)  # no noise in 3-D
        assert not torch.allclose(a.texture, b.texture)
        c, d = gen.triplanes(ws, noise_mode="const"), gen.triplanes(ws, noise_mode="const")
        torch.testing.assert_close(c.texture, d.texture)
    finally:
        with torch.no_grad():
            for name, p in gen.named_parameters():
                if name.endswith("noise_strength"):
                    p.zero_()


def test_meshes_and_gradients(gen, ws):
    feats = gen.triplanes(ws)
    geometry = gen.grid_geometry(feats, ws)
    n = gen.tet_grid.vertices.shape[0]
    assert geometry.sdf.shape == (2, n) and geometry.deformation.shape == (2, n, 3)
    meshes = gen.extract_meshes(ws)
    assert len(meshes) == 2 and all(m.vertex_colors.shape == m.vertices.shape for m in meshes)
    loss = geometry.sdf.square().mean() + geometry.deformation.square().mean()
    loss.backward()
    for prefix in (
        "synthesis.geometry_synthesis_sdf.b4.const",
        "synthesis.geometry_synthesis_def.layers.0.weight",
    ):
        assert gen.get_parameter(prefix).grad.abs().sum() > 0, prefix
    gen.zero_grad(set_to_none=True)


def test_bad_configs():
    with pytest.raises(TypeError, match="one_3d_generator"):
        GeneratorConfig(one_3d_generator=0)
    with pytest.raises(ValueError, match="volume_resolution"):
        GeneratorConfig(volume_resolution=12)
    with pytest.raises(ValueError, match="volume_channel_base"):
        GeneratorConfig(volume_resolution=64, volume_channel_base=32)
    # the geometry w's are padded to the texture count, so there must be fewer of them
    import dataclasses

    with pytest.raises(ValueError, match="at least 7 texture w's"):
        Generator(dataclasses.replace(CFG, triplane_resolution=4, mlp_layers=0))


# ---------------------------------------------------------------- checkpoints
@pytest.fixture(scope="module")
def official_file(tmp_path_factory):
    """A synthetic official-format file (no stored config) of the tiny separate model."""
    torch.manual_seed(3)
    g, g_ema, d = Generator(CFG), Generator(CFG), Discriminator(DiscriminatorConfig.tiny())
    path = tmp_path_factory.mktemp("sep") / "network-snapshot-separate.pt"
    torch.save({"G": g.state_dict(), "G_ema": g_ema.state_dict(), "D": d.state_dict()}, path)
    return path, g, g_ema


def test_strict_load_of_an_official_format_file(official_file):
    path, g, g_ema = official_file
    nets = load_official_checkpoint(path, CFG, DiscriminatorConfig.tiny())
    for ours, ref in ((nets.G, g), (nets.G_ema, g_ema)):
        assert ours.config.one_3d_generator is False
        for (k, a), (_, b) in zip(ours.state_dict().items(), ref.state_dict().items(), strict=True):
            assert torch.equal(a, b), k
    loaded = load_generator(path, config=CFG)
    z = torch.randn(1, CFG.z_dim)
    ws = loaded.map_latents(z, z)
    torch.testing.assert_close(
        loaded.triplanes(ws, noise_mode="const").geometry, g_ema.triplanes(ws, noise_mode="const").geometry
    )


def test_official_defaults_are_read_from_the_keys():
    """Without a configuration, an official file's keys say which model and which resolutions."""
    grid = dmtet.TetGrid.bcc(2)
    with torch.device("meta"):
        sep = Generator(GeneratorConfig.official(one_3d_generator=False), grid).state_dict()
        uni = Generator(GeneratorConfig.official(), grid).state_dict()
    cfg = _generator_config({}, sep, "f.pt", None)
    assert cfg == GeneratorConfig.official(one_3d_generator=False)
    assert _generator_config({}, uni, "f.pt", None) == GeneratorConfig.official()
    small = {k: v for k, v in sep.items() if ".b256." not in k and ".b32." not in k}
    cfg = _generator_config({}, small, "f.pt", None)
    assert (cfg.triplane_resolution, cfg.volume_resolution, cfg.one_3d_generator) == (128, 16, False)


def test_the_wrong_model_is_a_clear_error(official_file, tmp_path):
    path = official_file[0]
    unified = GeneratorConfig.tiny()
    msg = (
        r"^config: one_3d_generator=True, but the 'G_ema' state_dict of .* holds the separate-generator model"
    )
    with pytest.raises(ValueError, match=msg):
        load_generator(path, config=unified)
    with pytest.raises(ValueError, match=r"one_3d_generator=True, but the 'G' state_dict"):
        load_official_checkpoint(path, unified, DiscriminatorConfig.tiny())
    torch.manual_seed(0)
    other = tmp_path / "unified.pt"
    torch.save({"G_ema": Generator(unified).state_dict()}, other)
    with pytest.raises(ValueError, match=r"^config: one_3d_generator=False, .* holds the unified generator"):
        load_generator(other, config=CFG)
