"""Typed configurations of the generator and the discriminator, with the official presets."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any, ClassVar

__all__ = ["DiscriminatorConfig", "GeneratorConfig", "IsoSurface", "rename_legacy_fields"]


class IsoSurface(str, Enum):
    """How the generator turns its SDF into a mesh (GET3D's ``--iso_surface``)."""

    DMTET = "dmtet"  # marching tets on a tet grid (the released checkpoints)
    FLEXICUBES = "flexicubes"  # FlexiCubes on a voxel grid, with a per-cube weight head


def _from_dict(cls: type, values: Mapping[str, Any]) -> Any:
    if not isinstance(values, Mapping):
        raise TypeError(f"values: expected a mapping of {cls.__name__} fields, got {type(values).__name__}")
    values = rename_legacy_fields(cls, values)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(map(str, set(values) - known))
    if unknown:
        raise ValueError(f"values: unknown {cls.__name__} fields {unknown} (known: {sorted(known)})")
    return cls(**values)


def rename_legacy_fields(cls: type, values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``values`` (a YAML section, a checkpoint's stored config) with the old field names of the
    dataclass ``cls`` (its ``RENAMED_FIELDS``, old -> new; none: unchanged) replaced by the new ones.

    Raises:
        ValueError: both the old and the new name are given (``prefix`` + name in the message).
    """
    renamed = getattr(cls, "RENAMED_FIELDS", {})
    out = dict(values)
    for old, new in renamed.items():
        if old not in out:
            continue
        if new in out:
            raise ValueError(
                f"{prefix}{old}: the old name of {prefix}{new}; give only one of them, got both "
                f"({out[old]!r} and {out[new]!r})"
            )
        out[new] = out.pop(old)
    return out


def _power_of_two(name: str, value: int, minimum: int) -> None:
    if not isinstance(value, int) or value < minimum or value & (value - 1):
        raise ValueError(f"{name}: expected a power of two >= {minimum}, got {value!r}")


def _positive_int(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")


@dataclass(frozen=True)
class GeneratorConfig:
    """Sizes of GET3D's generator. Defaults = the official unified car/chair/motorbike model.

    Attributes:
        one_3d_generator: True (default): the unified generator, one triplane backbone for
            geometry and texture (GET3D's ``--one_3d_generator 1``, the released checkpoints).
            False: the separate-generator model of the paper's main results
            (``--one_3d_generator 0``): two 3-D convolutional SDF / deformation networks plus a
            texture triplane generator conditioned on both latents
            (:class:`~get3d.networks.separate.SeparateSynthesis`).
        z_dim, w_dim: latent and intermediate latent sizes (512).
        mapping_layers, mapping_lr_multiplier, w_avg_beta: mapping networks (8, 0.01, 0.998).
        triplane_resolution: R of the triplanes (256); the backbone runs 4 -> R.
        triplane_channels: channels per plane (32); each triplane has 3x that.
        channel_base, channel_max: backbone channels per block ``min(base // res, max)``.
        conv_clamp: clamp of the backbone convolutions (256 as in the README's ``--fp32 0``
            runs; None as with ``--fp32 1``). The final ToRGB always clamps at 256.
        mlp_hidden, mlp_layers: the SDF/deformation/texture MLP width (32) and hidden layers (1).
        feat_channels: texture feature channels fed to the final ToRGB (16).
        iso_surface: :class:`IsoSurface` (``dmtet``, default; or ``flexicubes``, GET3D's
            ``--iso_surface flexicubes``): FlexiCubes adds the per-cube weight head
            ``mlp_synthesis_weight`` (:mod:`~get3d.networks.flexicubes`), extracts meshes from a
            voxel grid of ``grid_resolution`` cubes per side and doubles the deformation
            multiplier. Needs the unified generator (GET3D's separate model has no weight head).
        deformation_divisor: the deformation head's ``tanh`` output is divided by
            ``deformation_divisor * effective_deformation_multiplier``, which bounds every vertex
            offset by ``1 / (deformation_divisor * effective_deformation_multiplier)`` (90). GET3D
            calls it ``tet_res`` (its ``--tet_res`` also picks the grid file); here it is only this
            bound, the grid is separate (``grid_resolution`` or a grid given to the generator). The
            old name ``tet_res`` is still read from YAML files and stored configs (``RENAMED_FIELDS``).
        grid_resolution: DMTet: BCC cells per side of the default tet grid built when no grid is
            given (35 gives about as many vertices as GET3D's res-90 Quartet grid). FlexiCubes:
            cubes per side of the voxel grid (GET3D: ``tet_res``, 90; at least 2).
        tet_grid: a tet-grid file (``.npz``: GET3D's ``data/tets/90_compress.npz``, nvdiffrec or
            kaolin layouts) the generator extracts meshes on, scaled to ``dmtet_scale``; None
            (default) builds the BCC grid of ``grid_resolution``. Stored with the configuration
            in our checkpoints, so a loaded generator uses its training grid again. DMTet only.
        dmtet_scale: side of the object box centred on the origin (1.0; chair 0.8).
        deformation_multiplier: 1.0 (GET3D's ``--deformation_multiplier``; FlexiCubes doubles it,
            see :attr:`effective_deformation_multiplier`).
        image_resolution: rendered image side (1024).
        volume_resolution: side of the separate model's feature volumes (32); the 3-D
            networks run 4 -> ``volume_resolution``. Unused by the unified generator.
        volume_channel_base, volume_channel_max: their channels per block
            ``min(base // res, max)`` (2048, 256: 256, 256, 128, 64 at 4, 8, 16, 32).
        volume_mlp_hidden: width of their SDF / deformation MLPs (256).
    """

    z_dim: int = 512
    w_dim: int = 512
    mapping_layers: int = 8
    mapping_lr_multiplier: float = 0.01
    w_avg_beta: float = 0.998
    triplane_resolution: int = 256
    triplane_channels: int = 32
    channel_base: int = 32768
    channel_max: int = 512
    conv_clamp: float | None = 256.0
    mlp_hidden: int = 32
    mlp_layers: int = 1
    feat_channels: int = 16
    deformation_divisor: int = 90
    grid_resolution: int = 35
    tet_grid: str | None = None
    dmtet_scale: float = 1.0
    deformation_multiplier: float = 1.0
    image_resolution: int = 1024
    one_3d_generator: bool = True
    volume_resolution: int = 32
    volume_channel_base: int = 2048
    volume_channel_max: int = 256
    volume_mlp_hidden: int = 256
    iso_surface: IsoSurface = IsoSurface.DMTET

    RENAMED_FIELDS: ClassVar[Mapping[str, str]] = MappingProxyType({"tet_res": "deformation_divisor"})
    """Old field names still accepted by :meth:`from_dict` (and the training YAML), old -> new."""

    def __post_init__(self) -> None:
        for name in (
            "z_dim",
            "w_dim",
            "mapping_layers",
            "triplane_channels",
            "channel_base",
            "channel_max",
            "mlp_hidden",
            "feat_channels",
            "deformation_divisor",
            "grid_resolution",
            "volume_channel_base",
            "volume_channel_max",
            "volume_mlp_hidden",
        ):
            _positive_int(name, getattr(self, name))
        if not isinstance(self.one_3d_generator, bool):
            raise TypeError(f"one_3d_generator: expected a bool, got {self.one_3d_generator!r}")
        if not isinstance(self.iso_surface, IsoSurface):
            valid = [m.value for m in IsoSurface]
            if self.iso_surface not in valid:
                raise ValueError(f"iso_surface: expected one of {valid}, got {self.iso_surface!r}")
            object.__setattr__(self, "iso_surface", IsoSurface(self.iso_surface))
        if self.iso_surface is IsoSurface.FLEXICUBES:
            if not self.one_3d_generator:
                raise ValueError(
                    "iso_surface: flexicubes needs the unified generator (one_3d_generator true); "
                    "GET3D's separate model has no FlexiCubes weight head (its code passes no weights "
                    "and fails), got one_3d_generator false"
                )
            if isinstance(self.grid_resolution, int) and self.grid_resolution < 2:
                raise ValueError(
                    "grid_resolution: expected >= 2 cubes per side for FlexiCubes (the empty-shape "
                    f"check reads the interior vertices), got {self.grid_resolution!r}"
                )
        _power_of_two("volume_resolution", self.volume_resolution, 4)
        if self.volume_channel_base // self.volume_resolution < 1:
            raise ValueError(
                f"volume_channel_base: expected >= volume_resolution ({self.volume_resolution}), "
                f"got {self.volume_channel_base}"
            )
        if not isinstance(self.mlp_layers, int) or self.mlp_layers < 0:
            raise ValueError(f"mlp_layers: expected an integer >= 0, got {self.mlp_layers!r}")
        _power_of_two("triplane_resolution", self.triplane_resolution, 4)
        if self.channel_base // self.triplane_resolution < 1:
            raise ValueError(
                f"channel_base: expected >= triplane_resolution ({self.triplane_resolution}), "
                f"got {self.channel_base}"
            )
        _positive_int("image_resolution", self.image_resolution)
        for name in ("dmtet_scale", "deformation_multiplier", "mapping_lr_multiplier"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: expected a positive number, got {getattr(self, name)!r}")
        if self.conv_clamp is not None and not self.conv_clamp > 0:
            raise ValueError(f"conv_clamp: expected None or a positive number, got {self.conv_clamp!r}")
        if isinstance(self.tet_grid, os.PathLike):  # a Path is stored as its string
            object.__setattr__(self, "tet_grid", os.fspath(self.tet_grid))
        if self.tet_grid is not None and (not isinstance(self.tet_grid, str) or not self.tet_grid):
            raise ValueError(f"tet_grid: expected None or a grid file path, got {self.tet_grid!r}")
        if self.tet_grid is not None and self.flexicubes:
            raise ValueError(
                "tet_grid: a FlexiCubes generator extracts meshes from its voxel grid of grid_resolution "
                f"cubes per side; expected None, got {self.tet_grid!r}"
            )

    @property
    def flexicubes(self) -> bool:
        """Whether the generator extracts meshes with FlexiCubes."""
        return self.iso_surface is IsoSurface.FLEXICUBES

    @property
    def effective_deformation_multiplier(self) -> float:
        """``deformation_multiplier``, doubled for FlexiCubes as GET3D does."""
        return self.deformation_multiplier * (2.0 if self.flexicubes else 1.0)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> GeneratorConfig:
        """A configuration from a plain mapping of field values (a checkpoint's stored
        ``config['generator']``, a YAML section), accepting the old names of ``RENAMED_FIELDS``.

        Raises:
            TypeError: ``values`` is not a mapping.
            ValueError: unknown keys, both an old and its new name, or invalid values.
        """
        return _from_dict(cls, values)

    @classmethod
    def official(
        cls,
        category: str = "car",
        one_3d_generator: bool = True,
        iso_surface: IsoSurface | str = IsoSurface.DMTET,
    ) -> GeneratorConfig:
        """The official configuration; ``category`` sets ``dmtet_scale`` (car, motorbike, table:
        1.0; chair: 0.8).

        ``one_3d_generator=True``: the released (unified) checkpoints, trained with ``--fp32 0``
        (``conv_clamp`` 256). False: the separate-generator model as GET3D's README trains it
        (no ``--fp32 0``, so ``conv_clamp`` None). ``iso_surface="flexicubes"`` (unified only):
        GET3D's ``--iso_surface flexicubes`` run, on a voxel grid of 90 cubes per side
        (``tet_res``).
        """
        scales = {"car": 1.0, "motorbike": 1.0, "table": 1.0, "chair": 0.8}
        if category not in scales:
            raise ValueError(f"category: expected one of {sorted(scales)}, got {category!r}")
        if not isinstance(one_3d_generator, bool):
            raise TypeError(f"one_3d_generator: expected a bool, got {one_3d_generator!r}")
        extra: dict[str, Any] = {"iso_surface": iso_surface}  # checked by the constructor
        if iso_surface == IsoSurface.FLEXICUBES:  # the enum or its string value
            extra["grid_resolution"] = 90
        if one_3d_generator:
            return cls(dmtet_scale=scales[category], **extra)
        return cls(dmtet_scale=scales[category], one_3d_generator=False, conv_clamp=None, **extra)

    @classmethod
    def tiny(
        cls, one_3d_generator: bool = True, iso_surface: IsoSurface | str = IsoSurface.DMTET
    ) -> GeneratorConfig:
        """A few-thousand-parameter configuration that runs in milliseconds on a CPU (tests)."""
        return cls(
            one_3d_generator=one_3d_generator,
            iso_surface=iso_surface,
            z_dim=16,
            w_dim=16,
            mapping_layers=2,
            triplane_resolution=16,
            triplane_channels=4,
            channel_base=128,
            channel_max=16,
            mlp_hidden=8,
            feat_channels=4,
            deformation_divisor=8,
            grid_resolution=8,
            image_resolution=32,
            volume_resolution=8,
            volume_channel_base=64,
            volume_channel_max=8,
            volume_mlp_hidden=8,
        )


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Sizes of GET3D's discriminator pair. Defaults = the official 1024-pixel model.

    Attributes:
        image_resolution: input side (1024); blocks run ``image_resolution -> 8`` then a 4x4 epilogue.
        channel_base, channel_max: channels per block ``min(base // res, max)``.
        conv_clamp: clamp of the convolutions (256 with ``--fp32 0``, None with ``--fp32 1``).
        mbstd_group_size, mbstd_num_channels: minibatch-std layer (4, 1).
        cmap_dim: size of the camera embedding (None = channels at 4x4, i.e. 512).
        mapping_layers: layers of each camera-conditioning mapping network (8).
        camera_frequencies: sin/cos frequencies of the angle encoding (3 -> 2 + 2*2*3 = 14 dims).
    """

    image_resolution: int = 1024
    channel_base: int = 32768
    channel_max: int = 512
    conv_clamp: float | None = 256.0
    mbstd_group_size: int = 4
    mbstd_num_channels: int = 1
    cmap_dim: int | None = None
    mapping_layers: int = 8
    camera_frequencies: int = 3

    def __post_init__(self) -> None:
        _power_of_two("image_resolution", self.image_resolution, 8)
        for name in ("channel_base", "channel_max", "mbstd_group_size", "mapping_layers"):
            _positive_int(name, getattr(self, name))
        if self.channel_base // self.image_resolution < 1:
            raise ValueError(
                f"channel_base: expected >= image_resolution ({self.image_resolution}), "
                f"got {self.channel_base}"
            )
        if not isinstance(self.mbstd_num_channels, int) or self.mbstd_num_channels < 0:
            raise ValueError(f"mbstd_num_channels: expected an integer >= 0, got {self.mbstd_num_channels!r}")
        if self.cmap_dim is not None:
            _positive_int("cmap_dim", self.cmap_dim)
        if not isinstance(self.camera_frequencies, int) or self.camera_frequencies < 0:
            raise ValueError(f"camera_frequencies: expected an integer >= 0, got {self.camera_frequencies!r}")
        if self.conv_clamp is not None and not self.conv_clamp > 0:
            raise ValueError(f"conv_clamp: expected None or a positive number, got {self.conv_clamp!r}")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> DiscriminatorConfig:
        """A configuration from a plain mapping of field values (a checkpoint's stored
        ``config['discriminator']``, a YAML section).

        Raises:
            TypeError: ``values`` is not a mapping.
            ValueError: unknown keys or invalid values.
        """
        return _from_dict(cls, values)

    @property
    def camera_dim(self) -> int:
        """Size of the encoded camera condition: 2 raw angles + 2 * 2 * frequencies."""
        return 2 + 4 * self.camera_frequencies

    @classmethod
    def official(cls) -> DiscriminatorConfig:
        return cls()

    @classmethod
    def tiny(cls) -> DiscriminatorConfig:
        return cls(image_resolution=32, channel_base=256, channel_max=16, mapping_layers=2, cmap_dim=8)
