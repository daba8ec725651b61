"""Real images for training: the configured data set and a step-ordered loader."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

import dmtet
from get3d.data import MultiviewDataset, ProceduralDatasetConfig, procedural_dataset

from .config import DataSource, TrainConfig
from .step import RealSchedule

__all__ = ["ValidationRefs", "build_dataset", "collate_real", "load_grid", "real_batches"]


@dataclass(frozen=True)
class ValidationRefs:
    """Ground-truth meshes of the validation shapes: ``mesh_dir`` and the shape ``ids``."""

    mesh_dir: Path
    ids: tuple[str, ...]


def build_dataset(config: TrainConfig, progress: bool = True) -> tuple[Dataset, ValidationRefs | None]:
    """The training :class:`~get3d.data.MultiviewDataset` at the generator's image resolution, and
    the validation references (built-in data set only; None otherwise). The built-in set is
    generated into its cache on first use."""
    data = config.data
    res = config.generator.image_resolution
    if data.source is DataSource.BUILTIN:
        pconf = ProceduralDatasetConfig(
            categories=data.builtin_categories,
            shapes_per_category=data.builtin_shapes,
            views=data.builtin_views,
            resolution=data.builtin_resolution,
        )
        if data.category not in pconf.categories:
            raise ValueError(
                f"data.category: expected one of {list(pconf.categories)}, got {data.category!r}"
            )
        built = procedural_dataset(pconf, data.cache_dir, progress=progress)
        split = data.split
        if split not in (None, "train", "val", "test"):
            raise ValueError(
                f"data.split: expected train, val, test or null for the built-in set, got {split!r}"
            )
        ds = built.dataset(data.category, resolution=res, split=split)
        from get3d.data import read_split

        val_ids = tuple(read_split(built.split_file(data.category, "val")))
        return ds, (ValidationRefs(built.mesh_dir(data.category), val_ids) if val_ids else None)
    if data.path is None or data.camera_path is None:
        raise ValueError("data.path, data.camera_path: required for data.source=folder, got null")
    return MultiviewDataset(data.path, data.camera_path, resolution=res, split_file=data.split), None


def load_grid(config: TrainConfig) -> dmtet.TetGrid | None:
    """The configured tet grid (``tet_grid``) in the generator's box, or None (BCC default)."""
    if config.tet_grid is None:
        return None
    path = Path(config.tet_grid)
    if not path.is_file():
        raise FileNotFoundError(f"tet_grid: no such file {path}")
    return dmtet.TetGrid.load(path, scale=config.generator.dmtet_scale)


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
