"""FID during training: the schedule, the config fields, start-up checks, best.pt by FID and resume.

The feature network is a tiny TorchScript module with the signature of NVIDIA's detector, saved
to a file and read through ``fid_inception`` like the real weights (nothing is downloaded)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from get3d.data.builtin import ProceduralDatasetConfig, build_procedural_dataset
from get3d.metrics.stats import load_stats
from get3d.training import ConfigError, TrainConfig, load_config, train
from get3d.training.checkpoint import CheckpointManager, load_checkpoint
from get3d.training.fid import FID_CACHE_NAME, fid_due, fid_images_of

from .helpers import CONFIGS, PRESETS, tiny_overrides

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")

# 6 chairs: the built-in split gives 4 train, 1 val (2 views: the FID's real images), 1 test
FID_DATA = ProceduralDatasetConfig(categories=("chair",), shapes_per_category=6, views=2, resolution=16)


class _TinyDetector(nn.Module):
    """Stand-in with the signature of NVIDIA's TorchScript detector: 10 features per image
    (per-channel mean and standard deviation, the mean brightness of each image quadrant)."""

    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        x = img.to(torch.float32) / 255.0
        h, w = x.shape[2] // 2, x.shape[3] // 2
        gray = x.mean(dim=1)
        quads = [gray[:, :h, :w], gray[:, :h, w:], gray[:, h:, :w], gray[:, h:, w:]]
        features = torch.cat(
            [x.mean(dim=(2, 3)), x.std(dim=(2, 3)), torch.stack([q.mean(dim=(1, 2)) for q in quads], 1)], 1
        )
        if return_features:
            return features
        return features[:, :2]


@pytest.fixture(scope="module")
def fid_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(cache folder with the 6-shape built-in set, the detector's TorchScript file)."""
    root = tmp_path_factory.mktemp("fid_training")
    cache = root / "cache"
    build_procedural_dataset(cache / f"procedural-{FID_DATA.key()}", FID_DATA, workers=1, progress=False)
    detector = root / "inception-2015-12-05.pt"
    torch.jit.script(_TinyDetector()).save(str(detector))
    return cache, detector


def _fid_config(cache: Path, detector: Path | str, *extra: str) -> TrainConfig:
    return load_config(
        None,
        tiny_overrides(cache)
        + [
            f"data.builtin_shapes={FID_DATA.shapes_per_category}",
            "total_kimg=0.016",  # 4 steps of 4 images
            "checkpoint_every=0",  # checkpoints come from the FID steps and the end only
            "fid_every_kimg=0.008",  # every 2 steps
            "fid_images=4",
            f"fid_inception={detector}",
            *extra,
        ],
    )


def _fids(run: Path) -> dict[int, float]:
    rows = [json.loads(ln) for ln in (run / "validation.jsonl").read_text().splitlines() if ln.strip()]
    return {r["step"]: r["fid"] for r in rows if "fid" in r}


def test_fid_during_training_interval_best_checkpoint_and_resume(fid_setup, tmp_path: Path):
    cache, detector = fid_setup
    config = _fid_config(cache, detector)

    straight = tmp_path / "straight"
    train(config, straight)
    want = _fids(straight)
    assert sorted(want) == [0, 2, 4]  # step 0 (untrained), every 8 images, the end
    assert all(math.isfinite(v) and v > 0 for v in want.values())
    assert want[0] != want[2] != want[4]  # G_ema changes, so does its FID
    # every FID step writes a checkpoint (checkpoint_every=0); best.pt is the lowest FID
    names = {p.name for p in straight.glob("checkpoint-*.pt")}
    assert names == {"checkpoint-00000002.pt", "checkpoint-00000004.pt"}
    best = load_checkpoint(straight / "best.pt")
    low = min((2, 4), key=want.__getitem__)
    assert best["step"] == low and best["metric"] == pytest.approx(want[low]) and best["metric_name"] == "fid"
    (cached,) = straight.glob(f"{FID_CACHE_NAME}-*.npz")
    assert load_stats(cached).count == 2  # the val shape's 2 views
    assert (straight / "curves-fid.png").is_file()

    chunked = tmp_path / "chunked"
    first = train(config, chunked, stop_after=3)
    assert first.steps == 3 and not first.finished
    (cached,) = chunked.glob(f"{FID_CACHE_NAME}-*.npz")
    stamp = cached.stat().st_mtime_ns
    best_before = load_checkpoint(chunked / "best.pt")
    second = train(config, chunked, resume=True)
    assert second.start_step == 3 and second.finished
    got = _fids(chunked)
    assert sorted(got) == [0, 2, 3, 4]  # + the stop of the first call
    for step in (0, 2, 4):  # a resumed run scores the same draws of the same networks
        assert got[step] == pytest.approx(want[step], rel=1e-5)
    assert cached.stat().st_mtime_ns == stamp  # the real statistics were read back, not recomputed
    assert len(list(chunked.glob(f"{FID_CACHE_NAME}-*.npz"))) == 1
    # best-so-far survives the resume: best.pt is the lowest FID of all checkpointed steps
    low = min((2, 3, 4), key=got.__getitem__)
    best = load_checkpoint(chunked / "best.pt")
    assert best["step"] == low and best["metric"] == pytest.approx(got[low])
    assert best["metric"] <= best_before["metric"]


def test_missing_inception_weights_fail_at_start_up_naming_the_field(fid_setup, tmp_path, monkeypatch):
    cache, _ = fid_setup
    run = tmp_path / "run"
    with pytest.raises(FileNotFoundError, match=r"^fid_inception: .*fid_every_kimg=0\.008.*missing\.pt"):
        train(_fid_config(cache, tmp_path / "missing.pt"), run)
    assert not run.exists()  # before the run folder, the data or any step
    monkeypatch.setenv("ISOGEN3D_INCEPTION", str(tmp_path / "nothing_here.pkl"))  # the default path
    config = load_config(None, [*tiny_overrides(cache), "fid_every_kimg=1", "fid_inception=null"])
    with pytest.raises(FileNotFoundError, match=r"^fid_inception: .*nothing_here\.pkl"):
        train(config, run)
    assert not run.exists()


def test_empty_val_split_fails_at_start_up(tiny_cache: Path, fid_setup, tmp_path: Path):
    _, detector = fid_setup
    config = load_config(  # the 3-shape set has no val shape
        None, [*tiny_overrides(tiny_cache), "fid_every_kimg=1", f"fid_inception={detector}"]
    )
    with pytest.raises(ValueError, match=r"^fid_every_kimg: .*val split.*lists no shape"):
        train(config, tmp_path / "run")
    assert not list((tmp_path / "run").glob("*.pt")) and not (tmp_path / "run" / "metrics.jsonl").exists()


def test_fid_schedule():
    c = TrainConfig(fid_every_kimg=0.008, batch=4, batch_gpu=4)
    assert [fid_due(c, i - 4, i) for i in (4, 8, 12, 16)] == [False, True, False, True]
    every_step = TrainConfig(fid_every_kimg=0.001, batch=4, batch_gpu=4)  # fewer images than a batch
    assert all(fid_due(every_step, i - 4, i) for i in (4, 8, 12))
    uneven = TrainConfig(fid_every_kimg=0.01, batch=4, batch_gpu=4)  # crossed inside steps 3 and 5
    assert [s for s in range(1, 7) if fid_due(uneven, 4 * s - 4, 4 * s)] == [3, 5]
    assert not any(fid_due(TrainConfig(), i - 32, i) for i in range(32, 10_000_000, 100_000))  # off


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("fid_every_kimg=-1", r"^fid_every_kimg: expected a number >= 0"),
        ("fid_every_kimg=.nan", r"^fid_every_kimg: expected a number >= 0"),
        ("fid_every_kimg=true", r"^fid_every_kimg: expected a number"),
        ("fid_images=1", r"^fid_images: expected an integer >= 2"),
        ("fid_images=2.5", r"^fid_images: expected an int"),
        ("fid_inception=3", r"^fid_inception: expected"),
    ],
)
def test_fid_config_fields_are_validated(override: str, match: str):
    with pytest.raises(ConfigError, match=match):
        load_config(None, [override])


def test_fid_is_on_in_the_shapenet_presets_only():
    assert TrainConfig().fid_every_kimg == 0 and TrainConfig().fid_images == 50_000
    assert load_config(CONFIGS / "default.yaml").fid_every_kimg == 0
    shapenet = [p for p in PRESETS if p.stem.startswith("shapenet_")]
    assert shapenet
    for preset in shapenet:  # GET3D: fid50k on the val split every 200 ticks of 1 kimg
        c = load_config(preset)
        assert (c.fid_every_kimg, c.fid_images, c.fid_inception) == (200.0, 50_000, None)


def test_best_checkpoint_of_another_metric_is_replaced(tmp_path: Path):
    m = CheckpointManager(tmp_path, keep=5)
    m.save({"v": torch.tensor(1)}, 1, 0.5, "mmd_cd")  # a Chamfer best ...
    m.save({"v": torch.tensor(2)}, 2, 80.0, "fid")  # ... is no FID best: replaced
    assert load_checkpoint(m.best_path)["step"] == 2 and m.best_metric("fid") == 80.0
    assert m.best_metric("mmd_cd") is None
    m.save({"v": torch.tensor(3)}, 3, 90.0, "fid")  # worse: kept
    m.save({"v": torch.tensor(4)}, 4, None, "fid")  # no metric at this step: kept
    m.save({"v": torch.tensor(5)}, 5, 70.0, "fid")  # better: replaced
    assert load_checkpoint(m.best_path)["step"] == 5 and m.best_metric() == 70.0


def test_val_split_of_a_folder_data_set(tmp_path: Path):
    root = tmp_path / "data"
    images, cameras = root / "img" / "02958343", root / "camera"
    prepared = root / "splits" / "02958343"  # where get3d prepare writes the splits
    own = tmp_path / "3dgan_data_split" / "shapenet_car"  # GET3D's split folder
    for folder in (images, cameras, prepared, own):
        folder.mkdir(parents=True)
    for folder in (prepared, own):
        (folder / "train.txt").write_text("a\nb\n")
        (folder / "val.txt").write_text("c\n")
    base = ["data.source=folder", f"data.path={images}", f"data.camera_path={cameras}"]
    found = fid_images_of(load_config(None, [*base, f"data.split={own / 'train.txt'}"]))
    assert (found.data_dir, found.camera_root, found.split_file) == (images, cameras, own / "val.txt")
    assert fid_images_of(load_config(None, [*base, "data.split=null"])).split_file == prepared / "val.txt"
    (prepared / "val.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"^fid_every_kimg: .*no val split file"):
        fid_images_of(load_config(None, [*base, "data.split=null"]))
