"""GET3D's evaluation protocol as data and samplers: the typed config and report, style mixing,
generated images and shapes, real images and reference shapes (get3d_spec.md §10).

Generated images (§10.1): per image a fresh texture z and geometry z, mapped with ``psi = 1.0``
and **style mixing** (probability 0.9, per stream, cutoff ``~ U{1, ..., num_ws - 1}``, from
another fresh z, drawn per image as GET3D's ``batch_gen = 1``), a camera from the training
distribution (:func:`render.sample_cameras`), rendered at the generator's resolution; **RGB
only**, quantised as ``uint8(clamp(x * 127.5 + 128, 0, 255))``. Real images: every view of every
shape of the split (first ``max_real`` in data-set order), the masked RGB with a black
background, at the same resolution, quantised back to the PNG's uint8 values.

Shapes (§10.2): the geometry path with the same psi and mixing (own seed stream). A shape whose
raw SDF has no sign change keeps the fallback mesh of GET3D's empty-shape fix (§3.4) and is
scored like any other, as GET3D's ``save_geo_for_inference`` (which generates one shape per call,
so the fix's batch-global min/max are the shape's own: such shapes are regenerated alone here);
they are counted. References: the ground-truth meshes of the split. Both become protocol point
clouds (:func:`get3d.metrics.geometry.surface_point_cloud`).
"""

from __future__ import annotations

import enum
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

import dmtet
from get3d.networks import Generator, Latents
from get3d.networks.mixing import draw_mixing_cutoffs, splice_styles
from get3d.networks.outputs import Triplanes
from render.backend import BackendLike, as_context
from render.camera import CameraDistribution, sample_cameras

from .geometry import GeometryProtocol, GeometryScores, Role, SurfaceSampling, surface_point_cloud
from .lfd import LFDProtocol

__all__ = [
    "PAPER_NUM_IMAGES",
    "PAPER_RESOLUTION",
    "EvalConfig",
    "EvalReport",
    "GeneratedClouds",
    "Metric",
    "generate_images",
    "generate_lfd_descriptors",
    "generate_point_clouds",
    "mix_latents",
    "quantize_generated",
    "real_images",
    "reference_point_clouds",
]

PAPER_NUM_IMAGES = 50_000
PAPER_RESOLUTION = 1024


class Metric(enum.Enum):
    """Metrics :func:`run_eval` computes (``cov_mmd`` also gives 1-NNA unless disabled;
    ``cov_mmd_lfd``, COV/MMD with the light-field distance, is an option: not in the defaults)."""

    FID = "fid"
    KID = "kid"
    COV_MMD = "cov_mmd"
    COV_MMD_LFD = "cov_mmd_lfd"


@dataclass(frozen=True)
class EvalConfig:
    """The protocol. Defaults are the paper's; any change is recorded in the report's deviations.

    Attributes:
        metrics: which metrics to compute.
        num_images: generated images for FID/KID (50,000, GET3D's ``fid50k``).
        max_real: cap on real images, first in data-set order (50,000).
        resolution: image side for generated and real images (None: the generator's).
        camera_distribution: the training camera distribution (GET3D's ``--data_camera_mode``).
        truncation_psi: 1.0. style_mixing_prob: 0.9.
        seed: seed of latents, cameras and mixing.
        batch_size: images or shapes generated per forward pass (does not change the result).
        kid_subsets, kid_subset_size: StyleGAN's KID estimator (100 subsets of at most 1000).
        geometry: :class:`GeometryProtocol` (extent 1.0, 2048 points, seed 41, 5 per reference).
        nna: also compute 1-NNA-CD.
        lfd: :class:`~get3d.metrics.lfd.LFDProtocol` of COV/MMD-LFD (10 camera sets, 256 pixels).
        skip_empty: skip generated shapes whose raw SDF has no sign change (False: GET3D keeps the
            empty-shape fix's fallback mesh and scores it; True is a deviation).
        workers: processes for the Chamfer matrices (0: in-process).
    """

    metrics: tuple[Metric, ...] = (Metric.FID, Metric.KID, Metric.COV_MMD)
    num_images: int = PAPER_NUM_IMAGES
    max_real: int = PAPER_NUM_IMAGES
    resolution: int | None = None
    camera_distribution: CameraDistribution = CameraDistribution.SHAPENET_CAR
    truncation_psi: float = 1.0
    style_mixing_prob: float = 0.9
    seed: int = 0
    batch_size: int = 4
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    geometry: GeometryProtocol = field(default_factory=GeometryProtocol)
    nna: bool = True
    skip_empty: bool = False
    lfd: LFDProtocol = field(default_factory=LFDProtocol)
    workers: int = 0

    def __post_init__(self) -> None:
        metrics = tuple(Metric(m) for m in self.metrics)
        if not metrics or len(set(metrics)) != len(metrics):
            raise ValueError(f"metrics: expected distinct Metric values, got {self.metrics!r}")
        object.__setattr__(self, "metrics", metrics)
        object.__setattr__(self, "camera_distribution", CameraDistribution(self.camera_distribution))
        for name in ("num_images", "max_real", "batch_size", "kid_subsets", "kid_subset_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        if self.num_images < 2:
            raise ValueError(
                f"num_images: expected >= 2 (a covariance needs two samples), got {self.num_images}"
            )
        if self.resolution is not None and (
            isinstance(self.resolution, bool) or not isinstance(self.resolution, int) or self.resolution < 8
        ):
            raise ValueError(f"resolution: expected None or an int >= 8, got {self.resolution!r}")
        if not 0.0 <= self.style_mixing_prob <= 1.0:
            raise ValueError(f"style_mixing_prob: expected a probability, got {self.style_mixing_prob!r}")
        if not math.isfinite(self.truncation_psi):
            raise ValueError(f"truncation_psi: expected a finite number, got {self.truncation_psi!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed: expected a non-negative int, got {self.seed!r}")
        if not isinstance(self.geometry, GeometryProtocol):
            raise TypeError(f"geometry: expected a GeometryProtocol, got {type(self.geometry).__name__}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 0:
            raise ValueError(f"workers: expected an int >= 0, got {self.workers!r}")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["metrics"] = [m.value for m in self.metrics]
        d["camera_distribution"] = self.camera_distribution.value
        d["geometry"] = self.geometry.as_dict()
        return d


@dataclass(frozen=True)
class EvalReport:
    """What :func:`run_eval` measured (None where a metric was not requested).

    Attributes:
        fid: FID. kid: KID (raw; papers often print x 10^3).
        geometry: COV-CD (%), MMD-CD (x 10^3), 1-NNA-CD (%), counts.
        lfd: ``{"cov_lfd": %, "mmd_lfd": raw, "num_ref", "num_gen"}`` when requested, else None.
        num_images, num_real: images behind FID/KID.
        empty_skipped: generated shapes skipped as empty (``skip_empty``; 0 by default).
        empty_fallback: scored generated shapes that are the empty-shape fix's fallback mesh
            (raw SDF without a sign change).
        protocol: every setting (config, extractor, data paths, resolution).
        deviations: departures from the paper's protocol, in words.
        seconds: wall time per stage.
    """

    fid: float | None
    kid: float | None
    geometry: GeometryScores | None
    lfd: dict | None
    num_images: int
    num_real: int
    empty_skipped: int
    empty_fallback: int
    protocol: dict
    deviations: tuple[str, ...]
    seconds: dict

    def as_dict(self) -> dict:
        d = asdict(self)
        d["deviations"] = list(self.deviations)
        return d


# ----------------------------------------------------------------------------------------------
# Latents, images, shapes
# ----------------------------------------------------------------------------------------------


def mix_latents(
    G: Generator,
    z_geo: torch.Tensor,
    z_tex: torch.Tensor,
    truncation_psi: float = 1.0,
    style_mixing_prob: float = 0.9,
    generator: torch.Generator | None = None,
) -> Latents:
    """Map ``z_geo, z_tex [B, z_dim]`` with truncation and GET3D's inference style mixing.

    GET3D generates evaluation images one at a time (``batch_gen = 1``), so here the cutoff is
    per sample: each stream of each sample independently, with probability
    ``style_mixing_prob``, takes its w's from layer ``cutoff ~ U{1, ..., L-1}`` on from the
    mapping of another z ~ N(0, I) (not truncated, as GET3D). The cutoffs and the splice are
    :func:`~get3d.networks.mixing.draw_mixing_cutoffs` and
    :func:`~get3d.networks.mixing.splice_styles`, as in training. ``generator`` (CPU) drives
    every draw, in this frozen order: the other texture z's, the other geometry z's, the texture
    cutoffs, the geometry cutoffs.
    """
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    ws = G.map_latents(z_geo, z_tex, truncation_psi=truncation_psi)
    if style_mixing_prob <= 0:
        return ws
    z2_tex = torch.randn(z_tex.shape, generator=gen).to(z_tex)
    z2_geo = torch.randn(z_geo.shape, generator=gen).to(z_geo)
    other = G.map_latents(z2_geo, z2_tex)
    n = ws.batch_size
    cut_tex = draw_mixing_cutoffs(ws.tex.shape[1], (n,), style_mixing_prob, gen)
    cut_geo = draw_mixing_cutoffs(ws.geo.shape[1], (n,), style_mixing_prob, gen)
    geo = splice_styles(ws.geo, other.geo, cut_geo)
    return Latents(geo=geo, tex=splice_styles(ws.tex, other.tex, cut_tex))


def _device_of(G: Generator) -> torch.device:
    return next(G.parameters()).device


def _latents(G: Generator, n: int, config: EvalConfig, gen: torch.Generator) -> Latents:
    z_dim = G.config.z_dim
    device = _device_of(G)
    z_tex = torch.randn(n, z_dim, generator=gen).to(device)
    z_geo = torch.randn(n, z_dim, generator=gen).to(device)
    return mix_latents(G, z_geo, z_tex, config.truncation_psi, config.style_mixing_prob, gen)


def quantize_generated(rgb: torch.Tensor) -> torch.Tensor:
    """GET3D/StyleGAN's ``uint8(clamp(x * 127.5 + 128, 0, 255))`` of RGB in about [-1, 1]."""
    return (rgb * 127.5 + 128).clamp(0, 255).to(torch.uint8)


@torch.no_grad()
def generate_images(
    G: Generator, num: int, config: EvalConfig = EvalConfig(), *, backend: BackendLike = "auto"
) -> Iterator[torch.Tensor]:
    """Batches of generated uint8 RGB images ``[b, 3, S, S]`` (``num`` in all), protocol §10.1,
    rendered with one rasterizer context (``backend``: a context, or a name for which one is made)."""
    ctx = as_context(backend, _device_of(G))
    gen = torch.Generator().manual_seed(config.seed)
    res = config.resolution or G.config.image_resolution
    done = 0
    while done < num:
        b = min(config.batch_size, num - done)
        ws = _latents(G, b, config, gen)
        cams = sample_cameras(b, config.camera_distribution, generator=gen).to(_device_of(G))
        yield quantize_generated(G.render(ws, cams, res, backend=ctx).rgb)
        done += b


@dataclass(frozen=True)
class GeneratedClouds:
    """What :func:`generate_point_clouds` returns.

    Attributes:
        clouds: float32 ``[num, P, 3]`` protocol point clouds.
        skipped: shapes drawn but skipped (``skip_empty`` or meshes without faces).
        fallback: scored shapes that are the empty-shape fix's fallback mesh.
    """

    clouds: torch.Tensor
    skipped: int
    fallback: int


def _alone(G: Generator, planes: Triplanes, ws: Latents, i: int) -> dmtet.SurfaceMesh:
    """Sample ``i``'s mesh generated on its own (batch 1), so the empty-shape fix's batch-global
    min/max are its own, as GET3D's one-shape-per-call ``save_geo_for_inference``."""
    one = Latents(geo=ws.geo[i : i + 1], tex=ws.tex[i : i + 1])
    sub = Triplanes(planes.geometry[i : i + 1], planes.texture[i : i + 1])
    return G.meshes(G.grid_geometry(sub, one))[0]


@torch.no_grad()
def generate_point_clouds(
    G: Generator,
    num: int,
    config: EvalConfig = EvalConfig(),
    progress: bool = False,
    *,
    backend: BackendLike = "auto",
) -> GeneratedClouds:
    """Protocol point clouds of ``num`` generated shapes (:class:`GeneratedClouds`).

    Shapes come from the geometry path with psi and style mixing as :func:`generate_images` (own
    seed stream). A shape whose raw SDF has no sign change is scored with the fallback mesh of
    the empty-shape fix (computed for it alone, as GET3D) and counted in ``fallback``; with
    ``config.skip_empty`` it is skipped instead (counted in ``skipped``). ``backend``: the
    rasterizer context of the visible-surface sampler (cars). Raises ValueError when more than
    ``3 num + 16`` draws give fewer than ``num`` usable shapes.
    """
    gen = torch.Generator().manual_seed(config.seed + 1)
    ctx = as_context(backend, _device_of(G)) if config.geometry.surface is SurfaceSampling.VISIBLE else None
    clouds: list[torch.Tensor] = []
    skipped = attempts = fallback = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=num, desc="generated shapes", unit="shape")
    while len(clouds) < num:
        if attempts > 3 * num + 16:
            raise ValueError(
                f"generator: only {len(clouds)} usable shapes in {attempts} draws (needed {num}); "
                "it produces empty shapes (skip_empty=False scores GET3D's fallback shapes)"
            )
        b = min(config.batch_size, num - len(clouds))
        ws = _latents(G, b, config, gen)
        planes = G.triplanes(ws)
        geometry = G.grid_geometry(planes, ws)
        meshes = G.meshes(geometry)
        attempts += b
        for i, mesh in enumerate(meshes):
            is_fallback = bool(geometry.empty[i])
            if is_fallback and not config.skip_empty and b > 1:
                mesh = _alone(G, planes, ws, i)
            empty = mesh.faces.shape[0] == 0 or (config.skip_empty and is_fallback)
            if empty or len(clouds) >= num:
                skipped += int(empty)
                continue
            fallback += int(is_fallback)
            clouds.append(
                surface_point_cloud(
                    mesh.vertices,
                    mesh.faces,
                    config.geometry,
                    role=Role.GENERATED,
                    index=len(clouds),
                    backend=ctx,
                )
            )
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return GeneratedClouds(torch.stack(clouds), skipped, fallback)


@torch.no_grad()
def generate_lfd_descriptors(
    G: Generator, num: int, config: EvalConfig = EvalConfig(), *, backend: BackendLike = "auto"
) -> torch.Tensor:
    """Light-field descriptors ``[num, 10, 10, 45]`` of the same generated shapes as
    :func:`generate_point_clouds` (same seed stream and empty-shape handling)."""
    from .lfd import lfd_descriptor

    gen = torch.Generator().manual_seed(config.seed + 1)
    ctx = as_context(backend, _device_of(G))
    out: list[torch.Tensor] = []
    attempts = 0
    while len(out) < num:
        if attempts > 3 * num + 16:
            raise ValueError(f"generator: only {len(out)} usable shapes in {attempts} draws (needed {num})")
        b = min(config.batch_size, num - len(out))
        ws = _latents(G, b, config, gen)
        planes = G.triplanes(ws)
        geometry = G.grid_geometry(planes, ws)
        attempts += b
        for i, mesh in enumerate(G.meshes(geometry)):
            is_fallback = bool(geometry.empty[i])
            if is_fallback and not config.skip_empty and b > 1:
                mesh = _alone(G, planes, ws, i)
            if mesh.faces.shape[0] == 0 or (config.skip_empty and is_fallback) or len(out) >= num:
                continue
            out.append(lfd_descriptor(mesh.vertices, mesh.faces, config.lfd, backend=ctx))
    return torch.stack(out)


def real_images(
    data_dir: str | os.PathLike,
    camera_root: str | os.PathLike | None,
    resolution: int,
    *,
    split_file: str | os.PathLike | None = None,
    max_real: int = PAPER_NUM_IMAGES,
    batch_size: int = 16,
) -> tuple[Iterator[torch.Tensor], int, list[Path]]:
    """The real views as uint8 RGB batches ``[b, 3, S, S]`` (masked, black background).

    Returns:
        ``(batches, count, files)``: the iterator, the number of images it yields and their files.
    """
    from get3d.data import MultiviewDataset

    dataset = MultiviewDataset(data_dir, camera_root, resolution=resolution, split_file=split_file)
    count = min(len(dataset), max_real)
    files = [Path(r.image) for r in dataset.records[:count]]

    def batches() -> Iterator[torch.Tensor]:
        for start in range(0, count, batch_size):
            images = torch.stack([dataset[i].image for i in range(start, min(count, start + batch_size))])
            yield ((images + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)

    return batches(), count, files


def reference_point_clouds(
    mesh_dir: str | os.PathLike,
    protocol: GeometryProtocol | None = None,
    *,
    shape_ids: Sequence[str] | None = None,
    backend: BackendLike | None = None,
) -> tuple[torch.Tensor, list[str]]:
    """Protocol point clouds ``[n_ref, P, 3]`` of the ground-truth meshes under ``mesh_dir``.

    Args:
        mesh_dir: folder of mesh files (:func:`get3d.data.meshes.find_meshes` naming).
        shape_ids: restrict to these ids (e.g. a test split); every id must have a mesh.
        backend: rasterizer context of the visible-surface sampler (cars).

    Returns:
        ``(clouds, ids)`` in sorted id order (reference ``k`` uses index ``k`` of its random stream).
    """
    from get3d.data.meshes import find_meshes, load_mesh

    protocol = GeometryProtocol() if protocol is None else protocol
    found = find_meshes(mesh_dir)
    ids = sorted(found) if shape_ids is None else sorted(shape_ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValueError(
            f"mesh_dir: no mesh for shape ids {missing[:5]} (of {len(missing)}) under {mesh_dir}"
        )
    if not ids:
        raise ValueError(f"mesh_dir: expected at least one reference mesh under {mesh_dir}, found none")
    clouds = []
    for k, shape_id in enumerate(ids):
        mesh = load_mesh(found[shape_id])
        clouds.append(
            surface_point_cloud(
                torch.from_numpy(mesh.vertices),
                torch.from_numpy(mesh.faces),
                protocol,
                role=Role.REFERENCE,
                index=k,
                backend=backend,
            )
        )
    return torch.stack(clouds), ids
