"""Light-field distance (LFD, Chen, Tian, Shen and Ouhyoung, Eurographics 2003) on our rasterizer.

GET3D's second geometry metric (COV-LFD, MMD-LFD; get3d_spec.md §10.2). A shape's descriptor:

* the mesh is centred on its area-weighted surface centroid and scaled so that its farthest
  vertex lies at distance 1 (both commute with rotations, as the alignment below needs);
* **10 camera sets** (light fields): the 20 vertices of a regular dodecahedron, rotated by one of
  10 fixed rotations (:func:`camera_set_rotations`; the first is the identity). Opposite vertices
  see mirrored silhouettes, which the descriptors do not tell apart, so each set has **10 views**;
* each view is an orthographic binary silhouette of ``resolution`` (256) pixels square, the
  bounding sphere filling 90 % of the half width (:func:`silhouettes`, ``render.render_mesh``);
* per silhouette, **35 Zernike moment magnitudes** ``|A_nm|`` (``1 <= n <= 10``, ``m >= 0``,
  ``n - m`` even; on the unit disk inscribed in the image) and **10 Fourier descriptors**
  ``|F_k| / |F_0|``, ``k = 1..10``, of the centroid distance of the outline (the largest
  distance from the silhouette's centroid in each of 128 angular bins).

Distance of two shapes: for light fields ``i`` of A and ``j`` of B and each of the **60 rotations
of the dodecahedron** (:func:`dodecahedron_view_permutations`: they permute the 10 views), the sum
over views of the L1 distance of their descriptors; the LFD is the minimum over ``i``, ``j`` and
the rotation (Chen et al.'s "minimum over rotations", 10 x 10 x 60 alignments).

Differences from the ``3DAlignment`` executables GET3D runs: unquantised float features (they
store 8-bit ones and sum a look-up table), no eccentricity/circularity terms, seeded-random
camera-set rotations, and the outline by angular bins rather than traced contours. Values are
therefore on a different scale from the paper's MMD-LFD; compare them only with each other.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import torch

from render.backend import BackendLike, as_context
from render.camera import Cameras, look_at
from render.mesh import render_mesh

__all__ = [
    "LFDProtocol",
    "camera_set_rotations",
    "dodecahedron_rotations",
    "dodecahedron_view_permutations",
    "dodecahedron_views",
    "lfd_descriptor",
    "lfd_distance",
    "lfd_matrix",
    "silhouette_features",
    "silhouettes",
]

_PHI = (1 + math.sqrt(5)) / 2
_SET_SEED = 2003  # the camera-set rotations' generator (Chen et al.'s year)
_ZERNIKE_ORDER = 10
_FOURIER_BINS = 128
_FOURIER_TERMS = 10


@dataclass(frozen=True)
class LFDProtocol:
    """Light-field descriptor settings (defaults: Chen et al.'s 10 sets, 256-pixel silhouettes).

    Attributes:
        camera_sets: light fields per shape (10). resolution: silhouette side in pixels (256).
    """

    camera_sets: int = 10
    resolution: int = 256

    def __post_init__(self) -> None:
        for name in ("camera_sets", "resolution"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        if self.resolution < 16:
            raise ValueError(f"resolution: expected >= 16 pixels, got {self.resolution}")


def _dodecahedron_vertices() -> torch.Tensor:
    """The 20 unit vertices ``[20, 3]`` (float64) of a regular dodecahedron."""
    pts = [list(p) for p in itertools.product((-1.0, 1.0), repeat=3)]
    for a, b in itertools.product((-1.0, 1.0), repeat=2):
        pts += [[0.0, a / _PHI, b * _PHI], [a / _PHI, b * _PHI, 0.0], [a * _PHI, 0.0, b / _PHI]]
    v = torch.tensor(pts, dtype=torch.float64)
    return v / v.norm(dim=-1, keepdim=True)


def dodecahedron_views() -> torch.Tensor:
    """The 10 view directions ``[10, 3]`` (float64, unit): one vertex of each antipodal pair of
    the dodecahedron's vertices (the one whose first non-zero coordinate is positive)."""
    v = _dodecahedron_vertices()
    keep = []
    for p in v:
        first = p[(p.abs() > 1e-9).nonzero()[0, 0]]
        if first > 0:
            keep.append(p)
    return torch.stack(keep)


def dodecahedron_rotations() -> torch.Tensor:
    """The 60 rotations ``[60, 3, 3]`` (float64) that map the dodecahedron onto itself (the
    icosahedral group: one per directed edge image of a fixed directed edge); the first is I."""
    v = _dodecahedron_vertices()
    dots = v @ v.T
    off = dots < 1 - 1e-9
    edge = dots[off].max()  # neighbours: the largest dot product below 1
    adjacent = off & (dots > edge - 1e-6)

    def frame(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        e0 = a
        e1 = b - (b @ a) * a
        e1 = e1 / e1.norm()
        return torch.stack([e0, e1, torch.linalg.cross(e0, e1)], 1)  # columns

    n0 = int(adjacent[0].nonzero()[0, 0])
    src = frame(v[0], v[n0])
    out = []
    for t0 in range(20):
        for t1 in adjacent[t0].nonzero()[:, 0].tolist():
            out.append(frame(v[t0], v[t1]) @ src.T)
    rots = torch.stack(out)
    first = int(((rots - torch.eye(3, dtype=torch.float64)).abs().amax((1, 2)) < 1e-9).nonzero()[0, 0])
    return torch.cat([rots[first : first + 1], rots[:first], rots[first + 1 :]])


def dodecahedron_view_permutations() -> torch.Tensor:
    """``[60, 10]`` int64: rotation ``r`` maps view ``k`` to view ``perm[r, k]`` up to sign."""
    views = dodecahedron_views()
    images = torch.einsum("rij,kj->rki", dodecahedron_rotations(), views)  # [60, 10, 3]
    return (images @ views.T).abs().argmax(-1)


def camera_set_rotations(n: int = 10) -> torch.Tensor:
    """``n`` fixed rotations ``[n, 3, 3]`` (float64) of the camera sets: the identity, then
    uniformly random rotations from a generator with a fixed seed (the same in every run)."""
    gen = torch.Generator().manual_seed(_SET_SEED)
    q = torch.randn(n, 4, generator=gen, dtype=torch.float64)
    q[0] = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    w, x, y, z = (q / q.norm(dim=-1, keepdim=True)).unbind(-1)
    return torch.stack(
        [
            torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def _normalize(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Centre on the area-weighted surface centroid and scale the farthest vertex to distance 1
    (both follow rotations and translations of the mesh, unlike the bounding box)."""
    tri = vertices[faces]
    area = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]).norm(dim=-1)
    if not area.sum() > 0:
        raise ValueError("faces: expected a mesh with non-zero surface area")
    centre = (area[:, None] * tri.mean(1)).sum(0) / area.sum()
    used = vertices[torch.unique(faces)] - centre
    return (vertices - centre) / used.norm(dim=-1).amax()


def silhouettes(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    protocol: LFDProtocol = LFDProtocol(),
    *,
    backend: BackendLike = "auto",
) -> torch.Tensor:
    """Orthographic silhouettes ``[camera_sets, 10, S, S]`` (bool, CPU) of one mesh.

    Args:
        vertices: float ``[V, 3]`` (any placement and size: it is normalised here); faces: int
            ``[F, 3]``, ``F >= 1``.
        protocol: camera sets and resolution. backend: rasterizer context or name.
    """
    if not isinstance(vertices, torch.Tensor) or vertices.ndim != 2 or vertices.shape[-1] != 3:
        raise ValueError(f"vertices: expected [V, 3], got {getattr(vertices, 'shape', type(vertices))}")
    if not isinstance(faces, torch.Tensor) or faces.ndim != 2 or faces.shape[-1] != 3 or faces.shape[0] == 0:
        raise ValueError(f"faces: expected a non-empty [F, 3] tensor, got {getattr(faces, 'shape', None)}")
    faces = faces.to(torch.int64)
    verts = _normalize(vertices.detach().to(torch.float64), faces.to(vertices.device)).to(torch.float32)
    ctx = as_context(backend, verts.device)
    cams = _lfd_cameras(protocol.camera_sets).to(verts.device)
    res = protocol.resolution
    masks = [
        render_mesh(verts, faces.to(verts.device), cams[s : s + 10], res, backend=ctx, antialias=False).mask
        for s in range(0, len(cams), 10)
    ]
    return (torch.cat(masks)[:, 0] > 0).cpu().reshape(protocol.camera_sets, 10, res, res)


@functools.lru_cache(maxsize=4)
def _lfd_cameras(camera_sets: int) -> Cameras:
    """The ``camera_sets x 10`` orthographic cameras (float32, CPU) of the silhouettes, built once
    per number of camera sets (a constant of the protocol)."""
    dirs = torch.einsum("sij,kj->ski", camera_set_rotations(camera_sets), dodecahedron_views())
    dirs = dirs.reshape(-1, 3)
    up = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64).expand_as(dirs).clone()
    up[dirs[:, 1].abs() > 0.95] = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    w2c = look_at(3.0 * dirs, up=up)
    half = 1.0 / 0.9  # the unit bounding sphere fills 90 % of the half width
    proj = torch.zeros(4, 4, dtype=torch.float64)
    proj[0, 0], proj[1, 1] = 1.0 / half, -1.0 / half
    proj[2, 2], proj[2, 3], proj[3, 3] = -2.0 / 4.0, -(5.0 + 1.0) / 4.0, 1.0  # near 1, far 5; w = 1
    return Cameras(w2c.to(torch.float32), proj.expand_as(w2c).to(torch.float32))


@functools.lru_cache(maxsize=4)
def _zernike_basis(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Conjugate Zernike polynomials ``[35, size^2]`` (complex128) on the pixel centres of the
    inscribed unit disk (0 outside), and their normalisation ``(n + 1) / pi * pixel area``."""
    c = (torch.arange(size, dtype=torch.float64) + 0.5) / size * 2 - 1
    y, x = torch.meshgrid(c, c, indexing="ij")
    rho, theta = (x * x + y * y).sqrt(), torch.atan2(y, x)
    inside = rho <= 1
    rows, norms = [], []
    for n in range(1, _ZERNIKE_ORDER + 1):
        for m in range(n % 2, n + 1, 2):
            radial = torch.zeros_like(rho)
            for s in range((n - m) // 2 + 1):
                coef = (-1) ** s * math.factorial(n - s)
                coef /= (
                    math.factorial(s) * math.factorial((n + m) // 2 - s) * math.factorial((n - m) // 2 - s)
                )
                radial = radial + coef * rho ** (n - 2 * s)
            rows.append((radial * torch.exp(-1j * m * theta) * inside).reshape(-1))
            norms.append((n + 1) / math.pi * (2.0 / size) ** 2)
    return torch.stack(rows), torch.tensor(norms, dtype=torch.float64)


def silhouette_features(masks: torch.Tensor) -> torch.Tensor:
    """Descriptors ``[..., 45]`` (float32) of binary silhouettes ``[..., S, S]``: 35 Zernike
    magnitudes, then 10 Fourier descriptors of the outline (see the module docstring). An empty
    silhouette gives zeros."""
    if masks.ndim < 2 or masks.shape[-1] != masks.shape[-2]:
        raise ValueError(f"masks: expected [..., S, S], got {tuple(masks.shape)}")
    size = masks.shape[-1]
    lead = masks.shape[:-2]
    flat = masks.reshape(-1, size * size).to(torch.float64)
    basis, norms = _zernike_basis(size)
    zernike = (flat.to(torch.complex128) @ basis.T).abs() * norms  # [N, 35]
    # Fourier descriptors of the centroid distance r(angle)
    c = torch.arange(size, dtype=torch.float64) + 0.5
    y, x = torch.meshgrid(c, c, indexing="ij")
    area = flat.sum(1).clamp_min(1)
    cx = (flat * x.reshape(-1)).sum(1) / area
    cy = (flat * y.reshape(-1)).sum(1) / area
    dx, dy = x.reshape(1, -1) - cx[:, None], y.reshape(1, -1) - cy[:, None]
    dist = (dx * dx + dy * dy).sqrt() * flat
    bins = (
        ((torch.atan2(dy, dx) + math.pi) / (2 * math.pi) * _FOURIER_BINS).long().clamp(0, _FOURIER_BINS - 1)
    )
    radius = torch.zeros(flat.shape[0], _FOURIER_BINS, dtype=torch.float64)
    radius.scatter_reduce_(1, bins, dist, reduce="amax")
    spectrum = torch.fft.rfft(radius, dim=1).abs()
    fourier = spectrum[:, 1 : _FOURIER_TERMS + 1] / spectrum[:, :1].clamp_min(1e-12)
    return torch.cat([zernike, fourier], 1).to(torch.float32).reshape(*lead, -1)


def lfd_descriptor(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    protocol: LFDProtocol = LFDProtocol(),
    *,
    backend: BackendLike = "auto",
) -> torch.Tensor:
    """The light-field descriptor ``[camera_sets, 10, 45]`` (float32, CPU) of one mesh."""
    return silhouette_features(silhouettes(vertices, faces, protocol, backend=backend))


def lfd_matrix(rows: torch.Tensor, cols: torch.Tensor, *, chunk: int = 256) -> torch.Tensor:
    """LFD ``D[a, b]`` (float64) between descriptors ``rows [A, L, 10, F]`` and ``cols [B, L', 10, F]``.

    ``D[a, b] = min over i, j, r of sum_k |rows[a, i, k] - cols[b, j, perm[r, k]]|_1`` with the
    60 view permutations ``perm`` of :func:`dodecahedron_view_permutations`. ``chunk``: columns
    per step (memory ``~ 10^4 * chunk`` floats per row).
    """
    for name, d in (("rows", rows), ("cols", cols)):
        if not isinstance(d, torch.Tensor) or d.ndim != 4 or d.shape[2] != 10:
            raise ValueError(f"{name}: expected descriptors [N, sets, 10, F], got {getattr(d, 'shape', d)}")
    if rows.shape[-1] != cols.shape[-1]:
        raise ValueError(
            f"rows, cols: expected equal feature sizes, got {rows.shape[-1]} and {cols.shape[-1]}"
        )
    perm = dodecahedron_view_permutations()  # [60, 10]
    n_a, l_a = rows.shape[:2]
    n_b, l_b = cols.shape[:2]
    out = torch.empty(n_a, n_b, dtype=torch.float64)
    a_views = rows.reshape(n_a, l_a * 10, -1).to(torch.float32)
    k_idx = torch.arange(10)
    for start in range(0, n_b, chunk):
        part = cols[start : start + chunk]
        nb = part.shape[0]
        b_views = part.reshape(nb * l_b * 10, -1).to(torch.float32)
        for a in range(n_a):
            cost = torch.cdist(a_views[a], b_views, p=1).reshape(l_a, 10, nb, l_b, 10)  # [i, k, b, j, l]
            aligned = cost[:, k_idx[None, :], :, :, perm]  # [60, 10, i, b, j]: view k vs perm[r, k]
            out[a, start : start + nb] = aligned.sum(1).amin(dim=(0, 1, 3)).to(torch.float64)
    return out


def lfd_distance(desc_a: torch.Tensor, desc_b: torch.Tensor) -> float:
    """LFD of two descriptors ``[sets, 10, F]`` (:func:`lfd_descriptor`)."""
    return float(lfd_matrix(desc_a[None], desc_b[None])[0, 0])
