"""FID against scipy's sqrtm formula, KID against the brute-force unbiased MMD^2."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from get3d.metrics.frechet import FeatureStats, frechet_distance, kernel_distance


def _scipy_fid(x: np.ndarray, y: np.ndarray) -> float:
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False, bias=True), np.cov(y, rowvar=False, bias=True)  # StyleGAN: / n
    root = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.real(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * root)))


def test_fid_matches_scipy_reference():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 16)) @ rng.normal(size=(16, 16))
    y = rng.normal(size=(250, 16)) * 1.5 + 0.3
    want = _scipy_fid(x, y)
    got = frechet_distance(FeatureStats.from_features(x), FeatureStats.from_features(y))
    assert got == pytest.approx(want, rel=1e-8)
    # symmetric
    assert frechet_distance(FeatureStats.from_features(y), FeatureStats.from_features(x)) == pytest.approx(
        want
    )


def test_fid_rank_deficient_covariances_match_scipy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, 32))  # n < d: singular covariance (as with few images)
    y = rng.normal(size=(12, 32)) + 1.0
    got = frechet_distance(FeatureStats.from_features(x), FeatureStats.from_features(y))
    assert got == pytest.approx(_scipy_fid(x, y), rel=1e-6)


def test_fid_hand_cases():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(100, 8))
    s = FeatureStats.from_features(x)
    assert frechet_distance(s, s) == pytest.approx(0.0, abs=1e-9)
    shifted = FeatureStats.from_features(x + np.arange(8))  # same covariance
    assert frechet_distance(s, shifted) == pytest.approx(float((np.arange(8) ** 2).sum()))
    # N(0, a^2 I) vs N(0, b^2 I) in d dims: d (a - b)^2
    a = FeatureStats(np.zeros(4), 4.0 * np.eye(4), 10)
    b = FeatureStats(np.zeros(4), 9.0 * np.eye(4), 10)
    assert frechet_distance(a, b) == pytest.approx(4 * (2 - 3) ** 2)


def test_feature_stats_covariance_divides_by_n_as_stylegan_and_checks():
    x = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]])
    s = FeatureStats.from_features(x, keep_features=True)
    np.testing.assert_allclose(s.cov, x.T @ x / 3 - np.outer(x.mean(0), x.mean(0)))  # E[xx^T] - mu mu^T
    assert s.count == 3 and s.features.dtype == np.float32
    with pytest.raises(ValueError, match="features"):
        FeatureStats.from_features(x[:1])
    with pytest.raises(ValueError, match="NaN"):
        FeatureStats.from_features(np.array([[0.0], [np.nan]]))
    with pytest.raises(ValueError, match="stats_b"):
        frechet_distance(s, FeatureStats.from_features(np.ones((3, 3)) + np.eye(3)))


def _brute_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]

    def k(a, b):
        return (a @ b / d + 1) ** 3

    m = len(x)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_equals_brute_force_on_the_same_subsets():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(12, 5))
    y = rng.normal(size=(15, 5)) + 0.5
    got = kernel_distance(x, y, num_subsets=3, max_subset_size=8, seed=11)
    draw = np.random.default_rng(11)
    want = []
    for _ in range(3):
        xs = x[draw.choice(12, 8, replace=False)]
        ys = y[draw.choice(15, 8, replace=False)]
        want.append(_brute_mmd2(xs, ys))
    assert got == pytest.approx(np.mean(want), rel=1e-10)
    # the whole sets when they fit in one subset: no randomness left
    full = kernel_distance(x[:10], y[:10], num_subsets=2, max_subset_size=1000)
    assert full == pytest.approx(_brute_mmd2(x[:10], y[:10]), rel=1e-10)


def test_kid_is_near_zero_for_one_distribution_and_checks_input():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    same = kernel_distance(x, y, num_subsets=10, max_subset_size=200)
    apart = kernel_distance(x, y + 1.0, num_subsets=10, max_subset_size=200)
    assert abs(same) < 0.02 < apart
    with pytest.raises(ValueError, match="features_real"):
        kernel_distance(x, y[:, :3])
    with pytest.raises(ValueError, match="num_subsets"):
        kernel_distance(x, y, num_subsets=0)
