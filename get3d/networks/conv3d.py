"""3-D building blocks of GET3D's separate-generator model: modulated 3x3x3 convolutions, the
residual up-sampling block of its feature volume, and trilinear volume sampling.

Semantics follow the official ``Conv3DSynthesisLayer`` / ``Conv3dLayer`` / ``Conv3DSynthesisBlock``
and ``grid_sample_3d`` (``training/geometry_predictor.py``, ``training/utils/ops.py``):

* the modulated convolution is demodulated per output channel, has no equalised-lr gain (the
  demodulation normalises the scale) and always pads by 1;
* a block up-samples its input ``x2`` trilinearly (``align_corners=False``), then adds
  ``skip(x) * sqrt(1/2)`` (1x1x1 conv, no bias) to ``conv1(conv0(x))`` whose output gain is
  ``sqrt(1/2)`` too (``conv1``'s clamp scales with it);
* the layers carry a ``noise_const [R, R]`` buffer and a ``noise_strength`` parameter, as the
  official state_dict does, but GET3D never adds noise in 3-D (its layer switches noise off);
* the 1x1x1 skip's equalised-lr gain is ``1 / sqrt(in * k^2)`` (GET3D's 2-D formula; ``k = 1``).

Volumes are ``[B, C, D, H, W]`` with ``W`` indexed by x, ``H`` by y and ``D`` by z.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .fir import setup_filter
from .layers import Activation, FullyConnectedLayer, _activation, bias_act

__all__ = [
    "Conv3DSynthesisBlock",
    "Conv3DSynthesisLayer",
    "Conv3dLayer",
    "modulated_conv3d",
    "sample_volume",
]


def modulated_conv3d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
    """Per-sample modulated and demodulated 3-D convolution with padding 1.

    Args:
        x: float ``[B, I, D, H, W]``.
        weight: float ``[O, I, k, k, k]`` (``k = 3`` keeps the size).
        styles: float ``[B, I]``.

    Returns:
        float ``[B, O, D + 3 - k, H + 3 - k, W + 3 - k]``:
        ``conv3d(x[b], demod(W * styles[b]))`` with ``demod`` dividing each output filter by
        ``sqrt(sum W'^2 + 1e-8)``.
    """
    if weight.ndim != 5:
        raise ValueError(f"weight: expected [O, I, k, k, k], got shape {tuple(weight.shape)}")
    out_ch, in_ch = weight.shape[:2]
    if x.ndim != 5 or x.shape[1] != in_ch:
        raise ValueError(f"x: expected [B, {in_ch}, D, H, W], got shape {tuple(x.shape)}")
    batch = x.shape[0]
    if styles.shape != (batch, in_ch):
        raise ValueError(f"styles: expected shape [{batch}, {in_ch}], got {tuple(styles.shape)}")
    w = weight.unsqueeze(0) * styles.reshape(batch, 1, in_ch, 1, 1, 1)  # [B, O, I, k, k, k]
    w = w * (w.square().sum(dim=(2, 3, 4, 5), keepdim=True) + 1e-8).rsqrt()
    y = F.conv3d(
        x.reshape(1, batch * in_ch, *x.shape[2:]),
        w.reshape(batch * out_ch, *w.shape[2:]).to(x.dtype),
        padding=1,
        groups=batch,
    )
    return y.reshape(batch, out_ch, *y.shape[2:])


class Conv3DSynthesisLayer(nn.Module):
    """Modulated 3x3x3 conv + bias + lrelu (gain ``sqrt 2``) + clamp; no noise.

    ``forward(x [B, in, R, R, R], w [B, w_dim], gain) -> [B, out, R, R, R]``. Parameters
    ``weight [out, in, 3, 3, 3]``, ``noise_strength`` (unused), ``bias``, ``affine`` (FC w ->
    styles, bias init 1); buffer ``noise_const [R, R]`` (unused).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        kernel_size: int = 3,
        activation: Activation | str = Activation.LRELU,
        conv_clamp: float | None = 256.0,
    ) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.w_dim = int(w_dim)
        self.resolution = int(resolution)
        self.activation = _activation(activation)
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)
        size = (kernel_size,) * 3
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, *size]))
        self.register_buffer("noise_const", torch.randn([resolution, resolution]))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros([out_channels]))

    def forward(self, x: torch.Tensor, w: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        r = self.resolution
        if x.ndim != 5 or tuple(x.shape[1:]) != (self.in_channels, r, r, r):
            raise ValueError(f"x: expected [B, {self.in_channels}, {r}, {r}, {r}], got {tuple(x.shape)}")
        x = modulated_conv3d(x, self.weight, self.affine(w))
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        g = self.activation.default_gain * gain
        return bias_act(x, self.bias.to(x.dtype), act=self.activation, gain=g, clamp=clamp)

    def extra_repr(self) -> str:
        return (
            f"in={self.in_channels}, out={self.out_channels}, w_dim={self.w_dim}, "
            f"resolution={self.resolution}"
        )


class Conv3dLayer(nn.Module):
    """Equalised-lr 3-D convolution without padding (GET3D's ``Conv3dLayer``, used as the 1x1x1
    residual skip). ``forward(x [B, in, D, H, W], gain) -> act(conv(x) + b) * gain``.

    Parameters ``weight [out, in, k, k, k]`` (and ``bias`` if ``bias``); buffer
    ``resample_filter [4, 4]`` (unused, kept for the official state_dict).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        bias: bool = True,
        activation: Activation | str = Activation.LINEAR,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.activation = _activation(activation)
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", setup_filter((1, 3, 3, 1)))
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size**2)
        self.weight = nn.Parameter(torch.randn([out_channels, in_channels, *(kernel_size,) * 3]))
        self.bias = nn.Parameter(torch.zeros([out_channels])) if bias else None

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        x = F.conv3d(x, (self.weight * self.weight_gain).to(x.dtype))
        b = None if self.bias is None else self.bias.to(x.dtype)
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, b, act=self.activation, gain=self.activation.default_gain * gain, clamp=clamp)

    def extra_repr(self) -> str:
        return f"in={self.in_channels}, out={self.out_channels}"


class Conv3DSynthesisBlock(nn.Module):
    """One resolution of the feature volume (residual architecture).

    First block (``in_channels == 0``): a learned ``const [out, R, R, R]`` through ``conv1``
    (1 w). Later blocks: ``x`` up x2 trilinearly, then ``skip(x) * sqrt(1/2) + conv1(conv0(x))``
    with ``conv1``'s gain ``sqrt(1/2)`` (2 w's). ``forward(x | None, ws [B, num_ws, w_dim]) ->
    [B, out, R, R, R]``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        conv_clamp: float | None = 256.0,
    ) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.w_dim = int(w_dim)
        self.resolution = int(resolution)
        r = resolution
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, r, r, r]))
        else:
            self.conv0 = Conv3DSynthesisLayer(in_channels, out_channels, w_dim, r, conv_clamp=conv_clamp)
        self.conv1 = Conv3DSynthesisLayer(out_channels, out_channels, w_dim, r, conv_clamp=conv_clamp)
        if in_channels != 0:
            self.skip = Conv3dLayer(in_channels, out_channels, kernel_size=1, bias=False)

    @property
    def num_ws(self) -> int:
        return 1 if self.in_channels == 0 else 2

    def forward(self, x: torch.Tensor | None, ws: torch.Tensor) -> torch.Tensor:
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws: expected [B, {self.num_ws}, {self.w_dim}], got shape {tuple(ws.shape)}")
        if self.in_channels == 0:
            x = self.const.to(ws.dtype).unsqueeze(0).expand(ws.shape[0], -1, -1, -1, -1)
            return self.conv1(x, ws[:, 0])
        if x is None:
            raise ValueError("x: expected the previous block's volume, got None")
        x = F.interpolate(x, scale_factor=2, mode="trilinear", align_corners=False)
        gain = math.sqrt(0.5)
        y = self.skip(x, gain=gain)
        x = self.conv1(self.conv0(x, ws[:, 0]), ws[:, 1], gain=gain)
        return y + x

    def extra_repr(self) -> str:
        return f"resolution={self.resolution}, in={self.in_channels}, out={self.out_channels}"


def sample_volume(volume: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Trilinear samples of ``volume [B, C, D, H, W]`` at normalised points ``q [B, P, 3]`` in
    ``[-1, 1]^3`` (x -> W, y -> H, z -> D), -1 and 1 at the first and last voxel centres
    (``align_corners=True``; GET3D's ``grid_sample_3d``). Points outside are clamped onto the
    border. Returns ``[B, P, C]``."""
    if volume.ndim != 5:
        raise ValueError(f"volume: expected [B, C, D, H, W], got shape {tuple(volume.shape)}")
    if q.ndim != 3 or q.shape[2] != 3 or q.shape[0] != volume.shape[0]:
        raise ValueError(f"q: expected [{volume.shape[0]}, P, 3], got shape {tuple(q.shape)}")
    grid = q.to(volume.dtype).reshape(q.shape[0], q.shape[1], 1, 1, 3)
    out = F.grid_sample(volume, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.reshape(volume.shape[0], volume.shape[1], q.shape[1]).permute(0, 2, 1)
