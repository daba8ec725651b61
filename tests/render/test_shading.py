"""Tests of render.shading: normal maps, Lambert shading with a camera-space light, previews."""

from __future__ import annotations

import math

import pytest
import torch

from render.camera import Cameras, visualization_cameras
from render.shading import DEFAULT_LIGHT_DIR, render_preview, shade_lambert, shade_normals

D = torch.float64


def front_camera() -> Cameras:
    # on -Z looking at +Z: camera space = world rotated by 180° about Y (x -> -x, z -> -z)
    return Cameras.from_angles(torch.zeros(1, dtype=D), torch.full((1,), math.pi / 2, dtype=D))


def const_image(vec, h=2, w=3) -> torch.Tensor:
    return torch.tensor(vec, dtype=D).view(1, 3, 1, 1).expand(1, 3, h, w).clone()


def test_shade_normals_values_and_background():
    n = torch.nn.functional.normalize(torch.randn(2, 3, 4, 5, dtype=D), dim=1)
    mask = (torch.rand(2, 1, 4, 5) > 0.5).to(D)
    img = shade_normals(n, mask, background=(0.1, 0.2, 0.3))
    assert img.shape == (2, 3, 4, 5) and img.min() >= 0 and img.max() <= 1
    m = mask[:, 0] > 0
    torch.testing.assert_close(img.permute(0, 2, 3, 1)[m], ((n + 1) / 2).permute(0, 2, 3, 1)[m])
    torch.testing.assert_close(
        img.permute(0, 2, 3, 1)[~m], torch.tensor([0.1, 0.2, 0.3], dtype=D).expand(int((~m).sum()), 3)
    )


def test_lambert_known_values():
    cam = front_camera()
    mask = torch.ones(1, 1, 2, 3, dtype=D)
    light_cam = torch.tensor(DEFAULT_LIGHT_DIR, dtype=D)
    light_cam = light_cam / light_cam.norm()
    # a world normal that maps to the light direction in camera space: world = R^T l
    rot = cam.world_to_cam[0, :3, :3]
    n_lit = rot.T @ light_cam
    img = shade_lambert(const_image(n_lit.tolist()), mask, cam, ambient=0.25, diffuse=0.75, albedo=0.8)
    torch.testing.assert_close(img, torch.full_like(img, 0.8))  # 0.8 * (0.25 + 0.75 * 1)
    # perpendicular to the light but facing the camera: ambient only
    perp = torch.linalg.cross(light_cam, torch.tensor([1.0, 0.0, 0.0], dtype=D))
    perp = perp / perp.norm()
    perp = perp if perp[2] > 0 else -perp
    img = shade_lambert(
        const_image((rot.T @ perp).tolist()), mask, cam, ambient=0.25, diffuse=0.75, albedo=0.8
    )
    torch.testing.assert_close(img, torch.full_like(img, 0.2))
    # RGB albedo multiplies per channel, and the range is clamped to [0, 1]
    img = shade_lambert(
        const_image(n_lit.tolist()), mask, cam, ambient=1.0, diffuse=1.0, albedo=(1.0, 0.5, 0.25)
    )
    torch.testing.assert_close(img[0, :, 0, 0], torch.tensor([1.0, 1.0, 0.5], dtype=D))


def test_lit_faces_are_brighter_and_two_sided_flips_back_faces():
    cam = front_camera()
    mask = torch.ones(1, 1, 2, 3, dtype=D)
    rot = cam.world_to_cam[0, :3, :3]
    towards = rot.T @ torch.tensor([0.3, 0.5, 1.0], dtype=D) / math.sqrt(1.34)
    away = rot.T @ torch.tensor([-0.6, -0.6, 0.53], dtype=D)
    away = away / away.norm()
    bright = shade_lambert(const_image(towards.tolist()), mask, cam)
    dim = shade_lambert(const_image(away.tolist()), mask, cam)
    assert (bright > dim).all()
    # a normal pointing away from the camera is flipped when two-sided, unlit otherwise
    back = rot.T @ torch.tensor([0.0, 0.0, -1.0], dtype=D)
    two = shade_lambert(const_image(back.tolist()), mask, cam)
    front = shade_lambert(const_image((-back).tolist()), mask, cam)
    one = shade_lambert(const_image(back.tolist()), mask, cam, two_sided=False)
    torch.testing.assert_close(two, front)
    torch.testing.assert_close(one, torch.full_like(one, 0.8 * 0.25))


def test_background_and_bad_arguments():
    cam = front_camera()
    n = const_image([0.0, 0.0, -1.0])
    mask = torch.zeros(1, 1, 2, 3, dtype=D)
    img = shade_lambert(n, mask, cam, background=0.5)
    torch.testing.assert_close(img, torch.full_like(img, 0.5))
    with pytest.raises(ValueError, match="mask"):
        shade_lambert(n, torch.zeros(1, 1, 3, 3, dtype=D), cam)
    with pytest.raises(ValueError, match="normals"):
        shade_normals(torch.zeros(1, 4, 2, 3), mask)
    with pytest.raises(ValueError, match="cameras"):
        shade_lambert(n, mask, visualization_cameras(2, dtype=D))
    with pytest.raises(ValueError, match="light_dir"):
        shade_lambert(n, mask, cam, light_dir=(0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="ambient"):
        shade_lambert(n, mask, cam, ambient=-1.0)
    with pytest.raises(TypeError, match="cameras"):
        shade_lambert(n, mask, None)


def test_preview_of_a_sphere():
    trimesh = pytest.importorskip("trimesh")
    m = trimesh.creation.icosphere(subdivisions=3, radius=0.3)
    v = torch.as_tensor(m.vertices, dtype=torch.float32)
    f = torch.as_tensor(m.faces, dtype=torch.int64)
    cams = visualization_cameras(2)
    S = 48
    img = render_preview(v, f, cams, S, backend="torch", normals="vertex")
    assert img.shape == (2, 3, S, S) and img.dtype == torch.float32
    assert img.min() >= 0 and img.max() <= 1
    assert (img[:, :, 0, 0] == 1).all()  # white background in the corner
    # the light sits above, right of and behind the viewer: the upper-right of the disc is
    # brighter than the lower-left (row 0 is the top)
    c, o = S // 2, 8
    upper_right = img[:, :, c - o, c + o].mean(1)
    lower_left = img[:, :, c + o, c - o].mean(1)
    assert (upper_right > lower_left + 0.2).all()
    normals = render_preview(v, f, cams, S, backend="torch", mode="normals")
    assert normals.min() >= 0 and normals.max() <= 1
    # the visualisation cameras look slightly down: the top of the disc has normals with +Y
    assert (normals[:, 1, c - 10, c] > 0.75).all()
    with pytest.raises(ValueError, match="mode"):
        render_preview(v, f, cams, S, mode="phong")
    with pytest.raises(ValueError, match="normals"):
        render_preview(v, f, cams, S, normals="none")
