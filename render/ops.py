"""nvdiffrast's four ops with nvdiffrast's call shapes, on either backend.

Code written for ``nvdiffrast.torch`` ports by changing the import::

    import render as dr
    ctx = dr.make_context()                 # instead of dr.RasterizeCudaContext()
    rast, rast_db = dr.rasterize(ctx, pos, tri, (H, W))
    feat, _ = dr.interpolate(attr, rast, tri)
    mask = dr.antialias(rast[..., 3:].clamp(0, 1), rast, pos, tri)

``rasterize`` runs on its context's backend; ``interpolate``, ``antialias`` and ``texture`` take
an optional ``backend`` (default ``auto``: nvdiffrast for CUDA tensors when importable, else the
pure-PyTorch backend). The semantics (frames, clamps, gradients) are nvdiffrast's; see
:mod:`render.torch_backend.rasterize` and :mod:`render.torch_backend.interpolate`.

Deliberate difference: an empty ``tri`` (0 triangles) gives all-zero ``rast``/``rast_db`` and
all-zero interpolated attributes, and ``antialias`` returns ``color`` unchanged, on both backends
(nvdiffrast itself raises). ``tri`` may be int32 or int64 (nvdiffrast wants int32; the nvdiffrast
backend converts).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch

from render.backend import (
    Backend,
    BackendLike,
    NvdiffrastRasterContext,
    RasterContext,
    TorchRasterContext,
    op_backend,
)

__all__ = ["antialias", "interpolate", "rasterize", "texture"]

_MAX_TRIANGLES = 1 << 24


def _describe(x: object) -> str:
    if isinstance(x, torch.Tensor):
        return f"a {x.dtype} tensor of shape {list(x.shape)} on {x.device}"
    return f"{type(x).__name__} {x!r}"


def _check_float(name: str, t: object) -> torch.Tensor:
    if not isinstance(t, torch.Tensor) or not t.dtype.is_floating_point:
        raise TypeError(f"{name} must be a floating-point torch.Tensor, got {_describe(t)}")
    return t


def _check_tri(tri: object, n_vert: int | None) -> torch.Tensor:
    if not isinstance(tri, torch.Tensor) or tri.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"tri must be an int32 or int64 torch.Tensor, got {_describe(tri)}")
    if tri.dim() != 2 or tri.shape[1] != 3:
        raise ValueError(f"tri must have shape [F, 3], got {list(tri.shape)}")
    if tri.shape[0] > _MAX_TRIANGLES:
        raise ValueError(f"tri must have at most 2**24 rows (ids are stored as float), got {tri.shape[0]}")
    if n_vert is not None and tri.numel():
        lo, hi = int(tri.min()), int(tri.max())
        if lo < 0 or hi >= n_vert:
            raise ValueError(f"tri must index vertices in [0, {n_vert}), got values in [{lo}, {hi}]")
    return tri


def _check_same_device(**tensors: torch.Tensor | None) -> None:
    items = [(k, v) for k, v in tensors.items() if isinstance(v, torch.Tensor)]
    dev = items[0][1].device
    for k, v in items[1:]:
        if v.device != dev:
            raise ValueError(f"{k} must be on {items[0][0]}'s device {dev}, got {v.device}")


def _check_resolution(resolution: object) -> tuple[int, int]:
    ok = isinstance(resolution, Sequence) and not isinstance(resolution, str) and len(resolution) == 2
    if ok:
        try:
            h, w = (int(r) for r in resolution)
            ok = h == resolution[0] and w == resolution[1] and h > 0 and w > 0
        except (TypeError, ValueError):
            ok = False
    if not ok:
        raise ValueError(f"resolution must be (height, width) with positive ints, got {resolution!r}")
    return h, w


def rasterize(
    ctx: RasterContext,
    pos: torch.Tensor,
    tri: torch.Tensor,
    resolution: tuple[int, int],
    ranges: torch.Tensor | None = None,
    grad_db: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rasterize triangles (nvdiffrast's ``rasterize``).

    Args:
        ctx: a context from :func:`render.make_context` (torch or nvdiffrast backend).
        pos: clip-space vertex positions (x, y, z, w), float: ``[B, V, 4]`` in instanced mode
            (every item draws all of ``tri`` with its own vertices) or ``[V, 4]`` in range mode.
        tri: ``[F, 3]`` int32/int64 vertex indices.
        resolution: ``(H, W)``.
        ranges: range mode only: ``[B, 2]`` int (start, count) rows of ``tri`` drawn by item b.
        grad_db: propagate gradients of ``rast_db`` to ``pos`` in the backward pass.

    Returns:
        rast: ``[B, H, W, 4]`` = (u, v, z/w, triangle_id + 1); row 0 is NDC y = -1; pixels
            without a triangle are all zero. float32 on nvdiffrast, ``pos``'s dtype on torch.
        rast_db: ``[B, H, W, 4]`` = (du/dX, du/dY, dv/dX, dv/dY) per pixel.
    """
    if not isinstance(ctx, (TorchRasterContext, NvdiffrastRasterContext)):
        raise TypeError(
            "ctx must be a render.TorchRasterContext or render.NvdiffrastRasterContext "
            f"(see render.make_context), got {_describe(ctx)}"
        )
    _check_float("pos", pos)
    if pos.dim() not in (2, 3) or pos.shape[-1] != 4:
        raise ValueError(f"pos must have shape [B, V, 4] or [V, 4], got {list(pos.shape)}")
    if pos.dim() == 3 and pos.shape[0] == 0:
        raise ValueError(f"pos must have a non-empty minibatch, got shape {list(pos.shape)}")
    tri = _check_tri(tri, pos.shape[-2])
    _check_same_device(pos=pos, tri=tri)
    height, width = _check_resolution(resolution)
    if not isinstance(grad_db, bool):
        raise TypeError(f"grad_db must be a bool, got {_describe(grad_db)}")
    if pos.dim() == 3:
        if ranges is not None:
            raise ValueError("ranges must be None in instanced mode (pos [B, V, 4]); use pos [V, 4]")
        batch = pos.shape[0]
    else:
        if ranges is None:
            raise ValueError("ranges ([B, 2] int tensor) is required in range mode (pos [V, 4])")
        if not isinstance(ranges, torch.Tensor) or ranges.dtype not in (torch.int32, torch.int64):
            raise TypeError(f"ranges must be an int32 or int64 torch.Tensor, got {_describe(ranges)}")
        if ranges.dim() != 2 or ranges.shape[1] != 2 or ranges.shape[0] == 0:
            raise ValueError(f"ranges must have shape [B>0, 2], got {list(ranges.shape)}")
        r = ranges.cpu().to(torch.int64)
        if bool((r < 0).any()) or bool((r[:, 0] + r[:, 1] > tri.shape[0]).any()):
            raise ValueError(
                f"ranges rows (start, count) must satisfy start, count >= 0 and start + count <= "
                f"{tri.shape[0]} (rows of tri), got {r.tolist()}"
            )
        batch = r.shape[0]
    if isinstance(ctx, NvdiffrastRasterContext) and pos.device != ctx.device:
        raise ValueError(f"pos must be on the context's device {ctx.device}, got {pos.device}")
    if tri.shape[0] == 0:  # documented: all-zero outputs (nvdiffrast raises)
        dtype = torch.float32 if isinstance(ctx, NvdiffrastRasterContext) else pos.dtype
        zeros = torch.zeros(batch, height, width, 4, dtype=dtype, device=pos.device)
        return zeros + 0.0 * pos.sum(), zeros.clone()
    if isinstance(ctx, NvdiffrastRasterContext):
        from render.nvdiffrast_backend import rasterize_nvdiffrast

        return rasterize_nvdiffrast(ctx.raw, pos, tri, (height, width), ranges=ranges, grad_db=grad_db)
    from render.torch_backend.rasterize import rasterize_torch

    shade = frag = grad = None
    if ctx.compile:
        from render.torch_backend.compiled import compiled

        shade = compiled(ctx.kernels, "shade_image")
        frag = compiled(ctx.kernels, "fragment_keys")
        grad = compiled(ctx.kernels, "raster_grad")
    return rasterize_torch(
        pos,
        tri,
        (height, width),
        ranges=ranges,
        grad_db=grad_db,
        tile_size=ctx.tile_size,
        max_fragments=ctx.max_fragments,
        shade=shade,
        frag=frag,
        grad=grad,
    )


def _resolve_diff_attrs(diff_attrs: object, n_chan: int) -> list[int] | None:
    if diff_attrs is None:
        return None
    if isinstance(diff_attrs, str):
        if diff_attrs != "all":
            raise ValueError(
                f"diff_attrs must be None, 'all' or a list of channel indices, got {diff_attrs!r}"
            )
        return list(range(n_chan))
    if not isinstance(diff_attrs, Sequence) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in diff_attrs
    ):
        raise TypeError(f"diff_attrs must be None, 'all' or a list of ints, got {diff_attrs!r}")
    out = []
    for i in diff_attrs:
        if not -n_chan <= i < n_chan:
            raise ValueError(f"diff_attrs entries must lie in [-{n_chan}, {n_chan}) (attr channels), got {i}")
        out.append(i % n_chan)
    return out


def interpolate(
    attr: torch.Tensor,
    rast: torch.Tensor,
    tri: torch.Tensor,
    rast_db: torch.Tensor | None = None,
    diff_attrs: list[int] | str | None = None,
    *,
    backend: BackendLike = Backend.AUTO,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Interpolate vertex attributes over ``rast`` (nvdiffrast's ``interpolate``).

    Args:
        attr: ``[V, C]`` (range mode or shared by all items) or ``[B, V, C]`` (instanced; B = 1
            broadcasts) float vertex attributes.
        rast: ``[B, H, W, 4]`` from :func:`rasterize`.
        tri: ``[F, 3]`` int32/int64, the triangles that were rasterized.
        rast_db: ``[B, H, W, 4]`` from :func:`rasterize`; needed for ``diff_attrs``.
        diff_attrs: channels whose pixel derivatives are wanted: a list of ints (negative
            allowed) or ``'all'``.
        backend: the process's rasterizer context (its backend and options, e.g. a torch
            context's ``compile``, apply), or a name: ``auto`` (by device), ``torch`` or
            ``nvdiffrast``.

    Returns:
        out: ``[B, H, W, C]``; 0 where no triangle.
        out_da: ``[B, H, W, 2 * len(diff_attrs)]`` = (dA/dX, dA/dY) per selected channel, or
            ``[B, H, W, 0]``.
    """
    _check_float("attr", attr)
    _check_float("rast", rast)
    if attr.dim() not in (2, 3):
        raise ValueError(f"attr must have shape [V, C] or [B, V, C], got {list(attr.shape)}")
    if rast.dim() != 4 or rast.shape[-1] != 4:
        raise ValueError(f"rast must have shape [B, H, W, 4], got {list(rast.shape)}")
    if attr.dim() == 3 and attr.shape[0] not in (1, rast.shape[0]):
        raise ValueError(
            f"attr's minibatch must be 1 or rast's ({rast.shape[0]}), got attr shape {list(attr.shape)}"
        )
    tri = _check_tri(tri, attr.shape[-2])
    if rast_db is not None:
        _check_float("rast_db", rast_db)
        if rast_db.shape != rast.shape:
            raise ValueError(f"rast_db must have rast's shape {list(rast.shape)}, got {list(rast_db.shape)}")
    _check_same_device(attr=attr, rast=rast, tri=tri, rast_db=rast_db)
    resolved = _resolve_diff_attrs(diff_attrs, attr.shape[-1])
    if resolved and rast_db is None:
        raise ValueError("diff_attrs needs rast_db (the second output of rasterize), got rast_db=None")
    if rast.numel():
        max_id = int(rast[..., 3].detach().max())
        if max_id > tri.shape[0]:
            raise ValueError(f"rast holds triangle id {max_id} but tri has only {tri.shape[0]} rows")
    chosen, torch_ctx = op_backend(backend, attr.device)
    if tri.shape[0] == 0:
        b, h, w, _ = rast.shape
        n_da = 2 * len(resolved) if resolved else 0
        zero = 0.0 * attr.sum() + 0.0 * rast.sum()
        out = attr.new_zeros(b, h, w, attr.shape[-1]) + zero
        return out, attr.new_zeros(b, h, w, n_da)
    if chosen is Backend.NVDIFFRAST:
        from render.nvdiffrast_backend import interpolate_nvdiffrast

        da = (diff_attrs if diff_attrs == "all" else resolved) if resolved else None
        return interpolate_nvdiffrast(attr, rast, tri, rast_db=rast_db if resolved else None, diff_attrs=da)
    from render.torch_backend.interpolate import interpolate_torch

    blend = blend_grad = None
    if torch_ctx is not None and torch_ctx.compile:
        from render.torch_backend.compiled import compiled

        blend = compiled(torch_ctx.kernels, "blend_image")
        blend_grad = compiled(torch_ctx.kernels, "blend_grad")
    return interpolate_torch(
        attr, rast, tri, rast_db=rast_db, diff_attrs=resolved, blend=blend, blend_grad=blend_grad
    )


def antialias(
    color: torch.Tensor,
    rast: torch.Tensor,
    pos: torch.Tensor,
    tri: torch.Tensor,
    topology_hash: Any = None,
    pos_gradient_boost: float = 1.0,
    *,
    backend: BackendLike = Backend.AUTO,
) -> torch.Tensor:
    """Antialias silhouette edges of ``color`` (nvdiffrast's ``antialias``).

    The only op that gives vertex positions visibility (silhouette) gradients.

    Args:
        color: ``[B, H, W, C]`` float image.
        rast: ``[B, H, W, 4]`` from :func:`rasterize`.
        pos: the clip-space positions that were rasterized, ``[B, V, 4]`` or ``[V, 4]``.
        tri: ``[F, 3]`` int32/int64, the triangles that were rasterized (welded mesh).
        topology_hash: optional precomputed topology for ``tri`` of the chosen backend.
        pos_gradient_boost: multiplier of the position gradient.
        backend: the process's rasterizer context (its backend is used), or a name: ``auto``
            (by device), ``torch`` or ``nvdiffrast``.

    Returns:
        ``[B, H, W, C]`` antialiased image.
    """
    _check_float("color", color)
    _check_float("rast", rast)
    _check_float("pos", pos)
    tri = _check_tri(tri, pos.shape[-2] if pos.dim() in (2, 3) else None)
    if color.dim() != 4 or rast.dim() != 4 or color.shape[:3] != rast.shape[:3]:
        raise ValueError(
            "color and rast must have shapes [B, H, W, C] and [B, H, W, 4] with the same B, H, W; "
            f"got {list(color.shape)} and {list(rast.shape)}"
        )
    if pos.dim() not in (2, 3) or pos.shape[-1] != 4:
        raise ValueError(f"pos must have shape [B, V, 4] or [V, 4], got {list(pos.shape)}")
    _check_same_device(color=color, rast=rast, pos=pos, tri=tri)
    chosen, _ = op_backend(backend, color.device)
    if tri.shape[0] == 0:
        return color + 0.0 * pos.sum()
    if chosen is Backend.NVDIFFRAST:
        from render.nvdiffrast_backend import antialias_nvdiffrast

        return antialias_nvdiffrast(color, rast, pos, tri, topology_hash, pos_gradient_boost)
    from render.torch_backend.antialias import antialias_torch

    return antialias_torch(color, rast, pos, tri, pos_gradient_boost, topology_hash=topology_hash)


def texture(
    tex: torch.Tensor,
    uv: torch.Tensor,
    uv_da: torch.Tensor | None = None,
    mip_level_bias: torch.Tensor | None = None,
    mip: Any = None,
    filter_mode: str = "auto",
    boundary_mode: str = "wrap",
    max_mip_level: int | None = None,
    *,
    backend: BackendLike = Backend.AUTO,
) -> torch.Tensor:
    """Sample a 2D texture (nvdiffrast's ``texture``).

    Args:
        tex: ``[B, Ht, Wt, C]`` float texture (B = 1 broadcasts); row 0 is v in [0, 1/Ht).
        uv: ``[B, H, W, 2]`` texture coordinates; u indexes columns, v rows.
        uv_da, mip_level_bias, mip, max_mip_level: mipmapping inputs (nvdiffrast's meaning);
            the torch backend supports them only if its implementation does.
        filter_mode: ``auto``, ``nearest``, ``linear``, ``linear-mipmap-nearest``,
            ``linear-mipmap-linear``.
        boundary_mode: ``wrap``, ``clamp``, ``zero`` (``cube`` on nvdiffrast).
        backend: the process's rasterizer context (its backend is used), or a name: ``auto``
            (by device), ``torch`` or ``nvdiffrast``.

    Returns:
        ``[B, H, W, C]`` sampled values.
    """
    _check_float("tex", tex)
    _check_float("uv", uv)
    _check_same_device(tex=tex, uv=uv, uv_da=uv_da, mip_level_bias=mip_level_bias)
    modes = ("auto", "nearest", "linear", "linear-mipmap-nearest", "linear-mipmap-linear")
    if filter_mode not in modes:
        raise ValueError(f"filter_mode must be one of {modes}, got {filter_mode!r}")
    if boundary_mode not in ("wrap", "clamp", "zero", "cube"):
        raise ValueError(
            f"boundary_mode must be one of 'wrap', 'clamp', 'zero', 'cube', got {boundary_mode!r}"
        )
    chosen, _ = op_backend(backend, uv.device)
    if chosen is Backend.NVDIFFRAST:
        from render.nvdiffrast_backend import texture_nvdiffrast

        return texture_nvdiffrast(
            tex, uv, uv_da, mip_level_bias, mip, filter_mode, boundary_mode, max_mip_level
        )
    from render.torch_backend.texture import texture_torch

    accepted = inspect.signature(texture_torch).parameters
    extras = {
        "uv_da": uv_da,
        "mip_level_bias": mip_level_bias,
        "mip": mip,
        "max_mip_level": max_mip_level,
    }
    kwargs: dict[str, Any] = {}
    for name, value in extras.items():
        if value is None:
            continue
        if name not in accepted:
            raise NotImplementedError(f"texture: the torch backend does not support {name} (mipmapping)")
        kwargs[name] = value
    return texture_torch(tex, uv, filter_mode=filter_mode, boundary_mode=boundary_mode, **kwargs)
