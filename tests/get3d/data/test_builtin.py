"""The built-in procedural data set: built once into a cache, complete, split, loadable."""

from __future__ import annotations

import json

import pytest

from get3d.data import DatasetError, ProceduralDatasetConfig, procedural_dataset
from get3d.data.builtin import build_procedural_dataset, default_cache_dir
from get3d.data.layout import read_split

TINY = ProceduralDatasetConfig(
    categories=("car",),
    shapes_per_category=4,
    views=2,
    resolution=16,
    supersample=1,
    texture_size=64,
    fractions=(0.5, 0.25, 0.25),
)


def test_built_on_first_use_then_cached(tmp_path):
    data = procedural_dataset(TINY, tmp_path, workers=1, progress=False)
    assert data.root == tmp_path / f"procedural-{TINY.key()}"
    marker = json.loads((data.root / "dataset.json").read_text())
    assert marker["key"] == TINY.key() and marker["config"]["shapes_per_category"] == 4
    assert sorted(p.name for p in data.mesh_dir("car").iterdir()) == [f"car_{i:04d}" for i in range(4)]
    assert (data.mesh_dir("car") / "car_0000" / "model.obj").is_file()
    assert data.data_dir("car") == data.root / "img" / "02958343"
    ds = data.dataset("car", resolution=8)
    assert len(ds) == 8 and ds[0].image.shape == (3, 8, 8)
    splits = [read_split(data.split_file("car", s)) for s in ("train", "val", "test")]
    assert [len(s) for s in splits] == [2, 1, 1]
    assert sorted(sum(splits, [])) == [f"car_{i:04d}" for i in range(4)]
    assert len(data.dataset("car", split="train")) == 4
    stamp = (data.data_dir("car") / "car_0000" / "000.png").stat().st_mtime_ns
    again = procedural_dataset(TINY, tmp_path, workers=1, progress=False)
    assert again.root == data.root
    assert (data.data_dir("car") / "car_0000" / "000.png").stat().st_mtime_ns == stamp


def test_other_config_in_the_same_root_is_refused(tmp_path):
    build_procedural_dataset(tmp_path, TINY, progress=False)
    other = ProceduralDatasetConfig(categories=("car",), shapes_per_category=5, views=2, resolution=16)
    with pytest.raises(ValueError, match="another config"):
        build_procedural_dataset(tmp_path, other, progress=False)


def test_empty_split_is_an_error_not_a_fallback(tmp_path):
    config = ProceduralDatasetConfig(
        categories=("table",), shapes_per_category=2, views=1, resolution=8, supersample=1, texture_size=64
    )
    data = build_procedural_dataset(tmp_path, config, progress=False)
    assert read_split(data.split_file("table", "val")) == []
    with pytest.raises(DatasetError, match="empty"):
        data.dataset("table", split="val")


def test_cache_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("ISOGEN3D_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("ISOGEN3D_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" / "isogen3d"


def test_config_checks():
    with pytest.raises(ValueError, match="categories"):
        ProceduralDatasetConfig(categories=("sofa",))
    with pytest.raises(ValueError, match="shapes_per_category"):
        ProceduralDatasetConfig(shapes_per_category=0)
    assert ProceduralDatasetConfig().key() != TINY.key()
