"""Preset inheritance (``base:``): the ShapeNet presets resolve exactly as their stand-alone
versions did (but for the split they train on), and bases merge, resolve relative to the preset
and reject cycles and bad keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from get3d.training import ConfigError, TrainConfig, config_to_dict, load_config
from get3d.training.config import config_from_dict
from get3d.training.preset_loader import preset_dir, preset_path, read_preset

from .helpers import CONFIGS


def _standalone(gamma: int, dmtet_scale: float, camera: str) -> dict:
    """A ShapeNet preset as a stand-alone file held it before the presets shared a base."""
    return {
        "generator": {"dmtet_scale": dmtet_scale, "image_resolution": 1024},
        "discriminator": {"image_resolution": 1024},
        # split: train since issue 15 (GET3D's --use_shapenet_split 1; it was null = every shape)
        "data": {
            "source": "folder",
            "path": None,
            "camera_path": None,
            "split": "train",
            "split_dir": None,
            "workers": 3,
        },
        "loss": {"gamma": gamma, "camera_distribution": camera},
        "batch": 32,
        "batch_gpu": 4,
        "total_kimg": 20000,
        "log_every": 10,
        "snapshot_every": 1560,
        "checkpoint_every": 6250,
        "keep_checkpoints": 5,
        "fid_every_kimg": 200,  # added with FID during training (GET3D's fid50k every 200 kimg)
        "fid_images": 50000,
    }


# The contents of configs/shapenet_*.yaml before they inherited configs/base/shapenet.yaml.
STANDALONE = {
    "shapenet_car": _standalone(40, 1.0, "shapenet_car"),
    "shapenet_chair": _standalone(400, 0.8, "shapenet_chair"),
    "shapenet_motorbike": _standalone(80, 1.0, "shapenet_motorbike"),
}


@pytest.mark.parametrize("name", sorted(STANDALONE))
def test_shapenet_presets_resolve_as_before(name: str):
    path = CONFIGS / f"{name}.yaml"
    assert "base" in path.read_text(encoding="utf-8")  # it does inherit
    before = config_from_dict(STANDALONE[name], TrainConfig)
    after = load_config(path)
    assert after == before and config_to_dict(after) == config_to_dict(before)
    assert read_preset(path) == STANDALONE[name]  # the merged mapping itself, key for key


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_base_chain_merges_nested_keys_and_the_inheriting_file_wins(tmp_path: Path, monkeypatch):
    _write(tmp_path, "bases/root.yaml", "loss:\n  gamma: 1\n  sdf_reg_weight: 0.5\nbatch: 16\nseed: 3\n")
    _write(tmp_path, "bases/mid.yaml", "base: root.yaml\nloss:\n  gamma: 2\nbatch: 8\n")
    leaf = _write(tmp_path, "presets/leaf.yaml", "base: ../bases/mid.yaml\nloss:\n  gamma: 3\n")
    monkeypatch.chdir(tmp_path / "bases")  # bases resolve against the preset's folder, not the cwd
    c = load_config(leaf, ["seed=4"])
    assert (c.loss.gamma, c.loss.sdf_reg_weight, c.batch, c.seed) == (3.0, 0.5, 8, 4)
    assert c.loss.d_reg_interval == TrainConfig().loss.d_reg_interval


@pytest.mark.parametrize(
    ("files", "match"),
    [
        ({"a.yaml": "base: a.yaml\n"}, "cycles"),
        ({"a.yaml": "base: b.yaml\n", "b.yaml": "base: c.yaml\n", "c.yaml": "base: a.yaml\n"}, "cycles"),
        ({"a.yaml": "base: missing.yaml\n"}, "base: no such file"),
        ({"a.yaml": "base: [b.yaml]\n"}, "base: expected a preset file"),
        ({"a.yaml": "base: b.yaml\n", "b.yaml": "loss:\n  gama: 3\n"}, r"^loss\.gama: unknown key"),
        ({"a.yaml": "base: b.yaml\nloss:\n  base: b.yaml\n", "b.yaml": "{}\n"}, r"^loss\.base: unknown key"),
    ],
)
def test_bad_base_chains_are_errors(tmp_path: Path, files: dict[str, str], match: str):
    for name, text in files.items():
        _write(tmp_path, name, text)
    with pytest.raises(ConfigError, match=match):
        load_config(tmp_path / "a.yaml")


def test_presets_by_name():
    assert preset_dir() == CONFIGS
    assert preset_path("shapenet_car") == CONFIGS / "shapenet_car.yaml"
    assert preset_path(str(CONFIGS / "default.yaml")) == CONFIGS / "default.yaml"
    with pytest.raises(FileNotFoundError, match="shapenet_chair"):  # the message lists the names
        preset_path("shapenet_plane")
    with pytest.raises(FileNotFoundError):
        preset_path("base")  # a folder of bases, not a preset
