"""Thin wrappers of nvdiffrast's four ops (CUDA only), with nvdiffrast and its plugin loaded by
:func:`render.nvdiffrast_loader.load_nvdiffrast`.

They only adapt inputs to nvdiffrast's requirements: contiguous tensors, float32 positions,
attributes, colours and textures, int32 triangles, int32 ``ranges`` on the CPU. Validation happens
in :mod:`render.ops`. ``tri`` must be non-empty here (the ops handle empty meshes themselves).
"""

from __future__ import annotations

from typing import Any

import torch

from render.nvdiffrast_loader import load_nvdiffrast

__all__ = [
    "antialias_nvdiffrast",
    "interpolate_nvdiffrast",
    "rasterize_nvdiffrast",
    "texture_nvdiffrast",
]


def _f32(t: torch.Tensor) -> torch.Tensor:
    return t.to(torch.float32).contiguous()


def _i32(t: torch.Tensor) -> torch.Tensor:
    return t.to(torch.int32).contiguous()


def rasterize_nvdiffrast(
    raw_ctx: Any,
    pos: torch.Tensor,
    tri: torch.Tensor,
    resolution: tuple[int, int],
    ranges: torch.Tensor | None = None,
    grad_db: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``nvdiffrast.torch.rasterize`` on a ``RasterizeCudaContext``; outputs float32."""
    dr = load_nvdiffrast()
    if ranges is not None:
        ranges = ranges.to(device="cpu", dtype=torch.int32).contiguous()
    return dr.rasterize(
        raw_ctx,
        _f32(pos),
        _i32(tri),
        (int(resolution[0]), int(resolution[1])),
        ranges=ranges,
        grad_db=grad_db,
    )


def interpolate_nvdiffrast(
    attr: torch.Tensor,
    rast: torch.Tensor,
    tri: torch.Tensor,
    rast_db: torch.Tensor | None = None,
    diff_attrs: list[int] | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``nvdiffrast.torch.interpolate``; outputs float32."""
    dr = load_nvdiffrast()
    db = _f32(rast_db) if rast_db is not None else None
    return dr.interpolate(_f32(attr), _f32(rast), _i32(tri), rast_db=db, diff_attrs=diff_attrs)


def antialias_nvdiffrast(
    color: torch.Tensor,
    rast: torch.Tensor,
    pos: torch.Tensor,
    tri: torch.Tensor,
    topology_hash: Any = None,
    pos_gradient_boost: float = 1.0,
) -> torch.Tensor:
    """``nvdiffrast.torch.antialias``; output float32."""
    dr = load_nvdiffrast()
    return dr.antialias(
        _f32(color),
        _f32(rast),
        _f32(pos),
        _i32(tri),
        topology_hash=topology_hash,
        pos_gradient_boost=pos_gradient_boost,
    )


def texture_nvdiffrast(
    tex: torch.Tensor,
    uv: torch.Tensor,
    uv_da: torch.Tensor | None = None,
    mip_level_bias: torch.Tensor | None = None,
    mip: Any = None,
    filter_mode: str = "auto",
    boundary_mode: str = "wrap",
    max_mip_level: int | None = None,
) -> torch.Tensor:
    """``nvdiffrast.torch.texture``; output float32."""
    dr = load_nvdiffrast()
    return dr.texture(
        _f32(tex),
        _f32(uv),
        uv_da=_f32(uv_da) if uv_da is not None else None,
        mip_level_bias=_f32(mip_level_bias) if mip_level_bias is not None else None,
        mip=mip,
        filter_mode=filter_mode,
        boundary_mode=boundary_mode,
        max_mip_level=max_mip_level,
    )
