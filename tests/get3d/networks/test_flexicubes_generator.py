"""The FlexiCubes generator (``iso_surface: flexicubes``): voxel grid and its index sets, the weight
head, sign convention, deformation bound, empty-shape check, regularisers, checkpoints and bad
configurations."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import dmtet
from dmtet.flexicubes_tables import CUBE_EDGES
from get3d.networks import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig
from get3d.networks.checkpoint import _generator_config, load_generator, load_official_checkpoint
from get3d.networks.config import IsoSurface
from get3d.networks.flexicubes import VoxelGrid, cube_features, extract_meshes
from get3d.networks.heads import postprocess_geometry
from get3d.networks.triplane import sample_triplane
from get3d.training.losses import flexicubes_regularization

CFG = GeneratorConfig.tiny(iso_surface="flexicubes")


@pytest.fixture(scope="module")
def gen():
    torch.manual_seed(0)
    return Generator(CFG)


@pytest.fixture(scope="module")
def ws(gen):
    torch.manual_seed(1)
    return gen.map_latents(torch.randn(2, CFG.z_dim), torch.randn(2, CFG.z_dim))


# ---------------------------------------------------------------- grid
def test_voxel_grid_index_sets_by_hand():
    g = VoxelGrid.build(6, scale=0.8)
    n = 7
    assert g.num_vertices == n**3 and g.num_cubes == 6**3
    assert torch.allclose(g.vertices.amin(0), torch.full((3,), -0.4)) and torch.allclose(
        g.vertices.amax(0), torch.full((3,), 0.4)
    )
    ref_v, ref_c = dmtet.construct_voxel_grid(6)
    assert torch.equal(g.cubes, ref_c) and torch.allclose(g.vertices, ref_v * 0.8)
    # centre (r//2 + 1)^3 = (4, 4, 4): 0.8 * (4/6 - 0.5) on every axis
    assert g.center_idx.tolist() == [(4 * n + 4) * n + 4]
    assert torch.allclose(g.vertices[g.center_idx[0]], torch.full((3,), 0.8 * (4 / 6 - 0.5)), atol=1e-5)
    # 2-voxel shell: all vertices but the 3^3 block with indices 2..4 on every axis
    assert g.boundary_idx.numel() == n**3 - 3**3
    # interior [1:-1]^3
    assert g.interior_idx.numel() == 5**3
    # unique cube edges: 3 r (r + 1)^2, and exactly those of the cubes
    assert g.edges.shape == (3 * 6 * n * n, 2) and bool((g.edges[:, 0] < g.edges[:, 1]).all())
    from_cubes = g.cubes[:, torch.tensor(CUBE_EDGES).reshape(-1)].reshape(-1, 2).sort(dim=1).values
    assert torch.equal(torch.unique(from_cubes, dim=0), g.edges)
    # at r = 4 the centre (3,3,3) lies in the shell; it is kept out of it
    small = VoxelGrid.build(4)
    assert small.center_idx[0] not in set(small.boundary_idx.tolist())
    with pytest.raises(ValueError, match="resolution"):
        VoxelGrid.build(1)


def test_cube_features_concatenate_the_corners_in_order():
    feats = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)
    cubes = torch.tensor([[4, 0, 1, 2, 3, 4, 0, 1]])
    out = cube_features(feats, cubes)
    assert out.shape == (2, 1, 24)
    assert torch.equal(out[1, 0, :6], torch.cat([feats[1, 4], feats[1, 0]]))
    assert torch.equal(out[0, 0, 21:], feats[0, 1])


# ---------------------------------------------------------------- fields
def test_weight_head_sign_and_deformation_bound(gen, ws):
    planes = gen.triplanes(ws)
    geo = gen.grid_geometry(planes, ws)
    grid = gen.grid
    assert geo.weights.shape == (2, grid.num_cubes, 21) and geo.sdf.shape == (2, grid.num_vertices)
    heads = gen.synthesis.generator
    verts = grid.vertices[None].expand(2, -1, -1)
    feat = sample_triplane(planes.geometry, verts, gen.box_min, gen.box_size)
    wmlp = ws.geo[:, heads.num_ws_geo_backbone :]
    want = heads.mlp_synthesis_weight(cube_features(feat, grid.cubes), wmlp) * 0.1
    torch.testing.assert_close(geo.weights, want)
    raw = heads.mlp_synthesis_sdf(feat, wmlp)[..., 0]
    assert not bool(geo.empty.any())
    torch.testing.assert_close(geo.sdf, -raw)  # positive inside = GET3D's raw value negated
    torch.testing.assert_close(gen.query_geometry(planes, ws, grid.vertices).sdf, -raw)
    bound = 1.0 / (CFG.deformation_divisor * 2.0 * CFG.deformation_multiplier)  # doubled multiplier
    assert float(geo.deformation.detach().abs().max()) <= bound + 1e-7
    raw_def = heads.mlp_synthesis_def(feat, wmlp)
    torch.testing.assert_close(geo.deformation, torch.tanh(raw_def) * bound)


def test_meshes_are_get3d_flexicubes_calls(gen, ws):
    """Training mode splits quads around centres, eval mode along a diagonal; both are
    dmtet.flexicubes on the raw (negative-inside) SDF with beta/alpha/gamma = w[:12], w[12:20],
    w[20] and weight_scale 0.5."""
    planes = gen.triplanes(ws)
    geo = gen.grid_geometry(planes, ws)
    grid = gen.grid
    for training, split in ((True, dmtet.QuadSplit.CENTER), (False, dmtet.QuadSplit.DIAGONAL)):
        gen.train(training)
        meshes = gen.meshes(geo)
        for i, mesh in enumerate(meshes):
            want = dmtet.flexicubes(
                grid.vertices + geo.deformation[i],
                -geo.sdf[i],
                grid.cubes,
                grid.resolution,
                beta=geo.weights[i, :, :12],
                alpha=geo.weights[i, :, 12:20],
                gamma=geo.weights[i, :, 20],
                weight_scale=0.5,
                split=split,
            )
            assert mesh.faces.shape[0] > 0 and torch.equal(mesh.faces, want.faces)
            torch.testing.assert_close(mesh.vertices, want.vertices)
            torch.testing.assert_close(mesh.l_dev, want.l_dev)
    gen.train(True)


def test_a_positive_inside_sphere_gives_an_outward_closed_surface():
    grid = VoxelGrid.build(16)
    r = 0.3
    sdf = (r - grid.vertices.norm(dim=-1))[None]  # positive inside
    zero = torch.zeros(1, grid.num_cubes, 21)
    mesh = extract_meshes(grid, sdf, torch.zeros(1, grid.num_vertices, 3), zero, training=False)[0]
    v, f = mesh.vertices, mesh.faces
    volume = torch.einsum("fi,fi->f", v[f[:, 0]], torch.cross(v[f[:, 1]], v[f[:, 2]], dim=-1)).sum() / 6
    # positive: outward faces (plain dual vertices sit slightly inside a convex surface)
    assert float(volume) == pytest.approx(4 / 3 * torch.pi * r**3, rel=0.1)
    edges = torch.cat([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    directed = set(map(tuple, edges.tolist()))
    assert len(directed) == edges.shape[0] and all((b, a) in directed for a, b in directed)  # closed


def test_empty_shape_check_reads_the_interior_only():
    grid = VoxelGrid.build(4)
    sdf = torch.full((2, grid.num_vertices), -1.0)
    sdf[1, grid.interior_idx[0]] = 2.0  # sample 1 has an inside vertex in the interior
    outer = torch.ones(grid.num_vertices, dtype=torch.bool)
    outer[grid.interior_idx] = False
    sdf[0, outer.nonzero()[0, 0]] = 2.0  # sample 0 only on the outer layer: still empty
    sdf.requires_grad_(True)
    deform = torch.zeros(2, grid.num_vertices, 3, requires_grad=True)
    centre, shell = grid.center_idx, grid.boundary_idx
    out, _, reg, empty = postprocess_geometry(sdf, deform, centre, shell, grid.interior_idx)
    assert empty.tolist() == [True, False]
    # fallback (positive inside): centre 1 - min = 2, shell -1 - max = -3 (batch-wide min/max)
    assert float(out.detach()[0, grid.center_idx[0]]) == 2.0
    assert bool((out[0, grid.boundary_idx] == -3.0).all())
    assert torch.equal(out[1], sdf[1].detach())
    assert reg[0].item() == pytest.approx(float(sdf[0].abs().mean())) and reg[1].item() == 0.0
    (out.sum() + reg.sum()).backward()
    # the fixed sample's sdf is detached: its only gradient is the |sdf| regulariser's
    torch.testing.assert_close(sdf.grad[0], torch.sign(sdf[0].detach()) / grid.num_vertices)
    torch.testing.assert_close(sdf.grad[1], torch.ones(grid.num_vertices))
    # without check_idx (DMTet) both samples have a sign change
    assert postprocess_geometry(sdf.detach(), deform, centre, shell)[3].tolist() == [False, False]


# ---------------------------------------------------------------- regularisers
def test_regulariser_values_by_hand():
    weights = torch.full((2, 3, 21), 0.5)
    weights[1, 0, 0] = -1.5  # square 2.25 instead of 0.25
    dev, w = flexicubes_regularization([torch.tensor([1.0, 3.0]), torch.tensor([2.0, 6.0, 3.0])], weights)
    assert float(dev) == 3.0  # (1 + 3 + 2 + 6 + 3) / 5: one mean over all pairs of the batch
    assert float(w) == pytest.approx((125 * 0.25 + 2.25) / 126)
    dev, _ = flexicubes_regularization([torch.zeros(0), torch.zeros(0)], weights)
    assert float(dev) == 0.0  # every mesh empty
    with pytest.raises(ValueError, match="weights"):
        flexicubes_regularization([torch.ones(2)], torch.ones(2, 3, 20))


def test_training_losses_add_the_flexicubes_terms(gen, ws):
    from get3d.training.config import TrainConfig
    from get3d.training.step import FakeInputs, run_g_main
    from render.camera import sample_cameras

    d = Discriminator(DiscriminatorConfig.tiny())
    cams = sample_cameras(2, "shapenet_car", generator=torch.Generator().manual_seed(0))
    fake = FakeInputs(ws, cams, cams.condition().float())
    cfg = TrainConfig()
    for p in gen.parameters():
        p.grad = None
    stats = run_g_main(gen, d, fake, cfg, 1.0, backend="torch")
    rest = stats["G/adv_rgb"] + stats["G/adv_mask"] + 0.01 * stats["G/sdf_sign"] + stats["G/empty"]
    want = rest + 0.5 * stats["G/flexicubes_dev"] + 0.1 * stats["G/flexicubes_weights"]
    assert stats["G/loss"] == pytest.approx(want, rel=1e-5)
    assert stats["G/flexicubes_dev"] > 0 and stats["G/flexicubes_weights"] > 0
    head = gen.synthesis.generator.mlp_synthesis_weight.layers[0].weight
    assert head.grad is not None and float(head.grad.abs().sum()) > 0


# ---------------------------------------------------------------- configs and checkpoints
def test_bad_configurations():
    with pytest.raises(ValueError, match="iso_surface: flexicubes needs the unified generator"):
        GeneratorConfig.tiny(one_3d_generator=False, iso_surface="flexicubes")
    with pytest.raises(ValueError, match=r"iso_surface: expected one of \['dmtet', 'flexicubes'\]"):
        GeneratorConfig(iso_surface="marching_cubes")
    with pytest.raises(ValueError, match="grid_resolution: expected >= 2"):
        dataclasses.replace(CFG, grid_resolution=1)
    assert GeneratorConfig.from_dict({"iso_surface": "flexicubes"}).iso_surface is IsoSurface.FLEXICUBES
    with pytest.raises(ValueError, match="grid: a FlexiCubes generator"):
        Generator(CFG, grid=dmtet.TetGrid.bcc(4, scale=CFG.dmtet_scale))
    g = Generator(CFG)
    with pytest.raises(ValueError, match="tet_grid: a FlexiCubes generator has no tet grid"):
        _ = g.tet_grid
    with pytest.raises(ValueError, match="grid: a FlexiCubes generator's voxel grid"):
        g.set_grid(dmtet.TetGrid.bcc(4, scale=CFG.dmtet_scale))


@pytest.fixture(scope="module")
def official_file(tmp_path_factory):
    """A synthetic official-format file (no stored config) of the tiny FlexiCubes model."""
    torch.manual_seed(3)
    g, g_ema, d = Generator(CFG), Generator(CFG), Discriminator(DiscriminatorConfig.tiny())
    path = tmp_path_factory.mktemp("flexi") / "network-snapshot-flexicubes.pt"
    torch.save({"G": g.state_dict(), "G_ema": g_ema.state_dict(), "D": d.state_dict()}, path)
    return path, g, g_ema


def test_strict_load_and_detection(official_file):
    path, g, g_ema = official_file
    nets = load_official_checkpoint(path, CFG, DiscriminatorConfig.tiny())
    for ours, ref in ((nets.G, g), (nets.G_ema, g_ema)):
        assert ours.config.flexicubes
        for (k, a), (_, b) in zip(ours.state_dict().items(), ref.state_dict().items(), strict=True):
            assert torch.equal(a, b), k
    stored = path.with_name("asdict.pt")  # a config stored as dataclasses.asdict keeps the enum member
    torch.save({"G_ema": g_ema.state_dict(), "config": {"generator": dataclasses.asdict(CFG)}}, stored)
    assert load_generator(stored).config == CFG
    loaded = load_generator(path, config=CFG, grid_resolution=6)
    assert loaded.grid.resolution == 6 and loaded.config.grid_resolution == 6
    with torch.device("meta"):
        off = Generator(GeneratorConfig.official(iso_surface="flexicubes")).state_dict()
    assert _generator_config({}, off, "f.pt", None) == GeneratorConfig.official(iso_surface="flexicubes")


def test_the_wrong_iso_surface_is_a_clear_error(official_file, tmp_path):
    path = official_file[0]
    dmtet_cfg = GeneratorConfig.tiny()
    msg = r"^config: iso_surface=dmtet, but the 'G_ema' state_dict of .* holds a FlexiCubes generator"
    with pytest.raises(ValueError, match=msg):
        load_generator(path, config=dmtet_cfg)
    with pytest.raises(ValueError, match=r"iso_surface=dmtet, but the 'G' state_dict"):
        load_official_checkpoint(path, dmtet_cfg, DiscriminatorConfig.tiny())
    other = tmp_path / "dmtet.pt"
    torch.save({"G_ema": Generator(dmtet_cfg).state_dict()}, other)
    with pytest.raises(ValueError, match=r"^config: iso_surface=flexicubes, .* holds a DMTet generator"):
        load_generator(other, config=CFG)
    with pytest.raises(ValueError, match="grid: a FlexiCubes generator extracts meshes from a voxel grid"):
        load_generator(path, config=CFG, grid=dmtet.TetGrid.bcc(4, scale=CFG.dmtet_scale))
