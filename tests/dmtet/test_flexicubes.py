"""dmtet.flexicubes: kaolin's published test vectors, topology invariants, exactness, gradients."""

from __future__ import annotations

import importlib.util

import pytest
import torch

import dmtet
from dmtet import FlexiCubes, MeshKind, QuadSplit, construct_voxel_grid, flexicubes

# kaolin tests/python/kaolin/ops/conversions/test_flexicubes.py, fixture ``input_data`` (r = 4):
# a distance-like field, negative only at the centre vertex 62.
KAOLIN_SDF = [
    0.6660, 0.5500, 0.5071, 0.5500, 0.6660, 0.5500, 0.4124, 0.3590, 0.4124, 0.5500, 0.5071, 0.3590,
    0.3000, 0.3590, 0.5071, 0.5500, 0.4124, 0.3590, 0.4124, 0.5500, 0.6660, 0.5500, 0.5071, 0.5500,
    0.6660, 0.5500, 0.4124, 0.3590, 0.4124, 0.5500, 0.4124, 0.2330, 0.1536, 0.2330, 0.4124, 0.3590,
    0.1536, 0.0500, 0.1536, 0.3590, 0.4124, 0.2330, 0.1536, 0.2330, 0.4124, 0.5500, 0.4124, 0.3590,
    0.4124, 0.5500, 0.5071, 0.3590, 0.3000, 0.3590, 0.5071, 0.3590, 0.1536, 0.0500, 0.1536, 0.3590,
    0.3000, 0.0500, -0.2000, 0.0500, 0.3000, 0.3590, 0.1536, 0.0500, 0.1536, 0.3590, 0.5071, 0.3590,
    0.3000, 0.3590, 0.5071, 0.5500, 0.4124, 0.3590, 0.4124, 0.5500, 0.4124, 0.2330, 0.1536, 0.2330,
    0.4124, 0.3590, 0.1536, 0.0500, 0.1536, 0.3590, 0.4124, 0.2330, 0.1536, 0.2330, 0.4124, 0.5500,
    0.4124, 0.3590, 0.4124, 0.5500, 0.6660, 0.5500, 0.5071, 0.5500, 0.6660, 0.5500, 0.4124, 0.3590,
    0.4124, 0.5500, 0.5071, 0.3590, 0.3000, 0.3590, 0.5071, 0.5500, 0.4124, 0.3590, 0.4124, 0.5500,
    0.6660, 0.5500, 0.5071, 0.5500, 0.6660,
]  # fmt: skip
KAOLIN_CUBES_R2 = [
    [0, 9, 3, 12, 1, 10, 4, 13], [1, 10, 4, 13, 2, 11, 5, 14], [3, 12, 6, 15, 4, 13, 7, 16],
    [4, 13, 7, 16, 5, 14, 8, 17], [9, 18, 12, 21, 10, 19, 13, 22], [10, 19, 13, 22, 11, 20, 14, 23],
    [12, 21, 15, 24, 13, 22, 16, 25], [13, 22, 16, 25, 14, 23, 17, 26],
]  # fmt: skip
KAOLIN_FACES = [
    [0, 1, 2], [2, 1, 3], [0, 2, 4], [4, 2, 6], [2, 3, 6], [6, 3, 7],
    [4, 5, 0], [0, 5, 1], [5, 7, 1], [1, 7, 3], [6, 7, 4], [4, 7, 5],
]  # fmt: skip


def _corners(h: float) -> torch.Tensor:
    return torch.tensor([[x, y, z] for x in (-h, h) for y in (-h, h) for z in (-h, h)])


# --------------------------------------------------------------------------- kaolin's vectors
def test_voxel_grid_matches_kaolin_r2():
    x, cubes = construct_voxel_grid(2)
    axis = torch.tensor([-0.5, 0.0, 0.5])
    expected = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    assert x.dtype == torch.float32 and torch.equal(x, expected)
    assert cubes.dtype == torch.int64 and cubes.tolist() == KAOLIN_CUBES_R2


def test_voxel_grid_anisotropic_and_rounded():
    x, cubes = construct_voxel_grid((2, 3, 4))
    assert x.shape == (3 * 4 * 5, 3) and cubes.shape == (24, 8)
    corners = x[cubes]  # every cube spans one cell along each axis
    span = corners[:, 7] - corners[:, 0]
    assert torch.allclose(span, torch.tensor([1 / 2, 1 / 3, 1 / 4]).expand_as(span), atol=2e-5)
    x90, _ = construct_voxel_grid(90)
    assert x90[1, 2].item() == pytest.approx(round(1 / 90, 5) - 0.5, abs=1e-7)  # kaolin's 1e-5 rounding


def test_trimesh_matches_kaolin_vectors():
    x, cubes = construct_voxel_grid(4)
    v, f, l_dev = FlexiCubes()(x, torch.tensor(KAOLIN_SDF), cubes, 4)
    assert torch.allclose(v, _corners(0.0667), atol=1e-4)
    assert f.tolist() == KAOLIN_FACES
    assert l_dev.shape == (24,)  # per (dual vertex, crossing edge) pair


def test_tetmesh_matches_kaolin_vectors():
    x, cubes = construct_voxel_grid(4)
    v, tets, _ = FlexiCubes()(x, torch.tensor(KAOLIN_SDF), cubes, 4, output_tetmesh=True)
    assert torch.allclose(v, torch.cat([_corners(0.0667), torch.zeros(1, 3)]), atol=1e-4)
    assert tets.tolist() == [face + [8] for face in KAOLIN_FACES]


def test_training_split_adds_a_centre_per_quad():
    x, cubes = construct_voxel_grid(4)
    v, f, _ = FlexiCubes()(x, torch.tensor(KAOLIN_SDF), cubes, 4, training=True)
    assert v.shape == (14, 3) and f.shape == (24, 3)
    assert torch.allclose(v[8:].abs().sum(-1), torch.full((6,), 0.0667), atol=1e-4)  # face centres
    v, tets, _ = FlexiCubes()(x, torch.tensor(KAOLIN_SDF), cubes, 4, training=True, output_tetmesh=True)
    assert tets.shape == (24, 4) and bool((tets[:, 3] == 14).all())


def test_tetmesh_stays_local():
    """kaolin's regression test: every tet edge is shorter than 3 voxels."""
    res = 16
    x, cubes = construct_voxel_grid(res)
    for training in (False, True):
        v, tets, _ = FlexiCubes()(x, x.norm(dim=-1) - 0.3, cubes, res, output_tetmesh=True, training=training)
        edges = tets[:, [0, 1, 0, 2, 0, 3, 1, 2, 1, 3, 2, 3]].reshape(-1, 2)
        assert (v[edges[:, 0]] - v[edges[:, 1]]).norm(dim=-1).max() < 3 / res
        volumes = _tet_volumes(v, tets)
        assert volumes.abs().sum() == pytest.approx(4 / 3 * torch.pi * 0.3**3, rel=0.05)


@pytest.mark.skipif(importlib.util.find_spec("kaolin") is None, reason="kaolin is not installed")
def test_matches_kaolin_when_installed():
    from kaolin.ops.conversions import FlexiCubes as KaolinFlexiCubes

    res = 8
    x, cubes = construct_voxel_grid(res)
    gen = torch.Generator().manual_seed(3)
    sdf = torch.rand(x.shape[0], generator=gen) - 0.5
    w = torch.randn(cubes.shape[0], 21, generator=gen)
    for training in (False, True):
        args = dict(beta=w[:, :12], alpha=w[:, 12:20], gamma_f=w[:, 20], training=training, weight_scale=0.5)
        ours = FlexiCubes()(x, sdf, cubes, res, **args)
        ref = KaolinFlexiCubes("cpu")(x, sdf, cubes, res, **args)
        assert torch.allclose(ours[0], ref[0], atol=1e-6) and torch.equal(ours[1], ref[1])
        assert torch.allclose(ours[2], ref[2], atol=1e-6)


# --------------------------------------------------------------------------- invariants
def _tet_volumes(v: torch.Tensor, tets: torch.Tensor) -> torch.Tensor:
    a, b, c, d = (v[tets[:, i]] for i in range(4))
    return torch.linalg.det(torch.stack([b - a, c - a, d - a], -1)) / 6


def _check_closed_oriented(v: torch.Tensor, f: torch.Tensor) -> None:
    directed = f[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    n = v.shape[0]
    keys = directed[:, 0] * n + directed[:, 1]
    assert keys.unique().numel() == keys.numel(), "a directed edge is used twice: inconsistent winding"
    reverse = directed[:, 1] * n + directed[:, 0]
    assert bool(torch.isin(reverse, keys).all()), "a boundary edge: the surface is not watertight"
    assert not bool((f[:, 0] == f[:, 1]).any() | (f[:, 1] == f[:, 2]).any() | (f[:, 0] == f[:, 2]).any())


def _enclosed_volume(v: torch.Tensor, f: torch.Tensor) -> float:
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    return float((a * torch.cross(b, c, dim=-1)).sum() / 6)


def _fields(x: torch.Tensor) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    res = 12
    coarse = torch.rand(4, 4, 4, generator=gen, dtype=torch.float64) - 0.45
    noise = torch.nn.functional.interpolate(coarse[None, None], size=(res + 1,) * 3, mode="trilinear")
    noise = noise.reshape(-1).to(x.dtype)
    boundary = (x.abs() > 0.49).any(-1)
    radial_xy = torch.sqrt(x[:, 0] ** 2 + x[:, 1] ** 2)
    return {
        "sphere": x.norm(dim=-1) - 0.31,
        "torus": torch.sqrt((radial_xy - 0.27) ** 2 + x[:, 2] ** 2) - 0.12,
        "noise": torch.where(boundary, torch.ones_like(noise), noise),
    }


@pytest.mark.parametrize("split", list(QuadSplit))
def test_surfaces_are_watertight_and_consistently_oriented(split):
    res = 12
    x, cubes = construct_voxel_grid(res)
    x = x.double()
    gen = torch.Generator().manual_seed(1)
    w = torch.randn(cubes.shape[0], 21, generator=gen, dtype=torch.float64)
    for name, sdf in _fields(x).items():
        mesh = flexicubes(x, sdf, cubes, res, beta=w[:, :12], alpha=w[:, 12:20], gamma=w[:, 20], split=split)
        assert mesh.faces.shape[0] > 0, name
        _check_closed_oriented(mesh.vertices, mesh.faces)
        volume = _enclosed_volume(mesh.vertices, mesh.faces)
        inside = float((sdf < 0).double().mean())  # fraction of grid vertices inside ~ volume fraction
        assert volume > 0, f"{name}: normals must point outwards (towards positive sdf)"
        assert volume == pytest.approx(inside, abs=0.03), name
    # with unit weights the sphere's volume is within 10% at 12 cells per side (dual vertices
    # average chord points, so the polyhedron sits slightly inside the sphere)
    sphere = flexicubes(x, _fields(x)["sphere"], cubes, res, split=split)
    exact = 4 / 3 * torch.pi * 0.31**3
    assert _enclosed_volume(sphere.vertices, sphere.faces) == pytest.approx(exact, rel=0.1)


def test_linear_field_is_reproduced_exactly():
    """Zero crossings of a linear field lie on its plane; dual vertices and quad centres are convex
    combinations of them, whatever beta and gamma (alpha would move the crossings, so it is 1)."""
    res = 6
    x, cubes = construct_voxel_grid(res)
    x = x.double()
    normal = torch.tensor([0.3, -0.5, 0.8], dtype=torch.float64)
    normal = normal / normal.norm()
    sdf = x @ normal - 0.07
    gen = torch.Generator().manual_seed(2)
    w = torch.randn(cubes.shape[0], 13, generator=gen, dtype=torch.float64)
    for split in QuadSplit:
        mesh = flexicubes(x, sdf, cubes, res, beta=w[:, :12], gamma=w[:, 12], split=split)
        assert mesh.vertices.shape[0] > 0
        assert torch.allclose(mesh.vertices @ normal, torch.full_like(mesh.vertices[:, 0], 0.07), atol=1e-12)
        normals = torch.cross(
            mesh.vertices[mesh.faces[:, 1]] - mesh.vertices[mesh.faces[:, 0]],
            mesh.vertices[mesh.faces[:, 2]] - mesh.vertices[mesh.faces[:, 0]],
            dim=-1,
        )
        assert bool((normals @ normal > 0).all()), "every face points towards increasing sdf"


def test_close_to_marching_tets_on_the_same_sdf():
    res = 16
    x, cubes = construct_voxel_grid(res)
    sdf = x.norm(dim=-1) - 0.3
    fc = flexicubes(x, sdf, cubes, res)
    grid = dmtet.TetGrid.cubes(res)
    mt = dmtet.marching_tets(grid, 0.3 - grid.vertices.norm(dim=-1)[None])[0]  # positive inside
    d = torch.cdist(fc.vertices, mt.vertices)
    chamfer = 0.5 * (d.min(1).values.mean() + d.min(0).values.mean())
    assert chamfer < 1 / res
    assert fc.vertices.norm(dim=-1).sub(0.3).abs().max() < 0.5 / res


# --------------------------------------------------------------------------- gradients
def test_gradcheck_float64():
    res = 2
    x, cubes = construct_voxel_grid(res)
    x = x.double()
    gen = torch.Generator().manual_seed(5)
    magnitude = torch.rand(x.shape[0], generator=gen, dtype=torch.float64) * 0.4 + 0.1
    sign = torch.where(torch.rand(x.shape[0], generator=gen) < 0.5, -1.0, 1.0).double()
    sdf = (magnitude * sign).requires_grad_()
    pos = (x + 0.05 * torch.rand(x.shape, generator=gen, dtype=torch.float64)).requires_grad_()
    beta = torch.randn(cubes.shape[0], 12, generator=gen, dtype=torch.float64, requires_grad=True)
    alpha = torch.randn(cubes.shape[0], 8, generator=gen, dtype=torch.float64, requires_grad=True)
    gamma = torch.randn(cubes.shape[0], generator=gen, dtype=torch.float64, requires_grad=True)
    for split in QuadSplit:

        def run(p, s, b, a, g, split=split):
            mesh = flexicubes(p, s, cubes, res, beta=b, alpha=a, gamma=g, weight_scale=0.5, split=split)
            return mesh.vertices, mesh.l_dev

        assert run(pos, sdf, beta, alpha, gamma)[0].shape[0] > 0
        assert torch.autograd.gradcheck(run, (pos, sdf, beta, alpha, gamma), eps=1e-6, atol=1e-7)
    # gamma moves vertices only through the training-mode centres
    v = flexicubes(pos, sdf, cubes, res, gamma=gamma, split=QuadSplit.CENTER).vertices
    (grad,) = torch.autograd.grad(v.sum(), gamma)
    assert grad.abs().sum() > 0


# --------------------------------------------------------------------------- edge cases, errors
@pytest.mark.parametrize("value", [1.0, -1.0])
def test_empty_in_empty_out(value):
    x, cubes = construct_voxel_grid(3)
    for kind in MeshKind:
        mesh = flexicubes(x.double(), torch.full((64,), value), cubes, 3, kind=kind)
        assert mesh.vertices.shape == (0, 3) and mesh.vertices.dtype == torch.float64
        assert mesh.faces.shape == (0, 4 if kind is MeshKind.TETRAHEDRA else 3)
        assert mesh.l_dev.shape == (0,)


def test_inputs_are_not_modified_and_outputs_follow_the_data():
    x, cubes = construct_voxel_grid(4)
    sdf = x.norm(dim=-1) - 0.3
    x0, s0, c0 = x.clone(), sdf.clone(), cubes.clone()
    mesh = flexicubes(x, sdf, cubes.to(torch.int32), 4)
    assert torch.equal(x, x0) and torch.equal(sdf, s0) and torch.equal(cubes, c0)
    assert mesh.vertices.dtype == torch.float32 and mesh.faces.dtype == torch.int64
    assert mesh.vertices.device == x.device


def _bad(match: str, exc: type[Exception], **overrides) -> None:
    x, cubes = construct_voxel_grid(2)
    args = dict(vertices=x, sdf=x.norm(dim=-1) - 0.3, cubes=cubes, resolution=2)
    args.update(overrides)
    with pytest.raises(exc, match=match):
        flexicubes(**args)


def test_bad_inputs_name_the_argument():
    x, cubes = construct_voxel_grid(2)
    _bad("vertices", TypeError, vertices=x.numpy())
    _bad("vertices", ValueError, vertices=x[:, :2])
    _bad("sdf", ValueError, sdf=torch.zeros(5))
    _bad("sdf", TypeError, sdf=torch.zeros(27, dtype=torch.int64))
    _bad("sdf", ValueError, sdf=torch.full((27,), float("nan")))
    _bad("cubes", TypeError, cubes=cubes.float())
    _bad("cubes", ValueError, cubes=cubes + 100)
    _bad("resolution", ValueError, resolution=3)
    _bad("resolution", TypeError, resolution=2.0)
    _bad("beta", ValueError, beta=torch.zeros(8, 11))
    _bad("alpha", ValueError, alpha=torch.zeros(7, 8))
    _bad("gamma", ValueError, gamma=torch.zeros(8, 1))
    _bad("weight_scale", ValueError, weight_scale=1.5)
    _bad("split", TypeError, split="center")
    _bad("kind", TypeError, kind=True)
    with pytest.raises(ValueError, match="grad_func"):
        FlexiCubes()(x, x.norm(dim=-1) - 0.3, cubes, 2, grad_func=lambda p: p)
    with pytest.raises(TypeError, match="training"):
        FlexiCubes()(x, x.norm(dim=-1) - 0.3, cubes, 2, training=1)
