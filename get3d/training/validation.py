"""A cheap validation metric for checkpoint selection: Chamfer MMD (x 10^3, lower is better) of
G_ema's shapes against the validation split's ground-truth meshes (GET3D protocol, fewer points)."""

from __future__ import annotations

import math

import torch

from get3d.metrics.evaluate import reference_point_clouds
from get3d.metrics.geometry import GeometryProtocol, geometry_scores, surface_point_clouds
from get3d.networks import Generator

from .config import TrainConfig
from .data import ValidationRefs

__all__ = ["reference_clouds", "validation_metric"]

_PROTOCOL = GeometryProtocol(num_points=512)


def reference_clouds(refs: ValidationRefs) -> torch.Tensor:
    """Protocol point clouds ``[n_val, 512, 3]`` of the validation meshes."""
    return reference_point_clouds(refs.mesh_dir, _PROTOCOL, shape_ids=list(refs.ids))[0]


@torch.no_grad()
def validation_metric(G: Generator, ref_clouds: torch.Tensor, config: TrainConfig) -> float:
    """MMD-CD (x 10^3) of ``config.val_samples`` shapes of ``G`` (fixed latents, psi 1) against
    the validation clouds (:func:`reference_clouds`); ``inf`` when no shape has a surface."""
    device = G.mapping.fc0.weight.device
    gen = torch.Generator().manual_seed(config.seed + 987_654)
    n = config.val_samples
    z = torch.randn(2, n, G.config.z_dim, generator=gen).to(device)
    meshes = G.extract_meshes(G.map_latents(z[0], z[1]))
    pairs = [(m.vertices, m.faces) for m in meshes if m.faces.shape[0] > 0]
    if not pairs or ref_clouds.shape[0] == 0:
        return math.inf
    gen_clouds = surface_point_clouds(pairs, _PROTOCOL)
    return float(geometry_scores(ref_clouds, gen_clouds, nna=False).mmd_cd)
