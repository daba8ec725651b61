"""Style mixing has one implementation (``draw_mixing_cutoffs`` + ``splice_styles``), used by
``Generator.map_latents_mixed`` (training) and ``metrics.protocol.mix_latents`` (evaluation), and
the training step draws its cameras with ``render.camera.sample_cameras``.

The ``_old_*`` functions are the code these replaced, kept here as references: for the same seeds
the consolidated code must make the same draws in the same order and give the same latents (and
leave the random stream at the same place), so training and evaluation results do not change.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from get3d.metrics.protocol import mix_latents
from get3d.networks import Generator, GeneratorConfig, Latents
from get3d.networks.mixing import draw_mixing_cutoffs, splice_styles
from get3d.training.config import TrainConfig
from get3d.training.phases import Phase
from get3d.training.step import phase_generator, sample_fake_inputs
from render.camera import CameraDistribution, Cameras

CFG = GeneratorConfig.tiny()


@pytest.fixture(scope="module")
def G():
    torch.manual_seed(0)
    return Generator(CFG).eval()


# ------------------------------------------------------------------ the replaced implementations


def _old_map_latents_mixed(G, z_geo, z_tex, mixing_prob, truncation_psi, generator):
    ws = G.map_latents(z_geo, z_tex, truncation_psi=truncation_psi)
    mixed = []
    for mapping, z, w in ((G.mapping_geo, z_geo, ws.geo), (G.mapping, z_tex, ws.tex)):
        cutoff = int(torch.randint(1, w.shape[1], (), generator=generator))
        if float(torch.rand((), generator=generator)) >= mixing_prob:
            cutoff = w.shape[1]
        if cutoff < w.shape[1]:
            fresh = torch.randn(z.shape, generator=generator).to(z)
            other = mapping(fresh, None, truncation_psi=truncation_psi)
            w = torch.cat([w[:, :cutoff], other[:, cutoff:]], dim=1)
        mixed.append(w)
    return Latents(geo=mixed[0], tex=mixed[1])


def _old_fake_inputs(G, n, config, gen):
    z_geo = torch.randn(n, G.config.z_dim, generator=gen)
    z_tex = torch.randn(n, G.config.z_dim, generator=gen)
    ranges = CameraDistribution(config.loss.camera_distribution).ranges
    u = torch.rand(3, n, generator=gen, dtype=torch.float64)
    azimuth = ranges.azimuth_min + (ranges.azimuth_max - ranges.azimuth_min) * u[0]
    polar = ranges.polar_min + (ranges.polar_max - ranges.polar_min) * u[1]
    radius = u[2] * ranges.radius_min + (1.0 - u[2]) * ranges.radius_max
    cond = torch.stack([azimuth, polar], dim=1).float()
    cameras = Cameras.from_angles(azimuth.float(), polar.float(), radius.float())
    ws = _old_map_latents_mixed(G, z_geo, z_tex, config.loss.style_mixing_prob, 1.0, gen)
    return ws, cameras, cond


def _old_mix_latents(G, z_geo, z_tex, truncation_psi, style_mixing_prob, gen):
    def mix(ws, other, prob):
        b, layers, _ = ws.shape
        cutoff = torch.randint(1, layers, (b,), generator=gen)
        apply = torch.rand(b, generator=gen) < prob
        cutoff = torch.where(apply, cutoff, torch.full_like(cutoff, layers))
        take = torch.arange(layers)[None, :] >= cutoff[:, None]
        return torch.where(take[..., None], other, ws)

    ws = G.map_latents(z_geo, z_tex, truncation_psi=truncation_psi)
    if style_mixing_prob <= 0:
        return ws
    z2_tex = torch.randn(z_tex.shape, generator=gen).to(z_tex)
    z2_geo = torch.randn(z_geo.shape, generator=gen).to(z_geo)
    tex = mix(ws.tex, G.mapping(z2_tex, None), style_mixing_prob)
    geo = mix(ws.geo, G.mapping_geo(z2_geo, None), style_mixing_prob)
    return Latents(geo=geo, tex=tex)


def _same(a: Latents, b: Latents) -> bool:
    return torch.equal(a.geo, b.geo) and torch.equal(a.tex, b.tex)


def _next_draws_equal(g1: torch.Generator, g2: torch.Generator) -> bool:
    return torch.equal(torch.rand(8, generator=g1), torch.rand(8, generator=g2))


# ------------------------------------------------------------------ the shared core


def test_splice_takes_the_suffix_from_the_other_latents():
    ws = torch.zeros(3, 4, 2)
    other = torch.ones(3, 4, 2)
    out = splice_styles(ws, other, torch.tensor([1, 3, 4]))
    assert out[:, :, 0].tolist() == [[0, 1, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    ws.requires_grad_()
    splice_styles(ws, other, torch.tensor([2, 2, 4])).sum().backward()
    assert ws.grad[:, :, 0].tolist() == [[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1]]
    with pytest.raises(ValueError, match="cutoff"):
        splice_styles(ws, other, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="other"):
        splice_styles(ws, other[:, :3], torch.tensor([1, 2, 3]))


def test_cutoffs_are_uniform_on_1_to_L_minus_1_with_probability_prob():
    gen = torch.Generator().manual_seed(0)
    cut = draw_mixing_cutoffs(5, (20_000,), 0.9, gen)
    assert cut.dtype == torch.int64 and int(cut.min()) == 1 and int(cut.max()) == 5
    mixed = cut[cut < 5]
    assert abs(mixed.numel() / cut.numel() - 0.9) < 0.01
    counts = torch.bincount(mixed, minlength=5)[1:].float() / mixed.numel()
    assert torch.allclose(counts, torch.full((4,), 0.25), atol=0.02)
    assert (draw_mixing_cutoffs(5, (100,), 0.0, gen) == 5).all()
    assert (draw_mixing_cutoffs(5, (100,), 1.0, gen) < 5).all()
    with pytest.raises(ValueError, match="num_ws"):
        draw_mixing_cutoffs(1, (3,), 0.5, gen)


# ------------------------------------------------------------------ same draws as before


@pytest.mark.parametrize("prob", [0.0, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("psi", [1.0, 0.7])
def test_map_latents_mixed_makes_the_draws_it_made_before(G, prob, psi):
    z = torch.randn(2, 5, CFG.z_dim, generator=torch.Generator().manual_seed(9))
    for seed in range(6):
        g_new, g_old = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        new = G.map_latents_mixed(z[0], z[1], mixing_prob=prob, truncation_psi=psi, generator=g_new)
        old = _old_map_latents_mixed(G, z[0], z[1], prob, psi, g_old)
        assert _same(new, old) and _next_draws_equal(g_new, g_old)


@pytest.mark.parametrize("prob", [0.0, 0.5, 0.9, 1.0])
def test_eval_mixing_makes_the_draws_it_made_before(G, prob):
    z = torch.randn(2, 7, CFG.z_dim, generator=torch.Generator().manual_seed(3))
    for seed in range(6):
        g_new, g_old = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        new = mix_latents(G, z[0], z[1], 0.8, prob, generator=g_new)
        old = _old_mix_latents(G, z[0], z[1], 0.8, prob, g_old)
        assert _same(new, old) and _next_draws_equal(g_new, g_old)


@pytest.mark.parametrize("distribution", ["shapenet_car", "ts_animal", "renderpeople"])
@pytest.mark.parametrize("prob", [0.0, 0.9])
def test_training_fake_inputs_make_the_draws_they_made_before(G, distribution, prob):
    config = TrainConfig()
    config = dataclasses.replace(
        config,
        loss=dataclasses.replace(config.loss, camera_distribution=distribution, style_mixing_prob=prob),
    )
    for n in (1, 4):
        for seed in range(4):
            g_new, g_old = phase_generator(seed, 7, Phase.GMAIN, 1), phase_generator(seed, 7, Phase.GMAIN, 1)
            fake = sample_fake_inputs(G, n, config, g_new, torch.device("cpu"))
            ws, cameras, cond = _old_fake_inputs(G, n, config, g_old)
            assert _same(fake.ws, ws) and _next_draws_equal(g_new, g_old)
            assert torch.equal(fake.condition, cond)  # the discriminator's (azimuth, polar)
            assert torch.equal(fake.cameras.proj, cameras.proj)
            # the pose is now computed in float64 and rounded once: equal up to float32 rounding
            assert fake.cameras.world_to_cam.dtype == torch.float32
            torch.testing.assert_close(fake.cameras.world_to_cam, cameras.world_to_cam, rtol=0, atol=5e-7)
