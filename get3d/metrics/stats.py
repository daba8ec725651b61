"""A disk cache of real-image feature statistics, keyed by data set, protocol and feature network.

Real statistics are expensive (every view of every shape through Inception) and never change for
a given data set, protocol and network, so they are computed once and stored as
``<cache_dir>/<name>-<md5 of the key>.npz``. The key is a JSON-able dict that names everything the
numbers depend on (see :func:`dataset_fingerprint` and ``evaluate``); any change gives a new file.
Files are written atomically (a temporary file in the same folder, then ``os.replace``), so an
interrupted run never leaves a truncated entry, and concurrent writers of one key are harmless.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from get3d.atomic import atomic_files

from .frechet import FeatureStats

__all__ = [
    "cache_path",
    "cached_stats",
    "dataset_fingerprint",
    "default_cache_dir",
    "load_stats",
    "save_stats",
]


def default_cache_dir() -> Path:
    """``<library cache>/gan-metrics``; the library cache is :func:`get3d.data.builtin.default_cache_dir`
    (``$ISOGEN3D_CACHE``, else ``$XDG_CACHE_HOME/isogen3d``, else ``~/.cache/isogen3d``)."""
    from get3d.data.builtin import default_cache_dir as library_cache

    return Path(library_cache()) / "gan-metrics"


def _canonical(key: dict) -> str:
    return json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)


def cache_path(cache_dir: str | os.PathLike, name: str, key: dict) -> Path:
    """``<cache_dir>/<name>-<md5(canonical JSON of key)>.npz``."""
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"name: expected a plain file-name stem, got {name!r}")
    digest = hashlib.md5(_canonical(key).encode("utf-8")).hexdigest()
    return Path(cache_dir) / f"{name}-{digest}.npz"


def dataset_fingerprint(files: Sequence[str | os.PathLike]) -> str:
    """SHA-256 over the sorted ``(path, size, mtime_ns)`` of ``files``: changes when any file does."""
    digest = hashlib.sha256()
    for f in sorted(str(Path(p).resolve()) for p in files):
        st = os.stat(f)
        digest.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def save_stats(path: str | os.PathLike, stats: FeatureStats, key: dict) -> Path:
    """Write ``stats`` (and the key, for inspection) to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "mean": stats.mean,
        "cov": stats.cov,
        "count": np.asarray(stats.count, dtype=np.int64),
        "key": np.asarray(_canonical(key)),
    }
    if stats.features is not None:
        arrays["features"] = stats.features
    with atomic_files([path]) as (tmp,), open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return path


def load_stats(path: str | os.PathLike, key: dict | None = None) -> FeatureStats:
    """Read a cache entry; with ``key``, check that it is the entry of that key.

    Raises:
        FileNotFoundError: no entry. ValueError: the stored key differs (a hash collision or a
        hand-edited file).
    """
    path = Path(path)
    with np.load(path, allow_pickle=False) as data:
        if key is not None and str(data["key"]) != _canonical(key):
            raise ValueError(f"{path}: key: expected {_canonical(key)}, got {data['key']}")
        features = data["features"] if "features" in data.files else None
        return FeatureStats(
            mean=data["mean"].astype(np.float64),
            cov=data["cov"].astype(np.float64),
            count=int(data["count"]),
            features=features,
        )


def cached_stats(
    compute: Callable[[], FeatureStats],
    key: dict,
    cache_dir: str | os.PathLike | None,
    name: str = "real",
    need_features: bool = False,
) -> tuple[FeatureStats, bool]:
    """Statistics for ``key`` from the cache, or from ``compute()`` (then stored).

    Args:
        compute: builds the statistics (called on a miss; must keep features if ``need_features``).
        key: everything the statistics depend on (JSON-able).
        cache_dir: folder of the cache; None disables caching.
        name: file-name stem of the entry.
        need_features: an entry without features (stored for FID only) counts as a miss.

    Returns:
        ``(stats, hit)``.
    """
    if cache_dir is None:
        return compute(), False
    path = cache_path(cache_dir, name, key)
    if path.is_file():
        stats = load_stats(path, key)
        if not need_features or stats.features is not None:
            return stats, True
    stats = compute()
    save_stats(path, stats, key)
    return stats, False
