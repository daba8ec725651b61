"""State-dict names, shapes, order and kinds equal the official GET3D checkpoints (meta device)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from get3d.networks import Discriminator, DiscriminatorConfig, Generator, GeneratorConfig

DATA = Path(__file__).parent / "data"


def _official(name: str) -> list[tuple[str, tuple[int, ...], str]]:
    rows = []
    for line in (DATA / name).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, shape, dtype, kind, numel = line.split("\t")
        dims = tuple(int(s) for s in shape.strip("[]").split(",") if s.strip())
        assert dtype == "float32"
        assert int(numel) == int(torch.Size(dims).numel())
        rows.append((key, dims, kind))
    return rows


def _ours(module: torch.nn.Module) -> list[tuple[str, tuple[int, ...], str]]:
    params = {name for name, _ in module.named_parameters()}
    return [
        (key, tuple(t.shape), "param" if key in params else "buffer")
        for key, t in module.state_dict().items()
    ]


def _compare(ours, official):
    ours_keys = [k for k, _, _ in ours]
    off_keys = [k for k, _, _ in official]
    missing = sorted(set(off_keys) - set(ours_keys))
    extra = sorted(set(ours_keys) - set(off_keys))
    assert not missing and not extra, f"missing {missing[:5]}..., unexpected {extra[:5]}..."
    assert ours_keys == off_keys  # same order, too
    for (k, shape, kind), (_, oshape, okind) in zip(ours, official, strict=True):
        assert shape == oshape, f"{k}: shape {shape} != official {oshape}"
        assert kind == okind, f"{k}: {kind} != official {okind}"


def test_generator_matches_official_key_list():
    with torch.device("meta"):
        g = Generator(GeneratorConfig.official())
    official = _official("generator.txt")
    assert len(official) == 217
    _compare(_ours(g), official)
    assert sum(p.numel() for p in g.parameters()) == 34_314_180
    assert sum(b.numel() for b in g.buffers()) == 176_080
    assert g.num_ws_geo == 22 and g.num_ws == 9
    tps = g.synthesis.generator.tri_plane_synthesis
    assert tps.num_ws_geo == 20 and tps.num_ws_tex == 7
    counts = {
        "synthesis.generator.tri_plane_synthesis": 30_001_101,
        "synthesis.generator.mlp_synthesis_tex": 34_416,
        "synthesis.generator.mlp_synthesis_sdf": 33_921,
        "synthesis.generator.mlp_synthesis_def": 33_987,
        "synthesis.to_rgb": 8_259,
        "mapping": 2_101_248,
        "mapping_geo": 2_101_248,
    }
    for prefix, n in counts.items():
        assert sum(p.numel() for p in g.get_submodule(prefix).parameters()) == n, prefix


def test_separate_generator_matches_official_key_list():
    with torch.device("meta"):
        g = Generator(GeneratorConfig.official(one_3d_generator=False))
    official = _official("generator_separate.txt")
    assert len(official) == 299
    _compare(_ours(g), official)
    assert sum(p.numel() for p in g.parameters()) == 53_466_750
    assert sum(b.numel() for b in g.buffers()) == 181_584
    assert g.num_ws == 22 and g.num_ws_geo == 11
    syn = g.synthesis
    assert syn.geometry_synthesis_sdf.num_ws == 7 and syn.geometry_synthesis_def.num_ws_all == 10
    assert syn.geometry_synthesis_tex.num_ws_tri_plane == 20
    counts = {
        "synthesis.geometry_synthesis_sdf": 8_360_718,
        "synthesis.geometry_synthesis_def": 8_164_112,
        "synthesis.geometry_synthesis_tex": 32_731_165,
        "synthesis.to_rgb": 8_259,
        "mapping": 2_101_248,
        "mapping_geo": 2_101_248,
    }
    for prefix, n in counts.items():
        assert sum(p.numel() for p in g.get_submodule(prefix).parameters()) == n, prefix
    # the README's separate runs use the CLI default --fp32 1: no clamp in the texture triplane
    assert GeneratorConfig.official("chair", one_3d_generator=False).conv_clamp is None


def test_flexicubes_generator_matches_official_key_list():
    with torch.device("meta"):
        g = Generator(GeneratorConfig.official(iso_surface="flexicubes"))
    official = _official("generator_flexicubes.txt")
    assert len(official) == 225
    _compare(_ours(g), official)
    assert sum(p.numel() for p in g.parameters()) == 34_470_841
    assert sum(b.numel() for b in g.buffers()) == 176_080
    assert g.num_ws_geo == 22 and g.num_ws == 9  # the weight head reads the SDF head's 2 w's
    head = g.synthesis.generator.mlp_synthesis_weight
    assert sum(p.numel() for p in head.parameters()) == 156_661
    assert (head.layers[0].in_channels, head.out_channels) == (8 * 32, 21)
    cfg = g.config
    assert cfg.grid_resolution == 90 and cfg.effective_deformation_multiplier == 2.0
    assert g.grid.num_vertices == 91**3 and g.grid.num_cubes == 90**3


def test_discriminator_matches_official_key_list():
    with torch.device("meta"):
        d = Discriminator(DiscriminatorConfig.official())
    official = _official("discriminator_1024.txt")
    assert len(official) == 216
    _compare(_ours(d), official)
    assert sum(p.numel() for p in d.parameters()) == 60_339_840


@pytest.mark.parametrize("category,scale", [("car", 1.0), ("chair", 0.8)])
def test_official_presets(category, scale):
    cfg = GeneratorConfig.official(category)
    assert cfg.dmtet_scale == scale and cfg.triplane_resolution == 256 and cfg.deformation_divisor == 90
    with pytest.raises(ValueError, match="category"):
        GeneratorConfig.official("boat")


def test_strict_load_of_an_official_layout_state_dict():
    # A state_dict with exactly the official names/shapes (random values) loads with strict=True
    # into a real (CPU) discriminator of another size only when sizes match: check the tiny
    # configuration round-trips and that a wrong shape is refused by name.
    d = Discriminator(DiscriminatorConfig.tiny())
    sd = {k: torch.randn_like(v) for k, v in d.state_dict().items()}
    d2 = Discriminator(DiscriminatorConfig.tiny())
    d2.load_state_dict(sd, strict=True)
    sd["b4.fc.weight"] = torch.zeros(1, 1)
    with pytest.raises(RuntimeError, match="b4.fc.weight"):
        d2.load_state_dict(sd, strict=True)
