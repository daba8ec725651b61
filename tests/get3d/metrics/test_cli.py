"""``python -m get3d.metrics eval`` on a tiny checkpoint (in-process) and its error exits."""

from __future__ import annotations

import json

import torch

from get3d.metrics.cli import main
from get3d.networks import Generator, GeneratorConfig


def _checkpoint(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "tiny.pt"
    torch.save({"G_ema": Generator(GeneratorConfig.tiny()).state_dict()}, path)
    return path


def test_cli_geometry_eval_writes_a_report(tmp_path, capsys):
    from get3d.data.procedural import generate_shape, write_shape

    for i in range(2):
        write_shape(generate_shape("chair", i, texture_size=64), tmp_path / "meshes" / f"chair_{i}")
    out = tmp_path / "report.json"
    code = main(
        ["eval", "--checkpoint", str(_checkpoint(tmp_path)), "--config", "tiny", "--metrics", "cov_mmd",
         "--meshes", str(tmp_path / "meshes"), "--gen-per-ref", "1", "--no-nna", "--output", str(out)]
    )  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    assert (
        report["fid"] is None and report["geometry"]["num_ref"] == 2 and report["geometry"]["nna_cd"] is None
    )
    assert json.loads(capsys.readouterr().out)["geometry"] == report["geometry"]


def test_cli_errors_exit_2_with_a_message(tmp_path, capsys):
    ckpt = _checkpoint(tmp_path)
    assert main(["eval", "--checkpoint", str(ckpt), "--config", "tiny", "--metrics", "fid,lfd"]) == 2
    assert "--metrics" in capsys.readouterr().err
    code = main(
        ["eval", "--checkpoint", str(ckpt), "--config", "tiny", "--metrics", "fid", "--data", str(tmp_path),
         "--inception", str(tmp_path / "none.pkl")]
    )  # fmt: skip
    assert code == 2 and "inception-2015-12-05.pkl" in capsys.readouterr().err


def test_cli_reads_the_sizes_stored_in_our_checkpoints(tmp_path, capsys):
    """Without --config a get3d.training checkpoint is evaluated with the config it stores."""
    from get3d.data.procedural import generate_shape, write_shape
    from get3d.networks import DiscriminatorConfig
    from get3d.training.checkpoint import save_atomic
    from get3d.training.config import TrainConfig, config_to_dict

    write_shape(generate_shape("chair", 0, texture_size=64), tmp_path / "meshes" / "chair_0")
    torch.manual_seed(0)
    gcfg = GeneratorConfig.tiny()
    state = Generator(gcfg).state_dict()
    config = config_to_dict(TrainConfig(generator=gcfg, discriminator=DiscriminatorConfig.tiny()))
    ckpt = save_atomic({"G_ema": state, "config": config}, tmp_path / "best.pt")
    args = ["eval", "--checkpoint", str(ckpt), "--metrics", "cov_mmd", "--meshes", str(tmp_path / "meshes"),
            "--gen-per-ref", "1", "--no-nna"]  # fmt: skip
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["geometry"]["num_ref"] == 1
    assert main([*args, "--config", "official"]) == 2  # the official sizes do not fit these weights
    assert "does not match the configuration" in capsys.readouterr().err
