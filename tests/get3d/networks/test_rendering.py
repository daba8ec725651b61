"""Rendering generated shapes: background = ToRGB bias, pixel colours = the texture field at the
rendered positions, and gradients reach the geometry only through the antialiased silhouette."""

from __future__ import annotations

import pytest
import torch

from get3d.networks import Generator, GeneratorConfig
from get3d.networks.outputs import GridGeometry
from get3d.networks.rendering import GeneratorOutput, gather_foreground
from render.camera import sample_cameras

CFG = GeneratorConfig.tiny()


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    g = Generator(CFG)
    with torch.no_grad():
        g.synthesis.to_rgb.bias.copy_(torch.tensor([-1.0, 0.25, 0.5]))
        # shrink the shape so that the image has background
        g.synthesis.generator.mlp_synthesis_sdf.layers[-1].bias.fill_(-1.5)
    ws = g.map_latents(torch.randn(2, CFG.z_dim), torch.randn(2, CFG.z_dim))
    cams = sample_cameras(2, generator=torch.Generator().manual_seed(3))
    return g, ws, cams


def test_gather_foreground_by_hand():
    values = torch.arange(2 * 2 * 4, dtype=torch.float32).reshape(2, 2, 2, 2)
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]], [[[0.0, 0.0], [1.0, 0.0]]]])
    got, index, valid = gather_foreground(values, mask)
    assert index.shape == (2, 2) and valid.tolist() == [[True, True], [True, False]]
    assert index[0].tolist() == [0, 3] and index[1, 0].item() == 2
    torch.testing.assert_close(got[0], torch.tensor([[0.0, 4.0], [3.0, 7.0]]))
    torch.testing.assert_close(got[1], torch.tensor([[10.0, 14.0], [0.0, 0.0]]))


def test_render_output_and_colours(setup):
    g, ws, cams = setup
    out = g.render(ws, cams)
    assert isinstance(out, GeneratorOutput)
    r = CFG.image_resolution
    assert out.image.shape == (2, 4, r, r) and out.rgb.shape == (2, 3, r, r)
    torch.testing.assert_close(out.image[:, 3:], out.mask)
    torch.testing.assert_close(out.image[:, :3], out.rgb)
    hard = out.hard_mask[:, 0] > 0.5
    assert hard.any() and (~hard).any()
    assert 0 <= float(out.mask.detach().min()) and float(out.mask.detach().max()) <= 1
    bias = g.synthesis.to_rgb.bias.detach()
    bg = out.rgb.detach().permute(0, 2, 3, 1)[~hard]
    torch.testing.assert_close(bg, bias.expand_as(bg))
    # Foreground colours equal the texture field queried at the rendered surface positions.
    from render.mesh import render_mesh

    ref = render_mesh([m.vertices for m in out.meshes], [m.faces for m in out.meshes], cams, r)
    for b in range(2):
        pos = ref.position[b].permute(1, 2, 0)[hard[b]][None]  # [1, P, 3]
        one = type(ws)(geo=ws.geo[b : b + 1], tex=ws.tex[b : b + 1])
        planes = g.triplanes(one)
        want = g.query_rgb(planes, one, pos)[0]
        got = out.rgb[b].permute(1, 2, 0)[hard[b]]
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_gradients_reach_geometry_only_through_the_silhouette(setup):
    g, ws, cams = setup
    planes = g.triplanes(ws)
    geo = g.grid_geometry(planes, ws)
    sdf = geo.sdf.detach().requires_grad_()
    deform = geo.deformation.detach().requires_grad_()
    leaf = GridGeometry(sdf, deform, g.tet_grid.vertices + deform, geo.sdf_reg, geo.empty)
    out = g.render_geometry(planes, ws, leaf, cams)
    (g_sdf, g_def) = torch.autograd.grad(out.rgb.sum(), [sdf, deform], retain_graph=True, allow_unused=True)
    assert (g_sdf is None or g_sdf.abs().max() == 0) and (g_def is None or g_def.abs().max() == 0)
    g_sdf, g_def = torch.autograd.grad(out.mask.sum(), [sdf, deform])
    assert g_sdf.abs().max() > 0 and g_def.abs().max() > 0


def test_full_forward_backward_reaches_all_networks(setup):
    g, _, cams = setup
    torch.manual_seed(5)
    out = g(torch.randn(2, CFG.z_dim), torch.randn(2, CFG.z_dim), cams)
    (out.image.mean() + out.geometry.sdf_reg.mean()).backward()
    for name in (
        "mapping.fc0.weight",
        "mapping_geo.fc0.weight",
        "synthesis.to_rgb.weight",
        "synthesis.generator.mlp_synthesis_sdf.layers.0.weight",
        "synthesis.generator.mlp_synthesis_tex.layers.0.weight",
        "synthesis.generator.tri_plane_synthesis.b4.conv1.weight",
    ):
        p = g.get_parameter(name)
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    g.zero_grad(set_to_none=True)
    with pytest.raises(ValueError, match="cameras"):
        g.render(g.map_latents(torch.randn(2, CFG.z_dim), torch.randn(2, CFG.z_dim)), cams[:1])


def test_multiple_views_per_sample(setup):
    g, ws, _ = setup
    cams = sample_cameras(4, generator=torch.Generator().manual_seed(9))  # 2 samples x 2 views
    out = g.render(ws, cams)
    assert out.image.shape[0] == 4 and len(out.meshes) == 2
    for view in range(4):
        b = view // 2
        one = type(ws)(geo=ws.geo[b : b + 1], tex=ws.tex[b : b + 1])
        single = g.render(one, cams[view : view + 1])
        torch.testing.assert_close(out.image[view : view + 1], single.image, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="multiple of the batch size"):
        g.render(ws, cams[:3])
