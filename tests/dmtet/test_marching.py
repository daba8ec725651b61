"""marching_tetrahedra (kaolin drop-in) and marching_tets (fast grid path)."""

import itertools
import math

import pytest
import torch

import dmtet
from dmtet import TetGrid, marching_tetrahedra, marching_tets

from .reference import reference_marching_tets

# --------------------------------------------------------------------------- kaolin's own vectors
CUBE = torch.tensor(
    [[-1.0, -1, -1], [1, -1, -1], [-1, 1, -1], [1, 1, -1], [-1, -1, 1], [1, -1, 1], [-1, 1, 1], [1, 1, 1]]
)
CUBE_TETS = torch.tensor([[0, 1, 3, 5], [4, 5, 0, 6], [0, 3, 2, 6], [5, 3, 6, 7], [0, 5, 3, 6]])


def test_kaolin_unit_test_values():
    vertices = CUBE.unsqueeze(0).expand(4, -1, -1)
    sdf = torch.tensor(
        [[1.0] * 8, [1, 1, 1, 1, -1, 1, 1, 1], [1, 1, 1, 1, -1, -1, 1, 1], [1, 1, 1, 1, -0.5, -0.7, 1, 1]]
    )
    verts, faces, tet_idx = marching_tetrahedra(vertices, CUBE_TETS, sdf, True)
    assert verts[0].shape == (0, 3) and faces[0].shape == (0, 3) and tet_idx[0].shape == (0,)
    assert torch.allclose(verts[1], torch.tensor([[-1.0, -1, 0], [0, -1, 1], [-1, 0, 1]]), atol=1e-4)
    assert torch.equal(faces[1], torch.tensor([[2, 1, 0]]))
    assert torch.equal(tet_idx[1], torch.tensor([1]))
    expected_faces = torch.tensor([[2, 1, 3], [6, 3, 5], [3, 1, 5], [5, 0, 4], [5, 1, 0]])
    expected_v2 = torch.tensor(
        [[-1.0, -1, 0], [0, -1, 0], [1, -1, 0], [1, 0, 0], [-1, 0, 1], [0, 0, 1], [1, 0, 1]]
    )
    assert torch.allclose(verts[2], expected_v2, atol=1e-4)
    expected_v3 = torch.tensor(
        [
            [-1, -1, 0.3333],
            [0.1765, -1, 0.1765],
            [1, -1, 0.1765],
            [1, -0.1765, 0.1765],
            [-1, -0.3333, 1],
            [0.1765, -0.1765, 1],
            [1, -0.1765, 1],
        ]
    )
    assert torch.allclose(verts[3], expected_v3, atol=1e-4)
    for b in (2, 3):
        assert torch.equal(faces[b], expected_faces)
        assert torch.equal(tet_idx[b], torch.tensor([0, 3, 4, 1, 1]))
    for out in (verts, faces, tet_idx):
        assert isinstance(out, tuple) and len(out) == 4


def test_kaolin_docstring_example():
    vertices = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]])
    tets = torch.tensor([[0, 1, 2, 3]])
    sdf = torch.tensor([[-1.0, -1.0, 0.5, 0.5]])
    verts, faces, tet_idx = marching_tetrahedra(vertices, tets, sdf, True)
    expected = torch.tensor([[0.0, 0.6667, 0], [0, 0, 0.6667], [0.3333, 0.6667, 0], [0.3333, 0, 0.6667]])
    assert torch.allclose(verts[0], expected, atol=1e-4)
    assert torch.equal(faces[0], torch.tensor([[3, 0, 1], [3, 2, 0]]))
    assert torch.equal(tet_idx[0], torch.tensor([0, 0]))
    two = marching_tetrahedra(vertices, tets, sdf)
    assert len(two) == 2


# --------------------------------------------------------------------------- one tet, every case
UNIT_TET = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=torch.float64)


def _normals(verts, faces):
    v = verts[faces]
    return torch.linalg.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])


@pytest.mark.parametrize("orientation", ["positive", "negative"])
@pytest.mark.parametrize("values", [(-1.0, 1.0), (-1.0, 0.0, 1.0)], ids=["16-signs", "81-signs"])
def test_every_sign_configuration_on_one_tet(values, orientation):
    tet = torch.tensor([[0, 1, 2, 3]]) if orientation == "positive" else torch.tensor([[0, 2, 1, 3]])
    for signs in itertools.product(values, repeat=4):
        sdf = torch.tensor(signs, dtype=torch.float64) * torch.tensor(
            [0.7, 1.3, 0.9, 1.1], dtype=torch.float64
        )
        verts, faces, tet_idx = (x[0] for x in marching_tetrahedra(UNIT_TET[None], tet, sdf[None], True))
        ref = reference_marching_tets(UNIT_TET, tet, sdf)
        assert torch.equal(faces, ref[1]) and torch.equal(tet_idx, ref[2])
        assert torch.allclose(verts, ref[0], atol=1e-12)
        occupied = sdf > 0  # zero counts as empty
        n_occ = int(occupied.sum())
        assert faces.shape[0] == {0: 0, 1: 1, 2: 2, 3: 1, 4: 0}[n_occ]
        assert verts.shape[0] == n_occ * (4 - n_occ)  # one vertex per crossing edge
        if faces.shape[0] == 0:
            continue
        # Every vertex is where the linear field vanishes on its edge.
        grad = torch.linalg.solve(torch.cat([UNIT_TET, torch.ones(4, 1, dtype=torch.float64)], 1), sdf)
        field = verts @ grad[:3] + grad[3]
        assert torch.allclose(field, torch.zeros_like(field), atol=1e-12)
        normals = _normals(verts, faces)
        area = normals.norm(dim=-1)
        facing = normals @ grad[:3]
        sign = 1 if orientation == "positive" else -1
        # Non-degenerate faces point towards increasing sdf (positive tet) or away (negative tet).
        assert (sign * facing[area > 1e-9] > 0).all()


# --------------------------------------------------------------------------- reference comparison
def _random_field(grid, seed, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    sdf = torch.rand(grid.num_vertices, generator=gen, dtype=dtype) * 2 - 1
    deform = (torch.rand(grid.num_vertices, 3, generator=gen, dtype=dtype) - 0.5) * 0.05
    return sdf, grid.vertices.to(dtype) + deform


@pytest.mark.parametrize("make", [lambda: TetGrid.bcc(2), lambda: TetGrid.cubes(3)], ids=["bcc2", "cubes3"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_drop_in_matches_slow_reference_forward_and_backward(make, seed):
    grid = make()
    sdf, pos = _random_field(grid, seed, torch.float64)
    sdf.requires_grad_(True)
    pos.requires_grad_(True)
    verts, faces, tet_idx = (x[0] for x in marching_tetrahedra(pos[None], grid.tets, sdf[None], True))
    ref_v, ref_f, ref_t = reference_marching_tets(pos, grid.tets, sdf)
    assert torch.equal(faces, ref_f) and torch.equal(tet_idx, ref_t)
    assert torch.allclose(verts, ref_v, rtol=0, atol=1e-12)
    weights = torch.randn(verts.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    g_sdf, g_pos = torch.autograd.grad((verts * weights).sum(), (sdf, pos))
    r_sdf, r_pos = torch.autograd.grad((ref_v * weights).sum(), (sdf, pos))
    assert torch.allclose(g_sdf, r_sdf, atol=1e-10) and torch.allclose(g_pos, r_pos, atol=1e-10)


def test_gradcheck_float64_wrt_sdf_and_vertices():
    grid = TetGrid.cubes(2).to(dtype=torch.float64)
    gen = torch.Generator().manual_seed(3)
    magnitude = torch.rand(grid.num_vertices, generator=gen, dtype=torch.float64) * 0.9 + 0.1
    sign = torch.where(torch.rand(grid.num_vertices, generator=gen) > 0.5, 1.0, -1.0).double()
    sdf = (magnitude * sign).requires_grad_(
        True
    )  # |sdf| >= 0.1: the topology is stable under gradcheck's steps
    pos = grid.vertices.clone().requires_grad_(True)

    def drop_in(s, p):
        return marching_tetrahedra(p[None], grid.tets, s[None])[0][0]

    def fast(s, p):
        return marching_tets(grid, s[None], deform=p - grid.vertices)[0].vertices

    assert drop_in(sdf, pos).shape[0] > 10
    assert torch.autograd.gradcheck(drop_in, (sdf, pos))
    assert torch.autograd.gradcheck(fast, (sdf, pos))


def test_gradient_only_reaches_endpoints_of_crossing_edges():
    grid = TetGrid.bcc(3)
    sdf = (0.3 - grid.vertices.norm(dim=-1)).requires_grad_(True)
    mesh = marching_tets(grid, sdf[None])[0]
    (g,) = torch.autograd.grad(mesh.vertices.sum(), sdf)
    occ = sdf.detach() > 0
    crossing = occ[grid.edges[:, 0]] != occ[grid.edges[:, 1]]
    touched = torch.zeros(grid.num_vertices, dtype=torch.bool)
    touched[grid.edges[crossing].reshape(-1)] = True
    assert (g[~touched] == 0).all() and (g[touched] != 0).any()


# --------------------------------------------------------------------------- fast path == drop-in
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("outward", [False, True])
def test_fast_path_equals_drop_in_exactly(seed, outward):
    grid = TetGrid.bcc(5)
    gen = torch.Generator().manual_seed(seed)
    sdf = (torch.rand(3, grid.num_vertices, generator=gen) * 2 - 1).requires_grad_(True)
    sdf.data[2] = torch.rand(grid.num_vertices, generator=gen) + 0.1  # one empty sample in the batch
    deform = ((torch.rand(3, grid.num_vertices, 3, generator=gen) - 0.5) * 0.02).requires_grad_(True)
    meshes = marching_tets(grid, sdf, deform=deform, outward=outward)
    verts, faces, tet_idx = marching_tetrahedra(grid.vertices + deform, grid.tets, sdf, True)
    weights = torch.randn(3, 4096, 3, generator=gen)
    loss_fast = sum((m.vertices * weights[b, : m.vertices.shape[0]]).sum() for b, m in enumerate(meshes))
    loss_ref = sum((v * weights[b, : v.shape[0]]).sum() for b, v in enumerate(verts))
    for b, mesh in enumerate(meshes):
        assert isinstance(mesh, dmtet.SurfaceMesh)
        expected_faces = faces[b][:, [0, 2, 1]] if outward else faces[b]
        assert torch.equal(mesh.vertices, verts[b])  # bit-identical values
        assert torch.equal(mesh.faces, expected_faces) and torch.equal(mesh.tet_idx, tet_idx[b])
    assert meshes[2].faces.shape == (0, 3) and meshes[2].vertices.shape == (0, 3)
    g_fast = torch.autograd.grad(loss_fast, (sdf, deform))
    g_ref = torch.autograd.grad(loss_ref, (sdf, deform))
    for a, b in zip(g_fast, g_ref, strict=True):
        assert torch.allclose(a, b, rtol=0, atol=1e-6)


def test_fast_path_accepts_shared_deform_and_keeps_inputs():
    grid = TetGrid.cubes(3)
    sdf = 0.3 - grid.vertices.norm(dim=-1)
    deform = torch.full((grid.num_vertices, 3), 0.01)
    before = (sdf.clone(), deform.clone(), grid.vertices.clone())
    meshes = marching_tets(grid, sdf.expand(2, -1), deform=deform)
    assert torch.equal(meshes[0].vertices, meshes[1].vertices)
    assert (
        torch.equal(sdf, before[0])
        and torch.equal(deform, before[1])
        and torch.equal(grid.vertices, before[2])
    )


# --------------------------------------------------------------------------- surfaces
def _check_closed_and_oriented(verts, faces):
    directed = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    n = verts.shape[0]
    keys = directed[:, 0] * n + directed[:, 1]
    assert keys.unique().numel() == keys.numel()  # each directed edge once: consistent orientation
    reverse = directed[:, 1] * n + directed[:, 0]
    assert torch.isin(reverse, keys).all()  # every edge has its twin: watertight
    edges = directed.sort(dim=1).values.unique(dim=0).shape[0]
    return n - edges + faces.shape[0]  # Euler characteristic


def _signed_volume(verts, faces):
    v = verts.double()[faces]
    return (v[:, 0] * torch.linalg.cross(v[:, 1], v[:, 2])).sum() / 6


@pytest.mark.parametrize("make", [lambda: TetGrid.bcc(16), lambda: TetGrid.cubes(20)], ids=["bcc", "cubes"])
def test_sphere_is_watertight_with_outward_normals(make):
    grid = make()
    r = 0.3
    sdf = r - grid.vertices.norm(dim=-1)  # positive inside
    mesh = marching_tets(grid, sdf[None], outward=True)[0]
    assert _check_closed_and_oriented(mesh.vertices, mesh.faces) == 2
    volume = _signed_volume(mesh.vertices, mesh.faces)
    assert abs(float(volume) / (4 / 3 * math.pi * r**3) - 1) < 0.05
    normals = _normals(mesh.vertices, mesh.faces)
    centroids = mesh.vertices[mesh.faces].mean(1)
    area = normals.norm(dim=-1)
    outward_area = area[(normals * centroids).sum(-1) > 0].sum() / area.sum()
    assert outward_area > 0.99  # slivers aside, every face points away from the centre
    inward = marching_tets(grid, sdf[None])[0]
    assert _signed_volume(inward.vertices, inward.faces) < 0  # kaolin's own winding points inwards


def test_torus_has_euler_characteristic_zero():
    grid = TetGrid.bcc(20)
    p = grid.vertices
    ring = torch.sqrt(p[:, 0] ** 2 + p[:, 2] ** 2) - 0.28
    sdf = 0.11 - torch.sqrt(ring**2 + p[:, 1] ** 2)
    mesh = marching_tets(grid, sdf[None], outward=True)[0]
    assert _check_closed_and_oriented(mesh.vertices, mesh.faces) == 0
    expected = 2 * math.pi**2 * 0.28 * 0.11**2
    assert abs(float(_signed_volume(mesh.vertices, mesh.faces)) / expected - 1) < 0.08


def test_linear_sdf_puts_every_vertex_on_its_plane():
    grid = TetGrid.bcc(6, dtype=torch.float64)
    normal = torch.tensor([0.3, -0.5, 0.8], dtype=torch.float64)
    sdf = grid.vertices @ normal - 0.05
    mesh = marching_tets(grid, sdf[None])[0]
    assert mesh.vertices.shape[0] > 50
    assert torch.allclose(
        mesh.vertices @ normal, torch.full((mesh.vertices.shape[0],), 0.05, dtype=torch.float64)
    )


# --------------------------------------------------------------------------- edge cases and errors
@pytest.mark.parametrize("value", [1.0, -1.0, 0.0])
def test_empty_in_empty_out(value):
    grid = TetGrid.cubes(2)
    sdf = torch.full((1, grid.num_vertices), value, dtype=torch.float64)
    verts, faces, tet_idx = (
        x[0] for x in marching_tetrahedra(grid.vertices.double()[None], grid.tets, sdf, True)
    )
    assert verts.shape == (0, 3) and verts.dtype == torch.float64
    assert faces.shape == (0, 3) and faces.dtype == torch.int64 and tet_idx.shape == (0,)
    mesh = marching_tets(grid, sdf.float())[0]
    assert mesh.vertices.shape == (0, 3) and mesh.faces.shape == (0, 3) and mesh.tet_idx.shape == (0,)


def test_dtypes_follow_inputs():
    grid = TetGrid.cubes(2)
    sdf = (0.2 - grid.vertices.norm(dim=-1))[None]
    v, f = (x[0] for x in marching_tetrahedra(grid.vertices[None].double(), grid.tets.int(), sdf))
    assert v.dtype == torch.float64 and f.dtype == torch.int64


def test_bad_inputs_raise_naming_the_argument():
    grid = TetGrid.cubes(1)
    v, t = grid.vertices[None], grid.tets
    s = torch.zeros(1, 8)
    with pytest.raises(ValueError, match=r"vertices: expected shape \[B, N, 3\]"):
        marching_tetrahedra(v[0], t, s)
    with pytest.raises(TypeError, match="tets: expected an integer tensor"):
        marching_tetrahedra(v, t.float(), s)
    with pytest.raises(ValueError, match=r"tets: expected ids in \[0, 7\]"):
        marching_tetrahedra(v, t + 5, s)
    with pytest.raises(ValueError, match=r"sdf: expected shape \[B, N\] = \(1, 8\)"):
        marching_tetrahedra(v, t, torch.zeros(2, 8))
    with pytest.raises(ValueError, match="sdf: expected finite values, got 1 NaN"):
        marching_tetrahedra(v, t, torch.tensor([[0.0] * 7 + [float("nan")]]))
    with pytest.raises(TypeError, match="vertices: expected a torch.Tensor"):
        marching_tetrahedra(v.numpy(), t, s)
    with pytest.raises(TypeError, match="grid: expected a dmtet.TetGrid"):
        marching_tets(v, s)
    with pytest.raises(ValueError, match="sdf: expected shape .* N = 8"):
        marching_tets(grid, torch.zeros(1, 9))
    with pytest.raises(ValueError, match="deform: expected float offsets"):
        marching_tets(grid, s, deform=torch.zeros(2, 8, 3))
    with pytest.raises(ValueError, match="sdf: expected finite values"):
        marching_tets(grid, torch.full((1, 8), float("inf")))


@pytest.mark.cuda
def test_cuda_matches_cpu():
    grid = TetGrid.bcc(6)
    sdf = torch.rand(2, grid.num_vertices, generator=torch.Generator().manual_seed(0)) - 0.5
    cpu = marching_tets(grid, sdf)
    gpu = marching_tets(grid.to("cuda"), sdf.to("cuda"))
    for a, b in zip(cpu, gpu, strict=True):
        assert b.faces.is_cuda
        assert torch.equal(a.faces, b.faces.cpu()) and torch.allclose(a.vertices, b.vertices.cpu())


@pytest.mark.parametrize("batch", [8, 9, 16, 32, 63, 70])
def test_fast_path_any_batch_size(batch):
    # Occupancy bits are packed per vertex in the smallest integer type, in chunks of 62 samples.
    grid = TetGrid.cubes(2)
    gen = torch.Generator().manual_seed(batch)
    sdf = torch.rand(batch, grid.num_vertices, generator=gen) - 0.5
    deform = (torch.rand(batch, grid.num_vertices, 3, generator=gen) - 0.5) * 0.1
    meshes = marching_tets(grid, sdf, deform=deform)
    verts, faces, tet_idx = marching_tetrahedra(grid.vertices + deform, grid.tets, sdf, True)
    assert len(meshes) == batch
    for b, mesh in enumerate(meshes):
        assert torch.equal(mesh.vertices, verts[b]) and torch.equal(mesh.faces, faces[b])
        assert torch.equal(mesh.tet_idx, tet_idx[b])
