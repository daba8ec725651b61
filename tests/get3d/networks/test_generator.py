"""The generator on a tiny configuration: w routing, fields, bounds, empty-shape fix, meshes."""

from __future__ import annotations

import pytest
import torch

import dmtet
from get3d.networks import Generator, GeneratorConfig, Latents
from get3d.networks.heads import postprocess_geometry
from get3d.networks.outputs import GeneratedMesh, Triplanes
from get3d.networks.triplane import sample_triplane

CFG = GeneratorConfig.tiny()


@pytest.fixture(scope="module")
def gen():
    torch.manual_seed(0)
    g = Generator(CFG)
    with torch.no_grad():
        for name, p in g.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.2)
    return g


@pytest.fixture(scope="module")
def ws(gen):
    torch.manual_seed(1)
    return gen.map_latents(torch.randn(2, CFG.z_dim), torch.randn(2, CFG.z_dim))


def test_latent_and_plane_shapes(gen, ws):
    nb = 3  # blocks 4, 8, 16
    assert gen.num_ws_geo == 3 * nb - 1 + 2 and gen.num_ws == nb + 2
    assert ws.geo.shape == (2, gen.num_ws_geo, CFG.w_dim) and ws.tex.shape == (2, gen.num_ws, CFG.w_dim)
    planes = gen.triplanes(ws)
    assert isinstance(planes, Triplanes)
    shape = (2, 3 * CFG.triplane_channels, CFG.triplane_resolution, CFG.triplane_resolution)
    assert planes.geometry.shape == shape and planes.texture.shape == shape
    torch.testing.assert_close(gen.triplanes(ws).geometry, planes.geometry)  # const noise


def test_w_routing(gen, ws):
    """Texture w's reach only the texture planes; head w's reach no plane."""
    base = gen.triplanes(ws)
    tex = ws.tex.clone()
    tex[:, :-2] += 1.0
    p = gen.triplanes(Latents(ws.geo, tex))
    torch.testing.assert_close(p.geometry, base.geometry)
    assert not torch.allclose(p.texture, base.texture)
    geo = ws.geo.clone()
    geo[:, -2:] += 1.0
    tex = ws.tex.clone()
    tex[:, -2:] += 1.0
    p = gen.triplanes(Latents(geo, tex))
    torch.testing.assert_close(p.geometry, base.geometry)
    torch.testing.assert_close(p.texture, base.texture)
    pts = torch.rand(2, 5, 3) - 0.5
    a = gen.query_geometry(base, ws, pts)
    b = gen.query_geometry(base, Latents(geo, ws.tex), pts)
    assert not torch.allclose(a.sdf, b.sdf)
    geo_trunk = ws.geo.clone()
    geo_trunk[:, 0] += 1.0
    p = gen.triplanes(Latents(geo_trunk, ws.tex))
    assert not torch.allclose(p.geometry, base.geometry) and not torch.allclose(p.texture, base.texture)


def test_queries_equal_manual_composition(gen, ws):
    planes = gen.triplanes(ws)
    heads = gen.synthesis.generator
    pts = torch.rand(2, 7, 3) - 0.5
    n_geo, n_tex = heads.num_ws_geo_backbone, heads.num_ws_tex_backbone
    feat = sample_triplane(planes.geometry, pts, -0.5, 1.0)
    sdf = heads.mlp_synthesis_sdf(feat, ws.geo[:, n_geo:])[..., 0]
    deform = torch.tanh(heads.mlp_synthesis_def(feat, ws.geo[:, n_geo:])) / CFG.deformation_divisor
    field = gen.query_geometry(planes, ws, pts)
    torch.testing.assert_close(field.sdf, sdf)
    torch.testing.assert_close(field.deformation, deform)
    tfeat = heads.mlp_synthesis_tex(sample_triplane(planes.texture, pts, -0.5, 1.0), ws.tex[:, n_tex:])
    to_rgb = gen.synthesis.to_rgb
    s = to_rgb.affine(ws.tex[:, -1]) * to_rgb.weight_gain
    rgb = torch.einsum("oc,bc,bpc->bpo", to_rgb.weight[:, :, 0, 0], s, tfeat) + to_rgb.bias
    torch.testing.assert_close(gen.query_rgb(planes, ws, pts), rgb.clamp(-256, 256))
    # shared points [P, 3] broadcast over the batch
    torch.testing.assert_close(gen.query_geometry(planes, ws, pts[0]).sdf[0], field.sdf[0])


def test_deformation_is_bounded():
    torch.manual_seed(3)
    g = Generator(CFG)
    with torch.no_grad():
        g.synthesis.generator.mlp_synthesis_def.layers[-1].bias.fill_(1e4)
    ws = g.map_latents(torch.randn(1, CFG.z_dim), torch.randn(1, CFG.z_dim))
    d = g.query_geometry(g.triplanes(ws), ws, torch.rand(1, 50, 3) - 0.5).deformation
    bound = 1.0 / (CFG.deformation_divisor * CFG.deformation_multiplier)
    assert d.abs().max() <= bound + 1e-7
    torch.testing.assert_close(d, torch.full_like(d, bound))


def test_empty_shape_fix_by_hand():
    sdf = torch.tensor([[0.5, 0.2, 0.9, 0.1], [0.3, -0.2, 0.4, -0.1]], requires_grad=True)
    deform = torch.zeros(2, 4, 3, requires_grad=True)
    center, boundary = torch.tensor([1]), torch.tensor([0, 3])
    s, d, reg, empty = postprocess_geometry(sdf, deform, center, boundary)
    assert empty.tolist() == [True, False]
    # batch-global min -0.2 and max 0.9
    torch.testing.assert_close(s[0].detach(), torch.tensor([-1.9, 1.2, 0.9, -1.9]))
    torch.testing.assert_close(s[1], sdf[1])
    torch.testing.assert_close(reg.detach(), torch.tensor([0.425, 0.0]))
    (s.sum() + d.sum() + reg.sum()).backward()
    torch.testing.assert_close(sdf.grad[0], torch.full((4,), 0.25))  # only |sdf| reg reaches sample 0
    torch.testing.assert_close(sdf.grad[1], torch.ones(4))
    torch.testing.assert_close(deform.grad[0], torch.zeros(4, 3))
    # all-zero sdf is empty as well (no value > 0)
    assert postprocess_geometry(torch.zeros(1, 4), torch.zeros(1, 4, 3), center, boundary)[3].item()


def test_grid_geometry_and_meshes(gen, ws):
    planes = gen.triplanes(ws)
    geo = gen.grid_geometry(planes, ws)
    grid = gen.tet_grid
    n = grid.num_vertices
    assert geo.sdf.shape == (2, n) and geo.vertices.shape == (2, n, 3) and geo.empty.shape == (2,)
    torch.testing.assert_close(geo.vertices, grid.vertices + geo.deformation)
    meshes = gen.meshes(geo)
    assert len(meshes) == 2
    out = gen.extract_meshes(ws)
    assert len(out) == 2 and all(isinstance(m, GeneratedMesh) for m in out)
    for m, ref in zip(out, meshes, strict=True):
        torch.testing.assert_close(m.vertices, ref.vertices.detach())
        assert m.vertex_colors.shape == m.vertices.shape
        assert m.faces.dtype == torch.int64 and (m.faces.numel() == 0 or int(m.faces.max()) < len(m.vertices))
        assert m.vertices.abs().max() <= 0.5 + 1.0 / CFG.deformation_divisor + 1e-6


def test_forced_empty_shape_still_gives_a_mesh_and_a_regulariser():
    torch.manual_seed(4)
    g = Generator(CFG)
    with torch.no_grad():
        g.synthesis.generator.mlp_synthesis_sdf.layers[-1].bias.fill_(50.0)  # everything inside
    ws = g.map_latents(torch.randn(2, CFG.z_dim), torch.randn(2, CFG.z_dim))
    geo = g.grid_geometry(g.triplanes(ws), ws)
    assert geo.empty.all() and (geo.sdf_reg > 0).all() and geo.sdf_reg.requires_grad
    assert all(m.faces.shape[0] > 0 for m in g.meshes(geo))
    # The fixed SDF and the deformation of empty samples carry no gradient; the regulariser does.
    (geo.sdf.sum() + geo.deformation.sum()).backward(retain_graph=True)
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in g.parameters())
    geo.sdf_reg.mean().backward()
    assert g.synthesis.generator.mlp_synthesis_sdf.layers[-1].bias.grad.abs().sum() > 0


def test_grid_argument_is_checked():
    with pytest.raises(ValueError, match="grid"):
        Generator(CFG, grid=dmtet.TetGrid.bcc(4, scale=2.0))
    with pytest.raises(TypeError, match="grid"):
        Generator(CFG, grid="90_compress.npz")
    g = Generator(CFG, grid=dmtet.TetGrid.bcc(4))
    assert g.tet_grid.num_vertices == dmtet.TetGrid.bcc(4).num_vertices


def test_bad_latents_and_points(gen, ws):
    planes = gen.triplanes(ws)
    with pytest.raises(ValueError, match="ws.geo"):
        gen.triplanes(Latents(ws.geo[:, :3], ws.tex))
    with pytest.raises(TypeError, match="ws"):
        gen.triplanes((ws.geo, ws.tex))
    with pytest.raises(ValueError, match="points"):
        gen.query_geometry(planes, ws, torch.zeros(3, 5, 3))
    with pytest.raises(TypeError, match="points"):
        gen.query_rgb(planes, ws, torch.zeros(2, 5, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="z_geo"):
        gen.map_latents(torch.zeros(2, CFG.z_dim), torch.zeros(3, CFG.z_dim))
    with pytest.raises(ValueError, match="triplane_resolution"):
        GeneratorConfig(triplane_resolution=48)


def test_style_mixing(gen):
    z_geo, z_tex = torch.randn(3, CFG.z_dim), torch.randn(3, CFG.z_dim)
    plain = gen.map_latents(z_geo, z_tex)
    same = gen.map_latents_mixed(z_geo, z_tex, mixing_prob=0.0, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(same.geo, plain.geo)
    torch.testing.assert_close(same.tex, plain.tex)
    for seed in range(4):
        mixed = gen.map_latents_mixed(
            z_geo, z_tex, mixing_prob=1.0, generator=torch.Generator().manual_seed(seed)
        )
        for w, ref in ((mixed.geo, plain.geo), (mixed.tex, plain.tex)):
            differs = [not torch.allclose(w[:, i], ref[:, i]) for i in range(w.shape[1])]
            k = differs.index(True)  # a suffix from a fresh z, cutoff k >= 1
            assert k >= 1 and all(differs[k:])
            torch.testing.assert_close(w[:, k:], w[:, k : k + 1].expand_as(w[:, k:]))
    with pytest.raises(ValueError, match="mixing_prob"):
        gen.map_latents_mixed(z_geo, z_tex, mixing_prob=1.5)


def test_float64_grid_is_used_in_the_parameters_dtype():
    grid = dmtet.TetGrid.bcc(4).to(dtype=torch.float64)
    g = Generator(CFG, grid=grid)
    assert g.tet_grid.vertices.dtype == torch.float32
    ws = g.map_latents(torch.randn(1, CFG.z_dim), torch.randn(1, CFG.z_dim))
    geo = g.grid_geometry(g.triplanes(ws), ws)
    assert all(m.vertices.dtype == torch.float32 for m in g.meshes(geo))


def test_grid_is_not_part_of_the_state(gen):
    keys = list(gen.state_dict())
    assert gen.tet_grid.num_vertices > 0
    assert list(gen.state_dict()) == keys
    assert not any("grid" in k or "tets" in k for k in keys)


def test_grid_is_explicit_state_that_follows_the_module():
    g = Generator(CFG)  # no grid given: the config's BCC grid, built by the constructor
    ref = dmtet.TetGrid.bcc(CFG.grid_resolution, scale=CFG.dmtet_scale)
    assert torch.equal(g.tet_grid.vertices, ref.vertices) and torch.equal(g.tet_grid.tets, ref.tets)
    g.double()
    assert g.tet_grid.vertices.dtype == torch.float64 and g.tet_grid.tets.dtype == torch.int64
    torch.testing.assert_close(g.tet_grid.vertices, ref.vertices.double())
    g.float()
    assert g.tet_grid.vertices.dtype == torch.float32
    small = dmtet.TetGrid.bcc(3, scale=CFG.dmtet_scale)
    g.set_grid(small)
    assert g.tet_grid.num_vertices == small.num_vertices
    with pytest.raises(ValueError, match="grid"):
        g.set_grid(dmtet.TetGrid.bcc(3, scale=2.0 * CFG.dmtet_scale))
    assert g.tet_grid.num_vertices == small.num_vertices  # a rejected grid changes nothing
