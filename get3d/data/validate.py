"""Check a multiview data set before training, and index its views.

:func:`validate_dataset` walks a data set in either layout (:mod:`get3d.data.layout`) and returns
a :class:`ValidationReport`: the views it indexed and every :class:`Problem` it found, each naming
the exact file and field that is wrong. It never substitutes anything: a missing camera file is an
error (GET3D silently uses ``c = (0, 0)``), an empty split is an error, and there is no fallback
data set. :meth:`ValidationReport.raise_for_problems` turns problems into a :class:`DatasetError`.

Checks: the folders exist; the split file reads, is non-empty and every id has a folder; every shape
has PNG views named by their view index; every PNG opens (fully decodes with ``decode=True``), has
an alpha channel, is square and has the size of the first one; GET3D cameras: ``rotation.npy`` and
``elevation.npy`` exist, load, are 1-D, finite, of equal length, one entry per view; transforms
cameras: the JSON is well formed, the cameras look at the origin and share one field of view.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from render.camera import DEFAULT_FOVY, DEFAULT_RADIUS, Cameras, angles_from_position, blender_to_world

from .cameras import TransformsError, WorldUp, camera_condition, read_transforms
from .layout import (
    ELEVATION_FILE,
    ROTATION_FILE,
    TRANSFORMS_FILE,
    Layout,
    camera_dir_for,
    list_shape_dirs,
    list_view_images,
    read_split,
)

__all__ = ["DatasetError", "Problem", "ValidationReport", "ViewRecord", "validate_dataset"]

#: Largest angle (degrees) between a transforms camera's viewing axis and the direction to the origin.
LOOK_AT_TOLERANCE_DEG = 1.0
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


class DatasetError(ValueError):
    """A data set failed validation; ``problems`` lists every problem found."""

    def __init__(self, message: str, problems: Sequence[Problem]) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a data set: ``path`` and ``what`` (the field) and a message."""

    path: Path
    what: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.what}: {self.message}"


@dataclass(frozen=True, eq=False)
class ViewRecord:
    """One indexed view.

    Attributes:
        image: the RGBA PNG.
        shape_id: the shape folder's name.
        view: the view's index into the shape's camera arrays / frames.
        azimuth: GET3D's ``theta`` in radians (the discriminator's ``c[0]``).
        polar: GET3D's ``phi`` in radians from +Y (``c[1]``).
        cam2world: float64 ``[4, 4]`` camera-to-world in the OBJ frame (Y up, OpenGL camera).
        fovy: vertical field of view in radians.
    """

    image: Path
    shape_id: str
    view: int
    azimuth: float
    polar: float
    cam2world: np.ndarray
    fovy: float


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """Result of :func:`validate_dataset`.

    Attributes:
        layout: the layout checked.
        data_dir: the folder holding the shape folders.
        shape_ids: ids of the shapes that were indexed (after the split), sorted.
        records: the indexed views, sorted by shape id then file name; complete only when ``ok``.
        image_size: ``(width, height)`` of the images (that of the first image read), or None.
        problems: everything found wrong, in walk order.
    """

    layout: Layout
    data_dir: Path
    shape_ids: tuple[str, ...]
    records: tuple[ViewRecord, ...]
    image_size: tuple[int, int] | None
    problems: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self, limit: int = 20) -> str:
        """A human-readable summary: counts, then up to ``limit`` problems."""
        size = "x".join(map(str, self.image_size)) if self.image_size else "?"
        head = (
            f"{self.layout.value} data set {self.data_dir}: {len(self.shape_ids)} shapes, "
            f"{len(self.records)} views, images {size}"
        )
        if self.ok:
            return head + ", no problems"
        lines = [f"{head}, {len(self.problems)} problem(s):"]
        lines += [f"  {p}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more")
        return "\n".join(lines)

    def raise_for_problems(self) -> None:
        """Raise :class:`DatasetError` listing the problems, if there are any."""
        if self.problems:
            raise DatasetError(self.summary(), self.problems)


def validate_dataset(
    data_dir: str | Path,
    camera_root: str | Path | None = None,
    *,
    split_file: str | Path | None = None,
    world_up: WorldUp = WorldUp.Z,
    decode: bool = False,
    radius: float = DEFAULT_RADIUS,
) -> ValidationReport:
    """Check and index a data set; never raises for problems in the data (see the report).

    Args:
        data_dir: the folder containing the shape folders (GET3D's ``--data``, ``<root>/img/<synset>``).
        camera_root: GET3D's ``--camera_path`` (``<root>/camera``, *without* the synset): selects the
            GET3D layout. None selects the transforms layout (``<data_dir>/<id>/transforms.json``).
        split_file: optional file of shape ids (one per line) restricting the data set.
        world_up: frame of the transforms matrices (ignored for the GET3D layout).
        decode: fully decode every PNG (catches truncated files and empty alpha; slower).
            Without it only the PNG headers are read.
        radius: camera distance assumed for GET3D-layout cameras (GET3D's script uses 1.2).

    Returns:
        A :class:`ValidationReport`.
    """
    if not isinstance(world_up, WorldUp):
        raise TypeError(f"world_up: expected a WorldUp, got {world_up!r}")
    data_dir = Path(data_dir)
    layout = Layout.GET3D if camera_root is not None else Layout.TRANSFORMS
    walk = _Walk(layout, data_dir, decode)
    shape_dirs = walk.shape_dirs(split_file)
    camera_dir = None
    if camera_root is not None and shape_dirs:
        camera_dir = walk.camera_dir(Path(camera_root))
    for shape_dir in shape_dirs:
        if layout is Layout.GET3D:
            if camera_dir is not None:
                walk.get3d_shape(shape_dir, camera_dir / shape_dir.name, radius)
        else:
            walk.transforms_shape(shape_dir, world_up)
    records = tuple(r for r in walk.records if r.shape_id not in walk.bad_shapes)
    return ValidationReport(
        layout=layout,
        data_dir=data_dir,
        shape_ids=tuple(sorted({r.shape_id for r in records})),
        records=records,
        image_size=walk.size,
        problems=tuple(walk.problems),
    )


class _Walk:
    """Mutable state of one validation walk (internal)."""

    def __init__(self, layout: Layout, data_dir: Path, decode: bool) -> None:
        self.layout, self.data_dir, self.decode = layout, data_dir, decode
        self.problems: list[Problem] = []
        self.records: list[ViewRecord] = []
        self.bad_shapes: set[str] = set()
        self.size: tuple[int, int] | None = None
        self.size_source: Path | None = None
        self.fov: float | None = None
        self.fov_source: Path | None = None

    def problem(self, path: Path, what: str, message: str, shape_id: str | None = None) -> None:
        self.problems.append(Problem(path, what, message))
        if shape_id is not None:
            self.bad_shapes.add(shape_id)

    # Folders and split.

    def shape_dirs(self, split_file: str | Path | None) -> list[Path]:
        if not self.data_dir.is_dir():
            what = "data folder"
            self.problem(
                self.data_dir, what, "does not exist or is not a folder (expected <root>/img/<synset>)"
            )
            return []
        dirs = list_shape_dirs(self.data_dir)
        if split_file is None:
            if not dirs:
                self.problem(self.data_dir, "data folder", "contains no shape folders")
            return dirs
        split_file = Path(split_file)
        try:
            ids = read_split(split_file)
        except FileNotFoundError:
            self.problem(split_file, "split file", "does not exist")
            return []
        except (OSError, UnicodeDecodeError, ValueError) as err:
            self.problem(split_file, "split file", f"unreadable ({err})")
            return []
        if not ids:
            self.problem(
                split_file, "split file", "is empty (no shape ids); an empty split cannot be trained on"
            )
            return []
        by_name = {d.name: d for d in dirs}
        chosen = []
        for shape_id in ids:
            if shape_id in by_name:
                chosen.append(by_name[shape_id])
            else:
                self.problem(
                    split_file, f"shape id {shape_id!r}", f"has no folder {self.data_dir / shape_id}"
                )
        return sorted(chosen)

    def camera_dir(self, camera_root: Path) -> Path | None:
        if not camera_root.is_dir():
            self.problem(
                camera_root, "camera root", "does not exist or is not a folder (expected <root>/camera)"
            )
            return None
        camera_dir = camera_dir_for(camera_root, self.data_dir)
        if not camera_dir.is_dir():
            hint = ""
            if any((camera_root / d.name).is_dir() for d in list_shape_dirs(self.data_dir)[:5]):
                hint = (
                    f"; {camera_root} holds the shape folders directly: pass its parent "
                    f"(the camera root without the synset, like GET3D's --camera_path)"
                )
            self.problem(
                camera_dir, "camera folder", f"does not exist (expected <camera_root>/<synset>){hint}"
            )
            return None
        return camera_dir

    # Images.

    def views(self, shape_dir: Path) -> list[tuple[Path, int]]:
        images = list_view_images(shape_dir)
        if not images:
            others = sorted(p.name for p in shape_dir.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
            extra = f" (found {len(others)} JPEG files: they have no alpha channel)" if others else ""
            self.problem(shape_dir, "views", f"no PNG images{extra}", shape_dir.name)
            return []
        views = []
        for image in images:
            if not image.stem.isdigit():
                self.problem(image, "file name", "expected NNN.png, the view's index", shape_dir.name)
            else:
                views.append((image, int(image.stem)))
        return views

    def check_image(self, image: Path, shape_id: str) -> None:
        try:
            with Image.open(image) as pic:
                if pic.format != "PNG":
                    self.problem(image, "format", f"expected PNG, got {pic.format}", shape_id)
                    return
                has_alpha = pic.mode in _ALPHA_MODES or "transparency" in pic.info
                size = pic.size
                if self.decode:
                    pic.load()
                    if has_alpha and pic.convert("RGBA").getchannel("A").getextrema()[1] == 0:
                        self.problem(
                            image, "alpha channel", "is zero everywhere (empty silhouette)", shape_id
                        )
        except FileNotFoundError:
            self.problem(image, "file", "does not exist", shape_id)
            return
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
            self.problem(image, "file", f"unreadable PNG ({err})", shape_id)
            return
        if not has_alpha:
            self.problem(image, "alpha channel", f"missing (mode {pic.mode}); expected RGBA", shape_id)
        if size[0] != size[1]:
            self.problem(image, "size", f"expected a square image, got {size[0]}x{size[1]}", shape_id)
        if self.size is None:
            self.size, self.size_source = size, image
        elif size != self.size:
            self.problem(
                image,
                "size",
                f"{size[0]}x{size[1]} differs from {self.size[0]}x{self.size[1]} of {self.size_source}; "
                "expected all images of one size",
                shape_id,
            )

    # Cameras.

    def load_angles(self, path: Path, shape_id: str) -> np.ndarray | None:
        if not path.is_file():
            self.problem(
                path, "camera file", "does not exist (GET3D would silently use c = (0, 0))", shape_id
            )
            return None
        try:
            values = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            self.problem(path, "camera file", f"unreadable .npy ({err})", shape_id)
            return None
        if values.ndim != 1 or not (
            np.issubdtype(values.dtype, np.floating) or np.issubdtype(values.dtype, np.integer)
        ):
            self.problem(
                path,
                "values",
                f"expected a 1-D array of degrees, got shape {values.shape} {values.dtype}",
                shape_id,
            )
            return None
        if not np.all(np.isfinite(values)):
            self.problem(
                path, "values", f"{int((~np.isfinite(values)).sum())} entries are NaN or Inf", shape_id
            )
            return None
        return values

    def get3d_shape(self, shape_dir: Path, camera_dir: Path, radius: float) -> None:
        shape_id = shape_dir.name
        views = self.views(shape_dir)
        for image, _ in views:
            self.check_image(image, shape_id)
        rotation = self.load_angles(camera_dir / ROTATION_FILE, shape_id)
        elevation = self.load_angles(camera_dir / ELEVATION_FILE, shape_id)
        if rotation is None or elevation is None or not views:
            return
        for path, values in (
            (camera_dir / ROTATION_FILE, rotation),
            (camera_dir / ELEVATION_FILE, elevation),
        ):
            if len(values) != len(views):
                self.problem(
                    path,
                    "length",
                    f"{len(values)} entries, expected {len(views)} (one per view image in {shape_dir})",
                    shape_id,
                )
        if len(rotation) != len(views) or len(elevation) != len(views):
            return
        bad_elevation = np.abs(elevation) >= 90
        if np.any(bad_elevation):
            self.problem(
                camera_dir / ELEVATION_FILE,
                "values",
                f"expected elevations strictly inside (-90, 90) degrees, got {elevation[bad_elevation][:3]}",
                shape_id,
            )
            return
        azimuth, polar = camera_condition(rotation, elevation)
        cam2world = Cameras.from_angles(
            torch.from_numpy(azimuth), torch.from_numpy(polar), radius
        ).cam_to_world.numpy()
        for image, view in views:
            if view >= len(rotation):
                self.problem(
                    image,
                    "file name",
                    f"view index {view} is outside the {len(rotation)} camera entries",
                    shape_id,
                )
                continue
            self.records.append(
                ViewRecord(
                    image,
                    shape_id,
                    view,
                    float(azimuth[view]),
                    float(polar[view]),
                    cam2world[view],
                    DEFAULT_FOVY,
                )
            )

    def transforms_shape(self, shape_dir: Path, world_up: WorldUp) -> None:
        shape_id = shape_dir.name
        path = shape_dir / TRANSFORMS_FILE
        if not path.is_file():
            self.problem(
                path, "camera file", "does not exist (the transforms layout needs one per shape)", shape_id
            )
            return
        try:
            transforms = read_transforms(path)
        except TransformsError as err:
            self.problem(path, err.what, err.message, shape_id)
            return
        except OSError as err:
            self.problem(path, "camera file", f"unreadable ({err})", shape_id)
            return
        if self.fov is None:
            self.fov, self.fov_source = transforms.camera_angle_x, path
        elif not math.isclose(transforms.camera_angle_x, self.fov, abs_tol=1e-6):
            self.problem(
                path,
                "field 'camera_angle_x'",
                f"{transforms.camera_angle_x} differs from {self.fov} of {self.fov_source}; "
                "expected one field of view for the whole data set",
                shape_id,
            )
        matrices = torch.from_numpy(transforms.cam2world)
        if world_up is WorldUp.Z:
            matrices = blender_to_world(matrices)
        cam2world = matrices.numpy()
        azimuth, polar, _ = (a.numpy() for a in angles_from_position(matrices[:, :3, 3]))
        for view, (image, matrix) in enumerate(zip(transforms.image_paths, cam2world, strict=True)):
            self.check_image(image, shape_id)
            position, forward = matrix[:3, 3], -matrix[:3, 2]
            distance = float(np.linalg.norm(position))
            if distance <= 1e-9:
                where = f"field 'frames[{view}].transform_matrix'"
                self.problem(path, where, "the camera sits at the origin, inside the object", shape_id)
                continue
            cosine = float(np.dot(forward, -position) / distance)
            off = math.degrees(math.acos(max(-1.0, min(1.0, cosine))))
            if off > LOOK_AT_TOLERANCE_DEG:
                self.problem(
                    path,
                    f"field 'frames[{view}].transform_matrix'",
                    f"the camera looks {off:.2f} degrees away from the origin; expected cameras looking at "
                    f"the origin (within {LOOK_AT_TOLERANCE_DEG} degree)",
                    shape_id,
                )
                continue
            self.records.append(
                ViewRecord(
                    image,
                    shape_id,
                    view,
                    float(azimuth[view]),
                    float(polar[view]),
                    matrix,
                    transforms.camera_angle_x,
                )
            )
