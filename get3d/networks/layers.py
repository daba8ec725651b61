"""Equalised-learning-rate layers of StyleGAN2/GET3D: bias + activation, FC, conv, minibatch std.

Equalised learning rate: parameters are stored ~N(0, 1) (divided by ``lr_multiplier``) and scaled
at run time by ``lr_multiplier / sqrt(fan_in)``; biases by ``lr_multiplier``. Activations carry
a default output gain (``sqrt(2)`` for (leaky) ReLU, 1 for linear); an optional clamp is applied
after the gain. Parameter and buffer names equal the official GET3D ones.
"""

from __future__ import annotations

import math
from enum import Enum

import torch
import torch.nn.functional as F
from torch import nn

from .fir import conv2d_resample, setup_filter

__all__ = [
    "Activation",
    "Conv2dLayer",
    "FullyConnectedLayer",
    "MinibatchStdLayer",
    "bias_act",
    "normalize_2nd_moment",
]


class Activation(str, Enum):
    """Activation functions used by the networks (closed set)."""

    LINEAR = "linear"
    RELU = "relu"
    LRELU = "lrelu"

    @property
    def default_gain(self) -> float:
        return 1.0 if self is Activation.LINEAR else math.sqrt(2.0)


def _activation(act: Activation | str) -> Activation:
    try:
        return Activation(act)
    except ValueError:
        names = [a.value for a in Activation]
        raise ValueError(f"act: expected one of {names}, got {act!r}") from None


def bias_act(
    x: torch.Tensor,
    b: torch.Tensor | None = None,
    dim: int = 1,
    act: Activation | str = Activation.LINEAR,
    alpha: float = 0.2,
    gain: float | None = None,
    clamp: float | None = None,
) -> torch.Tensor:
    """``clamp(act(x + b) * gain, -clamp, clamp)``.

    Args:
        x: float tensor of any shape.
        b: float ``[x.shape[dim]]`` bias broadcast along ``dim``, or None.
        act: linear, relu or lrelu (negative slope ``alpha``).
        gain: output gain; None = the activation's default (``sqrt(2)`` or 1).
        clamp: clamp the output to ``[-clamp, clamp]``; None = no clamp.
    """
    act = _activation(act)
    if b is not None:
        if b.ndim != 1 or b.shape[0] != x.shape[dim]:
            raise ValueError(f"b: expected shape [{x.shape[dim]}] (x.shape[{dim}]), got {tuple(b.shape)}")
        shape = [1] * x.ndim
        shape[dim] = -1
        x = x + b.reshape(shape)
    if act is Activation.RELU:
        x = F.relu(x)
    elif act is Activation.LRELU:
        x = F.leaky_relu(x, alpha)
    g = act.default_gain if gain is None else float(gain)
    if g != 1:
        x = x * g
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """``x / sqrt(mean(x^2, dim) + eps)``."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


class FullyConnectedLayer(nn.Module):
    """``act(x @ (W * lr_mult / sqrt(in)).T + b * lr_mult)``; ``x [B, in] -> [B, out]``.

    Parameters: ``weight [out, in]`` (init N(0,1)/lr_mult), ``bias [out]`` (init ``bias_init``).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation: Activation | str = Activation.LINEAR,
        lr_multiplier: float = 1.0,
        bias_init: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.activation = _activation(activation)
        self.weight = nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias
        if b is not None:
            b = b.to(x.dtype)
            if self.bias_gain != 1:
                b = b * self.bias_gain
        if self.activation is Activation.LINEAR and b is not None:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, dim=x.ndim - 1, act=self.activation)

    def extra_repr(self) -> str:
        return f"in={self.in_features}, out={self.out_features}, act={self.activation.value}"


class Conv2dLayer(nn.Module):
    """Equalised-lr conv with optional FIR up/down-sampling by 2, bias, activation and clamp.

    ``x [B, in, H, W] -> [B, out, H*up/down, W*up/down]``. Parameters ``weight [out, in, k, k]``
    and ``bias [out]``; buffer ``resample_filter [4, 4]``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        activation: Activation | str = Activation.LINEAR,
        up: int = 1,
        down: int = 1,
        resample_filter: tuple[float, ...] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.activation = _activation(activation)
        self.up = int(up)
        self.down = int(down)
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size**2)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = (self.weight * self.weight_gain).to(x.dtype)
        b = self.bias.to(x.dtype) if self.bias is not None else None
        x = conv2d_resample(
            x,
            w,
            self.resample_filter,
            up=self.up,
            down=self.down,
            padding=self.padding,
            flip_weight=(self.up == 1),
        )
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, b, act=self.activation, gain=self.activation.default_gain * gain, clamp=clamp)

    def extra_repr(self) -> str:
        return (
            f"in={self.in_channels}, out={self.out_channels}, act={self.activation.value}, "
            f"up={self.up}, down={self.down}"
        )


class MinibatchStdLayer(nn.Module):
    """Append the minibatch standard deviation as extra channels (StyleGAN2).

    The batch ``N`` is split into groups of ``min(group_size, N)`` consecutive-stride members
    (sample ``i`` belongs to group ``i % (N // G)``); per group, the std over members is averaged
    over channels (in ``num_channels`` slices) and pixels. ``[N, C, H, W] -> [N, C + F, H, W]``.
    """

    def __init__(self, group_size: int | None = 4, num_channels: int = 1) -> None:
        super().__init__()
        self.group_size = group_size
        self.num_channels = int(num_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n) if self.group_size is not None else n
        f = self.num_channels
        if n % g != 0 or c % f != 0:
            raise ValueError(f"x: batch {n} must be divisible by the group size {g} and channels {c} by {f}")
        y = x.reshape(g, -1, f, c // f, h, w)
        y = y - y.mean(dim=0)
        y = (y.square().mean(dim=0) + 1e-8).sqrt()
        y = y.mean(dim=[2, 3, 4]).reshape(-1, f, 1, 1)
        y = y.repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, num_channels={self.num_channels}"
