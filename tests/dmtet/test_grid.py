"""TetGrid: generated lattices are conforming and positively oriented; files load in every layout."""

import numpy as np
import pytest
import torch

from dmtet import TetGrid, tet_edge_topology


def _faces_with_counts(tets):
    faces = torch.cat([tets[:, [0, 1, 2]], tets[:, [0, 1, 3]], tets[:, [0, 2, 3]], tets[:, [1, 2, 3]]])
    return torch.unique(faces.sort(dim=1).values, dim=0, return_counts=True)


GRIDS = [
    pytest.param(lambda: TetGrid.bcc(1), id="bcc1"),
    pytest.param(lambda: TetGrid.bcc(4), id="bcc4"),
    pytest.param(lambda: TetGrid.cubes(1), id="cubes1"),
    pytest.param(lambda: TetGrid.cubes(5), id="cubes5"),
    pytest.param(lambda: TetGrid.bcc(3, scale=0.8, dtype=torch.float64), id="bcc3-scaled"),
]


@pytest.mark.parametrize("make", GRIDS)
def test_positively_oriented_and_fills_the_box(make):
    grid = make()
    scale = float(grid.vertices.max() - grid.vertices.min())
    vol = grid.signed_volumes()
    assert (vol > 0).all()
    assert torch.isclose(vol.sum().double() / 6, torch.tensor(scale**3, dtype=torch.float64), rtol=1e-5)
    assert torch.allclose(
        grid.vertices.min(0).values, torch.full((3,), -scale / 2, dtype=grid.vertices.dtype)
    )
    assert torch.allclose(grid.vertices.max(0).values, torch.full((3,), scale / 2, dtype=grid.vertices.dtype))


@pytest.mark.parametrize("make", GRIDS)
def test_conforming(make):
    grid = make()
    faces, counts = _faces_with_counts(grid.tets)
    assert counts.max() == 2  # no face is shared by three tets
    outer = faces[counts == 1]
    v = grid.vertices[outer]  # [Fo, 3, 3]
    half = float(grid.vertices.abs().max())
    on_one_side = ((v - v[:, :1]).abs().amax(dim=1) < 1e-6) & (v[:, 0].abs() > half - 1e-6)
    assert on_one_side.any(dim=1).all()  # every unshared face lies in a face of the box
    area = torch.linalg.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]).norm(dim=-1).sum() / 2
    assert torch.isclose(area.double(), torch.tensor(6 * (2 * half) ** 2, dtype=torch.float64), rtol=1e-5)


def test_sizes_and_determinism():
    grid = TetGrid.bcc(5)
    n = 5
    assert grid.num_vertices == (n + 1) ** 3 + n**3 + 6 * n * n
    assert grid.num_tets == 12 * n**3 + 12 * n**2
    assert TetGrid.cubes(3).num_tets == 6 * 27
    again = TetGrid.bcc(5)
    assert torch.equal(grid.vertices, again.vertices) and torch.equal(grid.tets, again.tets)


def test_bcc_is_isotropic_and_matches_get3d_res90_size():
    grid = TetGrid.bcc(6)
    lengths = grid.edge_lengths()
    # BCC edges: cell edges (1/n) and centre-corner edges (sqrt(3)/2n), nothing longer.
    assert lengths.max() <= 1 / 6 + 1e-6 and lengths.min() >= 0.5 / 6 - 1e-6
    from dmtet.lattice import bcc_lattice

    v, t = bcc_lattice(35)
    assert abs(v.shape[0] - 98_653) / 98_653 < 0.03 and abs(t.shape[0] - 532_314) / 532_314 < 0.01


def test_edges_and_tet_edge_table():
    grid = TetGrid.bcc(2)
    e = grid.edges
    assert e.dtype == torch.int64 and (e[:, 0] < e[:, 1]).all()
    expected = torch.unique(
        torch.cat([grid.tets[:, [i, j]] for i, j in [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]])
        .sort(1)
        .values,
        dim=0,
    )
    assert torch.equal(e, expected)
    for local, (i, j) in enumerate([(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]):
        pairs = grid.tets[:, [i, j]].sort(1).values
        assert torch.equal(e[grid.tet_edges[:, local]], pairs)


def test_boundary_and_center():
    grid = TetGrid.cubes(4)
    v = grid.vertices
    on_box = (v.abs() == 0.5).any(-1)
    assert torch.equal(grid.boundary_idx, on_box.nonzero().reshape(-1))
    assert grid.boundary_idx.numel() == 5**3 - 3**3
    assert torch.equal(v[grid.center_idx], torch.zeros(1, 3))


def test_from_tensors_normalises_like_get3d():
    v, t = TetGrid.cubes(2).vertices, TetGrid.cubes(2).tets
    shifted = v * torch.tensor([4.0, 2.0, 1.0]) + torch.tensor([10.0, -3.0, 7.0])
    grid = TetGrid.from_tensors(shifted, t, scale=0.8)
    # Re-centred on the bounding box and divided by the largest extent (x: 4), times 0.8.
    assert torch.allclose(grid.vertices, v * torch.tensor([4.0, 2.0, 1.0]) / 4 * 0.8)


def test_save_and_load_all_layouts(tmp_path):
    grid = TetGrid.bcc(2)
    grid.save(tmp_path / "g.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["g.npz"]  # no temp file left behind
    loaded = TetGrid.load(tmp_path / "g.npz")
    assert torch.equal(loaded.tets, grid.tets) and torch.allclose(loaded.vertices, grid.vertices)

    raw_v = grid.vertices.numpy().astype(np.float64) * 3 + 1
    np.savez(tmp_path / "nvdiffrec.npz", vertices=raw_v, indices=grid.tets.numpy())
    nv = TetGrid.load(tmp_path / "nvdiffrec.npz", scale=2.0)
    assert nv.vertices.dtype == torch.float64
    assert torch.allclose(nv.vertices.float(), grid.vertices * 2, atol=1e-6)

    np.savez(tmp_path / "16_verts.npz", data=raw_v)
    for i in range(4):
        np.savez(tmp_path / f"16_tets_{i}.npz", data=grid.tets[:, i].numpy())
    kao = TetGrid.load(tmp_path / "16_verts.npz")
    assert torch.equal(kao.tets, grid.tets)


def test_load_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="path"):
        TetGrid.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "bad.npz", points=np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"keys \['points'\]"):
        TetGrid.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "x_verts.npz", data=np.zeros((4, 3)))
    with pytest.raises(FileNotFoundError, match="x_tets_0.npz"):
        TetGrid.load(tmp_path / "x_verts.npz")
    with pytest.raises(ValueError, match="'.npz'"):
        TetGrid.bcc(1).save(tmp_path / "grid.txt")


def test_bad_construction_arguments():
    v, t = TetGrid.cubes(1).vertices, TetGrid.cubes(1).tets
    with pytest.raises(ValueError, match=r"tets: expected ids in \[0, 7\]"):
        TetGrid.from_tensors(v, t + 1)
    with pytest.raises(TypeError, match="tets: expected an integer tensor"):
        TetGrid.from_tensors(v, t.float())
    with pytest.raises(ValueError, match=r"vertices: expected shape \[N, 3\]"):
        TetGrid.from_tensors(v[:, :2], t)
    with pytest.raises(ValueError, match="scale"):
        TetGrid.from_tensors(v, t, scale=0)
    with pytest.raises(ValueError, match="resolution"):
        TetGrid.bcc(0)


def test_to_device_and_dtype():
    grid = TetGrid.bcc(1).to("cpu", torch.float64)
    assert grid.vertices.dtype == torch.float64 and grid.device == torch.device("cpu")
    with pytest.raises(TypeError, match="dtype"):
        grid.to(dtype=torch.int64)


def test_tet_edge_topology_on_a_single_tet():
    edges, tet_edges = tet_edge_topology(torch.tensor([[3, 0, 2, 1]]), 4)
    assert edges.tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    # local edges (3,0), (3,2), (3,1), (0,2), (0,1), (2,1)
    assert tet_edges.tolist() == [[2, 5, 4, 1, 0, 3]]


@pytest.mark.cuda
def test_grid_to_cuda_follows_device():
    grid = TetGrid.bcc(2).to(torch.device("cuda"))
    assert grid.tets.is_cuda and grid.edges.is_cuda and grid.center_idx.is_cuda
