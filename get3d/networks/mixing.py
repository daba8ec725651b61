"""GET3D's style mixing of w's, written once: the per-sample cutoff draw and the splice of two
w stacks. :meth:`get3d.networks.Generator.map_latents_mixed` (training) and
:func:`get3d.metrics.protocol.mix_latents` (evaluation) are built on these."""

from __future__ import annotations

import torch

__all__ = ["draw_mixing_cutoffs", "splice_styles"]


def draw_mixing_cutoffs(
    num_ws: int,
    shape: tuple[int, ...],
    prob: float,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """GET3D's style-mixing cutoffs: int64 ``shape`` values, each ``k ~ U{1, ..., num_ws - 1}``
    kept where a uniform draw is ``< prob`` (float32 comparison, as GET3D), else ``num_ws`` (no
    mixing). Draws, in this order: the ``k``'s, then the uniforms (both of ``shape``)."""
    if isinstance(num_ws, bool) or not isinstance(num_ws, int) or num_ws < 2:
        raise ValueError(f"num_ws: expected an int >= 2 (layers to mix), got {num_ws!r}")
    cutoff = torch.randint(1, num_ws, shape, generator=generator, device=device)
    keep = torch.rand(shape, generator=generator, device=device) < prob
    return torch.where(keep, cutoff, torch.full_like(cutoff, num_ws))


def splice_styles(ws: torch.Tensor, other: torch.Tensor, cutoff: torch.Tensor) -> torch.Tensor:
    """Style mixing's splice: sample ``b`` of ``ws [B, L, D]`` takes layers ``cutoff[b]:`` from
    ``other [B, L, D]`` (``cutoff`` int ``[B]`` in ``1..L``; ``L`` keeps the sample unchanged).
    A selection, so values and gradients are exactly those of either input."""
    if other.shape != ws.shape:
        raise ValueError(f"other: expected the shape of ws {tuple(ws.shape)}, got {tuple(other.shape)}")
    if cutoff.shape != ws.shape[:1]:
        raise ValueError(f"cutoff: expected shape [{ws.shape[0]}], got {tuple(cutoff.shape)}")
    layers = torch.arange(ws.shape[1], device=ws.device)
    take = layers[None, :] >= cutoff.to(ws.device)[:, None]  # [B, L]
    return torch.where(take[..., None], other, ws)
