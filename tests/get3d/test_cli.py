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
from get3d.networks.outputs import Latents
from get3d.sampling import load_generator, prepare_generator, sample_latents
from render.camera import visualization_cameras
from render.nvdiffrast_loader import PluginState, PluginStatus, plugin_status

from .roundtrip import assert_silhouettes_match, load_mesh_file, obj_counts, silhouette

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
    state = plugin_status().state  # what this machine has; each state's lines: the test below
    chosen = {PluginState.LOADED: "nvdiffrast (", PluginState.NOT_BUILT: "nvdiffrast once"}
    prefix = chosen.get(state, "torch (") if torch.cuda.is_available() else "torch (no CUDA device"
    assert f"rasterizer  backend 'auto' -> {prefix}" in out


_NOT_BUILT_DETAIL = "build it with `python -m render.nvdiffrast_loader`, a few minutes"


@pytest.mark.parametrize(
    ("cuda", "status", "installed", "rasterizer", "nvdiffrast"),
    [
        (
            True,
            PluginStatus(PluginState.LOADED),
            True,
            "nvdiffrast (CUDA device, nvdiffrast's plugin built and loaded)",
            "installed (0.3.3.1): plugin built and loaded",
        ),
        (
            True,
            PluginStatus(PluginState.NOT_BUILT, _NOT_BUILT_DETAIL),
            True,
            "nvdiffrast once its plugin is built, on first use (importable, not built yet)",
            f"installed (0.3.3.1): importable, not built yet ({_NOT_BUILT_DETAIL})",
        ),
        (
            True,
            PluginStatus(PluginState.FAILED, "stale lock file /x/lock: delete it"),
            True,
            "torch (CUDA device, but nvdiffrast is unusable: stale lock file /x/lock: delete it)",
            "installed (0.3.3.1): stale lock file /x/lock: delete it",
        ),
        (
            True,
            PluginStatus(PluginState.NOT_INSTALLED, "nvdiffrast is not installed: `pip install x`"),
            False,
            "torch (CUDA device, but nvdiffrast is unusable: nvdiffrast is not installed: `pip install x`)",
            "not installed",
        ),
        (
            False,
            PluginStatus(PluginState.NO_CUDA, "nvdiffrast needs a CUDA device"),
            True,
            "torch (no CUDA device; nvdiffrast needs one)",
            "installed (0.3.3.1): nvdiffrast needs a CUDA device",
        ),
    ],
    ids=["loaded", "not-built", "failed", "not-installed", "no-cuda"],
)
def test_doctor_reports_the_plugin_state(cuda, status, installed, rasterizer, nvdiffrast, monkeypatch):
    import get3d.cli as cli
    import render.nvdiffrast_loader as loader

    module_status = cli._module_status
    monkeypatch.setattr(loader, "plugin_status", lambda: status)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "NVIDIA H200")
    monkeypatch.setattr(
        cli,
        "_module_status",
        lambda name: (
            ("installed (0.3.3.1)" if installed else "not installed")
            if name == "nvdiffrast"
            else module_status(name)
        ),
    )
    lines = cli.doctor_report()
    assert f"rasterizer  backend 'auto' -> {rasterizer}" in lines
    assert f"nvdiffrast  {nvdiffrast}" in lines


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


def _cli_generator(ckpt: str, n: int, *, geo_seed: int, tex_seed: int):
    """The generator and latents the CLI uses for ``TINY`` flags (same loader, w_avg and seeds)."""
    G = load_generator(ckpt, grid_resolution=6)
    prepare_generator(G, w_avg_samples=200)
    return G, sample_latents(G, n, geo_seed=geo_seed, tex_seed=tex_seed, psi=0.7)


def _assert_file_is_sample(path: Path, G, ws: Latents, index: int, n_views: int) -> None:
    """The exported file, read back by trimesh, is sample ``index``'s generated mesh: the same
    face count (and vertex count for OBJ) and the silhouettes of the generator's own render from
    the CLI's turntable cameras."""
    one = Latents(geo=ws.geo[index : index + 1], tex=ws.tex[index : index + 1])
    with torch.no_grad():
        mesh = G.meshes(G.grid_geometry(G.triplanes(one), one))[0]
        cams = visualization_cameras(n_views)
        want = G.render(one, cams, 64, backend="torch").hard_mask[:, 0] > 0.5
    vertices, faces = load_mesh_file(path)
    assert faces.shape[0] == mesh.faces.shape[0] > 0
    if path.suffix == ".obj":
        counts = obj_counts(path)
        assert (counts["v"], counts["f"]) == (mesh.vertices.shape[0], mesh.faces.shape[0])
    assert_silhouettes_match(silhouette(vertices, faces, cams, 64), want)


def test_sample_end_to_end(ckpt, tmp_path):
    out = tmp_path / "s"
    argv = ["sample", ckpt, "--out", str(out), "-n", "2", "--views", "5", "--resolution", "16"]
    assert main(argv + ["--export", "glb,obj", "--texture-size", "32", *TINY]) == 0
    assert Image.open(out / "grid.png").size == (32, 16)
    gif = Image.open(out / "sample_000_turntable.gif")
    assert gif.n_frames == 5 and gif.size == (16, 16)
    lat = torch.load(out / "latents.pt", weights_only=True)
    assert lat["z_geo"].shape == (2, 16) and lat["geo_seed"] == 0 and lat["tex_seed"] == 1
    G, mine = _cli_generator(ckpt, 2, geo_seed=0, tex_seed=1)
    assert torch.equal(lat["z_geo"], mine.z_geo) and torch.equal(lat["z_tex"], mine.z_tex)
    glbs = sorted(out.glob("sample_*.glb"))
    assert glbs, "at least one of the two samples has a surface"
    for glb in glbs:
        index = int(glb.stem.split("_")[1])
        obj = glb.with_suffix(".obj")
        assert {p.name for p in out.glob(glb.stem + ".*")} == {
            f"{glb.stem}.{ext}" for ext in ("glb", "obj", "mtl", "png")
        }
        for path in (glb, obj):
            _assert_file_is_sample(path, G, mine.ws, index, n_views=5)
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
    G, lat = _cli_generator(ckpt, 1, geo_seed=seed, tex_seed=seed + 1)
    _assert_file_is_sample(tmp_path / "e.obj", G, lat.ws, 0, n_views=4)


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
