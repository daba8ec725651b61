"""Sampling shapes from a trained generator: loading, latents, turntables, grids and export.

GET3D's visualisation protocol (get3d_spec.md §3.7, §9): before sampling, ``w_avg`` of both
mapping networks is **overwritten** with the mean w of 100,000 fresh z's
(:meth:`Generator.update_w_avg`); latents are mapped with truncation ``psi = 0.7`` and no style
mixing; noise is constant. Geometry and texture codes are drawn from two separately seeded
generators, so either can be changed while keeping the other.

Typical use::

    G = load_generator("network-snapshot.pt")    # official GET3D file or ours (get3d.networks)
    lat = sample_latents(G, 4, geo_seed=0, tex_seed=1, psi=0.7)
    views = render_turntable(G, lat.ws, n_views=24, resolution=256)   # [4, 24, 3, H, W]
    export_sample(G, lat.ws, 0, "shape0.glb")

:func:`generator_color_fn` turns one sample into the colour field that :func:`get3d.export.texture_mesh`
bakes (what :func:`textured_mesh_of` does).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from get3d.export import Material, TexturedMesh, save_textured_mesh, texture_mesh
from get3d.networks import Generator, Latents, load_generator
from get3d.networks.outputs import Triplanes
from render.backend import BackendLike, as_context
from render.camera import Cameras, visualization_cameras

__all__ = [
    "LatentSample",
    "export_sample",
    "generator_color_fn",
    "load_generator",
    "prepare_generator",
    "render_turntable",
    "render_views",
    "sample_latents",
    "textured_mesh_of",
]
# load_generator is get3d.networks.load_generator, re-exported: sampling starts with it.


@dataclass(frozen=True)
class LatentSample:
    """Latent codes of ``N`` samples.

    Attributes:
        z_geo, z_tex: float ``[N, z_dim]`` N(0, I) codes (from ``geo_seed`` / ``tex_seed``).
        ws: the mapped, truncated per-layer latents (:class:`Latents`, batch ``N``).
        psi: the truncation used.
    """

    z_geo: Tensor
    z_tex: Tensor
    ws: Latents
    psi: float


def prepare_generator(G: Generator, *, w_avg_samples: int = 100_000, seed: int = 0) -> Generator:
    """Recompute both mappings' ``w_avg`` from ``w_avg_samples`` fresh z's (GET3D does this before
    every visualisation; truncation pulls towards it). Deterministic in ``seed``. Returns ``G``."""
    if isinstance(w_avg_samples, bool) or not isinstance(w_avg_samples, int) or w_avg_samples < 1:
        raise ValueError(f"w_avg_samples: expected a positive int, got {w_avg_samples!r}")
    device = next(G.parameters()).device
    gen = torch.Generator(device=device).manual_seed(int(seed))
    G.update_w_avg(w_avg_samples, generator=gen)
    return G


def _codes(n: int, dim: int, seed: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    return torch.randn(n, dim, generator=gen, dtype=torch.float64).to(device, dtype)


def sample_latents(
    G: Generator,
    n: int,
    *,
    geo_seed: int = 0,
    tex_seed: int | None = None,
    psi: float = 0.7,
) -> LatentSample:
    """Draw ``n`` geometry and texture codes from two seeds and map them with truncation ``psi``.

    The codes are drawn on the CPU in float64 (identical on every device). ``tex_seed`` defaults
    to ``geo_seed + 1``. Sample ``i`` of seed ``s`` is the same whatever ``n`` is (prefix-stable).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected a positive int, got {n!r}")
    if not isinstance(psi, int | float) or isinstance(psi, bool):
        raise TypeError(f"psi: expected a number, got {type(psi).__name__}")
    tex_seed = geo_seed + 1 if tex_seed is None else tex_seed
    weight = G.mapping.fc0.weight
    z_geo = _codes(n, G.config.z_dim, geo_seed, weight.device, weight.dtype)
    z_tex = _codes(n, G.config.z_dim, tex_seed, weight.device, weight.dtype)
    with torch.no_grad():
        ws = G.map_latents(z_geo, z_tex, truncation_psi=float(psi))
    return LatentSample(z_geo=z_geo, z_tex=z_tex, ws=ws, psi=float(psi))


def _select(ws: Latents, i: int) -> Latents:
    return Latents(geo=ws.geo[i : i + 1], tex=ws.tex[i : i + 1])


def render_turntable(
    G: Generator,
    ws: Latents,
    *,
    n_views: int = 24,
    views: Sequence[int] | None = None,
    resolution: int = 256,
    background: float | None = 1.0,
    backend: BackendLike = "auto",
    progress: bool = False,
) -> Tensor:
    """Render every sample from GET3D's turntable cameras (15° elevation, radius 1.2).

    Args:
        ws: latents of ``B`` samples.
        n_views: cameras around the turntable (GET3D: 24); ``views`` picks some of them
            (e.g. ``[SNAPSHOT_VIEW]``, GET3D's grid view 4).
        resolution: image side.
        background: composite onto this grey level in [-1, 1] with the antialiased mask
            (None: keep the generator's own background, the ToRGB bias).
        backend: the process's rasterizer context (``render.make_context``) or a backend name.
        progress: a tqdm bar over the samples.

    Returns:
        float ``[B, V, 3, H, W]`` RGB in [-1, 1], row 0 at the top.
    """
    cams = visualization_cameras(n_views, device=G.mapping.fc0.weight.device)
    if views is not None:
        picked = list(views)
        if not picked or any(not 0 <= v < n_views for v in picked):
            raise ValueError(f"views: expected indices in [0, {n_views}), got {picked}")
        cams = cams[picked]
    return render_views(
        G, ws, cams, resolution=resolution, background=background, backend=backend, progress=progress
    )


def render_views(
    G: Generator,
    ws: Latents,
    cameras: Cameras,
    *,
    resolution: int = 256,
    background: float | None = 1.0,
    backend: BackendLike = "auto",
    progress: bool = False,
) -> Tensor:
    """Render each of the ``B`` samples of ``ws`` from all ``V`` ``cameras``: ``[B, V, 3, H, W]``.

    ``backend`` is the rasterizer context (or a backend name: one context is then made for all the
    samples)."""
    from tqdm.auto import tqdm

    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 8:
        raise ValueError(f"resolution: expected an int >= 8, got {resolution!r}")
    if background is not None and not -1.0 <= background <= 1.0:
        raise ValueError(f"background: expected None or a grey level in [-1, 1], got {background!r}")
    ctx = as_context(backend, ws.geo.device)
    out = []
    with torch.no_grad():
        for i in tqdm(range(ws.batch_size), desc="render", disable=not progress, leave=False):
            one = _select(ws, i)
            planes = G.triplanes(one)
            geometry = G.grid_geometry(planes, one)
            res = G.render_geometry(planes, one, geometry, cameras, resolution, backend=ctx)
            rgb = res.rgb.clamp(-1.0, 1.0)
            if background is not None:
                rgb = rgb * res.mask + background * (1.0 - res.mask)
            out.append(rgb)
    return torch.stack(out)


def generator_color_fn(
    G: Generator, ws: Latents, index: int = 0, *, planes: Triplanes | None = None
) -> Callable[[Tensor], Tensor]:
    """The texture field of sample ``index`` of ``ws`` as a ``[P, 3] -> [P, 3]`` function.

    The triplanes are computed once (or passed as ``planes``: the :class:`Triplanes` of ``ws``,
    batch ``B``, when the caller already has them, which saves the most expensive step of the
    official model); each call queries the texture head and the final ToRGB (about [-1, 1]) at
    world points ``[P, 3]`` without gradients.
    """
    if not isinstance(ws, Latents):
        raise TypeError(f"ws: expected Latents, got {type(ws).__name__}")
    if not 0 <= index < ws.batch_size:
        raise ValueError(f"index: expected 0 <= index < {ws.batch_size}, got {index}")
    one = _select(ws, index)
    if planes is None:
        with torch.no_grad():
            mine = G.triplanes(one)
    elif isinstance(planes, Triplanes) and planes.texture.shape[0] == ws.batch_size:
        mine = Triplanes(planes.geometry[index : index + 1], planes.texture[index : index + 1])
    else:
        raise ValueError(f"planes: expected the Triplanes of ws (batch {ws.batch_size}) or None")

    def color_fn(points: Tensor) -> Tensor:
        with torch.no_grad():
            pts = points.to(mine.texture.dtype)
            return G.query_rgb(mine, one, pts[None])[0]

    return color_fn


def textured_mesh_of(
    G: Generator,
    ws: Latents,
    index: int = 0,
    *,
    texture_size: int = 2048,
    max_faces: int | None = None,
    padding: int = 8,
    backend: BackendLike = "auto",
) -> TexturedMesh:
    """Extract sample ``index``'s mesh, unwrap it and bake its texture field (GET3D §9.2).

    By default the full marching-tets mesh is unwrapped and baked at 2048², as GET3D exports it;
    ``max_faces`` simplifies denser meshes first (vertex clustering, see
    :func:`get3d.export.texture_mesh`).

    Raises:
        ValueError: when the sample's surface is empty (no SDF sign change on the grid).
    """
    one = _select(ws, index)
    with torch.no_grad():
        planes = G.triplanes(one)
        mesh = G.meshes(G.grid_geometry(planes, one))[0]
    if mesh.faces.shape[0] == 0:
        raise ValueError(
            f"index: sample {index} has an empty surface (no SDF sign change); nothing to export"
        )
    return texture_mesh(
        mesh.vertices,
        mesh.faces,
        generator_color_fn(G, one, 0, planes=planes),
        texture_size=texture_size,
        max_faces=max_faces,
        padding=padding,
        backend=backend,
    )


def export_sample(
    G: Generator,
    ws: Latents,
    index: int,
    path: str | os.PathLike,
    *,
    texture_size: int = 2048,
    max_faces: int | None = None,
    material: Material | None = None,
    backend: BackendLike = "auto",
) -> list[Path]:
    """Write sample ``index`` as a textured ``.glb`` or ``.obj`` (+ ``.mtl`` + ``.png``).

    Defaults as :func:`textured_mesh_of`: the full mesh, a 2048² texture.
    """
    suffix = Path(os.fspath(path)).suffix.lower()
    if suffix not in (".glb", ".obj"):
        raise ValueError(f"path: expected a .glb or .obj file name, got {os.fspath(path)!r}")
    mesh = textured_mesh_of(G, ws, index, texture_size=texture_size, max_faces=max_faces, backend=backend)
    return save_textured_mesh(path, mesh, material)
