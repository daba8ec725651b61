"""One training step's phases as functions of the networks, the inputs and a random stream.

All randomness of a step (latents, style mixing, cameras) comes from counter-based generators
(:func:`phase_generator`) seeded by ``(seed, step, phase, micro-batch index)``, and the real
images from a pure function of the image counter (:class:`RealSchedule`). A step is therefore
the same whatever the number of processes, and a resumed run needs no stream positions.
Every loss is scaled by ``micro-batch / global batch`` before ``backward`` so that the summed
gradient is the gradient of the global-batch mean.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from get3d.networks import Discriminator, Generator, Latents
from render.backend import BackendLike
from render.camera import Cameras, sample_cameras

from .config import TrainConfig
from .losses import (
    discriminator_loss,
    flexicubes_regularization,
    generator_adversarial_loss,
    r1_penalty,
    sdf_regularization,
)
from .phases import Phase

__all__ = [
    "FakeInputs",
    "RealSchedule",
    "phase_generator",
    "run_d_main",
    "run_d_reg",
    "run_g_main",
    "sample_fake_inputs",
]


def phase_generator(seed: int, step: int, phase: Phase, micro: int) -> torch.Generator:
    """A CPU ``torch.Generator`` for micro-batch ``micro`` of ``phase`` at ``step``."""
    index = list(Phase).index(phase)
    state = np.random.SeedSequence([seed, step, index, micro]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


@dataclass(frozen=True)
class FakeInputs:
    """Latents (style-mixed), cameras and their condition ``[n, 2]`` (azimuth, polar) for ``n`` fakes."""

    ws: Latents
    cameras: Cameras
    condition: torch.Tensor


def sample_fake_inputs(
    G: Generator, n: int, config: TrainConfig, gen: torch.Generator, device: torch.device
) -> FakeInputs:
    """Draw, all from ``gen`` (CPU) and in this order: ``z_geo, z_tex`` (N(0, I)), cameras from the
    training distribution (:func:`render.camera.sample_cameras`, in float64), and GET3D's style
    mixing (:meth:`Generator.map_latents_mixed`); the results are moved to ``device`` and the
    parameters' dtype. The condition is the cameras' (azimuth, polar)."""
    z_dim = G.config.z_dim
    z_geo = torch.randn(n, z_dim, generator=gen).to(device)
    z_tex = torch.randn(n, z_dim, generator=gen).to(device)
    cameras = sample_cameras(n, config.loss.camera_distribution, generator=gen, dtype=torch.float64)
    dtype = G.mapping.fc0.weight.dtype
    cond = cameras.condition().to(device, dtype)
    ws = G.map_latents_mixed(z_geo, z_tex, mixing_prob=config.loss.style_mixing_prob, generator=gen)
    return FakeInputs(ws, cameras.to(device, dtype), cond)


class RealSchedule:
    """Which data set items the real batch of a step holds: image ``i`` of the run (counting from
    0 over all steps) is item ``perm_e[i mod N]`` of epoch ``e = i // N``'s permutation, drawn
    from ``seed`` and ``e``. A pure function of the counter, so resuming needs only the step."""

    def __init__(self, size: int, batch: int, seed: int) -> None:
        if size < 1:
            raise ValueError(f"size: expected a non-empty data set, got {size} items")
        self.size, self.batch, self.seed = size, batch, seed
        self._perms: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._perms:
            if len(self._perms) > 2:
                self._perms.clear()
            state = np.random.SeedSequence([self.seed, 7, epoch]).generate_state(2, dtype=np.uint32)
            gen = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
            self._perms[epoch] = torch.randperm(self.size, generator=gen)
        return self._perms[epoch]

    def indices(self, step: int) -> list[int]:
        """The ``batch`` item indices of ``step``'s real batch."""
        start = step * self.batch
        return [int(self._perm(i // self.size)[i % self.size]) for i in range(start, start + self.batch)]


def _autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    if not enabled or device.type == "cpu":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def run_g_main(
    G: Generator,
    D: Discriminator,
    fake: FakeInputs,
    config: TrainConfig,
    scale: float,
    *,
    backend: BackendLike = "auto",
) -> dict[str, float]:
    """Generator phase on one micro-batch: adversarial losses on both branches + SDF sign
    cross-entropy + empty-shape term (+ FlexiCubes' ``L_dev`` and weight terms for a FlexiCubes
    generator); backward of ``scale * loss``; returns scaled stats.
    ``backend`` is the run's rasterizer context (``render.make_context``)."""
    device = fake.condition.device
    with _autocast(device, config.bf16):
        out = G.render(fake.ws, fake.cameras, backend=backend)
        logits = D(out.image, fake.condition)
    adv_rgb, adv_mask = generator_adversarial_loss(logits)
    sign, empty = sdf_regularization(out.geometry.sdf, out.geometry.sdf_reg, G.grid.edges)
    loss = (
        (adv_rgb + adv_mask).float().mean()
        + config.loss.sdf_reg_weight * sign
        + config.loss.empty_reg_weight * empty
    )
    flexi: dict[str, float] = {}
    if out.geometry.weights is not None:
        dev, weights = flexicubes_regularization([m.l_dev for m in out.meshes], out.geometry.weights)
        loss = (
            loss
            + config.loss.flexicubes_surface_reg_weight * dev.float()
            + config.loss.flexicubes_weights_reg_weight * weights.float()
        )
        flexi = {
            "G/flexicubes_dev": float(dev.detach()) * scale,
            "G/flexicubes_weights": float(weights.detach()) * scale,
        }
    (loss * scale).backward()
    return flexi | {
        "G/loss": float(loss.detach()) * scale,
        "G/adv_rgb": float(adv_rgb.detach().mean()) * scale,
        "G/adv_mask": float(adv_mask.detach().mean()) * scale,
        "G/sdf_sign": float(sign.detach()) * scale,
        "G/empty": float(empty.detach()) * scale,
        "G/empty_frac": float(out.geometry.empty.float().mean()) * scale,
        "G/mask_mean": float(out.mask.detach().mean()) * scale,
        "D/fake_rgb_G": float(logits.rgb.detach().mean()) * scale,
    }


def run_d_main(
    G: Generator,
    D: Discriminator,
    fake: FakeInputs,
    real_image: torch.Tensor,
    real_condition: torch.Tensor,
    config: TrainConfig,
    scale: float,
    *,
    backend: BackendLike = "auto",
) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
    """Discriminator phase on one micro-batch (fakes rendered without gradient, with the run's
    rasterizer context ``backend``). Returns the scaled stats and the sums of the fakes' first
    geometry and texture w (for ``w_avg``)."""
    device = real_image.device
    with torch.no_grad(), _autocast(device, config.bf16):
        image = G.render(fake.ws, fake.cameras, backend=backend).image
    with _autocast(device, config.bf16):
        fake_logits = D(image.detach(), fake.condition)
        real_logits = D(real_image, real_condition)
    l_rgb, l_mask = discriminator_loss(fake_logits, real_logits)
    loss = (l_rgb + l_mask).float().mean()
    (loss * scale).backward()
    stats = {
        "D/loss": float(loss.detach()) * scale,
        "D/loss_rgb": float(l_rgb.detach().mean()) * scale,
        "D/loss_mask": float(l_mask.detach().mean()) * scale,
        "D/real_rgb": float(real_logits.rgb.detach().mean()) * scale,
        "D/real_mask": float(real_logits.mask.detach().mean()) * scale,
        "D/fake_rgb": float(fake_logits.rgb.detach().mean()) * scale,
        "D/fake_mask": float(fake_logits.mask.detach().mean()) * scale,
    }
    return stats, fake.ws.geo[:, 0].detach().sum(0), fake.ws.tex[:, 0].detach().sum(0)


def run_d_reg(
    D: Discriminator,
    real_image: torch.Tensor,
    real_condition: torch.Tensor,
    config: TrainConfig,
    scale: float,
) -> dict[str, float]:
    """Lazy R1 on one real micro-batch, multiplied by ``d_reg_interval``; returns scaled stats."""
    terms = r1_penalty(D, real_image, real_condition, config.loss.gamma, config.loss.gamma_mask)
    loss = terms.penalty.mean() * config.loss.d_reg_interval
    (loss * scale).backward()
    return {
        "D/r1": float(terms.penalty.detach().mean()) * scale,
        "D/r1_grad_rgb": float(terms.grad_norm_rgb.mean()) * scale,
        "D/r1_grad_mask": float(terms.grad_norm_mask.mean()) * scale,
    }
