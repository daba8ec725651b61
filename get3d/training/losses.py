"""GET3D's training losses as pure functions (spec §7.1, §4.3).

``softplus(x) = log(1 + e^x)``. Non-saturating logistic losses on both discriminator branches:

* generator: ``softplus(-D_rgb(fake)) + softplus(-D_mask(fake))`` per sample;
* discriminator: ``softplus(D(fake)) + softplus(-D(real))`` on both branches, per sample;
* R1: ``gamma / 2 * |d D_rgb(x) / dx|^2 + gamma_mask / 2 * |d D_mask(x) / dx|^2`` per real sample,
  gradients taken w.r.t. the full 4-channel image (squared norm over C, H, W);
* SDF regularisers: ``weight * dmtet.sdf_sign_reg`` over the grid's unique edges, plus the mean of
  the empty-shape ``|sdf|`` term;
* FlexiCubes regularisers (spec §4.4): the mean of ``L_dev`` over every (dual vertex, crossing
  edge) pair of the batch's meshes, and the mean square of the per-cube weights.

Every function returns per-sample ``[B]`` tensors or scalars; callers weight and reduce.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

import dmtet
from get3d.networks.discriminator import DiscriminatorLogits

__all__ = [
    "R1Terms",
    "discriminator_loss",
    "flexicubes_regularization",
    "generator_adversarial_loss",
    "r1_penalty",
    "sdf_regularization",
]


def _logit(name: str, x: object) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor [B, 1], got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != 1:
        raise ValueError(f"{name}: expected shape [B, 1], got {tuple(x.shape)}")
    return x[:, 0]


def _check_logits(name: str, logits: object) -> DiscriminatorLogits:
    if not isinstance(logits, DiscriminatorLogits):
        raise TypeError(f"{name}: expected DiscriminatorLogits, got {type(logits).__name__}")
    return logits


def generator_adversarial_loss(fake: DiscriminatorLogits) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-saturating G loss ``(softplus(-rgb), softplus(-mask))``, each float ``[B]``."""
    fake = _check_logits("fake", fake)
    return F.softplus(-_logit("fake.rgb", fake.rgb)), F.softplus(-_logit("fake.mask", fake.mask))


def discriminator_loss(
    fake: DiscriminatorLogits | None, real: DiscriminatorLogits | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logistic D loss ``(rgb, mask)``, each float ``[B]``: ``softplus(fake) + softplus(-real)``
    on each branch (either side may be None when computed in separate passes)."""
    if fake is None and real is None:
        raise ValueError("fake, real: expected at least one set of logits, got None twice")
    terms_rgb, terms_mask = [], []
    if fake is not None:
        fake = _check_logits("fake", fake)
        terms_rgb.append(F.softplus(_logit("fake.rgb", fake.rgb)))
        terms_mask.append(F.softplus(_logit("fake.mask", fake.mask)))
    if real is not None:
        real = _check_logits("real", real)
        terms_rgb.append(F.softplus(-_logit("real.rgb", real.rgb)))
        terms_mask.append(F.softplus(-_logit("real.mask", real.mask)))
    return sum(terms_rgb), sum(terms_mask)


@dataclass(frozen=True)
class R1Terms:
    """R1 on a real batch.

    Attributes:
        penalty: float ``[B]`` ``gamma/2 |grad_rgb|^2 + gamma_mask/2 |grad_mask|^2`` (differentiable
            w.r.t. D's parameters).
        grad_norm_rgb, grad_norm_mask: float ``[B]`` squared gradient norms (detached, for logs).
        logits: the real logits of the pass (so Dreal and R1 can share it).
    """

    penalty: torch.Tensor
    grad_norm_rgb: torch.Tensor
    grad_norm_mask: torch.Tensor
    logits: DiscriminatorLogits


def r1_penalty(
    discriminator: Callable[[torch.Tensor, torch.Tensor], DiscriminatorLogits],
    real_image: torch.Tensor,
    camera: torch.Tensor,
    gamma: float,
    gamma_mask: float | None = None,
) -> R1Terms:
    """R1 gradient penalty of both branches on real images.

    Args:
        discriminator: ``D(img [B, 4, H, W], c [B, 2]) -> DiscriminatorLogits``.
        real_image: float ``[B, 4, H, W]`` (RGB in [-1, 1] + mask in {0, 1}); not modified.
        camera: float ``[B, 2]`` (azimuth, polar) radians.
        gamma, gamma_mask: R1 weights (``gamma_mask`` None means ``gamma``).
    """
    if not isinstance(real_image, torch.Tensor) or real_image.ndim != 4 or real_image.shape[1] != 4:
        raise ValueError(
            f"real_image: expected [B, 4, H, W], got {getattr(real_image, 'shape', real_image)!r}"
        )
    gamma_mask = gamma if gamma_mask is None else gamma_mask
    x = real_image.detach().requires_grad_(True)
    logits = discriminator(x, camera)
    (grad_rgb,) = torch.autograd.grad(logits.rgb.sum(), x, create_graph=True)
    (grad_mask,) = torch.autograd.grad(logits.mask.sum(), x, create_graph=True)
    norm_rgb = grad_rgb.square().sum(dim=(1, 2, 3))
    norm_mask = grad_mask.square().sum(dim=(1, 2, 3))
    penalty = norm_rgb * (gamma / 2) + norm_mask * (gamma_mask / 2)
    return R1Terms(penalty, norm_rgb.detach(), norm_mask.detach(), logits)


def sdf_regularization(
    sdf: torch.Tensor, sdf_reg: torch.Tensor, edges: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sign cross-entropy, empty-shape term)``, both float scalars (unweighted).

    Args:
        sdf: float ``[B, N]`` grid SDF after the empty-shape fix (``GridGeometry.sdf``).
        sdf_reg: float ``[B]`` ``mean |sdf|`` of empty samples, 0 otherwise (``GridGeometry.sdf_reg``).
        edges: int64 ``[E, 2]`` unique grid edges (``TetGrid.edges``).
    """
    return dmtet.sdf_sign_reg(sdf, edges), sdf_reg.mean()


def flexicubes_regularization(
    l_dev: Sequence[torch.Tensor], weights: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean L_dev, mean weight^2)``, both float scalars (unweighted; GET3D weighs them 0.5 and
    0.1).

    Args:
        l_dev: per sample, float ``[P_b]`` deviations of its mesh (``dmtet.FlexiCubesMesh.l_dev``);
            the mean runs over all pairs of the batch together, as GET3D concatenates them. No pair
            at all (every mesh empty) gives 0 (GET3D's mean of nothing would be NaN).
        weights: float ``[B, K, 21]`` per-cube weights (``GridGeometry.weights``).
    """
    if not isinstance(weights, torch.Tensor) or weights.ndim != 3 or weights.shape[-1] != 21:
        raise ValueError(f"weights: expected a tensor [B, K, 21], got {getattr(weights, 'shape', weights)!r}")
    dev = torch.cat([d.reshape(-1) for d in l_dev]) if len(l_dev) else weights.new_zeros(0)
    dev_mean = dev.mean() if dev.numel() else weights.new_zeros(())
    return dev_mean, weights.square().mean()
