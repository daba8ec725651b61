"""Tests of render.mesh.render_mesh: GET3D's render path on the pure-PyTorch backend."""

from __future__ import annotations

import math

import pytest
import torch

from render.backend import TorchRasterContext
from render.camera import DEFAULT_FOVY, Cameras, sample_cameras, visualization_cameras
from render.mesh import MeshRender, NormalMode, render_mesh

D = torch.float64
T_HALF = math.tan(DEFAULT_FOVY / 2)  # = 16/35


def cube(half: float = 0.25, centre=(0.0, 0.0, 0.0), dtype=D) -> tuple[torch.Tensor, torch.Tensor]:
    """A welded axis-aligned cube, 8 vertices, 12 faces wound counter-clockwise seen from outside."""
    c = torch.tensor(centre, dtype=dtype)
    v = torch.tensor([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=dtype) * half + c
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    f = []
    for a, b, cc, d in quads:
        f += [(a, b, cc), (a, cc, d)]
    faces = torch.tensor(f, dtype=torch.int64)
    # make every face point outwards (checked, not assumed)
    tri = v[faces]
    n = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    flip = (n * (tri.mean(1) - c)).sum(-1) < 0
    faces[flip] = faces[flip][:, [0, 2, 1]]
    return v, faces


def sphere(radius: float = 0.3, subdivisions: int = 3, dtype=D) -> tuple[torch.Tensor, torch.Tensor]:
    trimesh = pytest.importorskip("trimesh")
    m = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    return torch.as_tensor(m.vertices, dtype=dtype), torch.as_tensor(m.faces, dtype=torch.int64)


def front_camera(radius: float = 1.2, dtype=D) -> Cameras:
    """θ = 0, φ = 90°: the camera on -Z looking towards +Z; image right = world -X, image up = +Y."""
    return Cameras.from_angles(
        torch.zeros(1, dtype=dtype), torch.full((1,), math.pi / 2, dtype=dtype), radius
    )


def pixel_ndc(n: int) -> torch.Tensor:
    return (2 * torch.arange(n, dtype=D) + 1) / n - 1


# ---------------------------------------------------------------------------------------------
# Coverage and geometry
# ---------------------------------------------------------------------------------------------


def test_cube_front_view_mask_is_the_projected_front_face_exactly():
    half, dist, S = 0.25, 1.2, 64
    v, f = cube(half)
    out = render_mesh(v, f, front_camera(dist), S, backend="torch")
    assert isinstance(out, MeshRender)
    assert out.mask.shape == (1, 1, S, S) and out.position.shape == (1, 3, S, S)
    assert out.depth.shape == (1, 1, S, S) and out.face_id.shape == (1, S, S)
    # silhouette = the front face z = -half at distance dist - half
    edge = half / ((dist - half) * T_HALF)
    inside_1d = pixel_ndc(S).abs() < edge
    assert (pixel_ndc(S).abs() - edge).abs().min() > 1e-3  # no pixel centre on an edge
    expected = (inside_1d[:, None] & inside_1d[None, :]).to(D)
    torch.testing.assert_close(out.mask[0, 0], expected, atol=0, rtol=0)
    m = out.mask[0, 0] > 0
    # world positions lie on the front face, depth is exact
    torch.testing.assert_close(
        out.position[0, 2][m], torch.full_like(out.position[0, 2][m], -half), atol=1e-9, rtol=0
    )
    torch.testing.assert_close(
        out.depth[0, 0][m], torch.full_like(out.depth[0, 0][m], dist - half), atol=1e-9, rtol=0
    )
    # and they project back onto their own pixel centres (x: image right = world -X)
    xs = -out.position[0, 0] / ((dist - half) * T_HALF)
    ys = -out.position[0, 1] / ((dist - half) * T_HALF)  # row 0 at the top: NDC y grows downwards
    grid_y, grid_x = torch.meshgrid(pixel_ndc(S), pixel_ndc(S), indexing="ij")
    torch.testing.assert_close(xs[m], grid_x[m], atol=1e-9, rtol=0)
    torch.testing.assert_close(ys[m], grid_y[m], atol=1e-9, rtol=0)
    # background is all zero
    assert not out.position[:, :, ~m].any() and not out.depth[:, :, ~m].any()
    assert (out.face_id[0][~m] == -1).all() and (out.face_id[0][m] >= 0).all()


def test_sphere_mask_area_matches_the_projected_disc():
    radius, S = 0.3, 96
    v, f = sphere(radius, subdivisions=4)
    cams = sample_cameras(3, generator=torch.Generator().manual_seed(0), dtype=D)
    out = render_mesh(v, f, cams, S, backend="torch")
    # a sphere seen from distance d is a disc of NDC radius tan(asin(R/d)) / tan(fovy/2)
    alpha = math.asin(radius / 1.2)
    r_pix = math.tan(alpha) / T_HALF * S / 2
    area = math.pi * r_pix**2
    for b in range(3):
        got = float(out.mask[b].sum())
        assert abs(got - area) / area < 0.03, (got, area)
    # every visible point lies on the faceted sphere, on the near side
    m = out.mask[:, 0] > 0
    p = out.position.permute(0, 2, 3, 1)[m]
    r = p.norm(dim=-1)
    assert r.max() <= radius + 1e-9 and r.min() > radius * 0.995
    # depth equals the camera-space distance of the interpolated point, and is positive
    depth_ref = -(
        torch.einsum("bij,bhwj->bhwi", cams.world_to_cam[:, :3, :3], out.position.permute(0, 2, 3, 1))
        + cams.world_to_cam[:, None, None, :3, 3]
    )[..., 2]
    torch.testing.assert_close(out.depth[:, 0][m], depth_ref[m], atol=1e-9, rtol=0)
    assert out.depth[:, 0][m].min() >= 1.2 - radius - 1e-9 and out.depth[:, 0][m].max() < 1.2
    # nearer at the centre of the disc than at its rim
    c = S // 2
    rim = torch.where(m, out.depth[:, 0], torch.zeros_like(out.depth[:, 0])).amax(dim=(1, 2))
    assert (out.depth[:, 0, c, c] < rim - 0.1).all()


def test_nearest_surface_wins_and_depth_orders_it():
    # two cubes on the camera axis, one behind the other: only the near one is visible
    near_v, near_f = cube(0.1, centre=(0.0, 0.0, -0.3))
    far_v, far_f = cube(0.25, centre=(0.0, 0.0, 0.3))
    v = torch.cat([near_v, far_v])
    f = torch.cat([near_f, far_f + 8])
    out = render_mesh(v, f, front_camera(), 48, backend="torch")
    c = 24
    assert out.face_id[0, c, c] < 12  # a face of the near cube
    assert out.depth[0, 0, c, c].item() == pytest.approx(1.2 - 0.3 - 0.1, abs=1e-9)
    # off the near cube's silhouette the far cube shows, farther away
    m_far = out.face_id[0] >= 12
    assert m_far.any()
    assert (
        out.depth[0, 0][m_far].min()
        > out.depth[0, 0][out.face_id[0].clamp_max(11) == out.face_id[0]].max() - 1
    )
    assert out.depth[0, 0][m_far].min() == pytest.approx(1.2 + 0.3 - 0.25, abs=1e-9)


def test_row_zero_is_the_top_and_x_is_not_mirrored():
    S = 32
    v_up, f_up = cube(0.08, centre=(0.0, 0.3, 0.0))
    out = render_mesh(v_up, f_up, front_camera(), S, backend="torch")
    rows = out.mask[0, 0].sum(dim=1).nonzero().flatten()
    assert len(rows) > 0 and rows.max() < S // 2  # a mesh only in +Y appears in the top rows
    # the camera on -Z sees world +X on the image's left
    v_x, f_x = cube(0.08, centre=(0.3, 0.0, 0.0))
    out = render_mesh(v_x, f_x, front_camera(), S, backend="torch")
    cols = out.mask[0, 0].sum(dim=0).nonzero().flatten()
    assert len(cols) > 0 and cols.max() < S // 2
    # same for every visualisation view: +Y always lands in the top half
    cams = visualization_cameras(dtype=D)[0:24:6]
    out = render_mesh(v_up, f_up, cams, S, backend="torch")
    for b in range(len(cams)):
        rows = out.mask[b, 0].sum(dim=1).nonzero().flatten()
        assert len(rows) > 0 and rows.max() < S // 2


def test_normals_face_and_vertex():
    v, f = cube(0.25)
    out = render_mesh(v, f, front_camera(), 32, backend="torch", normals="face")
    m = out.mask[0, 0] > 0
    n = out.normals[0].permute(1, 2, 0)[m]
    torch.testing.assert_close(n, torch.tensor([0.0, 0.0, -1.0], dtype=D).expand_as(n))
    assert not out.normals[0][:, ~m].any()
    vs, fs = sphere(0.3, subdivisions=3)
    out = render_mesh(
        vs,
        fs,
        sample_cameras(2, generator=torch.Generator().manual_seed(1), dtype=D),
        48,
        backend="torch",
        normals=NormalMode.VERTEX,
    )
    m = out.mask[:, 0] > 0
    n = out.normals.permute(0, 2, 3, 1)[m]
    p = out.position.permute(0, 2, 3, 1)[m]
    torch.testing.assert_close(n.norm(dim=-1), torch.ones(len(n), dtype=D))
    cos = (n * p / p.norm(dim=-1, keepdim=True)).sum(-1)
    assert cos.min() > 0.99  # smooth normals of a sphere point radially
    assert render_mesh(vs, fs, front_camera(), 8, backend="torch").normals is None


# ---------------------------------------------------------------------------------------------
# Batch forms, empty meshes, antialias, gradients
# ---------------------------------------------------------------------------------------------


def test_batch_forms_agree():
    v, f = sphere(0.3, subdivisions=2)
    cams = sample_cameras(3, generator=torch.Generator().manual_seed(2), dtype=D)
    shared = render_mesh(v, f, cams, 24, backend="torch", normals="face")
    batched = render_mesh(v.expand(3, -1, -1), f, cams, 24, backend="torch", normals="face")
    ranged = render_mesh([v, v, v], [f, f, f], cams, 24, backend="torch", normals="face")
    for name in ("mask", "antialiased_mask", "position", "depth", "face_id", "normals"):
        a = getattr(shared, name)
        torch.testing.assert_close(getattr(batched, name), a, msg=name)
        torch.testing.assert_close(getattr(ranged, name), a, msg=name)
    # one at a time gives the same as the batch
    single = render_mesh(v, f, cams[1], 24, backend="torch")
    torch.testing.assert_close(single.position[0], shared.position[1])
    # the range form's ids are local to each mesh; the raw rast ids are global rows of tri
    assert ranged.tri.shape[0] == 3 * f.shape[0] and ranged.pos_clip.dim() == 2
    assert int(ranged.rast[2, ..., 3].max()) > 2 * f.shape[0]


def test_different_meshes_in_range_mode_and_empty_meshes():
    vc, fc = cube(0.2)
    vs, fs = sphere(0.3, subdivisions=1)
    empty_v, empty_f = torch.zeros(0, 3, dtype=D), torch.zeros(0, 3, dtype=torch.int64)
    cams = visualization_cameras(3, dtype=D)
    out = render_mesh([vc, empty_v, vs], [fc, empty_f, fs], cams, 24, backend="torch", normals="vertex")
    ref_cube = render_mesh(vc, fc, cams[0], 24, backend="torch", normals="vertex")
    ref_sphere = render_mesh(vs, fs, cams[2], 24, backend="torch", normals="vertex")
    torch.testing.assert_close(out.position[0], ref_cube.position[0])
    torch.testing.assert_close(out.face_id[2], ref_sphere.face_id[0])
    torch.testing.assert_close(out.antialiased_mask[2], ref_sphere.antialiased_mask[0])
    for name in ("mask", "antialiased_mask", "position", "depth", "normals"):
        assert not getattr(out, name)[1].any(), name
    assert (out.face_id[1] == -1).all()
    # all meshes empty, in every form: all-zero outputs of the right shape
    for verts, faces in (
        (empty_v, empty_f),
        (torch.zeros(3, 5, 3, dtype=D), empty_f),
        ([empty_v] * 3, [empty_f] * 3),
    ):
        out = render_mesh(verts, faces, cams, (6, 7), backend="torch", normals="face")
        assert out.mask.shape == (3, 1, 6, 7) and out.position.shape == (3, 3, 6, 7)
        assert out.face_id.shape == (3, 6, 7) and (out.face_id == -1).all()
        for name in ("mask", "antialiased_mask", "position", "depth", "normals", "rast"):
            assert not getattr(out, name).any(), name


def test_antialiased_mask_differs_only_at_silhouettes_and_carries_gradient():
    v, f = sphere(0.3, subdivisions=2)
    v = v.clone().requires_grad_(True)
    out = render_mesh(v, f, front_camera(), 32, backend="torch")
    aa, hard = out.antialiased_mask, out.mask
    assert aa.min() >= 0 and aa.max() <= 1
    diff = (aa - hard).abs()[0, 0] > 0
    assert diff.any()
    # only next to the silhouette (a pixel whose 4-neighbourhood has both covered and empty pixels)
    h = torch.nn.functional.pad(hard[0, 0], (1, 1, 1, 1))
    border = (
        (h[1:-1, 1:-1] != h[:-2, 1:-1])
        | (h[1:-1, 1:-1] != h[2:, 1:-1])
        | (h[1:-1, 1:-1] != h[1:-1, :-2])
        | (h[1:-1, 1:-1] != h[1:-1, 2:])
    )
    assert (diff & ~border).sum() == 0
    # growing the sphere grows the antialiased area: d(sum aa)/d(scale) > 0
    (grad,) = torch.autograd.grad(aa.sum(), v)
    assert grad.abs().sum() > 0
    assert (grad * v.detach()).sum() > 0
    # without antialias the hard mask has no geometry gradient, the flag removes the aa mask
    out2 = render_mesh(v, f, front_camera(), 32, backend="torch", antialias=False)
    assert out2.antialiased_mask is None and not out2.mask.requires_grad


def test_depth_and_position_gradients_match_finite_differences():
    # one triangle facing the camera, pixel centres well inside; float64 gradcheck end to end
    v0 = torch.tensor(
        [[0.3, -0.3, 0.0], [-0.3, -0.25, 0.05], [0.0, 0.35, -0.05]], dtype=D, requires_grad=True
    )
    f = torch.tensor([[0, 1, 2]])
    cam = front_camera()
    ref = render_mesh(v0.detach(), f, cam, 8, backend="torch", antialias=False)
    inside = ref.mask[0, 0] > 0
    assert int(inside.sum()) > 10

    def fn(v):
        o = render_mesh(v, f, cam, 8, backend="torch", antialias=False)
        return o.depth[0, 0][inside], o.position[0][:, inside]

    assert torch.autograd.gradcheck(fn, (v0,), eps=1e-7, atol=1e-6)


def test_dtype_device_follow_verts_and_context_reuse():
    v, f = cube(0.25, dtype=torch.float32)
    ctx = TorchRasterContext(tile_size=8)
    cams = visualization_cameras(2, dtype=D)  # converted to verts' dtype
    out = render_mesh(v, f, cams, 16, backend=ctx)
    assert out.position.dtype == torch.float32 and out.mask.dtype == torch.float32
    ref = render_mesh(v, f, cams, 16, backend="torch")
    torch.testing.assert_close(out.mask, ref.mask)


def test_bad_inputs_raise():
    v, f = cube()
    cam = front_camera()
    with pytest.raises(TypeError, match="cameras"):
        render_mesh(v, f, None, 8)
    with pytest.raises(ValueError, match="resolution"):
        render_mesh(v, f, cam, 0)
    with pytest.raises(ValueError, match="resolution"):
        render_mesh(v, f, cam, (8,))
    with pytest.raises(ValueError, match="faces"):
        render_mesh(v, f + 10, cam, 8)
    with pytest.raises(TypeError, match="faces"):
        render_mesh(v, f.float(), cam, 8)
    with pytest.raises(ValueError, match="vertices must have shape"):
        render_mesh(v[:, :2], f, cam, 8)
    with pytest.raises(ValueError, match="batch"):
        render_mesh(v.expand(2, -1, -1), f, cam, 8)
    with pytest.raises(ValueError, match="one mesh per camera"):
        render_mesh([v, v], [f, f], cam, 8)
    with pytest.raises(ValueError, match="normals"):
        render_mesh(v, f, cam, 8, normals="smooth")
    with pytest.raises(ValueError, match="backend"):
        render_mesh(v, f, cam, 8, backend="opengl")
    with pytest.raises(TypeError, match="backend must be a render context"):
        render_mesh(v, f, cam, 8, backend=object())


@pytest.mark.cuda
def test_cuda_tensors_follow_the_device_and_match_cpu():
    v, f = sphere(0.3, subdivisions=2, dtype=torch.float32)
    cams = visualization_cameras(2)
    ref = render_mesh(v, f, cams, 32, backend="torch", normals="face")
    dev = torch.device("cuda")
    out = render_mesh(v.to(dev), f.to(dev), cams, 32, backend="torch", normals="face")
    assert out.mask.device.type == "cuda" and out.position.device.type == "cuda"
    torch.testing.assert_close(out.position.cpu(), ref.position, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.antialiased_mask.cpu(), ref.antialiased_mask, atol=1e-5, rtol=0)
    from render.backend import nvdiffrast_available

    if nvdiffrast_available():
        nv = render_mesh(v.to(dev), f.to(dev), cams, 32, backend="nvdiffrast", normals="face")
        # ids may differ only at pixel centres that lie on an edge (nvdiffrast snaps to 1/16 px)
        from tests.render.raster_compare import assert_disagreements_on_edges

        assert_disagreements_on_edges(ref.pos_clip, ref.tri, ref.face_id, nv.face_id.cpu(), max_px=0.1)
        assert (nv.face_id.cpu() != ref.face_id).float().mean() < 0.05
        same = (nv.face_id.cpu() == ref.face_id) & (ref.face_id >= 0)
        torch.testing.assert_close(nv.depth.cpu()[:, 0][same], ref.depth[:, 0][same], atol=1e-4, rtol=0)


@pytest.mark.parametrize("form", ["instanced", "ranges"])
def test_clip_positions_keep_full_precision_under_bf16_autocast(form):
    # a bf16 training autocast must not round the clip-space positions (about 1 px at 1024²)
    v, f = sphere(0.3, dtype=torch.float32)
    v = v + 1e-3 * torch.arange(v.numel(), dtype=torch.float32).reshape(v.shape).sin()
    cams = visualization_cameras(2, dtype=torch.float32)
    verts, faces = (v, f) if form == "instanced" else ([v, v], [f, f])
    ref = render_mesh(verts, faces, cams, 64, backend="torch")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        cam, clip = cams.transform_points(v)
        out = render_mesh(verts, faces, cams, 64, backend="torch")
    assert clip.dtype == torch.float32 and cam.dtype == torch.float32
    assert out.pos_clip.dtype == torch.float32
    torch.testing.assert_close(out.pos_clip, ref.pos_clip, rtol=0, atol=0)
    torch.testing.assert_close(out.rast, ref.rast, rtol=0, atol=0)


def test_one_context_serves_every_op_of_a_render(monkeypatch):
    # a context passed as `backend` is used as it is: no op makes another context or re-resolves
    # it by name (which would drop its options, e.g. compile)
    made = []
    real_init = TorchRasterContext.__post_init__

    def counting_init(self):
        made.append(self)
        real_init(self)

    monkeypatch.setattr(TorchRasterContext, "__post_init__", counting_init)
    ctx = TorchRasterContext(tile_size=8)
    v, f = sphere(0.3)
    cams = visualization_cameras(3, dtype=D)
    seen = []
    import render.ops as ops

    real_interpolate, real_antialias = ops.interpolate, ops.antialias

    def interpolate(*args, backend, **kwargs):
        seen.append(backend)
        return real_interpolate(*args, backend=backend, **kwargs)

    def antialias(*args, backend, **kwargs):
        seen.append(backend)
        return real_antialias(*args, backend=backend, **kwargs)

    monkeypatch.setattr(ops, "interpolate", interpolate)
    monkeypatch.setattr(ops, "antialias", antialias)
    render_mesh(v, f, cams, 16, backend=ctx)
    render_mesh([v, v, v], [f, f, f], cams, 16, backend=ctx, normals="vertex")
    assert made == [ctx]
    assert len(seen) == 4 and all(b is ctx for b in seen)
    render_mesh(v, f, cams, 16, backend="torch")  # a name: one context for this call
    assert len(made) == 2
