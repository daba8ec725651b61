"""The StyleGAN2 mapping network used by GET3D's generator (z -> w) and discriminator (c -> cmap).

``z`` is normalised by its second moment, an optional label ``c`` is embedded by a linear FC
(``embed``) and normalised the same way, then ``num_layers`` lrelu FC layers with learning-rate
multiplier 0.01 (``fc0 .. fc{n-1}``) give ``w``. The generator's networks broadcast ``w`` to
``num_ws`` copies and track ``w_avg`` (EMA, beta 0.998, only when ``update_emas=True``);
truncation is ``w_avg + psi * (w - w_avg)``.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import Activation, FullyConnectedLayer, normalize_2nd_moment

__all__ = ["MappingNetwork"]


class MappingNetwork(nn.Module):
    """``forward(z [B, z_dim] | None, c [B, c_dim] | None) -> w [B, num_ws, w_dim]`` (or
    ``[B, w_dim]`` when ``num_ws`` is None).

    State: ``embed`` (when ``c_dim > 0``), ``fc0 .. fc{num_layers-1}``, and the buffer
    ``w_avg [w_dim]`` when ``num_ws`` and ``w_avg_beta`` are both set.
    """

    def __init__(
        self,
        z_dim: int,
        c_dim: int,
        w_dim: int,
        num_ws: int | None,
        num_layers: int = 8,
        embed_features: int | None = None,
        layer_features: int | None = None,
        activation: Activation | str = Activation.LRELU,
        lr_multiplier: float = 0.01,
        w_avg_beta: float | None = 0.998,
    ) -> None:
        super().__init__()
        if z_dim < 0 or c_dim < 0 or z_dim + c_dim == 0:
            raise ValueError(f"z_dim/c_dim: expected >= 0 with a positive sum, got {z_dim}, {c_dim}")
        if num_layers < 1:
            raise ValueError(f"num_layers: expected >= 1, got {num_layers}")
        self.z_dim = int(z_dim)
        self.c_dim = int(c_dim)
        self.w_dim = int(w_dim)
        self.num_ws = num_ws
        self.num_layers = int(num_layers)
        self.w_avg_beta = w_avg_beta
        embed_features = w_dim if embed_features is None else embed_features
        if c_dim == 0:
            embed_features = 0
        layer_features = w_dim if layer_features is None else layer_features
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for i in range(num_layers):
            layer = FullyConnectedLayer(
                features[i], features[i + 1], activation=activation, lr_multiplier=lr_multiplier
            )
            setattr(self, f"fc{i}", layer)
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros([w_dim]))

    @property
    def tracks_w_avg(self) -> bool:
        return self.num_ws is not None and self.w_avg_beta is not None

    def _check(self, name: str, t: torch.Tensor | None, dim: int) -> None:
        if dim == 0:
            return
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: expected a tensor [B, {dim}], got {type(t).__name__}")
        if t.ndim != 2 or t.shape[1] != dim:
            raise ValueError(f"{name}: expected shape [B, {dim}], got {tuple(t.shape)}")

    def _map(self, z: torch.Tensor | None, c: torch.Tensor | None) -> torch.Tensor:
        x = None
        if self.z_dim > 0:
            x = normalize_2nd_moment(z)
        if self.c_dim > 0:
            y = normalize_2nd_moment(self.embed(c))
            x = torch.cat([x, y], dim=1) if x is not None else y
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        return x

    def forward(
        self,
        z: torch.Tensor | None,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_emas: bool = False,
    ) -> torch.Tensor:
        self._check("z", z, self.z_dim)
        self._check("c", c, self.c_dim)
        x = self._map(z, c)
        if update_emas and self.tracks_w_avg:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is not None:
            x = x.unsqueeze(1).repeat([1, self.num_ws, 1])
        if truncation_psi != 1:
            if not self.tracks_w_avg:
                raise ValueError("truncation_psi: this mapping network tracks no w_avg to truncate to")
            if truncation_cutoff is None:
                x = self.w_avg.lerp(x, truncation_psi)
            else:
                x = x.clone()
                x[:, :truncation_cutoff] = self.w_avg.lerp(x[:, :truncation_cutoff], truncation_psi)
        return x

    @torch.no_grad()
    def update_w_avg(
        self, num_samples: int = 100_000, chunk: int = 10_000, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Overwrite ``w_avg`` with the mean w of ``num_samples`` fresh z ~ N(0, I) (GET3D does
        this before every visualisation/export). Returns the new ``w_avg [w_dim]``."""
        if not self.tracks_w_avg or self.z_dim == 0:
            raise ValueError("update_w_avg: this mapping network has no z input or no w_avg")
        if num_samples < 1:
            raise ValueError(f"num_samples: expected >= 1, got {num_samples}")
        device = self.w_avg.device
        total = torch.zeros([self.w_dim], dtype=torch.float64, device=device)
        done = 0
        while done < num_samples:
            n = min(chunk, num_samples - done)
            z = torch.randn([n, self.z_dim], device=device, generator=generator)
            c = torch.zeros([n, self.c_dim], device=device) if self.c_dim > 0 else None
            total += self._map(z, c).double().sum(dim=0)
            done += n
        self.w_avg.copy_((total / num_samples).to(self.w_avg.dtype))
        return self.w_avg.clone()
