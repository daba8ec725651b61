"""Frozen dataclasses returned by the generator's public methods."""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["GeneratedMesh", "GridGeometry", "Latents", "PointGeometry", "Triplanes"]


@dataclass(frozen=True)
class Latents:
    """Per-layer intermediate latents.

    Attributes:
        geo: float ``[B, num_ws_geo, w_dim]`` (22 official): backbone trunk + togeo layers, then
            the 2 w's of the SDF/deformation heads. Separate model (11): the 7 w's of the
            feature volumes, then the 4 of the SDF MLP (the deformation MLP reads the first 3).
        tex: float ``[B, num_ws_tex, w_dim]`` (9 official): one per backbone totex layer, then the
            2 w's of the texture head; the last one also modulates the final ToRGB. Separate
            model (22): the texture triplane's 20 and its MLP's 2 (joined with the geometry w's).
    """

    geo: torch.Tensor
    tex: torch.Tensor

    @property
    def batch_size(self) -> int:
        return self.geo.shape[0]


@dataclass(frozen=True)
class Triplanes:
    """The generator's feature fields: the unified backbone's output split into geometry and
    texture triplanes, each ``[B, 3C, R, R]``; for the separate model ``geometry`` holds its SDF
    and deformation volumes stacked along the channels, ``[B, 2C, V, V, V]``."""

    geometry: torch.Tensor
    texture: torch.Tensor


@dataclass(frozen=True)
class PointGeometry:
    """Geometry heads at query points.

    Attributes:
        sdf: float ``[B, P]`` raw SDF (positive inside; no empty-shape fix).
        deformation: float ``[B, P, 3]`` offsets,
            ``|d| <= 1 / (deformation_divisor * deformation_multiplier)``.
    """

    sdf: torch.Tensor
    deformation: torch.Tensor


@dataclass(frozen=True)
class GridGeometry:
    """Geometry on the tet grid after GET3D's post-processing.

    Attributes:
        sdf: float ``[B, N]`` (empty samples fixed and detached).
        deformation: float ``[B, N, 3]`` bounded offsets (detached for empty samples).
        vertices: float ``[B, N, 3]`` deformed grid vertices ``grid.vertices + deformation``.
        sdf_reg: float ``[B]`` ``mean |sdf|`` of empty samples (0 otherwise); GET3D adds its batch
            mean to the generator loss with weight 1.
        empty: bool ``[B]`` samples whose raw SDF had no sign change.
        weights: FlexiCubes models: float ``[B, K, 21]`` per-cube weights (the head's output
            times 0.1: beta 12, alpha 8, gamma 1; GET3D regularises their mean square); None for
            DMTet.
    """

    sdf: torch.Tensor
    deformation: torch.Tensor
    vertices: torch.Tensor
    sdf_reg: torch.Tensor
    empty: torch.Tensor
    weights: torch.Tensor | None = None


@dataclass(frozen=True)
class GeneratedMesh:
    """One generated triangle mesh with per-vertex colours (world frame, Y up, outward faces).

    Attributes:
        vertices: float ``[V, 3]``.
        faces: int64 ``[F, 3]``, counter-clockwise seen from outside.
        vertex_colors: float ``[V, 3]`` RGB in about [-1, 1] from the texture field.
    """

    vertices: torch.Tensor
    faces: torch.Tensor
    vertex_colors: torch.Tensor
