"""Modulated fully connected layers and the modulated MLP (GET3D's implicit synthesis network).

A modulated FC layer applies, per sample, the weight ``W * s`` (styles ``s = affine(w)`` scale
the input features) demodulated per output row, to a set of points ``x [B, P, C_in]``; then
bias + activation along the last dimension. No equalised-lr gain (demodulation normalises the
scale), no noise, no clamp. The MLP stacks ``n_layers`` lrelu layers and one linear output layer
and consumes ``n_layers + 1`` w's: layer ``i`` uses ``ws[:, i]``.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import Activation, FullyConnectedLayer, _activation, bias_act

__all__ = ["ModulatedFC", "ModulatedMLP", "modulated_fc"]


def modulated_fc(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """``y[b] = x[b] @ (demod(W * s[b])).T``.

    Args:
        x: float ``[B, P, C_in]``.
        weight: float ``[C_out, C_in]``.
        styles: float ``[B, C_in]``.

    Returns:
        float ``[B, P, C_out]``.
    """
    out_ch, in_ch = weight.shape
    if x.ndim != 3 or x.shape[2] != in_ch:
        raise ValueError(f"x: expected [B, P, {in_ch}], got shape {tuple(x.shape)}")
    if styles.shape != (x.shape[0], in_ch):
        raise ValueError(f"styles: expected shape [{x.shape[0]}, {in_ch}], got {tuple(styles.shape)}")
    w = weight.unsqueeze(0) * styles.unsqueeze(1)  # [B, O, I]
    w = w * (w.square().sum(dim=2, keepdim=True) + 1e-8).rsqrt()
    return torch.bmm(x, w.transpose(1, 2).to(x.dtype))


class ModulatedFC(nn.Module):
    """Modulated FC layer: ``forward(x [B, P, in], w [B, w_dim]) -> [B, P, out]``.

    Parameters ``weight [out, in]`` (N(0,1)), ``bias [out]`` (0), ``affine`` (FC w -> in,
    bias init 1). Official name: ``ImplicitSynthesisLayer``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        activation: Activation | str = Activation.LRELU,
    ) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.w_dim = int(w_dim)
        self.activation = _activation(activation)
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = modulated_fc(x, self.weight, self.affine(w))
        return bias_act(x, self.bias.to(x.dtype), dim=2, act=self.activation)

    def extra_repr(self) -> str:
        return (
            f"in={self.in_channels}, out={self.out_channels}, w_dim={self.w_dim}, act={self.activation.value}"
        )


class ModulatedMLP(nn.Module):
    """``n_layers`` modulated lrelu layers then a linear one; ``layers.{i}`` in the state_dict.

    ``forward(x [B, P, in], ws [B, n_layers + 1, w_dim]) -> [B, P, out]``.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        w_dim: int,
        n_layers: int = 1,
    ) -> None:
        super().__init__()
        if n_layers < 0:
            raise ValueError(f"n_layers: expected >= 0, got {n_layers}")
        layers = [
            ModulatedFC(in_channels if i == 0 else hidden_channels, hidden_channels, w_dim)
            for i in range(n_layers)
        ]
        last_in = hidden_channels if n_layers > 0 else in_channels
        layers.append(ModulatedFC(last_in, out_channels, w_dim, activation=Activation.LINEAR))
        self.layers = nn.ModuleList(layers)
        self.n_layers = int(n_layers)
        self.w_dim = int(w_dim)
        self.out_channels = int(out_channels)

    @property
    def num_ws(self) -> int:
        """Number of w's consumed: ``n_layers + 1``."""
        return self.n_layers + 1

    def forward(self, x: torch.Tensor, ws: torch.Tensor) -> torch.Tensor:
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws: expected [B, {self.num_ws}, {self.w_dim}], got shape {tuple(ws.shape)}")
        for i, layer in enumerate(self.layers):
            x = layer(x, ws[:, i])
        return x
