"""nvdiffrast's ``texture`` in pure PyTorch: 2D texture sampling with its conventions and gradients.

Conventions (nvdiffrast's ``texture.cu``):

* ``tex[B, H, W, C]``: ``u = uv[..., 0]`` indexes columns (width), ``v = uv[..., 1]`` rows
  (height); row 0 of the tensor holds ``v`` in ``[0, 1/H)`` (OpenGL's bottom row).
* Texel ``(i, j)`` has its centre at ``((i + 0.5) / W, (j + 0.5) / H)``. ``linear`` filtering is
  bilinear at texel-space position ``(u * W - 0.5, v * H - 0.5)``; ``nearest`` takes texel
  ``floor(u * W)``.
* Boundary modes: ``wrap`` replaces uv by its fractional part and wraps the bilinear taps to the
  opposite edge; ``clamp`` clamps texel-space positions to the centres of the edge texels (uv
  gradient 0 when clamped; ``nearest`` clamps the texel index); ``zero`` gives texels outside the
  texture the value 0 (``nearest`` outputs 0 outside).
* Mipmaps (``linear-mipmap-nearest``, ``linear-mipmap-linear``): the stack is built by 2x2 box
  averaging (a side of 1 stays 1, sides > 1 must be even down to the last level used). The level
  is ``lambda = 0.5 * log2(major axis^2 of the texel-space footprint from uv_da) + mip_level_bias``,
  clamped to ``[0, max level]``; ``-nearest`` uses level ``floor(lambda)``, ``-linear`` blends
  ``floor(lambda)`` and the next level. ``auto`` means ``linear-mipmap-linear`` when ``uv_da`` or
  ``mip_level_bias`` is given, else ``linear``.

Gradients (through autograd, matching nvdiffrast's kernels): ``nearest`` to ``tex`` only;
``linear`` to ``tex`` and ``uv``; ``linear-mipmap-nearest`` also through the mip stack to ``tex``;
``linear-mipmap-linear`` additionally to ``uv_da`` and ``mip_level_bias`` (as nvdiffrast, the
``uv_da`` gradient is 0 where the footprint is exactly isotropic).

Not supported: ``boundary_mode='cube'`` (cube maps; raises ``ValueError``) and custom mip stacks
(nvdiffrast's ``mip=`` argument; there is no such parameter, and :func:`render.texture` raises
``NotImplementedError`` for it on this backend). ``tex`` batch 1 broadcasts over ``uv``'s batch;
otherwise the batches must be equal.
"""

from __future__ import annotations

import math
from enum import Enum

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["BoundaryMode", "FilterMode", "texture_construct_mip_torch", "texture_torch"]


class FilterMode(str, Enum):
    """Texture filter modes (nvdiffrast's names)."""

    AUTO = "auto"
    NEAREST = "nearest"
    LINEAR = "linear"
    LINEAR_MIPMAP_NEAREST = "linear-mipmap-nearest"
    LINEAR_MIPMAP_LINEAR = "linear-mipmap-linear"


class BoundaryMode(str, Enum):
    """Texture boundary modes supported by the torch backend (``cube`` is not)."""

    WRAP = "wrap"
    CLAMP = "clamp"
    ZERO = "zero"


def _parse_enum(enum_cls, value, name: str):
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum_cls)
        extra = ""
        if enum_cls is BoundaryMode and value == "cube":
            extra = " ('cube' maps are not supported by the torch backend)"
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}{extra}") from None


def texture_construct_mip_torch(tex: Tensor, max_mip_level: int | None = None) -> list[Tensor]:
    """Build nvdiffrast's mip stack of ``tex[B, H, W, C]``: ``[level0 = tex, level1, ...]``.

    Level ``l`` has size ``(max(H >> l, 1), max(W >> l, 1))`` and is the 2x2 box average of level
    ``l - 1`` (a pair average when one side is already 1). Levels stop at 1x1 or at
    ``max_mip_level``. Differentiable (autograd carries level gradients back to ``tex``).

    Raises:
        ValueError: if a side larger than 1 is odd where it must be halved (nvdiffrast requires
            ``max_mip_level`` for such textures).
    """
    if max_mip_level is not None and (not isinstance(max_mip_level, int) or max_mip_level < 0):
        raise ValueError(f"max_mip_level must be None or an int >= 0, got {max_mip_level!r}")
    levels = [tex]
    cur = tex.permute(0, 3, 1, 2)
    height, width = tex.shape[1], tex.shape[2]
    while (height > 1 or width > 1) and (max_mip_level is None or len(levels) <= max_mip_level):
        if (height > 1 and height % 2) or (width > 1 and width % 2):
            raise ValueError(
                f"texture size {tex.shape[1]}x{tex.shape[2]} cannot be mipmapped: level {len(levels) - 1} "
                f"is {height}x{width} and sides > 1 must be even; pass max_mip_level={len(levels) - 1} "
                "or smaller"
            )
        kh = 2 if height > 1 else 1
        kw = 2 if width > 1 else 1
        cur = F.avg_pool2d(cur, kernel_size=(kh, kw), stride=(kh, kw))
        height, width = cur.shape[2], cur.shape[3]
        levels.append(cur.permute(0, 2, 3, 1))
    return levels


def _gather(flat: Tensor, idx: Tensor) -> Tensor:
    """``flat[Bt, T, C]``, ``idx[Bt, P]`` -> ``[Bt, P, C]`` (``index_select``: fast on CPU)."""
    bt, texels, channels = flat.shape
    if bt > 1:
        idx = idx + torch.arange(bt, device=idx.device)[:, None] * texels
    out = flat.reshape(bt * texels, channels).index_select(0, idx.reshape(-1))
    return out.reshape(*idx.shape, channels)


def _bilinear(
    flat: Tensor,
    offset: Tensor | int,
    width: Tensor | int,
    height: Tensor | int,
    u: Tensor,
    v: Tensor,
    boundary: BoundaryMode,
) -> Tensor:
    """Bilinear sample of one (per-point) level stored at ``flat[:, offset:]`` row-major ``[H, W]``.

    ``u``, ``v``: ``[Bt, P]``; ``width``/``height``/``offset``: ints or ``[Bt, P]`` int64.
    Returns ``[Bt, P, C]``.
    """
    wf = width if isinstance(width, int) else width.to(u.dtype)
    hf = height if isinstance(height, int) else height.to(u.dtype)
    if boundary is BoundaryMode.WRAP:
        u = u - torch.floor(u)
        v = v - torch.floor(v)
    s = u * wf - 0.5
    t = v * hf - 0.5
    if boundary is BoundaryMode.CLAMP:
        s = torch.minimum(torch.clamp(s, min=0.0), torch.as_tensor(wf - 1, dtype=s.dtype))
        t = torch.minimum(torch.clamp(t, min=0.0), torch.as_tensor(hf - 1, dtype=t.dtype))
    s0 = torch.floor(s)
    t0 = torch.floor(t)
    fs = s - s0
    ft = t - t0
    iu0 = s0.detach().long()
    iv0 = t0.detach().long()
    if boundary is BoundaryMode.CLAMP:
        # Clamped positions use one texel twice, so the uv gradient vanishes (nvdiffrast).
        iu1 = iu0 + ((s > 0) & (s < wf - 1)).long()
        iv1 = iv0 + ((t > 0) & (t < hf - 1)).long()
    else:
        iu1 = iu0 + 1
        iv1 = iv0 + 1
    if boundary is BoundaryMode.WRAP:
        iu0 = torch.remainder(iu0, width)
        iu1 = torch.remainder(iu1, width)
        iv0 = torch.remainder(iv0, height)
        iv1 = torch.remainder(iv1, height)
    valid = None
    if boundary is BoundaryMode.ZERO:
        ok_u0 = (iu0 >= 0) & (iu0 < width)
        ok_u1 = (iu1 >= 0) & (iu1 < width)
        ok_v0 = (iv0 >= 0) & (iv0 < height)
        ok_v1 = (iv1 >= 0) & (iv1 < height)
        valid = [ok_u0 & ok_v0, ok_u1 & ok_v0, ok_u0 & ok_v1, ok_u1 & ok_v1]
        iu0, iu1 = iu0.clamp(0, None), iu1.clamp(0, None)
        iv0, iv1 = iv0.clamp(0, None), iv1.clamp(0, None)
        iu0 = torch.minimum(iu0, torch.as_tensor(width) - 1)
        iu1 = torch.minimum(iu1, torch.as_tensor(width) - 1)
        iv0 = torch.minimum(iv0, torch.as_tensor(height) - 1)
        iv1 = torch.minimum(iv1, torch.as_tensor(height) - 1)
    taps = []
    for k, (iu, iv) in enumerate(((iu0, iv0), (iu1, iv0), (iu0, iv1), (iu1, iv1))):
        texel = _gather(flat, offset + iv * width + iu)
        if valid is not None:
            texel = texel * valid[k][..., None].to(texel.dtype)
        taps.append(texel)
    a00, a10, a01, a11 = taps
    fs = fs[..., None].to(flat.dtype)
    ft = ft[..., None].to(flat.dtype)
    top = a00 + fs * (a10 - a00)
    bottom = a01 + fs * (a11 - a01)
    return top + ft * (bottom - top)


def _nearest(flat: Tensor, width: int, height: int, u: Tensor, v: Tensor, boundary: BoundaryMode) -> Tensor:
    u = u.detach()
    v = v.detach()
    if boundary is BoundaryMode.WRAP:
        u = u - torch.floor(u)
        v = v - torch.floor(v)
    iu = torch.floor(u * width).long()
    iv = torch.floor(v * height).long()
    valid = None
    if boundary is BoundaryMode.ZERO:
        valid = (iu >= 0) & (iu < width) & (iv >= 0) & (iv < height)
    iu = iu.clamp(0, width - 1)
    iv = iv.clamp(0, height - 1)
    out = _gather(flat, iv * width + iu)
    if valid is not None:
        out = out * valid[..., None].to(out.dtype)
    return out


def _mip_level(
    uv_da: Tensor | None, bias: Tensor | None, width: int, height: int, max_level: int, like: Tensor
) -> Tensor:
    """Per-point mip level ``lambda`` (clamped to ``[0, max_level]``), nvdiffrast's formula."""
    if uv_da is not None:
        with torch.no_grad():
            dsdx, dsdy = uv_da[..., 0] * width, uv_da[..., 1] * width
            dtdx, dtdy = uv_da[..., 2] * height, uv_da[..., 3] * height
            a = dsdx * dsdx + dtdx * dtdx
            b = dsdy * dsdy + dtdy * dtdy
            c = dsdx * dsdy + dtdx * dtdy
            l2n = 0.25 * (a - b) ** 2 + c * c
            major_exact = 0.5 * (a + b) + torch.sqrt(l2n)
            # nvdiffrast zeroes the uv_da gradient where it is not finite (isotropic footprints).
            smooth = (l2n > 0) & (major_exact > 0) & torch.isfinite(major_exact)
        da = torch.where(smooth[..., None], uv_da, uv_da.detach())
        dsdx, dsdy = da[..., 0] * width, da[..., 1] * width
        dtdx, dtdy = da[..., 2] * height, da[..., 3] * height
        a = dsdx * dsdx + dtdx * dtdx
        b = dsdy * dsdy + dtdy * dtdy
        c = dsdx * dsdy + dtdx * dtdy
        l2n = 0.25 * (a - b) ** 2 + c * c
        major = 0.5 * (a + b) + torch.sqrt(torch.where(smooth, l2n, torch.ones_like(l2n)))
        major = torch.where(smooth, major, major_exact)
        lam = 0.5 * torch.log2(torch.where(major > 0, major, torch.ones_like(major)))
        lam = torch.where(major > 0, lam, torch.full_like(lam, -math.inf))
    else:
        lam = torch.zeros_like(like)
    if bias is not None:
        lam = lam + bias
    lam = torch.nan_to_num(lam, nan=0.0)
    return lam.clamp(0.0, float(max_level))


def texture_torch(
    tex: Tensor,
    uv: Tensor,
    filter_mode: str | FilterMode = "linear",
    boundary_mode: str | BoundaryMode = "wrap",
    *,
    uv_da: Tensor | None = None,
    mip_level_bias: Tensor | None = None,
    max_mip_level: int | None = None,
) -> Tensor:
    """Sample ``tex`` at ``uv`` exactly as ``nvdiffrast.torch.texture`` (2D textures).

    Args:
        tex: ``[B, H, W, C]`` or ``[1, H, W, C]`` (broadcast over ``uv``'s batch) floating texture.
        uv: ``[B, h, w, 2]`` texture coordinates, ``u`` along width, ``v`` along height, texel
            centres at ``(i + 0.5) / size``.
        filter_mode: ``'nearest'``, ``'linear'``, ``'linear-mipmap-nearest'``,
            ``'linear-mipmap-linear'`` or ``'auto'`` (see the module docstring).
        boundary_mode: ``'wrap'``, ``'clamp'`` or ``'zero'``.
        uv_da: ``[B, h, w, 4]`` = (du/dX, du/dY, dv/dX, dv/dY) per pixel, for mip level selection.
        mip_level_bias: ``[B, h, w]`` added to the mip level.
        max_mip_level: highest mip level to build and use (``None``: down to 1x1).

    Returns:
        ``[B, h, w, C]`` tensor in ``tex``'s dtype, on ``tex``'s device.
    """
    if not isinstance(tex, Tensor) or not tex.dtype.is_floating_point:
        raise TypeError(f"tex must be a floating-point torch.Tensor, got {type(tex).__name__}")
    if not isinstance(uv, Tensor) or not uv.dtype.is_floating_point:
        raise TypeError(f"uv must be a floating-point torch.Tensor, got {type(uv).__name__}")
    fmode = _parse_enum(FilterMode, filter_mode, "filter_mode")
    bmode = _parse_enum(BoundaryMode, boundary_mode, "boundary_mode")
    if tex.dim() != 4 or min(tex.shape) == 0:
        raise ValueError(f"tex must have shape [B, H>0, W>0, C>0] (2D textures only), got {list(tex.shape)}")
    if uv.dim() != 4 or uv.shape[-1] != 2:
        raise ValueError(f"uv must have shape [B, h, w, 2], got {list(uv.shape)}")
    batch = uv.shape[0]
    if tex.shape[0] not in (1, batch):
        raise ValueError(
            f"tex batch must be 1 or equal uv's batch {batch}, got tex {list(tex.shape)} "
            f"and uv {list(uv.shape)}"
        )
    if uv.device != tex.device:
        raise ValueError(f"uv is on {uv.device} but tex is on {tex.device}")
    if uv_da is not None and (uv_da.shape != (*uv.shape[:3], 4)):
        raise ValueError(f"uv_da must have shape {[*uv.shape[:3], 4]}, got {list(uv_da.shape)}")
    if mip_level_bias is not None and mip_level_bias.shape != uv.shape[:3]:
        raise ValueError(
            f"mip_level_bias must have shape {list(uv.shape[:3])}, got {list(mip_level_bias.shape)}"
        )
    if fmode is FilterMode.AUTO:
        fmode = (
            FilterMode.LINEAR_MIPMAP_LINEAR
            if (uv_da is not None or mip_level_bias is not None)
            else FilterMode.LINEAR
        )
    mipmapped = fmode in (FilterMode.LINEAR_MIPMAP_NEAREST, FilterMode.LINEAR_MIPMAP_LINEAR)
    if mipmapped and uv_da is None and mip_level_bias is None:
        raise ValueError(f"filter_mode {fmode.value!r} needs uv_da and/or mip_level_bias")

    tb, height, width, channels = tex.shape
    h_img, w_img = uv.shape[1], uv.shape[2]
    # Points as [Bt, P]: a broadcast texture sees every batch item as more points.
    u = uv[..., 0].reshape(tb, -1)
    v = uv[..., 1].reshape(tb, -1)

    if fmode is FilterMode.NEAREST:
        out = _nearest(tex.reshape(tb, -1, channels), width, height, u, v, bmode)
        return out.reshape(batch, h_img, w_img, channels)
    if fmode is FilterMode.LINEAR:
        out = _bilinear(tex.reshape(tb, -1, channels), 0, width, height, u, v, bmode)
        return out.reshape(batch, h_img, w_img, channels)

    levels = texture_construct_mip_torch(tex, max_mip_level)
    max_level = len(levels) - 1
    flat = torch.cat([lv.reshape(tb, -1, channels) for lv in levels], dim=1)
    sizes = [(lv.shape[1], lv.shape[2]) for lv in levels]
    offsets = torch.tensor([0] + [h * w for h, w in sizes[:-1]], device=tex.device).cumsum(0)
    heights = torch.tensor([h for h, _ in sizes], device=tex.device)
    widths = torch.tensor([w for _, w in sizes], device=tex.device)

    lam = _mip_level(uv_da, mip_level_bias, width, height, max_level, uv[..., 0])
    lam = lam.reshape(tb, -1)
    level0 = torch.floor(lam.detach()).long()

    def sample(level: Tensor) -> Tensor:
        return _bilinear(flat, offsets[level], widths[level], heights[level], u, v, bmode)

    out = sample(level0)
    if fmode is FilterMode.LINEAR_MIPMAP_LINEAR and max_level > 0:
        level1 = (level0 + 1).clamp(max=max_level)
        frac = (lam - torch.floor(lam.detach()))[..., None].to(out.dtype)
        out = out + frac * (sample(level1) - out)
    return out.reshape(batch, h_img, w_img, channels)
