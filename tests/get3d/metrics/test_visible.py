"""GET3D's visible-surface sampler (cars): what the depth cameras see, not the interior."""

from __future__ import annotations

import math

import pytest
import torch

from get3d.metrics.geometry import GeometryProtocol, Role, surface_point_cloud
from get3d.metrics.visible import visible_surface_points, visible_view_cameras, visible_view_rotations
from render import make_context


def _box(half: float) -> tuple[torch.Tensor, torch.Tensor]:
    """An axis-aligned cube ``[-half, half]^3``: 8 vertices, 12 triangles."""
    v = torch.tensor([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=torch.float32)
    f = torch.tensor(
        [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
         [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]]
    )  # fmt: skip
    return v * half, f


def _nested_boxes() -> tuple[torch.Tensor, torch.Tensor]:
    outer_v, outer_f = _box(0.45)  # longest side 0.9: already GET3D's normalisation
    inner_v, inner_f = _box(0.2)
    return torch.cat([outer_v, inner_v]), torch.cat([outer_f, inner_f + 8])


def _box_distance(points: torch.Tensor, half: float) -> torch.Tensor:
    """Distance of points to the surface of the cube ``[-half, half]^3``: ``|max_k |p_k| - half|``
    for points inside; exact on the surface (0)."""
    return (points.abs().amax(-1) - half).abs()


@pytest.fixture(scope="module")
def ctx():
    return make_context("torch", "cpu")


def test_rotations_are_getds_fibonacci_hemisphere():
    rot = visible_view_rotations(100)
    assert rot.shape == (100, 3, 3)
    eye = torch.eye(3, dtype=torch.float64).expand(100, 3, 3)
    assert torch.allclose(rot @ rot.transpose(1, 2), eye, atol=1e-12)
    assert torch.allclose(torch.linalg.det(rot), torch.ones(100, dtype=torch.float64), atol=1e-12)
    # the camera centre is -R^T (0, 0, 1): distance 1 from the origin, all above the shape (world
    # y > 0, Y up): GET3D's fold z := -|z| - 0.1 keeps one hemisphere
    centres = -rot.transpose(1, 2)[:, :, 2]
    assert torch.allclose(centres.norm(dim=-1), torch.ones(100, dtype=torch.float64), atol=1e-12)
    assert (centres[:, 1] > 0.05).all() and (centres[:, 0] < 0).any() and (centres[:, 2] < 0).any()
    # view 0 by hand: y = 0.01 - 1, phi = 1 * pi (3 - sqrt 5), z folded
    y = -0.99
    phi = math.pi * (3 - math.sqrt(5))
    x, z = math.cos(phi) * math.sqrt(1 - y * y), -abs(math.sin(phi) * math.sqrt(1 - y * y)) - 0.1
    lon, lat = -math.atan2(x, y), math.atan2(z, math.hypot(x, y))
    rx = torch.tensor(
        [[1, 0, 0], [0, math.cos(lat), -math.sin(lat)], [0, math.sin(lat), math.cos(lat)]],
        dtype=torch.float64,
    )
    ry = torch.tensor(
        [[math.cos(lon), 0, math.sin(lon)], [0, 1, 0], [-math.sin(lon), 0, math.cos(lon)]],
        dtype=torch.float64,
    )
    assert torch.allclose(rot[0], rx @ ry, atol=1e-12)


def test_cameras_project_like_the_opencv_intrinsics():
    """A world point projects to pixel (u, v) = f (x, y) / z + c of the OpenCV camera R p + (0, 0, 1)."""
    cams = visible_view_cameras(5, 64, dtype=torch.float64)
    rot = visible_view_rotations(5)
    p = torch.tensor([0.1, -0.2, 0.05], dtype=torch.float64)
    for k in range(5):
        cam = rot[k] @ p + torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
        u, v = 64 * cam[0] / cam[2] + 32, 64 * cam[1] / cam[2] + 32
        clip = cams.proj[k] @ cams.world_to_cam[k] @ torch.cat([p, torch.ones(1, dtype=torch.float64)])
        ndc = clip[:2] / clip[3]
        # render.render_mesh: column i spans NDC x in 2 [i, i + 1] / W - 1; row 0 (top) at NDC y = -1
        assert torch.allclose((ndc + 1) * 32, torch.stack([u, v]), atol=1e-9)


def test_no_point_on_the_interior_box_and_all_on_the_surface(ctx):
    verts, faces = _nested_boxes()
    points = visible_surface_points(
        verts,
        faces,
        num_points=400,
        views=20,
        resolution=48,
        generator=torch.Generator().manual_seed(0),
        backend=ctx,
    )
    assert points.shape == (400, 3) and points.dtype == torch.float32
    assert (_box_distance(points, 0.45) < 1e-5).all()  # on the outer box
    assert (_box_distance(points, 0.2) > 0.2).all()  # none on the inner one
    # the cameras cover the upper hemisphere and see the top and the four sides, never the bottom
    faces_seen = {tuple(row) for row in torch.sign((points.abs() > 0.45 - 1e-5) * points).int().tolist()}
    assert len(faces_seen) >= 4
    assert (points[:, 1] > -0.45 + 1e-4).all()


def test_uniform_sampling_does_see_the_interior():
    """The contrast that makes the test above meaningful: uniform points land on the inner box too."""
    verts, faces = _nested_boxes()
    cloud = surface_point_cloud(verts, faces, GeometryProtocol(num_points=2000, extent=0.9))
    assert (_box_distance(cloud, 0.2) < 1e-5).sum() > 100


def test_protocol_cloud_is_deterministic_per_seed(ctx):
    verts, faces = _nested_boxes()
    proto = GeometryProtocol.for_category(
        "car", num_points=60, visible_views=10, visible_resolution=32, visible_points=100
    )
    a = surface_point_cloud(verts * 3, faces, proto, role=Role.REFERENCE, index=2, backend=ctx)
    b = surface_point_cloud(verts * 3, faces, proto, role=Role.REFERENCE, index=2, backend=ctx)
    c = surface_point_cloud(verts * 3, faces, proto, role=Role.REFERENCE, index=3, backend=ctx)
    assert a.shape == (60, 3) and torch.equal(a, b) and not torch.equal(a, c)
    assert (_box_distance(a, 0.45) < 1e-5).all()  # rescaled to longest side 0.9 (not re-centred)
    assert (a.amax(0) - a.amin(0)).amax() <= 0.9 + 1e-5


def test_argument_errors(ctx):
    verts, faces = _box(0.4)
    with pytest.raises(ValueError, match="num_points"):
        visible_surface_points(verts, faces, num_points=5, views=10, backend=ctx)
    with pytest.raises(ValueError, match="views"):
        visible_view_rotations(0)
    with pytest.raises(ValueError, match="sees no surface"):  # a mesh behind every camera
        visible_surface_points(verts + torch.tensor([0.0, 0.0, 50.0]), faces, num_points=10, views=2,
                               resolution=8, backend=ctx)  # fmt: skip
