from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import yaml

from get3d.data import ProceduralDatasetConfig
from get3d.training import ConfigError, DataSource, TrainConfig, apply_overrides, config_to_dict, load_config
from get3d.training.config import config_from_dict

from .helpers import DATA, PRESETS, REPO


def test_defaults_are_get3d_values():
    c = TrainConfig()
    assert (c.batch, c.batch_gpu, c.total_kimg) == (32, 4, 20000.0)
    assert (c.loss.gamma, c.loss.d_reg_interval, c.loss.g_reg_interval) == (40.0, 16, 4)
    assert (c.loss.sdf_reg_weight, c.loss.style_mixing_prob) == (0.01, 0.9)
    assert (c.optim.g_lr, c.optim.beta1, c.optim.beta2, c.optim.eps) == (0.002, 0.0, 0.99, 1e-8)
    assert c.generator.image_resolution == 1024 and c.total_steps == 625_000


def test_yaml_overrides_only_named_fields(tmp_path: Path):
    path = tmp_path / "x.yaml"
    path.write_text("loss:\n  gamma: 80\nbatch: 16\n", encoding="utf-8")
    c = load_config(path)
    assert c.loss.gamma == 80.0 and isinstance(c.loss.gamma, float) and c.batch == 16
    assert c.loss.sdf_reg_weight == 0.01 and c.generator == TrainConfig().generator


@pytest.mark.parametrize(
    "text, key",
    [
        ("loss:\n  gama: 80\n", "loss.gama"),
        ("bach: 3\n", "bach"),
        ("generator:\n  zdim: 3\n", "generator.zdim"),
    ],
)
def test_unknown_yaml_key_is_named(tmp_path: Path, text: str, key: str):
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{key}: unknown key"):
        load_config(path)


@pytest.mark.parametrize(
    "override, key",
    [
        ("batch=1.5", "batch"),
        ("loss.gamma=abc", "loss.gamma"),
        ("deterministic=3", "deterministic"),
        ("data.source=web", "data.source"),
        ("optim.nope=1", "optim.nope"),
        ("loss=3", "loss"),
    ],
)
def test_bad_cli_override_is_named(override: str, key: str):
    with pytest.raises(ConfigError, match=rf"^{key}[:.]"):
        apply_overrides(TrainConfig(), [override])


def test_cli_overrides_are_typed_and_applied_together():
    c = apply_overrides(
        TrainConfig(),
        [
            "generator.image_resolution=64",
            "discriminator.image_resolution=64",
            "loss.gamma_mask=null",
            "loss.gamma=1e2",
            "data.source=builtin",
            "data.builtin_categories=[car]",
            "max_minutes=2",
        ],
    )
    assert c.generator.image_resolution == c.discriminator.image_resolution == 64
    assert c.loss.gamma == 100.0 and c.loss.gamma_mask is None and c.max_minutes == 2.0
    assert c.data.source is DataSource.BUILTIN and c.data.builtin_categories == ("car",)


def test_cross_field_check_names_the_field():
    with pytest.raises(ConfigError, match="discriminator.image_resolution"):
        apply_overrides(TrainConfig(), ["generator.image_resolution=64"])
    with pytest.raises(ConfigError, match="batch"):
        apply_overrides(TrainConfig(), ["batch=6", "batch_gpu=4"])
    with pytest.raises(ConfigError, match=r"generator: image_resolution"):
        apply_overrides(TrainConfig(), ["generator.image_resolution=0"])


def test_round_trip_through_dict_and_yaml():
    c = apply_overrides(TrainConfig(), ["loss.gamma=3", "data.split=null", "optim.ema_kimg=2.5"])
    back = config_from_dict(yaml.safe_load(yaml.safe_dump(config_to_dict(c))))
    assert back == c


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.stem)
def test_presets_load(preset: Path):
    c = load_config(preset)
    if preset.stem.startswith("shapenet_"):
        cat = preset.stem.split("_", 1)[1]
        separate = cat.endswith("_separate")  # GET3D README's --one_3d_generator 0 runs
        flexicubes = cat.endswith("_flexicubes")  # ... and its --iso_surface flexicubes runs
        cat = cat.removesuffix("_separate").removesuffix("_flexicubes")
        gamma = {"car": 40.0, "motorbike": 80.0, "chair": 3200.0 if separate else 400.0}[cat]
        scale = {"car": 1.0, "motorbike": 1.0, "chair": 0.8}[cat]
        assert c.loss.gamma == gamma and c.generator.dmtet_scale == scale
        assert c.generator.one_3d_generator is not separate
        assert c.generator.flexicubes is flexicubes
        assert c.generator.image_resolution == 1024 and c.batch == 32 and c.batch_gpu == 4
        assert c.loss.camera_distribution == f"shapenet_{cat}" and c.data.source is DataSource.FOLDER
    else:
        assert c.data.source is DataSource.BUILTIN and c.generator.image_resolution <= 64


def test_default_preset_uses_the_shared_builtin_set():
    c = load_config(REPO / "configs" / "default.yaml")
    shared = ProceduralDatasetConfig()
    assert (
        c.data.builtin_categories == shared.categories and c.data.builtin_shapes == shared.shapes_per_category
    )
    assert c.data.builtin_views == shared.views and c.data.builtin_resolution == shared.resolution
    assert DATA.categories == ("chair",)


def test_train_py_dry_run_prints_resolved_config():
    import train

    buf = io.StringIO()
    with redirect_stdout(buf):
        assert train.main(["--dry-run", "loss.gamma=7"]) == 0
    printed = yaml.safe_load(buf.getvalue())
    assert printed["loss"]["gamma"] == 7.0 and printed["generator"]["image_resolution"] == 32


def test_train_py_rejects_unknown_key(capsys):
    import train

    with pytest.raises(SystemExit):
        train.main(["--dry-run", "loss.gama=7"])
    assert "loss.gama: unknown key" in capsys.readouterr().err
