"""Light-field distance: the dodecahedron's symmetry, invariance to rotation, growth with deformation."""

from __future__ import annotations

import math

import pytest
import torch
import trimesh

from get3d.metrics.lfd import (
    LFDProtocol,
    camera_set_rotations,
    dodecahedron_rotations,
    dodecahedron_view_permutations,
    dodecahedron_views,
    lfd_descriptor,
    lfd_distance,
    lfd_matrix,
    silhouette_features,
)
from render import make_context

PROTOCOL = LFDProtocol(camera_sets=4, resolution=96)  # small for speed; the defaults are 10 x 256


@pytest.fixture(scope="module")
def ctx():
    return make_context("torch", "cpu")


def _mesh(t: trimesh.Trimesh) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor(t.vertices, dtype=torch.float32), torch.tensor(t.faces, dtype=torch.int64)


@pytest.fixture(scope="module")
def shape():
    """An asymmetric shape: a capsule crossed by a flat box, shifted off the origin."""
    t = trimesh.util.concatenate([trimesh.creation.capsule(0.8, 0.3), trimesh.creation.box((1.0, 0.4, 0.2))])
    v, f = _mesh(t)
    return v + torch.tensor([0.3, -0.2, 0.1]), f


def _rotation(rx: float, ry: float, rz: float) -> torch.Tensor:
    def axis(i: int, a: float) -> torch.Tensor:
        m = torch.eye(3, dtype=torch.float64)
        j, k = [x for x in range(3) if x != i]
        m[j, j], m[j, k], m[k, j], m[k, k] = math.cos(a), -math.sin(a), math.sin(a), math.cos(a)
        return m

    return axis(2, rz) @ axis(1, ry) @ axis(0, rx)


def test_dodecahedron_group():
    views = dodecahedron_views()
    assert views.shape == (10, 3)
    assert ((views @ views.T).abs() < 1 - 1e-6).sum() == 90  # no two views antipodal or equal
    rots = dodecahedron_rotations()
    assert rots.shape == (60, 3, 3) and torch.allclose(rots[0], torch.eye(3, dtype=torch.float64))
    assert torch.allclose(rots @ rots.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(60, 3, 3))
    assert torch.allclose(torch.linalg.det(rots), torch.ones(60, dtype=torch.float64))
    perms = dodecahedron_view_permutations()
    assert len({tuple(p) for p in perms.tolist()}) == 60  # 60 distinct alignments of the 10 views
    assert all(sorted(p) == list(range(10)) for p in perms.tolist())
    assert perms[0].tolist() == list(range(10))
    # each rotation maps the view set onto itself up to sign
    mapped = torch.einsum("rij,kj->rki", rots, views)
    assert torch.allclose((mapped @ views.T).abs().amax(-1), torch.ones(60, 10, dtype=torch.float64))
    sets = camera_set_rotations(10)
    assert torch.equal(sets[0], torch.eye(3, dtype=torch.float64)) and torch.equal(
        sets, camera_set_rotations(10)
    )


def test_features_are_invariant_in_the_image_plane():
    """Zernike magnitudes and Fourier descriptors do not change when the silhouette turns by 90°
    or is mirrored (the two views of an antipodal pair), and are zero for an empty image."""
    mask = torch.zeros(64, 64, dtype=torch.bool)
    mask[20:44, 10:30] = True
    mask[28:36, 30:56] = True
    f = silhouette_features(mask)
    assert f.shape == (45,)
    for other in (mask.rot90(1), mask.flip(-1), mask.T):
        assert torch.allclose(silhouette_features(other), f, atol=1e-4)
    moved = silhouette_features(torch.roll(mask, 3, 0))
    assert (moved - f).abs().sum() > 1e-3  # Zernike moments sit on the image centre: 3D placement counts
    assert silhouette_features(torch.zeros(64, 64, dtype=torch.bool)).abs().sum() == 0


def test_distance_to_a_rotated_copy_is_about_zero(shape, ctx):
    """A rotation of the dodecahedron maps the views onto each other: about 0 (pixels). A generic
    rotation is matched by the best of the 10 x 10 camera-set pairs and 60 alignments: small."""
    protocol = LFDProtocol(camera_sets=10, resolution=128)
    v, f = shape
    base = lfd_descriptor(v, f, protocol, backend=ctx)
    assert base.shape == (10, 10, 45)
    assert lfd_distance(base, base) == 0.0
    squashed = lfd_distance(base, lfd_descriptor(v * torch.tensor([1.0, 0.8, 1.0]), f, protocol, backend=ctx))
    centre = (v.amin(0) + v.amax(0)) / 2
    shift = torch.tensor([1.0, 2.0, -3.0])  # and moved: the descriptor centres the mesh
    sym = (v - centre) @ dodecahedron_rotations()[7].to(torch.float32).T + shift
    assert lfd_distance(base, lfd_descriptor(sym, f, protocol, backend=ctx)) < 0.15 * squashed
    generic = (v - centre) @ _rotation(0.3, 1.1, -0.7).to(torch.float32).T + shift
    assert lfd_distance(base, lfd_descriptor(generic, f, protocol, backend=ctx)) < 0.4 * squashed


def test_distance_grows_with_deformation(ctx):
    v, f = _mesh(trimesh.creation.icosphere(3))
    sphere = lfd_descriptor(v, f, PROTOCOL, backend=ctx)
    ds = [
        lfd_distance(sphere, lfd_descriptor(v * torch.tensor([1.0, s, 1.0]), f, PROTOCOL, backend=ctx))
        for s in (1.0, 0.85, 0.7, 0.55, 0.4)
    ]
    assert ds[0] < 1e-3 * ds[1]
    assert all(a < b for a, b in zip(ds, ds[1:], strict=False)), ds


def test_matrix_matches_pairs_and_checks_arguments(shape, ctx):
    v, f = shape
    a = lfd_descriptor(v, f, PROTOCOL, backend=ctx)
    b = lfd_descriptor(v * torch.tensor([1.0, 0.6, 1.0]), f, PROTOCOL, backend=ctx)
    m = lfd_matrix(torch.stack([a, b]), torch.stack([b, a, a]), chunk=2)
    assert m.shape == (2, 3) and m[0, 1] == 0 and m[1, 0] == 0
    assert m[0, 0] == pytest.approx(lfd_distance(a, b)) and m[1, 1] == pytest.approx(lfd_distance(b, a))
    with pytest.raises(ValueError, match="rows"):
        lfd_matrix(a, b[None])
    with pytest.raises(ValueError, match="faces"):
        lfd_descriptor(v, f[:0], PROTOCOL, backend=ctx)
    with pytest.raises(ValueError, match="resolution"):
        LFDProtocol(resolution=8)
