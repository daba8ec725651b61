"""Loading checkpoints: the official ``{'G', 'G_ema', 'D'}`` layout and ours (with the stored
config), through ``load_generator`` and ``load_official_checkpoint``, and their error messages."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import dmtet
from get3d.networks import (
    Discriminator,
    DiscriminatorConfig,
    Generator,
    GeneratorConfig,
    load_generator,
    load_official_checkpoint,
)
from get3d.networks.checkpoint import OfficialNetworks

GCFG = GeneratorConfig.tiny()
DCFG = DiscriminatorConfig.tiny()


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    torch.manual_seed(0)
    g, g_ema, d = Generator(GCFG), Generator(GCFG), Discriminator(DCFG)
    with torch.no_grad():
        g_ema.mapping.w_avg.normal_()
    path = tmp_path_factory.mktemp("ckpt") / "network-snapshot-000000.pt"
    torch.save({"G": g.state_dict(), "G_ema": g_ema.state_dict(), "D": d.state_dict()}, path)
    return path, g, g_ema, d


def test_round_trip_gives_identical_networks(snapshot):
    path, g, g_ema, d = snapshot
    nets = load_official_checkpoint(path, GCFG, DCFG)
    assert isinstance(nets, OfficialNetworks)
    for ours, ref in ((nets.G, g), (nets.G_ema, g_ema), (nets.D, d)):
        for (k, a), (_, b) in zip(ours.state_dict().items(), ref.state_dict().items(), strict=True):
            assert torch.equal(a, b), k
    z = torch.randn(1, GCFG.z_dim)
    ws_a = nets.G_ema.map_latents(z, z, truncation_psi=0.7)
    ws_b = g_ema.map_latents(z, z, truncation_psi=0.7)
    torch.testing.assert_close(ws_a.geo, ws_b.geo)


def test_mismatching_default_config_is_reported(snapshot):
    path = snapshot[0]
    # Only the resolutions are read from the file; other sizes come from the (official) config.
    with pytest.raises(ValueError, match="does not match the configuration"):
        load_official_checkpoint(path)


def test_bad_files(tmp_path, snapshot):
    path = snapshot[0]
    with pytest.raises(FileNotFoundError, match="path"):
        load_official_checkpoint(tmp_path / "missing.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ValueError, match="truncated"):
        load_official_checkpoint(truncated, GCFG, DCFG)
    other = tmp_path / "other.pt"
    torch.save({"model": {}}, other)
    with pytest.raises(ValueError, match="'G', 'G_ema' and 'D'"):
        load_official_checkpoint(other)
    torch.save([1, 2], other)
    with pytest.raises(ValueError, match="expected a dict"):
        load_official_checkpoint(other)
    sd = Generator(GCFG).state_dict()
    sd["synthesis.to_rgb.bias"] = torch.zeros(5)
    torch.save({"G_ema": sd}, other)
    with pytest.raises(ValueError, match="synthesis.to_rgb.bias"):
        load_official_checkpoint(other, GCFG)
    sd.pop("synthesis.to_rgb.bias")
    torch.save({"G_ema": sd}, other)
    with pytest.raises(ValueError, match="Missing key"):
        load_official_checkpoint(other, GCFG)


def test_partial_file_and_update_w_avg(tmp_path):
    torch.manual_seed(1)
    g = Generator(GCFG)
    p = tmp_path / "g.pt"
    torch.save({"G_ema": g.state_dict()}, p)
    nets = load_official_checkpoint(p, GCFG)
    assert nets.G is None and nets.D is None and nets.G_ema is not None
    nets.G_ema.update_w_avg(num_samples=500, generator=torch.Generator().manual_seed(0))
    assert nets.G_ema.mapping.w_avg.abs().sum() > 0 and nets.G_ema.mapping_geo.w_avg.abs().sum() > 0


# ------------------------------------------------------------------------------ load_generator


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    """A checkpoint as get3d.training writes it: networks, optimiser-free state, the full config."""
    from get3d.training.checkpoint import save_atomic
    from get3d.training.config import TrainConfig, config_to_dict

    torch.manual_seed(2)
    gcfg = dataclasses.replace(GCFG, dmtet_scale=0.8, deformation_divisor=12, grid_resolution=5)
    g, g_ema, d = Generator(gcfg), Generator(gcfg), Discriminator(DCFG)
    config = config_to_dict(TrainConfig(generator=gcfg, discriminator=DCFG))
    state = {"G": g.state_dict(), "G_ema": g_ema.state_dict(), "D": d.state_dict(), "config": config}
    path = save_atomic({**state, "step": 3, "metric": None}, tmp_path_factory.mktemp("run") / "ckpt.pt")
    return path, gcfg, g, g_ema, d


def test_load_generator_official_file(snapshot):
    path, g, g_ema, _ = snapshot
    loaded = load_generator(path, config=GCFG)  # official files store no sizes
    assert _same_weights(loaded, g_ema) and loaded.config == GCFG
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    grid = dmtet.TetGrid.bcc(GCFG.grid_resolution, scale=GCFG.dmtet_scale)
    assert torch.equal(loaded.tet_grid.vertices, grid.vertices)
    assert _same_weights(load_generator(path, config=GCFG, which="G"), g)
    # without a config: official sizes (triplane side read from the file), which the tiny weights do not fit
    with pytest.raises(ValueError, match="path: the 'G_ema' state_dict .* does not match the configuration"):
        load_generator(path)
    z = torch.randn(2, GCFG.z_dim)
    ws_a, ws_b = loaded.map_latents(z, z), g_ema.map_latents(z, z)
    assert torch.equal(ws_a.geo, ws_b.geo) and torch.equal(ws_a.tex, ws_b.tex)


def test_load_generator_reads_the_config_stored_in_our_checkpoints(ours):
    path, gcfg, g, g_ema, d = ours
    loaded = load_generator(path)
    assert loaded.config == gcfg and _same_weights(loaded, g_ema)
    assert loaded.tet_grid.num_vertices == dmtet.TetGrid.bcc(5).num_vertices
    assert float(loaded.tet_grid.vertices.max()) == pytest.approx(0.4)  # box of dmtet_scale 0.8
    nets = load_official_checkpoint(path)  # the same code: all three networks from the stored config
    assert nets.G.config == gcfg and _same_weights(nets.G, g) and _same_weights(nets.G_ema, g_ema)
    assert nets.D.config == DCFG and _same_weights(nets.D, d)


def test_load_generator_explicit_config_and_grid_override_the_stored_ones(ours, tmp_path):
    path, gcfg, _, g_ema, _ = ours
    other = dataclasses.replace(gcfg, dmtet_scale=1.0, deformation_divisor=30, grid_resolution=4)
    loaded = load_generator(path, config=other)
    assert loaded.config == other and _same_weights(loaded, g_ema)
    assert loaded.tet_grid.num_vertices == dmtet.TetGrid.bcc(4).num_vertices
    assert float(loaded.tet_grid.vertices.max()) == pytest.approx(0.5)
    # grid_resolution, a grid, or a grid file, each in the box of the configuration in use
    assert load_generator(path, grid_resolution=3).tet_grid.num_vertices == dmtet.TetGrid.bcc(3).num_vertices
    grid = dmtet.TetGrid.cubes(3, scale=gcfg.dmtet_scale)
    assert torch.equal(load_generator(path, grid=grid).tet_grid.tets, grid.tets)
    grid.save(tmp_path / "grid.npz")
    from_file = load_generator(path, grid=tmp_path / "grid.npz").tet_grid
    torch.testing.assert_close(from_file.vertices, grid.vertices)
    with pytest.raises(ValueError, match="grid, grid_resolution"):
        load_generator(path, grid=grid, grid_resolution=4)
    with pytest.raises(ValueError, match="grid"):  # a grid for another box
        load_generator(path, grid=dmtet.TetGrid.bcc(3, scale=1.0))
    wrong = dataclasses.replace(gcfg, mlp_hidden=gcfg.mlp_hidden * 2)
    with pytest.raises(ValueError, match="does not match the configuration"):
        load_generator(path, config=wrong)
    with pytest.raises(TypeError, match="config"):
        load_generator(path, config={"z_dim": 16})


def test_load_generator_reads_the_old_name_tet_res(ours, tmp_path):
    path, gcfg, _, g_ema, _ = ours
    data = torch.load(path, weights_only=True)
    stored = data["config"]["generator"]
    stored["tet_res"] = stored.pop("deformation_divisor")  # a checkpoint from before the rename
    old = tmp_path / "old.pt"
    torch.save(data, old)
    loaded = load_generator(old)
    assert loaded.config == gcfg and loaded.config.deformation_divisor == 12 and _same_weights(loaded, g_ema)
    stored["deformation_divisor"] = 12  # both names: ambiguous, refused
    torch.save(data, old)
    with pytest.raises(ValueError, match="tet_res"):
        load_generator(old)
    assert GeneratorConfig.from_dict({"tet_res": 7}).deformation_divisor == 7
    with pytest.raises(ValueError, match="unknown GeneratorConfig fields"):
        GeneratorConfig.from_dict({"tet_resolution": 7})


def test_load_generator_errors_name_the_argument(tmp_path, ours):
    path = ours[0]
    with pytest.raises(FileNotFoundError, match="^path: no checkpoint file"):
        load_generator(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="^path: .* is not a readable weights-only torch checkpoint"):
        load_generator(tmp_path / "junk.pt")
    torch.save({"model": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="^path: expected a dict with 'G', 'G_ema' and 'D'"):
        load_generator(tmp_path / "other.pt")
    with pytest.raises(TypeError, match="^path: "):
        load_generator(Generator(GCFG))
    data = torch.load(path, weights_only=True)
    data["config"] = {"generator": {"z_dim": "sixteen"}}
    torch.save(data, tmp_path / "bad_config.pt")
    with pytest.raises(ValueError, match="^path: the generator config stored in .* is invalid"):
        load_generator(tmp_path / "bad_config.pt")
    with pytest.raises(ValueError, match="^which: "):
        load_generator(path, which="D")
    torch.save({"G": data["G"]}, tmp_path / "only_g.pt")
    with pytest.raises(ValueError, match="^which: .* holds no 'G_ema'"):
        load_generator(tmp_path / "only_g.pt", config=ours[1])
    assert _same_weights(load_generator(tmp_path / "only_g.pt", config=ours[1], which="G"), ours[2])
