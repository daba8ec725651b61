"""Optimisers, the generator EMA and gradient sanitising (spec §7.2).

* :func:`lazy_adam`: Adam with GET3D's values and the lazy-regularisation correction: for a
  regulariser every ``I`` steps, ``lr *= I / (I + 1)`` and ``beta ** (I / (I + 1))`` (G: I = 4,
  D: I = 16, so lr 0.0016 / beta2 0.99199 and lr 0.0018824 / beta2 0.99059).
* :func:`ema_beta` and :func:`update_ema`: G_ema with GET3D's half-life ``ema_kimg`` and ramp-up.
* :func:`sanitize_gradients`: NaN -> 0 and +-Inf -> +-``nan_to`` in place, counting the bad entries.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

__all__ = ["ema_beta", "lazy_adam", "lazy_correction", "sanitize_gradients", "update_ema"]


def lazy_correction(
    lr: float, betas: tuple[float, float], reg_interval: int | None
) -> tuple[float, tuple[float, float]]:
    """``(lr * r, (b1 ** r, b2 ** r))`` with ``r = I / (I + 1)`` (identity for ``reg_interval`` None)."""
    if reg_interval is None:
        return lr, betas
    if isinstance(reg_interval, bool) or not isinstance(reg_interval, int) or reg_interval < 1:
        raise ValueError(f"reg_interval: expected a positive int or None, got {reg_interval!r}")
    ratio = reg_interval / (reg_interval + 1)
    return lr * ratio, (betas[0] ** ratio, betas[1] ** ratio)


def lazy_adam(
    params: Iterable[nn.Parameter],
    lr: float,
    betas: tuple[float, float],
    eps: float,
    reg_interval: int | None,
) -> torch.optim.Adam:
    """Adam with the lazy-regularisation correction applied to ``lr`` and ``betas``."""
    lr, betas = lazy_correction(lr, betas, reg_interval)
    return torch.optim.Adam(params, lr=lr, betas=betas, eps=eps)


def ema_beta(batch: int, images_seen: int, ema_kimg: float, rampup: float | None) -> float:
    """GET3D's EMA decay for one step of ``batch`` images: ``0.5 ** (batch / ema_nimg)`` with
    ``ema_nimg = min(ema_kimg * 1000, rampup * images_seen)`` (no ramp-up when ``rampup`` is None)."""
    ema_nimg = ema_kimg * 1000
    if rampup is not None:
        ema_nimg = min(ema_nimg, images_seen * rampup)
    return 0.5 ** (batch / max(ema_nimg, 1e-8))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, beta: float) -> None:
    """``p_ema = p + (p_ema - p) * beta`` for every parameter; buffers copied as-is."""
    for p_ema, p in zip(ema.parameters(), model.parameters(), strict=True):
        p_ema.copy_(p.detach().lerp(p_ema, beta))
    for b_ema, b in zip(ema.buffers(), model.buffers(), strict=True):
        b_ema.copy_(b.detach())


@torch.no_grad()
def sanitize_gradients(params: Iterable[nn.Parameter], nan_to: float = 1e5) -> int:
    """Replace NaN gradients by 0 and +-Inf by +-``nan_to`` in place; return how many entries
    were non-finite (0 for a healthy step). Parameters without a gradient are skipped."""
    bad = 0
    for p in params:
        if p.grad is None:
            continue
        finite = torch.isfinite(p.grad)
        if not bool(finite.all()):
            bad += int((~finite).sum())
            p.grad.nan_to_num_(nan=0.0, posinf=nan_to, neginf=-nan_to)
    return bad
