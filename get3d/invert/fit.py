"""Inversion of a trained generator: the latents of a shape seen in images or given as a mesh.

Both functions optimise the geometry and texture w's of one shape through the differentiable
renderer (:meth:`Generator.render_geometry`, one rasterizer context for every render) with
:func:`get3d.invert.optimize.optimize_latents`:

* :func:`from_images`: silhouette MSE + L1 of the RGB composited onto black, against posed views;
* :func:`from_mesh`: squared Chamfer distance between surface samples of the generated and the
  target mesh + silhouette MSE from :func:`mesh_cameras` (+ RGB when the mesh has vertex colours).

When the current latents give an empty surface (no SDF sign change), GET3D's ``sdf_reg`` (the
mean ``|sdf|`` of the grid) is added so the optimisation finds a surface again.
Frames follow the generator's: world Y up, the object inside ``[-s/2, s/2]^3`` (``s =
dmtet_scale``); images NCHW, row 0 at the top, RGB in [-1, 1], coverage in [0, 1].
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from get3d.metrics import chamfer_distance, sample_points
from get3d.networks import Generator, Latents
from get3d.reconstruct.views import Views, render_target_views
from render.backend import BackendLike, as_context
from render.camera import DEFAULT_FOVY, DEFAULT_RADIUS, Cameras

from .optimize import InversionConfig, InversionResult, optimize_latents

__all__ = ["composite", "from_images", "from_mesh", "mesh_cameras"]

BACKGROUND = -1.0  # black, the data sets' background (get3d.data.load_view)


def composite(rgb: Tensor, mask: Tensor, background: float = BACKGROUND) -> Tensor:
    """``rgb [B, 3, H, W]`` over a flat ``background`` with coverage ``mask [B, 1, H, W]``."""
    return rgb * mask + background * (1.0 - mask)


def mesh_cameras(
    views: int,
    *,
    radius: float = DEFAULT_RADIUS,
    fovy: float = DEFAULT_FOVY,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Cameras:
    """``views`` cameras around the object for mesh silhouettes: azimuths ``2 pi i / views`` in
    GET3D's (azimuth, polar) convention, polar angles alternating 60° and 80° (30° and 10° above
    the horizon), looking at the origin from ``radius``."""
    if isinstance(views, bool) or not isinstance(views, int) or views < 1:
        raise ValueError(f"views: expected a positive int, got {views!r}")
    kw = {"device": device, "dtype": dtype or torch.float32}
    azimuth = torch.arange(views, **kw) * (2.0 * math.pi / views)
    polar = torch.tensor([math.radians(60.0), math.radians(80.0)], **kw).repeat(views)[:views]
    return Cameras.from_angles(azimuth, polar, radius, fovy)


def _check_generator(G: object) -> Generator:
    if not isinstance(G, Generator):
        raise TypeError(f"G: expected a get3d.networks.Generator, got {type(G).__name__}")
    return G


def _image_targets(G: Generator, images: object, cameras: object) -> tuple[Tensor, Tensor, Cameras]:
    weight = G.mapping.fc0.weight
    if isinstance(images, Views):
        if cameras is not None:
            raise ValueError("cameras: expected None when images is a Views (it holds its cameras)")
        rgb, mask, cameras = images.images, images.masks, images.cameras
    else:
        if not isinstance(images, Tensor) or not images.is_floating_point():
            raise TypeError(
                f"images: expected a float tensor [V, 4, H, W] (RGB in [-1, 1] | coverage in [0, 1]) "
                f"or get3d.reconstruct.Views, got {type(images).__name__}"
            )
        if images.ndim != 4 or images.shape[1] != 4 or images.shape[0] == 0:
            raise ValueError(
                f"images: expected shape [V, 4, H, W] (RGB | coverage) with V >= 1, got {tuple(images.shape)}"
            )
        rgb, mask = images[:, :3], images[:, 3:]
        if not isinstance(cameras, Cameras):
            raise TypeError(f"cameras: expected render.camera.Cameras, got {type(cameras).__name__}")
    v, _, h, w = rgb.shape
    if h != w or h < 8:
        raise ValueError(f"images: expected square views of side >= 8, got {h}x{w}")
    if len(cameras) != v:
        raise ValueError(f"cameras: expected {v} cameras (one per image), got {len(cameras)}")
    if not bool(torch.isfinite(rgb).all()) or float(mask.min()) < 0 or float(mask.max()) > 1:
        raise ValueError("images: expected finite RGB and a coverage channel in [0, 1]")
    return rgb.to(weight), mask.to(weight), cameras.to(weight.device, weight.dtype)


def _render_loss(
    G: Generator,
    ws: Latents,
    cameras: Cameras,
    target_mask: Tensor,
    target_rgb: Tensor | None,
    config: InversionConfig,
    ctx: object,
    extra: object = None,
) -> tuple[dict[str, Tensor], object]:
    planes = G.triplanes(ws)
    geometry = G.grid_geometry(planes, ws)
    out = G.render_geometry(planes, ws, geometry, cameras, target_mask.shape[-1], backend=ctx)
    terms = {"silhouette": config.silhouette_weight * ((out.mask - target_mask) ** 2).mean()}
    if target_rgb is not None and config.rgb_weight > 0:
        pred = composite(out.rgb, out.mask)
        target = composite(target_rgb, target_mask)
        terms["rgb"] = config.rgb_weight * (pred - target).abs().mean()
    if bool(geometry.empty.any()):
        terms["empty"] = geometry.sdf_reg.mean()
    return terms, out


def from_images(
    G: Generator,
    images: Tensor | Views,
    cameras: Cameras | None = None,
    *,
    config: InversionConfig | None = None,
    init: Latents | None = None,
    backend: BackendLike = "auto",
    progress: bool = True,
) -> InversionResult:
    """Latents of the shape that ``images`` show, by rendering and comparing.

    Args:
        G: the generator (its parameters are left as they are).
        images: float ``[V, 4, H, W]``: RGB in [-1, 1] (any background) and the coverage in
            [0, 1], as in ``GeneratorOutput.image``; square, ``H >= 8``. Or a
            :class:`get3d.reconstruct.Views` (e.g. :func:`get3d.reconstruct.load_views`), whose
            cameras are used (``cameras`` must then be None).
        cameras: the ``V`` cameras (:class:`render.camera.Cameras`, the generator's frame).
        config: :class:`InversionConfig` (space, steps, learning rate, loss weights).
        init: starting latents of one shape (default: ``w_avg`` in both streams).
        backend: the rasterizer context (``render.make_context``), made once and used by every
            render, or a backend name (one context is then made here).
        progress: a tqdm bar over the steps with the current loss.

    Returns:
        :class:`InversionResult`; ``.latents`` holds the recovered :class:`Latents`.
    """
    G = _check_generator(G)
    config = InversionConfig() if config is None else config
    if not isinstance(config, InversionConfig):
        raise TypeError(f"config: expected an InversionConfig, got {type(config).__name__}")
    rgb, mask, cams = _image_targets(G, images, cameras)
    ctx = as_context(backend, rgb.device)

    def loss_fn(ws: Latents, step: int) -> dict[str, Tensor]:
        return _render_loss(G, ws, cams, mask, rgb, config, ctx)[0]

    return optimize_latents(G, loss_fn, config, init=init, progress=progress, desc="invert images")


def _mesh_tensors(G: Generator, mesh: object) -> tuple[Tensor, Tensor, Tensor | None]:
    weight = G.mapping.fc0.weight
    if isinstance(mesh, tuple | list) and len(mesh) == 2:
        vertices, faces, colours = mesh[0], mesh[1], None
    elif hasattr(mesh, "vertices") and hasattr(mesh, "faces"):
        vertices, faces = mesh.vertices, mesh.faces
        colours = getattr(mesh, "vertex_colors", None)
    else:
        raise TypeError(
            "mesh: expected (vertices [V, 3], faces [F, 3]) or an object with .vertices and .faces "
            f"(dmtet.SurfaceMesh, get3d.networks.outputs.GeneratedMesh), got {type(mesh).__name__}"
        )
    if not isinstance(vertices, Tensor) or not vertices.is_floating_point() or vertices.ndim != 2:
        shape = getattr(vertices, "shape", vertices)
        raise ValueError(f"mesh: expected float vertices [V, 3], got {shape!r}")
    if vertices.shape[1] != 3 or not bool(torch.isfinite(vertices).all()):
        raise ValueError(f"mesh: expected finite vertices [V, 3], got shape {tuple(vertices.shape)}")
    if not isinstance(faces, Tensor) or faces.is_floating_point() or faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"mesh: expected int faces [F, 3], got {getattr(faces, 'shape', faces)!r}")
    if faces.shape[0] == 0:
        raise ValueError("mesh: expected at least one face, got an empty mesh")
    if int(faces.min()) < 0 or int(faces.max()) >= vertices.shape[0]:
        raise ValueError(f"mesh: face indices must lie in [0, {vertices.shape[0]}), got out-of-range ids")
    half = 0.5 * G.box_size
    if float(vertices[faces.unique()].abs().max()) > 1.5 * half:  # the deformation may leave the box a little
        raise ValueError(
            f"mesh: expected vertices about inside the generator's box [-{half:g}, {half:g}]^3 "
            "(normalise the mesh first, e.g. get3d.data.meshes.normalize)"
        )
    if colours is not None and tuple(colours.shape) != tuple(vertices.shape):
        raise ValueError(f"mesh: expected vertex_colors [V, 3] like the vertices, got {tuple(colours.shape)}")
    vertices = vertices.detach().to(weight)
    colours = None if colours is None else colours.detach().to(weight)
    return vertices, faces.detach().to(device=weight.device, dtype=torch.int64), colours


def from_mesh(
    G: Generator,
    mesh: object,
    *,
    config: InversionConfig | None = None,
    init: Latents | None = None,
    backend: BackendLike = "auto",
    progress: bool = True,
) -> InversionResult:
    """Latents of the generated shape closest to ``mesh``.

    Args:
        G: the generator (its parameters are left as they are).
        mesh: ``(vertices [V, 3], faces [F, 3])`` or an object with ``.vertices`` and ``.faces``
            (and optionally ``.vertex_colors [V, 3]`` in [-1, 1], which adds an RGB loss; without
            them the texture w only follows the regulariser). Vertices in the generator's frame,
            inside ``[-s/2, s/2]^3``.
        config: :class:`InversionConfig` (``views``, ``resolution`` and ``points`` set the
            silhouette views and the Chamfer samples).
        init, backend, progress: as :func:`from_images`.

    Returns:
        :class:`InversionResult`; ``.latents`` holds the recovered :class:`Latents`.
    """
    G = _check_generator(G)
    config = InversionConfig() if config is None else config
    if not isinstance(config, InversionConfig):
        raise TypeError(f"config: expected an InversionConfig, got {type(config).__name__}")
    vertices, faces, colours = _mesh_tensors(G, mesh)
    ctx = as_context(backend, vertices.device)
    cams = mesh_cameras(config.views, device=vertices.device, dtype=vertices.dtype)
    target = render_target_views(vertices, faces, cams, config.resolution, colours, backend=ctx)
    gen = torch.Generator(device=vertices.device).manual_seed(config.seed)
    target_points = sample_points(vertices[None], faces, config.points, generator=gen).points / G.box_size

    def loss_fn(ws: Latents, step: int) -> dict[str, Tensor]:
        terms, out = _render_loss(
            G, ws, cams, target.masks, None if colours is None else target.images, config, ctx
        )
        surface = out.meshes[0]
        if surface.faces.shape[0] > 0 and config.chamfer_weight > 0:
            gen = torch.Generator(device=vertices.device).manual_seed(config.seed * 100_003 + step + 1)
            pts = sample_points(surface.vertices[None], surface.faces, config.points, generator=gen).points
            terms["chamfer"] = config.chamfer_weight * chamfer_distance(pts / G.box_size, target_points)[0]
        return terms

    return optimize_latents(G, loss_fn, config, init=init, progress=progress, desc="invert mesh")
