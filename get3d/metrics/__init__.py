"""Evaluation of generators with GET3D's frozen protocol.

* :mod:`~get3d.metrics.pointcloud`: kaolin's sided/Chamfer distances and surface sampling in pure
  PyTorch (CPU and GPU), chunked.
* :mod:`~get3d.metrics.geometry`: GET3D's normalisation and COV-CD, MMD-CD, 1-NNA-CD.
* :mod:`~get3d.metrics.frechet`: FID and KID from features.
* :mod:`~get3d.metrics.inception`: Inception-v3 pool features from a local weights file.
* :mod:`~get3d.metrics.stats`: the real-statistics cache.
* :mod:`~get3d.metrics.protocol`: the typed protocol, style mixing, generated/real samplers.
* :mod:`~get3d.metrics.evaluate`: :func:`run_eval` (generation protocol, JSON report).

The package exports what a user calls (evaluation, its config, the point-cloud distances and
the score functions); result types and the COV/MMD/1-NNA pieces are imported from their modules.

Command line: ``python -m get3d.metrics eval --help``.
"""

from .evaluate import EvalConfig, Metric, run_eval
from .frechet import frechet_distance, kernel_distance
from .geometry import GeometryProtocol, geometry_scores
from .inception import InceptionWeightsMissing, load_inception
from .pointcloud import chamfer_distance, sample_points, sided_distance

__all__ = [
    "EvalConfig",
    "GeometryProtocol",
    "InceptionWeightsMissing",
    "Metric",
    "chamfer_distance",
    "frechet_distance",
    "geometry_scores",
    "kernel_distance",
    "load_inception",
    "run_eval",
    "sample_points",
    "sided_distance",
]
