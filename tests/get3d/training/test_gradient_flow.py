"""Which parameters each discriminator branch trains: the silhouette logit reaches the SDF (through
the antialiased mask and marching tets), the RGB logit reaches the texture head and not the
geometry heads (texture queries detach the positions; the hard mask has no gradient)."""

from __future__ import annotations

import pytest
import torch

from get3d.networks import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig
from render.camera import sample_cameras


def _norm(module: torch.nn.Module) -> float:
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    cfg = GeneratorConfig(
        z_dim=8,
        w_dim=8,
        mapping_layers=1,
        triplane_resolution=8,
        triplane_channels=4,
        channel_base=64,
        channel_max=8,
        mlp_hidden=8,
        feat_channels=4,
        deformation_divisor=6,
        grid_resolution=6,
        image_resolution=16,
    )
    G = Generator(cfg)
    D = Discriminator(
        DiscriminatorConfig(image_resolution=16, channel_base=64, channel_max=8, mapping_layers=1, cmap_dim=8)
    )
    return G, D


@pytest.mark.parametrize("branch", ["mask", "rgb"])
def test_branch_gradients(nets, branch: str):
    G, D = nets
    G.zero_grad(set_to_none=True)
    gen = torch.Generator().manual_seed(3)
    ws = G.map_latents(torch.randn(2, 8, generator=gen), torch.randn(2, 8, generator=gen))
    cams = sample_cameras(2, generator=gen)
    planes = G.triplanes(ws)
    geometry = G.grid_geometry(planes, ws)
    assert not bool(geometry.empty.any())
    geometry.sdf.retain_grad()
    out = G.render_geometry(planes, ws, geometry, cams)
    assert float(out.mask.detach().sum()) > 0
    logits = D(out.image, cams.condition())
    getattr(logits, branch).sum().backward()
    heads = G.synthesis.generator
    sdf_grad = geometry.sdf.grad
    if branch == "mask":
        assert sdf_grad is not None and float(sdf_grad.abs().sum()) > 0
        assert _norm(heads.mlp_synthesis_sdf) > 0 and _norm(heads.mlp_synthesis_def) > 0
        assert _norm(heads.mlp_synthesis_tex) == 0 and _norm(G.synthesis.to_rgb) == 0
    else:
        assert sdf_grad is None or float(sdf_grad.abs().sum()) == 0
        assert _norm(heads.mlp_synthesis_sdf) == 0 and _norm(heads.mlp_synthesis_def) == 0
        assert _norm(heads.mlp_synthesis_tex) > 0 and _norm(G.synthesis.to_rgb) > 0
