"""Latent interpolation: geometry only, texture only, or both, and GET3D's geometry x texture grid.

GET3D interpolates **linearly in w** (after mapping and truncation, psi = 0.7) between consecutive
codes and renders a 10 x 10 grid (geometry along rows, texture along columns) from turntable view
4 (get3d_spec.md §9.3). Its steps are ``t = 1 - (k + 1) / 10`` and so miss one endpoint; here
``t_k = k / (steps - 1)``, so the first and last steps are exactly the two samples. Interpolating
in z with spherical interpolation (``space=LatentSpace.Z``) is also offered: the codes are
slerped, then mapped and truncated.
"""

from __future__ import annotations

from enum import Enum

import torch
from torch import Tensor

from get3d.networks import Generator, Latents

__all__ = [
    "InterpolationMode",
    "LatentSpace",
    "interpolate_latents",
    "interpolation_grid",
    "lerp",
    "slerp",
    "steps_t",
]


class InterpolationMode(Enum):
    """What changes along an interpolation."""

    GEOMETRY = "geometry"
    TEXTURE = "texture"
    BOTH = "both"


class LatentSpace(Enum):
    """Where the interpolation happens: linear in w (GET3D) or spherical in z."""

    W = "w"
    Z = "z"


def steps_t(
    steps: int, *, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> Tensor:
    """``[steps]`` interpolation weights ``k / (steps - 1)`` from 0 to 1 (``steps >= 2``)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps: expected an int >= 2, got {steps!r}")
    return torch.linspace(0.0, 1.0, steps, dtype=dtype, device=device)


def lerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """``(1 - t) a + t b`` for ``a, b [...]`` and ``t [S]`` -> ``[S, ...]`` (t = 0 gives ``a``)."""
    if a.shape != b.shape:
        raise ValueError(f"a, b: expected equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    tt = t.to(a).reshape(-1, *([1] * a.dim()))
    return a.unsqueeze(0) * (1.0 - tt) + b.unsqueeze(0) * tt


def slerp(a: Tensor, b: Tensor, t: Tensor, eps: float = 1e-7) -> Tensor:
    """Spherical interpolation over the last dimension: ``a, b [..., D]``, ``t [S]`` -> ``[S, ..., D]``.

    Follows the great circle between the directions of ``a`` and ``b`` and interpolates their
    norms linearly; falls back to :func:`lerp` where the two are (anti)parallel within ``eps``.
    """
    if a.shape != b.shape:
        raise ValueError(f"a, b: expected equal shapes, got {tuple(a.shape)} and {tuple(b.shape)}")
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    ua, ub = a / na.clamp_min(eps), b / nb.clamp_min(eps)
    cos = (ua * ub).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    tt = t.to(a).reshape(-1, *([1] * a.dim()))
    wa = torch.sin((1.0 - tt) * omega) / sin.clamp_min(eps)
    wb = torch.sin(tt * omega) / sin.clamp_min(eps)
    direction = wa * ua + wb * ub
    norm = (1.0 - tt) * na + tt * nb
    spherical = direction * norm
    return torch.where(sin > eps, spherical, lerp(a, b, t))


def _check_codes(G: Generator, name: str, z: Tensor) -> Tensor:
    if not isinstance(z, Tensor) or not z.is_floating_point():
        raise TypeError(f"{name}: expected a float tensor [z_dim], got {type(z).__name__}")
    z = z.reshape(-1) if z.dim() == 2 and z.shape[0] == 1 else z
    if z.shape != (G.config.z_dim,):
        raise ValueError(f"{name}: expected shape [{G.config.z_dim}], got {tuple(z.shape)}")
    return z.to(G.mapping.fc0.weight)


def _path(
    G: Generator, mapping: torch.nn.Module, za: Tensor, zb: Tensor, t: Tensor, psi: float, space: LatentSpace
) -> Tensor:
    """``[S, num_ws, w_dim]`` per-layer latents along the path from ``za`` to ``zb``."""
    with torch.no_grad():
        if space is LatentSpace.Z:
            return mapping(slerp(za, zb, t), None, truncation_psi=psi)
        ends = mapping(torch.stack([za, zb]), None, truncation_psi=psi)
        return lerp(ends[0], ends[1], t)


def interpolate_latents(
    G: Generator,
    z_geo: tuple[Tensor, Tensor],
    z_tex: tuple[Tensor, Tensor],
    steps: int = 10,
    *,
    mode: InterpolationMode | str = InterpolationMode.BOTH,
    space: LatentSpace | str = LatentSpace.W,
    psi: float = 0.7,
) -> Latents:
    """Latents of a ``steps``-long path between sample A and sample B.

    Args:
        z_geo, z_tex: ``(z_A, z_B)`` codes ``[z_dim]`` of the two samples.
        mode: ``geometry`` (texture stays A's), ``texture`` (geometry stays A's) or ``both``.
        space: ``w`` (linear after mapping, GET3D) or ``z`` (slerp before mapping).
        psi: truncation.

    Returns:
        :class:`Latents` with batch ``steps``; step 0 is A, step ``steps - 1`` is B (in the
        interpolated streams).
    """
    mode, space = InterpolationMode(mode), LatentSpace(space)
    t = steps_t(steps, device=G.mapping.fc0.weight.device)
    ga, gb = (_check_codes(G, "z_geo", z) for z in z_geo)
    ta, tb = (_check_codes(G, "z_tex", z) for z in z_tex)
    if mode is InterpolationMode.TEXTURE:
        gb = ga
    if mode is InterpolationMode.GEOMETRY:
        tb = ta
    geo = _path(G, G.mapping_geo, ga, gb, t, psi, space)
    tex = _path(G, G.mapping, ta, tb, t, psi, space)
    return Latents(geo=geo, tex=tex)


def interpolation_grid(
    G: Generator,
    z_geo: tuple[Tensor, Tensor],
    z_tex: tuple[Tensor, Tensor],
    steps: int = 10,
    *,
    space: LatentSpace | str = LatentSpace.W,
    psi: float = 0.7,
) -> Latents:
    """GET3D's geometry x texture grid: ``steps * steps`` latents, row-major; row ``i`` holds
    geometry step ``i``, column ``j`` texture step ``j`` (cell ``i * steps + j``)."""
    space = LatentSpace(space)
    t = steps_t(steps, device=G.mapping.fc0.weight.device)
    ga, gb = (_check_codes(G, "z_geo", z) for z in z_geo)
    ta, tb = (_check_codes(G, "z_tex", z) for z in z_tex)
    geo = _path(G, G.mapping_geo, ga, gb, t, psi, space)
    tex = _path(G, G.mapping, ta, tb, t, psi, space)
    return Latents(geo=geo.repeat_interleave(steps, dim=0), tex=tex.repeat(steps, 1, 1))
