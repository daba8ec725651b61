"""Evaluate a generator with GET3D's frozen protocol: FID, KID, COV-CD, MMD-CD, 1-NNA-CD.

:func:`run_eval` generates images and shapes as :mod:`get3d.metrics.protocol` specifies (psi 1.0
with style mixing, training cameras, RGB only, uint8 quantisation; geometry path, empty shapes
scored with the empty-shape fix's fallback mesh and counted; cars sampled on their visible
surface), extracts Inception-v3 pool features (:mod:`get3d.metrics.inception`) with real
statistics cached per data set, protocol and network (:mod:`get3d.metrics.stats`), and scores
shapes against the split's ground-truth meshes (:mod:`get3d.metrics.geometry`).

Every number the result depends on is written to the report (``protocol``), and every departure
from the paper's protocol is listed in ``deviations``. Randomness comes from one seeded generator
per stream, so a run is reproducible. The JSON report is written atomically.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

import dmtet
from get3d.atomic import atomic_files
from get3d.networks import Generator, GeneratorConfig, load_generator
from get3d.networks.grids import GET3D_GRID, grid_info
from render.backend import BackendLike, RasterContext, as_context

from .frechet import FeatureStats, frechet_distance, kernel_distance
from .geometry import GeometryProtocol, GeometryScores, SurfaceSampling, geometry_scores
from .inception import FeatureExtractor, load_inception
from .lfd import LFDProtocol
from .protocol import (
    PAPER_NUM_IMAGES,
    PAPER_RESOLUTION,
    EvalConfig,
    EvalReport,
    GeneratedClouds,
    Metric,
    generate_images,
    generate_lfd_descriptors,
    generate_point_clouds,
    mix_latents,
    quantize_generated,
    real_images,
    reference_point_clouds,
)
from .stats import cached_stats, dataset_fingerprint, default_cache_dir

__all__ = [
    "EvalConfig",
    "EvalReport",
    "GeneratedClouds",
    "Metric",
    "generate_images",
    "generate_lfd_descriptors",
    "generate_point_clouds",
    "mix_latents",
    "procedural_eval_inputs",
    "quantize_generated",
    "real_images",
    "reference_point_clouds",
    "run_eval",
    "write_json_atomic",
]


def _features(
    extractor: FeatureExtractor, batches: Iterator[torch.Tensor], device: torch.device
) -> np.ndarray:
    out = [extractor(images.to(device)).cpu().numpy() for images in batches]
    return np.concatenate(out, 0)


def procedural_eval_inputs(category: str, split: str = "test", data: object | None = None) -> dict:
    """``run_eval`` keyword arguments for a category of the built-in procedural data set.

    Args:
        category: ``"chair"``, ``"table"`` or ``"car"``.
        split: which split's images and meshes (GET3D: ``test`` for final numbers, ``val`` in training).
        data: a :class:`get3d.data.builtin.ProceduralDataset` (default: ``procedural_dataset()``,
            built on first use).
    """
    from get3d.data import procedural_dataset

    data = procedural_dataset() if data is None else data
    return {
        "data_dir": data.data_dir(category),
        "camera_root": data.camera_root,
        "split_file": data.split_file(category, split),
        "mesh_dir": data.mesh_dir(category),
    }


def write_json_atomic(path: str | os.PathLike, data: dict) -> Path:
    """Write ``data`` as indented JSON to ``path`` via a temporary file and ``os.replace``."""
    path = Path(path)
    with atomic_files([path]) as (tmp,), open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    return path


def _lfd_scores(
    G: Generator,
    mesh_dir: str | os.PathLike,
    split_file: str | os.PathLike | None,
    config: EvalConfig,
    ctx: object,
    seconds: dict[str, float],
) -> dict:
    """COV-LFD (%) and MMD-LFD (raw) of ``gen_per_ref * n_ref`` generated shapes (GET3D: meshes
    scaled to longest side 1.0; the descriptor normalises scale itself)."""
    from get3d.data.layout import read_split
    from get3d.data.meshes import find_meshes, load_mesh

    from .geometry import coverage, minimum_matching_distance
    from .lfd import lfd_descriptor, lfd_matrix

    t0 = time.perf_counter()
    found = find_meshes(mesh_dir)
    ids = sorted(read_split(split_file)) if split_file is not None else sorted(found)
    missing = [i for i in ids if i not in found]
    if missing or not ids:
        raise ValueError(f"mesh_dir: no mesh for shape ids {missing[:5]} under {mesh_dir}")
    refs = []
    for shape_id in ids:
        mesh = load_mesh(found[shape_id])
        refs.append(
            lfd_descriptor(
                torch.from_numpy(mesh.vertices), torch.from_numpy(mesh.faces), config.lfd, backend=ctx
            )
        )
    seconds["lfd_reference_descriptors"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    gens = generate_lfd_descriptors(G, config.geometry.gen_per_ref * len(ids), config, backend=ctx)
    seconds["lfd_generated_descriptors"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    d = lfd_matrix(torch.stack(refs), gens)
    seconds["lfd_matrix"] = time.perf_counter() - t0
    return {
        "cov_lfd": 100.0 * coverage(d),
        "mmd_lfd": minimum_matching_distance(d),
        "num_ref": len(ids),
        "num_gen": int(gens.shape[0]),
    }


@dataclass
class _Record:
    """What an evaluation records besides its scores: the protocol, the deviations from the
    paper's and the seconds of each stage (filled in by the stages of :func:`run_eval`)."""

    protocol: dict
    deviations: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _RealImages:
    data_dir: Path
    camera_root: str | os.PathLike | None
    split_file: str | os.PathLike | None


def _eval_generator(
    generator: Generator | str | os.PathLike,
    generator_config: GeneratorConfig | None,
    grid: dmtet.TetGrid | str | os.PathLike | None,
    grid_resolution: int | None,
    device: torch.device,
) -> Generator:
    """The generator to evaluate: as given, or the ``G_ema`` of a checkpoint path."""
    if isinstance(generator, Generator):
        if grid is not None or grid_resolution is not None:
            raise ValueError(
                "grid, grid_resolution: apply to a checkpoint path; give a Generator its grid with set_grid"
            )
        return generator.to(device).eval()
    if isinstance(generator, str | os.PathLike):
        return load_generator(
            generator, config=generator_config, grid=grid, grid_resolution=grid_resolution, device=device
        )
    raise TypeError(f"generator: expected a Generator or a checkpoint path, got {type(generator).__name__}")


def _protocol_record(
    G: Generator, config: EvalConfig, category: str | None, res: int, split_file: object
) -> _Record:
    """The protocol of the evaluation and its deviations that do not depend on the metrics."""
    rec = _Record(
        protocol={
            "config": config.as_dict(),
            "category": category,
            "resolution": res,
            "split_file": str(split_file) if split_file else None,
        }
    )
    if G.config.flexicubes:
        rec.protocol["voxel_grid"] = G.config.grid_resolution
    else:
        grid_used = grid_info(G.tet_grid, G.config.tet_grid)
        rec.protocol["tet_grid"] = grid_used.as_dict()
        if not grid_used.is_get3d_grid:
            rec.deviations.append(
                f"tet grid: {grid_used} (paper: GET3D's Quartet grid {GET3D_GRID}, 98,653 vertices)"
            )
    if res != PAPER_RESOLUTION:
        rec.deviations.append(f"resolution {res} (paper: {PAPER_RESOLUTION})")
    if config.truncation_psi != 1.0 or config.style_mixing_prob != 0.9:
        rec.deviations.append(
            f"psi {config.truncation_psi}, style mixing {config.style_mixing_prob} (paper: 1.0, 0.9)"
        )
    return rec


def _image_scores(
    G: Generator,
    config: EvalConfig,
    real_dir: _RealImages,
    inception: FeatureExtractor | str | os.PathLike | None,
    cache: str | os.PathLike | None,
    res: int,
    device: torch.device,
    ctx: RasterContext,
    rec: _Record,
) -> tuple[float | None, float | None, int, int]:
    """FID and KID (None when not asked for), the real and generated image counts."""
    wanted = set(config.metrics)
    extractor = inception if isinstance(inception, FeatureExtractor) else load_inception(inception, device)
    extractor = extractor.to(device).eval()
    rec.protocol["extractor"] = extractor.identity
    rec.protocol["data_dir"] = str(real_dir.data_dir.resolve())
    if not extractor.identity.startswith("torchscript:"):
        rec.deviations.append(
            f"feature network {extractor.identity.split(':')[0]} (paper: NVIDIA's TorchScript Inception)"
        )
    t0 = time.perf_counter()
    batches, num_real, files = real_images(
        real_dir.data_dir,
        real_dir.camera_root,
        res,
        split_file=real_dir.split_file,
        max_real=config.max_real,
        batch_size=16,
    )
    key = {
        "version": 1,
        "data": dataset_fingerprint(files),
        "num_real": num_real,
        "resolution": res,
        "quantization": "round((x + 1) * 127.5)",
        "extractor": extractor.identity,
    }
    need_features = Metric.KID in wanted
    real, hit = cached_stats(
        lambda: FeatureStats.from_features(
            _features(extractor, batches, device), keep_features=need_features
        ),
        key,
        cache,
        name=f"real-{real_dir.data_dir.name}",
        need_features=need_features,
    )
    rec.protocol["real_stats_cached"] = hit
    rec.seconds["real_features"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    n_images = config.num_images
    gen_features = _features(extractor, generate_images(G, n_images, config, backend=ctx), device)
    fake = FeatureStats.from_features(gen_features)
    rec.seconds["generated_features"] = time.perf_counter() - t0
    if n_images < PAPER_NUM_IMAGES:
        rec.deviations.append(f"{n_images} generated images (paper: {PAPER_NUM_IMAGES})")
    fid = frechet_distance(fake, real) if Metric.FID in wanted else None
    kid = None
    if Metric.KID in wanted:
        assert real.features is not None
        kid = kernel_distance(
            gen_features,
            real.features,
            num_subsets=config.kid_subsets,
            max_subset_size=config.kid_subset_size,
        )
    return fid, kid, num_real, n_images


def _geometry_part(
    G: Generator,
    config: EvalConfig,
    category: str | None,
    mesh_dir: Path,
    split_file: str | os.PathLike | None,
    ctx: RasterContext,
    progress: bool,
    rec: _Record,
) -> tuple[GeometryScores, int, int]:
    """COV/MMD-CD (and 1-NNA) against the reference meshes; the counts of generated shapes
    without a surface that were skipped and that were scored with the empty-shape fallback."""
    from get3d.data.layout import read_split

    t0 = time.perf_counter()
    ids = read_split(split_file) if split_file is not None else None
    refs, ref_ids = reference_point_clouds(mesh_dir, config.geometry, shape_ids=ids, backend=ctx)
    rec.protocol["mesh_dir"] = str(mesh_dir.resolve())
    rec.protocol["num_ref"] = len(ref_ids)
    rec.seconds["reference_clouds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    n_gen = config.geometry.gen_per_ref * len(ref_ids)
    generated = generate_point_clouds(G, n_gen, config, progress=progress, backend=ctx)
    rec.seconds["generated_clouds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    scores = geometry_scores(
        refs, generated.clouds, nna=config.nna, workers=config.workers, progress=progress
    )
    rec.seconds["chamfer_and_scores"] = time.perf_counter() - t0
    paper = GeometryProtocol.for_category(category)
    if config.geometry != paper:
        rec.deviations.append(f"geometry protocol {config.geometry.as_dict()} (paper: {paper.as_dict()})")
    if config.geometry.surface is SurfaceSampling.VISIBLE:
        rec.deviations.append(
            "visible-surface points at pixel centres from seeded draws (GET3D: the depth "
            "back-projected at pixel corners, unseeded draws; shapes with a view seeing fewer "
            "than its quota of pixels dropped)"
        )
    if config.skip_empty:
        rec.deviations.append(
            f"{generated.skipped} generated shapes without a surface skipped (paper: the empty-shape "
            "fix's fallback mesh is scored)"
        )
    return scores, generated.skipped, generated.fallback


def run_eval(
    generator: Generator | str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    camera_root: str | os.PathLike | None = None,
    split_file: str | os.PathLike | None = None,
    mesh_dir: str | os.PathLike | None = None,
    inception: FeatureExtractor | str | os.PathLike | None = None,
    config: EvalConfig | None = None,
    category: str | None = None,
    generator_config: GeneratorConfig | None = None,
    grid: dmtet.TetGrid | str | os.PathLike | None = None,
    grid_resolution: int | None = None,
    output: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None | bool = True,
    device: torch.device | str = "cpu",
    progress: bool = False,
    backend: BackendLike = "auto",
) -> EvalReport:
    """Evaluate a generator against a data set and (optionally) write a JSON report.

    Args:
        generator: a :class:`~get3d.networks.Generator` or a checkpoint path, official or ours
            (its ``G_ema``, read by :func:`get3d.networks.load_generator`).
        generator_config: the checkpoint's generator sizes (default: the configuration stored
            in our checkpoints, else the official one with the file's triplane resolution).
        grid, grid_resolution: a checkpoint's tet grid (a grid file such as GET3D's
            ``data/tets/90_compress.npz``, a :class:`dmtet.TetGrid`, or a BCC resolution; see
            :func:`~get3d.networks.load_generator`; default: the checkpoint's own). The report
            records the grid (``protocol['tet_grid']``) and lists any grid but GET3D's
            ``90_compress.npz`` as a deviation.
        data_dir, camera_root, split_file: the real images (:class:`get3d.data.MultiviewDataset`
            arguments) for FID/KID; GET3D uses the test split for final numbers, val in training.
        mesh_dir: ground-truth meshes for COV/MMD/1-NNA; with ``split_file`` only its ids are used.
        inception: a loaded :class:`~get3d.metrics.inception.FeatureExtractor` or a weights path
            (None: the default path; a clear error when absent). Only needed for FID/KID.
        config: the protocol (:class:`EvalConfig`; default: the paper's, with the geometry
            protocol of ``category``).
        category: the data set's category (``car``, ``chair``, ... or a ShapeNet synset), which
            selects the paper's geometry protocol (:meth:`GeometryProtocol.for_category`: cars
            are sampled on their visible surface) when ``config`` is None, and against which
            ``config.geometry`` deviations are listed.
        output: JSON report path (written atomically).
        cache_dir: real-statistics cache (True: the default folder; None/False: no cache).
        device: where the generator and Inception run.
        progress: progress bars.
        backend: the rasterizer: a context (``render.make_context``) or a backend name for which
            one context is made and used for every render of the evaluation.

    Returns:
        :class:`EvalReport`.
    """
    if config is None:
        config = EvalConfig(geometry=GeometryProtocol.for_category(category))
    if not isinstance(config, EvalConfig):
        raise TypeError(f"config: expected an EvalConfig, got {type(config).__name__}")
    device = torch.device(device)
    G = _eval_generator(generator, generator_config, grid, grid_resolution, device)
    ctx = as_context(backend, device)
    res = config.resolution or G.config.image_resolution
    wanted = set(config.metrics)
    if wanted & {Metric.FID, Metric.KID} and data_dir is None:
        raise ValueError("data_dir: FID/KID need the real images (data_dir), got None")
    if wanted & {Metric.COV_MMD, Metric.COV_MMD_LFD} and mesh_dir is None:
        raise ValueError("mesh_dir: COV/MMD need the ground-truth meshes (mesh_dir), got None")
    rec = _protocol_record(G, config, category, res, split_file)

    fid = kid = None
    num_real = n_images = 0
    if wanted & {Metric.FID, Metric.KID}:
        cache = default_cache_dir() if cache_dir is True else (cache_dir or None)
        real_dir = _RealImages(Path(data_dir), camera_root, split_file)
        fid, kid, num_real, n_images = _image_scores(
            G, config, real_dir, inception, cache, res, device, ctx, rec
        )

    scores = None
    skipped = fallback = 0
    if Metric.COV_MMD in wanted:
        scores, skipped, fallback = _geometry_part(
            G, config, category, Path(mesh_dir), split_file, ctx, progress, rec
        )

    lfd = None
    if Metric.COV_MMD_LFD in wanted:
        lfd = _lfd_scores(G, mesh_dir, split_file, config, ctx, rec.seconds)
        if config.lfd != LFDProtocol():
            rec.deviations.append(f"LFD protocol {config.lfd} (paper: {LFDProtocol()})")
        rec.deviations.append(
            "LFD on our rasterizer with float Zernike/Fourier features (GET3D: the 3DAlignment "
            "executables, 8-bit features); MMD-LFD is on a different scale from the paper's"
        )
    protocol, deviations, seconds = rec.protocol, rec.deviations, rec.seconds

    report = EvalReport(
        fid=fid,
        kid=kid,
        geometry=scores,
        lfd=lfd,
        num_images=n_images,
        num_real=num_real,
        empty_skipped=skipped,
        empty_fallback=fallback,
        protocol=protocol,
        deviations=tuple(deviations),
        seconds=seconds,
    )
    if output is not None:
        write_json_atomic(output, report.as_dict())
    return report
