"""Checkpoint files to networks: official GET3D files and the ones ``get3d.training`` writes.

Both layouts are plain dicts of tensors and numbers (no pickled classes), read with
``torch.load(weights_only=True)``; the state_dicts load with ``strict=True``:

* **official** (``network-snapshot-*.pt``, the released ``shapenet_*.pt``):
  ``{'G': state_dict, 'G_ema': state_dict, 'D': state_dict}``. No sizes are stored: the default is
  the official configuration of the model the keys hold (the unified generator's
  ``synthesis.generator.*``, with ``synthesis.generator.mlp_synthesis_weight.*`` for the FlexiCubes
  model: ``GeneratorConfig.official(iso_surface='flexicubes')``; or the separate model's
  ``synthesis.geometry_synthesis_*``: ``GeneratorConfig.official(one_3d_generator=False)``) with the
  triplane / volume
  (discriminator: image) resolutions read from the keys; pass the category's configuration for
  its box scale (chair: ``GeneratorConfig.official('chair')``, ``dmtet_scale`` 0.8).
* **ours** (``get3d.training``): the same three keys, the optimisers, counters, and ``config``, the
  resolved training configuration as a plain dict; its ``generator`` / ``discriminator`` sections
  give the sizes (old field names such as ``tet_res`` are accepted).

The tet grid: ours store the grid file a run trained on (``config['generator']['tet_grid']``,
None for the BCC default) and load it again; official files store none. Pass one to override
(GET3D's own is ``data/tets/90_compress.npz`` of its repository: a :class:`dmtet.TetGrid`, the
file, or a BCC resolution); the default is the configuration's grid, ``TetGrid.bcc(grid_resolution)``
without a file. An official checkpoint on a lattice grid (the BCC default) warns once
(:class:`OfficialGridWarning`): its deformation field was trained on GET3D's Quartet grid.
:func:`load_generator` is the one loader of a generator; :func:`load_official_checkpoint` restores
all three networks through the same code.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch

import dmtet

from .config import DiscriminatorConfig, GeneratorConfig, IsoSurface
from .discriminator import Discriminator
from .generator import Generator
from .grids import GET3D_GRID, configured_grid, grid_info

__all__ = [
    "GENERATOR_ROLES",
    "OfficialGridWarning",
    "OfficialNetworks",
    "load_generator",
    "load_official_checkpoint",
]


class OfficialGridWarning(UserWarning):
    """An official GET3D checkpoint runs on a lattice tet grid instead of GET3D's Quartet grid."""


GENERATOR_ROLES = ("G_ema", "G")
"""The generators a checkpoint may hold: the exponential moving average (sample from this one) and
the training generator."""


@dataclass(frozen=True)
class OfficialNetworks:
    """Networks restored from a checkpoint (a role missing from the file is None).

    Attributes:
        G: the training generator.
        G_ema: the exponential moving average of G (use this one for sampling).
        D: the discriminator pair.
    """

    G: Generator | None
    G_ema: Generator | None
    D: Discriminator | None


_TRIPLANE_BLOCK = re.compile(r"^synthesis\.generator\.tri_plane_synthesis\.b(\d+)\.")
_TEXTURE_TRIPLANE_BLOCK = re.compile(r"^synthesis\.geometry_synthesis_tex\.tri_plane_synthesis\.b(\d+)\.")
_VOLUME_BLOCK = re.compile(r"^synthesis\.geometry_synthesis_sdf\.b(\d+)\.")
_UNIFIED_PREFIX = "synthesis.generator."
_SEPARATE_PREFIX = "synthesis.geometry_synthesis_"
_WEIGHT_PREFIX = "synthesis.generator.mlp_synthesis_weight."
_DISC_BLOCK = re.compile(r"^b(\d+)\.conv0\.")


def _max_resolution(state: Mapping[str, torch.Tensor], pattern: re.Pattern[str]) -> int | None:
    found = [int(m.group(1)) for k in state if (m := pattern.match(k))]
    return max(found) if found else None


def _one_3d_generator(state: Mapping[str, torch.Tensor]) -> bool | None:
    """Which model a generator state_dict holds: True = unified (``synthesis.generator.*``),
    False = separate (``synthesis.geometry_synthesis_*``), None = neither (left to strict loading)."""
    unified = any(k.startswith(_UNIFIED_PREFIX) for k in state)
    separate = any(k.startswith(_SEPARATE_PREFIX) for k in state)
    return None if unified == separate else unified


def _iso_surface(state: Mapping[str, torch.Tensor]) -> IsoSurface:
    """FlexiCubes when the state_dict holds the weight head ``mlp_synthesis_weight``, else DMTet."""
    return IsoSurface.FLEXICUBES if any(k.startswith(_WEIGHT_PREFIX) for k in state) else IsoSurface.DMTET


def _check_model_kind(
    config: GeneratorConfig, state: Mapping[str, torch.Tensor], role: str, path: str
) -> None:
    """A clear error when the configuration and the state_dict are different generator models."""
    kind = _one_3d_generator(state)
    if kind is None or kind == config.one_3d_generator:
        iso = _iso_surface(state)
        if kind is not None and iso is not config.iso_surface:
            held = (
                f"a FlexiCubes generator ({_WEIGHT_PREFIX}* keys, GET3D's --iso_surface flexicubes)"
                if iso is IsoSurface.FLEXICUBES
                else f"a DMTet generator (no {_WEIGHT_PREFIX}* keys)"
            )
            raise ValueError(
                f"config: iso_surface={config.iso_surface.value}, but the '{role}' state_dict of "
                f"{path!r} holds {held}; pass a configuration with iso_surface={iso.value!r} (e.g. "
                f"GeneratorConfig.official(category, iso_surface={iso.value!r}))"
            )
        return
    held = (
        f"the unified generator ({_UNIFIED_PREFIX}* keys, GET3D's --one_3d_generator 1)"
        if kind
        else f"the separate-generator model ({_SEPARATE_PREFIX}* keys, GET3D's --one_3d_generator 0)"
    )
    raise ValueError(
        f"config: one_3d_generator={config.one_3d_generator}, but the '{role}' state_dict of "
        f"{path!r} holds {held}; pass a configuration with one_3d_generator={kind} (e.g. "
        f"GeneratorConfig.official(category, one_3d_generator={kind}))"
    )


def _read(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> tuple[str, Mapping[str, Any]]:
    """The checkpoint at ``path`` as a dict with at least one of ``G``, ``G_ema``, ``D``."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path: expected a checkpoint file path (str or PathLike), got {type(path).__name__}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no checkpoint file at {path!r}")
    try:
        # a config saved as dataclasses.asdict(G.config) holds an IsoSurface member: allow that enum
        with torch.serialization.safe_globals([IsoSurface]):
            data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated zip, pickle with classes, random bytes, ...
        raise ValueError(
            f"path: {path!r} is not a readable weights-only torch checkpoint (truncated or wrong "
            f"format?): {type(err).__name__}: {err}"
        ) from None
    if not isinstance(data, Mapping) or not any(k in data for k in ("G", "G_ema", "D")):
        keys = sorted(map(str, data.keys())) if isinstance(data, Mapping) else type(data).__name__
        raise ValueError(
            f"path: expected a dict with 'G', 'G_ema' and 'D' state_dicts (an official GET3D "
            f"checkpoint or one of get3d.training's) in {path!r}, got {keys}"
        )
    for role in ("G", "G_ema", "D"):
        if role in data and not isinstance(data[role], Mapping):
            raise ValueError(f"path: '{role}' must be a state_dict, got {type(data[role]).__name__}")
    return path, data


def _stored_config(data: Mapping[str, Any], section: str, cls: type, path: str) -> Any:
    """The ``config[section]`` stored in one of our checkpoints as ``cls``; None in official files."""
    if "config" not in data:
        return None
    stored = data["config"]
    if not isinstance(stored, Mapping) or not isinstance(stored.get(section), Mapping):
        raise ValueError(
            f"path: the 'config' stored in {path!r} has no '{section}' mapping (got "
            f"{type(stored).__name__}); pass the configuration explicitly"
        )
    try:
        return cls.from_dict(stored[section])
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"path: the {section} config stored in {path!r} is invalid ({err}); pass the configuration "
            "explicitly"
        ) from None


def _generator_config(
    data: Mapping[str, Any], state: Mapping[str, torch.Tensor], path: str, config: GeneratorConfig | None
) -> GeneratorConfig:
    """``config`` if given, else the stored one, else official sizes with the file's triplane side."""
    if config is not None:
        if not isinstance(config, GeneratorConfig):
            raise TypeError(f"config: expected a GeneratorConfig or None, got {type(config).__name__}")
        return config
    stored = _stored_config(data, "generator", GeneratorConfig, path)
    if stored is not None:
        return stored
    if _one_3d_generator(state) is False:
        cfg = GeneratorConfig.official(one_3d_generator=False)
        if (res := _max_resolution(state, _TEXTURE_TRIPLANE_BLOCK)) is not None:
            cfg = replace(cfg, triplane_resolution=res)
        if (res := _max_resolution(state, _VOLUME_BLOCK)) is not None:
            cfg = replace(cfg, volume_resolution=res)
        return cfg
    cfg = GeneratorConfig.official(iso_surface=_iso_surface(state))
    res = _max_resolution(state, _TRIPLANE_BLOCK)
    return cfg if res is None else replace(cfg, triplane_resolution=res)


def _load_strict(module: torch.nn.Module, state: Mapping[str, torch.Tensor], role: str, path: str) -> None:
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(
            f"path: the '{role}' state_dict of the checkpoint {path!r} does not match the "
            f"configuration (pass the right config): {err}"
        ) from None


def _generator(
    state: Mapping[str, torch.Tensor],
    role: str,
    path: str,
    config: GeneratorConfig,
    grid: dmtet.TetGrid | None,
) -> Generator:
    _check_model_kind(config, state, role, path)
    gen = Generator(config, grid=grid)
    _load_strict(gen, state, role, path)
    return gen


def _grid_for(
    config: GeneratorConfig, grid: dmtet.TetGrid | str | os.PathLike | None, grid_resolution: int | None
) -> tuple[GeneratorConfig, dmtet.TetGrid | None]:
    """The configuration and grid for the ``grid`` / ``grid_resolution`` arguments: a grid file or a
    resolution replaces the configuration's ``tet_grid`` / ``grid_resolution`` (so the generator's
    config names the grid it uses); a :class:`dmtet.TetGrid` is returned as given; None: the
    configuration's own grid (built by the generator). FlexiCubes models take no ``grid``:
    ``grid_resolution`` sets the cubes per side of their voxel grid."""
    if grid is not None and grid_resolution is not None:
        raise ValueError("grid, grid_resolution: give at most one of them")
    if config.flexicubes and grid is not None:
        raise ValueError(
            "grid: a FlexiCubes generator extracts meshes from a voxel grid, not a tet grid; pass "
            f"grid_resolution (cubes per side) instead, got {type(grid).__name__}"
        )
    if grid_resolution is not None:
        if isinstance(grid_resolution, bool) or not isinstance(grid_resolution, int) or grid_resolution < 1:
            raise ValueError(f"grid_resolution: expected a positive int, got {grid_resolution!r}")
        return replace(config, grid_resolution=grid_resolution, tet_grid=None), None
    if isinstance(grid, str | os.PathLike):
        return replace(config, tet_grid=os.fspath(grid)), None
    if grid is not None and not isinstance(grid, dmtet.TetGrid):
        raise TypeError(f"grid: expected a dmtet.TetGrid, a grid file or None, got {type(grid).__name__}")
    return config, grid


def _warn_official_grid(path: str, grid: dmtet.TetGrid, grid_path: str | None, caller: str) -> None:
    """One line, once per load, when an official checkpoint runs on a lattice grid."""
    info = grid_info(grid, grid_path)
    if info.is_lattice:
        warnings.warn(
            f"{caller}: the official GET3D checkpoint {os.path.basename(path)!r} runs on a {info}; its "
            f"deformation field was trained on GET3D's Quartet grid {GET3D_GRID} (98,653 vertices) from "
            "GET3D's repository: pass that file (grid=, --tet-grid) to reproduce its shapes and numbers",
            OfficialGridWarning,
            stacklevel=3,
        )


def load_generator(
    path: str | os.PathLike,
    *,
    config: GeneratorConfig | None = None,
    grid: dmtet.TetGrid | str | os.PathLike | None = None,
    grid_resolution: int | None = None,
    device: torch.device | str = "cpu",
    which: str = "G_ema",
) -> Generator:
    """The generator stored in an official GET3D checkpoint or in one of ``get3d.training``'s.

    Returns the :class:`Generator` itself (not a record): its sizes are ``G.config`` and its grid
    ``G.tet_grid``; what else a training checkpoint holds (step, optimisers, the rest of the
    config) is ``get3d.training.checkpoint.load_checkpoint``'s business.

    Args:
        path: the ``.pt`` file (read with ``torch.load(weights_only=True)``).
        config: generator sizes, overriding any stored ones. Default: the configuration stored in
            our checkpoints, else (official files) the official one of the model the keys hold
            (unified or separate) with the triplane / volume resolutions read from the file (pass
            ``GeneratorConfig.official('chair', one_3d_generator=...)`` for the chair model's box
            scale 0.8).
        grid: the tet grid of mesh extraction: a :class:`dmtet.TetGrid` in the box of the
            configuration, or a grid file (GET3D's ``data/tets/90_compress.npz``, nvdiffrec,
            kaolin) scaled to ``dmtet_scale`` (it becomes the returned ``G.config.tet_grid``).
            Default: the configuration's grid: its ``tet_grid`` file (ours store the training
            run's), else ``TetGrid.bcc(config.grid_resolution)``. An official checkpoint on a
            lattice grid warns once (:class:`OfficialGridWarning`).
        grid_resolution: instead of ``grid``, a BCC grid with this many cells per side (mesh
            extraction at any resolution; the deformation bound stays the trained one,
            ``config.deformation_divisor``). FlexiCubes models take no ``grid``: this sets the
            cubes per side of their voxel grid (``config.grid_resolution``).
        device: where the generator runs.
        which: ``"G_ema"`` (the moving average, for sampling and evaluation) or ``"G"``.

    Returns:
        the generator on ``device``, in eval mode, with ``requires_grad`` off (call
        ``.train().requires_grad_(True)`` to fine-tune it).

    Raises:
        FileNotFoundError: no file at ``path``, or no grid file at ``grid`` / the stored ``tet_grid``.
        TypeError: ``path``, ``config`` or ``grid`` of the wrong type.
        ValueError: ``path`` is not a readable weights-only checkpoint, holds no ``which``
            generator, its stored config is invalid, its weights are the other generator model than
            ``config.one_3d_generator`` or ``config.iso_surface`` says (e.g. FlexiCubes weights with a
            DMTet configuration), or they do not match the configuration; a bad ``which``, ``grid``
            (any tet grid for a FlexiCubes model) or ``grid_resolution``.
    """
    if which not in GENERATOR_ROLES:
        raise ValueError(f"which: expected one of {list(GENERATOR_ROLES)}, got {which!r}")
    path, data = _read(path)
    if which not in data:
        roles = [r for r in ("G", "G_ema", "D") if r in data]
        raise ValueError(f"which: the checkpoint {path!r} holds no '{which}' (it holds {roles})")
    cfg, grid = _grid_for(_generator_config(data, data[which], path, config), grid, grid_resolution)
    gen = _generator(data[which], which, path, cfg, grid)
    if "config" not in data and not cfg.flexicubes:
        _warn_official_grid(path, gen.tet_grid, cfg.tet_grid, "load_generator")
    return gen.to(device).eval().requires_grad_(False)


def load_official_checkpoint(
    path: str | os.PathLike,
    generator_config: GeneratorConfig | None = None,
    discriminator_config: DiscriminatorConfig | None = None,
    grid: dmtet.TetGrid | str | os.PathLike | None = None,
    map_location: str | torch.device = "cpu",
) -> OfficialNetworks:
    """Restore G, G_ema and D from a checkpoint file (official layout, or ours).

    The generators are built as :func:`load_generator` builds them (returned in training mode,
    with gradients, as they were saved).

    Args:
        path: the ``.pt`` file.
        generator_config: sizes and ``dmtet_scale`` (default: the stored configuration, else the
            official one with the triplane resolution read from the file).
        discriminator_config: default: the stored one, else official with the image resolution
            read from the file.
        grid: tet grid for mesh extraction, shared by G and G_ema: a :class:`dmtet.TetGrid` or a
            grid file, as for :func:`load_generator` (default: the configuration's grid, its
            ``tet_grid`` file or else the BCC grid of its ``grid_resolution``). An official
            checkpoint on a lattice grid warns once (:class:`OfficialGridWarning`). FlexiCubes
            models take none.
        map_location: where the tensors are loaded.

    Raises:
        FileNotFoundError: no file at ``path`` or at the grid file.
        ValueError: not a readable torch file (e.g. truncated), not a dict of state_dicts with
            ``G``/``G_ema``/``D`` keys, or names/shapes that do not match the configuration.
    """
    path, data = _read(path, map_location)
    gens: dict[str, Generator | None] = {"G": None, "G_ema": None}
    shared: dmtet.TetGrid | None = None  # one grid for both generators, read once
    grid_path = None
    for role in gens:
        if role in data:
            cfg, role_grid = _grid_for(
                _generator_config(data, data[role], path, generator_config), grid, None
            )
            if cfg.flexicubes:  # its voxel grid follows the configuration
                gens[role] = _generator(data[role], role, path, cfg, None).to(map_location)
                continue
            if role_grid is None:
                role_grid = shared if shared is not None else configured_grid(cfg)
            shared, grid_path = role_grid, cfg.tet_grid
            gens[role] = _generator(data[role], role, path, cfg, role_grid).to(map_location)
    if "config" not in data and shared is not None:
        _warn_official_grid(path, shared, grid_path, "load_official_checkpoint")
    disc = None
    if "D" in data:
        dcfg = discriminator_config
        if dcfg is None:
            dcfg = _stored_config(data, "discriminator", DiscriminatorConfig, path)
        if dcfg is None:
            res = _max_resolution(data["D"], _DISC_BLOCK)
            dcfg = DiscriminatorConfig() if res is None else DiscriminatorConfig(image_resolution=res)
        disc = Discriminator(dcfg)
        _load_strict(disc, data["D"], "D", path)
        disc = disc.to(map_location)
    return OfficialNetworks(G=gens["G"], G_ema=gens["G_ema"], D=disc)
