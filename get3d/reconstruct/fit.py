"""Fit an SDF, a deformation and colours on a tet grid to multiview images (DMTet's inverse rendering).

Each step extracts the surface with :func:`dmtet.marching_tets`, renders it from a few target
cameras with :func:`render.render_mesh` and compares it with the target images::

    loss = w_sil * MSE(antialiased mask, target mask)
         + w_rgb * L1(antialiased RGB, target RGB)
         + w_sign * dmtet.sdf_sign_reg(sdf, grid edges)
         + w_smooth * laplacian_smoothness(surface) / h^2        (h: median grid edge)
         + empty_surface_loss(sdf)                               (only when the surface vanished)

Gradients reach the SDF and the offsets through the zero-crossing positions of marching tets
(the silhouette through :func:`render.antialias`, the colours through the interpolated positions
or vertex weights). The grid is refined coarse to fine (``config.grid_resolutions``): at each new
stage the SDF, the offsets and the per-vertex colours are interpolated barycentrically from the
coarse tets onto the fine vertices (:mod:`get3d.reconstruct.upsample`); a colour MLP carries over
unchanged. Adam, one learning rate for geometry and one for colour, decayed exponentially within
each stage. Everything follows the device of the target views.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn
from tqdm import tqdm

from dmtet import TetGrid, sdf_sign_reg
from render import antialias, interpolate
from render.backend import Backend, BackendLike, RasterContext, as_context, make_context
from render.camera import Cameras
from render.mesh import NormalMode, render_mesh
from render.shading import shade_lambert

from .config import ColorMode, Init, ReconstructConfig, Shading
from .init import sphere_sdf, visual_hull_sdf
from .losses import empty_surface_loss, laplacian_smoothness, rgb_loss, silhouette_loss
from .model import ColorMLP, GridColors, TetField, surface_attributes
from .upsample import upsample_field
from .views import Views

__all__ = [
    "ReconstructResult",
    "StageSummary",
    "StepLosses",
    "SurfaceRender",
    "reconstruct",
    "render_result",
    "render_surface",
]


@dataclass(frozen=True, eq=False)
class SurfaceRender:
    """Images of a reconstructed surface (NCHW, row 0 at the top).

    Attributes:
        rgb: float [B, 3, H, W] in [-1, 1], antialiased, black (-1) background.
        mask: float [B, 1, H, W] antialiased coverage in [0, 1].
        hard_mask: float [B, 1, H, W] in {0, 1} (no gradient).
    """

    rgb: torch.Tensor
    mask: torch.Tensor
    hard_mask: torch.Tensor


@dataclass(frozen=True)
class StepLosses:
    """The loss terms of one step (unweighted, as Python floats) and the surface size."""

    total: float
    silhouette: float
    rgb: float
    sign: float
    smooth: float
    faces: int


@dataclass(frozen=True)
class StageSummary:
    """One coarse-to-fine stage: grid resolution and size, steps, last losses, seconds."""

    resolution: int
    grid_vertices: int
    steps: int
    last: StepLosses
    seconds: float


@dataclass(frozen=True, eq=False)
class ReconstructResult:
    """What :func:`reconstruct` returns.

    Attributes:
        vertices: float [V, 3] final surface (outward faces), detached.
        faces: int64 [F, 3].
        vertex_colors: float [V, 3] RGB in [0, 1] of the surface vertices (the colour model
            evaluated at them).
        grid: the finest :class:`dmtet.TetGrid`.
        sdf: float [N] final SDF on ``grid`` (positive inside).
        offset: float [N, 3] final vertex offsets on ``grid``.
        color_model: the trained :class:`ColorMLP` or :class:`GridColors` (eval mode).
        config: the :class:`ReconstructConfig` used.
        history: one :class:`StepLosses` per step, all stages in order.
        stages: one :class:`StageSummary` per stage.
        seconds: wall time of the whole fit.
    """

    vertices: torch.Tensor
    faces: torch.Tensor
    vertex_colors: torch.Tensor
    grid: TetGrid
    sdf: torch.Tensor
    offset: torch.Tensor
    color_model: nn.Module
    config: ReconstructConfig
    history: tuple[StepLosses, ...]
    stages: tuple[StageSummary, ...]
    seconds: float


def render_surface(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    cameras: Cameras,
    resolution: int | tuple[int, int],
    *,
    color_mlp: ColorMLP | None = None,
    vertex_colors: torch.Tensor | None = None,
    shading: Shading = Shading.UNLIT,
    ambient: float = 0.25,
    diffuse: float = 0.75,
    backend: BackendLike = Backend.AUTO,
) -> SurfaceRender:
    """Render one surface from ``B`` cameras with the reconstruction's image model.

    Colour comes from exactly one of ``color_mlp`` (queried at the interpolated world position of
    every covered pixel) or ``vertex_colors`` (float [V, 3] in [-1, 1], interpolated across faces).
    With :attr:`Shading.LAMBERT` the colour is the albedo of :func:`render.shading.shade_lambert` (flat
    normals, prepare's light). The colour image over black is antialiased like the mask, so RGB
    losses also move silhouettes.

    Args:
        vertices: float [V, 3]; faces: int [F, 3]; cameras: ``B`` cameras; resolution: ``S`` or ``(H, W)``.
        backend: the rasterizer context for all four ops (``render.make_context``; pass the
            same one to every call), or a backend name (a context is made for this call).

    Returns:
        :class:`SurfaceRender`, differentiable in ``vertices`` and the colour parameters.
    """
    if (color_mlp is None) == (vertex_colors is None):
        raise ValueError(
            "color_mlp, vertex_colors: expected exactly one of them, got "
            f"{'both' if color_mlp is not None else 'neither'}"
        )
    if vertex_colors is not None and vertex_colors.shape != vertices.shape:
        raise ValueError(
            f"vertex_colors: expected shape {tuple(vertices.shape)} (one RGB per vertex), "
            f"got {tuple(vertex_colors.shape)}"
        )
    shading = Shading(shading)
    ctx = as_context(backend, vertices.device)
    normals = NormalMode.FACE if shading is Shading.LAMBERT else NormalMode.NONE
    out = render_mesh(vertices, faces, cameras, resolution, backend=ctx, normals=normals)
    if faces.shape[0] == 0:
        blank = out.mask.expand(-1, 3, -1, -1) - 1.0
        return SurfaceRender(blank, out.antialiased_mask, out.mask)
    hard = out.mask  # [B, 1, H, W]
    if color_mlp is not None:
        b, _, h, w = hard.shape
        flat_pos = out.position.permute(0, 2, 3, 1).reshape(-1, 3)
        covered = torch.nonzero(hard.reshape(-1) > 0).reshape(-1)
        colours = color_mlp(flat_pos[covered])
        albedo = torch.zeros(b * h * w, 3, dtype=vertices.dtype, device=vertices.device)
        albedo = albedo.index_put((covered,), colours).reshape(b, h, w, 3).permute(0, 3, 1, 2)
    else:
        colour, _ = interpolate(vertex_colors.contiguous(), out.rast, out.tri, backend=ctx)
        albedo = colour.permute(0, 3, 1, 2)
    if shading is Shading.LAMBERT:
        lit = shade_lambert(
            out.normals,
            hard,
            cameras.to(vertices.device, vertices.dtype),
            ambient=ambient,
            diffuse=diffuse,
            albedo=((albedo + 1.0) / 2.0).clamp(0.0, 1.0),
            positions=out.position,
            background=0.0,
        )
        rgb = lit * 2.0 - 1.0
    else:
        rgb = albedo * hard - (1.0 - hard)
    rgb = antialias(rgb.permute(0, 2, 3, 1).contiguous(), out.rast, out.pos_clip, out.tri, backend=ctx)
    return SurfaceRender(rgb.permute(0, 3, 1, 2), out.antialiased_mask, hard)


def _median_edge(grid: TetGrid) -> float:
    return float(grid.edge_lengths().median())


def _surface_colors(field: TetField, color_model: nn.Module, vertices: torch.Tensor) -> torch.Tensor:
    """Colours [V, 3] in [-1, 1] of the surface vertices."""
    if isinstance(color_model, ColorMLP):
        return color_model(vertices)
    return surface_attributes(field.grid, field.sdf, color_model())


def _step_loss(
    field: TetField,
    color_model: nn.Module,
    batch: Views,
    config: ReconstructConfig,
    edge: float,
    ctx: RasterContext,
) -> tuple[torch.Tensor, StepLosses]:
    mesh = field.extract()
    empty = empty_surface_loss(field.sdf, field.grid.boundary_idx, field.grid.center_idx)
    sign = sdf_sign_reg(field.sdf, field.grid.edges)
    if mesh.faces.shape[0] == 0:
        total = empty + config.weight_sign * sign
        return total, StepLosses(float(total), float("nan"), float("nan"), float(sign), 0.0, 0)
    mlp = color_model if isinstance(color_model, ColorMLP) else None
    vcol = None if mlp is not None else surface_attributes(field.grid, field.sdf, color_model())
    image = render_surface(
        mesh.vertices,
        mesh.faces,
        batch.cameras,
        batch.resolution,
        color_mlp=mlp,
        vertex_colors=vcol,
        shading=config.shading,
        ambient=config.ambient,
        diffuse=config.diffuse,
        backend=ctx,
    )
    sil = silhouette_loss(image.mask, batch.masks)
    rgb = rgb_loss(image.rgb, batch.images)
    smooth = laplacian_smoothness(mesh.vertices, mesh.faces) / (edge * edge)
    total = (
        config.weight_silhouette * sil
        + config.weight_rgb * rgb
        + config.weight_sign * sign
        + config.weight_smooth * smooth
        + empty
    )
    losses = StepLosses(
        float(total.detach()),
        float(sil.detach()),
        float(rgb.detach()),
        float(sign.detach()),
        float(smooth.detach()),
        int(mesh.faces.shape[0]),
    )
    return total, losses


def _initial_state(
    config: ReconstructConfig, grid: TetGrid, views: Views, generator: torch.Generator
) -> tuple[TetField, nn.Module]:
    if config.init is Init.VISUAL_HULL:
        sdf = visual_hull_sdf(grid, views)
    else:
        sdf = sphere_sdf(grid, config.init_radius)
    field = TetField(grid, sdf, max_offset=config.max_deform * _median_edge(grid))
    if config.color_mode is ColorMode.MLP:
        color_model: nn.Module = ColorMLP(
            config.mlp_hidden, config.mlp_layers, config.mlp_frequencies, generator
        )
    else:
        color_model = GridColors(torch.zeros_like(grid.vertices))
    return field, color_model.to(device=grid.device, dtype=grid.vertices.dtype)


def _refine(
    config: ReconstructConfig, field: TetField, color_model: nn.Module, grid: TetGrid
) -> tuple[TetField, nn.Module]:
    """Carry the state of ``field`` (and grid colours) onto the finer ``grid``."""
    with torch.no_grad():
        packed = [field.sdf[:, None], field.offset()]
        if isinstance(color_model, GridColors):
            packed.append(color_model())
        fine = upsample_field(field.grid, torch.cat(packed, dim=1), grid)
        new_field = TetField(
            grid, fine[:, 0], fine[:, 1:4], max_offset=config.max_deform * _median_edge(grid)
        )
        if isinstance(color_model, GridColors):
            color_model = GridColors(fine[:, 4:7])
    return new_field, color_model


def reconstruct(views: Views, config: ReconstructConfig | None = None) -> ReconstructResult:
    """Fit a textured surface to ``views`` (see the module docstring).

    Args:
        views: target :class:`Views` (images, masks, cameras); the fit runs on their device and dtype.
        config: :class:`ReconstructConfig` (default settings when None).

    Returns:
        :class:`ReconstructResult` with the final mesh, its vertex colours, the final field and
        the loss history.
    """
    if not isinstance(views, Views):
        raise TypeError(f"views: expected get3d.reconstruct.Views, got {type(views).__name__}")
    config = ReconstructConfig() if config is None else config
    if not isinstance(config, ReconstructConfig):
        raise TypeError(f"config: expected a ReconstructConfig, got {type(config).__name__}")
    device, dtype = views.images.device, views.images.dtype
    start = time.perf_counter()
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    ctx = make_context(config.backend, device)
    per_step = min(config.views_per_step, len(views))
    order: list[int] = []
    history: list[StepLosses] = []
    stages: list[StageSummary] = []
    field: TetField | None = None
    color_model: nn.Module | None = None
    bar = tqdm(total=sum(config.steps), desc="reconstruct", unit="step", disable=not config.progress)
    for resolution, steps in zip(config.grid_resolutions, config.steps, strict=True):
        stage_start = time.perf_counter()
        grid = TetGrid.bcc(resolution, config.grid_scale, dtype=dtype).to(device)
        if field is None:
            field, color_model = _initial_state(config, grid, views, generator)
        else:
            field, color_model = _refine(config, field, color_model, grid)
        edge = _median_edge(grid)
        optimiser = torch.optim.Adam(
            [
                {"params": list(field.parameters()), "lr": config.lr},
                {"params": list(color_model.parameters()), "lr": config.lr_color},
            ]
        )
        schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda t, n=steps: config.lr_decay ** (t / n))
        bar.set_description(f"reconstruct grid {resolution}")
        for _ in range(steps):
            if len(order) < per_step:
                order.extend(torch.randperm(len(views), generator=generator).tolist())
            picked, order = order[:per_step], order[per_step:]
            batch = views.subset(picked)
            optimiser.zero_grad(set_to_none=True)
            loss, losses = _step_loss(field, color_model, batch, config, edge, ctx)
            loss.backward()
            optimiser.step()
            schedule.step()
            history.append(losses)
            bar.set_postfix(sil=f"{losses.silhouette:.4f}", rgb=f"{losses.rgb:.3f}", faces=losses.faces)
            bar.update()
        stages.append(
            StageSummary(resolution, grid.num_vertices, steps, history[-1], time.perf_counter() - stage_start)
        )
    bar.close()
    assert field is not None and color_model is not None
    color_model.eval()
    with torch.no_grad():
        mesh = field.extract()
        colors = _surface_colors(field, color_model, mesh.vertices) if mesh.faces.shape[0] else mesh.vertices
    return ReconstructResult(
        vertices=mesh.vertices.detach(),
        faces=mesh.faces,
        vertex_colors=((colors.detach() + 1.0) / 2.0).clamp(0.0, 1.0),
        grid=field.grid,
        sdf=field.sdf.detach().clone(),
        offset=field.offset().detach(),
        color_model=color_model,
        config=config,
        history=tuple(history),
        stages=tuple(stages),
        seconds=time.perf_counter() - start,
    )


def render_result(
    result: ReconstructResult, cameras: Cameras, resolution: int | tuple[int, int]
) -> SurfaceRender:
    """Render a reconstruction from any cameras (held-out views, pictures), without gradients."""
    if not isinstance(result, ReconstructResult):
        raise TypeError(f"result: expected a ReconstructResult, got {type(result).__name__}")
    cfg = result.config
    with torch.no_grad():
        cams = cameras.to(result.vertices.device, result.vertices.dtype)
        if isinstance(result.color_model, ColorMLP):
            kwargs = {"color_mlp": result.color_model}
        else:
            kwargs = {"vertex_colors": result.vertex_colors * 2.0 - 1.0}
        return render_surface(
            result.vertices,
            result.faces,
            cams,
            resolution,
            shading=cfg.shading,
            ambient=cfg.ambient,
            diffuse=cfg.diffuse,
            backend=make_context(cfg.backend, result.vertices.device),
            **kwargs,
        )
