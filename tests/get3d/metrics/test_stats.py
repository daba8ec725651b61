"""The real-statistics cache: round trip, keys, atomic writes, feature requirement."""

from __future__ import annotations

import numpy as np
import pytest

from get3d.metrics.frechet import FeatureStats
from get3d.metrics.stats import cache_path, cached_stats, dataset_fingerprint, load_stats, save_stats

KEY = {"data": "abc", "resolution": 32, "extractor": "torchvision:0123"}


def _stats(keep=False, seed=0):
    return FeatureStats.from_features(np.random.default_rng(seed).normal(size=(20, 4)), keep_features=keep)


def test_round_trip_and_key_check(tmp_path):
    stats = _stats(keep=True)
    path = save_stats(cache_path(tmp_path, "real", KEY), stats, KEY)
    back = load_stats(path, KEY)
    np.testing.assert_array_equal(back.mean, stats.mean)
    np.testing.assert_array_equal(back.cov, stats.cov)
    np.testing.assert_array_equal(back.features, stats.features)
    assert back.count == 20
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind
    with pytest.raises(ValueError, match="key"):
        load_stats(path, {**KEY, "resolution": 64})


def test_cached_stats_hits_misses_and_feature_requirement(tmp_path):
    calls = []

    def compute(keep):
        calls.append(keep)
        return _stats(keep=keep)

    a, hit = cached_stats(lambda: compute(False), KEY, tmp_path)
    assert not hit and calls == [False]
    b, hit = cached_stats(lambda: compute(False), KEY, tmp_path)
    assert hit and calls == [False] and np.array_equal(a.cov, b.cov)
    # KID needs the features: an entry without them is a miss, then it is rewritten with them
    c, hit = cached_stats(lambda: compute(True), KEY, tmp_path, need_features=True)
    assert not hit and c.features is not None and calls == [False, True]
    d, hit = cached_stats(lambda: compute(True), KEY, tmp_path, need_features=True)
    assert hit and d.features is not None
    # another key is another file
    cached_stats(lambda: compute(False), {**KEY, "resolution": 64}, tmp_path)
    assert len(list(tmp_path.glob("real-*.npz"))) == 2
    # no cache folder: always computed
    _, hit = cached_stats(lambda: compute(False), KEY, None)
    assert not hit and len(calls) == 4


def test_fingerprint_changes_with_the_files(tmp_path):
    files = [tmp_path / "a.png", tmp_path / "b.png"]
    for f in files:
        f.write_bytes(b"x")
    first = dataset_fingerprint(files)
    assert dataset_fingerprint(list(reversed(files))) == first
    files[1].write_bytes(b"xy")
    assert dataset_fingerprint(files) != first
    with pytest.raises(ValueError, match="name"):
        cache_path(tmp_path, "../x", KEY)
