"""Multiview data sets in GET3D's layout: loading, validation, procedural shapes, rendering meshes.

* :class:`MultiviewDataset` loads ``img/<synset>/<id>/NNN.png`` + ``camera/<synset>/<id>/*.npy``
  (GET3D's layout) or ``<id>/transforms.json`` folders, validated up front.
* :func:`validate_dataset` names the exact file and field that is wrong; nothing falls back.
* :mod:`get3d.data.layout` (paths, split files) and :mod:`get3d.data.cameras` (GET3D angles,
  Blender/OBJ frames, transforms.json) hold the conventions.

Command line: ``python -m get3d.data --help``.
"""

from .cameras import WorldUp, camera_condition
from .dataset import MultiviewDataset, MultiviewSample, load_view
from .layout import SYNSETS, Layout, make_splits, read_split, write_splits
from .validate import DatasetError, Problem, ValidationReport, validate_dataset

__all__ = [
    "SYNSETS",
    "DatasetError",
    "Layout",
    "MultiviewDataset",
    "MultiviewSample",
    "Problem",
    "ValidationReport",
    "WorldUp",
    "camera_condition",
    "load_view",
    "make_splits",
    "read_split",
    "validate_dataset",
    "write_splits",
]
