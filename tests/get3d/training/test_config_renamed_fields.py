"""``generator.tet_res`` is the old name of ``generator.deformation_divisor``: YAML files, command-line
overrides and the configs stored in checkpoints that use it still load, to the new field."""

from __future__ import annotations

from pathlib import Path

import pytest

from get3d.training import ConfigError, TrainConfig, apply_overrides, config_to_dict, load_config
from get3d.training.config import config_from_dict


def test_yaml_with_the_old_name_loads(tmp_path: Path):
    path = tmp_path / "old.yaml"
    path.write_text("generator:\n  tet_res: 24\n  grid_resolution: 12\n", encoding="utf-8")
    config = load_config(path)
    assert config.generator.deformation_divisor == 24 and config.generator.grid_resolution == 12
    assert load_config(path, ["generator.deformation_divisor=30"]).generator.deformation_divisor == 30


def test_override_and_stored_config_with_the_old_name():
    assert apply_overrides(TrainConfig(), ["generator.tet_res=5"]).generator.deformation_divisor == 5
    stored = config_to_dict(TrainConfig())
    assert "tet_res" not in stored["generator"]  # written with the new name
    del stored["generator"]["deformation_divisor"]
    stored["generator"]["tet_res"] = 45
    assert config_from_dict(stored).generator.deformation_divisor == 45


def test_both_names_are_refused_and_named(tmp_path: Path):
    path = tmp_path / "both.yaml"
    path.write_text("generator:\n  tet_res: 24\n  deformation_divisor: 24\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"generator\.tet_res.*generator\.deformation_divisor"):
        load_config(path)
    with pytest.raises(ConfigError, match="tet_res"):
        apply_overrides(TrainConfig(), ["generator.tet_res=5", "generator.deformation_divisor=6"])
    with pytest.raises(ConfigError, match=r"generator\.deformation_divisor: expected an int"):
        apply_overrides(TrainConfig(), ["generator.tet_res=five"])
