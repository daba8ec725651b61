"""The generation protocol (style mixing, quantisation) and an end-to-end run_eval on tiny data."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from get3d.metrics import EvalConfig, GeometryProtocol, Metric, run_eval
from get3d.metrics.evaluate import (
    generate_images,
    generate_point_clouds,
    mix_latents,
    quantize_generated,
    real_images,
    reference_point_clouds,
)
from get3d.metrics.inception import FeatureExtractor
from get3d.networks import Generator, GeneratorConfig


@pytest.fixture(scope="module")
def generator() -> Generator:
    torch.manual_seed(0)
    return Generator(GeneratorConfig.tiny()).eval()


def test_style_mixing_per_sample_and_stream(generator):
    g = torch.Generator().manual_seed(0)
    z_geo, z_tex = torch.randn(64, 16, generator=g), torch.randn(64, 16, generator=g)
    plain = generator.map_latents(z_geo, z_tex)
    none = mix_latents(generator, z_geo, z_tex, style_mixing_prob=0.0)
    assert torch.equal(none.geo, plain.geo) and torch.equal(none.tex, plain.tex)
    mixed = mix_latents(
        generator, z_geo, z_tex, style_mixing_prob=1.0, generator=torch.Generator().manual_seed(1)
    )
    for ws, ref in ((mixed.geo, plain.geo), (mixed.tex, plain.tex)):
        assert torch.equal(ws[:, 0], ref[:, 0])  # cutoff >= 1: the first layer is never replaced
        changed = (ws != ref).any(-1)  # [B, L]
        assert changed[:, -1].all()  # with p = 1 every sample mixes, so the last layer changes
        # per sample the changed layers are a suffix: once changed, changed to the end
        assert (changed.int().diff(dim=1) >= 0).all()
        assert len({int(c.int().argmax()) for c in changed}) > 1  # cutoffs differ between samples
    half = mix_latents(
        generator, z_geo, z_tex, style_mixing_prob=0.5, generator=torch.Generator().manual_seed(2)
    )
    share = (half.tex != plain.tex).any(-1)[:, -1].float().mean()
    assert 0.2 < share < 0.8


def test_quantisation_is_get3ds():
    x = torch.tensor([-2.0, -1.0, -0.004, 0.0, 0.99, 1.0, 3.0])
    # uint8(clamp(x * 127.5 + 128, 0, 255)): truncation towards zero after the clamp
    assert quantize_generated(x).tolist() == [0, 0, 127, 128, 254, 255, 255]


def test_generation_is_seeded(generator):
    config = EvalConfig(num_images=3, batch_size=2, resolution=16, seed=5)
    a = torch.cat(list(generate_images(generator, 3, config)))
    b = torch.cat(list(generate_images(generator, 3, config)))
    assert a.shape == (3, 3, 16, 16) and a.dtype == torch.uint8 and torch.equal(a, b)
    geo = EvalConfig(batch_size=2, geometry=GeometryProtocol(num_points=64), seed=5)
    first = generate_point_clouds(generator, 3, geo)
    clouds, skipped, again = first.clouds, first.skipped, generate_point_clouds(generator, 3, geo).clouds
    assert clouds.shape == (3, 64, 3) and skipped >= 0 and torch.equal(clouds, again)
    extent = (clouds.amax(1) - clouds.amin(1)).amax(-1)
    assert (extent <= 1.0 + 1e-5).all() and (extent > 0.9).all()


def test_empty_shapes_are_scored_with_getds_fallback_mesh(generator):
    """GET3D keeps the empty-shape fix's fallback mesh (one shape per call): no shape is skipped."""
    import copy

    empty = copy.deepcopy(generator)
    with torch.no_grad():  # a huge positive SDF bias: every raw SDF is > 0, no surface anywhere
        empty.synthesis.generator.mlp_synthesis_sdf.layers[-1].bias.fill_(1e4)
    geo = GeometryProtocol(num_points=32)
    out = generate_point_clouds(empty, 3, EvalConfig(batch_size=2, geometry=geo, seed=3))
    assert out.clouds.shape == (3, 32, 3) and torch.isfinite(out.clouds).all()
    assert out.skipped == 0 and out.fallback == 3
    # each fallback is the shape's own (generated alone: the fix's min/max are its own)
    from get3d.metrics.geometry import Role, surface_point_cloud
    from get3d.metrics.protocol import _latents
    from get3d.networks import Latents

    config = EvalConfig(batch_size=2, geometry=geo, seed=3)
    ws = _latents(empty, 2, config, torch.Generator().manual_seed(config.seed + 1))
    for i in range(2):
        one = Latents(geo=ws.geo[i : i + 1], tex=ws.tex[i : i + 1])
        mesh = empty.meshes(empty.grid_geometry(empty.triplanes(one), one))[0]
        alone = surface_point_cloud(mesh.vertices, mesh.faces, geo, role=Role.GENERATED, index=i)
        assert torch.allclose(alone, out.clouds[i], atol=1e-5)
    normal = generate_point_clouds(generator, 3, EvalConfig(batch_size=2, geometry=geo, seed=3))
    assert normal.fallback == 0 and normal.skipped == 0
    with pytest.raises(ValueError, match="empty shapes"):  # the old behaviour, now a deviation
        generate_point_clouds(empty, 2, EvalConfig(batch_size=2, geometry=geo, skip_empty=True))


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from get3d.data.prepare import PrepareConfig, prepare_shape
    from get3d.data.procedural import generate_shape, write_shape

    root = tmp_path_factory.mktemp("tiny_data")
    config = PrepareConfig(synset="02958343", resolution=16, views=2, supersample=1)
    for i in range(3):
        mesh_path = write_shape(generate_shape("car", i, texture_size=64), root / "meshes" / f"car_{i:04d}")
        prepare_shape(mesh_path, f"car_{i:04d}", root / "data", config)
    split = root / "test.txt"
    split.write_text("car_0000\ncar_0002\n")
    return root


class _TinyFeatures(FeatureExtractor):
    """A small fixed random conv net standing in for Inception (the pipeline, not the network)."""

    identity = "test:tiny"

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images.float() / 127.5 - 1)


def test_real_images_and_reference_clouds(tiny_data):
    batches, count, files = real_images(
        tiny_data / "data/img/02958343", tiny_data / "data/camera", 16, split_file=tiny_data / "test.txt"
    )
    images = torch.cat(list(batches))
    assert count == 4 and len(files) == 4 and images.shape == (4, 3, 16, 16) and images.dtype == torch.uint8
    clouds, ids = reference_point_clouds(tiny_data / "meshes", GeometryProtocol(num_points=32))
    assert ids == ["car_0000", "car_0001", "car_0002"] and clouds.shape == (3, 32, 3)
    with pytest.raises(ValueError, match="mesh_dir"):
        reference_point_clouds(tiny_data / "meshes", shape_ids=["nope"])


def test_run_eval_end_to_end(tiny_data, generator, tmp_path):
    config = EvalConfig(
        num_images=6,
        batch_size=3,
        resolution=16,
        kid_subsets=5,
        geometry=GeometryProtocol(num_points=128, gen_per_ref=2),
    )
    kwargs = dict(
        data_dir=tiny_data / "data/img/02958343",
        camera_root=tiny_data / "data/camera",
        split_file=tiny_data / "test.txt",
        mesh_dir=tiny_data / "meshes",
        inception=_TinyFeatures(),
        config=config,
        cache_dir=tmp_path / "cache",
    )
    report = run_eval(generator, output=tmp_path / "out/eval.json", **kwargs)
    assert report.fid is not None and report.fid > 0 and report.kid is not None
    scores = report.geometry
    assert scores.num_ref == 2 and scores.num_gen == 4 and scores.num_gen_nna == 2
    assert 0 < scores.cov_cd <= 100 and scores.mmd_cd > 0 and 0 <= scores.nna_cd <= 100
    assert report.num_real == 4 and report.num_images == 6
    assert report.protocol["real_stats_cached"] is False
    assert any("resolution 16" in d for d in report.deviations)
    assert any("geometry protocol" in d for d in report.deviations)
    assert report.empty_skipped == 0 and report.empty_fallback >= 0
    saved = json.loads((tmp_path / "out/eval.json").read_text())
    assert saved["fid"] == pytest.approx(report.fid) and saved["geometry"]["cov_cd"] == scores.cov_cd
    # same seed: same numbers; the real statistics now come from the cache
    again = run_eval(generator, **kwargs)
    assert again.protocol["real_stats_cached"] is True
    assert again.fid == pytest.approx(report.fid) and again.geometry == scores


def test_run_eval_reads_the_config_stored_in_our_checkpoints(tiny_data, generator, tmp_path):
    """A get3d.training checkpoint of a non-official size evaluates without naming its sizes."""
    from get3d.networks import Discriminator, DiscriminatorConfig
    from get3d.training.checkpoint import save_atomic
    from get3d.training.config import TrainConfig, config_to_dict

    config = TrainConfig(generator=generator.config, discriminator=DiscriminatorConfig.tiny())
    state = generator.state_dict()
    disc = Discriminator(DiscriminatorConfig.tiny()).state_dict()
    path = save_atomic(
        {"G": state, "G_ema": state, "D": disc, "config": config_to_dict(config), "step": 1},
        tmp_path / "checkpoint-00000001.pt",
    )
    kwargs = dict(
        split_file=tiny_data / "test.txt",
        mesh_dir=tiny_data / "meshes",
        config=EvalConfig(
            metrics=(Metric.COV_MMD,), geometry=GeometryProtocol(num_points=64, gen_per_ref=1), nna=False
        ),
        cache_dir=None,
    )
    from_file = run_eval(path, **kwargs)
    assert from_file.geometry == run_eval(generator, **kwargs).geometry
    assert from_file.geometry.num_ref == 2 and from_file.geometry.num_gen == 2


def test_run_eval_argument_errors(generator, tiny_data):
    with pytest.raises(ValueError, match="data_dir"):
        run_eval(generator, config=EvalConfig(metrics=(Metric.FID,)))
    with pytest.raises(ValueError, match="mesh_dir"):
        run_eval(generator, config=EvalConfig(metrics=(Metric.COV_MMD,)))
    with pytest.raises(FileNotFoundError, match="inception"):
        run_eval(
            generator,
            data_dir=tiny_data / "data/img/02958343",
            inception=tiny_data / "missing.pkl",
            config=EvalConfig(metrics=(Metric.FID,), num_images=2),
        )
    with pytest.raises(ValueError, match="num_images"):
        EvalConfig(num_images=1)
    with pytest.raises(ValueError):
        EvalConfig(metrics=("fid", "fid"))


def test_procedural_eval_inputs_point_at_the_builtin_set(tmp_path):
    from get3d.data import ProceduralDatasetConfig, procedural_dataset
    from get3d.data.layout import read_split
    from get3d.metrics.evaluate import procedural_eval_inputs

    config = ProceduralDatasetConfig(
        categories=("table",), shapes_per_category=4, views=1, resolution=8, supersample=1, texture_size=64,
        fractions=(0.5, 0.25, 0.25),
    )  # fmt: skip
    data = procedural_dataset(config, tmp_path, workers=1, progress=False)
    inputs = procedural_eval_inputs("table", "test", data)
    assert set(inputs) == {"data_dir", "camera_root", "split_file", "mesh_dir"}
    ids = read_split(inputs["split_file"])
    clouds, ref_ids = reference_point_clouds(
        inputs["mesh_dir"], GeometryProtocol(num_points=16), shape_ids=ids
    )
    assert ref_ids == sorted(ids) and clouds.shape == (len(ids), 16, 3)
    batches, count, _ = real_images(
        inputs["data_dir"], inputs["camera_root"], 8, split_file=inputs["split_file"]
    )
    assert count == len(ids) and torch.cat(list(batches)).shape == (count, 3, 8, 8)


def test_run_eval_cov_mmd_lfd_option(tiny_data, generator):
    from get3d.metrics.lfd import LFDProtocol

    config = EvalConfig(
        metrics=(Metric.COV_MMD_LFD,),
        geometry=GeometryProtocol(gen_per_ref=1),
        lfd=LFDProtocol(camera_sets=2, resolution=32),
    )
    report = run_eval(
        generator,
        split_file=tiny_data / "test.txt",
        mesh_dir=tiny_data / "meshes",
        config=config,
        cache_dir=None,
    )
    assert report.geometry is None and report.lfd is not None
    assert report.lfd["num_ref"] == 2 and report.lfd["num_gen"] == 2
    assert 0 < report.lfd["cov_lfd"] <= 100 and report.lfd["mmd_lfd"] > 0
    assert any("LFD on our rasterizer" in d for d in report.deviations)
    assert any("LFD protocol" in d for d in report.deviations)
