"""On-disk layout of multiview data sets: paths, view files and split files.

Two layouts are read (get3d_spec.md §8.1):

* **GET3D** (what GET3D's Blender script writes)::

      <root>/img/<synset>/<shape_id>/000.png ... 023.png      RGBA, transparent background
      <root>/camera/<synset>/<shape_id>/rotation.npy           float[V] azimuth in degrees
      <root>/camera/<synset>/<shape_id>/elevation.npy          float[V] elevation in degrees

  ``data_dir`` is the folder that *contains the shape folders* (``<root>/img/<synset>``) and
  ``camera_dir`` is the matching camera folder (``<root>/camera/<synset>``). GET3D itself takes
  the camera root *without* the synset (``--camera_path <root>/camera``); :func:`camera_dir_for`
  turns one into the other.

* **transforms.json**: ``<data_dir>/<shape_id>/transforms.json`` with ``camera_angle_x`` and
  ``frames[i].file_path`` / ``frames[i].transform_matrix`` (camera-to-world, NeRF/Blender
  convention), as written by GET3D's script next to the images and by NeRF-style tools.

Split files hold one shape id per line (GET3D's ``3dgan_data_split/<name>/{train,val,test}.txt``).
Blank lines and surrounding white space are ignored.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "SPLIT_NAMES",
    "SYNSETS",
    "Layout",
    "camera_dir_for",
    "image_dir_for",
    "list_shape_dirs",
    "list_view_images",
    "make_splits",
    "read_split",
    "write_split",
    "write_splits",
]

#: ShapeNet synset ids of the categories GET3D trains on, plus the table category.
SYNSETS: dict[str, str] = {
    "car": "02958343",
    "chair": "03001627",
    "motorbike": "03790512",
    "table": "04379243",
}

#: Split names written by :func:`write_splits` (GET3D's names).
SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")

#: Name of the per-shape camera file of the transforms layout.
TRANSFORMS_FILE = "transforms.json"
ROTATION_FILE = "rotation.npy"
ELEVATION_FILE = "elevation.npy"


class Layout(enum.Enum):
    """The on-disk layouts that :mod:`get3d.data` reads."""

    GET3D = "get3d"
    """``img/<synset>/<id>/NNN.png`` + ``camera/<synset>/<id>/{rotation,elevation}.npy``."""
    TRANSFORMS = "transforms"
    """``<data_dir>/<id>/transforms.json`` with camera-to-world matrices."""


def image_dir_for(root: str | Path, synset: str) -> Path:
    """``<root>/img/<synset>``: the ``data_dir`` of a GET3D-layout data set."""
    return Path(root) / "img" / synset


def camera_dir_for(camera_root: str | Path, data_dir: str | Path) -> Path:
    """``<camera_root>/<synset>`` where ``<synset>`` is the last folder of ``data_dir``.

    This is how GET3D pairs ``--data <root>/img/<synset>`` with ``--camera_path <root>/camera``.
    """
    return Path(camera_root) / Path(data_dir).name


def list_shape_dirs(data_dir: str | Path) -> list[Path]:
    """The shape folders directly under ``data_dir``, sorted by name (hidden ones skipped)."""
    data_dir = Path(data_dir)
    return sorted(p for p in data_dir.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_view_images(shape_dir: str | Path) -> list[Path]:
    """The ``*.png`` view images of one shape folder, sorted by file name (GET3D's order)."""
    shape_dir = Path(shape_dir)
    return sorted(
        p
        for p in shape_dir.iterdir()
        if p.is_file() and p.suffix.lower() == ".png" and not p.name.startswith(".")
    )


def read_split(path: str | Path) -> list[str]:
    """Shape ids of a split file, in file order (one per line; blank lines ignored).

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: when an id occurs twice (the message names the line numbers).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"split_file: expected an existing text file, got {str(path)!r}")
    ids: list[str] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        shape_id = line.strip()
        if not shape_id:
            continue
        if shape_id in first_line:
            raise ValueError(
                f"{path}: line {number}: shape id {shape_id!r} already listed on line "
                f"{first_line[shape_id]}; expected each id once"
            )
        first_line[shape_id] = number
        ids.append(shape_id)
    return ids


def write_split(path: str | Path, ids: Iterable[str]) -> Path:
    """Write ``ids`` one per line to ``path`` (parent folders are created). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = list(ids)
    for shape_id in ids:
        if not shape_id or shape_id != shape_id.strip() or "\n" in shape_id:
            raise ValueError(f"ids: expected non-empty ids without surrounding white space, got {shape_id!r}")
    path.write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    return path


def make_splits(
    ids: Sequence[str], fractions: Sequence[float] = (0.7, 0.1, 0.2), seed: int = 0
) -> dict[str, list[str]]:
    """Shuffle ``ids`` with ``seed`` and cut them into train / val / test (GET3D: 70/10/20 %).

    The split is a function of the *set* of ids and the seed only (ids are sorted first), so the
    same folder gives the same split whatever order the files were listed in. Each part is sorted.
    Sizes: ``round(n * fractions[0])`` train, ``round(n * fractions[1])`` val, the rest test.

    Args:
        ids: distinct shape ids.
        fractions: three non-negative numbers summing to 1.
        seed: seed of the shuffle.

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}``.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(
            f"fractions: expected three non-negative numbers summing to 1 (train, val, test), got {fractions}"
        )
    ordered = sorted(ids)
    if len(set(ordered)) != len(ordered):
        raise ValueError("ids: expected distinct shape ids, got duplicates")
    order = np.random.default_rng(seed).permutation(len(ordered))
    shuffled = [ordered[i] for i in order]
    n_train = int(round(len(shuffled) * fractions[0]))
    n_val = min(int(round(len(shuffled) * fractions[1])), len(shuffled) - n_train)
    return {
        "train": sorted(shuffled[:n_train]),
        "val": sorted(shuffled[n_train : n_train + n_val]),
        "test": sorted(shuffled[n_train + n_val :]),
    }


def write_splits(split_dir: str | Path, splits: dict[str, Sequence[str]]) -> dict[str, Path]:
    """Write ``<split_dir>/<name>.txt`` for every entry of ``splits``; returns the paths."""
    return {name: write_split(Path(split_dir) / f"{name}.txt", ids) for name, ids in splits.items()}
