"""Real images for training: the configured data set and a step-ordered loader."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

import dmtet
from get3d.data import MultiviewDataset, ProceduralDatasetConfig, procedural_dataset
from get3d.networks.grids import configured_grid

from .config import DataSource, TrainConfig
from .step import RealSchedule

__all__ = [
    "builtin_dataset",
    "SPLIT_ALL",
    "SPLIT_NAMES",
    "ValidationRefs",
    "build_dataset",
    "collate_real",
    "load_grid",
    "real_batches",
    "split_dir",
    "split_file",
    "split_note",
]


@dataclass(frozen=True)
class ValidationRefs:
    """Ground-truth meshes of the validation shapes: ``mesh_dir`` and the shape ``ids``."""

    mesh_dir: Path
    ids: tuple[str, ...]


SPLIT_ALL = "all"
"""``data.split`` value that trains on every shape (test shapes included)."""
SPLIT_NAMES = ("train", "val", "test")
"""GET3D's split names: train on ``train``, validate on ``val``, evaluate on ``test``."""


def builtin_dataset(config: TrainConfig, progress: bool = False):  # -> get3d.data.ProceduralDataset
    """The built-in procedural data set the configuration names (``data.builtin_*``), generated
    into its cache on first use.

    Raises:
        ValueError: ``data.category`` is not one of ``data.builtin_categories``.
    """
    data = config.data
    pconf = ProceduralDatasetConfig(
        categories=data.builtin_categories,
        shapes_per_category=data.builtin_shapes,
        views=data.builtin_views,
        resolution=data.builtin_resolution,
    )
    if data.category not in pconf.categories:
        raise ValueError(f"data.category: expected one of {list(pconf.categories)}, got {data.category!r}")
    return procedural_dataset(pconf, data.cache_dir, progress=progress)


def split_dir(config: TrainConfig) -> Path:
    """The split folder of a folder data set: ``data.split_dir``, else ``<root>/splits/<synset>``
    for ``data.path`` = ``<root>/img/<synset>`` (where ``get3d prepare`` writes its splits)."""
    data = config.data
    if data.split_dir is not None:
        return Path(data.split_dir)
    if data.path is None:
        raise ValueError("data.path: required for data.source=folder, got null")
    path = Path(data.path)
    return path.parent.parent / "splits" / path.name


def split_file(config: TrainConfig, name: str, *, progress: bool = False) -> Path | None:
    """The split file of the split ``name`` of the configured data: ``train``, ``val``, ``test``
    (the built-in set's, or ``<split folder>/<name>.txt``), ``all`` (None: every shape), or for a
    folder source the path of a split file. The built-in set is built on first use.

    Raises:
        ValueError: ``name`` is None or not one of these; ``data.split_dir`` with the built-in set.
        FileNotFoundError: the split file does not exist (the message says where GET3D keeps them).
    """
    data = config.data
    if name is None:
        raise ValueError(
            f"data.split: expected {', '.join(SPLIT_NAMES)}, {SPLIT_ALL} or a split file, got null; "
            f"training on every shape (test shapes included) is written data.split={SPLIT_ALL}"
        )
    if not isinstance(name, str) or not name:
        raise ValueError(f"data.split: expected a split name or a split file, got {name!r}")
    if name == SPLIT_ALL:
        return None
    if data.source is DataSource.BUILTIN:
        if data.split_dir is not None:
            raise ValueError(
                f"data.split_dir: applies to data.source=folder (the built-in set has its own splits), "
                f"got {data.split_dir!r}"
            )
        if name not in SPLIT_NAMES:
            expected = f"{', '.join(SPLIT_NAMES)} or {SPLIT_ALL}"
            raise ValueError(f"data.split: expected {expected} for the built-in set, got {name!r}")
        return builtin_dataset(config, progress).split_file(data.category, name)
    if name not in SPLIT_NAMES:
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(
                f"data.split: expected {', '.join(SPLIT_NAMES)}, {SPLIT_ALL} or an existing split file, "
                f"got {name!r}"
            )
        return path
    folder = split_dir(config)
    path = folder / f"{name}.txt"
    if not path.is_file():
        where = "data.split_dir" if data.split_dir is not None else f"data.split_dir (default {folder})"
        raise FileNotFoundError(
            f"{where}: no {name}.txt in {str(folder)!r}; expected GET3D's split folder with train.txt, "
            f"val.txt and test.txt (one shape id per line; GET3D's 3dgan_data_split/shapenet_<category>), "
            f"or data.split={SPLIT_ALL} to train on every shape"
        )
    return path


def build_dataset(config: TrainConfig, progress: bool = True) -> tuple[Dataset, ValidationRefs | None]:
    """The training :class:`~get3d.data.MultiviewDataset` of the split ``data.split`` (see
    :func:`split_file`) at the generator's image resolution, and the validation references (the
    built-in set's ``val`` meshes; None for a folder, which has no meshes). The built-in set is
    generated into its cache on first use. A shape listed in the split but missing from the data
    raises :class:`get3d.data.DatasetError` naming it."""
    data = config.data
    res = config.generator.image_resolution
    if data.source is DataSource.BUILTIN:
        chosen = split_file(config, data.split, progress=progress)  # checks the split, builds the set
        built = builtin_dataset(config, progress=False)
        ds = MultiviewDataset(
            built.data_dir(data.category), built.camera_root, resolution=res, split_file=chosen
        )
        from get3d.data import read_split

        val_ids = tuple(read_split(built.split_file(data.category, "val")))
        return ds, (ValidationRefs(built.mesh_dir(data.category), val_ids) if val_ids else None)
    if data.path is None or data.camera_path is None:
        raise ValueError("data.path, data.camera_path: required for data.source=folder, got null")
    chosen = split_file(config, data.split)
    return MultiviewDataset(data.path, data.camera_path, resolution=res, split_file=chosen), None


def split_note(config: TrainConfig, dataset: MultiviewDataset) -> str:
    """One line for the run log: which shapes the run trains on."""
    n = len(dataset.shape_ids)
    split = config.data.split
    if split == SPLIT_ALL:
        return (
            f"data: training on ALL {n} shapes (data.split={SPLIT_ALL}): no shapes held out, the val and "
            "test shapes included"
        )
    return f"data: training on the {split!r} split, {n} shapes ({len(dataset)} views)"


def load_grid(config: TrainConfig) -> dmtet.TetGrid | None:
    """The configured tet grid (``generator.tet_grid``) in the generator's box, or None (BCC default)."""
    if config.generator.tet_grid is None:
        return None
    return configured_grid(config.generator)


class _StepSampler(Sampler[list[int]]):
    """Micro-batches of this process for steps ``start .. end - 1``, in order."""

    def __init__(
        self, schedule: RealSchedule, start: int, end: int, micro: list[int], batch_gpu: int
    ) -> None:
        self.schedule, self.start, self.end, self.micro, self.batch_gpu = (
            schedule,
            start,
            end,
            micro,
            batch_gpu,
        )

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.end):
            idx = self.schedule.indices(step)
            for k in self.micro:
                yield idx[k * self.batch_gpu : (k + 1) * self.batch_gpu]

    def __len__(self) -> int:
        return (self.end - self.start) * len(self.micro)


def real_batches(
    dataset: Dataset,
    schedule: RealSchedule,
    start: int,
    end: int,
    micro: list[int],
    batch_gpu: int,
    workers: int,
    device: torch.device,
) -> Iterator[list[tuple[torch.Tensor, torch.Tensor]]]:
    """Per step, this process's real micro-batches ``[(image [b, 4, H, W], condition [b, 2])]``
    on ``device`` (pinned host memory and asynchronous copies off the CPU)."""
    pin = device.type != "cpu"
    loader = DataLoader(
        dataset,
        batch_sampler=_StepSampler(schedule, start, end, micro, batch_gpu),
        num_workers=workers,
        collate_fn=collate_real,
        pin_memory=pin,
        persistent_workers=False,
    )
    it = iter(loader)
    for _ in range(start, end):
        out = []
        for _k in micro:
            # the loader pinned exactly these tensors, so the copies below are asynchronous
            image, camera = next(it)
            out.append((image.to(device, non_blocking=pin), camera.to(device, non_blocking=pin)))
        yield out


def collate_real(samples: list) -> tuple[torch.Tensor, torch.Tensor]:
    """Collate :class:`~get3d.data.MultiviewSample` items into the tensors D reads:
    ``(image [b, 4, H, W] = RGB in [-1, 1] + mask in {0, 1}, condition [b, 2])``, float32.

    The RGB and the mask are joined here, inside the loader, so that the tensor the loader pins
    is the one copied to the device (joining after pinning would make a new pageable tensor and
    a synchronous copy)."""
    if not samples:
        raise ValueError("samples: expected at least one MultiviewSample, got an empty list")
    image = torch.stack([torch.cat([s.image, s.mask], dim=0) for s in samples])
    camera = torch.stack([s.camera for s in samples])
    return image, camera
