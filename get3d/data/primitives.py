"""Building blocks of the procedural shapes: solid patterns, primitives with texture tiles, baking.

A primitive (box, tapered box, cylinder) is a list of :class:`Patch` es: planar quads, a cylinder's
side or a cap, each with a parametrisation ``(s, t) in [0, 1]^2 -> 3-D`` and a triangulation. A
:class:`Part` groups primitives that share a solid :data:`Pattern` (a colour as a function of the
3-D point). :func:`assemble` gives every patch its own tile of a square texture atlas, colours each
texel by evaluating the pattern at the surface point the texel stands for (so stripes run on across
a primitive's edges), orients every triangle away from its convex primitive's centre, and returns a
textured ``trimesh.Trimesh`` normalised to the unit box. Used by :mod:`get3d.data.procedural`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import trimesh
from PIL import Image

from dmtet.box import box_center_extent

__all__ = [
    "Part",
    "Patch",
    "Pattern",
    "assemble",
    "band",
    "box",
    "checker",
    "cylinder",
    "random_color",
    "random_pattern",
    "rotated_box_y",
    "solid",
    "stripes",
]

SECTIONS = 20  # sides of every cylinder


# ----------------------------------------------------------------------------------------------
# Solid patterns: world points [N, 3] -> RGB [N, 3] in [0, 1]
# ----------------------------------------------------------------------------------------------

Pattern = Callable[[np.ndarray], np.ndarray]


def solid(color: np.ndarray) -> Pattern:
    return lambda p: np.broadcast_to(color, p.shape).copy()


def stripes(c1: np.ndarray, c2: np.ndarray, axis: np.ndarray, period: float, duty: float) -> Pattern:
    def pattern(p: np.ndarray) -> np.ndarray:
        phase = np.mod(p @ axis / period, 1.0)
        return np.where((phase < duty)[:, None], c1, c2)

    return pattern


def checker(c1: np.ndarray, c2: np.ndarray, cell: float) -> Pattern:
    def pattern(p: np.ndarray) -> np.ndarray:
        parity = np.floor(p / cell).astype(np.int64).sum(axis=1) % 2
        return np.where((parity == 0)[:, None], c1, c2)

    return pattern


def band(base: np.ndarray, band: np.ndarray, width: float) -> Pattern:
    """A racing stripe: ``band`` where ``|x| < width / 2`` (the car's centre line), else ``base``."""
    return lambda p: np.where((np.abs(p[:, 0]) < width / 2)[:, None], band, base)


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    i = int(h * 6.0) % 6
    f = h * 6.0 - math.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return np.array([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i])


def random_color(rng: np.random.Generator, saturation=(0.3, 0.9), value=(0.3, 0.95)) -> np.ndarray:
    return _hsv(rng.uniform(), rng.uniform(*saturation), rng.uniform(*value))


def random_pattern(rng: np.random.Generator, base: np.ndarray, scale: float) -> Pattern:
    """Plain (50 %), stripes (25 %) or checker (25 %) around ``base``; ``scale`` ~ part size."""
    kind = rng.choice(["plain", "plain", "stripes", "checker"])
    if kind == "plain":
        return solid(base)
    other = np.clip(base * rng.uniform(0.4, 0.7) + rng.uniform(0, 0.3, 3), 0, 1)
    if kind == "stripes":
        axis = np.eye(3)[rng.integers(0, 3)]
        return stripes(base, other, axis, scale * rng.uniform(0.08, 0.25), rng.uniform(0.3, 0.7))
    return checker(base, other, scale * rng.uniform(0.06, 0.15))


# ----------------------------------------------------------------------------------------------
# Patches and parts
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Patch:
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
        k = np.arange(SECTIONS + 1)
        if self.kind == "side":
            s = np.concatenate([k / SECTIONS, k / SECTIONS])
            t = np.concatenate([np.zeros(SECTIONS + 1), np.ones(SECTIONS + 1)])
            a, b = k[:-1], k[:-1] + 1
            faces = np.concatenate(
                [
                    np.stack([a, b, b + SECTIONS + 1], 1),
                    np.stack([a, b + SECTIONS + 1, a + SECTIONS + 1], 1),
                ]
            )
            return np.stack([s, t], 1), faces
        angle = 2 * math.pi * k[:-1] / SECTIONS
        st = np.concatenate(
            [[[0.5, 0.5]], np.stack([0.5 + 0.5 * np.cos(angle), 0.5 + 0.5 * np.sin(angle)], 1)]
        )
        ring = np.arange(1, SECTIONS + 1)
        faces = np.stack([np.zeros(SECTIONS, int), ring, np.roll(ring, -1)], 1)
        return st, faces


@dataclass(frozen=True, eq=False)
class Part:
    name: str
    patches: tuple[Patch, ...]
    pattern: Pattern


def _hexahedron(bottom: np.ndarray, top: np.ndarray) -> list[Patch]:
    """Six quads of a convex hexahedron from its bottom and top rectangles (4 corners each, same order)."""
    faces = [bottom[[0, 1, 2, 3]], top[[0, 1, 2, 3]]]
    for i in range(4):
        j = (i + 1) % 4
        faces.append(np.stack([bottom[i], bottom[j], top[j], top[i]]))
    center = (bottom.mean(0) + top.mean(0)) / 2
    return [Patch("quad", f.astype(float), center) for f in faces]


def box(center, size, top_scale=(1.0, 1.0), top_shift=(0.0, 0.0), tilt_x: float = 0.0) -> list[Patch]:
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


def cylinder(center, radius: float, height: float, axis: str = "y") -> list[Patch]:
    """A closed cylinder about the ``axis`` ("x", "y" or "z") through ``center``."""
    a = {"x": 0, "y": 1, "z": 2}[axis]
    direction, u, v = np.eye(3)[a], np.eye(3)[(a + 1) % 3], np.eye(3)[(a + 2) % 3]
    c = np.asarray(center, float)
    side = Patch("side", np.stack([c, radius * u, radius * v, height * direction]), c)
    caps = [
        Patch("disk", np.stack([c + sign * height / 2 * direction, radius * u, radius * v, np.zeros(3)]), c)
        for sign in (-1.0, 1.0)
    ]
    return [side, *caps]


def rotated_box_y(center, size, angle: float) -> list[Patch]:
    patches = box((0, 0, 0), size)
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])  # maps +x to (cos a, 0, sin a)
    shift = np.asarray(center, float)
    return [Patch(p.kind, p.frame @ rot.T + shift, p.center @ rot.T + shift) for p in patches]


# ----------------------------------------------------------------------------------------------
# Atlas and baking
# ----------------------------------------------------------------------------------------------


def assemble(parts: list[Part], texture_size: int, metadata: dict) -> trimesh.Trimesh:
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
    center, extent = box_center_extent(torch.from_numpy(vertices), "vertices")
    vertices = (vertices - center.numpy()) / extent
    texture = Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8))
    mesh = trimesh.Trimesh(vertices=vertices, faces=np.concatenate(faces), process=False)
    material = trimesh.visual.material.SimpleMaterial(image=texture, diffuse=[255, 255, 255, 255])
    mesh.visual = trimesh.visual.TextureVisuals(uv=np.concatenate(uvs), material=material)
    mesh.metadata.update(metadata, parts=[p.name for p in parts], face_part=np.concatenate(face_part))
    return mesh
