"""Loss terms: hand-computed values, gradients, empty-surface fix, argument errors."""

import pytest
import torch

from get3d.reconstruct.losses import empty_surface_loss, laplacian_smoothness, rgb_loss, silhouette_loss


def test_silhouette_and_rgb_losses_by_hand():
    pred = torch.zeros(2, 1, 2, 2)
    target = torch.zeros(2, 1, 2, 2)
    target[0, 0, 0, 0] = 1.0
    target[1, 0, 1, 1] = 0.5
    assert silhouette_loss(pred, target).item() == pytest.approx((1.0 + 0.25) / 8)
    rgb = torch.full((1, 3, 2, 2), -1.0)
    want = torch.full((1, 3, 2, 2), -1.0)
    want[0, :, 0, 1] = torch.tensor([1.0, 0.0, -0.5])
    assert rgb_loss(rgb, want).item() == pytest.approx((2.0 + 1.0 + 0.5) / 12)
    assert silhouette_loss(target, target).item() == 0.0


def test_laplacian_of_a_regular_tetrahedron():
    # centred regular tetrahedron: every vertex's ring is the other three, whose mean is -v/3
    v = torch.tensor([[1.0, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=torch.float64)
    f = torch.tensor([[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]])
    expected = (4.0 / 3.0) ** 2 * 3.0  # |(-4/3) v|^2 with |v|^2 = 3
    assert laplacian_smoothness(v, f).item() == pytest.approx(expected)
    # invariant to translation, scales quadratically
    assert laplacian_smoothness(v + 5.0, f).item() == pytest.approx(expected)
    assert laplacian_smoothness(2.0 * v, f).item() == pytest.approx(4.0 * expected)


def test_laplacian_of_a_triangle_gradchecks_and_ignores_unused_vertices():
    # a single triangle: vertex 0's ring is {1, 2}
    v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=torch.float64, requires_grad=True)
    f = torch.tensor([[0, 1, 2]])
    lap = torch.stack([(v[1] + v[2]) / 2 - v[0], (v[0] + v[2]) / 2 - v[1], (v[0] + v[1]) / 2 - v[2]])
    assert laplacian_smoothness(v, f).item() == pytest.approx(lap.square().sum(-1).mean().item())
    assert torch.autograd.gradcheck(lambda x: laplacian_smoothness(x, f), (v,))
    # unused vertices are ignored, empty meshes give 0 with a graph
    extra = torch.cat([v.detach(), torch.tensor([[9.0, 9, 9]], dtype=torch.float64)])
    assert laplacian_smoothness(extra, f).item() == pytest.approx(lap.square().sum(-1).mean().item())
    empty = laplacian_smoothness(v, torch.zeros(0, 3, dtype=torch.int64))
    assert empty.item() == 0.0 and empty.requires_grad


def test_empty_surface_loss_pushes_towards_a_surface():
    boundary, center = torch.tensor([0, 1]), torch.tensor([2])
    none_inside = torch.tensor([-0.5, -0.2, -0.1, -0.3], requires_grad=True)
    loss = empty_surface_loss(none_inside, boundary, center)
    loss.backward()
    assert loss.item() > 0 and none_inside.grad[2] < 0  # descent raises the centre
    all_inside = torch.tensor([0.5, 0.2, 0.1, 0.3], requires_grad=True)
    loss = empty_surface_loss(all_inside, boundary, center)
    loss.backward()
    assert loss.item() == pytest.approx(0.35) and (all_inside.grad[:2] > 0).all()
    mixed = torch.tensor([-0.5, 0.2, 0.1, 0.3])
    assert empty_surface_loss(mixed, boundary, center).item() == 0.0


def test_loss_arguments_are_checked():
    with pytest.raises(ValueError, match="pred"):
        silhouette_loss(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match="target"):
        rgb_loss(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 3))
    with pytest.raises(ValueError, match="faces"):
        laplacian_smoothness(torch.zeros(3, 3), torch.zeros(2, 2))
