"""Style-modulated convolution (StyleGAN2): modulation, demodulation, noise, ToRGB.

``modulated_conv2d`` scales the input channels of a shared weight by per-sample styles
``s [B, C_in]``, optionally demodulates every output channel to unit norm
(``d_o = (sum_{i,k} (W_oik s_i)^2 + 1e-8)^-1/2``), convolves (with FIR up-sampling by 2 when
``up=2``) and adds noise. The weight has no equalised-lr gain: demodulation normalises it.
``SynthesisLayer`` and ``ToRGBLayer`` are the module shells with the official parameter names.
"""

from __future__ import annotations

import math
from enum import Enum

import torch
from torch import nn

from .fir import conv2d_resample, setup_filter
from .layers import Activation, FullyConnectedLayer, _activation, bias_act

__all__ = ["NoiseMode", "SynthesisLayer", "ToRGBLayer", "modulated_conv2d"]


class NoiseMode(str, Enum):
    """Noise input of a synthesis layer: fresh N(0,1) per call, the stored buffer, or none."""

    RANDOM = "random"
    CONST = "const"
    NONE = "none"


def _noise_mode(mode: NoiseMode | str) -> NoiseMode:
    try:
        return NoiseMode(mode)
    except ValueError:
        raise ValueError(
            f"noise_mode: expected one of {[m.value for m in NoiseMode]}, got {mode!r}"
        ) from None


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    noise: torch.Tensor | None = None,
    up: int = 1,
    padding: int = 0,
    resample_filter: torch.Tensor | None = None,
    demodulate: bool = True,
    fused: bool = False,
    out_gain: float = 1.0,
) -> torch.Tensor:
    """Per-sample modulated (and demodulated) convolution.

    Args:
        x: float ``[B, C_in, H, W]``.
        weight: float ``[C_out, C_in, k, k]``.
        styles: float ``[B, C_in]``.
        noise: float tensor broadcastable to the output (e.g. ``[B, 1, H', W']`` or
            ``[H', W']``), added after demodulation; or None.
        up: 1, or 2 for FIR up-sampling (then a true convolution with ``weight``, as StyleGAN2).
        padding: ``k // 2`` for 'same' convolutions.
        resample_filter: float ``[4, 4]``, required when ``up=2``.
        fused: compute with per-sample weights in one grouped convolution (same result);
            False scales the activations before and after one shared convolution.
        out_gain: the convolution result (not the noise) is multiplied by it, folded into the
            demodulation coefficients or the styles.

    Returns:
        float ``[B, C_out, H*up, W*up]``.
    """
    b = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    if x.ndim != 4 or x.shape[1] != in_ch:
        raise ValueError(f"x: expected [B, {in_ch}, H, W], got shape {tuple(x.shape)}")
    if styles.shape != (b, in_ch):
        raise ValueError(f"styles: expected shape [{b}, {in_ch}], got {tuple(styles.shape)}")
    flip_weight = up == 1
    dcoefs = None
    if not demodulate and out_gain != 1:
        styles = styles * out_gain
    if demodulate or fused:
        w = weight.unsqueeze(0) * styles.reshape(b, 1, -1, 1, 1)  # [B, O, I, k, k]
        if demodulate:
            dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # [B, O]
            if out_gain != 1:
                dcoefs = dcoefs * out_gain
    if not fused:
        x = x * styles.to(x.dtype).reshape(b, -1, 1, 1)
        x = conv2d_resample(
            x, weight.to(x.dtype), resample_filter, up=up, padding=padding, flip_weight=flip_weight
        )
        if dcoefs is not None:
            x = x * dcoefs.to(x.dtype).reshape(b, -1, 1, 1)
        if noise is not None:
            x = x + noise.to(x.dtype)
        return x
    if dcoefs is not None:
        w = w * dcoefs.reshape(b, -1, 1, 1, 1)
    x = x.reshape(1, b * in_ch, *x.shape[2:])
    w = w.reshape(b * out_ch, in_ch, kh, kw)
    x = conv2d_resample(
        x, w.to(x.dtype), resample_filter, up=up, padding=padding, groups=b, flip_weight=flip_weight
    )
    x = x.reshape(b, out_ch, *x.shape[2:])
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally up x2) + noise + bias + lrelu (gain sqrt 2) + clamp.

    ``forward(x [B, in, R/up, R/up], w [B, w_dim]) -> [B, out, R, R]``. Parameters ``weight``,
    ``noise_strength`` (init 0), ``bias``, ``affine`` (FC w -> styles, bias init 1); buffers
    ``resample_filter [4, 4]`` and ``noise_const [R, R]``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        kernel_size: int = 3,
        up: int = 1,
        use_noise: bool = True,
        activation: Activation | str = Activation.LRELU,
        resample_filter: tuple[float, ...] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.w_dim = int(w_dim)
        self.resolution = int(resolution)
        self.up = int(up)
        self.use_noise = bool(use_noise)
        self.activation = _activation(activation)
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.padding = kernel_size // 2
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        if self.use_noise:
            self.register_buffer("noise_const", torch.randn([resolution, resolution]))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def forward(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        noise_mode: NoiseMode | str = NoiseMode.RANDOM,
        fused: bool | None = None,
        gain: float = 1.0,
    ) -> torch.Tensor:
        """``fused=None`` uses per-sample weights for a batch of one (cheaper on a CPU); both
        paths compute the same function."""
        if not gain > 0:
            raise ValueError(f"gain: expected a positive number, got {gain!r}")
        mode = _noise_mode(noise_mode)
        in_res = self.resolution // self.up
        if x.ndim != 4 or tuple(x.shape[1:]) != (self.in_channels, in_res, in_res):
            raise ValueError(f"x: expected [B, {self.in_channels}, {in_res}, {in_res}], got {tuple(x.shape)}")
        styles = self.affine(w)
        noise = None
        if self.use_noise and mode is NoiseMode.RANDOM:
            noise = (
                torch.randn([x.shape[0], 1, self.resolution, self.resolution], device=x.device, dtype=x.dtype)
                * self.noise_strength
            )
        elif self.use_noise and mode is NoiseMode.CONST:
            noise = self.noise_const * self.noise_strength
        # act(y + b) * g == act(g * y + g * b) for g > 0 (linear, relu and lrelu are positively
        # homogeneous): fold the output gain into the demodulation and save passes over x.
        g = self.activation.default_gain * gain
        x = modulated_conv2d(
            x,
            self.weight,
            styles,
            noise=None if noise is None else noise * g,
            up=self.up,
            padding=self.padding,
            resample_filter=self.resample_filter,
            fused=(x.shape[0] == 1) if fused is None else fused,
            out_gain=g,
        )
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias.to(x.dtype) * g, act=self.activation, gain=1.0, clamp=clamp)

    def extra_repr(self) -> str:
        return (
            f"in={self.in_channels}, out={self.out_channels}, w_dim={self.w_dim}, "
            f"resolution={self.resolution}, up={self.up}"
        )


class ToRGBLayer(nn.Module):
    """Modulated 1x1 conv without demodulation, + bias + clamp (no activation).

    Styles are ``affine(w) / sqrt(in * k^2)``. ``forward(x [B, in, H, W], w [B, w_dim]) ->
    [B, out, H, W]``. Parameters ``weight [out, in, k, k]``, ``bias [out]``, ``affine``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        kernel_size: int = 1,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.w_dim = int(w_dim)
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size**2)

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused: bool | None = None) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        fused = (x.shape[0] == 1) if fused is None else fused
        x = modulated_conv2d(
            x, self.weight, styles, padding=self.weight.shape[-1] // 2, demodulate=False, fused=fused
        )
        return bias_act(x, self.bias.to(x.dtype), clamp=self.conv_clamp)

    def extra_repr(self) -> str:
        return f"in={self.in_channels}, out={self.out_channels}, w_dim={self.w_dim}"
