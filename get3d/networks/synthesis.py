"""GET3D's unified triplane backbone: a StyleGAN2 skip generator with two output heads per block.

Blocks ``b4, b8, ..., b{R}`` (channels ``min(channel_base // res, channel_max)``) form one
feature trunk modulated **only by the geometry w's** (``conv0`` up x2, ``conv1``, one w each);
every block adds ``[togeo(x) | totex(x)]`` to the FIR-upsampled skip image. ``togeo`` takes
the next geometry w, ``totex`` the block's single texture w, so a network with ``n`` blocks
consumes ``3n - 1`` geometry and ``n`` texture w's (20 and 7 at R = 256). The output is
``[B, geo_channels + tex_channels, R, R]``: geometry first (official ``SynthesisNetworkTexGeo``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .conv import NoiseMode, SynthesisLayer, ToRGBLayer
from .fir import setup_filter, upsample2d

__all__ = ["SynthesisBlockTexGeo", "TriplaneSynthesis", "block_channels"]


def block_channels(
    resolution: int, channel_base: int, channel_max: int, name: str = "resolution"
) -> tuple[list[int], dict[int, int]]:
    """The block resolutions ``4, 8, ..., resolution`` of a StyleGAN2 synthesis network and each
    block's channels ``min(channel_base // r, channel_max)``.

    Raises:
        ValueError: ``resolution`` (called ``name`` in the message) is not a power of two >= 4,
            or a block would get no channel.
    """
    if resolution < 4 or resolution & (resolution - 1):
        raise ValueError(f"{name}: expected a power of two >= 4, got {resolution}")
    resolutions = [2**i for i in range(2, int(math.log2(resolution)) + 1)]
    channels = {r: min(channel_base // r, channel_max) for r in resolutions}
    if min(channels.values()) < 1:
        raise ValueError(f"channel_base: {channel_base} gives no channels at resolution {resolution}")
    return resolutions, channels


class SynthesisBlockTexGeo(nn.Module):
    """One resolution of the triplane backbone.

    ``forward(x [B, in, R/2, R/2] | None, img [B, geo+tex, R/2, R/2] | None, ws_tex [B, 1, w],
    ws_geo [B, num_conv + 1, w]) -> (x [B, out, R, R], img [B, geo+tex, R, R])``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        tex_channels: int,
        geo_channels: int,
        conv_clamp: float | None = 256,
        resample_filter: tuple[float, ...] = (1, 3, 3, 1),
    ) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.w_dim = int(w_dim)
        self.resolution = int(resolution)
        self.tex_channels = int(tex_channels)
        self.geo_channels = int(geo_channels)
        self.register_buffer("resample_filter", setup_filter(resample_filter))
        self.num_conv = 0
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn([out_channels, resolution, resolution]))
        else:
            self.conv0 = SynthesisLayer(
                in_channels,
                out_channels,
                w_dim,
                resolution,
                up=2,
                resample_filter=resample_filter,
                conv_clamp=conv_clamp,
            )
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp)
        self.num_conv += 1
        self.totex = ToRGBLayer(out_channels, tex_channels, w_dim, conv_clamp=conv_clamp)
        self.togeo = ToRGBLayer(out_channels, geo_channels, w_dim, conv_clamp=conv_clamp)

    @property
    def num_ws_geo(self) -> int:
        return self.num_conv + 1

    def forward(
        self,
        x: torch.Tensor | None,
        img: torch.Tensor | None,
        ws_tex: torch.Tensor,
        ws_geo: torch.Tensor,
        noise_mode: NoiseMode | str = NoiseMode.CONST,
        fused: bool | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        geo = ws_geo.unbind(dim=1)
        if self.in_channels == 0:
            x = self.const.to(ws_geo.dtype).unsqueeze(0).repeat([ws_geo.shape[0], 1, 1, 1])
            x = self.conv1(x, geo[0], noise_mode=noise_mode, fused=fused)
        else:
            x = self.conv0(x, geo[0], noise_mode=noise_mode, fused=fused)
            x = self.conv1(x, geo[1], noise_mode=noise_mode, fused=fused)
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        new = torch.cat(
            [self.togeo(x, geo[self.num_conv], fused=fused), self.totex(x, ws_tex[:, 0], fused=fused)],
            dim=1,
        )
        img = img + new if img is not None else new
        return x, img

    def extra_repr(self) -> str:
        return f"resolution={self.resolution}, in={self.in_channels}, out={self.out_channels}"


class TriplaneSynthesis(nn.Module):
    """The backbone from 4x4 to ``resolution`` (official ``SynthesisNetworkTexGeo``).

    ``forward(ws_tex [B, num_ws_tex, w], ws_geo [B, num_ws_geo, w]) ->
    [B, geo_channels + tex_channels, R, R]`` with ``R = resolution``.
    """

    def __init__(
        self,
        w_dim: int,
        resolution: int,
        tex_channels: int,
        geo_channels: int,
        channel_base: int = 32768,
        channel_max: int = 512,
        conv_clamp: float | None = 256,
    ) -> None:
        super().__init__()
        self.block_resolutions, channels = block_channels(resolution, channel_base, channel_max)
        self.w_dim = int(w_dim)
        self.resolution = int(resolution)
        self.tex_channels = int(tex_channels)
        self.geo_channels = int(geo_channels)
        self.num_ws_geo = 0
        self.num_ws_tex = 0
        for r in self.block_resolutions:
            block = SynthesisBlockTexGeo(
                channels[r // 2] if r > 4 else 0,
                channels[r],
                w_dim,
                r,
                tex_channels=tex_channels,
                geo_channels=geo_channels,
                conv_clamp=conv_clamp,
            )
            self.num_ws_geo += block.num_ws_geo
            self.num_ws_tex += 1
            setattr(self, f"b{r}", block)

    def forward(
        self,
        ws_tex: torch.Tensor,
        ws_geo: torch.Tensor,
        noise_mode: NoiseMode | str = NoiseMode.CONST,
        fused: bool | None = None,
    ) -> torch.Tensor:
        for name, ws, n in (("ws_tex", ws_tex, self.num_ws_tex), ("ws_geo", ws_geo, self.num_ws_geo)):
            if ws.ndim != 3 or ws.shape[1] != n or ws.shape[2] != self.w_dim:
                raise ValueError(f"{name}: expected [B, {n}, {self.w_dim}], got shape {tuple(ws.shape)}")
        x = img = None
        i_geo = 0
        for i_tex, r in enumerate(self.block_resolutions):
            block = getattr(self, f"b{r}")
            n = block.num_ws_geo
            x, img = block(
                x,
                img,
                ws_tex[:, i_tex : i_tex + 1],
                ws_geo[:, i_geo : i_geo + n],
                noise_mode=noise_mode,
                fused=fused,
            )
            i_geo += n
        return img
