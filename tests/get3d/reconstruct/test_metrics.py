"""Chamfer distance, surface sampling and silhouette IoU."""

import pytest
import torch
import trimesh

from get3d.metrics import chamfer_distance
from get3d.reconstruct.metrics import mesh_chamfer, point_chamfer, sample_surface, silhouette_iou


def test_chamfer_by_hand_and_against_brute_force():
    a = torch.tensor([[0.0, 0.0, 0.0]])
    b = torch.tensor([[3.0, 4.0, 0.0], [6.0, 8.0, 0.0]])
    out = point_chamfer(a, b)
    assert out.a_to_b == pytest.approx(5.0)
    assert out.b_to_a == pytest.approx(7.5)
    assert out.chamfer_l2 == pytest.approx(25.0 + (25.0 + 100.0) / 2)
    assert out.chamfer_l1 == pytest.approx(6.25)
    gen = torch.Generator().manual_seed(0)
    p, q = torch.rand(700, 3, generator=gen), torch.rand(300, 3, generator=gen)
    d = torch.cdist(p.double(), q.double())
    want = d.min(1).values.square().mean() + d.min(0).values.square().mean()
    got = point_chamfer(p, q, chunk_elements=5000)
    assert got.chamfer_l2 == pytest.approx(want.item(), rel=1e-12)
    assert point_chamfer(p, p).chamfer_l2 == 0.0
    # its squared distance is kaolin's (get3d.metrics.chamfer_distance), its plain one the mean of both
    kaolin = chamfer_distance(p[None].double(), q[None].double())
    assert got.chamfer_l2 == pytest.approx(kaolin.item(), rel=1e-12)
    plain = chamfer_distance(p[None].double(), q[None].double(), squared=False)
    assert got.chamfer_l1 == pytest.approx(plain.item() / 2, rel=1e-12)


def test_sample_surface_is_on_the_mesh_and_area_weighted():
    v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [10, 0, 1], [13, 0, 1], [10, 3, 1]])
    f = torch.tensor([[0, 1, 2], [3, 4, 5]])  # areas 0.5 and 4.5
    pts = sample_surface(v, f, 20000, generator=torch.Generator().manual_seed(0))
    on_big = pts[:, 2] > 0.5
    assert on_big.float().mean().item() == pytest.approx(0.9, abs=0.01)
    small = pts[~on_big]
    assert (small[:, :2] >= 0).all() and (small[:, 0] + small[:, 1] <= 1 + 1e-6).all()
    with pytest.raises(ValueError, match="count"):
        sample_surface(v, f, 0)


def test_mesh_chamfer_normalises_by_the_ground_truth_box():
    box = trimesh.creation.box((2.0, 1.0, 1.0))
    v, f = torch.tensor(box.vertices, dtype=torch.float32), torch.tensor(box.faces)
    same = mesh_chamfer(v, f, v, f, points=4000)
    assert same.chamfer_l1 < 0.02
    # a copy shifted by 0.2 along x, the GT's longest side is 2: the shift is 0.1 in unit-box units
    shifted = mesh_chamfer(v + torch.tensor([0.2, 0.0, 0.0]), f, v, f, points=4000)
    assert 0.02 < shifted.chamfer_l1 < 0.1
    assert (
        mesh_chamfer(v + torch.tensor([0.2, 0.0, 0.0]), f, v, f, points=4000, separate=True).chamfer_l1 < 0.02
    )
    # scaling the reconstruction up is penalised (shared normalisation)
    assert mesh_chamfer(v * 1.5, f, v, f, points=4000).chamfer_l1 > 0.1


def test_silhouette_iou():
    pred = torch.zeros(3, 1, 2, 2)
    target = torch.zeros(3, 1, 2, 2)
    pred[0, 0, 0] = 1.0  # 2 pixels
    target[0, 0, :, 0] = 1.0  # 2 pixels, 1 shared
    pred[1] = 1.0
    target[1] = 0.9
    iou = silhouette_iou(pred, target)
    torch.testing.assert_close(iou, torch.tensor([1 / 3, 1.0, 1.0]))
    with pytest.raises(ValueError, match="pred"):
        silhouette_iou(pred, target[:2])
