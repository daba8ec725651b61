"""FID during training, as GET3D's ``fid50k`` on the val split (spec §7.2, §10.1).

Every ``fid_every_kimg`` thousand images (and at step 0 and at the run's last step) the main
process scores ``G_ema``: ``fid_images`` generated images (:func:`get3d.metrics.protocol.generate_images`:
psi 1.0, style mixing 0.9, training cameras, RGB only, uint8; rendered with the run's one
rasterizer context) against every view of the val split's shapes (masked RGB, black background,
at most 50,000), through the Inception-v3 of ``fid_inception``
(:func:`get3d.metrics.inception.load_inception`; never downloaded). The generated latents and
cameras are seeded by the run's seed, so every evaluation of a run scores the same draws.

The real statistics are computed once per run and cached in the run folder
(``fid-real-val-<md5 of the key>.npz``, written atomically by :mod:`get3d.metrics.stats`); a
resumed run reads them back. The key names the image files (paths, sizes, mtimes), the resolution
and the feature network, so a change of any of them recomputes the statistics.

Deliberate differences from GET3D's loop: the generated latents and cameras are the same draws at
every evaluation of a run (GET3D draws fresh ones each time), which makes FIDs of one run
comparable step to step; the first FID is of the untrained G_ema at step 0 (GET3D's first is
after one tick); the main process computes it alone (GET3D shares the images among its GPUs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from get3d.data import read_split
from get3d.metrics.frechet import FeatureStats, frechet_distance
from get3d.metrics.inception import FeatureExtractor, InceptionWeightsMissing, load_inception
from get3d.metrics.protocol import PAPER_NUM_IMAGES, EvalConfig, Metric, generate_images, real_images
from get3d.metrics.stats import cache_path, cached_stats, dataset_fingerprint
from get3d.networks import Generator
from render.backend import BackendLike

from .config import DataSource, TrainConfig
from .data import builtin_dataset, split_dir

__all__ = ["FID_CACHE_NAME", "FidImages", "TrainingFID", "check_fid_weights", "fid_due", "fid_images_of"]

FID_CACHE_NAME = "fid-real-val"
"""File-name stem of the run folder's cached real statistics."""


def fid_due(config: TrainConfig, images_before: int, images_after: int) -> bool:
    """Whether a step that took the image counter from ``images_before`` to ``images_after``
    crossed a multiple of ``fid_every_kimg * 1000`` images (False when FID is off)."""
    if not config.fid_every_kimg > 0:
        return False
    every = max(1, round(config.fid_every_kimg * 1000))
    return images_after // every > images_before // every


def _weights_path(config: TrainConfig) -> Path:
    from get3d.metrics.inception import default_inception_path

    return Path(config.fid_inception).expanduser() if config.fid_inception else default_inception_path()


def check_fid_weights(config: TrainConfig) -> None:
    """Fail at start-up when FID is on (``fid_every_kimg > 0``) and the Inception weights of
    ``fid_inception`` (None: the default path) are not there.

    Raises:
        FileNotFoundError: naming ``fid_inception`` and ``fid_every_kimg``.
    """
    if not config.fid_every_kimg > 0:
        return
    path = _weights_path(config)
    if not path.is_file():
        detail = str(InceptionWeightsMissing(path, config.fid_inception is not None))
        raise FileNotFoundError(
            f"fid_inception: FID during training (fid_every_kimg={config.fid_every_kimg:g}) needs local "
            f"Inception weights; set fid_inception=PATH, or fid_every_kimg=0 to train without FID. {detail}"
        )


@dataclass(frozen=True)
class FidImages:
    """Where the real images of the FID come from (:func:`get3d.metrics.protocol.real_images`
    arguments): the val split of the training data."""

    data_dir: Path
    camera_root: Path
    split_file: Path


def fid_images_of(config: TrainConfig) -> FidImages:
    """The val split of the configured data: the built-in set's ``val.txt`` (the set must be
    built), or for a folder source the ``val.txt`` beside the split file ``data.split`` (GET3D's
    split folder), else ``<root>/splits/<synset>/val.txt`` for ``data.path = <root>/img/<synset>``.

    Raises:
        FileNotFoundError: no val split file. ValueError: it lists no shape.
    """
    data = config.data
    if data.source is DataSource.BUILTIN:
        built = builtin_dataset(config)
        val = built.split_file(data.category, "val")
        found = FidImages(built.data_dir(data.category), built.camera_root, val)
    else:
        if data.path is None or data.camera_path is None:
            raise ValueError("data.path, data.camera_path: required for data.source=folder, got null")
        given = Path(data.split) if data.split not in (None, "train", "val", "test", "all") else None
        if given is not None and given.is_file() and data.split_dir is None:
            val = given.parent / "val.txt"  # the split file given sits in GET3D's split folder
        else:
            val = split_dir(config) / "val.txt"  # data.split_dir, or <root>/splits/<synset>
        found = FidImages(Path(data.path), Path(data.camera_path), val)
    if not found.split_file.is_file():
        raise FileNotFoundError(
            f"fid_every_kimg: FID during training scores the val split, but there is no val split file "
            f"at {str(found.split_file)!r} (GET3D's split folder holds train.txt, val.txt, test.txt)"
        )
    if not read_split(found.split_file):
        raise ValueError(
            f"fid_every_kimg: FID during training scores the val split, but {str(found.split_file)!r} "
            "lists no shape"
        )
    return found


class TrainingFID:
    """The FID of a run (main process): the feature network, the val images and their cached
    statistics, and the protocol of the generated images.

    Args:
        config: the run's configuration (``fid_every_kimg > 0``).
        run_dir: the run folder (holds the cached real statistics).
        device: where the feature network runs.
        extractor: a loaded feature network (default: :func:`load_inception` of ``fid_inception``).

    Raises:
        FileNotFoundError: no Inception weights (naming ``fid_inception``) or no val split.
        ValueError: an empty val split.
    """

    def __init__(
        self,
        config: TrainConfig,
        run_dir: Path,
        device: torch.device,
        extractor: FeatureExtractor | None = None,
    ) -> None:
        if not config.fid_every_kimg > 0:
            raise ValueError(f"fid_every_kimg: expected > 0 for TrainingFID, got {config.fid_every_kimg!r}")
        self.config = config
        self.run_dir = Path(run_dir)
        self.device = device
        if extractor is None:
            check_fid_weights(config)
            extractor = load_inception(_weights_path(config), device)
        self.extractor = extractor.to(device).eval()
        self.images = fid_images_of(config)
        self.resolution = config.generator.image_resolution
        self.protocol = EvalConfig(
            metrics=(Metric.FID,),
            num_images=config.fid_images,
            max_real=PAPER_NUM_IMAGES,
            resolution=self.resolution,
            camera_distribution=config.loss.camera_distribution,
            seed=config.seed,
            batch_size=config.batch_gpu,
        )
        self._real: FeatureStats | None = None
        self.real_from_cache: bool | None = None
        self.cache_file: Path | None = None

    def _features(self, batches) -> np.ndarray:
        out = [self.extractor(images.to(self.device)).cpu().numpy() for images in batches]
        return np.concatenate(out, 0)

    def real_stats(self) -> FeatureStats:
        """The val images' feature statistics: from the run folder's cache, else computed and
        cached (atomically)."""
        if self._real is None:
            batches, count, files = real_images(
                self.images.data_dir,
                self.images.camera_root,
                self.resolution,
                split_file=self.images.split_file,
                max_real=self.protocol.max_real,
                batch_size=16,
            )
            key = {
                "version": 1,
                "data": dataset_fingerprint(files),
                "num_real": count,
                "resolution": self.resolution,
                "quantization": "round((x + 1) * 127.5)",
                "extractor": self.extractor.identity,
            }
            self.cache_file = cache_path(self.run_dir, FID_CACHE_NAME, key)
            self._real, self.real_from_cache = cached_stats(
                lambda: FeatureStats.from_features(self._features(batches)), key, self.run_dir, FID_CACHE_NAME
            )
        return self._real

    @torch.no_grad()
    def __call__(self, G: Generator, backend: BackendLike) -> float:
        """FID of ``G`` (``G_ema``) against the val split; ``backend``: the run's rasterizer context."""
        real = self.real_stats()
        fake = FeatureStats.from_features(
            self._features(generate_images(G, self.protocol.num_images, self.protocol, backend=backend))
        )
        value = frechet_distance(fake, real)
        return value if math.isfinite(value) else math.inf
