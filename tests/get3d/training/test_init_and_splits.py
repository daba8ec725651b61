"""``train.py --init-from`` (a new run from an official-format checkpoint's weights) and the data
splits a run trains on (GET3D's ``train.txt`` / ``val.txt`` / ``test.txt``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from get3d.data import DatasetError
from get3d.networks import Discriminator, Generator
from get3d.training import ConfigError, DataSource, load_config
from get3d.training.checkpoint import load_checkpoint
from get3d.training.data import build_dataset, split_file, split_note
from get3d.training.phases import phases_for_step

from ..data.builders import SYNSET, make_get3d
from .helpers import REPO, tiny_overrides

# ------------------------------------------------------------------------------------ --init-from


def _official_file(path: Path, config) -> tuple[Generator, Discriminator]:
    """An official-format file ({'G', 'G_ema', 'D'} state_dicts, nothing else) of other weights."""
    torch.manual_seed(123)
    G, D = Generator(config.generator), Discriminator(config.discriminator)
    torch.save({"G": G.state_dict(), "G_ema": G.state_dict(), "D": D.state_dict()}, path)
    return G, D


def _same_parameters(state: dict, module: torch.nn.Module) -> bool:
    return all(torch.equal(state[name], p) for name, p in module.named_parameters())


def test_init_from_an_official_file_starts_a_new_run_from_its_weights(
    tiny_cache: Path, tmp_path: Path, capsys
):
    import train as entry

    # learning rates 0: after one step the weights are still exactly the file's
    overrides = [*tiny_overrides(tiny_cache), "total_kimg=0.004", "optim.g_lr=0", "optim.d_lr=0"]
    config = load_config(REPO / "configs" / "default.yaml", overrides)
    G, D = _official_file(tmp_path / "shapenet_chair.pt", config)
    torch.manual_seed(config.seed)
    assert not _same_parameters(G.state_dict(), Generator(config.generator))  # the run's own init differs
    run = tmp_path / "run"
    args = ["--out", str(run), *overrides]
    assert entry.main([*args, "--init-from", str(tmp_path / "shapenet_chair.pt")]) == 0
    out = capsys.readouterr().out
    assert "initialised from" in out and "finished at step 1" in out
    ckpt = load_checkpoint(run / "checkpoint-00000001.pt")
    assert ckpt["step"] == 1 and ckpt["images_seen"] == 4  # step 0 was the first
    assert _same_parameters(ckpt["G"], G) and _same_parameters(ckpt["G_ema"], G)
    assert _same_parameters(ckpt["D"], D)
    # fresh optimisers: as many Adam steps as the phases of step 0 (Gmain + Greg, Dmain + Dreg)
    phases = phases_for_step(0, config.loss.g_reg_interval, config.loss.d_reg_interval)
    g_steps = sum(p.is_generator for p in phases)
    assert {int(s["step"]) for s in ckpt["opt_G"]["state"].values()} == {g_steps}
    assert {int(s["step"]) for s in ckpt["opt_D"]["state"].values()} == {len(phases) - g_steps}
    assert "# weights: initialised from" in (run / "config.yaml").read_text()


def test_init_from_works_for_a_flexicubes_generator(tiny_cache: Path, tmp_path: Path):
    import train as entry

    overrides = [
        *tiny_overrides(tiny_cache),
        "generator.iso_surface=flexicubes",
        "total_kimg=0.004",
        "optim.g_lr=0",
        "optim.d_lr=0",
    ]
    config = load_config(REPO / "configs" / "default.yaml", overrides)
    G, D = _official_file(tmp_path / "flexicubes.pt", config)
    run = tmp_path / "run"
    assert entry.main(["--out", str(run), *overrides, "--init-from", str(tmp_path / "flexicubes.pt")]) == 0
    ckpt = load_checkpoint(run / "checkpoint-00000001.pt")
    assert _same_parameters(ckpt["G"], G) and _same_parameters(ckpt["D"], D)


def test_init_from_errors(tiny_cache: Path, tmp_path: Path, capsys):
    import train as entry

    overrides = [*tiny_overrides(tiny_cache), "total_kimg=0.004"]
    config = load_config(REPO / "configs" / "default.yaml", overrides)
    path = tmp_path / "official.pt"
    _official_file(path, config)
    with pytest.raises(SystemExit):
        entry.main(["--out", str(tmp_path / "a"), "--resume", "--init-from", str(path), *overrides])
    assert "--init-from: starts a new run; it cannot be combined with --resume" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        entry.main(["--out", str(tmp_path / "b"), "--init-from", str(tmp_path / "missing.pt"), *overrides])
    assert "--init-from: no checkpoint file" in capsys.readouterr().err
    bigger = dataclasses.replace(config.generator, mlp_hidden=16)  # weights of other sizes
    torch.save({"G": Generator(bigger).state_dict()}, tmp_path / "other.pt")
    with pytest.raises(SystemExit):
        entry.main(["--out", str(tmp_path / "c"), "--init-from", str(tmp_path / "other.pt"), *overrides])
    assert "--init-from: the 'G' state_dict" in capsys.readouterr().err
    data = torch.load(path, weights_only=True)
    torch.save({"G": data["G"], "G_ema": data["G_ema"]}, tmp_path / "no_d.pt")
    with pytest.raises(SystemExit):
        entry.main(["--out", str(tmp_path / "d"), "--init-from", str(tmp_path / "no_d.pt"), *overrides])
    assert "--init-from: expected G, G_ema and D weights" in capsys.readouterr().err
    from get3d.training import train

    with pytest.raises(ValueError, match="init_from: .* cannot be combined with resume"):
        train(config, tmp_path / "e", resume=True, init_from=path)


# ------------------------------------------------------------------------------------------ splits


@pytest.fixture
def folder(tmp_path: Path):
    """A GET3D-layout folder of four shapes with GET3D's split files in <root>/splits/<synset>."""
    data = make_get3d(tmp_path / "root", {"a": 1, "b": 1, "c": 1, "d": 1})
    splits = tmp_path / "root" / "splits" / SYNSET
    splits.mkdir(parents=True)
    for name, ids in {"train": "a\nb\n", "val": "c\n", "test": "d\n"}.items():
        (splits / f"{name}.txt").write_text(ids)
    overrides = [
        "data.source=folder",
        f"data.path={data.data_dir}",
        f"data.camera_path={data.camera_root}",
        "generator.image_resolution=8",
        "discriminator.image_resolution=8",
    ]
    return data, splits, overrides


def _config(overrides: list[str], *more: str):
    return load_config(REPO / "configs" / "shapenet_car.yaml", [*overrides, *more])


def test_the_shapenet_presets_train_on_the_train_split():
    for name in ("shapenet_car", "shapenet_chair", "shapenet_motorbike"):
        config = load_config(REPO / "configs" / f"{name}.yaml")
        assert config.data.source is DataSource.FOLDER and config.data.split == "train"
    assert load_config(REPO / "configs" / "default.yaml").data.split == "train"


def test_folder_splits_are_read_from_the_split_folder(folder):
    _, splits, overrides = folder
    config = _config(overrides)  # split train, split folder <root>/splits/<synset>
    ds, refs = build_dataset(config, progress=False)
    assert ds.shape_ids == ("a", "b") and refs is None
    assert (
        split_file(config, "val") == splits / "val.txt" and split_file(config, "test") == splits / "test.txt"
    )
    assert build_dataset(_config(overrides, "data.split=test"), progress=False)[0].shape_ids == ("d",)
    # GET3D's own split folder, anywhere
    other = splits.parent.parent / "3dgan_data_split" / "shapenet_car"
    other.mkdir(parents=True)
    (other / "train.txt").write_text("c\nd\n")
    config = _config(overrides, f"data.split_dir={other}")
    assert build_dataset(config, progress=False)[0].shape_ids == ("c", "d")
    # a split file path still works
    assert build_dataset(_config(overrides, f"data.split={other / 'train.txt'}"), False)[0].shape_ids == (
        "c",
        "d",
    )
    assert split_note(config, build_dataset(config, progress=False)[0]).startswith(
        "data: training on the 'train' split, 2 shapes"
    )


def test_every_shape_is_an_explicit_choice(folder):
    _, _, overrides = folder
    config = _config(overrides, "data.split=all")
    ds, _ = build_dataset(config, progress=False)
    assert ds.shape_ids == ("a", "b", "c", "d") and split_file(config, "all") is None
    note = split_note(config, ds)
    assert "ALL 4 shapes" in note and "test shapes included" in note
    with pytest.raises(ValueError, match="data.split: .* got null; .* data.split=all"):
        build_dataset(_config(overrides, "data.split=null"), progress=False)


def test_split_errors_name_the_shape_or_the_file(folder, tmp_path: Path):
    _, splits, overrides = folder
    (splits / "train.txt").write_text("a\nmissing_shape\n")
    with pytest.raises(DatasetError, match="shape id 'missing_shape'.*has no folder"):
        build_dataset(_config(overrides), progress=False)
    with pytest.raises(FileNotFoundError, match="data.split_dir: no train.txt .* 3dgan_data_split"):
        build_dataset(_config(overrides, f"data.split_dir={tmp_path / 'nowhere'}"), progress=False)
    (splits / "val.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"data.split_dir \(default .*\): no val.txt"):
        split_file(_config(overrides), "val")
    with pytest.raises(FileNotFoundError, match="data.split: expected train, val, test, all or an existing"):
        build_dataset(_config(overrides, "data.split=tran"), progress=False)


def test_builtin_split_errors(tiny_cache: Path):
    config = load_config(REPO / "configs" / "default.yaml", tiny_overrides(tiny_cache))
    with pytest.raises(ValueError, match="data.split_dir: applies to data.source=folder"):
        split_file(dataclasses.replace(config, data=dataclasses.replace(config.data, split_dir="x")), "train")
    with pytest.raises(ValueError, match="data.split: expected train, val, test or all for the built-in set"):
        split_file(config, "everything")
    ds, refs = build_dataset(
        load_config(REPO / "configs" / "default.yaml", [*tiny_overrides(tiny_cache), "data.split=train"]),
        False,
    )
    train_ids = set(ds.shape_ids)
    assert refs is None or not train_ids & set(refs.ids)  # validation shapes are not trained on
    with pytest.raises(ConfigError, match="data.split_dir"):
        load_config(REPO / "configs" / "default.yaml", ["data.split_dir=3"])


def test_a_run_on_every_shape_says_so(tiny_cache: Path, tmp_path: Path, capsys):
    from get3d.training import train

    config = load_config(REPO / "configs" / "default.yaml", [*tiny_overrides(tiny_cache), "total_kimg=0.004"])
    assert config.data.split == "all"
    train(config, tmp_path / "run")
    assert "data: training on ALL 3 shapes (data.split=all)" in capsys.readouterr().out
    assert "# data: training on ALL 3 shapes" in (tmp_path / "run" / "config.yaml").read_text()
