"""Geometry metrics of generated shapes: COV-CD, MMD-CD and 1-NNA with GET3D's protocol.

Protocol (get3d_spec.md §10.2, frozen in :class:`GeometryProtocol`):

* every mesh is scaled about the origin so that the longest side of its bounding box is 1.0
  (**not** re-centred, as GET3D's ``compute_cd.py``);
* 2048 points are sampled uniformly on its surface (:func:`get3d.metrics.pointcloud.sample_points`)
  with a generator seeded from ``(seed = 41, role, index)``, so a cloud does not depend on the order
  or the process that samples it; for cars GET3D instead samples the surface that cameras see
  (:mod:`get3d.metrics.visible`, longest side 0.9: :meth:`GeometryProtocol.for_category`);
* ``D[r, g]`` is kaolin's squared Chamfer distance between reference ``r`` and generated ``g``.

Scores, from distance matrices (``D[r, g]``, references in rows):

* ``MMD = mean_r min_g D[r, g]`` (reported x 10^3 as in the paper: "MMD-CD");
* ``COV = |{argmin_r D[r, g] : g}| / n_ref`` (reported in %);
* 1-NNA (PointFlow's leave-one-out 1-nearest-neighbour accuracy over the union of both sets,
  in %; 50 % is ideal): needs the reference-reference and generated-generated matrices too.

GET3D compares ``5 n_ref`` generated shapes with the ``n_ref`` test shapes for COV/MMD; 1-NNA is
defined on sets of equal size, so :func:`geometry_scores` uses the first ``n_ref`` generated
shapes for it. The light-field distance (COV/MMD-LFD) is :mod:`get3d.metrics.lfd`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context

import numpy as np
import torch

from dmtet.box import box_center_extent
from render.backend import BackendLike

from .pointcloud import chamfer_distance_matrix, sample_points
from .visible import visible_surface_points

__all__ = [
    "GeometryProtocol",
    "GeometryScores",
    "Role",
    "SurfaceSampling",
    "coverage",
    "distance_matrix",
    "geometry_scores",
    "minimum_matching_distance",
    "nearest_neighbor_accuracy",
    "normalize_extent",
    "self_distance_matrix",
    "surface_point_cloud",
    "surface_point_clouds",
]


class SurfaceSampling(enum.Enum):
    """Where a mesh's protocol points lie."""

    UNIFORM = "uniform"
    """Uniformly over the whole surface (kaolin's ``sample_points``; GET3D for all but cars)."""
    VISIBLE = "visible"
    """On the surface GET3D's 100 depth cameras see (``sample_surface.py``; GET3D for cars)."""


@dataclass(frozen=True)
class GeometryProtocol:
    """GET3D's geometry-evaluation protocol (defaults are the paper's; change them knowingly).

    Attributes:
        extent: longest side of each mesh's bounding box after scaling (1.0).
        num_points: surface samples per mesh (2048).
        seed: base seed of the surface sampling (41, GET3D's ``seed_everything(41)``).
        recenter: centre each box on the origin before scaling (False: GET3D does not).
        gen_per_ref: generated shapes per reference shape for COV/MMD (5).
        surface: :class:`SurfaceSampling` (uniform; visible for cars: :meth:`for_category`).
        visible_views, visible_resolution, visible_points: the visible-surface sampler's depth
            views (100), their side in pixels (640) and its points per shape (5000, of which the
            first ``num_points`` are kept, as GET3D's ``compute_cd.py``).
    """

    extent: float = 1.0
    num_points: int = 2048
    seed: int = 41
    recenter: bool = False
    gen_per_ref: int = 5
    surface: SurfaceSampling = SurfaceSampling.UNIFORM
    visible_views: int = 100
    visible_resolution: int = 640
    visible_points: int = 5000

    @classmethod
    def for_category(cls, category: str | None, **changes: object) -> GeometryProtocol:
        """The paper's protocol for a category: cars (``"car"`` or ShapeNet synset ``02958343``)
        are sampled on their visible surface scaled to longest side 0.9, everything else uniformly
        at 1.0. ``changes`` override fields (e.g. ``gen_per_ref``)."""
        if category in ("car", "02958343"):
            base: dict[str, object] = {"surface": SurfaceSampling.VISIBLE, "extent": 0.9}
        else:
            base = {}
        return cls(**{**base, **changes})

    def __post_init__(self) -> None:
        if not self.extent > 0:
            raise ValueError(f"extent: expected a positive number, got {self.extent!r}")
        for name in ("num_points", "gen_per_ref"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed: expected a non-negative int, got {self.seed!r}")
        object.__setattr__(self, "surface", SurfaceSampling(self.surface))
        for name in ("visible_views", "visible_resolution", "visible_points"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        if self.surface is SurfaceSampling.VISIBLE:
            usable = self.visible_views * (self.visible_points // self.visible_views)
            if usable < self.num_points:
                raise ValueError(
                    f"visible_points: expected at least num_points ({self.num_points}) points in whole "
                    f"views of {self.visible_views}, got {self.visible_points}"
                )

    def as_dict(self) -> dict:
        d = asdict(self)
        d["surface"] = self.surface.value
        return d


class Role:
    """Stream ids mixed into the sampling seed so references and generated shapes never share draws."""

    REFERENCE = 0
    GENERATED = 1


def normalize_extent(vertices: torch.Tensor, extent: float = 1.0, recenter: bool = False) -> torch.Tensor:
    """Scale ``vertices [V, 3]`` about the origin so that the longest box side is ``extent``.

    With ``recenter`` the box centre is moved to the origin first (GET3D does not re-centre).
    """
    if not isinstance(vertices, torch.Tensor) or vertices.ndim != 2 or vertices.shape[-1] != 3:
        raise ValueError(
            f"vertices: expected a tensor [V, 3], got {getattr(vertices, 'shape', type(vertices))}"
        )
    center, size = box_center_extent(vertices, "vertices")
    if recenter:
        vertices = vertices - center
    return vertices * (extent / size)


def _generator(seed: int, role: int, index: int) -> torch.Generator:
    state = np.random.SeedSequence([seed, role, index]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def surface_point_cloud(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    protocol: GeometryProtocol = GeometryProtocol(),
    *,
    role: int = Role.GENERATED,
    index: int = 0,
    backend: BackendLike | None = None,
) -> torch.Tensor:
    """The protocol's point cloud of one mesh: float32 ``[num_points, 3]`` on the CPU.

    Args:
        vertices: float ``[V, 3]``; faces: int64 ``[F, 3]`` with ``F >= 1``.
        protocol: normalisation, sampler, point count and seed.
        role, index: identify the mesh in its set (:class:`Role`); they select the random stream.
        backend: rasterizer context of the visible-surface sampler (None: one made for this call).

    Raises:
        ValueError: empty or degenerate meshes (no faces, zero area or zero extent).
    """
    vertices = vertices.detach().to("cpu", torch.float64)
    faces = faces.detach().to("cpu", torch.int64)
    if faces.ndim != 2 or faces.shape[-1] != 3 or faces.shape[0] == 0:
        raise ValueError(f"faces: expected a non-empty [F, 3] tensor, got shape {tuple(faces.shape)}")
    used, faces = torch.unique(faces, return_inverse=True)  # drop unused vertices
    verts = normalize_extent(vertices[used], protocol.extent, protocol.recenter)
    gen = _generator(protocol.seed, role, index)
    if protocol.surface is SurfaceSampling.VISIBLE:
        points = visible_surface_points(
            verts.to(torch.float32),
            faces,
            num_points=protocol.visible_points,
            views=protocol.visible_views,
            resolution=protocol.visible_resolution,
            generator=gen,
            backend="auto" if backend is None else backend,
        )
        return points[: protocol.num_points]
    samples = sample_points(verts[None], faces, protocol.num_points, generator=gen)
    return samples.points[0].to(torch.float32)


def surface_point_clouds(
    meshes: Sequence[tuple[torch.Tensor, torch.Tensor]],
    protocol: GeometryProtocol = GeometryProtocol(),
    *,
    role: int = Role.GENERATED,
    start: int = 0,
    backend: BackendLike | None = None,
) -> torch.Tensor:
    """Point clouds ``[len(meshes), num_points, 3]`` of ``(vertices, faces)`` pairs; mesh ``k``
    uses index ``start + k`` of its role's random stream (``backend`` as :func:`surface_point_cloud`)."""
    clouds = [
        surface_point_cloud(v, f, protocol, role=role, index=start + k, backend=backend)
        for k, (v, f) in enumerate(meshes)
    ]
    if not clouds:
        return torch.zeros(0, protocol.num_points, 3)
    return torch.stack(clouds)


def _matrix_rows(args: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    torch.set_num_threads(1)
    return chamfer_distance_matrix(*args)


def distance_matrix(
    rows: torch.Tensor, cols: torch.Tensor, *, workers: int = 0, progress: bool = False
) -> torch.Tensor:
    """Chamfer matrix ``D[i, j]`` between clouds ``rows [A, N, 3]`` and ``cols [C, M, 3]``.

    Args:
        workers: 0 computes in this process (torch's own threads); ``k >= 1`` splits the rows over
            ``k`` single-threaded worker processes (faster on busy or many-core CPUs, where tiny
            multi-threaded kernels stall).
        progress: progress bar (in-process only).
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers: expected an int >= 0, got {workers!r}")
    if workers == 0 or rows.shape[0] < 2:
        return chamfer_distance_matrix(rows, cols, progress=progress)
    parts = [p for p in torch.tensor_split(rows, min(workers * 4, rows.shape[0])) if p.shape[0]]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(_matrix_rows, [(p, cols) for p in parts]))
    return torch.cat(results, 0)


def _triangle_rows(args: tuple[torch.Tensor, int, int, bool]) -> torch.Tensor:
    clouds, start, stop, single = args
    if single:
        torch.set_num_threads(1)
    n = clouds.shape[0]
    out = torch.zeros(stop - start, n, dtype=clouds.dtype)
    for row, i in enumerate(range(start, stop)):
        if i + 1 < n:
            out[row, i + 1 :] = chamfer_distance_matrix(clouds[i : i + 1], clouds[i + 1 :])[0]
    return out


def _triangle_bounds(n: int, parts: int) -> list[int]:
    """Row bounds splitting an upper triangle of ``n`` rows into ``parts`` of about equal pair counts."""
    return [0] + [round(n * (1 - ((parts - k) / parts) ** 0.5)) for k in range(1, parts)] + [n]


def self_distance_matrix(clouds: torch.Tensor, *, workers: int = 0) -> torch.Tensor:
    """Symmetric Chamfer matrix of one set ``[A, N, 3]``: the upper triangle is computed (half
    the pairs of :func:`distance_matrix`), mirrored, and the diagonal is 0. ``workers`` as there."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers: expected an int >= 0, got {workers!r}")
    n = clouds.shape[0]
    bounds = _triangle_bounds(n, max(1, min(n, 4 * workers)))
    tasks = [(clouds, a, b, workers > 0) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    if workers == 0:
        upper = torch.cat([_triangle_rows(t) for t in tasks], 0)
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            upper = torch.cat(list(pool.map(_triangle_rows, tasks)), 0)
    return upper + upper.T


def _check_matrix(name: str, d: object, shape: tuple[int | None, int | None] = (None, None)) -> torch.Tensor:
    if isinstance(d, np.ndarray):
        d = torch.from_numpy(d)
    if not isinstance(d, torch.Tensor) or d.ndim != 2 or not d.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point matrix, got {getattr(d, 'shape', type(d))}")
    for axis, want in enumerate(shape):
        if want is not None and d.shape[axis] != want:
            raise ValueError(f"{name}: expected shape {shape} (None = any), got {tuple(d.shape)}")
    if d.shape[0] == 0 or d.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty matrix, got {tuple(d.shape)}")
    return d.to(torch.float64)


def minimum_matching_distance(d_ref_gen: torch.Tensor | np.ndarray) -> float:
    """MMD ``= mean_r min_g D[r, g]`` of a ``[n_ref, n_gen]`` distance matrix (raw, not x 10^3)."""
    d = _check_matrix("d_ref_gen", d_ref_gen)
    return float(d.amin(1).mean())


def coverage(d_ref_gen: torch.Tensor | np.ndarray) -> float:
    """COV ``= |{argmin_r D[r, g] : g}| / n_ref``, a fraction in [0, 1] (GET3D's definition)."""
    d = _check_matrix("d_ref_gen", d_ref_gen)
    matched = torch.unique(d.argmin(0))
    return matched.numel() / d.shape[0]


def nearest_neighbor_accuracy(
    d_ref_ref: torch.Tensor | np.ndarray,
    d_gen_gen: torch.Tensor | np.ndarray,
    d_ref_gen: torch.Tensor | np.ndarray,
) -> float:
    """1-NNA, a fraction in [0, 1]: leave-one-out 1-NN classification accuracy on refs + gens.

    Each shape of the union takes the label (reference or generated) of its nearest other shape;
    the score is the fraction classified correctly (0.5: the sets are indistinguishable; 1.0: they
    are fully separated). Ties go to the lower index of the union (references first).
    """
    rr = _check_matrix("d_ref_ref", d_ref_ref)
    n_r = rr.shape[0]
    rr = _check_matrix("d_ref_ref", rr, (n_r, n_r))
    gg = _check_matrix("d_gen_gen", d_gen_gen)
    n_g = gg.shape[0]
    gg = _check_matrix("d_gen_gen", gg, (n_g, n_g))
    rg = _check_matrix("d_ref_gen", d_ref_gen, (n_r, n_g))
    full = torch.cat([torch.cat([rr, rg], 1), torch.cat([rg.T, gg], 1)], 0)
    full.fill_diagonal_(float("inf"))
    labels = torch.cat([torch.ones(n_r, dtype=torch.bool), torch.zeros(n_g, dtype=torch.bool)])
    nearest = full.argmin(1)
    return float((labels[nearest] == labels).to(torch.float64).mean())


@dataclass(frozen=True)
class GeometryScores:
    """Scores in the paper's units.

    Attributes:
        cov_cd: COV-CD in % (higher is better).
        mmd_cd: MMD-CD x 10^3 (lower is better).
        nna_cd: 1-NNA-CD in % (50 is ideal), or None when not computed.
        num_ref, num_gen: shapes compared for COV/MMD; num_gen_nna: generated shapes in 1-NNA.
    """

    cov_cd: float
    mmd_cd: float
    nna_cd: float | None
    num_ref: int
    num_gen: int
    num_gen_nna: int

    def as_dict(self) -> dict:
        return asdict(self)


def geometry_scores(
    ref_clouds: torch.Tensor,
    gen_clouds: torch.Tensor,
    *,
    nna: bool = True,
    workers: int = 0,
    progress: bool = False,
) -> GeometryScores:
    """COV-CD, MMD-CD and (optionally) 1-NNA-CD of generated against reference point clouds.

    Args:
        ref_clouds: float ``[n_ref, N, 3]`` protocol clouds of the reference shapes.
        gen_clouds: float ``[n_gen, N, 3]`` of the generated shapes (GET3D: ``n_gen = 5 n_ref``).
        nna: also compute 1-NNA on the references and the first ``min(n_ref, n_gen)`` generated
            shapes (needs two more matrices).
        workers, progress: see :func:`distance_matrix`.
    """
    if ref_clouds.ndim != 3 or ref_clouds.shape[0] < 1:
        raise ValueError(f"ref_clouds: expected [n_ref >= 1, N, 3], got {tuple(ref_clouds.shape)}")
    if gen_clouds.ndim != 3 or gen_clouds.shape[0] < 1:
        raise ValueError(f"gen_clouds: expected [n_gen >= 1, N, 3], got {tuple(gen_clouds.shape)}")
    d_rg = distance_matrix(ref_clouds, gen_clouds, workers=workers, progress=progress)
    n_ref, n_gen = d_rg.shape
    nna_value: float | None = None
    n_nna = 0
    if nna:
        n_nna = min(n_ref, n_gen)
        if n_ref < 2 or n_nna < 2:
            raise ValueError(f"nna: needs at least 2 shapes per set, got {n_ref} references and {n_gen}")
        gens = gen_clouds[:n_nna]
        d_rr = self_distance_matrix(ref_clouds, workers=workers)
        d_gg = self_distance_matrix(gens, workers=workers)
        nna_value = 100.0 * nearest_neighbor_accuracy(d_rr, d_gg, d_rg[:, :n_nna])
    return GeometryScores(
        cov_cd=100.0 * coverage(d_rg),
        mmd_cd=1000.0 * minimum_matching_distance(d_rg),
        nna_cd=nna_value,
        num_ref=n_ref,
        num_gen=n_gen,
        num_gen_nna=n_nna,
    )
