"""The separate-generator model's texture field: a StyleGAN2 skip generator drawing a triplane,
then a modulated MLP (official ``TriPlaneTex`` with its ``SynthesisNetwork``).

The texture field is conditioned on **both** latents: its w's are ``[w_tex | w_geo]``
(``2 * w_dim`` wide), the geometry w's padded to the texture count by repeating their last one.
Blocks ``b4 ... b{R}`` each consume ``conv0`` (up x2, not in ``b4``), ``conv1`` and ``torgb``
w's in turn (``3n - 1`` for ``n`` blocks: 20 at R = 256); the MLP takes the next
``mlp_layers + 1``. The triplane (``3C`` channels) is sampled like the unified model's
(:func:`~get3d.networks.triplane.sample_triplane`).
"""

from __future__ import annotations

import torch
from torch import nn

from .conv import NoiseMode, SynthesisLayer, ToRGBLayer
from .fir import setup_filter, upsample2d
from .mlp import ModulatedMLP
from .synthesis import block_channels
from .triplane import sample_triplane

__all__ = ["SynthesisBlock", "SynthesisNetwork", "TriplaneTex", "joint_texture_ws"]


class SynthesisBlock(nn.Module):
    """One resolution of a StyleGAN2 skip generator (official ``SynthesisBlock``, architecture
    ``skip``): ``forward(x | None, img | None, ws [B, num_ws, w_dim]) -> (x [B, out, R, R],
    img [B, img_channels, R, R])``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        img_channels: int,
        conv_clamp: float | None = 256.0,
        resample_filter: tuple[float, ...] = (1, 3, 3, 1),
    ) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.w_dim = int(w_dim)
        self.resolution = int(resolution)
        self.img_channels = int(img_channels)
        self.register_buffer("resample_filter", setup_filter(resample_filter))
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
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp)
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)

    @property
    def num_ws(self) -> int:
        return 2 if self.in_channels == 0 else 3

    def forward(
        self,
        x: torch.Tensor | None,
        img: torch.Tensor | None,
        ws: torch.Tensor,
        noise_mode: NoiseMode | str = NoiseMode.RANDOM,
        fused: bool | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        w = ws.unbind(dim=1)
        if self.in_channels == 0:
            x = self.const.to(ws.dtype).unsqueeze(0).repeat([ws.shape[0], 1, 1, 1])
            x = self.conv1(x, w[0], noise_mode=noise_mode, fused=fused)
        else:
            x = self.conv0(x, w[0], noise_mode=noise_mode, fused=fused)
            x = self.conv1(x, w[1], noise_mode=noise_mode, fused=fused)
        y = self.torgb(x, w[-1], fused=fused)
        img = y if img is None else upsample2d(img, self.resample_filter) + y
        return x, img

    def extra_repr(self) -> str:
        return f"resolution={self.resolution}, in={self.in_channels}, img={self.img_channels}"


class SynthesisNetwork(nn.Module):
    """StyleGAN2 skip generator 4 -> ``resolution`` (official ``SynthesisNetwork``; the w's of
    consecutive blocks do not overlap). ``forward(ws [B, num_ws, w_dim]) -> [B, img_channels, R, R]``."""

    def __init__(
        self,
        w_dim: int,
        resolution: int,
        img_channels: int,
        channel_base: int = 32768,
        channel_max: int = 512,
        conv_clamp: float | None = 256.0,
    ) -> None:
        super().__init__()
        self.block_resolutions, channels = block_channels(resolution, channel_base, channel_max)
        self.w_dim = int(w_dim)
        self.resolution = int(resolution)
        self.img_channels = int(img_channels)
        self.num_ws = 0
        for r in self.block_resolutions:
            block = SynthesisBlock(
                channels[r // 2] if r > 4 else 0, channels[r], w_dim, r, img_channels, conv_clamp=conv_clamp
            )
            self.num_ws += block.num_ws
            setattr(self, f"b{r}", block)

    def forward(
        self, ws: torch.Tensor, noise_mode: NoiseMode | str = NoiseMode.RANDOM, fused: bool | None = None
    ) -> torch.Tensor:
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws: expected [B, {self.num_ws}, {self.w_dim}], got shape {tuple(ws.shape)}")
        x = img = None
        i = 0
        for r in self.block_resolutions:
            block = getattr(self, f"b{r}")
            x, img = block(x, img, ws[:, i : i + block.num_ws], noise_mode=noise_mode, fused=fused)
            i += block.num_ws
        return img


def joint_texture_ws(ws_tex: torch.Tensor, ws_geo: torch.Tensor) -> torch.Tensor:
    """``[ws_tex | ws_geo']`` along the feature axis, ``ws_geo'`` = ``ws_geo`` with its last w
    repeated up to ``ws_tex``'s count: ``[B, L_tex, D], [B, L_geo, D] -> [B, L_tex, 2D]``."""
    if ws_tex.ndim != 3 or ws_geo.ndim != 3 or ws_geo.shape[0] != ws_tex.shape[0]:
        raise ValueError(
            f"ws_tex, ws_geo: expected [B, L, D] each, got {tuple(ws_tex.shape)} and {tuple(ws_geo.shape)}"
        )
    extra = ws_tex.shape[1] - ws_geo.shape[1]
    if extra < 0:
        raise ValueError(
            f"ws_geo: expected at most {ws_tex.shape[1]} w's (the texture count), got {ws_geo.shape[1]}"
        )
    padded = torch.cat([ws_geo, ws_geo[:, -1:].expand(-1, extra, -1)], dim=1)
    return torch.cat([ws_tex, padded], dim=2)


class TriplaneTex(nn.Module):
    """Texture triplane generator + texture MLP (official ``TriPlaneTex``; state_dict prefix
    ``synthesis.geometry_synthesis_tex``). Both take ``2 * w_dim``-wide w's (:func:`joint_texture_ws`).

    ``num_ws_tri_plane = 3n - 1`` (20 official), ``num_ws_all`` adds ``mlp_layers + 1`` (22).
    """

    def __init__(
        self,
        w_dim: int,
        triplane_resolution: int,
        triplane_channels: int = 32,
        feat_channels: int = 16,
        mlp_hidden: int = 32,
        mlp_layers: int = 1,
        channel_base: int = 32768,
        channel_max: int = 512,
        conv_clamp: float | None = 256.0,
    ) -> None:
        super().__init__()
        self.w_dim = 2 * int(w_dim)
        self.triplane_channels = int(triplane_channels)
        self.tri_plane_synthesis = SynthesisNetwork(
            self.w_dim,
            triplane_resolution,
            3 * triplane_channels,
            channel_base=channel_base,
            channel_max=channel_max,
            conv_clamp=conv_clamp,
        )
        self.mlp_synthesis = ModulatedMLP(
            triplane_channels, mlp_hidden, feat_channels, self.w_dim, mlp_layers
        )
        self.num_ws_tri_plane = self.tri_plane_synthesis.num_ws
        self.num_ws_all = self.num_ws_tri_plane + self.mlp_synthesis.num_ws

    def planes(self, ws: torch.Tensor, noise_mode: NoiseMode | str = NoiseMode.RANDOM) -> torch.Tensor:
        """The texture triplane ``[B, 3C, R, R]`` from joint w's ``[B, num_ws_all, 2 w_dim]``."""
        return self.tri_plane_synthesis(ws[:, : self.num_ws_tri_plane], noise_mode=noise_mode)

    def feature(
        self, planes: torch.Tensor, points: torch.Tensor, ws: torch.Tensor, box_min: float, box_size: float
    ) -> torch.Tensor:
        """Texture features ``[B, P, feat_channels]`` at world points ``[B, P, 3]``."""
        feat = sample_triplane(planes, points, box_min, box_size)
        return self.mlp_synthesis(feat, ws[:, self.num_ws_tri_plane :])
