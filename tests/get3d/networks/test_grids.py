"""Tet grids: what a grid is (told by its contents), the one-line warning when an official checkpoint
runs on a lattice grid, and the grid file stored in our checkpoints and used again on loading."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

import dmtet
from get3d.networks import (
    Discriminator,
    DiscriminatorConfig,
    Generator,
    GeneratorConfig,
    load_generator,
    load_official_checkpoint,
)
from get3d.networks.checkpoint import OfficialGridWarning
from get3d.networks.grids import GridKind, configured_grid, grid_info

GCFG = GeneratorConfig.tiny()
DCFG = DiscriminatorConfig.tiny()


def _save_get3d_layout(path, grid: dmtet.TetGrid) -> None:
    """A grid file in GET3D's layout (float64 vertices in [-0.5, 0.5]^3, int64 tets)."""
    np.savez_compressed(path, vertices=grid.vertices.double().numpy(), tets=grid.tets.numpy())


def _quartet_like(resolution: int = 3) -> dmtet.TetGrid:
    """A small grid that is not a lattice: BCC topology with interior vertices moved off it."""
    grid = dmtet.TetGrid.bcc(resolution)
    v = grid.vertices.double().clone()
    interior = (v.abs() < 0.5 - 1e-9).all(-1)
    v[interior] += 0.01 / resolution * torch.sin(torch.arange(int(interior.sum()) * 3.0)).reshape(-1, 3)
    return dmtet.TetGrid.from_tensors(v, grid.tets)


def _grid_with_counts(num_vertices: int, num_tets: int) -> dmtet.TetGrid:
    """A stand-in with the sizes of a big grid (only vertices and tet count are looked at)."""
    v = torch.rand(num_vertices, 3, generator=torch.Generator().manual_seed(0)) - 0.5
    empty = torch.zeros(0, dtype=torch.int64)
    return dmtet.TetGrid(v, torch.zeros(num_tets, 4, dtype=torch.int64), empty, empty, empty, empty[:1])


# ------------------------------------------------------------------------------------ grid_info


@pytest.mark.parametrize(("n", "scale"), [(1, 1.0), (2, 0.8), (5, 1.0), (12, 1.0)])
def test_bcc_grids_are_recognised_with_their_resolution(n: int, scale: float):
    info = grid_info(dmtet.TetGrid.bcc(n, scale=scale))
    assert (info.kind, info.resolution) == (GridKind.BCC, n) and info.is_lattice and not info.is_get3d_grid
    assert (info.num_vertices, info.num_tets) == ((n + 1) ** 3 + n**3 + 6 * n * n, 12 * n * n * (n + 1))


def test_lattices_are_recognised_in_any_vertex_order_and_layout(tmp_path):
    grid = dmtet.TetGrid.bcc(4)
    perm = torch.randperm(grid.num_vertices, generator=torch.Generator().manual_seed(1))
    shuffled = dmtet.TetGrid.from_tensors(grid.vertices[perm], torch.argsort(perm)[grid.tets])
    assert grid_info(shuffled).kind is GridKind.BCC
    _save_get3d_layout(tmp_path / "90_compress.npz", grid)  # GET3D's file name, a BCC grid inside
    info = grid_info(dmtet.TetGrid.load(tmp_path / "90_compress.npz"), tmp_path / "90_compress.npz")
    assert info.kind is GridKind.BCC and info.path == str(tmp_path / "90_compress.npz")
    assert grid_info(dmtet.TetGrid.cubes(3)).kind is GridKind.CUBES
    assert grid_info(dmtet.TetGrid.cubes(3)).resolution == 3


def test_off_lattice_grids_are_not_lattices():
    info = grid_info(_quartet_like())
    assert info.kind is GridKind.OTHER and info.resolution is None and not info.is_lattice
    # BCC's counts but one vertex moved off the lattice
    grid = dmtet.TetGrid.bcc(3)
    v = grid.vertices.clone()
    v[5] += 1e-2
    assert grid_info(dmtet.TetGrid.from_tensors(v, grid.tets)).kind is GridKind.OTHER


def test_get3d_quartet_grids_are_told_by_their_sizes():
    info = grid_info(_grid_with_counts(98_653, 532_314))
    assert info.kind is GridKind.GET3D_QUARTET and info.resolution == 90 and info.is_get3d_grid
    assert "98,653 vertices" in str(info) and "90_compress.npz" in str(info)
    other = grid_info(_grid_with_counts(36_562, 192_492))
    assert other.kind is GridKind.GET3D_QUARTET and other.resolution == 64 and not other.is_get3d_grid
    assert grid_info(_grid_with_counts(98_653, 532_313)).kind is GridKind.OTHER
    assert grid_info(_grid_with_counts(98_653, 532_314)).as_dict()["kind"] == "get3d_quartet"
    with pytest.raises(TypeError, match="grid"):
        grid_info("90_compress.npz")


# --------------------------------------------------------------------- the official-grid warning


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """An official-format file ({'G', 'G_ema', 'D'} state_dicts, no config) and a GET3D-layout grid."""
    folder = tmp_path_factory.mktemp("official")
    torch.manual_seed(0)
    path = folder / "shapenet_car.pt"
    torch.save(
        {
            "G": Generator(GCFG).state_dict(),
            "G_ema": Generator(GCFG).state_dict(),
            "D": Discriminator(DCFG).state_dict(),
        },
        path,
    )
    _save_get3d_layout(folder / "quartet.npz", _quartet_like())
    _save_get3d_layout(folder / "bcc_named_like_get3d.npz", dmtet.TetGrid.bcc(3))
    return path, folder


def _official_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, OfficialGridWarning)]


def test_official_checkpoint_on_the_bcc_default_warns_once_in_one_line(official):
    path, _ = official
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        G = load_generator(path, config=GCFG)
    (message,) = _official_warnings(record)
    assert "\n" not in message and "BCC grid of 8 cells" in message and "90_compress.npz" in message
    assert grid_info(G.tet_grid).kind is GridKind.BCC
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        nets = load_official_checkpoint(path, GCFG, DCFG)  # G and G_ema: still one warning
    assert len(_official_warnings(record)) == 1 and nets.G.tet_grid is nets.G_ema.tet_grid


def test_the_warning_goes_by_the_grid_not_its_file_name(official):
    path, folder = official
    for grid in (folder / "quartet.npz", _quartet_like()):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            G = load_generator(path, config=GCFG, grid=grid)
            nets = load_official_checkpoint(path, GCFG, DCFG, grid=grid)
        assert _official_warnings(record) == [] and grid_info(G.tet_grid).kind is GridKind.OTHER
        assert nets.G.tet_grid.num_vertices == G.tet_grid.num_vertices
    assert G.config.tet_grid is None  # a TetGrid object names no file
    assert load_generator(path, config=GCFG, grid=folder / "quartet.npz").config.tet_grid == str(
        folder / "quartet.npz"
    )
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        load_generator(path, config=GCFG, grid=folder / "bcc_named_like_get3d.npz")
        load_generator(path, config=GCFG, grid_resolution=3)
    assert len(_official_warnings(record)) == 2


# ----------------------------------------------------------- the grid file in our checkpoints


def test_the_grid_file_is_stored_in_our_checkpoints_and_used_again(official, tmp_path):
    from get3d.training.checkpoint import save_atomic
    from get3d.training.config import TrainConfig, config_to_dict

    grid_file = str(official[1] / "quartet.npz")
    gcfg = dataclasses.replace(GCFG, tet_grid=grid_file, dmtet_scale=0.8)
    torch.manual_seed(3)
    G = Generator(gcfg)
    expected = dmtet.TetGrid.load(grid_file, scale=0.8)
    torch.testing.assert_close(G.tet_grid.vertices, expected.vertices.float())
    config = config_to_dict(TrainConfig(generator=gcfg, discriminator=DCFG))
    assert config["generator"]["tet_grid"] == grid_file
    state = {"G": G.state_dict(), "G_ema": G.state_dict(), "D": Discriminator(DCFG).state_dict()}
    path = save_atomic({**state, "config": config}, tmp_path / "ours.pt")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        loaded = load_generator(path)
        nets = load_official_checkpoint(path)
    assert _official_warnings(record) == []  # ours: no warning, whatever the grid
    assert loaded.config.tet_grid == grid_file and torch.equal(loaded.tet_grid.tets, expected.tets)
    torch.testing.assert_close(loaded.tet_grid.vertices, expected.vertices.float())
    assert torch.equal(nets.G_ema.tet_grid.tets, expected.tets)
    # overridden: a resolution replaces the stored file (and the config says so)
    bcc = load_generator(path, grid_resolution=4)
    assert bcc.config.tet_grid is None and grid_info(bcc.tet_grid).resolution == 4
    # the stored file gone: an error naming tet_grid and the override
    data = torch.load(path, weights_only=True)
    data["config"]["generator"]["tet_grid"] = str(tmp_path / "gone.npz")
    torch.save(data, tmp_path / "moved.pt")
    with pytest.raises(FileNotFoundError, match="tet_grid: no tet-grid file at .*gone.npz"):
        load_generator(tmp_path / "moved.pt")
    assert load_generator(tmp_path / "moved.pt", grid=grid_file).config.tet_grid == grid_file


def test_generator_config_tet_grid_field(tmp_path):
    from pathlib import Path

    assert GeneratorConfig().tet_grid is None
    assert GeneratorConfig(tet_grid=Path("a/b.npz")).tet_grid == str(Path("a/b.npz"))
    assert GeneratorConfig.from_dict({"tet_grid": "x.npz"}).tet_grid == "x.npz"
    for bad in ("", 3):
        with pytest.raises(ValueError, match="tet_grid"):
            GeneratorConfig(tet_grid=bad)
    with pytest.raises(FileNotFoundError, match="data/tets"):
        configured_grid(GeneratorConfig(tet_grid=str(tmp_path / "none.npz")))


def test_training_config_reads_the_old_top_level_tet_grid():
    from get3d.training import ConfigError, TrainConfig
    from get3d.training.config import apply_overrides, config_from_dict

    c = apply_overrides(TrainConfig(), ["tet_grid=g.npz"])
    assert c.generator.tet_grid == "g.npz" and c.tet_grid == "g.npz"
    assert config_from_dict({"tet_grid": None, "batch": 8}).generator.tet_grid is None  # older stored configs
    assert config_from_dict({"tet_grid": "g.npz", "generator": {"tet_grid": "g.npz"}}).tet_grid == "g.npz"
    with pytest.raises(ConfigError, match="tet_grid: the same setting as generator.tet_grid"):
        config_from_dict({"tet_grid": "a.npz", "generator": {"tet_grid": "b.npz"}})
