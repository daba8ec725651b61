"""The unified generator's network parts: triplane backbone + SDF / deformation / texture heads.

``TriplaneTexGeo`` (official ``TriPlaneTexGeo``; state_dict prefix
``synthesis.generator``) holds the backbone ``tri_plane_synthesis`` and three modulated MLPs,
``mlp_synthesis_{tex,sdf,def}`` (``C -> hidden (lrelu) -> out (linear)``, ``C`` = channels per
plane). The SDF and deformation heads share the last two geometry w's; the texture head takes the
last two texture w's. With ``flexicubes`` a fourth head, ``mlp_synthesis_weight``
(``8C -> hidden -> 21``, on the same geometry w's), predicts FlexiCubes' per-cube weights from the
features of the cube's 8 corners. ``postprocess_geometry`` is GET3D's bound on the deformation and its
empty-shape fix with the ``|sdf|`` regulariser.
"""

from __future__ import annotations

import torch
from torch import nn

from .conv import NoiseMode
from .flexicubes import WEIGHT_CHANNELS, WEIGHT_OUTPUT_SCALE, cube_features
from .mlp import ModulatedMLP
from .synthesis import TriplaneSynthesis
from .triplane import sample_triplane

__all__ = ["TriplaneTexGeo", "bound_deformation", "postprocess_geometry"]


class TriplaneTexGeo(nn.Module):
    """Backbone + heads. ``num_ws_geo = backbone + 2`` (22 official), ``num_ws_tex = backbone + 2`` (9)."""

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
        conv_clamp: float | None = 256,
        flexicubes: bool = False,
    ) -> None:
        super().__init__()
        self.w_dim = int(w_dim)
        self.triplane_channels = int(triplane_channels)
        planes = 3 * triplane_channels
        self.tri_plane_synthesis = TriplaneSynthesis(
            w_dim,
            triplane_resolution,
            tex_channels=planes,
            geo_channels=planes,
            channel_base=channel_base,
            channel_max=channel_max,
            conv_clamp=conv_clamp,
        )
        self.mlp_synthesis_tex = ModulatedMLP(triplane_channels, mlp_hidden, feat_channels, w_dim, mlp_layers)
        self.mlp_synthesis_sdf = ModulatedMLP(triplane_channels, mlp_hidden, 1, w_dim, mlp_layers)
        self.mlp_synthesis_def = ModulatedMLP(triplane_channels, mlp_hidden, 3, w_dim, mlp_layers)
        self.mlp_synthesis_weight = (
            ModulatedMLP(8 * triplane_channels, mlp_hidden, WEIGHT_CHANNELS, w_dim, mlp_layers)
            if flexicubes
            else None
        )
        self.num_ws_geo_backbone = self.tri_plane_synthesis.num_ws_geo
        self.num_ws_tex_backbone = self.tri_plane_synthesis.num_ws_tex
        self.num_ws_geo = self.num_ws_geo_backbone + self.mlp_synthesis_sdf.num_ws
        self.num_ws_tex = self.num_ws_tex_backbone + self.mlp_synthesis_tex.num_ws

    def get_feature(
        self, ws_tex: torch.Tensor, ws_geo: torch.Tensor, noise_mode: NoiseMode | str = NoiseMode.CONST
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(geometry planes, texture planes)``, each ``[B, 3C, R, R]``, from the backbone w's."""
        img = self.tri_plane_synthesis(
            ws_tex[:, : self.num_ws_tex_backbone],
            ws_geo[:, : self.num_ws_geo_backbone],
            noise_mode=noise_mode,
        )
        n = 3 * self.triplane_channels
        return img[:, :n], img[:, n:]

    def sdf_deformation(
        self,
        geo_planes: torch.Tensor,
        points: torch.Tensor,
        ws_geo_mlp: torch.Tensor,
        box_min: float,
        box_size: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw head outputs at ``points [B, P, 3]``: sdf ``[B, P, 1]``, deformation ``[B, P, 3]``."""
        feat = sample_triplane(geo_planes, points, box_min, box_size)
        return self.mlp_synthesis_sdf(feat, ws_geo_mlp), self.mlp_synthesis_def(feat, ws_geo_mlp)

    def sdf_deformation_weights(
        self,
        geo_planes: torch.Tensor,
        points: torch.Tensor,
        ws_geo_mlp: torch.Tensor,
        box_min: float,
        box_size: float,
        cubes: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """FlexiCubes model: raw sdf ``[B, N, 1]`` and deformation ``[B, N, 3]`` at the grid
        vertices ``points [B, N, 3]``, and the per-cube weights ``[B, K, 21]`` (head output times
        0.1) of the cubes ``[K, 8]`` (vertex ids into ``points``)."""
        if self.mlp_synthesis_weight is None:
            raise ValueError("cubes: this generator has no FlexiCubes weight head (iso_surface dmtet)")
        feat = sample_triplane(geo_planes, points, box_min, box_size)
        sdf = self.mlp_synthesis_sdf(feat, ws_geo_mlp)
        deformation = self.mlp_synthesis_def(feat, ws_geo_mlp)
        weights = self.mlp_synthesis_weight(cube_features(feat, cubes), ws_geo_mlp) * WEIGHT_OUTPUT_SCALE
        return sdf, deformation, weights

    def texture_feature(
        self,
        tex_planes: torch.Tensor,
        points: torch.Tensor,
        ws_tex_mlp: torch.Tensor,
        box_min: float,
        box_size: float,
    ) -> torch.Tensor:
        """Texture feature ``[B, P, feat_channels]`` at ``points [B, P, 3]``."""
        feat = sample_triplane(tex_planes, points, box_min, box_size)
        return self.mlp_synthesis_tex(feat, ws_tex_mlp)


def bound_deformation(raw: torch.Tensor, divisor: int, multiplier: float = 1.0) -> torch.Tensor:
    """``tanh(raw) / (divisor * multiplier)``: offsets bounded by ``1 / (divisor * multiplier)``
    (``divisor`` = ``GeneratorConfig.deformation_divisor``, GET3D's ``tet_res``)."""
    return torch.tanh(raw) / (divisor * multiplier)


def postprocess_geometry(
    sdf: torch.Tensor,
    deformation: torch.Tensor,
    center_idx: torch.Tensor,
    boundary_idx: torch.Tensor,
    check_idx: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """GET3D's empty-shape fix.

    A sample is *empty* when no grid value is > 0 or none is < 0 (no surface); with ``check_idx``
    only those vertices are looked at (FlexiCubes: the interior ``[1:-1]^3``). For empty samples
    the centre vertex is set to ``1 - min(sdf)`` and the boundary vertices to ``-1 - max(sdf)``
    (min/max over the whole batch), and their SDF and deformation are detached. The regulariser
    ``mean_n |sdf_n|`` (taken before the replacement, so it keeps its gradient) is returned for
    empty samples and 0 for the others. (The official code finds the replaced entries with
    ``new_sdf != 0``, which would skip a vertex whose new value is exactly 0; explicit indices
    are used here.)

    Args:
        sdf: float ``[B, N]`` raw SDF on the grid (positive inside).
        deformation: float ``[B, N, 3]``.
        center_idx, boundary_idx: int64 vertex ids of the grid.
        check_idx: optional int64 ids of the vertices the emptiness test reads (default: all).

    Returns:
        ``(sdf [B, N], deformation [B, N, 3], sdf_reg [B], empty [B] bool)``.
    """
    checked = sdf if check_idx is None else sdf[:, check_idx]
    empty = ((checked > 0).sum(dim=1) == 0) | ((checked < 0).sum(dim=1) == 0)
    if not bool(empty.any()):
        return sdf, deformation, sdf.new_zeros(sdf.shape[0]), empty
    sdf_reg = sdf.abs().mean(dim=1) * empty.to(sdf.dtype)
    with torch.no_grad():
        lo, hi = sdf.min(), sdf.max()
        fixed = sdf.detach().clone()
        fixed[:, center_idx] = 1.0 - lo
        fixed[:, boundary_idx] = -1.0 - hi
    keep = ~empty
    sdf = torch.where(keep[:, None], sdf, fixed)
    deformation = torch.where(keep[:, None, None], deformation, deformation.detach())
    return sdf, deformation, sdf_reg, empty
