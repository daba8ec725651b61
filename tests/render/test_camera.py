"""Tests of render.camera against GET3D's conventions (get3d_spec.md §5, §8.2-8.3, §14.3)."""

from __future__ import annotations

import math

import pytest
import torch

from render.camera import (
    DEFAULT_FOVY,
    SNAPSHOT_VIEW,
    CameraDistribution,
    CameraRanges,
    Cameras,
    angles_from_position,
    blender_to_world,
    cam_to_world_to_world_to_cam,
    condition_from_blender_angles,
    look_at,
    perspective,
    position_from_angles,
    sample_cameras,
    visualization_cameras,
    world_to_blender,
)

D = torch.float64


def t(*x):
    """A float64 tensor; a single value gives a 0-d tensor."""
    return torch.tensor(x[0] if len(x) == 1 else x, dtype=D)


# ---------------------------------------------------------------------------------------------
# Projection
# ---------------------------------------------------------------------------------------------


def test_projection_matches_spec_numbers():
    p = perspective(dtype=D)
    assert DEFAULT_FOVY == pytest.approx(0.857556, abs=1e-6)
    expected = torch.tensor(
        [[2.1875, 0, 0, 0], [0, -2.1875, 0, 0], [0, 0, -1.0002, -0.20002], [0, 0, -1, 0]], dtype=D
    )
    torch.testing.assert_close(p, expected, atol=1e-4, rtol=0)
    assert p[0, 0].item() == pytest.approx(35 / 16, rel=1e-12)
    assert p[2, 2].item() == pytest.approx(-1000.1 / 999.9, rel=1e-12)
    assert perspective(flip_y=False, dtype=D)[1, 1].item() == pytest.approx(35 / 16, rel=1e-12)
    # batched fovy follows the tensor
    pb = perspective(t(0.5, 1.0))
    assert pb.shape == (2, 4, 4) and pb.dtype == D
    assert pb[1, 0, 0].item() == pytest.approx(1 / math.tan(0.5), rel=1e-12)
    # aspect scales only x
    pa = perspective(aspect=2.0, dtype=D)
    assert pa[0, 0].item() == pytest.approx(35 / 32, rel=1e-12)
    assert pa[1, 1].item() == pytest.approx(-35 / 16, rel=1e-12)


def test_projection_near_far_map_to_ndc_bounds():
    p = perspective(dtype=D)
    for z, ndc in ((-0.1, -1.0), (-1000.0, 1.0)):
        clip = p @ t(0.0, 0.0, z, 1.0)
        assert (clip[2] / clip[3]).item() == pytest.approx(ndc, abs=1e-9)


@pytest.mark.parametrize(
    "kwargs",
    [dict(fovy=0.0), dict(fovy=4.0), dict(near=0.0), dict(near=2.0, far=1.0), dict(aspect=0.0)],
)
def test_projection_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        perspective(**kwargs)


# ---------------------------------------------------------------------------------------------
# Angles, positions, look-at
# ---------------------------------------------------------------------------------------------


def test_known_positions():
    r = 1.2
    cases = {
        (0.0, 90.0): (0.0, 0.0, -r),  # spec §14.3: θ=0, φ=90° -> -Z
        (90.0, 90.0): (-r, 0.0, 0.0),
        (180.0, 90.0): (0.0, 0.0, r),
        (270.0, 90.0): (r, 0.0, 0.0),
        (0.0, 0.0): (0.0, r, 0.0),
        (0.0, 180.0): (0.0, -r, 0.0),
    }
    for (az, po), expected in cases.items():
        pos = position_from_angles(t(math.radians(az)), t(math.radians(po)), r)
        torch.testing.assert_close(pos, t(*expected), atol=1e-12, rtol=0)
    # GET3D's own formula: θ' = -θ - π/2, o = r (sinφ cosθ', cosφ, sinφ sinθ')
    g = torch.Generator().manual_seed(0)
    th, ph = torch.rand(50, generator=g, dtype=D) * 7 - 1, torch.rand(50, generator=g, dtype=D) * 3
    th2 = -th - math.pi / 2
    ref = (
        torch.stack([torch.sin(ph) * torch.cos(th2), torch.cos(ph), torch.sin(ph) * torch.sin(th2)], -1) * 1.2
    )
    torch.testing.assert_close(position_from_angles(th, ph, 1.2), ref, atol=1e-12, rtol=0)


def test_world_to_cam_maps_camera_to_origin_and_origin_to_minus_r():
    cams = Cameras.from_angles(t(0.0, 1.0, 4.0), t(math.pi / 2, 1.0, 2.5), 1.2)
    w2c = cams.world_to_cam
    o = cams.position
    o_h = torch.cat([o, torch.ones(3, 1, dtype=D)], -1)
    torch.testing.assert_close(
        (w2c @ o_h.unsqueeze(-1)).squeeze(-1), t(0, 0, 0, 1).expand(3, 4), atol=1e-12, rtol=0
    )
    origin_cam = w2c @ t(0, 0, 0, 1)
    torch.testing.assert_close(origin_cam, t(0, 0, -1.2, 1).expand(3, 4), atol=1e-12, rtol=0)
    # θ=0, φ=90°: camera on -Z looking at +Z; camera right = world -X, camera up = world +Y
    torch.testing.assert_close(
        w2c[0, :3, :3], t(-1, 0, 0, 0, 1, 0, 0, 0, -1).reshape(3, 3), atol=1e-12, rtol=0
    )


def test_look_at_is_orthonormal_right_handed_and_up_is_up():
    g = torch.Generator().manual_seed(1)
    eye = torch.randn(64, 3, generator=g, dtype=D) * 3
    target = torch.randn(64, 3, generator=g, dtype=D) * 0.3
    w2c = look_at(eye, target)
    rot = w2c[:, :3, :3]
    torch.testing.assert_close(
        rot @ rot.transpose(1, 2), torch.eye(3, dtype=D).expand(64, 3, 3), atol=1e-12, rtol=0
    )
    torch.testing.assert_close(torch.linalg.det(rot), torch.ones(64, dtype=D), atol=1e-12, rtol=0)
    # the target is straight ahead (on -Z) of the camera
    tgt_cam = (w2c @ torch.cat([target, torch.ones(64, 1, dtype=D)], -1).unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(tgt_cam[:, :2], torch.zeros(64, 2, dtype=D), atol=1e-12, rtol=0)
    assert (tgt_cam[:, 2] < 0).all()
    # camera x axis is horizontal, camera y axis has a non-negative world-up component
    assert rot[:, 0, 1].abs().max() < 1e-12
    assert (rot[:, 1, 1] >= 0).all()
    torch.testing.assert_close(w2c[:, 3], t(0, 0, 0, 1).expand(64, 4))


def test_look_at_rejects_degenerate_views():
    with pytest.raises(ValueError, match="parallel"):
        look_at(t(0.0, 2.0, 0.0))
    with pytest.raises(ValueError, match="coincide"):
        look_at(t(1.0, 1.0, 1.0), t(1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="eye"):
        look_at(t(1.0, 2.0))
    with pytest.raises(TypeError):
        look_at(torch.tensor([1, 2, 3]))


def test_projection_of_origin_is_image_centre_and_plus_y_is_top():
    cams = sample_cameras(16, generator=torch.Generator().manual_seed(3), dtype=D)
    pts = t(0, 0, 0, 0, 0.2, 0, 0, -0.2, 0).reshape(3, 3)
    cam, clip = cams.transform_points(pts)
    ndc = clip[..., :3] / clip[..., 3:]
    torch.testing.assert_close(ndc[:, 0, :2], torch.zeros(16, 2, dtype=D), atol=1e-12, rtol=0)
    assert (cam[:, :, 2] < 0).all()  # in front of the camera
    assert (clip[:, :, 3] > 0).all()
    # +Y world (above the origin) goes to NDC y < 0, i.e. nvdiffrast rows < H/2 = the top rows
    assert (ndc[:, 1, 1] < 0).all()
    assert (ndc[:, 2, 1] > 0).all()
    # row index of nvdiffrast's pixel centre convention: y_ndc = (2 row + 1)/H - 1
    H = 64
    row_up = ((ndc[:, 1, 1] + 1) * H - 1) / 2
    assert (row_up < H / 2 - 1).all()


def test_angles_round_trip_through_cam_to_world():
    g = torch.Generator().manual_seed(4)
    az = torch.rand(200, generator=g, dtype=D) * 2 * math.pi
    po = torch.rand(200, generator=g, dtype=D) * (math.pi - 0.02) + 0.01
    r = torch.rand(200, generator=g, dtype=D) * 2 + 0.5
    cams = Cameras.from_angles(az, po, r)
    c2w = cams.cam_to_world
    # NeRF convention: camera looks down its -Z, the origin lies on that ray
    fwd = -c2w[:, :3, 2]
    torch.testing.assert_close(fwd, -c2w[:, :3, 3] / r[:, None], atol=1e-12, rtol=0)
    cams2 = Cameras.from_cam_to_world(c2w)
    torch.testing.assert_close(cams2.world_to_cam, cams.world_to_cam, atol=1e-12, rtol=0)
    torch.testing.assert_close(cams2.proj, cams.proj)
    a2, p2, r2 = angles_from_position(cams2.position)
    torch.testing.assert_close(a2, az, atol=1e-10, rtol=0)
    torch.testing.assert_close(p2, po, atol=1e-10, rtol=0)
    torch.testing.assert_close(r2, r, atol=1e-12, rtol=0)
    torch.testing.assert_close(cams.condition(), torch.stack([az, po], -1), atol=1e-10, rtol=0)
    # inverse of the inverse, and w2c @ c2w = I
    torch.testing.assert_close(cam_to_world_to_world_to_cam(c2w), cams.world_to_cam, atol=1e-12, rtol=0)
    torch.testing.assert_close(
        c2w @ cams.world_to_cam, torch.eye(4, dtype=D).expand(200, 4, 4), atol=1e-12, rtol=0
    )


def test_angles_from_position_ranges():
    a, p, r = angles_from_position(t(0.0, 1.0, 0.0, 1e-30, 0.0, -1.0, 0.0, -1.0, -0.0).reshape(3, 3))
    assert ((a >= 0) & (a < 2 * math.pi)).all()
    torch.testing.assert_close(p, t(0.0, math.pi / 2, math.pi))


# ---------------------------------------------------------------------------------------------
# Blender parity (§8.3) and the loader's condition (§8.2)
# ---------------------------------------------------------------------------------------------


def _rot_x(a):
    c, s = math.cos(a), math.sin(a)
    return torch.tensor([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=D)


def _rot_z(a):
    c, s = math.cos(a), math.sin(a)
    return torch.tensor([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=D)


def _blender_camera_matrix_world(rotation_deg: float, elevation_deg: float, r: float = 1.2) -> torch.Tensor:
    """GET3D's Blender rig, derived independently in Blender's Z-up world.

    The camera starts at (0, r, 0), parented to an empty at the origin with Euler XYZ
    (elevation, 0, azimuth) (matrix Rz @ Ry @ Rx), and a TRACK_TO constraint (track -Z, up Y)
    aims it at the origin with its Y axis towards world +Z.
    """
    pos = _rot_z(math.radians(rotation_deg)) @ _rot_x(math.radians(elevation_deg)) @ t(0.0, r, 0.0)
    back = pos / pos.norm()  # camera +Z points away from the target
    x = torch.linalg.cross(t(0.0, 0.0, 1.0), back)
    x = x / x.norm()
    y = torch.linalg.cross(back, x)
    m = torch.eye(4, dtype=D)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = x, y, back, pos
    return m


def test_blender_parity():
    g = torch.Generator().manual_seed(5)
    rot = (torch.rand(40, generator=g, dtype=D) * 360).tolist()
    elev = (torch.rand(40, generator=g, dtype=D) * 30).tolist()
    for a, e in zip(rot, elev, strict=True):
        blender_m = _blender_camera_matrix_world(a, e)
        # position formula quoted by the spec
        ra, re = math.radians(a), math.radians(e)
        expected_pos = t(
            -1.2 * math.cos(re) * math.sin(ra), 1.2 * math.cos(re) * math.cos(ra), 1.2 * math.sin(re)
        )
        torch.testing.assert_close(blender_m[:3, 3], expected_pos, atol=1e-12, rtol=0)
        # OBJ import (forward -Z, up Y): OBJ (x, y, z) -> Blender (x, -z, y),
        # so Blender (X, Y, Z) -> OBJ (X, Z, -Y)
        X, Y, Z = blender_m[:3, 3].tolist()
        ours = Cameras.from_angles(t(ra), t(math.radians(90 - e)), 1.2)
        torch.testing.assert_close(ours.position[0], t(X, Z, -Y), atol=1e-12, rtol=0)
        # the full camera-to-world agrees after the axis change, both ways
        torch.testing.assert_close(ours.blender_cam_to_world()[0], blender_m, atol=1e-12, rtol=0)
        from_blender = Cameras.from_cam_to_world(blender_m, blender_frame=True)
        torch.testing.assert_close(from_blender.world_to_cam, ours.world_to_cam, atol=1e-12, rtol=0)
        # and the loader's condition equals the angles the camera was built from
        cond = condition_from_blender_angles(t(a), t(e))
        torch.testing.assert_close(cond, ours.condition()[0], atol=1e-10, rtol=0)
        via = Cameras.from_blender_angles(t(a), t(e))
        torch.testing.assert_close(via.world_to_cam, ours.world_to_cam, atol=1e-12, rtol=0)


def test_blender_axis_change_round_trip():
    m = torch.randn(5, 4, 4, dtype=D)
    torch.testing.assert_close(blender_to_world(world_to_blender(m)), m)
    # +Y (up) in our world is +Z in Blender
    c2w = torch.eye(4, dtype=D)
    c2w[:3, 3] = t(0.0, 1.0, 0.0)
    torch.testing.assert_close(world_to_blender(c2w)[:3, 3], t(0.0, 0.0, 1.0))


def test_condition_from_blender_angles_values():
    c = condition_from_blender_angles(t(90.0, 0.0), t(30.0, 0.0))
    torch.testing.assert_close(c, t(math.pi / 2, math.pi / 3, 0.0, math.pi / 2).reshape(2, 2))


# ---------------------------------------------------------------------------------------------
# Distributions and visualisation cameras
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dist, lo, hi",
    [
        (CameraDistribution.SHAPENET_CAR, 60, 90),
        (CameraDistribution.SHAPENET_CHAIR, 60, 90),
        (CameraDistribution.SHAPENET_MOTORBIKE, 60, 90),
        (CameraDistribution.TS_HOUSE, 60, 90),
        (CameraDistribution.TS_ANIMAL, 45, 90),
        (CameraDistribution.RENDERPEOPLE, 70, 90),
    ],
)
def test_distributions_stay_within_their_ranges(dist, lo, hi):
    cams = sample_cameras(2000, dist, generator=torch.Generator().manual_seed(6), dtype=D)
    cond = cams.condition()
    az, po = cond[:, 0], cond[:, 1]
    assert po.min() >= math.radians(lo) - 1e-9 and po.max() <= math.radians(hi) + 1e-9
    # spread over the whole range, not a constant
    assert po.min() < math.radians(lo + 2) and po.max() > math.radians(hi - 2)
    assert az.min() < 0.1 and az.max() > 2 * math.pi - 0.1
    torch.testing.assert_close(cams.position.norm(dim=-1), torch.full((2000,), 1.2, dtype=D))
    # elevation above the horizon is 90° - φ: cameras never look from below
    assert (cams.position[:, 1] >= -1e-9).all()


def test_sampling_is_deterministic_with_a_generator_and_matches_get3d_draw_order():
    a = sample_cameras(8, "shapenet_chair", generator=torch.Generator().manual_seed(7))
    b = sample_cameras(8, "shapenet_chair", generator=torch.Generator().manual_seed(7))
    c = sample_cameras(8, "shapenet_chair", generator=torch.Generator().manual_seed(8))
    assert torch.equal(a.world_to_cam, b.world_to_cam)
    assert not torch.equal(a.world_to_cam, c.world_to_cam)
    assert a.dtype == torch.float32 and a.device.type == "cpu"
    g = torch.Generator().manual_seed(7)
    u = torch.rand(3, 8, generator=g, dtype=D)
    az = u[0] * 2 * math.pi
    po = math.radians(60) + u[1] * math.radians(30)
    d = sample_cameras(8, "shapenet_chair", generator=torch.Generator().manual_seed(7), dtype=D)
    torch.testing.assert_close(d.condition(), torch.stack([az, po], -1), atol=1e-10, rtol=0)


def test_custom_ranges_and_radius():
    ranges = CameraRanges(
        azimuth_min=1.0, azimuth_max=2.0, polar_min=0.5, polar_max=0.6, radius_min=2.0, radius_max=3.0
    )
    cams = sample_cameras(500, ranges, generator=torch.Generator().manual_seed(9), dtype=D)
    az, po, r = angles_from_position(cams.position)
    assert az.min() >= 1.0 - 1e-9 and az.max() <= 2.0 + 1e-9
    assert po.min() >= 0.5 - 1e-9 and po.max() <= 0.6 + 1e-9
    assert r.min() >= 2.0 - 1e-9 and r.max() <= 3.0 + 1e-9 and r.std() > 0.1


def test_sampling_rejects_bad_arguments():
    with pytest.raises(ValueError, match="distribution"):
        sample_cameras(2, "shapenet_plane")
    with pytest.raises(TypeError, match="distribution"):
        sample_cameras(2, 3)
    with pytest.raises(ValueError, match="n must"):
        sample_cameras(-1)
    with pytest.raises(ValueError, match="polar"):
        CameraRanges(polar_min=1.0, polar_max=0.5)
    assert len(sample_cameras(0)) == 0


def test_visualization_cameras():
    cams = visualization_cameras(dtype=D)
    assert len(cams) == 24
    pos = cams.position
    # GET3D: r (sinφ cosθ, cosφ, sinφ sinθ) with θ_i = -2πi/24, φ = 75°
    phi = math.radians(75)
    for i in (0, 4, 13):
        th = -2 * math.pi * i / 24
        expected = t(math.sin(phi) * math.cos(th), math.cos(phi), math.sin(phi) * math.sin(th)) * 1.2
        torch.testing.assert_close(pos[i], expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(pos[0], t(1.2 * math.sin(phi), 1.2 * math.cos(phi), 0.0), atol=1e-12, rtol=0)
    # in training angles view i has azimuth 2πi/24 - π/2 (mod 2π) and polar 75°
    cond = cams.condition()
    expected_az = torch.remainder(torch.arange(24, dtype=D) * 2 * math.pi / 24 - math.pi / 2, 2 * math.pi)
    diff = torch.remainder(cond[:, 0] - expected_az + math.pi, 2 * math.pi) - math.pi
    assert diff.abs().max() < 1e-10
    torch.testing.assert_close(cond[:, 1], torch.full((24,), phi, dtype=D))
    assert SNAPSHOT_VIEW == 4
    snap = cams[SNAPSHOT_VIEW]
    assert len(snap) == 1
    torch.testing.assert_close(snap.position[0], pos[4])


# ---------------------------------------------------------------------------------------------
# The Cameras container
# ---------------------------------------------------------------------------------------------


def test_cameras_container_behaviour():
    cams = sample_cameras(5, generator=torch.Generator().manual_seed(10))
    assert cams.batch_size == 5 and len(cams[1:3]) == 2 and len(cams[-1]) == 1
    torch.testing.assert_close(cams[-1].world_to_cam, cams.world_to_cam[4:])
    c64 = cams.to(dtype=D)
    assert c64.dtype == D and c64.proj.dtype == D
    both = Cameras.cat([cams, cams[0]])
    assert len(both) == 6
    torch.testing.assert_close(cams.fovy, torch.full((5,), DEFAULT_FOVY))
    torch.testing.assert_close(cams.full_proj, cams.proj @ cams.world_to_cam)
    with pytest.raises(AttributeError):
        cams.proj = cams.proj  # frozen
    with pytest.raises(ValueError, match="world_to_cam"):
        Cameras(world_to_cam=torch.eye(4).expand(2, 4, 4), proj=torch.eye(4).expand(3, 4, 4))
    with pytest.raises(ValueError, match="points"):
        cams.transform_points(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="points"):
        cams.transform_points(torch.zeros(4, 3, dtype=D))
    # per-camera points [B, V, 3]
    pts = torch.randn(5, 7, 3)
    cam_b, clip_b = cams.transform_points(pts)
    cam_0, clip_0 = cams[0].transform_points(pts[0])
    torch.testing.assert_close(clip_b[0], clip_0[0])
    torch.testing.assert_close(cam_b[..., 3], torch.ones(5, 7))
