"""Multiview data sets in GET3D's layout: loading, validation, rendering meshes, a built-in data set.

* :class:`MultiviewDataset` loads ``img/<synset>/<id>/NNN.png`` + ``camera/<synset>/<id>/*.npy``
  (GET3D's layout) or ``<id>/transforms.json`` folders, validated up front
  (:func:`validate_dataset` names the exact file and field that is wrong; nothing falls back).
* :func:`prepare_dataset` renders a folder of meshes (OBJ+MTL, GLB/GLTF, PLY, OFF, STL) into
  that layout with the library's renderer (resumable, multiprocess, deterministic).
* :func:`generate_shape` builds procedural textured chairs, tables and cars;
  :func:`procedural_dataset` renders them into the built-in data set, generated on first use.
* :mod:`get3d.data.layout` (paths, split files) and :mod:`get3d.data.cameras` (GET3D angle files,
  transforms.json) hold the on-disk conventions.

The package exports what a user calls; result and item types (``MultiviewSample``,
``ValidationReport``, ``ProceduralDataset``), single-view loading and the camera conventions are
imported from their modules.

Command line: ``python -m get3d.data {validate,prepare,procedural,split,preview} --help``.
"""

from .builtin import ProceduralDatasetConfig, procedural_dataset
from .cameras import WorldUp
from .dataset import MultiviewDataset
from .layout import make_splits, read_split, write_splits
from .meshes import load_mesh
from .prepare import PrepareConfig, prepare_dataset
from .preview import contact_sheet
from .procedural import Category, generate_shape
from .validate import DatasetError, validate_dataset

__all__ = [
    "Category",
    "DatasetError",
    "MultiviewDataset",
    "PrepareConfig",
    "ProceduralDatasetConfig",
    "WorldUp",
    "contact_sheet",
    "generate_shape",
    "load_mesh",
    "make_splits",
    "prepare_dataset",
    "procedural_dataset",
    "read_split",
    "validate_dataset",
    "write_splits",
]
