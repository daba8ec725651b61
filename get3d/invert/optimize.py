"""The latent optimisation shared by image and mesh inversion.

The free variables are the generator's intermediate latents of **one** shape, either in **W**
(one w per stream, broadcast to every layer: ``[1, 1, w_dim]`` each) or in **W+** (one w per
layer: ``[1, num_ws_geo, w_dim]`` and ``[1, num_ws, w_dim]``). They start at the truncation
centre ``w_avg`` of each mapping network, or at the best of ``candidates`` mapped random z's
when that scores a lower loss (a cheap search without gradients that keeps the optimisation out of
poor basins), or at given :class:`Latents`; they are optimised with
Adam, the learning rate ramped up over the first 5 % of the steps and down with a cosine over the
last 25 % (StyleGAN2's projector schedule). Every loss adds
``w_avg_weight * mean_layers |w - w_avg|^2 / sigma^2``, where ``sigma^2`` is the mean squared
distance of mapped w's from ``w_avg`` (estimated from ``w_stat_samples`` seeded z's), so the
regulariser is about 1 for a typical sample whatever the model's size.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

import torch
from torch import Tensor

from get3d.networks import Generator, Latents

__all__ = ["InversionConfig", "InversionResult", "LatentSpace", "optimize_latents", "w_statistics"]


class LatentSpace(str, Enum):
    """Where the latents are optimised: ``W`` (one w per stream) or ``W_PLUS`` (one per layer)."""

    W = "w"
    W_PLUS = "w+"


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")


def _non_negative(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")


@dataclass(frozen=True)
class InversionConfig:
    """Settings of :func:`get3d.invert.from_images` and :func:`get3d.invert.from_mesh`.

    Attributes:
        space: :class:`LatentSpace` (or ``"w"`` / ``"w+"``).
        steps: Adam steps.
        lr: peak learning rate of the w's.
        silhouette_weight: weight of the mask MSE (antialiased render vs target coverage).
        rgb_weight: weight of the L1 between the composited render and the target (RGB in [-1, 1]).
        chamfer_weight: weight of the squared Chamfer distance (meshes only), in units of the
            object box side (distances are divided by ``dmtet_scale``).
        w_avg_weight: weight of the regulariser towards ``w_avg``.
        views: cameras of the mesh's target silhouettes (meshes only).
        resolution: image side of the mesh's target silhouettes (meshes only; images keep theirs).
        points: surface points per Chamfer evaluation (meshes only).
        w_stat_samples: z draws estimating ``sigma^2`` of the regulariser.
        candidates: random starting points scored (with ``w_avg``) before the optimisation;
            0 starts at ``w_avg``. Ignored when ``init`` is given.
        seed: seeds the z draws and the surface sampling.
    """

    space: LatentSpace | str = LatentSpace.W_PLUS
    steps: int = 100
    lr: float = 0.05
    silhouette_weight: float = 1.0
    rgb_weight: float = 0.5
    chamfer_weight: float = 10.0
    w_avg_weight: float = 0.01
    views: int = 8
    resolution: int = 64
    points: int = 2000
    w_stat_samples: int = 1000
    candidates: int = 16
    seed: int = 0

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "space", LatentSpace(self.space))
        except ValueError:
            raise ValueError(f"space: expected 'w' or 'w+', got {self.space!r}") from None
        for name in ("steps", "views", "points", "w_stat_samples"):
            _positive_int(name, getattr(self, name))
        _positive_int("resolution", self.resolution)
        if isinstance(self.candidates, bool) or not isinstance(self.candidates, int) or self.candidates < 0:
            raise ValueError(f"candidates: expected an int >= 0, got {self.candidates!r}")
        if self.resolution < 8:
            raise ValueError(f"resolution: expected at least 8, got {self.resolution}")
        for name in ("silhouette_weight", "rgb_weight", "chamfer_weight", "w_avg_weight"):
            _non_negative(name, getattr(self, name))
        _non_negative("lr", self.lr)
        if self.lr == 0:
            raise ValueError("lr: expected a positive learning rate, got 0")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed: expected an int, got {self.seed!r}")


@dataclass(frozen=True)
class InversionResult:
    """What an inversion found.

    Attributes:
        latents: the optimised :class:`Latents` of one shape (``geo [1, num_ws_geo, w_dim]``,
            ``tex [1, num_ws, w_dim]``, detached, on the generator's device), ready for
            ``G.render`` / :func:`get3d.sampling.export_sample`. In ``W`` every layer holds the same w.
        space: where they were optimised.
        history: per loss term (``"total"``, ``"silhouette"``, ``"rgb"``, ``"chamfer"``,
            ``"w_avg"``, ``"empty"``; only those used), one float per step.
        seconds: wall-clock time of the optimisation.
    """

    latents: Latents
    space: LatentSpace
    history: dict[str, tuple[float, ...]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        return len(self.history.get("total", ()))

    @property
    def final_loss(self) -> float:
        """The total loss of the last step (nan before any step)."""
        total = self.history.get("total", ())
        return total[-1] if total else math.nan


@dataclass(frozen=True)
class WStatistics:
    """Per stream: the truncation centre ``w_avg [w_dim]`` and ``sigma^2 = E |w - w_avg|^2``."""

    geo_avg: Tensor
    tex_avg: Tensor
    geo_var: float
    tex_var: float


@torch.no_grad()
def w_statistics(G: Generator, samples: int = 1000, seed: int = 0) -> WStatistics:
    """``w_avg`` of both mapping networks and the spread of mapped w's around it (seeded z's)."""
    _positive_int("samples", samples)
    weight = G.mapping.fc0.weight
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    z = torch.randn(samples, G.config.z_dim, generator=gen).to(weight)
    stats = []
    for mapping in (G.mapping_geo, G.mapping):
        w = mapping(z, None)[:, 0]
        avg = mapping.w_avg.detach().clone()
        stats.append((avg, float(((w - avg) ** 2).sum(-1).mean().clamp_min(1e-12))))
    return WStatistics(stats[0][0], stats[1][0], stats[0][1], stats[1][1])


@torch.no_grad()
def _search(
    G: Generator,
    stats: WStatistics,
    loss_fn: Callable[[Latents, int], dict[str, Tensor]],
    config: InversionConfig,
) -> list[Tensor]:
    """``[geo [1, 1, D], tex [1, 1, D]]``: ``w_avg`` or the mapped random z's of lowest loss."""
    if config.candidates == 0:
        return [stats.geo_avg[None, None], stats.tex_avg[None, None]]
    weight = G.mapping.fc0.weight
    gen = torch.Generator(device="cpu").manual_seed(int(config.seed) + 1)
    z = torch.randn(2, config.candidates, G.config.z_dim, generator=gen).to(weight)
    geo = torch.cat([stats.geo_avg[None], G.mapping_geo(z[0], None)[:, 0]])  # [1 + N, D]
    tex = torch.cat([stats.tex_avg[None], G.mapping(z[1], None)[:, 0]])
    best, best_loss = 0, math.inf
    for i in range(geo.shape[0]):
        ws = Latents(geo[i].expand(1, G.num_ws_geo, -1), tex[i].expand(1, G.num_ws, -1))
        loss = float(torch.stack([t.reshape(()) for t in loss_fn(ws, -1).values()]).sum())
        loss += config.w_avg_weight * (
            float(((geo[i] - stats.geo_avg) ** 2).sum()) / stats.geo_var
            + float(((tex[i] - stats.tex_avg) ** 2).sum()) / stats.tex_var
        )
        if loss < best_loss:
            best, best_loss = i, loss
    return [geo[best][None, None], tex[best][None, None]]


def _initial(
    G: Generator,
    stats: WStatistics,
    init: Latents | None,
    space: LatentSpace,
    search: Callable[[], list[Tensor]],
) -> list[Tensor]:
    shapes = ((G.num_ws_geo, stats.geo_avg), (G.num_ws, stats.tex_avg))
    if init is None:
        starts = [w.expand(1, layers, -1) for (layers, _), w in zip(shapes, search(), strict=True)]
    else:
        if not isinstance(init, Latents):
            raise TypeError(f"init: expected Latents (or None), got {type(init).__name__}")
        if init.batch_size != 1:
            raise ValueError(f"init: expected the latents of one shape (batch 1), got {init.batch_size}")
        G._check_latents(init)
        starts = [init.geo.detach(), init.tex.detach()]
    weight = G.mapping.fc0.weight
    starts = [s.to(weight) for s in starts]
    if space is LatentSpace.W:
        starts = [s.mean(dim=1, keepdim=True) for s in starts]
    return [s.clone().requires_grad_(True) for s in starts]


def _as_latents(G: Generator, params: list[Tensor]) -> Latents:
    geo, tex = params
    return Latents(geo=geo.expand(1, G.num_ws_geo, -1), tex=tex.expand(1, G.num_ws, -1))


def _lr_factor(step: int, steps: int) -> float:
    t = step / max(steps, 1)
    ramp_down = min(1.0, (1.0 - t) / 0.25)
    ramp_down = 0.5 - 0.5 * math.cos(ramp_down * math.pi)
    return ramp_down * min(1.0, t / 0.05 + 1.0 / max(steps, 1))


def optimize_latents(
    G: Generator,
    loss_fn: Callable[[Latents, int], dict[str, Tensor]],
    config: InversionConfig,
    *,
    init: Latents | None = None,
    progress: bool = True,
    desc: str = "invert",
) -> InversionResult:
    """Minimise ``sum(loss_fn(latents, step).values()) + w_avg regulariser`` over the latents.

    ``loss_fn`` returns the weighted loss terms (scalars) of one step; the generator's own
    parameters are not changed (their gradients are not even computed).
    """
    stats = w_statistics(G, config.w_stat_samples, config.seed)
    frozen = [p for p in G.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    start = time.perf_counter()
    try:
        return _run(G, loss_fn, config, init, stats, progress, desc, start)
    finally:
        for p in frozen:
            p.requires_grad_(True)


def _run(
    G: Generator,
    loss_fn: Callable[[Latents, int], dict[str, Tensor]],
    config: InversionConfig,
    init: Latents | None,
    stats: WStatistics,
    progress: bool,
    desc: str,
    start: float,
) -> InversionResult:
    from tqdm.auto import tqdm

    params = _initial(G, stats, init, config.space, lambda: _search(G, stats, loss_fn, config))
    optimizer = torch.optim.Adam(params, lr=config.lr, betas=(0.9, 0.999))
    history: dict[str, list[float]] = {}
    bar = tqdm(range(config.steps), desc=desc, disable=not progress, leave=False)
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = config.lr * _lr_factor(step, config.steps)
        ws = _as_latents(G, params)
        terms = dict(loss_fn(ws, step))
        reg = ((params[0] - stats.geo_avg) ** 2).sum(-1).mean() / stats.geo_var
        reg = reg + ((params[1] - stats.tex_avg) ** 2).sum(-1).mean() / stats.tex_var
        terms["w_avg"] = config.w_avg_weight * reg
        total = torch.stack([t.reshape(()) for t in terms.values()]).sum()
        if not torch.isfinite(total):
            raise FloatingPointError(f"invert: the loss became {float(total)} at step {step}")
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        for name, value in (("total", total), *terms.items()):
            history.setdefault(name, []).append(float(value.detach()))
        bar.set_postfix(loss=f"{history['total'][-1]:.4f}", refresh=False)
    seconds = time.perf_counter() - start
    final = _as_latents(G, [p.detach() for p in params])
    latents = Latents(geo=final.geo.contiguous(), tex=final.tex.contiguous())
    return InversionResult(
        latents=latents,
        space=config.space,
        history={k: tuple(v) for k, v in history.items()},
        seconds=seconds,
    )
