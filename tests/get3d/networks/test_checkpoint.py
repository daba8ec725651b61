"""Loading checkpoints in the official ``{'G', 'G_ema', 'D'}`` layout, and its error messages."""

from __future__ import annotations

import pytest
import torch

from get3d.networks import (
    Discriminator,
    DiscriminatorConfig,
    Generator,
    GeneratorConfig,
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
