"""Tests of the pure-PyTorch ``antialias`` (nvdiffrast semantics).

``rast`` tensors come from a tiny per-pixel reference rasterizer written here (clip-space edge
functions at pixel centres, nearest z/w wins), so these tests do not depend on the production
rasterizer. The slow reference antialias below transcribes nvdiffrast's rules one pixel pair at a
time in Python floats.
"""

from __future__ import annotations

import pytest
import torch

from render.torch_backend.antialias import (
    AntialiasTopology,
    antialias_construct_topology_hash_torch,
    antialias_torch,
)

from .antialias_reference import (
    _ref_find,
    _ref_topology,
    antialias_ref,
    perspective_mesh,
    quad_mesh,
    rasterize_ref,
)

# ----------------------------------------------------------------------------------------------
# Topology.


def test_topology_of_a_quad_and_boundary_edges():
    tri = torch.tensor([[0, 1, 2], [0, 2, 3]])
    topo = antialias_construct_topology_hash_torch(tri)
    assert isinstance(topo, AntialiasTopology)
    assert topo.num_faces == 2
    # Face 0: edge 0 = (1, 2) boundary, edge 1 = (2, 0) shared with face 1 whose opposite is 3,
    # edge 2 = (0, 1) boundary.
    assert topo.opposite.tolist() == [[-1, 3, -1], [-1, -1, 1]]


def test_topology_degenerate_duplicate_and_nonmanifold_edges():
    # Face 1 repeats a vertex: not inserted, and its degenerate edge finds nothing.
    # Faces 2, 3, 4 share edge (5, 6): a non-manifold edge keeps the first two distinct opposite
    # vertices (7 from face 2, 8 from face 3); face 4 (opposite 9) sees no neighbour.
    # Face 5 duplicates face 0: edge (0, 1) then has the single opposite vertex 2 -> boundary.
    tri = torch.tensor([[0, 1, 2], [2, 2, 3], [5, 6, 7], [6, 5, 8], [5, 6, 9], [0, 1, 2]])
    topo = antialias_construct_topology_hash_torch(tri)
    opp = topo.opposite.tolist()
    assert opp[0] == [-1, -1, -1]
    assert opp[5] == [-1, -1, -1]
    assert opp[1][0] == -1  # edge (2, 3) not in the table
    assert opp[1][2] == -1  # edge (2, 2) is degenerate
    assert opp[2][2] == 8 and opp[3][2] == 7
    assert opp[4][2] == -1
    table = _ref_topology(tri.tolist())
    for f, face in enumerate(tri.tolist()):
        for k in range(3):
            assert opp[f][k] == _ref_find(table, face[(k + 1) % 3], face[(k + 2) % 3], face[k])


def test_topology_matches_reference_on_random_welded_mesh():
    gen = torch.Generator().manual_seed(3)
    tri = torch.randint(0, 12, (40, 3), generator=gen)
    topo = antialias_construct_topology_hash_torch(tri.int())
    table = _ref_topology(tri.tolist())
    for f, face in enumerate(tri.tolist()):
        for k in range(3):
            expected = _ref_find(table, face[(k + 1) % 3], face[(k + 2) % 3], face[k])
            assert topo.opposite[f, k].item() == expected


# ----------------------------------------------------------------------------------------------
# Hand-computed answers.


def test_vertical_edge_blend_weight_by_hand():
    # 4x4 image; the rectangle covers NDC x in [-2, 0.15]: in pixel units (x_pix = (x + 1) * W / 2)
    # its right edge is at 2.3, between the centres 1.5 (covered) and 2.5 (empty).
    # The crossing is dc = 0.8 px from the covered centre: alpha = 0.5 - 0.8 = -0.3, applied to
    # the empty pixel: out = 0 + (-0.3) * (0 - 1) = 0.3, its true coverage.
    pos, tri = quad_mesh(-2.0, 0.15, -2.0, 2.0)
    rast = rasterize_ref(pos, tri, 4, 4)
    mask = (rast[..., 3:] > 0).double()
    assert mask[0, :, :, 0].tolist() == [[1.0, 1.0, 0.0, 0.0]] * 4
    pos = pos.clone().requires_grad_(True)
    out = antialias_torch(mask, rast, pos, tri)
    expected = torch.tensor([[1.0, 1.0, 0.3, 0.0]] * 4, dtype=torch.float64)
    torch.testing.assert_close(out[0, :, :, 0], expected, atol=1e-12, rtol=0)
    # Moving both right-edge vertices by h in NDC moves the edge by h * W / 2 = 2h pixels in every
    # row: d(sum out)/dx summed over the two vertices is 4 rows * 2 = 8.
    out.sum().backward()
    gx = pos.grad[:, 0]
    torch.testing.assert_close(gx[1] + gx[2], torch.tensor(8.0, dtype=torch.float64), atol=1e-9, rtol=1e-3)
    assert gx[0] == 0 and gx[3] == 0
    assert torch.all(pos.grad[:, 2] == 0)  # never a z gradient


def test_horizontal_edge_on_vertical_pairs_by_hand():
    # The top edge at NDC y = -0.35 is at pixel y = (y + 1) * H / 2 = 2.6 with H = 8 (rows are NDC
    # bottom-up). Row 2 (centre 2.5) is covered, row 3 (centre 3.5) is not: on the vertical pair
    # dc = 0.1, alpha = 0.5 - 0.1 = 0.4 applied to row 2: 1 + 0.4 * (0 - 1) = 0.6, the coverage of
    # [2, 3] by [.., 2.6].
    pos, tri = quad_mesh(-2.0, 2.0, -2.0, -0.35)
    rast = rasterize_ref(pos, tri, 8, 4)
    mask = (rast[..., 3:] > 0).double()
    out = antialias_torch(mask, rast, pos, tri)
    col = out[0, :, 1, 0]
    torch.testing.assert_close(col, torch.tensor([1, 1, 0.6, 0, 0, 0, 0, 0], dtype=torch.float64))


def test_edge_on_pixel_boundary_alpha_sign_quirk():
    # An edge exactly halfway between two pixel centres gives dc = 0.5 and alpha = ds * 0 = +-0.
    # nvdiffrast drops work items whose alpha is +0.0 (covered pixel first, ds = +1), but keeps
    # -0.0 ones (covered pixel second, ds = -1), which then carry the full position gradient.
    for x0, x1, expected in ((-2.0, 0.0, 0.0), (0.0, 2.0, -8.0)):
        pos, tri = quad_mesh(x0, x1, -2.0, 2.0)
        rast = rasterize_ref(pos, tri, 4, 4)
        mask = (rast[..., 3:] > 0).double()
        pos_t = pos.clone().requires_grad_(True)
        out = antialias_torch(mask, rast, pos_t, tri)
        torch.testing.assert_close(out, mask, atol=0, rtol=0)
        out.sum().backward()
        edge = [1, 2] if x0 < 0 else [0, 3]  # the vertices at x = 0
        got = pos_t.grad[edge, 0].sum()  # 1e-3 px slope epsilon over an 8 px edge: ~1e-4 relative
        torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64), atol=1e-9, rtol=2e-4)
        _, _, ref_gp = antialias_ref(mask, rast, pos, tri, dy=torch.ones_like(mask))
        torch.testing.assert_close(pos_t.grad, ref_gp)


def test_interior_edges_are_not_silhouettes():
    # Two front-facing triangles of one quad, coloured differently: pairs across the diagonal
    # keep their colours; only the outer boundary blends.
    pos, tri = quad_mesh(-0.63, 0.58, -0.71, 0.52)
    rast = rasterize_ref(pos, tri, 12, 12)
    tid = rast[..., 3:]
    color = torch.cat([tid, tid * 0.5 + 1.0], dim=-1)
    out = antialias_torch(color, rast, pos, tri)
    covered = rast[0, ..., 3] > 0
    # Every covered pixel whose 4-neighbours are all covered is untouched, even on the diagonal.
    inner = covered.clone()
    inner[1:-1, 1:-1] &= covered[:-2, 1:-1] & covered[2:, 1:-1] & covered[1:-1, :-2] & covered[1:-1, 2:]
    inner[0, :] = inner[-1, :] = False
    inner[:, 0] = inner[:, -1] = False
    assert (rast[0, ..., 3][inner] == 1).any() and (rast[0, ..., 3][inner] == 2).any()
    # inner pixels on both sides of the diagonal exist, and pairs across it are among them
    seam = inner[:, :-1] & inner[:, 1:] & (rast[0, :, :-1, 3] != rast[0, :, 1:, 3])
    assert seam.any()
    torch.testing.assert_close(out[0][inner], color[0][inner], atol=0, rtol=0)
    # ...while the outer boundary does change.
    assert not torch.equal(out, color)
    # The diagonal is a non-silhouette edge for both faces.
    assert antialias_construct_topology_hash_torch(tri).opposite.tolist() == [[-1, 3, -1], [-1, -1, 1]]


def test_folded_neighbour_makes_the_shared_edge_a_silhouette():
    # Face 1 is folded back onto face 0 (its opposite vertex lies on face 0's side of the shared
    # edge) and lies behind it: the shared edge becomes a silhouette of face 0.
    pos = torch.tensor(
        [[-0.9, -0.9, 0.0, 1.0], [0.13, -0.9, 0.0, 1.0], [0.13, 0.9, 0.0, 1.0], [-0.5, 0.2, 0.5, 1.0]],
        dtype=torch.float64,
    )
    tri = torch.tensor([[0, 1, 2], [1, 2, 3]])
    rast = rasterize_ref(pos, tri, 8, 8)
    mask = (rast[..., 3:] > 0).double()
    out = antialias_torch(mask, rast, pos, tri)
    torch.testing.assert_close(out, antialias_ref(mask, rast, pos, tri))
    # The shared edge (1, 2) is at pixel x = (0.13 + 1) * 4 = 4.52: pixel 4 (centre 4.5) is covered
    # by face 0 and its right neighbour is background. Pixel 4 keeps 0.52 of its coverage.
    assert torch.all(rast[0, :7, 4, 3] == 1) and torch.all(rast[0, :, 5, 3] == 0)
    expected = torch.full((7,), 0.52, dtype=torch.float64)
    torch.testing.assert_close(out[0, :7, 4, 0], expected, atol=1e-12, rtol=0)
    # Unfold the neighbour (its opposite vertex moves across the edge, consistent winding): the
    # edge becomes interior and face 0's pixels along it keep their colours (in the folded case
    # they were blended).
    pos2 = pos.clone()
    pos2[3, 0] = 0.6
    tri2 = torch.tensor([[0, 1, 2], [2, 1, 3]])
    rast2 = rasterize_ref(pos2, tri2, 8, 8)
    color2 = rast2[..., 3:].clone()
    out2 = antialias_torch(color2, rast2, pos2, tri2)
    seam = (rast2[0, :, :-1, 3] == 1) & (rast2[0, :, 1:, 3] == 2)
    assert seam.sum() >= 3
    ys, xs = torch.nonzero(seam, as_tuple=True)
    torch.testing.assert_close(out2[0, ys, xs], color2[0, ys, xs], atol=0, rtol=0)
    torch.testing.assert_close(out2, antialias_ref(color2, rast2, pos2, tri2))


# ----------------------------------------------------------------------------------------------
# Against the slow reference, forward and backward.


@pytest.mark.parametrize("size", [(9, 11), (16, 16)])
def test_matches_reference_forward_and_backward(size):
    height, width = size
    pos, tri = perspective_mesh()
    rast = rasterize_ref(pos, tri, height, width)
    gen = torch.Generator().manual_seed(0)
    color = torch.rand(1, height, width, 3, generator=gen, dtype=torch.float64)
    dy = torch.randn(1, height, width, 3, generator=gen, dtype=torch.float64)
    color_t = color.clone().requires_grad_(True)
    pos_t = pos.clone().requires_grad_(True)
    out = antialias_torch(color_t, rast, pos_t, tri, pos_gradient_boost=2.5)
    out.backward(dy)
    ref_out, ref_gc, ref_gp = antialias_ref(color, rast, pos, tri, dy=dy, boost=2.5)
    assert not torch.equal(out.detach(), color)  # something was blended
    torch.testing.assert_close(out.detach(), ref_out, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(color_t.grad, ref_gc, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(pos_t.grad, ref_gp, atol=1e-10, rtol=1e-9)
    assert pos_t.grad.abs().sum() > 0
    assert torch.all(pos_t.grad[:, 2] == 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_crumpled_grid_matches_reference(seed):
    # A welded 4x4-vertex grid with jittered, depth-varying vertices: folds, overlaps, back-facing
    # triangles and boundary edges all occur; several pixel pairs per category.
    gen = torch.Generator().manual_seed(seed)
    n = 4
    gy, gx = torch.meshgrid(torch.linspace(-0.8, 0.8, n), torch.linspace(-0.8, 0.8, n), indexing="ij")
    xy = (
        torch.stack([gx, gy], -1).reshape(-1, 2).double()
        + 0.35 * torch.randn(n * n, 2, generator=gen).double()
    )
    z = 0.5 * torch.rand(n * n, 1, generator=gen).double()
    w = 1.0 + 0.3 * torch.rand(n * n, 1, generator=gen).double()
    pos = torch.cat([xy * w, z, w], dim=1)
    quads = [
        (r * n + c, r * n + c + 1, (r + 1) * n + c + 1, (r + 1) * n + c)
        for r in range(n - 1)
        for c in range(n - 1)
    ]
    tri = torch.tensor([f for a, b, c, d in quads for f in ((a, b, c), (a, c, d))])
    rast = rasterize_ref(pos, tri, 14, 13)
    color = torch.rand(1, 14, 13, 2, generator=gen).double()
    dy = torch.randn(1, 14, 13, 2, generator=gen).double()
    c_t = color.clone().requires_grad_(True)
    p_t = pos.clone().requires_grad_(True)
    out = antialias_torch(c_t, rast, p_t, tri)
    out.backward(dy)
    ref_out, ref_gc, ref_gp = antialias_ref(color, rast, pos, tri, dy=dy)
    assert not torch.equal(out.detach(), color)
    torch.testing.assert_close(out.detach(), ref_out, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(c_t.grad, ref_gc, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(p_t.grad, ref_gp, atol=1e-10, rtol=1e-9)


def test_face_culling_changes_nothing(monkeypatch):
    # The per-face silhouette pre-filter must be a pure optimisation: identical float32 results
    # (forward and gradients) with it disabled, on a crumpled mesh and a finer grid.
    import render.torch_backend.antialias as aa_module

    gen = torch.Generator().manual_seed(11)
    n = 7
    gy, gx = torch.meshgrid(torch.linspace(-0.9, 0.9, n), torch.linspace(-0.9, 0.9, n), indexing="ij")
    xy = torch.stack([gx, gy], -1).reshape(-1, 2) + 0.12 * torch.randn(n * n, 2, generator=gen)
    pos = torch.cat([xy, 0.5 * torch.rand(n * n, 1, generator=gen), torch.ones(n * n, 1)], dim=1)
    quads = [
        (r * n + c, r * n + c + 1, (r + 1) * n + c + 1, (r + 1) * n + c)
        for r in range(n - 1)
        for c in range(n - 1)
    ]
    tri = torch.tensor([f for a, b, c, d in quads for f in ((a, b, c), (a, c, d))])
    rast = rasterize_ref(pos, tri, 24, 24).float()
    color = torch.rand(1, 24, 24, 3, generator=gen)

    def run():
        c = color.clone().requires_grad_(True)
        p = pos.clone().requires_grad_(True)
        out = antialias_torch(c, rast, p, tri)
        out.backward(torch.ones_like(out))
        return out.detach(), c.grad, p.grad

    culled = run()
    candidates = aa_module._silhouette_candidates(
        pos, tri, antialias_construct_topology_hash_torch(tri).opposite, 49, False, 24, 24
    )
    assert 0 < int(candidates.sum()) < tri.shape[0]  # some faces are really culled
    monkeypatch.setattr(
        aa_module,
        "_silhouette_candidates",
        lambda pos_flat, tri, *a: torch.ones(tri.shape[0], dtype=torch.bool),
    )
    full = run()
    for a, b in zip(culled, full, strict=True):
        assert torch.equal(a, b)


def test_non_contiguous_color():
    pos, tri = perspective_mesh()
    rast = rasterize_ref(pos, tri, 10, 12)
    base = torch.rand(1, 3, 10, 12, dtype=torch.float64)
    color = base.permute(0, 2, 3, 1)  # dense but channels-last strides
    assert not color.is_contiguous()
    out = antialias_torch(color, rast, pos, tri)
    torch.testing.assert_close(out, antialias_torch(color.contiguous(), rast, pos, tri))
    torch.testing.assert_close(out, antialias_ref(color, rast, pos, tri))


def test_float32_matches_float64_reference():
    pos, tri = perspective_mesh()
    rast = rasterize_ref(pos, tri, 16, 16)
    color = (rast[..., 3:] > 0).double()
    out = antialias_torch(color.float(), rast.float(), pos.float(), tri.int())
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.double(), antialias_ref(color, rast, pos, tri), atol=1e-5, rtol=0)


def test_instanced_batch_equals_per_item_and_range_mode():
    pos_a, tri = perspective_mesh()
    pos_b = pos_a.clone()
    pos_b[:, 0] += 0.07
    pos_b[:, 1] -= 0.05
    pos = torch.stack([pos_a, pos_b])
    rast = rasterize_ref(pos, tri, 12, 10)
    gen = torch.Generator().manual_seed(1)
    color = torch.rand(2, 12, 10, 2, generator=gen, dtype=torch.float64)
    dy = torch.randn(2, 12, 10, 2, generator=gen, dtype=torch.float64)
    pos_t = pos.clone().requires_grad_(True)
    out = antialias_torch(color, rast, pos_t, tri)
    out.backward(dy)
    for b in range(2):
        pb = pos[b].clone().requires_grad_(True)
        ob = antialias_torch(color[b : b + 1], rast[b : b + 1], pb[None], tri)
        ob.backward(dy[b : b + 1])
        torch.testing.assert_close(out[b].detach(), ob[0].detach())
        torch.testing.assert_close(pos_t.grad[b], pb.grad)

    # Range mode: one vertex array with both meshes, global triangle ids in rast.
    num_v = pos_a.shape[0]
    pos_r = torch.cat([pos_a, pos_b]).requires_grad_(True)
    tri_r = torch.cat([tri, tri + num_v])
    rast_r = rast.clone()
    rast_r[1, ..., 3] = torch.where(rast[1, ..., 3] > 0, rast[1, ..., 3] + tri.shape[0], 0.0)
    out_r = antialias_torch(color, rast_r, pos_r, tri_r)
    out_r.backward(dy)
    torch.testing.assert_close(out_r.detach(), out.detach())
    torch.testing.assert_close(pos_r.grad, pos_t.grad.reshape(-1, 4))


def test_precomputed_topology_gives_same_result():
    pos, tri = perspective_mesh()
    rast = rasterize_ref(pos, tri, 10, 10)
    color = (rast[..., 3:] > 0).double()
    topo = antialias_construct_topology_hash_torch(tri)
    torch.testing.assert_close(
        antialias_torch(color, rast, pos, tri, topology_hash=topo), antialias_torch(color, rast, pos, tri)
    )
    with pytest.raises(ValueError, match="faces"):
        antialias_torch(color, rast, pos, tri[:2], topology_hash=topo)
    with pytest.raises(TypeError, match="topology_hash"):
        antialias_torch(color, rast, pos, tri, topology_hash="hash")


# ----------------------------------------------------------------------------------------------
# Gradients: finite differences and gradcheck.


@pytest.mark.parametrize("slope_eps", ["nvdiffrast", "tiny"])
def test_position_gradient_matches_finite_differences_at_a_silhouette(monkeypatch, slope_eps):
    # Small steps keep the discrete coverage (the rast tensor) fixed, so the forward is smooth in
    # the vertex positions. nvdiffrast's backward adds a 1e-3 px epsilon to each edge's dy; with
    # it the gradient is within ~1e-3 of the exact derivative (relative to the gradient's size),
    # with the epsilon made negligible it is the exact derivative.
    import render.torch_backend.antialias as aa_module

    tol = 1e-3
    if slope_eps == "tiny":
        monkeypatch.setattr(aa_module, "_EPS_SLOPE", 1e-12)
        tol = 1e-6
    pos, tri = perspective_mesh()
    height = width = 16
    rast = rasterize_ref(pos, tri, height, width)
    gen = torch.Generator().manual_seed(5)
    color = torch.rand(1, height, width, 2, generator=gen, dtype=torch.float64)
    weight = torch.randn(1, height, width, 2, generator=gen, dtype=torch.float64)
    pos_t = pos.clone().requires_grad_(True)
    (antialias_torch(color, rast, pos_t, tri) * weight).sum().backward()
    grad = pos_t.grad
    h = 1e-6
    fd = torch.zeros_like(pos)
    for v in range(pos.shape[0]):
        for c in range(4):
            plus, minus = pos.clone(), pos.clone()
            plus[v, c] += h
            minus[v, c] -= h
            assert torch.equal(rasterize_ref(plus, tri, height, width)[..., 3], rast[..., 3])
            fp = (antialias_torch(color, rast, plus, tri) * weight).sum()
            fm = (antialias_torch(color, rast, minus, tri) * weight).sum()
            fd[v, c] = (fp - fm) / (2 * h)
    scale = fd.abs().max()
    assert scale > 1.0
    assert (fd[:, [0, 1, 3]].abs() > 1e-2 * scale).sum() >= 12  # real gradients on x, y and w
    assert torch.all(fd[:, 2].abs() < 1e-6)  # z has no effect, and no gradient
    torch.testing.assert_close(grad, fd, atol=tol * float(scale), rtol=0)


def test_gradcheck_color():
    pos, tri = perspective_mesh()
    rast = rasterize_ref(pos, tri, 7, 6)
    color = torch.rand(1, 7, 6, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda c: antialias_torch(c, rast, pos, tri), (color,))


def test_saturated_alpha_has_no_position_gradient():
    # Saturation (|alpha| = 0.5) happens when the crossing lies within the 1/16 px tolerance
    # *behind* the chosen pixel's centre, as when a fixed-point rasterizer covers a pixel whose
    # centre is a hair outside the edge. Build that by hand: the edge sits 1/32 px left of pixel
    # 2's centre and pixel 2 claims the triangle anyway.
    width = 4
    edge_pix = 2.5 - 1.0 / 32
    x_ndc = edge_pix * 2 / width - 1
    pos, tri = quad_mesh(-2.0, x_ndc, -2.0, 2.0)
    rast = rasterize_ref(pos, tri, 4, width)
    rast[:, :, 2] = rast[:, :, 1]  # pixel 2 claims the triangle of its left neighbour
    mask = (rast[..., 3:] > 0).double()
    pos_t = pos.clone().requires_grad_(True)
    out = antialias_torch(mask, rast, pos_t, tri)
    # dc for pair (2, 3) = crossing - centre 2.5 = -1/32 -> clamped to 0 -> alpha = 0.5, pixel 2
    # gets 0.5 * (0 - 1) -> 0.5.
    torch.testing.assert_close(out[0, :, 2, 0], torch.full((4,), 0.5, dtype=torch.float64))
    out.sum().backward()
    assert torch.all(pos_t.grad == 0)


def test_without_antialias_a_mask_has_no_geometry_gradient_but_with_it_does():
    pos, tri = quad_mesh(-0.63, 0.58, -0.71, 0.52)
    rast = rasterize_ref(pos, tri, 10, 10)
    pos_t = pos.clone().requires_grad_(True)
    # The hard mask derives from integer ids: no path to pos at all.
    hard = (rast[..., 3:] > 0).double()
    assert not hard.requires_grad
    soft = antialias_torch(hard, rast, pos_t, tri)
    soft.sum().backward()
    assert pos_t.grad[:, :2].abs().sum() > 1.0


def test_empty_mesh_and_background_only():
    color = torch.rand(1, 5, 5, 3)
    rast = torch.zeros(1, 5, 5, 4)
    pos = torch.zeros(1, 3, 4)
    out = antialias_torch(color, rast, pos, torch.zeros(0, 3, dtype=torch.long))
    torch.testing.assert_close(out, color)
    out = antialias_torch(color, rast, pos, torch.tensor([[0, 1, 2]]))
    torch.testing.assert_close(out, color)


def test_bad_inputs_raise():
    pos, tri = quad_mesh(-0.5, 0.5, -0.5, 0.5)
    rast = rasterize_ref(pos, tri, 4, 4)
    color = torch.ones(1, 4, 4, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match="color"):
        antialias_torch(color[0], rast, pos, tri)
    with pytest.raises(ValueError, match="rast"):
        antialias_torch(color, rast[:, :3], pos, tri)
    with pytest.raises(ValueError, match="pos"):
        antialias_torch(color, rast, pos[:, :3], tri)
    with pytest.raises(ValueError, match="batch"):
        antialias_torch(color, rast, torch.stack([pos, pos]), tri)
    with pytest.raises(TypeError, match="tri"):
        antialias_torch(color, rast, pos, tri.double())
    with pytest.raises(ValueError, match="tri indices"):
        antialias_torch(color, rast, pos, tri + 3)
    with pytest.raises(TypeError, match="color"):
        antialias_torch(color.long(), rast, pos, tri)
    with pytest.raises(TypeError, match="pos_gradient_boost"):
        antialias_torch(color, rast, pos, tri, "2")


@pytest.mark.cuda
def test_cuda_tensors_match_cpu():
    pos, tri = perspective_mesh()
    rast = rasterize_ref(pos, tri, 16, 16)
    gen = torch.Generator().manual_seed(7)
    color = torch.rand(1, 16, 16, 3, generator=gen, dtype=torch.float64)
    dy = torch.randn(1, 16, 16, 3, generator=gen, dtype=torch.float64)
    results = []
    for device in ("cpu", "cuda"):
        c = color.to(device, copy=True).requires_grad_(True)  # a fresh leaf on each device
        p = pos.to(device, copy=True).requires_grad_(True)
        out = antialias_torch(c, rast.to(device), p, tri.to(device))
        out.backward(dy.to(device))
        assert out.device.type == device
        results.append((out.detach().cpu(), c.grad.cpu(), p.grad.cpu()))
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b)
