"""Evaluation of generators with GET3D's frozen protocol.

* :mod:`~get3d.metrics.pointcloud`: kaolin's sided/Chamfer distances and surface sampling in pure
  PyTorch (CPU and GPU), chunked.
* :mod:`~get3d.metrics.geometry`: GET3D's normalisation and COV-CD, MMD-CD, 1-NNA-CD.
* :mod:`~get3d.metrics.frechet`: FID and KID from features.
* :mod:`~get3d.metrics.inception`: Inception-v3 pool features from a local weights file.
* :mod:`~get3d.metrics.stats`: the real-statistics cache.
* :mod:`~get3d.metrics.protocol`: the typed protocol, style mixing, generated/real samplers.
* :mod:`~get3d.metrics.evaluate`: :func:`run_eval` (generation protocol, JSON report).

Command line: ``python -m get3d.metrics eval --help``.
"""

from .evaluate import EvalConfig, EvalReport, Metric, run_eval
from .frechet import FeatureStats, frechet_distance, kernel_distance
from .geometry import (
    GeometryProtocol,
    GeometryScores,
    coverage,
    geometry_scores,
    minimum_matching_distance,
    nearest_neighbor_accuracy,
)
from .inception import InceptionV3, InceptionWeightsMissing, load_inception
from .pointcloud import (
    SurfaceSamples,
    chamfer_distance,
    chamfer_distance_matrix,
    sample_points,
    sided_distance,
)

__all__ = [
    "EvalConfig",
    "EvalReport",
    "FeatureStats",
    "GeometryProtocol",
    "GeometryScores",
    "InceptionV3",
    "InceptionWeightsMissing",
    "Metric",
    "SurfaceSamples",
    "chamfer_distance",
    "chamfer_distance_matrix",
    "coverage",
    "frechet_distance",
    "geometry_scores",
    "kernel_distance",
    "load_inception",
    "minimum_matching_distance",
    "nearest_neighbor_accuracy",
    "run_eval",
    "sample_points",
    "sided_distance",
]
