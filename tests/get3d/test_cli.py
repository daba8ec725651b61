"""``python -m get3d``: doctor, argument errors that name the flag, end-to-end runs on a tiny
checkpoint, and the delegated commands."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import trimesh
import yaml
from PIL import Image

from get3d.cli import main
from get3d.networks import Generator, GeneratorConfig

TINY = ["--grid-resolution", "6", "--w-avg-samples", "200", "--no-progress"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(0)
    G = Generator(GeneratorConfig.tiny())
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    cfg = {"generator": dataclasses.asdict(G.config)}
    torch.save({"G": G.state_dict(), "G_ema": G.state_dict(), "config": cfg}, path)
    return str(path)


def test_doctor(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for word in ("torch", "cuda", "rasterizer", "marching", "nvdiffrast", "kaolin", "xatlas", "bpy"):
        assert word in out
    assert "backend 'auto' -> torch" in out or "backend 'auto' -> nvdiffrast" in out


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["sample", "{ckpt}", "--out", "{out}", "--export", "fbx"], "--export"),
        (["sample", "{ckpt}", "--out", "{out}", "--psi", "nan"], "--psi"),
        (["sample", "{ckpt}", "--out", "{out}", "--psi", "abc"], "--psi"),
        (["sample", "{ckpt}", "--out", "{out}", "-n", "0"], "--num"),
        (["sample", "{ckpt}", "--out", "{out}", "--config", "huge"], "--config"),
        (["sample", "{ckpt}", "--out", "{out}", "--roughness", "2"], "--roughness"),
        (["sample", "{ckpt}", "--out", "{out}", "--grid-resolution", "0"], "--grid-resolution"),
        (["sample", "{ckpt}", "--out", "{out}", "--views", "3"], "--views"),
        (["sample", "{ckpt}"], "--out"),
        (["sample", "{out}/missing.pt", "--out", "{out}"], "checkpoint"),
        (["interpolate", "{ckpt}", "--out", "{out}", "--steps", "1"], "--steps"),
        (["interpolate", "{ckpt}", "--out", "{out}", "--mode", "colour"], "--mode"),
        (["export", "{ckpt}", "--out", "{out}/a.fbx"], "--out"),
        (["export", "{ckpt}", "--out", "{out}/a.glb", "--texture-size", "4"], "--texture-size"),
        (["export", "{ckpt}", "--out", "{out}/a.glb", "--max-faces", "-1"], "--max-faces"),
        (["export", "{ckpt}", "--out", "{out}/a.glb", "--tet-grid", "{out}/none.npz"], "--tet-grid"),
        (["export", "{ckpt}", "--out", "{out}/a.glb", "--config", "official"], "checkpoint"),
    ],
)
def test_argument_errors_name_the_flag(args, flag, ckpt, tmp_path, capsys):
    argv = [a.format(ckpt=ckpt, out=tmp_path) for a in args]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert flag in capsys.readouterr().err
    assert not any(tmp_path.glob("*.glb"))


def test_sample_end_to_end(ckpt, tmp_path):
    out = tmp_path / "s"
    argv = ["sample", ckpt, "--out", str(out), "-n", "2", "--views", "5", "--resolution", "16"]
    assert main(argv + ["--export", "glb", "--texture-size", "32", *TINY]) == 0
    assert Image.open(out / "grid.png").size == (32, 16)
    gif = Image.open(out / "sample_000_turntable.gif")
    assert gif.n_frames == 5 and gif.size == (16, 16)
    lat = torch.load(out / "latents.pt", weights_only=True)
    assert lat["z_geo"].shape == (2, 16) and lat["geo_seed"] == 0 and lat["tex_seed"] == 1
    glbs = sorted(out.glob("sample_*.glb"))
    assert glbs, "at least one of the two samples has a surface"
    scene = trimesh.load(glbs[0])
    assert len(next(iter(scene.geometry.values())).faces) > 0


def test_interpolate_and_export_end_to_end(ckpt, tmp_path):
    out = tmp_path / "i"
    argv = ["interpolate", ckpt, "--out", str(out), "--steps", "2", "--resolution", "16", "--mode", "texture"]
    assert main(argv + TINY) == 0
    assert Image.open(out / "grid_geometry_x_texture.png").size == (32, 32)
    assert Image.open(out / "strip_texture.png").size == (32, 16)
    assert Image.open(out / "strip_texture.gif").n_frames == 2
    for seed in range(4):
        code = main(
            [
                "export",
                ckpt,
                "--out",
                str(tmp_path / "e.obj"),
                "--geo-seed",
                str(seed),
                "--texture-size",
                "16",
                *TINY,
            ]
        )
        if code == 0:
            break
    assert code == 0 and {p.name for p in tmp_path.iterdir()} >= {"e.obj", "e.mtl", "e.png"}


@pytest.mark.parametrize(
    ("command", "word"),
    [("toy-data", "procedural"), ("prepare", "prepare"), ("eval", "eval"), ("train", "--resume")],
)
def test_delegated_help(command, word, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0 and word in capsys.readouterr().out


def test_train_command_runs_in_process(capsys):
    assert main(["train", "--dry-run", "--config", "shapenet_chair", "seed=3"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["loss"]["gamma"] == 400.0 and printed["seed"] == 3  # the preset by name, then k=v
    with pytest.raises(SystemExit) as exc:
        main(["train", "--dry-run", "--config", "shapenet_plane"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "get3d train: error: --config:" in err and "shapenet_chair" in err


def test_module_entry_point_runs():
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-m", "get3d", "doctor"],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0 and "rasterizer" in run.stdout
