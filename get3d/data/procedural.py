"""Procedural textured shape categories: chairs, tables and cars built from primitives.

Every shape is a union of convex parts (boxes, tapered boxes, cylinders) with random proportions,
random topology (four legs or a pedestal, a solid or slatted back, optional arms, a round or
rectangular top, a spoiler, ...) and a random procedural texture per part (plain, stripes,
checker, a racing band). Parts overlap instead of being merged, so the mesh is "watertight-ish":
each part is closed with outward normals, the union is not one manifold.

Textures are real texture maps: every planar face of a part (a box side, a cylinder's side or
cap) gets its own tile of a square atlas, and each texel is coloured by evaluating the part's
*solid* pattern at the 3-D surface point the texel stands for, so stripes continue across the
edges of a part. The result is a ``trimesh.Trimesh`` with UVs and a texture image, exported as
OBJ + MTL + PNG (or GLB) for prepare (:mod:`get3d.data.prepare`) and as ground truth for metrics.

Frame: the library's OBJ frame (Y up). Chairs and cars face -Z (the camera at azimuth 0 sees
their front); the car's length runs along Z. Every shape is centred on the origin with its
longest side 1, the box GET3D's tet grid spans at ``dmtet_scale = 1`` (``[-0.5, 0.5]^3``).
Generation is deterministic: the same ``(category, seed)`` gives the same mesh and texture.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

__all__ = ["Category", "generate_shape", "write_shape"]

_SECTIONS = 20  # sides of every cylinder


class Category(enum.Enum):
    """Procedural shape categories (values are the names; :attr:`synset` the ShapeNet id)."""

    CHAIR = "chair"
    TABLE = "table"
    CAR = "car"

    @property
    def synset(self) -> str:
        return {"chair": "03001627", "table": "04379243", "car": "02958343"}[self.value]


# ----------------------------------------------------------------------------------------------
# Solid patterns: world points [N, 3] -> RGB [N, 3] in [0, 1]
# ----------------------------------------------------------------------------------------------

Pattern = Callable[[np.ndarray], np.ndarray]


def _solid(color: np.ndarray) -> Pattern:
    return lambda p: np.broadcast_to(color, p.shape).copy()


def _stripes(c1: np.ndarray, c2: np.ndarray, axis: np.ndarray, period: float, duty: float) -> Pattern:
    def pattern(p: np.ndarray) -> np.ndarray:
        phase = np.mod(p @ axis / period, 1.0)
        return np.where((phase < duty)[:, None], c1, c2)

    return pattern


def _checker(c1: np.ndarray, c2: np.ndarray, cell: float) -> Pattern:
    def pattern(p: np.ndarray) -> np.ndarray:
        parity = np.floor(p / cell).astype(np.int64).sum(axis=1) % 2
        return np.where((parity == 0)[:, None], c1, c2)

    return pattern


def _band(base: np.ndarray, band: np.ndarray, width: float) -> Pattern:
    """A racing stripe: ``band`` where ``|x| < width / 2`` (the car's centre line), else ``base``."""
    return lambda p: np.where((np.abs(p[:, 0]) < width / 2)[:, None], band, base)


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    i = int(h * 6.0) % 6
    f = h * 6.0 - math.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return np.array([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i])


def _random_color(rng: np.random.Generator, saturation=(0.3, 0.9), value=(0.3, 0.95)) -> np.ndarray:
    return _hsv(rng.uniform(), rng.uniform(*saturation), rng.uniform(*value))


def _random_pattern(rng: np.random.Generator, base: np.ndarray, scale: float) -> Pattern:
    """Plain (50 %), stripes (25 %) or checker (25 %) around ``base``; ``scale`` ~ part size."""
    kind = rng.choice(["plain", "plain", "stripes", "checker"])
    if kind == "plain":
        return _solid(base)
    other = np.clip(base * rng.uniform(0.4, 0.7) + rng.uniform(0, 0.3, 3), 0, 1)
    if kind == "stripes":
        axis = np.eye(3)[rng.integers(0, 3)]
        return _stripes(base, other, axis, scale * rng.uniform(0.08, 0.25), rng.uniform(0.3, 0.7))
    return _checker(base, other, scale * rng.uniform(0.06, 0.15))


# ----------------------------------------------------------------------------------------------
# Patches and parts
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Patch:
    """A planar or cylindrical piece of a part with its own texture tile.

    ``kind`` "quad": bilinear map of ``frame`` (4 corners at (s, t) = (0,0), (1,0), (1,1), (0,1)).
    ``kind`` "side": cylinder side, ``frame`` = (centre, u, v, axis * height), s = angle / 2 pi.
    ``kind`` "disk": cylinder cap, ``frame`` = (centre, u * radius, v * radius, unused).
    """

    kind: str
    frame: np.ndarray  # [4, 3]
    center: np.ndarray  # [3] centre of the convex primitive the patch bounds (orients its faces)

    def points(self, s: np.ndarray, t: np.ndarray) -> np.ndarray:
        f = self.frame
        s, t = s[:, None], t[:, None]
        if self.kind == "quad":
            return (1 - s) * (1 - t) * f[0] + s * (1 - t) * f[1] + s * t * f[2] + (1 - s) * t * f[3]
        if self.kind == "side":
            angle = 2 * math.pi * s
            return f[0] + np.cos(angle) * f[1] + np.sin(angle) * f[2] + (t - 0.5) * f[3]
        return f[0] + (2 * s - 1) * f[1] + (2 * t - 1) * f[2]

    def triangulation(self) -> tuple[np.ndarray, np.ndarray]:
        """``(st [K, 2], faces [M, 3])`` in the patch's parameter square."""
        if self.kind == "quad":
            return np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float), np.array([[0, 1, 2], [0, 2, 3]])
        k = np.arange(_SECTIONS + 1)
        if self.kind == "side":
            s = np.concatenate([k / _SECTIONS, k / _SECTIONS])
            t = np.concatenate([np.zeros(_SECTIONS + 1), np.ones(_SECTIONS + 1)])
            a, b = k[:-1], k[:-1] + 1
            faces = np.concatenate(
                [
                    np.stack([a, b, b + _SECTIONS + 1], 1),
                    np.stack([a, b + _SECTIONS + 1, a + _SECTIONS + 1], 1),
                ]
            )
            return np.stack([s, t], 1), faces
        angle = 2 * math.pi * k[:-1] / _SECTIONS
        st = np.concatenate(
            [[[0.5, 0.5]], np.stack([0.5 + 0.5 * np.cos(angle), 0.5 + 0.5 * np.sin(angle)], 1)]
        )
        ring = np.arange(1, _SECTIONS + 1)
        faces = np.stack([np.zeros(_SECTIONS, int), ring, np.roll(ring, -1)], 1)
        return st, faces


@dataclass(frozen=True, eq=False)
class _Part:
    name: str
    patches: tuple[_Patch, ...]
    pattern: Pattern


def _hexahedron(bottom: np.ndarray, top: np.ndarray) -> list[_Patch]:
    """Six quads of a convex hexahedron from its bottom and top rectangles (4 corners each, same order)."""
    faces = [bottom[[0, 1, 2, 3]], top[[0, 1, 2, 3]]]
    for i in range(4):
        j = (i + 1) % 4
        faces.append(np.stack([bottom[i], bottom[j], top[j], top[i]]))
    center = (bottom.mean(0) + top.mean(0)) / 2
    return [_Patch("quad", f.astype(float), center) for f in faces]


def _box(center, size, top_scale=(1.0, 1.0), top_shift=(0.0, 0.0), tilt_x: float = 0.0) -> list[_Patch]:
    """A box of ``size`` (x, y, z) at ``center``; the top face may shrink/shift (a tapered box).

    ``tilt_x`` rotates the box about the x axis through its bottom centre (backrests lean back).
    """
    cx, cy, cz = center
    sx, sy, sz = np.asarray(size, float) / 2
    rect = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float)
    bottom = np.stack([rect[:, 0] * sx, np.full(4, -sy), rect[:, 1] * sz], 1)
    top = np.stack(
        [
            rect[:, 0] * sx * top_scale[0] + top_shift[0],
            np.full(4, sy),
            rect[:, 1] * sz * top_scale[1] + top_shift[1],
        ],
        1,
    )
    if tilt_x:
        c, s = math.cos(tilt_x), math.sin(tilt_x)
        rot = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
        pivot = np.array([0, -sy, 0])
        bottom, top = (bottom - pivot) @ rot.T + pivot, (top - pivot) @ rot.T + pivot
    offset = np.array([cx, cy, cz], float)
    return _hexahedron(bottom + offset, top + offset)


def _cylinder(center, radius: float, height: float, axis: str = "y") -> list[_Patch]:
    """A closed cylinder about the ``axis`` ("x", "y" or "z") through ``center``."""
    a = {"x": 0, "y": 1, "z": 2}[axis]
    direction, u, v = np.eye(3)[a], np.eye(3)[(a + 1) % 3], np.eye(3)[(a + 2) % 3]
    c = np.asarray(center, float)
    side = _Patch("side", np.stack([c, radius * u, radius * v, height * direction]), c)
    caps = [
        _Patch("disk", np.stack([c + sign * height / 2 * direction, radius * u, radius * v, np.zeros(3)]), c)
        for sign in (-1.0, 1.0)
    ]
    return [side, *caps]


# ----------------------------------------------------------------------------------------------
# Categories
# ----------------------------------------------------------------------------------------------


def _legs(half_w, half_d, top_y, inset, thickness, round_legs, splay=0.0) -> list[_Patch]:
    patches: list[_Patch] = []
    for sx in (-1, 1):
        for sz in (-1, 1):
            x, z = sx * (half_w - inset), sz * (half_d - inset)
            if round_legs:
                patches += _cylinder((x, top_y / 2, z), thickness / 2, top_y)
            else:
                shift = (-sx * splay, -sz * splay)  # feet further out than the tops
                patches += _box(
                    (x - shift[0], top_y / 2, z - shift[1]), (thickness, top_y, thickness), top_shift=shift
                )
    return patches


def _pedestal(rng, height, column_radius, foot_length, n_feet) -> list[_Patch]:
    patches = _cylinder((0, height / 2, 0), column_radius, height)
    foot_h = max(0.02, column_radius * 0.8)
    if n_feet == 0:
        return patches + _cylinder((0, foot_h / 2, 0), foot_length, foot_h)
    for k in range(n_feet):
        angle = 2 * math.pi * k / n_feet + rng.uniform(0, 0.2)
        mid = np.array([math.cos(angle), 0, math.sin(angle)]) * foot_length / 2
        # a foot is a thin box; axis-aligned boxes only, so approximate its direction by a tapered box
        patches += _rotated_box_y(mid + [0, foot_h / 2, 0], (foot_length, foot_h, foot_h * 1.5), angle)
    return patches


def _rotated_box_y(center, size, angle: float) -> list[_Patch]:
    patches = _box((0, 0, 0), size)
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])  # maps +x to (cos a, 0, sin a)
    shift = np.asarray(center, float)
    return [_Patch(p.kind, p.frame @ rot.T + shift, p.center @ rot.T + shift) for p in patches]


def _chair(rng: np.random.Generator) -> list[_Part]:
    w, d = rng.uniform(0.4, 0.6), rng.uniform(0.4, 0.6)
    seat_h, seat_t = rng.uniform(0.35, 0.5), rng.uniform(0.03, 0.08)
    frame_color = _random_color(rng, value=(0.15, 0.7))
    cushion = _random_color(rng)
    parts = []
    if rng.uniform() < 0.8:
        seat = _box((0, seat_h + seat_t / 2, 0), (w, seat_t, d))
    else:
        seat = _cylinder((0, seat_h + seat_t / 2, 0), max(w, d) / 2, seat_t)
    parts.append(_Part("seat", tuple(seat), _random_pattern(rng, cushion, w)))
    leg_t = rng.uniform(0.025, 0.05)
    if rng.uniform() < 0.7:
        legs = _legs(
            w / 2,
            d / 2,
            seat_h,
            rng.uniform(0.0, 0.05) + leg_t / 2,
            leg_t,
            rng.uniform() < 0.4,
            rng.uniform(0, 0.03),
        )
    else:
        legs = _pedestal(
            rng, seat_h, rng.uniform(0.02, 0.04), rng.uniform(0.18, 0.3), int(rng.choice([0, 4, 5]))
        )
    parts.append(_Part("legs", tuple(legs), _random_pattern(rng, frame_color, 0.5)))
    back_h, back_t = rng.uniform(0.3, 0.5), rng.uniform(0.03, 0.06)
    tilt = math.radians(rng.uniform(0, 15))
    back_z = d / 2 - back_t / 2
    base_y = seat_h + seat_t
    if rng.uniform() < 0.6:
        back = _box(
            (0, base_y + back_h / 2, back_z),
            (w, back_h, back_t),
            top_scale=(rng.uniform(0.8, 1.0), 1.0),
            tilt_x=tilt,
        )
    else:  # two posts and slats
        post = rng.uniform(0.03, 0.05)
        back = []
        for sx in (-1, 1):
            back += _box(
                (sx * (w / 2 - post / 2), base_y + back_h / 2, back_z), (post, back_h, back_t), tilt_x=tilt
            )
        n_slats = int(rng.integers(2, 5))
        slat_h = rng.uniform(0.03, 0.06)
        for k in range(n_slats):
            y = base_y + back_h * (k + 1) / (n_slats + 0.5)
            z = back_z + math.sin(tilt) * (y - base_y)
            back += _box((0, y, z), (w - post, slat_h, back_t * 0.7))
    parts.append(
        _Part("back", tuple(back), _random_pattern(rng, cushion if rng.uniform() < 0.5 else frame_color, w))
    )
    if rng.uniform() < 0.4:
        arm_h, arm_t = rng.uniform(0.15, 0.25), rng.uniform(0.03, 0.06)
        arms = []
        for sx in (-1, 1):
            x = sx * (w / 2 + arm_t / 2)
            arms += _box((x, base_y + arm_h, 0), (arm_t, arm_t, d))
            arms += _box((x, base_y + arm_h / 2, -d / 2 + arm_t), (arm_t * 0.8, arm_h, arm_t * 0.8))
        parts.append(_Part("arms", tuple(arms), _random_pattern(rng, frame_color, 0.5)))
    return parts


def _table(rng: np.random.Generator) -> list[_Part]:
    height, top_t = rng.uniform(0.5, 0.8), rng.uniform(0.03, 0.07)
    top_color, leg_color = _random_color(rng), _random_color(rng, value=(0.15, 0.7))
    round_top = rng.uniform() < 0.3
    if round_top:
        radius = rng.uniform(0.35, 0.6)
        top = _cylinder((0, height - top_t / 2, 0), radius, top_t)
        half_w = half_d = radius / math.sqrt(2)
    else:
        half_w, half_d = rng.uniform(0.35, 0.7), rng.uniform(0.25, 0.5)
        top = _box((0, height - top_t / 2, 0), (2 * half_w, top_t, 2 * half_d))
    parts = [_Part("top", tuple(top), _random_pattern(rng, top_color, 2 * half_w))]
    leg_h = height - top_t
    style = rng.choice(["legs", "legs", "pedestal", "trestle"])
    if style == "legs":
        leg_t = rng.uniform(0.03, 0.07)
        legs = _legs(half_w, half_d, leg_h, leg_t / 2 + rng.uniform(0, 0.06), leg_t, rng.uniform() < 0.4)
        if rng.uniform() < 0.4:  # a lower shelf
            shelf_y = leg_h * rng.uniform(0.15, 0.35)
            legs += _box((0, shelf_y, 0), (2 * half_w * 0.9, top_t * 0.7, 2 * half_d * 0.9))
    elif style == "pedestal":
        legs = _pedestal(
            rng,
            leg_h,
            rng.uniform(0.03, 0.07),
            min(half_w, half_d) * rng.uniform(1.0, 1.6),
            int(rng.choice([0, 3, 4])),
        )
    else:
        panel_t = rng.uniform(0.03, 0.06)
        legs = []
        for sx in (-1, 1):
            legs += _box(
                (sx * (half_w * 0.8), leg_h / 2, 0),
                (panel_t, leg_h, 2 * half_d * 0.8),
                top_scale=(1.0, rng.uniform(0.5, 1.0)),
            )
        legs += _box((0, leg_h * 0.3, 0), (2 * half_w * 0.8, panel_t, panel_t))
    parts.append(_Part("legs", tuple(legs), _random_pattern(rng, leg_color, 0.5)))
    return parts


def _car(rng: np.random.Generator) -> list[_Part]:
    length = 1.0
    width, body_h = rng.uniform(0.38, 0.5), rng.uniform(0.12, 0.22)
    wheel_r, wheel_w = rng.uniform(0.07, 0.11), rng.uniform(0.05, 0.09)
    clearance = wheel_r * rng.uniform(0.5, 0.9)
    paint = _random_color(rng, saturation=(0.5, 1.0), value=(0.4, 0.95))
    body_y = clearance + body_h / 2
    body = _box(
        (0, body_y, 0), (width, body_h, length), top_scale=(rng.uniform(0.9, 1.0), rng.uniform(0.85, 1.0))
    )
    if rng.uniform() < 0.5:
        body_pattern = _solid(paint)
    else:
        body_pattern = _band(paint, _random_color(rng, value=(0.8, 1.0)), width * rng.uniform(0.12, 0.3))
    parts = [_Part("body", tuple(body), body_pattern)]
    cabin_len = length * rng.uniform(0.35, 0.6)
    cabin_h = rng.uniform(0.1, 0.18)
    cabin_z = rng.uniform(-0.05, 0.12)  # towards the back (+Z)
    cabin = _box(
        (0, clearance + body_h + cabin_h / 2, cabin_z),
        (width * rng.uniform(0.8, 0.95), cabin_h, cabin_len),
        top_scale=(rng.uniform(0.75, 0.95), rng.uniform(0.45, 0.8)),
        top_shift=(0.0, rng.uniform(0.0, 0.05)),
    )
    glass = _random_color(rng, saturation=(0.1, 0.4), value=(0.15, 0.4))
    parts.append(
        _Part(
            "cabin",
            tuple(cabin),
            _stripes(glass, paint, np.array([0, 1.0, 0]), cabin_h * 2, 0.8)
            if rng.uniform() < 0.5
            else _solid(glass),
        )
    )
    wheels, hubs = [], []
    axle = length / 2 - wheel_r * rng.uniform(1.2, 1.8)
    for sx in (-1, 1):
        for sz in (-1, 1):
            centre = (sx * (width / 2 - wheel_w / 4), wheel_r, sz * axle)
            wheels += _cylinder(centre, wheel_r, wheel_w, axis="x")
            hubs += _cylinder(
                (centre[0] + sx * wheel_w * 0.3, wheel_r, centre[2]), wheel_r * 0.5, wheel_w * 0.5, axis="x"
            )
    parts.append(_Part("wheels", tuple(wheels), _solid(np.array([0.06, 0.06, 0.07]))))
    parts.append(
        _Part("hubs", tuple(hubs), _solid(_random_color(rng, saturation=(0.0, 0.2), value=(0.6, 0.9))))
    )
    lamp = np.array([1.0, 0.95, 0.7])
    lights = []
    for sx in (-1, 1):
        lights += _box(
            (sx * width * 0.32, body_y + body_h * 0.2, -length / 2), (width * 0.18, body_h * 0.25, 0.02)
        )
    parts.append(_Part("lights", tuple(lights), _solid(lamp)))
    if rng.uniform() < 0.3:
        spoiler_y = clearance + body_h + rng.uniform(0.04, 0.08)
        spoiler = _box((0, spoiler_y, length / 2 - 0.06), (width * 0.9, 0.015, 0.08))
        for sx in (-1, 1):
            spoiler += _box(
                (sx * width * 0.3, (clearance + body_h + spoiler_y) / 2, length / 2 - 0.06),
                (0.02, spoiler_y - clearance - body_h, 0.03),
            )
        parts.append(_Part("spoiler", tuple(spoiler), _solid(paint * 0.6)))
    return parts


_BUILDERS = {Category.CHAIR: _chair, Category.TABLE: _table, Category.CAR: _car}


# ----------------------------------------------------------------------------------------------
# Assembly: atlas, texture baking, normalisation
# ----------------------------------------------------------------------------------------------


def generate_shape(category: Category | str, seed: int, texture_size: int = 512) -> trimesh.Trimesh:
    """One procedural textured shape.

    Args:
        category: a :class:`Category` or its value (``"chair"``, ``"table"``, ``"car"``).
        seed: non-negative int; the same ``(category, seed)`` always gives the same shape.
        texture_size: side of the square texture atlas in texels.

    Returns:
        A ``trimesh.Trimesh`` in the OBJ frame (Y up), centred on the origin, longest side 1, with
        outward-facing triangles per part, ``visual.uv`` and a ``visual.material.image`` (RGB).
        ``metadata`` holds ``category``, ``seed`` and ``parts`` (name of each face's part,
        per-face indices in ``metadata["face_part"]``).
    """
    try:
        category = Category(category)
    except ValueError:
        names = ", ".join(c.value for c in Category)
        raise ValueError(f"category: expected one of {names}, got {category!r}") from None
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
    if isinstance(texture_size, bool) or not isinstance(texture_size, int) or texture_size < 64:
        raise ValueError(f"texture_size: expected an int >= 64, got {texture_size!r}")
    code = list(Category).index(category)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), code, 20261125]))
    parts = _BUILDERS[category](rng)
    return _assemble(parts, texture_size, {"category": category.value, "seed": int(seed)})


def _assemble(parts: list[_Part], texture_size: int, metadata: dict) -> trimesh.Trimesh:
    patches = [(k, patch) for k, part in enumerate(parts) for patch in part.patches]
    grid = math.ceil(math.sqrt(len(patches)))
    tile = texture_size // grid
    if tile < 4:
        raise ValueError(f"texture_size: {texture_size} is too small for {len(patches)} patches")
    pad = 1.5  # texels of border each side of a tile, filled by extrapolating the patch's map
    image = np.zeros((texture_size, texture_size, 3))
    vertices, uvs, faces, face_part = [], [], [], []
    offset = 0
    for index, (k, patch) in enumerate(patches):
        row, col = divmod(index, grid)
        # texel centres of the tile, in patch parameters (s, t); v = t grows upwards in the image
        texel = (np.arange(tile) + 0.5 - pad) / (tile - 2 * pad)
        s, t = np.meshgrid(texel, texel, indexing="xy")
        colors = parts[k].pattern(patch.points(s.ravel(), t.ravel())).reshape(tile, tile, 3)
        top = texture_size - (row + 1) * tile  # image row 0 is v = 1
        image[top : top + tile, col * tile : (col + 1) * tile] = colors[::-1]
        st, tri = patch.triangulation()
        points = patch.points(st[:, 0], st[:, 1])
        u = (col * tile + pad + st[:, 0] * (tile - 2 * pad)) / texture_size
        v = (row * tile + pad + st[:, 1] * (tile - 2 * pad)) / texture_size
        # orient every triangle away from the centre of its convex primitive
        normal = np.cross(points[tri[:, 1]] - points[tri[:, 0]], points[tri[:, 2]] - points[tri[:, 0]])
        outward = ((points[tri].mean(1) - patch.center) * normal).sum(1) >= 0
        tri = np.where(outward[:, None], tri, tri[:, [0, 2, 1]])
        vertices.append(points)
        uvs.append(np.stack([u, v], 1))
        faces.append(tri + offset)
        face_part.append(np.full(len(tri), k))
        offset += len(points)
    vertices = np.concatenate(vertices)
    lo, hi = vertices.min(0), vertices.max(0)
    vertices = (vertices - (lo + hi) / 2) / (hi - lo).max()
    texture = Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))
    mesh = trimesh.Trimesh(vertices=vertices, faces=np.concatenate(faces), process=False)
    material = trimesh.visual.material.SimpleMaterial(image=texture, diffuse=[255, 255, 255, 255])
    mesh.visual = trimesh.visual.TextureVisuals(uv=np.concatenate(uvs), material=material)
    mesh.metadata.update(metadata, parts=[p.name for p in parts], face_part=np.concatenate(face_part))
    return mesh


def write_shape(mesh: trimesh.Trimesh, folder: str | Path, file_format: str = "obj") -> Path:
    """Write ``mesh`` as ``<folder>/model.obj`` (+ ``material.mtl`` and ``material_0.png``) or ``model.glb``.

    One shape per folder (the OBJ exporter's material file names are fixed), ShapeNet style.
    """
    if file_format not in ("obj", "glb"):
        raise ValueError(f"file_format: expected 'obj' or 'glb', got {file_format!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"model.{file_format}"
    mesh.export(path)
    return path
