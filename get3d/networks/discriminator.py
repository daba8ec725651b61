"""GET3D's discriminator: two StyleGAN2 skip discriminators (RGB and silhouette), each conditioned
on the camera through its own mapping network and a projection output.

``D(img [B, 4, H, W], c [B, 2]) -> DiscriminatorLogits(rgb [B, 1], mask [B, 1])``: channels 0:3
(RGB in [-1, 1]) go to ``b{res}`` + ``b4``, channel 3 (silhouette in [0, 1]) to ``mask_b{res}``
+ ``mask_b4``. ``c`` = (azimuth, polar angle) in radians, encoded as
``[sin(2^k c), cos(2^k c)]_{k=0..2}`` followed by ``c`` itself (14 dims). The logit is
``<out(x), cmap> / sqrt(cmap_dim)``. Parameter names equal the official ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .config import DiscriminatorConfig
from .fir import downsample2d, setup_filter
from .layers import Conv2dLayer, FullyConnectedLayer, MinibatchStdLayer
from .mapping import MappingNetwork

__all__ = [
    "Discriminator",
    "DiscriminatorBlock",
    "DiscriminatorEpilogue",
    "DiscriminatorLogits",
    "encode_camera",
]


@dataclass(frozen=True)
class DiscriminatorLogits:
    """Logits of the two discriminators: ``rgb [B, 1]`` and ``mask [B, 1]`` (float)."""

    rgb: torch.Tensor
    mask: torch.Tensor


def encode_camera(c: torch.Tensor, frequencies: int = 3) -> torch.Tensor:
    """``[sin(c), cos(c), sin(2c), cos(2c), ..., c]``: ``[B, 2] -> [B, 2 + 4 * frequencies]``.

    Within each frequency the sines of both angles come first, then the cosines.
    """
    parts = []
    for k in range(frequencies):
        parts += [torch.sin((2**k) * c), torch.cos((2**k) * c)]
    return torch.cat([*parts, c], dim=-1)


class DiscriminatorBlock(nn.Module):
    """Skip block: ``x += fromrgb(img)``; ``conv0`` 3x3; ``conv1`` 3x3 down x2; ``img`` FIR-downsampled.

    ``forward(x [B, tmp, R, R] | None, img [B, C_img, R, R]) -> (x [B, out, R/2, R/2],
    img [B, C_img, R/2, R/2])``.
    """

    def __init__(
        self,
        in_channels: int,
        tmp_channels: int,
        out_channels: int,
        resolution: int,
        img_channels: int,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.resolution = int(resolution)
        self.img_channels = int(img_channels)
        self.register_buffer("resample_filter", setup_filter())
        self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, activation="lrelu", conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(
            tmp_channels, out_channels, 3, activation="lrelu", down=2, conv_clamp=conv_clamp
        )

    def forward(self, x: torch.Tensor | None, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.fromrgb(img)
        x = x + y if x is not None else y
        img = downsample2d(img, self.resample_filter)
        x = self.conv1(self.conv0(x))
        return x, img

    def extra_repr(self) -> str:
        return f"resolution={self.resolution}"


class DiscriminatorEpilogue(nn.Module):
    """4x4 epilogue: fromrgb, minibatch std, conv 3x3, FC, output FC, projection on ``cmap``.

    ``forward(x [B, C, 4, 4], img [B, C_img, 4, 4], cmap [B, cmap_dim] | None) -> [B, 1]``.
    """

    def __init__(
        self,
        in_channels: int,
        cmap_dim: int,
        resolution: int,
        img_channels: int,
        mbstd_group_size: int = 4,
        mbstd_num_channels: int = 1,
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        self.cmap_dim = int(cmap_dim)
        self.fromrgb = Conv2dLayer(img_channels, in_channels, 1, activation="lrelu")
        self.mbstd = (
            MinibatchStdLayer(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels > 0 else None
        )
        self.conv = Conv2dLayer(
            in_channels + mbstd_num_channels, in_channels, 3, activation="lrelu", conv_clamp=conv_clamp
        )
        self.fc = FullyConnectedLayer(in_channels * resolution**2, in_channels, activation="lrelu")
        self.out = FullyConnectedLayer(in_channels, 1 if cmap_dim == 0 else cmap_dim)

    def forward(self, x: torch.Tensor, img: torch.Tensor, cmap: torch.Tensor | None) -> torch.Tensor:
        x = x + self.fromrgb(img)
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.conv(x)
        x = self.out(self.fc(x.flatten(1)))
        if self.cmap_dim > 0:
            x = (x * cmap).sum(dim=1, keepdim=True) * (1.0 / math.sqrt(self.cmap_dim))
        return x


class Discriminator(nn.Module):
    """RGB and silhouette discriminators with camera conditioning (official ``Discriminator``)."""

    def __init__(self, config: DiscriminatorConfig | None = None) -> None:
        super().__init__()
        cfg = DiscriminatorConfig() if config is None else config
        if not isinstance(cfg, DiscriminatorConfig):
            raise TypeError(f"config: expected a DiscriminatorConfig, got {type(cfg).__name__}")
        self.config = cfg
        res_log2 = int(math.log2(cfg.image_resolution))
        self.block_resolutions = [2**i for i in range(res_log2, 2, -1)]
        channels = {r: min(cfg.channel_base // r, cfg.channel_max) for r in [*self.block_resolutions, 4]}
        cmap_dim = channels[4] if cfg.cmap_dim is None else cfg.cmap_dim
        for prefix, img_channels, mapping_name in (("", 3, "mapping"), ("mask_", 1, "mask_mapping")):
            for r in self.block_resolutions:
                block = DiscriminatorBlock(
                    channels[r] if r < cfg.image_resolution else 0,
                    channels[r],
                    channels[r // 2],
                    r,
                    img_channels,
                    conv_clamp=cfg.conv_clamp,
                )
                setattr(self, f"{prefix}b{r}", block)
            mapping = MappingNetwork(
                z_dim=0,
                c_dim=cfg.camera_dim,
                w_dim=cmap_dim,
                num_ws=None,
                w_avg_beta=None,
                num_layers=cfg.mapping_layers,
            )
            setattr(self, mapping_name, mapping)
            epilogue = DiscriminatorEpilogue(
                channels[4],
                cmap_dim,
                4,
                img_channels,
                cfg.mbstd_group_size,
                cfg.mbstd_num_channels,
                conv_clamp=cfg.conv_clamp,
            )
            setattr(self, f"{prefix}b4", epilogue)

    def _branch(self, prefix: str, img: torch.Tensor, cmap: torch.Tensor) -> torch.Tensor:
        x = None
        for r in self.block_resolutions:
            x, img = getattr(self, f"{prefix}b{r}")(x, img)
        return getattr(self, f"{prefix}b4")(x, img, cmap)

    def forward(self, img: torch.Tensor, c: torch.Tensor) -> DiscriminatorLogits:
        """Score images ``img [B, 4, H, W]`` (RGB in [-1, 1] + silhouette in [0, 1], H = W =
        ``image_resolution``) seen from cameras ``c [B, 2]`` = (azimuth, polar angle) in radians."""
        r = self.config.image_resolution
        if not isinstance(img, torch.Tensor) or img.ndim != 4 or tuple(img.shape[1:]) != (4, r, r):
            raise ValueError(f"img: expected [B, 4, {r}, {r}], got {getattr(img, 'shape', img)!r}")
        if not isinstance(c, torch.Tensor) or c.shape != (img.shape[0], 2):
            raise ValueError(f"c: expected [{img.shape[0]}, 2] camera angles, got {getattr(c, 'shape', c)!r}")
        enc = encode_camera(c.to(img.dtype), self.config.camera_frequencies)
        mask_logit = self._branch("mask_", img[:, 3:4], self.mask_mapping(None, enc))
        rgb_logit = self._branch("", img[:, :3], self.mapping(None, enc))
        return DiscriminatorLogits(rgb=rgb_logit, mask=mask_logit)
