"""RunLog: the main process writes the run folder's files; every other process writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from get3d.networks import Generator, GeneratorConfig
from get3d.training import config_to_dict, load_config
from get3d.training.runlog import RunLog

from .helpers import REPO


def _drive(log: RunLog, G: Generator) -> None:
    """The calls a two-step run makes (without validation: no reference meshes here)."""
    log.start(0, 2, 0)
    log.snapshot(0, G)
    log.trim(0)
    log.step(1, 4, 0.5, {"G/loss": 1.0, "D/loss": 2.0}, {"nonfinite_steps": 1}, 3, write=True)
    log.step(2, 8, 1.0, {"G/loss": 0.5, "D/loss": 1.5}, {"nonfinite_steps": 1}, 0, write=True)
    log.snapshot(2, G)
    log.close()


@pytest.fixture(scope="module")
def G() -> Generator:
    torch.manual_seed(0)
    return Generator(GeneratorConfig.tiny()).eval()


def test_main_process_writes_the_run_folder(G: Generator, tmp_path: Path, capsys):
    config = load_config(REPO / "configs" / "default.yaml", ["snapshot_grid=2", "progress=false"])
    run = tmp_path / "run"
    _drive(RunLog(run, config, enabled=True), G)
    assert yaml.safe_load((run / "config.yaml").read_text()) == config_to_dict(config)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and [r["kimg"] for r in rows] == [0.004, 0.008]
    assert [r["images_per_s"] for r in rows] == [8.0, 8.0]  # 4 images per 0.5 s
    assert [r["nonfinite_step"] for r in rows] == [True, False] and rows[1]["D/loss"] == 1.5
    assert {p.name for p in run.glob("*.png")} == {
        "snapshot-00000000.png",
        "snapshot-00000002.png",
        "curves.png",
    }
    assert "step 1: 3 non-finite gradient values replaced" in capsys.readouterr().out


def test_resumed_log_drops_lines_after_the_checkpoint(G: Generator, tmp_path: Path):
    config = load_config(REPO / "configs" / "default.yaml", ["progress=false"])
    run = tmp_path / "run"
    run.mkdir()
    lines = [{"step": s, "G/loss": float(s)} for s in (1, 2, 3)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    (run / "validation.jsonl").write_text('{"step": 0, "mmd_cd": 1.0}\n{"step": 3, "mmd_cd": 2.0}\n')
    RunLog(run, config, enabled=True).trim(2)
    assert [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    assert [json.loads(x)["step"] for x in (run / "validation.jsonl").read_text().splitlines()] == [0]


def test_other_processes_write_nothing(G: Generator, tmp_path: Path, capsys):
    config = load_config(REPO / "configs" / "default.yaml", ["snapshot_grid=2"])
    log = RunLog(tmp_path / "run", config, enabled=False)
    _drive(log, G)
    assert log.validate(2, G, refs=None) is None
    assert not (tmp_path / "run").exists()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_snapshot_uses_psi_07_around_a_refreshed_w_avg(G: Generator, tmp_path: Path, monkeypatch):
    """GET3D's visualisations: update_w_avg(), then truncation 0.7; the tracked w_avg is kept."""
    import copy

    from get3d.sampling import prepare_generator
    from get3d.training.runlog import _GRID_SEED_OFFSET, SNAPSHOT_PSI, SNAPSHOT_W_AVG_SAMPLES

    assert SNAPSHOT_PSI == 0.7 and SNAPSHOT_W_AVG_SAMPLES == 100_000
    config = load_config(REPO / "configs" / "default.yaml", ["snapshot_grid=2", "progress=false"])
    G_ema = copy.deepcopy(G)
    with torch.no_grad():  # a tracked w_avg far from the mean of w: truncation towards it is visible
        for m in (G_ema.mapping, G_ema.mapping_geo):
            m.w_avg.fill_(3.0)
    tracked = [m.w_avg.clone() for m in (G_ema.mapping, G_ema.mapping_geo)]
    seen = []
    real_render = Generator.render

    def spy(self, ws, *args, **kwargs):
        seen.append(ws)
        return real_render(self, ws, *args, **kwargs)

    monkeypatch.setattr(Generator, "render", spy)
    log = RunLog(tmp_path / "run", config, enabled=True)
    log.snapshot(0, G_ema)
    assert (tmp_path / "run" / "snapshot-00000000.png").is_file()
    # expected: the same fixed latents, mapped with psi 0.7 around w_avg refreshed with the run's seed
    ref = prepare_generator(copy.deepcopy(G_ema), w_avg_samples=SNAPSHOT_W_AVG_SAMPLES, seed=config.seed)
    gen = torch.Generator().manual_seed(config.seed + _GRID_SEED_OFFSET)
    z_geo, z_tex = torch.randn(2, 16, generator=gen), torch.randn(2, 16, generator=gen)
    want = ref.map_latents(z_geo, z_tex, truncation_psi=0.7)
    assert torch.allclose(seen[0].geo, want.geo) and torch.allclose(seen[0].tex, want.tex)
    plain = G_ema.map_latents(z_geo, z_tex, truncation_psi=0.7)  # around the stale w_avg: different
    assert not torch.allclose(seen[0].geo, plain.geo, atol=1e-3)
    assert not torch.allclose(seen[0].geo, ref.map_latents(z_geo, z_tex).geo, atol=1e-3)  # not psi 1
    for m, w_avg in zip((G_ema.mapping, G_ema.mapping_geo), tracked, strict=True):
        assert torch.equal(m.w_avg, w_avg)  # the training state is unchanged
