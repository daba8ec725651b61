"""Load official GET3D checkpoints (``network-snapshot-*.pt`` / the released ``shapenet_*.pt``).

Those files are plain ``{'G': state_dict, 'G_ema': state_dict, 'D': state_dict}`` dicts (no
pickled classes), so they load with ``torch.load(weights_only=True)`` and our networks take the
state_dicts with ``strict=True``. The tet grid and ``dmtet_scale`` are not stored: pass the
category's configuration (chair: ``GeneratorConfig.official('chair')``, scale 0.8) and, for
identical meshes, GET3D's own grid (``dmtet.TetGrid.load('data/tets/90_compress.npz', scale)``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

import torch

import dmtet

from .config import DiscriminatorConfig, GeneratorConfig
from .discriminator import Discriminator
from .generator import Generator

__all__ = ["OfficialNetworks", "load_official_checkpoint"]


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
_DISC_BLOCK = re.compile(r"^b(\d+)\.conv0\.")


def _max_resolution(state: Mapping[str, torch.Tensor], pattern: re.Pattern[str]) -> int | None:
    found = [int(m.group(1)) for k in state if (m := pattern.match(k))]
    return max(found) if found else None


def _load_strict(module: torch.nn.Module, state: Mapping[str, torch.Tensor], role: str, path: str) -> None:
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(
            f"path: the '{role}' state_dict in {path} does not match the configuration "
            f"(pass the right config): {err}"
        ) from None


def load_official_checkpoint(
    path: str | os.PathLike,
    generator_config: GeneratorConfig | None = None,
    discriminator_config: DiscriminatorConfig | None = None,
    grid: dmtet.TetGrid | None = None,
    map_location: str | torch.device = "cpu",
) -> OfficialNetworks:
    """Restore G, G_ema and D from an official checkpoint file.

    Args:
        path: the ``.pt`` file.
        generator_config: sizes and ``dmtet_scale`` (default: the official configuration with the
            triplane resolution read from the file).
        discriminator_config: default: official, image resolution read from the file.
        grid: tet grid for mesh extraction (default: built by the generator on first use).
        map_location: where the tensors are loaded.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: not a readable torch file (e.g. truncated), not a dict of state_dicts with
            ``G``/``G_ema``/``D`` keys, or names/shapes that do not match the configuration.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no checkpoint file at {path!r}")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated zip, pickle with classes, random bytes, ...
        raise ValueError(
            f"path: {path!r} is not a readable weights-only torch checkpoint (truncated or wrong "
            f"format?): {type(err).__name__}: {err}"
        ) from None
    if not isinstance(data, Mapping) or not any(k in data for k in ("G", "G_ema", "D")):
        keys = sorted(map(str, data.keys())) if isinstance(data, Mapping) else type(data).__name__
        raise ValueError(f"path: expected a dict with 'G', 'G_ema' and 'D' state_dicts, got {keys}")
    for role in ("G", "G_ema", "D"):
        if role in data and not isinstance(data[role], Mapping):
            raise ValueError(f"path: '{role}' must be a state_dict, got {type(data[role]).__name__}")

    gens: dict[str, Generator | None] = {"G": None, "G_ema": None}
    for role in gens:
        if role not in data:
            continue
        cfg = generator_config
        if cfg is None:
            res = _max_resolution(data[role], _TRIPLANE_BLOCK)
            cfg = GeneratorConfig() if res is None else replace(GeneratorConfig(), triplane_resolution=res)
        gen = Generator(cfg, grid=grid)
        _load_strict(gen, data[role], role, path)
        gens[role] = gen.to(map_location)
    disc = None
    if "D" in data:
        dcfg = discriminator_config
        if dcfg is None:
            res = _max_resolution(data["D"], _DISC_BLOCK)
            dcfg = DiscriminatorConfig() if res is None else DiscriminatorConfig(image_resolution=res)
        disc = Discriminator(dcfg)
        _load_strict(disc, data["D"], "D", path)
        disc = disc.to(map_location)
    return OfficialNetworks(G=gens["G"], G_ema=gens["G_ema"], D=disc)
