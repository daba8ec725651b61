"""Fréchet and kernel distances between feature sets (FID, KID), as StyleGAN/GET3D compute them.

* FID ``= |mu_g - mu_r|^2 + Tr(S_g + S_r - 2 (S_g S_r)^(1/2))`` with the covariances that
  StyleGAN's ``FeatureStats.get_mean_cov`` (and so GET3D) uses: ``E[x x^T] - mu mu^T``, divided
  by ``n`` (pytorch-fid's ``np.cov`` divides by ``n - 1``; the difference vanishes for 50k
  images but not for a few hundred). The trace of the matrix
  square root is computed from the eigenvalues of the symmetric PSD matrix
  ``S_r^(1/2) S_g S_r^(1/2)``, which has the same spectrum as ``S_g S_r``: no complex parts, no
  ``scipy`` needed, equal to ``scipy.linalg.sqrtm`` to rounding.
* KID (StyleGAN's ``kid50k``): the unbiased squared MMD with the cubic polynomial kernel
  ``k(x, y) = (x.y / d + 1)^3``, averaged over ``num_subsets`` random subsets of
  ``m = min(n_real, n_gen, max_subset_size)`` features of each set (drawn without replacement);
  defaults 100 subsets of at most 1000. Randomness comes from a seeded ``numpy`` generator.

All arithmetic is in float64 numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FeatureStats", "frechet_distance", "kernel_distance"]


def _as_features(name: str, features: object) -> np.ndarray:
    array = np.asarray(features.detach().cpu().numpy() if hasattr(features, "detach") else features)
    if array.ndim != 2 or array.shape[0] < 2 or array.shape[1] < 1:
        raise ValueError(f"{name}: expected a float array [n >= 2, d], got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"{name}: expected floating-point features, got dtype {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: features contain NaN or Inf")
    return array.astype(np.float64, copy=False)


@dataclass(frozen=True, eq=False)
class FeatureStats:
    """Mean and covariance of a feature set (what FID needs), optionally with the features (KID).

    Attributes:
        mean: float64 ``[d]``.
        cov: float64 ``[d, d]`` covariance divided by ``n`` (StyleGAN's), see the module docstring.
        count: number of feature vectors ``n``.
        features: float32 ``[n, d]`` or None.
    """

    mean: np.ndarray
    cov: np.ndarray
    count: int
    features: np.ndarray | None = None

    @classmethod
    def from_features(cls, features: object, keep_features: bool = False) -> FeatureStats:
        """Statistics of ``features [n >= 2, d]`` (numpy array or tensor)."""
        x = _as_features("features", features)
        mean = x.mean(0)
        centred = x - mean
        cov = centred.T @ centred / x.shape[0]
        kept = x.astype(np.float32) if keep_features else None
        return cls(mean=mean, cov=cov, count=int(x.shape[0]), features=kept)

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(stats_a: FeatureStats, stats_b: FeatureStats) -> float:
    """The Fréchet distance between two Gaussians (FID when the stats are Inception features).

    Raises:
        ValueError: when the feature dimensions differ.
    """
    for name, s in (("stats_a", stats_a), ("stats_b", stats_b)):
        if not isinstance(s, FeatureStats):
            raise TypeError(f"{name}: expected FeatureStats, got {type(s).__name__}")
    if stats_a.dim != stats_b.dim:
        raise ValueError(f"stats_b: expected feature dimension {stats_a.dim}, got {stats_b.dim}")
    diff = stats_a.mean - stats_b.mean
    root_b = _sqrt_psd(stats_b.cov)
    inner = root_b @ stats_a.cov @ root_b
    eig = np.linalg.eigvalsh((inner + inner.T) / 2)
    trace_sqrt = float(np.sqrt(np.clip(eig, 0, None)).sum())
    value = float(diff @ diff + np.trace(stats_a.cov) + np.trace(stats_b.cov) - 2.0 * trace_sqrt)
    return max(value, 0.0)


def kernel_distance(
    features_gen: object,
    features_real: object,
    *,
    num_subsets: int = 100,
    max_subset_size: int = 1000,
    seed: int = 0,
) -> float:
    """KID (StyleGAN's estimator): mean unbiased MMD^2 with kernel ``(x.y / d + 1)^3`` over subsets.

    Args:
        features_gen, features_real: float ``[n, d]`` each (same ``d``, ``n >= 2``).
        num_subsets: number of random subsets (100).
        max_subset_size: subset size cap (1000).
        seed: seed of the subset draws.

    Returns:
        KID (can be slightly negative: the estimator is unbiased). Papers often print KID x 10^3.
    """
    x_all = _as_features("features_gen", features_gen)
    y_all = _as_features("features_real", features_real)
    if x_all.shape[1] != y_all.shape[1]:
        raise ValueError(f"features_real: expected feature dimension {x_all.shape[1]}, got {y_all.shape[1]}")
    for name, value in (("num_subsets", num_subsets), ("max_subset_size", max_subset_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected a positive int, got {value!r}")
    if max_subset_size < 2:
        raise ValueError(f"max_subset_size: expected >= 2, got {max_subset_size}")
    d = x_all.shape[1]
    m = min(x_all.shape[0], y_all.shape[0], max_subset_size)
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(num_subsets):
        x = x_all[rng.choice(x_all.shape[0], m, replace=False)]
        y = y_all[rng.choice(y_all.shape[0], m, replace=False)]
        a = (x @ x.T / d + 1) ** 3 + (y @ y.T / d + 1) ** 3
        b = (x @ y.T / d + 1) ** 3
        total += (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
    return float(total / num_subsets / m)
