"""Procedural textured shape categories: chairs, tables and cars built from primitives.

Every shape is a union of convex parts (boxes, tapered boxes, cylinders) with random proportions,
random topology (four legs or a pedestal, a solid or slatted back, optional arms, a round or
rectangular top, a spoiler, ...) and a random procedural texture per part (plain, stripes,
checker, a racing band). Primitives overlap instead of being merged, so the mesh is
"watertight-ish": each primitive is a closed convex surface with outward normals, the union is not
one manifold.

Textures are real texture maps: every planar face of a part (a box side, a cylinder's side or
cap) gets its own tile of a square atlas, and each texel is coloured by evaluating the part's
*solid* pattern at the 3-D surface point the texel stands for, so stripes continue across the
edges of a part. The result is a ``trimesh.Trimesh`` with UVs and a texture image, exported as
OBJ + MTL + PNG (or GLB) for prepare (:mod:`get3d.data.prepare`) and as ground truth for metrics.
The building blocks (patterns, primitives, atlas baking) live in :mod:`get3d.data.primitives`.

Frame: the library's OBJ frame (Y up). Chairs and cars face -Z (the camera at azimuth 0 sees
their front); the car's length runs along Z. Every shape is centred on the origin with its
longest side 1, the box GET3D's tet grid spans at ``dmtet_scale = 1`` (``[-0.5, 0.5]^3``).
Generation is deterministic: the same ``(category, seed)`` gives the same mesh and texture.
"""

from __future__ import annotations

import enum
import math
from pathlib import Path

import numpy as np
import trimesh

from .primitives import (
    Part,
    Patch,
    assemble,
    band,
    box,
    cylinder,
    random_color,
    random_pattern,
    rotated_box_y,
    solid,
    stripes,
)

__all__ = ["Category", "generate_shape", "write_shape"]


class Category(enum.Enum):
    """Procedural shape categories (values are the names; :attr:`synset` the ShapeNet id)."""

    CHAIR = "chair"
    TABLE = "table"
    CAR = "car"

    @property
    def synset(self) -> str:
        return {"chair": "03001627", "table": "04379243", "car": "02958343"}[self.value]


# ----------------------------------------------------------------------------------------------
# Categories
# ----------------------------------------------------------------------------------------------


def _legs(half_w, half_d, top_y, inset, thickness, round_legs, splay=0.0) -> list[Patch]:
    patches: list[Patch] = []
    for sx in (-1, 1):
        for sz in (-1, 1):
            x, z = sx * (half_w - inset), sz * (half_d - inset)
            if round_legs:
                patches += cylinder((x, top_y / 2, z), thickness / 2, top_y)
            else:
                shift = (-sx * splay, -sz * splay)  # feet further out than the tops
                patches += box(
                    (x - shift[0], top_y / 2, z - shift[1]), (thickness, top_y, thickness), top_shift=shift
                )
    return patches


def _pedestal(rng, height, column_radius, foot_length, n_feet) -> list[Patch]:
    patches = cylinder((0, height / 2, 0), column_radius, height)
    foot_h = max(0.02, column_radius * 0.8)
    if n_feet == 0:
        return patches + cylinder((0, foot_h / 2, 0), foot_length, foot_h)
    for k in range(n_feet):
        angle = 2 * math.pi * k / n_feet + rng.uniform(0, 0.2)
        mid = np.array([math.cos(angle), 0, math.sin(angle)]) * foot_length / 2
        # a foot is a thin box; axis-aligned boxes only, so approximate its direction by a tapered box
        patches += rotated_box_y(mid + [0, foot_h / 2, 0], (foot_length, foot_h, foot_h * 1.5), angle)
    return patches


def _chair(rng: np.random.Generator) -> list[Part]:
    w, d = rng.uniform(0.4, 0.6), rng.uniform(0.4, 0.6)
    seat_h, seat_t = rng.uniform(0.35, 0.5), rng.uniform(0.03, 0.08)
    frame_color = random_color(rng, value=(0.15, 0.7))
    cushion = random_color(rng)
    parts = []
    if rng.uniform() < 0.8:
        seat = box((0, seat_h + seat_t / 2, 0), (w, seat_t, d))
    else:
        seat = cylinder((0, seat_h + seat_t / 2, 0), max(w, d) / 2, seat_t)
    parts.append(Part("seat", tuple(seat), random_pattern(rng, cushion, w)))
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
    parts.append(Part("legs", tuple(legs), random_pattern(rng, frame_color, 0.5)))
    back_h, back_t = rng.uniform(0.3, 0.5), rng.uniform(0.03, 0.06)
    tilt = math.radians(rng.uniform(0, 15))
    back_z = d / 2 - back_t / 2
    base_y = seat_h + seat_t
    if rng.uniform() < 0.6:
        back = box(
            (0, base_y + back_h / 2, back_z),
            (w, back_h, back_t),
            top_scale=(rng.uniform(0.8, 1.0), 1.0),
            tilt_x=tilt,
        )
    else:  # two posts and slats
        post = rng.uniform(0.03, 0.05)
        back = []
        for sx in (-1, 1):
            back += box(
                (sx * (w / 2 - post / 2), base_y + back_h / 2, back_z), (post, back_h, back_t), tilt_x=tilt
            )
        n_slats = int(rng.integers(2, 5))
        slat_h = rng.uniform(0.03, 0.06)
        for k in range(n_slats):
            y = base_y + back_h * (k + 1) / (n_slats + 0.5)
            z = back_z + math.sin(tilt) * (y - base_y)
            back += box((0, y, z), (w - post, slat_h, back_t * 0.7))
    parts.append(
        Part("back", tuple(back), random_pattern(rng, cushion if rng.uniform() < 0.5 else frame_color, w))
    )
    if rng.uniform() < 0.4:
        arm_h, arm_t = rng.uniform(0.15, 0.25), rng.uniform(0.03, 0.06)
        arms = []
        for sx in (-1, 1):
            x = sx * (w / 2 + arm_t / 2)
            arms += box((x, base_y + arm_h, 0), (arm_t, arm_t, d))
            arms += box((x, base_y + arm_h / 2, -d / 2 + arm_t), (arm_t * 0.8, arm_h, arm_t * 0.8))
        parts.append(Part("arms", tuple(arms), random_pattern(rng, frame_color, 0.5)))
    return parts


def _table(rng: np.random.Generator) -> list[Part]:
    height, top_t = rng.uniform(0.5, 0.8), rng.uniform(0.03, 0.07)
    top_color, leg_color = random_color(rng), random_color(rng, value=(0.15, 0.7))
    round_top = rng.uniform() < 0.3
    if round_top:
        radius = rng.uniform(0.35, 0.6)
        top = cylinder((0, height - top_t / 2, 0), radius, top_t)
        half_w = half_d = radius / math.sqrt(2)
    else:
        half_w, half_d = rng.uniform(0.35, 0.7), rng.uniform(0.25, 0.5)
        top = box((0, height - top_t / 2, 0), (2 * half_w, top_t, 2 * half_d))
    parts = [Part("top", tuple(top), random_pattern(rng, top_color, 2 * half_w))]
    leg_h = height - top_t
    style = rng.choice(["legs", "legs", "pedestal", "trestle"])
    if style == "legs":
        leg_t = rng.uniform(0.03, 0.07)
        legs = _legs(half_w, half_d, leg_h, leg_t / 2 + rng.uniform(0, 0.06), leg_t, rng.uniform() < 0.4)
        if rng.uniform() < 0.4:  # a lower shelf
            shelf_y = leg_h * rng.uniform(0.15, 0.35)
            legs += box((0, shelf_y, 0), (2 * half_w * 0.9, top_t * 0.7, 2 * half_d * 0.9))
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
            legs += box(
                (sx * (half_w * 0.8), leg_h / 2, 0),
                (panel_t, leg_h, 2 * half_d * 0.8),
                top_scale=(1.0, rng.uniform(0.5, 1.0)),
            )
        legs += box((0, leg_h * 0.3, 0), (2 * half_w * 0.8, panel_t, panel_t))
    parts.append(Part("legs", tuple(legs), random_pattern(rng, leg_color, 0.5)))
    return parts


def _car(rng: np.random.Generator) -> list[Part]:
    length = 1.0
    width, body_h = rng.uniform(0.38, 0.5), rng.uniform(0.12, 0.22)
    wheel_r, wheel_w = rng.uniform(0.07, 0.11), rng.uniform(0.05, 0.09)
    clearance = wheel_r * rng.uniform(0.5, 0.9)
    paint = random_color(rng, saturation=(0.5, 1.0), value=(0.4, 0.95))
    body_y = clearance + body_h / 2
    body = box(
        (0, body_y, 0), (width, body_h, length), top_scale=(rng.uniform(0.9, 1.0), rng.uniform(0.85, 1.0))
    )
    if rng.uniform() < 0.5:
        body_pattern = solid(paint)
    else:
        body_pattern = band(paint, random_color(rng, value=(0.8, 1.0)), width * rng.uniform(0.12, 0.3))
    parts = [Part("body", tuple(body), body_pattern)]
    cabin_len = length * rng.uniform(0.35, 0.6)
    cabin_h = rng.uniform(0.1, 0.18)
    cabin_z = rng.uniform(-0.05, 0.12)  # towards the back (+Z)
    cabin = box(
        (0, clearance + body_h + cabin_h / 2, cabin_z),
        (width * rng.uniform(0.8, 0.95), cabin_h, cabin_len),
        top_scale=(rng.uniform(0.75, 0.95), rng.uniform(0.45, 0.8)),
        top_shift=(0.0, rng.uniform(0.0, 0.05)),
    )
    glass = random_color(rng, saturation=(0.1, 0.4), value=(0.15, 0.4))
    parts.append(
        Part(
            "cabin",
            tuple(cabin),
            stripes(glass, paint, np.array([0, 1.0, 0]), cabin_h * 2, 0.8)
            if rng.uniform() < 0.5
            else solid(glass),
        )
    )
    wheels, hubs = [], []
    axle = length / 2 - wheel_r * rng.uniform(1.2, 1.8)
    for sx in (-1, 1):
        for sz in (-1, 1):
            centre = (sx * (width / 2 - wheel_w / 4), wheel_r, sz * axle)
            wheels += cylinder(centre, wheel_r, wheel_w, axis="x")
            hubs += cylinder(
                (centre[0] + sx * wheel_w * 0.3, wheel_r, centre[2]), wheel_r * 0.5, wheel_w * 0.5, axis="x"
            )
    parts.append(Part("wheels", tuple(wheels), solid(np.array([0.06, 0.06, 0.07]))))
    parts.append(Part("hubs", tuple(hubs), solid(random_color(rng, saturation=(0.0, 0.2), value=(0.6, 0.9)))))
    lamp = np.array([1.0, 0.95, 0.7])
    lights = []
    for sx in (-1, 1):
        lights += box(
            (sx * width * 0.32, body_y + body_h * 0.2, -length / 2), (width * 0.18, body_h * 0.25, 0.02)
        )
    parts.append(Part("lights", tuple(lights), solid(lamp)))
    if rng.uniform() < 0.3:
        spoiler_y = clearance + body_h + rng.uniform(0.04, 0.08)
        spoiler = box((0, spoiler_y, length / 2 - 0.06), (width * 0.9, 0.015, 0.08))
        for sx in (-1, 1):
            spoiler += box(
                (sx * width * 0.3, (clearance + body_h + spoiler_y) / 2, length / 2 - 0.06),
                (0.02, spoiler_y - clearance - body_h, 0.03),
            )
        parts.append(Part("spoiler", tuple(spoiler), solid(paint * 0.6)))
    return parts


_BUILDERS = {Category.CHAIR: _chair, Category.TABLE: _table, Category.CAR: _car}


# ----------------------------------------------------------------------------------------------
# The public API
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
    return assemble(parts, texture_size, {"category": category.value, "seed": int(seed)})


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
