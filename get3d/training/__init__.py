"""Adversarial training of GET3D through the renderer (spec §7).

* :mod:`~get3d.training.config`: typed configuration, YAML presets, ``key=value`` overrides.
* :mod:`~get3d.training.losses`: logistic G/D losses on both branches, R1, SDF regularisers.
* :mod:`~get3d.training.phases`: the phases of a step.
* :mod:`~get3d.training.optim`: lazy-regularised Adam, G_ema, gradient sanitising.
* :mod:`~get3d.training.checkpoint`: atomic, rotated, resumable checkpoints.
* :mod:`~get3d.training.distributed`: ``torchrun`` multi-process support.
* :mod:`~get3d.training.loop`: :func:`train`.
* :mod:`~get3d.training.runlog`: the run folder's logs, snapshots and curves (main process only).
* :mod:`~get3d.training.fid`: FID on the val split during training (``fid_every_kimg``).

Command line: ``get3d train --config default key=value ...`` (:mod:`~get3d.training.cli`;
``python train.py`` in a checkout).
"""

from .config import (
    ConfigError,
    DataConfig,
    DataSource,
    LossConfig,
    OptimConfig,
    TrainConfig,
    apply_overrides,
    config_to_dict,
)
from .loop import train
from .preset_loader import load_config

__all__ = [
    "ConfigError",
    "DataConfig",
    "DataSource",
    "LossConfig",
    "OptimConfig",
    "TrainConfig",
    "apply_overrides",
    "config_to_dict",
    "load_config",
    "train",
]
