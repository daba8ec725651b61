"""GET3D's separate-generator model (``--one_3d_generator 0``, the paper's main "Ours" rows).

State (names equal the official ``DMTETSynthesisNetwork`` with ``one_3d_generator=False``, prefix
``synthesis``):

* ``geometry_synthesis_sdf`` / ``geometry_synthesis_def``: two :class:`Conv3DImplicitSynthesis`
  networks (official ``Conv3DImplicitSynthesisNetwork``), each a modulated 3-D feature volume
  (4 -> 32, channels 256, 256, 128, 64; 7 w's) and a modulated MLP on
  ``[sin(pi p), cos(pi p), volume(p)]`` (70 inputs, width 256): SDF 3 hidden layers -> 1
  (4 w's), deformation 2 -> 3 (3 w's). Both read the same first 7 geometry w's; the SDF MLP
  takes w's 7..10 and the deformation MLP 7..9, so ``num_ws_geo = 11``;
* ``geometry_synthesis_tex``: :class:`~get3d.networks.texture_triplane.TriplaneTex` on the joint
  w's ``[w_tex | w_geo]`` (the geometry w's detached, as GET3D does), ``num_ws_tex = 22``;
* ``to_rgb``: ToRGB ``feat_channels -> 3`` (clamp 256), modulated by the last texture w.

The 3-D networks always clamp at 256 (GET3D builds them without the ``--fp32`` block arguments);
``conv_clamp`` of the configuration applies to the texture triplane. GET3D draws the texture
triplane's noise at random at training and inference time (``inference_noise_mode='random'``):
:attr:`SeparateSynthesis.default_noise_mode`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import GeneratorConfig
from .conv import NoiseMode, ToRGBLayer
from .conv3d import Conv3DSynthesisBlock, sample_volume
from .mlp import ModulatedMLP
from .synthesis import block_channels
from .texture_triplane import TriplaneTex, joint_texture_ws
from .triplane import normalize_points

__all__ = ["Conv3DImplicitSynthesis", "SeparateSynthesis", "positional_encoding"]

SDF_MLP_LAYERS = 3
"""Hidden layers of the SDF MLP (GET3D: ``n_layers=3``)."""
DEFORMATION_MLP_LAYERS = 2
"""Hidden layers of the deformation MLP (GET3D: ``n_layers=2``)."""
VOLUME_CONV_CLAMP = 256.0
"""Clamp of the 3-D convolutions (fixed in GET3D)."""


def positional_encoding(points: torch.Tensor) -> torch.Tensor:
    """``[sin(pi p), cos(pi p)]`` of world points ``[..., 3]`` -> ``[..., 6]`` (one frequency)."""
    x = math.pi * points
    return torch.cat([torch.sin(x), torch.cos(x)], dim=-1)


class Conv3DImplicitSynthesis(nn.Module):
    """A modulated 3-D feature volume + a modulated MLP (official ``Conv3DImplicitSynthesisNetwork``).

    ``num_ws_all = num_ws + mlp_layers + 1``: the volume takes ``ws[:, :num_ws]``, the MLP the
    next ``mlp_layers + 1``.
    """

    def __init__(
        self,
        w_dim: int,
        out_channels: int,
        mlp_layers: int,
        volume_resolution: int = 32,
        channel_base: int = 2048,
        channel_max: int = 256,
        mlp_hidden: int = 256,
        conv_clamp: float | None = VOLUME_CONV_CLAMP,
    ) -> None:
        super().__init__()
        self.block_resolutions, channels = block_channels(
            volume_resolution, channel_base, channel_max, name="volume_resolution"
        )
        self.w_dim = int(w_dim)
        self.out_channels = int(out_channels)
        self.num_ws = 0
        for r in self.block_resolutions:
            block = Conv3DSynthesisBlock(
                channels[r // 2] if r > 4 else 0, channels[r], w_dim, r, conv_clamp=conv_clamp
            )
            self.num_ws += block.num_ws
            setattr(self, f"b{r}", block)
        self.volume_channels = channels[self.block_resolutions[-1]]
        mlp = ModulatedMLP(6 + self.volume_channels, mlp_hidden, out_channels, w_dim, mlp_layers)
        self.layers = mlp.layers  # official layout: the MLP's layers sit on this module
        self.mlp_layers = int(mlp_layers)
        self.num_ws_all = self.num_ws + mlp_layers + 1

    def _check_ws(self, ws: torch.Tensor) -> None:
        if ws.ndim != 3 or ws.shape[1] < self.num_ws_all or ws.shape[2] != self.w_dim:
            raise ValueError(
                f"ws: expected [B, >= {self.num_ws_all}, {self.w_dim}], got shape {tuple(ws.shape)}"
            )

    def volume(self, ws: torch.Tensor) -> torch.Tensor:
        """The feature volume ``[B, C, V, V, V]`` from ``ws[:, :num_ws]``."""
        self._check_ws(ws)
        x = None
        i = 0
        for r in self.block_resolutions:
            block = getattr(self, f"b{r}")
            x = block(x, ws[:, i : i + block.num_ws])
            i += block.num_ws
        return x

    def query(
        self, volume: torch.Tensor, points: torch.Tensor, ws: torch.Tensor, box_min: float, box_size: float
    ) -> torch.Tensor:
        """The MLP at world points ``[B, P, 3]``: ``[B, P, out_channels]``.

        The volume is sampled at the box-normalised points (detached, as GET3D); the MLP input is
        ``[sin(pi p), cos(pi p)]`` of the world points followed by the sampled feature.
        """
        self._check_ws(ws)
        q = normalize_points(points, box_min, box_size).detach()
        x = torch.cat([positional_encoding(points).to(volume.dtype), sample_volume(volume, q)], dim=-1)
        mlp_ws = ws[:, self.num_ws : self.num_ws_all]
        for i, layer in enumerate(self.layers):
            x = layer(x, mlp_ws[:, i])
        return x


class SeparateSynthesis(nn.Module):
    """The separate model's networks with the official layout (see the module docstring).

    The interface shared with the unified model's container: ``num_ws_tex``, ``num_ws_geo``,
    ``default_noise_mode``, :meth:`features`, :meth:`sdf_deformation`, :meth:`texture_feature`
    and ``to_rgb``. Its geometry features are the SDF and deformation volumes stacked along the
    channels, ``[B, 2C, V, V, V]``.
    """

    default_noise_mode = NoiseMode.RANDOM

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        kwargs = dict(
            volume_resolution=cfg.volume_resolution,
            channel_base=cfg.volume_channel_base,
            channel_max=cfg.volume_channel_max,
            mlp_hidden=cfg.volume_mlp_hidden,
        )
        self.geometry_synthesis_sdf = Conv3DImplicitSynthesis(cfg.w_dim, 1, SDF_MLP_LAYERS, **kwargs)
        self.geometry_synthesis_def = Conv3DImplicitSynthesis(cfg.w_dim, 3, DEFORMATION_MLP_LAYERS, **kwargs)
        self.geometry_synthesis_tex = TriplaneTex(
            cfg.w_dim,
            cfg.triplane_resolution,
            cfg.triplane_channels,
            cfg.feat_channels,
            cfg.mlp_hidden,
            cfg.mlp_layers,
            cfg.channel_base,
            cfg.channel_max,
            cfg.conv_clamp,
        )
        self.to_rgb = ToRGBLayer(cfg.feat_channels, 3, cfg.w_dim, conv_clamp=256)
        self.num_ws_geo = self.geometry_synthesis_sdf.num_ws_all
        self.num_ws_tex = self.geometry_synthesis_tex.num_ws_all
        if self.num_ws_tex < self.num_ws_geo:
            raise ValueError(
                f"config: the separate model pads the geometry w's to the texture count, so it needs "
                f"triplane_resolution / mlp_layers giving at least {self.num_ws_geo} texture w's "
                f"(volume_resolution {cfg.volume_resolution}); got {self.num_ws_tex}"
            )

    def features(
        self, ws_tex: torch.Tensor, ws_geo: torch.Tensor, noise_mode: NoiseMode | str = NoiseMode.RANDOM
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(geometry volumes [B, 2C, V, V, V], texture triplane [B, 3C', R, R])``."""
        geo = torch.cat(
            [self.geometry_synthesis_sdf.volume(ws_geo), self.geometry_synthesis_def.volume(ws_geo)], dim=1
        )
        tex = self.geometry_synthesis_tex.planes(joint_texture_ws(ws_tex, ws_geo.detach()), noise_mode)
        return geo, tex

    def sdf_deformation(
        self, geo: torch.Tensor, points: torch.Tensor, ws_geo: torch.Tensor, box_min: float, box_size: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw head outputs at ``points [B, P, 3]``: sdf ``[B, P, 1]``, deformation ``[B, P, 3]``."""
        sdf_net, def_net = self.geometry_synthesis_sdf, self.geometry_synthesis_def
        c = sdf_net.volume_channels
        if geo.ndim != 5 or geo.shape[1] != c + def_net.volume_channels:
            raise ValueError(
                f"planes.geometry: expected the separate model's volumes [B, {c + def_net.volume_channels}, "
                f"V, V, V], got shape {tuple(geo.shape)}"
            )
        sdf = sdf_net.query(geo[:, :c], points, ws_geo, box_min, box_size)
        return sdf, def_net.query(geo[:, c:], points, ws_geo, box_min, box_size)

    def texture_feature(
        self,
        tex: torch.Tensor,
        points: torch.Tensor,
        ws_tex: torch.Tensor,
        ws_geo: torch.Tensor,
        box_min: float,
        box_size: float,
    ) -> torch.Tensor:
        """Texture features ``[B, P, feat_channels]`` at world points ``[B, P, 3]``."""
        joint = joint_texture_ws(ws_tex, ws_geo.detach())
        return self.geometry_synthesis_tex.feature(tex, points, joint, box_min, box_size)
