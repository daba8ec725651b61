"""Training checkpoints: everything a resume needs, written atomically, rotated.

A checkpoint (``checkpoint-SSSSSSSS.pt``, ``S`` = steps done) holds the state_dicts of ``G``,
``G_ema``, ``D`` and both optimisers, the step, the images seen (= the data position: the data
order is a pure function of the seed and the image counter), the RNG states of torch (CPU and
accelerator), numpy and Python, the counters, the resolved config and the validation metric.
Files are written to a temporary name in the same folder, fsynced and renamed, so a reader sees
either the old or the new file, never a partial one. :class:`CheckpointManager` keeps the last
``keep`` checkpoints plus ``best.pt`` (lowest validation metric: FID when FID during training
is on, else the Chamfer validation metric; ``metric_name`` says which). Loading uses
``torch.load(weights_only=True)``: no pickled code runs.
"""

from __future__ import annotations

import logging
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from get3d.atomic import atomic_files

_LOG = logging.getLogger(__name__)

__all__ = [
    "CheckpointManager",
    "capture_rng_state",
    "load_checkpoint",
    "restore_rng_state",
    "save_atomic",
]

_NAME = re.compile(r"^checkpoint-(\d{8})\.pt$")


def save_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to ``path`` via a temporary file in the same folder + fsync + rename."""
    path = Path(path)
    with atomic_files([path]) as (tmp,), open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    return path


def capture_rng_state() -> dict[str, Any]:
    """The global RNG states (torch CPU, the accelerator's if any, numpy, Python) as plain tensors
    and tuples, loadable with ``weights_only=True``."""
    np_state = np.random.get_state()  # noqa: NPY002 - the legacy global state is what we save
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "key": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        ("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    )
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if "cuda" in state and torch.cuda.is_available():
        _restore_cuda_rng(list(state["cuda"]))


def _restore_cuda_rng(saved: list[torch.Tensor]) -> None:
    """Restore one saved generator state per visible CUDA device, in device order.

    A checkpoint saved by a process that saw more devices than this one (a resume on fewer GPUs)
    keeps the states of the devices present here; devices beyond the saved list keep their state.
    """
    n = min(len(saved), torch.cuda.device_count())
    if n < len(saved):
        _LOG.info(
            "restore_rng_state: %d CUDA RNG states saved, %d devices here; restoring %d",
            len(saved),
            torch.cuda.device_count(),
            n,
        )
    for index in range(n):
        torch.cuda.set_rng_state(saved[index], device=index)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no checkpoint at {path}")
    return torch.load(path, map_location=map_location, weights_only=True)


@dataclass
class CheckpointManager:
    """Writes ``checkpoint-SSSSSSSS.pt`` into ``folder``, keeps the last ``keep``, and ``best.pt``.

    Attributes:
        folder: run folder (created).
        keep: number of step checkpoints kept.
    """

    folder: Path
    keep: int = 3

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        if isinstance(self.keep, bool) or not isinstance(self.keep, int) or self.keep < 1:
            raise ValueError(f"keep: expected a positive int, got {self.keep!r}")

    def checkpoints(self) -> list[tuple[int, Path]]:
        """``(step, path)`` of the step checkpoints present, oldest first."""
        if not self.folder.is_dir():
            return []
        found = []
        for p in self.folder.iterdir():
            m = _NAME.match(p.name)
            if m:
                found.append((int(m.group(1)), p))
        return sorted(found)

    def latest(self) -> Path | None:
        ckpts = self.checkpoints()
        return ckpts[-1][1] if ckpts else None

    @property
    def best_path(self) -> Path:
        return self.folder / "best.pt"

    def best_metric(self, metric_name: str | None = None) -> float | None:
        """The metric stored in ``best.pt`` (None: no ``best.pt``; with ``metric_name``, also when
        its metric is another one, e.g. a run resumed with FID on whose best was chosen by Chamfer)."""
        if not self.best_path.is_file():
            return None
        best = load_checkpoint(self.best_path)
        value = best.get("metric")
        if metric_name is not None and best.get("metric_name", metric_name) != metric_name:
            return None
        return None if value is None else float(value)

    def save(
        self, state: dict[str, Any], step: int, metric: float | None = None, metric_name: str | None = None
    ) -> Path:
        """Write the checkpoint of ``step``; also ``best.pt`` when ``metric`` (lower is better)
        beats the stored best of the same ``metric_name`` (a best of another metric is replaced);
        then delete step checkpoints beyond the last ``keep``."""
        state = {**state, "step": int(step), "metric": metric}
        if metric_name is not None:
            state["metric_name"] = metric_name
        path = save_atomic(state, self.folder / f"checkpoint-{step:08d}.pt")
        if metric is not None:
            best = self.best_metric(metric_name)
            if best is None or metric < best:
                save_atomic(state, self.best_path)
        for _, old in self.checkpoints()[: -self.keep]:
            old.unlink(missing_ok=True)
        return path
