"""COV / MMD / 1-NNA on hand-made matrices, GET3D's normalisation, protocol point clouds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from get3d.metrics.geometry import (
    GeometryProtocol,
    Role,
    SurfaceSampling,
    _triangle_bounds,
    coverage,
    distance_matrix,
    geometry_scores,
    minimum_matching_distance,
    nearest_neighbor_accuracy,
    normalize_extent,
    self_distance_matrix,
    surface_point_cloud,
)

# 3 references (rows) x 4 generated (columns)
D = torch.tensor(
    [
        [0.1, 0.5, 0.9, 0.4],
        [0.3, 0.2, 0.8, 0.7],
        [0.6, 0.6, 0.6, 0.6],
    ]
)


def test_mmd_and_cov_by_hand():
    # MMD: mean over refs of the min over gens = (0.1 + 0.2 + 0.6) / 3
    assert minimum_matching_distance(D) == pytest.approx(0.3)
    # nearest ref of each gen: g0 -> r0, g1 -> r1, g2 -> r2, g3 -> r0  => 3 of 3 refs covered
    assert coverage(D) == pytest.approx(1.0)
    d = D.clone()
    d[2, 2] = 0.95  # g2 now matches r1 -> only r0, r1 covered
    assert coverage(d) == pytest.approx(2 / 3)
    assert coverage(d.numpy()) == pytest.approx(2 / 3)


def test_one_nna_by_hand():
    # two well separated sets: every shape's nearest neighbour has its own label -> 100 %
    rr = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    gg = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    rg = torch.full((2, 2), 10.0)
    assert nearest_neighbor_accuracy(rr, gg, rg) == 1.0
    # each generated shape is a near copy of one reference -> every neighbour has the other label: 0 %
    rg = torch.tensor([[0.01, 5.0], [5.0, 0.01]])
    assert nearest_neighbor_accuracy(rr, gg, rg) == 0.0
    # mixed: r0 -> g0 (wrong), r1 -> r0 (right), g0 -> r0 (wrong), g1 -> g0 (right) -> 50 %
    rr = torch.tensor([[0.0, 0.5], [0.5, 0.0]])
    gg = torch.tensor([[0.0, 0.6], [0.6, 0.0]])
    rg = torch.tensor([[0.1, 0.9], [0.9, 0.9]])
    assert nearest_neighbor_accuracy(rr, gg, rg) == 0.5


def test_matrix_checks_name_the_argument():
    with pytest.raises(ValueError, match="d_ref_gen"):
        coverage(torch.zeros(0, 3))
    with pytest.raises(ValueError, match="d_ref_ref"):
        nearest_neighbor_accuracy(torch.zeros(2, 3), torch.zeros(2, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="d_ref_gen"):
        nearest_neighbor_accuracy(torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(2, 3))


def test_normalize_extent_scales_about_the_origin():
    v = torch.tensor([[1.0, 0.0, 0.0], [3.0, 1.0, 0.5]])
    out = normalize_extent(v)
    assert torch.allclose(out, v / 2)  # longest side 2 -> 1, no re-centring
    centred = normalize_extent(v, 1.0, recenter=True)
    assert torch.allclose(centred.amax(0) + centred.amin(0), torch.zeros(3))
    with pytest.raises(ValueError, match="vertices"):
        normalize_extent(torch.ones(3, 3))


def _cube(scale=1.0, shift=0.0):
    corners = torch.tensor([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=torch.float64)
    faces = torch.tensor(
        [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
         [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]]
    )  # fmt: skip
    return corners * scale + shift, faces


def test_protocol_cloud_is_normalised_deterministic_and_stream_dependent():
    v, f = _cube(scale=3.0, shift=2.0)
    unused = torch.cat([v, torch.tensor([[100.0, 100.0, 100.0]], dtype=torch.float64)])  # ignored vertex
    proto = GeometryProtocol(num_points=512)
    a = surface_point_cloud(unused, f, proto, role=Role.REFERENCE, index=3)
    b = surface_point_cloud(v, f, proto, role=Role.REFERENCE, index=3)
    assert a.shape == (512, 3) and a.dtype == torch.float32
    assert torch.equal(a, b)
    extent = (a.amax(0) - a.amin(0)).max()
    assert 0.97 < extent <= 1.0 + 1e-6  # scaled to extent 1 (samples reach near the corners)
    assert a.amin() >= 2.0 / 3.0 - 1e-6  # not re-centred: the box [2, 5] maps to [2/3, 5/3]
    # every point on the cube's surface: one coordinate at 2/3 or 5/3
    on_face = ((a - 2 / 3).abs() < 1e-5) | ((a - 5 / 3).abs() < 1e-5)
    assert on_face.any(1).all()
    c = surface_point_cloud(v, f, proto, role=Role.GENERATED, index=3)
    d = surface_point_cloud(v, f, proto, role=Role.REFERENCE, index=4)
    assert not torch.equal(a, c) and not torch.equal(a, d)
    with pytest.raises(ValueError, match="faces"):
        surface_point_cloud(v, f[:0], proto)


def test_geometry_scores_known_answers():
    proto = GeometryProtocol(num_points=256)
    refs = torch.stack([surface_point_cloud(*_cube(s), proto, role=Role.REFERENCE, index=i)
                        for i, s in enumerate((1.0, 1.0, 1.0))])  # fmt: skip
    # generated = exact copies of the reference clouds, then far-away translated copies
    same = geometry_scores(refs, refs.clone(), nna=True)
    assert same.cov_cd == pytest.approx(100.0)  # copy g is nearest to its own reference
    assert same.mmd_cd == pytest.approx(0.0, abs=1e-4)  # float32 GEMM rounding only (x 10^3)
    assert same.nna_cd == pytest.approx(0.0)  # each shape's nearest other is its exact copy
    far = geometry_scores(refs, refs + 10.0, nna=True)
    sq = ((refs.double()[:, None, :, None] - (refs.double() + 10.0)[None, :, None]) ** 2).sum(-1)
    brute = sq.amin(-1).mean(-1) + sq.amin(-2).mean(-1)  # [ref, gen] Chamfer by brute force
    assert far.mmd_cd == pytest.approx(1000 * brute.amin(1).mean().item(), rel=1e-5)
    assert far.cov_cd == pytest.approx(100 * len(set(brute.argmin(0).tolist())) / 3)
    assert far.nna_cd == pytest.approx(100.0)
    assert far.num_ref == 3 and far.num_gen == 3 and far.num_gen_nna == 3


def test_distance_matrix_in_worker_processes_equals_in_process():
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(5, 30, 3, generator=g), torch.rand(4, 20, 3, generator=g)
    torch.testing.assert_close(distance_matrix(a, b, workers=2), distance_matrix(a, b))
    full = distance_matrix(a, a)
    full.fill_diagonal_(0)
    torch.testing.assert_close(self_distance_matrix(a), full, rtol=1e-6, atol=1e-7)
    for n, parts in ((5, 8), (1000, 8), (7, 1)):
        bounds = _triangle_bounds(n, parts)
        assert bounds[0] == 0 and bounds[-1] == n and bounds == sorted(bounds)
    pairs = [
        sum(1000 - i - 1 for i in range(lo, hi)) for lo, hi in itertools.pairwise(_triangle_bounds(1000, 8))
    ]
    assert max(pairs) < 1.1 * min(pairs)  # balanced work per worker task


def test_protocol_validation():
    with pytest.raises(ValueError, match="num_points"):
        GeometryProtocol(num_points=0)
    with pytest.raises(ValueError, match="seed"):
        GeometryProtocol(seed=-1)
    assert GeometryProtocol().as_dict() == {
        "extent": 1.0, "num_points": 2048, "seed": 41, "recenter": False, "gen_per_ref": 5,
        "surface": "uniform", "visible_views": 100, "visible_resolution": 640, "visible_points": 5000,
    }  # fmt: skip
    car = GeometryProtocol.for_category("car")  # GET3D's sample_surface.py: visible surface at 0.9
    assert car.surface is SurfaceSampling.VISIBLE and car.extent == 0.9
    assert GeometryProtocol.for_category("02958343") == car
    assert GeometryProtocol.for_category("chair") == GeometryProtocol.for_category(None) == GeometryProtocol()
    with pytest.raises(ValueError, match="visible_points"):
        GeometryProtocol(surface="visible", visible_points=1000)  # fewer than num_points 2048
    with pytest.raises(ValueError):
        GeometryProtocol(surface="everywhere")
    assert isinstance(minimum_matching_distance(np.ones((2, 2))), float)
