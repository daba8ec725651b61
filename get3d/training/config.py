"""Typed training configuration: frozen dataclasses, YAML presets and ``key=value`` overrides.

A run is described by one :class:`TrainConfig`. Its defaults are GET3D's official values (spec
§7); a YAML preset in ``configs/`` overrides only the fields it names (:mod:`~get3d.training.preset_loader`),
and ``key=value`` command line overrides (dotted paths, e.g. ``generator.image_resolution=64``) are
applied last. Unknown keys and values of the wrong type raise :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

import yaml

from get3d.networks import DiscriminatorConfig, GeneratorConfig
from get3d.networks.config import rename_legacy_fields
from render.backend import Backend

__all__ = [
    "ConfigError",
    "DataConfig",
    "DataSource",
    "LossConfig",
    "OptimConfig",
    "RenderConfig",
    "TrainConfig",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
]


class ConfigError(ValueError):
    """A configuration key is unknown or its value has the wrong type (the message names the key)."""


class DataSource(enum.Enum):
    """Where the training images come from."""

    BUILTIN = "builtin"
    """The library's procedural data set (:func:`get3d.data.procedural_dataset`), built on first use."""
    FOLDER = "folder"
    """A GET3D-layout folder: ``path`` = GET3D's ``--data``, ``camera_path`` = ``--camera_path``."""


@dataclass(frozen=True)
class DataConfig:
    """Training data.

    Attributes:
        source: :class:`DataSource` (``builtin`` or ``folder``).
        category: built-in category (``chair``, ``table``, ``car``).
        path: folder source: ``<root>/img/<synset>`` (GET3D's ``--data``).
        camera_path: folder source: ``<root>/camera`` (GET3D's ``--camera_path``).
        split: the shapes trained on: ``train`` (the presets; GET3D's ``--use_shapenet_split 1``),
            ``val`` or ``test`` (a split of the built-in set, or ``<split_dir>/<split>.txt`` of a
            folder), ``all`` (every shape, test shapes included: an explicit choice the run log
            states), or a split file path (folder source). Validation uses the ``val`` split and
            evaluation the ``test`` split of the same split folder.
        split_dir: folder source: GET3D's split folder holding ``train.txt``, ``val.txt`` and
            ``test.txt`` (one shape id per line; GET3D's ``3dgan_data_split/shapenet_<category>``).
            None: ``<root>/splits/<synset>`` beside ``path`` = ``<root>/img/<synset>``, where
            ``get3d prepare`` writes them.
        builtin_categories: categories the built-in set is built with (all three by default, so the
            presets share one cached set; ``category`` must be one of them).
        builtin_shapes: shapes per category of the built-in set.
        builtin_views: views per shape of the built-in set.
        builtin_resolution: image side of the built-in set's PNGs (resized to the model's size).
        cache_dir: cache root of the built-in set (None: ``$ISOGEN3D_CACHE`` or ``~/.cache/isogen3d``).
        workers: DataLoader worker processes (0 loads in the training process).
    """

    source: DataSource = DataSource.BUILTIN
    category: str = "chair"
    path: str | None = None
    camera_path: str | None = None
    split: str | None = "train"
    split_dir: str | None = None
    builtin_categories: tuple[str, ...] = ("chair", "table", "car")
    builtin_shapes: int = 96
    builtin_views: int = 24
    builtin_resolution: int = 128
    cache_dir: str | None = None
    workers: int = 0


@dataclass(frozen=True)
class LossConfig:
    """GET3D's losses (spec §7.1).

    Attributes:
        gamma: R1 weight of the RGB discriminator (car 40, motorbike 80, chair 400).
        gamma_mask: R1 weight of the silhouette discriminator (None: ``gamma``).
        d_reg_interval: lazy R1 every this many steps, its loss multiplied by the interval (16).
        g_reg_interval: GET3D's empty ``Greg`` phase interval (4): it sets the lazy-regularisation
            correction of G's Adam and, when ``greg_zero_steps``, an Adam step with zero gradients.
        greg_zero_steps: reproduce GET3D's zero-gradient Adam step of the ``Greg`` phase.
        sdf_reg_weight: weight of the SDF sign cross-entropy across tet edges (0.01).
        empty_reg_weight: weight of the empty-shape ``|sdf|`` term (1.0).
        flexicubes_surface_reg_weight: FlexiCubes models: weight of ``mean L_dev`` (GET3D's
            ``--lambda_flexicubes_surface_reg``, 0.5).
        flexicubes_weights_reg_weight: FlexiCubes models: weight of the mean square of the
            per-cube weights (``--lambda_flexicubes_weights_reg``, 0.1).
        style_mixing_prob: style mixing probability per stream (0.9).
        camera_distribution: training camera distribution (``render.camera.CameraDistribution``
            value, e.g. ``shapenet_chair``).
    """

    gamma: float = 40.0
    gamma_mask: float | None = None
    d_reg_interval: int = 16
    g_reg_interval: int = 4
    greg_zero_steps: bool = True
    sdf_reg_weight: float = 0.01
    empty_reg_weight: float = 1.0
    flexicubes_surface_reg_weight: float = 0.5
    flexicubes_weights_reg_weight: float = 0.1
    style_mixing_prob: float = 0.9
    camera_distribution: str = "shapenet_car"


@dataclass(frozen=True)
class OptimConfig:
    """Adam and EMA (spec §7.2); learning rates and betas are the nominal ones, corrected for
    lazy regularisation by ``I / (I + 1)`` at construction (:mod:`get3d.training.optim`).

    Attributes:
        g_lr, d_lr: nominal learning rates (0.002).
        beta1, beta2, eps: Adam (0, 0.99, 1e-8).
        ema_kimg: G_ema half-life in thousands of images (``batch * 10 / 32``; None = that).
        ema_rampup: ramp-up fraction: the half-life is at most ``ema_rampup * images seen`` (0.05;
            None disables the ramp-up).
        nan_to: gradients' NaN become 0 and +-Inf become +-``nan_to`` (1e5, as GET3D).
    """

    g_lr: float = 0.002
    d_lr: float = 0.002
    beta1: float = 0.0
    beta2: float = 0.99
    eps: float = 1e-8
    ema_kimg: float | None = None
    ema_rampup: float | None = 0.05
    nan_to: float = 1e5


@dataclass(frozen=True)
class RenderConfig:
    """The run's rasterizer: one context per process, made once at set-up and used for every render
    of the run (training phases, snapshots).

    Attributes:
        backend: ``auto`` (nvdiffrast on CUDA when its plugin loads, else the pure-PyTorch
            rasterizer), ``torch`` or ``nvdiffrast`` (:class:`render.Backend`).
        compile: run the torch rasterizer's per-pixel kernels through ``torch.compile``
            (:class:`render.TorchRasterContext`); ignored when nvdiffrast is chosen by ``auto``.
    """

    backend: Backend = Backend.AUTO
    compile: bool = False

    def __post_init__(self) -> None:
        if self.compile and self.backend is Backend.NVDIFFRAST:
            raise ConfigError("render.compile: applies to the torch rasterizer only, got backend nvdiffrast")


@dataclass(frozen=True)
class TrainConfig:
    """One training run.

    Attributes:
        generator, discriminator: network sizes (defaults: the official 1024-pixel models). The
            tet grid is ``generator.tet_grid``: a ``.npz`` grid file (GET3D's
            ``data/tets/90_compress.npz``, nvdiffrec or kaolin layouts) scaled to
            ``generator.dmtet_scale``; None builds the BCC grid of ``generator.grid_resolution``.
            The top-level key ``tet_grid`` (YAML, ``tet_grid=FILE``, older stored configs) is read
            as ``generator.tet_grid``; :attr:`tet_grid` reads it.
        data, loss, optim, render: see :class:`DataConfig`, :class:`LossConfig`,
            :class:`OptimConfig`, :class:`RenderConfig`.
        batch: global batch per step (32); independent of the number of processes.
        batch_gpu: samples per forward pass per process (4); the global batch must be a multiple
            of ``batch_gpu * processes`` (gradients are accumulated over the rounds).
        total_kimg: length of the run in thousands of real images shown to D (20000).
        max_minutes: stop (with a checkpoint) after this wall-clock time (None: no limit).
        seed: seed of every random draw (latents, cameras, data order, initial weights).
        device: ``auto`` (the accelerator when present, else CPU) or a torch device string.
        threads: CPU threads of torch during the run (None: torch's default). Small models on
            busy CPUs run far faster with 1 (intra-op threads then mostly wait on each other).
        deterministic: deterministic algorithms (bit-exact resume on CPU).
        tf32: allow TF32 matmuls/convolutions on GPUs.
        bf16: bf16 autocast of the forward passes on GPUs.
        log_every: steps between JSONL metric lines.
        snapshot_every: steps between snapshot grids (0: only at the end).
        checkpoint_every: steps between checkpoints (0: only at the end).
        keep_checkpoints: last checkpoints kept (the best by ``val_metric`` is kept too).
        val_every: steps between validation metric evaluations (0: never).
        val_samples: generated shapes for the validation metric (Chamfer MMD vs the val split).
        snapshot_grid: samples in a snapshot grid (fixed latents).
        progress: show a progress bar.
        fid_every_kimg: FID of G_ema on the val split every this many thousand images, at step 0
            and at the last step (:mod:`get3d.training.fid`); 0 turns it off (the default; the
            ShapeNet presets use GET3D's 200). When on, ``best.pt`` is chosen by FID instead of
            the Chamfer validation metric, and every FID step writes a checkpoint.
        fid_images: generated images per FID (GET3D's ``fid50k``: 50,000); the real images are
            every view of the val split (at most 50,000).
        fid_inception: local Inception-v3 weights for the FID (:func:`get3d.metrics.inception.load_inception`;
            None: ``$ISOGEN3D_INCEPTION`` or ``~/.cache/isogen3d/inception-2015-12-05.pkl``).
            Checked at start-up when FID is on; never downloaded.
    """

    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    batch: int = 32
    batch_gpu: int = 4
    total_kimg: float = 20000.0
    max_minutes: float | None = None
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    deterministic: bool = False
    tf32: bool = True
    bf16: bool = False
    log_every: int = 10
    snapshot_every: int = 500
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    val_every: int = 0
    val_samples: int = 16
    snapshot_grid: int = 8
    progress: bool = True
    # FID during training (get3d.training.fid)
    fid_every_kimg: float = 0.0
    fid_images: int = 50_000
    fid_inception: str | None = None

    def __post_init__(self) -> None:
        for name in ("batch", "batch_gpu", "keep_checkpoints", "snapshot_grid", "val_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}: expected a positive integer, got {value!r}")
        for name in ("log_every", "snapshot_every", "checkpoint_every", "val_every", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name}: expected an integer >= 0, got {value!r}")
        every = self.fid_every_kimg
        number = isinstance(every, int | float) and not isinstance(every, bool)
        if not number or not math.isfinite(every) or every < 0:
            raise ConfigError(f"fid_every_kimg: expected a number >= 0 (0: off), got {every!r}")
        if isinstance(self.fid_images, bool) or not isinstance(self.fid_images, int) or self.fid_images < 2:
            raise ConfigError(
                f"fid_images: expected an integer >= 2 (a covariance needs two), got {self.fid_images!r}"
            )
        if self.threads is not None and (isinstance(self.threads, bool) or self.threads < 1):
            raise ConfigError(f"threads: expected a positive integer or null, got {self.threads!r}")
        if self.batch % self.batch_gpu:
            raise ConfigError(f"batch: expected a multiple of batch_gpu ({self.batch_gpu}), got {self.batch}")
        if not self.total_kimg > 0:
            raise ConfigError(f"total_kimg: expected a positive number, got {self.total_kimg!r}")
        if self.generator.image_resolution != self.discriminator.image_resolution:
            raise ConfigError(
                "discriminator.image_resolution: expected the generator's image_resolution "
                f"({self.generator.image_resolution}), got {self.discriminator.image_resolution}"
            )
        if self.loss.d_reg_interval < 1 or self.loss.g_reg_interval < 1:
            raise ConfigError(
                f"loss.d_reg_interval, loss.g_reg_interval: expected positive integers, got "
                f"{self.loss.d_reg_interval}, {self.loss.g_reg_interval}"
            )

    @property
    def tet_grid(self) -> str | None:
        """The run's tet-grid file, ``generator.tet_grid`` (None: the BCC grid)."""
        return self.generator.tet_grid

    @property
    def total_steps(self) -> int:
        """Steps of the run: ``ceil(total_kimg * 1000 / batch)``."""
        return max(1, -(-round(self.total_kimg * 1000) // self.batch))


# ---------------------------------------------------------------------------------- (de)serialise


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _convert(key: str, value: Any, hint: Any) -> Any:
    """``value`` (from YAML or a parsed CLI string) checked and converted to the type ``hint``."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(key, value, arg)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{key}: expected {_name(hint)}, got {value!r}")
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list for {_name(hint)}, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(f"{key}[{i}]", v, args[0]) for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{key}: expected {len(args)} values, got {value!r}")
        return tuple(_convert(f"{key}[{i}]", v, a) for i, (v, a) in enumerate(zip(args, value, strict=True)))
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping of {hint.__name__} fields, got {value!r}")
        return config_from_dict(value, hint, prefix=f"{key}.")
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        if isinstance(value, hint):
            return value
        valid = [m.value for m in hint]
        if value not in valid:
            raise ConfigError(f"{key}: expected one of {valid}, got {value!r}")
        return hint(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected a bool (true/false), got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an int, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, str):  # PyYAML reads 1e-3 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                raise ConfigError(f"{key}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported field type {hint!r}")  # pragma: no cover


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


_TOP_LEVEL_GRID = "tet_grid"


def _move_top_level_grid(data: dict, prefix: str) -> dict:
    """``data`` with the top-level ``tet_grid`` (its place before it moved into the generator's
    configuration) read as ``generator.tet_grid``; a null one (older stored configs) is dropped."""
    data = dict(data)
    value = data.pop(_TOP_LEVEL_GRID)
    if value is None:
        return data
    generator = data.get("generator", {})
    if not isinstance(generator, dict):
        return data  # the generator section's own error is raised by the caller
    if generator.get("tet_grid") not in (None, value):
        raise ConfigError(
            f"{prefix}tet_grid: the same setting as {prefix}generator.tet_grid; give one of them, got "
            f"{value!r} and {generator['tet_grid']!r}"
        )
    data["generator"] = {**generator, "tet_grid": value}
    return data


def config_from_dict(data: dict, cls: type = TrainConfig, base: Any = None, prefix: str = "") -> Any:
    """Build ``cls`` from ``base`` (default: ``cls()``) with the fields in ``data`` replaced.

    Nested mappings override nested dataclasses field by field. Raises :class:`ConfigError`
    naming the (dotted) key of an unknown field or a badly typed value.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {type(data).__name__}")
    base = cls() if base is None else base
    try:
        data = rename_legacy_fields(cls, data, prefix)  # e.g. generator.tet_res -> deformation_divisor
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if cls is TrainConfig and _TOP_LEVEL_GRID in data:
        data = _move_top_level_grid(data, prefix)
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    changes = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if key not in names:
            raise ConfigError(f"{full}: unknown key (known: {', '.join(sorted(names))})")
        hint = hints[key]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            changes[key] = config_from_dict(value, hint, getattr(base, key), prefix=f"{full}.")
        else:
            changes[key] = _convert(full, value, hint)
    try:
        return dataclasses.replace(base, **changes)
    except ConfigError:
        raise
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: {exc}") from exc


def config_to_dict(config: Any) -> dict:
    """Plain nested dict (enums as values, tuples as lists) that :func:`config_from_dict` reads back."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, enum.Enum):
            return v.value
        if isinstance(v, tuple):
            return [plain(x) for x in v]
        return v

    return plain(config)


def _parse_scalar(text: str) -> Any:
    value = yaml.safe_load(text) if text.strip() else ""
    return value


def apply_overrides(config: TrainConfig, overrides: list[str]) -> TrainConfig:
    """Apply ``key=value`` strings (dotted keys, YAML-typed values: ``1e-3``, ``true``, ``null``,
    ``[1, 2]``). Raises :class:`ConfigError` naming the key when it is unknown or mistyped."""
    merged: dict = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"{item}: expected key=value")
        key, text = item.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"{item}: expected key=value with a non-empty key")
        node = merged
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{key}: conflicts with an earlier override of {part}")
            node = child
        node[parts[-1]] = _parse_scalar(text)
    return config_from_dict(merged, TrainConfig, config) if merged else config
