"""The built-in data set: procedural shapes rendered through ``prepare``, generated on first use.

:func:`procedural_dataset` returns a :class:`ProceduralDataset` from the cache, building it when it
is missing (nothing is downloaded, so training always has data). The folder holds::

    <root>/meshes/<category>/<category>_NNNN/model.obj   ground-truth textured meshes (unit box)
    <root>/img/<synset>/<id>/NNN.png, transforms.json     GET3D layout (prepare)
    <root>/camera/<synset>/<id>/{rotation,elevation}.npy
    <root>/splits/<synset>/{train,val,test}.txt
    <root>/dataset.json                                   the config; written last (= complete)

Synsets are ShapeNet's (chair 03001627, table 04379243, car 02958343), render scales GET3D's
(chair 0.7, car 0.9; table 0.7). Building is resumable and deterministic for a config.
The cache root is ``$ISOGEN3D_CACHE``, else ``$XDG_CACHE_HOME/isogen3d``, else ``~/.cache/isogen3d``;
each config gets its own sub-folder named by a hash of the config.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from .dataset import MultiviewDataset
from .layout import image_dir_for, make_splits, write_splits
from .prepare import PrepareConfig, prepare_dataset
from .procedural import Category, generate_shape, write_shape
from .validate import validate_dataset

__all__ = [
    "CATEGORY_SCALE",
    "ProceduralDataset",
    "ProceduralDatasetConfig",
    "build_procedural_dataset",
    "default_cache_dir",
    "procedural_dataset",
]

#: Longest side of each category's rendered shapes (GET3D's Blender script: chair 0.7, car 0.9).
CATEGORY_SCALE: dict[str, float] = {"chair": 0.7, "table": 0.7, "car": 0.9}
_MARKER = "dataset.json"


@dataclass(frozen=True)
class ProceduralDatasetConfig:
    """What the built-in data set contains (defaults: the main job's data set).

    Attributes:
        categories: category names (:class:`get3d.data.procedural.Category` values).
        shapes_per_category: shapes per category.
        seed: shape ``i`` of a category uses seed ``seed * 1_000_000 + i``; cameras use ``seed`` too.
        views: views per shape.
        resolution: image side in pixels.
        supersample: antialiasing samples per pixel side.
        texture_size: side of each mesh's texture atlas.
        fractions: train / val / test split fractions.
    """

    categories: tuple[str, ...] = ("chair", "table", "car")
    shapes_per_category: int = 96
    seed: int = 0
    views: int = 24
    resolution: int = 128
    supersample: int = 2
    texture_size: int = 512
    fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)

    def __post_init__(self) -> None:
        names = [c.value for c in Category]
        if not self.categories or any(c not in names for c in self.categories):
            raise ValueError(f"categories: expected a non-empty subset of {names}, got {self.categories}")
        if len(set(self.categories)) != len(self.categories):
            raise ValueError(f"categories: expected distinct names, got {self.categories}")
        if isinstance(self.shapes_per_category, bool) or self.shapes_per_category < 1:
            raise ValueError(
                f"shapes_per_category: expected a positive int, got {self.shapes_per_category!r}"
            )
        if self.seed < 0:
            raise ValueError(f"seed: expected a non-negative int, got {self.seed}")

    def key(self) -> str:
        """A short hash naming this config's cache folder."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]

    def prepare_config(self, category: str) -> PrepareConfig:
        return PrepareConfig(
            synset=Category(category).synset,
            resolution=self.resolution,
            views=self.views,
            scale=CATEGORY_SCALE[category],
            supersample=self.supersample,
            seed=self.seed,
        )


@dataclass(frozen=True)
class ProceduralDataset:
    """Paths of a built procedural data set (see the module docstring)."""

    root: Path
    config: ProceduralDatasetConfig

    @property
    def camera_root(self) -> Path:
        """GET3D's ``--camera_path``."""
        return self.root / "camera"

    def data_dir(self, category: str) -> Path:
        """GET3D's ``--data`` for ``category``: ``<root>/img/<synset>``."""
        return image_dir_for(self.root, Category(category).synset)

    def mesh_dir(self, category: str) -> Path:
        return self.root / "meshes" / Category(category).value

    def split_file(self, category: str, split: str) -> Path:
        if split not in ("train", "val", "test"):
            raise ValueError(f"split: expected 'train', 'val' or 'test', got {split!r}")
        return self.root / "splits" / Category(category).synset / f"{split}.txt"

    def dataset(
        self, category: str, resolution: int | None = None, split: str | None = None
    ) -> MultiviewDataset:
        """The :class:`MultiviewDataset` of one category (all shapes, or one split)."""
        split_file = None if split is None else self.split_file(category, split)
        return MultiviewDataset(
            self.data_dir(category), self.camera_root, resolution=resolution, split_file=split_file
        )


def default_cache_dir() -> Path:
    """``$ISOGEN3D_CACHE``, else ``$XDG_CACHE_HOME/isogen3d``, else ``~/.cache/isogen3d``."""
    if os.environ.get("ISOGEN3D_CACHE"):
        return Path(os.environ["ISOGEN3D_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "isogen3d"


def _write_meshes(root: Path, config: ProceduralDatasetConfig, category: str, progress: bool) -> None:
    folder = root / "meshes" / category
    todo = [i for i in range(config.shapes_per_category) if not (folder / f"{category}_{i:04d}").is_dir()]
    for i in tqdm(todo, desc=f"generate {category}", unit="shape", disable=not progress or not todo):
        mesh = generate_shape(category, config.seed * 1_000_000 + i, config.texture_size)
        tmp = root / ".mesh_tmp" / uuid.uuid4().hex
        write_shape(mesh, tmp)
        folder.mkdir(parents=True, exist_ok=True)
        tmp.rename(folder / f"{category}_{i:04d}")  # a mesh folder is complete or absent
    shutil.rmtree(root / ".mesh_tmp", ignore_errors=True)


def build_procedural_dataset(
    root: str | Path,
    config: ProceduralDatasetConfig | None = None,
    *,
    workers: int = 1,
    progress: bool = True,
) -> ProceduralDataset:
    """Generate meshes, render them with prepare, validate, write splits and the marker (resumable).

    Args:
        root: output folder (created).
        config: what to build (:class:`ProceduralDatasetConfig` defaults when None).
        workers: rendering processes.
        progress: show progress bars.

    Raises:
        ValueError: ``root`` already holds a data set built with another config.
        DatasetError: the result does not validate (a bug; never expected).
    """
    config = config if config is not None else ProceduralDatasetConfig()
    root = Path(root)
    marker = root / _MARKER
    if marker.is_file():
        stored = json.loads(marker.read_text(encoding="utf-8"))
        if stored.get("key") != config.key():
            raise ValueError(f"root: {root} holds a procedural data set with another config ({marker})")
        return ProceduralDataset(root, config)
    root.mkdir(parents=True, exist_ok=True)
    result = ProceduralDataset(root, config)
    for category in config.categories:
        _write_meshes(root, config, category, progress)
        prepare = config.prepare_config(category)
        prepare_dataset(result.mesh_dir(category), root, prepare, workers=workers, progress=progress)
        validate_dataset(result.data_dir(category), result.camera_root).raise_for_problems()
        ids = [f"{category}_{i:04d}" for i in range(config.shapes_per_category)]
        write_splits(root / "splits" / prepare.synset, make_splits(ids, config.fractions, config.seed))
    record = {"key": config.key(), "config": asdict(config)}
    tmp = root / f".{_MARKER}.tmp"
    tmp.write_text(json.dumps(record, indent=2), encoding="utf-8")
    tmp.rename(marker)
    return result


def procedural_dataset(
    config: ProceduralDatasetConfig | None = None,
    cache_dir: str | Path | None = None,
    *,
    workers: int | None = None,
    progress: bool = True,
) -> ProceduralDataset:
    """The built-in data set for ``config``, from the cache or generated now (first use).

    Args:
        config: defaults to :class:`ProceduralDatasetConfig` ().
        cache_dir: cache root (default :func:`default_cache_dir`).
        workers: rendering processes (default: the number of CPUs).
        progress: show progress bars while building.
    """
    config = config if config is not None else ProceduralDatasetConfig()
    root = Path(cache_dir if cache_dir is not None else default_cache_dir()) / f"procedural-{config.key()}"
    return build_procedural_dataset(root, config, workers=workers or os.cpu_count() or 1, progress=progress)
