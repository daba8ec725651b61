"""FIR resampling in plain PyTorch: StyleGAN2's ``upfirdn2d`` and the resampling convolution.

``upfirdn2d`` = upsample by zero insertion, pad (negative padding crops), convolve every channel
with a 2-D FIR filter (a true convolution: the filter is flipped), then keep every ``down``-th
pixel. The filter used everywhere in GET3D is the separable ``[1, 3, 3, 1]`` low-pass, stored as
the normalised ``[4, 4]`` outer product (the ``resample_filter`` buffers of the official
checkpoints).

``conv2d_resample`` is a convolution with optional ``up``/``down`` sampling by 2 around it, with
StyleGAN2's padding rules. Paddings are given as ``(x0, x1, y0, y1)``: left, right, top, bottom.
Images are NCHW. Everything is differentiable with ordinary autograd; no custom kernels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "conv2d_resample",
    "downsample2d",
    "setup_filter",
    "upfirdn2d",
    "upsample2d",
]

Padding = int | Sequence[int]


def setup_filter(
    taps: Sequence[float] = (1, 3, 3, 1),
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """The 2-D FIR filter ``outer(taps, taps) / sum``: float ``[k, k]`` summing to 1."""
    t = torch.as_tensor(list(taps), dtype=dtype, device=device)
    if t.ndim != 1 or t.numel() == 0:
        raise ValueError(f"taps: expected a non-empty 1-D sequence of numbers, got {list(taps)!r}")
    f = torch.outer(t, t)
    return f / f.sum()


def _padding4(padding: Padding) -> tuple[int, int, int, int]:
    if isinstance(padding, int):
        return (padding,) * 4
    p = [int(v) for v in padding]
    if len(p) == 2:
        return p[0], p[0], p[1], p[1]
    if len(p) != 4:
        raise ValueError(f"padding: expected an int, (px, py) or (x0, x1, y0, y1), got {padding!r}")
    return p[0], p[1], p[2], p[3]


def _check_filter(f: torch.Tensor) -> None:
    if not isinstance(f, torch.Tensor) or f.ndim != 2:
        raise ValueError(f"f: expected a 2-D FIR filter tensor [kh, kw], got {getattr(f, 'shape', f)!r}")


def upfirdn2d(
    x: torch.Tensor,
    f: torch.Tensor,
    up: int = 1,
    down: int = 1,
    padding: Padding = 0,
    gain: float = 1.0,
) -> torch.Tensor:
    """Upsample, pad, FIR-filter and downsample a batch of images.

    Args:
        x: float ``[B, C, H, W]``.
        f: float ``[kh, kw]`` filter (see :func:`setup_filter`); applied as a true convolution.
        up, down: integer factors >= 1.
        padding: ``(x0, x1, y0, y1)`` pixels added (negative: cropped) after upsampling.
        gain: the filter is multiplied by ``gain`` (use ``up**2`` to keep the DC level).

    Returns:
        float ``[B, C, (H*up + y0 + y1 - kh) // down + 1, (W*up + x0 + x1 - kw) // down + 1]``.
    """
    if x.ndim != 4:
        raise ValueError(f"x: expected an image batch [B, C, H, W], got shape {tuple(x.shape)}")
    _check_filter(f)
    if up < 1 or down < 1:
        raise ValueError(f"up/down: expected integers >= 1, got up={up}, down={down}")
    b, c, h, w = x.shape
    x0, x1, y0, y1 = _padding4(padding)
    kh, kw = f.shape
    if up > 1 and down == 1:
        # Zero insertion + filtering in one transposed convolution: its output is the zero-inserted
        # signal padded by k - 1 on both sides, so shift the requested padding accordingly.
        kernel = (f * gain).to(x.dtype)[None, None].expand(c, 1, kh, kw)
        x = F.conv_transpose2d(x, kernel, stride=up, groups=c)
        return F.pad(x, [x0 - kw + 1, x1 + up - kw, y0 - kh + 1, y1 + up - kh])
    if up > 1:
        x = x.reshape(b, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(b, c, h * up, w * up)
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0) : x.shape[2] - max(-y1, 0), max(-x0, 0) : x.shape[3] - max(-x1, 0)]
    kernel = (f * gain).to(x.dtype).flip([0, 1])
    kernel = kernel[None, None].expand(c, 1, *kernel.shape)
    x = F.conv2d(x, kernel, groups=c)
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2) -> torch.Tensor:
    """Upsample ``[B, C, H, W]`` to ``[B, C, H*up, W*up]`` with the FIR filter ``f`` (DC gain 1)."""
    kh, kw = f.shape
    pad = ((kw + up - 1) // 2, (kw - up) // 2, (kh + up - 1) // 2, (kh - up) // 2)
    return upfirdn2d(x, f, up=up, padding=pad, gain=up * up)


def downsample2d(x: torch.Tensor, f: torch.Tensor, down: int = 2) -> torch.Tensor:
    """Downsample ``[B, C, H, W]`` to ``[B, C, H//down, W//down]`` with the FIR filter ``f``."""
    kh, kw = f.shape
    pad = ((kw - down + 1) // 2, (kw - down) // 2, (kh - down + 1) // 2, (kh - down) // 2)
    return upfirdn2d(x, f, down=down, padding=pad)


def conv2d_resample(
    x: torch.Tensor,
    w: torch.Tensor,
    f: torch.Tensor | None = None,
    up: int = 1,
    down: int = 1,
    padding: int = 0,
    groups: int = 1,
    flip_weight: bool = True,
) -> torch.Tensor:
    """2-D convolution with optional FIR upsampling before it or downsampling after it.

    Semantics (StyleGAN2): ``upfirdn2d(x, f, up, pad, gain=up**2)`` -> convolution with ``w``
    -> ``upfirdn2d(., f, down)``, where ``pad`` extends ``padding`` by the filter's support so
    that the output has ``H*up/down`` rows. ``flip_weight=True`` means correlation (as
    ``torch.nn.functional.conv2d``), ``False`` a true convolution. Only ``up`` or ``down`` may
    exceed 1, and only by 2 for non-1x1 kernels (all that GET3D uses).

    Args:
        x: float ``[B, C_in, H, W]``.
        w: float ``[C_out, C_in // groups, k, k]``.
        f: float ``[4, 4]`` FIR filter; required when resampling.
        padding: zero padding of the (upsampled) input for the convolution, usually ``k // 2``.

    Returns:
        float ``[B, C_out, H*up // down, W*up // down]``.
    """
    if up > 1 and down > 1:
        raise ValueError(f"up/down: expected at most one of them > 1, got up={up}, down={down}")
    out_ch, in_per_group, kh, kw = w.shape
    if (up > 1 or down > 1) and f is None:
        raise ValueError("f: a FIR filter is required when up > 1 or down > 1")
    if up > 1 and (kh > 1 or kw > 1):
        return _conv_up(x, w, f, up, padding, groups, flip_weight)
    if not flip_weight and (kh > 1 or kw > 1):
        w = w.flip([2, 3])  # from now on: correlation semantics
    if up == 1 and down == 1:
        return F.conv2d(x, w, padding=padding, groups=groups)
    fh, fw = f.shape
    if down > 1:
        p0 = padding + (fw - down + 1) // 2
        p1 = padding + (fw - down) // 2
        if kh == 1 and kw == 1:
            x = upfirdn2d(x, f, down=down, padding=(p0, p1, p0, p1))
            return F.conv2d(x, w, groups=groups)
        x = upfirdn2d(x, f, padding=(p0, p1, p0, p1))
        return F.conv2d(x, w, stride=down, groups=groups)
    # up > 1 with a 1x1 kernel: convolve first, then upsample.
    p0 = padding + (fw + up - 1) // 2
    p1 = padding + (fw - up) // 2
    x = F.conv2d(x, w, groups=groups)
    return upfirdn2d(x, f, up=up, padding=(p0, p1, p0, p1), gain=up * up)


def _conv_up(
    x: torch.Tensor, w: torch.Tensor, f: torch.Tensor, up: int, padding: int, groups: int, flip_weight: bool
) -> torch.Tensor:
    """Upsampling convolution: zero insertion + correlation with ``w_corr`` equals a transposed
    convolution with ``w_corr`` flipped, i.e. with ``w`` itself when ``flip_weight`` is False."""
    out_ch, in_per_group, kh, kw = w.shape
    fw = f.shape[1]
    p0 = padding + (fw + up - 1) // 2
    p1 = padding + (fw - up) // 2
    wt = w.flip([2, 3]) if flip_weight else w
    wt = wt.reshape(groups, out_ch // groups, in_per_group, kh, kw).transpose(1, 2)
    wt = wt.reshape(groups * in_per_group, out_ch // groups, kh, kw)
    q0 = p0 - (kw - 1)
    q1 = p1 - (kw - up)
    x = F.conv_transpose2d(x, wt, stride=up, groups=groups)
    return upfirdn2d(x, f, padding=(q0, q1, q0, q1), gain=up * up)
