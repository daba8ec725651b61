"""YAML presets of training runs: where the named presets live, their ``base`` inheritance, and
:func:`load_config` (the defaults, then a preset, then ``key=value`` overrides)."""

from __future__ import annotations

from pathlib import Path

import yaml

from .config import ConfigError, TrainConfig, apply_overrides, config_from_dict

__all__ = ["PRESET_BASE_KEY", "load_config", "preset_dir", "preset_path", "read_preset"]


PRESET_BASE_KEY = "base"
"""Top-level preset key naming the preset it inherits from (a path relative to its folder)."""


def preset_dir() -> Path:
    """The folder of the named presets: ``configs/`` of a source checkout, else the copy installed
    with the package (``get3d/training/presets``)."""
    installed = Path(__file__).resolve().parent / "presets"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "configs"


def preset_path(name_or_path: str | Path) -> Path:
    """An existing preset file: ``name_or_path`` itself when it is a file, else the named preset
    (``default``, ``shapenet_car``, ...) in :func:`preset_dir`. Raises FileNotFoundError."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    named = preset_dir() / f"{name_or_path}.yaml"
    if isinstance(name_or_path, str) and path.name == name_or_path and not path.suffix and named.is_file():
        return named
    names = sorted(p.stem for p in preset_dir().glob("*.yaml"))
    raise FileNotFoundError(
        f"config: expected a YAML file or a preset name {names}, got {str(name_or_path)!r}"
    )


def _merge(base: dict, over: dict) -> dict:
    """``base`` with ``over``'s keys replaced; mappings present in both are merged key by key."""
    out = dict(base)
    for key, value in over.items():
        both = isinstance(out.get(key), dict) and isinstance(value, dict)
        out[key] = _merge(out[key], value) if both else value
    return out


def read_preset(path: str | Path) -> dict:
    """The mapping of the YAML preset at ``path`` with its ``base`` chain merged in (the inheriting
    file's values win; nested mappings merge key by key). A ``base`` that is missing, not a string
    or part of a cycle raises :class:`ConfigError` (FileNotFoundError for a missing ``path``)."""
    chain: list[Path] = []
    merged: dict = {}
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config: no such file {path}")
    while True:
        resolved = path.resolve()
        if resolved in chain:
            cycle = " -> ".join(str(p) for p in [*chain, resolved])
            raise ConfigError(f"{PRESET_BASE_KEY}: expected a chain of presets without cycles, got {cycle}")
        chain.append(resolved)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"config: expected a mapping in {path}, got {type(data).__name__}")
        base = data.pop(PRESET_BASE_KEY, None)
        merged = _merge(data, merged)
        if base is None:
            return merged
        if not isinstance(base, str) or not base:
            raise ConfigError(
                f"{PRESET_BASE_KEY}: expected a preset file relative to {path.parent} in {path}, got {base!r}"
            )
        parent = path.parent / base
        if not parent.is_file():
            raise ConfigError(f"{PRESET_BASE_KEY}: no such file {parent} (named in {path})")
        path = parent


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """The defaults, overridden by the YAML preset at ``path`` (if any; with its ``base`` presets,
    see :func:`read_preset`), then by ``overrides``."""
    config = TrainConfig()
    if path is not None:
        data = read_preset(path)
        config = config_from_dict(data, TrainConfig, config)
    return apply_overrides(config, list(overrides or []))
