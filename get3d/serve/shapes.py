"""What the interactive page asks for and gets: a validated request, its latents, the textured mesh.

No web framework here (``get3d.serve.app`` is the thin HTTP shell). A :class:`ShapeRequest` names
two samples A and B (geometry seeds, texture seeds) and a point of GET3D's geometry x texture
grid between them: the geometry w is ``lerp(w_geo(A), w_geo(B), geo_mix)`` and the texture w
``lerp(w_tex(A), w_tex(B), tex_mix)``, linear in w after mapping with truncation ``psi``
(:mod:`get3d.interpolation`); the codes of a seed are those of
:func:`get3d.sampling.sample_latents`, so ``geo_mix = tex_mix = 0`` is exactly
``get3d export --geo-seed A --tex-seed A'``. :class:`ShapeMaker` turns a request into a
:class:`Shape`: the mesh, its UV unwrap and baked texture (:func:`get3d.export.texture_mesh`), and
the GLB bytes the page both shows and offers for download.
"""

from __future__ import annotations

import io
import math
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch

from get3d.export import Material, TexturedMesh, texture_mesh, write_obj
from get3d.export.glb import glb_bytes
from get3d.interpolation import lerp
from get3d.networks import Generator, Latents
from get3d.sampling import generator_color_fn, sample_latents
from render.backend import RasterContext

__all__ = ["EmptyShapeError", "Shape", "ShapeMaker", "ShapeRequest"]

MAX_SEED = 2**31 - 1
"""Seeds are integers in ``[0, MAX_SEED]``."""

Progress = Callable[[str, float], None]
"""``progress(stage, fraction)``: the stage now running and the fraction of the work done."""


class EmptyShapeError(ValueError):
    """The requested latents give no surface (no SDF sign change on the grid)."""


_LABELS = {
    "geo_seed": "geometry seed A",
    "geo_seed_b": "geometry seed B",
    "tex_seed": "texture seed A",
    "tex_seed_b": "texture seed B",
    "geo_mix": "geometry mix",
    "tex_mix": "texture mix",
    "psi": "psi",
}


def _seed(name: str, value: object) -> int:
    label = _LABELS[name]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{label}: expected an integer in [0, {MAX_SEED}], got {value!r}")
    try:
        seed = int(value.strip()) if isinstance(value, str) else value
    except ValueError:
        raise ValueError(f"{label}: expected an integer in [0, {MAX_SEED}], got {value!r}") from None
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{label}: expected an integer in [0, {MAX_SEED}], got {seed}")
    return seed


def _unit(name: str, value: object) -> float:
    label = _LABELS[name]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{label}: expected a number in [0, 1], got {value!r}")
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except ValueError:
        raise ValueError(f"{label}: expected a number in [0, 1], got {value!r}") from None
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise ValueError(f"{label}: expected a number in [0, 1], got {value!r}")
    return number


@dataclass(frozen=True)
class ShapeRequest:
    """One point of the page's geometry x texture space (validated on construction).

    Attributes:
        geo_seed, geo_seed_b: geometry seeds of samples A and B, integers in ``[0, 2**31 - 1]``.
        tex_seed, tex_seed_b: texture seeds of samples A and B.
        geo_mix, tex_mix: where between A (0) and B (1) the geometry / texture w lies, in [0, 1].
        psi: truncation in [0, 1] (1: none; GET3D samples with 0.7).
    """

    geo_seed: int = 0
    tex_seed: int = 1
    geo_seed_b: int = 2
    tex_seed_b: int = 3
    geo_mix: float = 0.0
    tex_mix: float = 0.0
    psi: float = 0.7

    def __post_init__(self) -> None:
        for f in fields(self):
            check = _seed if f.name.endswith(("seed", "seed_b")) else _unit
            object.__setattr__(self, f.name, check(f.name, getattr(self, f.name)))

    @classmethod
    def from_mapping(cls, data: object) -> ShapeRequest:
        """A request from the page's JSON object (numbers or numeric strings; missing keys take
        the defaults). Raises ValueError naming the field, its range and what was given."""
        if not isinstance(data, Mapping):
            raise ValueError(f"request: expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(map(str, data)) - known)
        if unknown:
            raise ValueError(f"request: unknown fields {unknown}; expected some of {sorted(known)}")
        return cls(**{k: data[k] for k in known if k in data})

    def to_dict(self) -> dict[str, int | float]:
        return asdict(self)

    def file_stem(self) -> str:
        """A file name for this request's downloads, e.g. ``get3d_g0-2x0.50_t1-3x0.00_psi0.70``."""
        return (
            f"get3d_g{self.geo_seed}-{self.geo_seed_b}x{self.geo_mix:.2f}"
            f"_t{self.tex_seed}-{self.tex_seed_b}x{self.tex_mix:.2f}_psi{self.psi:.2f}"
        )


@dataclass(frozen=True)
class Shape:
    """One generated shape: what the page shows and what it offers for download.

    Attributes:
        id: a number unique within the server process.
        request: what was asked for.
        mesh: the textured mesh (UV-unwrapped, texture baked from the generator's colour field).
        glb: the GLB file of ``mesh`` (the viewer draws exactly these bytes).
        seconds: the time taken to make it.
    """

    id: int
    request: ShapeRequest
    mesh: TexturedMesh
    glb: bytes
    seconds: float

    def summary(self) -> dict[str, object]:
        """The JSON the page gets: id, counts, request, time and the download names."""
        return {
            "id": self.id,
            "faces": self.mesh.num_faces,
            "vertices": self.mesh.num_vertices,
            "texture_size": self.mesh.texture_size[0],
            "seconds": round(self.seconds, 3),
            "request": self.request.to_dict(),
            "name": self.request.file_stem(),
        }


def obj_zip(mesh: TexturedMesh, stem: str, material: Material | None = None) -> bytes:
    """``stem.obj`` + ``stem.mtl`` + ``stem.png`` of ``mesh`` (:func:`get3d.export.write_obj`) in
    one zip archive, as bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_obj(Path(tmp) / f"{stem}.obj", mesh, material)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, arcname=path.name)
    return buffer.getvalue()


class ShapeMaker:
    """Makes :class:`Shape` s from requests with one generator and one rasterizer context.

    Args:
        G: the generator (``prepare_generator`` already run: truncation pulls towards ``w_avg``).
        backend: the process's rasterizer context (``render.make_context``), used for every bake.
        texture_size: side of the baked texture.
        max_faces: simplify denser meshes to this many faces before unwrapping (None: never).
        material: the material written to the GLB / MTL.
    """

    def __init__(
        self,
        G: Generator,
        backend: RasterContext,
        *,
        texture_size: int = 512,
        max_faces: int | None = 20_000,
        material: Material | None = None,
    ) -> None:
        if not isinstance(G, Generator):
            raise TypeError(f"G: expected a Generator, got {type(G).__name__}")
        if isinstance(texture_size, bool) or not isinstance(texture_size, int) or texture_size < 8:
            raise ValueError(f"texture_size: expected an int >= 8, got {texture_size!r}")
        self.G = G
        self.backend = backend
        self.texture_size = texture_size
        self.max_faces = max_faces
        self.material = Material() if material is None else material
        self._next_id = 1

    def latents(self, request: ShapeRequest) -> Latents:
        """The request's per-layer latents, batch 1: samples A and B mapped with ``psi``, then
        lerped in w by ``geo_mix`` / ``tex_mix``."""
        if not isinstance(request, ShapeRequest):
            raise TypeError(f"request: expected a ShapeRequest, got {type(request).__name__}")
        a = sample_latents(self.G, 1, geo_seed=request.geo_seed, tex_seed=request.tex_seed, psi=request.psi)
        b = sample_latents(
            self.G, 1, geo_seed=request.geo_seed_b, tex_seed=request.tex_seed_b, psi=request.psi
        )
        t_geo = torch.tensor([request.geo_mix], dtype=torch.float64)
        t_tex = torch.tensor([request.tex_mix], dtype=torch.float64)
        return Latents(geo=lerp(a.ws.geo[0], b.ws.geo[0], t_geo), tex=lerp(a.ws.tex[0], b.ws.tex[0], t_tex))

    def make(self, request: ShapeRequest, progress: Progress | None = None) -> Shape:
        """Generate, unwrap, bake and encode the request's shape.

        Raises:
            EmptyShapeError: when the latents give no surface.
        """
        report = progress or (lambda stage, fraction: None)
        start = time.perf_counter()
        report("mapping latents", 0.0)
        ws = self.latents(request)
        report("triplanes and mesh extraction", 0.05)
        with torch.no_grad():
            planes = self.G.triplanes(ws)
            surface = self.G.meshes(self.G.grid_geometry(planes, ws))[0]
        if surface.faces.shape[0] == 0:
            raise EmptyShapeError(
                "this geometry has an empty surface (no SDF sign change on the grid); "
                "try another geometry seed or mix"
            )
        report("UV unwrap and texture bake", 0.35)
        mesh = texture_mesh(
            surface.vertices,
            surface.faces,
            generator_color_fn(self.G, ws, 0, planes=planes),
            texture_size=self.texture_size,
            max_faces=self.max_faces,
            backend=self.backend,
        )
        report("encoding the GLB", 0.9)
        data = glb_bytes(mesh, self.material)
        shape = Shape(self._next_id, request, mesh, data, time.perf_counter() - start)
        self._next_id += 1
        report("done", 1.0)
        return shape

    def obj_zip(self, shape: Shape) -> bytes:
        """The OBJ + MTL + PNG of ``shape`` (the mesh the page shows) zipped."""
        return obj_zip(shape.mesh, shape.request.file_stem(), self.material)
