"""Slow, obviously-correct reference formulations for the network building blocks (tests only).

Everything here loops over kernel taps, samples or pixels and follows the textbook definitions:
zero-insertion upsampling, zero padding, true convolution with a flipped filter, decimation.
"""

from __future__ import annotations

import torch


def pad_or_crop(x: torch.Tensor, x0: int, x1: int, y0: int, y1: int) -> torch.Tensor:
    """Zero-pad (positive) or crop (negative) the last two dims of ``[..., H, W]``."""
    h, w = x.shape[-2:]
    out = x.new_zeros(*x.shape[:-2], h + y0 + y1, w + x0 + x1)
    # Source window that survives, destination offset.
    sy0, sx0 = max(-y0, 0), max(-x0, 0)
    sy1, sx1 = h - max(-y1, 0), w - max(-x1, 0)
    dy0, dx0 = max(y0, 0), max(x0, 0)
    out[..., dy0 : dy0 + (sy1 - sy0), dx0 : dx0 + (sx1 - sx0)] = x[..., sy0:sy1, sx0:sx1]
    return out


def zero_insert(x: torch.Tensor, up: int) -> torch.Tensor:
    """``[..., H, W] -> [..., H*up, W*up]`` with x at (up*i, up*j) and zeros elsewhere."""
    if up == 1:
        return x
    h, w = x.shape[-2:]
    out = x.new_zeros(*x.shape[:-2], h * up, w * up)
    for i in range(h):
        for j in range(w):
            out[..., up * i, up * j] = x[..., i, j]
    return out


def correlate_valid(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Per-channel 'valid' correlation of ``[..., H, W]`` with ``[kh, kw]`` by shift-and-add."""
    kh, kw = k.shape
    h, w = x.shape[-2:]
    out = x.new_zeros(*x.shape[:-2], h - kh + 1, w - kw + 1)
    for a in range(kh):
        for b in range(kw):
            out = out + k[a, b] * x[..., a : a + h - kh + 1, b : b + w - kw + 1]
    return out


def upfirdn2d_ref(x, f, up=1, down=1, padding=(0, 0, 0, 0), gain=1.0):
    """Textbook upfirdn: zero insertion, pad/crop, true convolution with f*gain, decimation."""
    x0, x1, y0, y1 = padding
    y = pad_or_crop(zero_insert(x, up), x0, x1, y0, y1)
    y = correlate_valid(y, (f * gain).flip([0, 1]))
    return y[..., ::down, ::down]


def conv_multi_valid(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """'valid' multi-channel correlation of one image ``[C, H, W]`` with ``[O, C, k, k]``."""
    o, c, kh, kw = w.shape
    h, wd = x.shape[-2:]
    out = x.new_zeros(o, h - kh + 1, wd - kw + 1)
    for a in range(kh):
        for b in range(kw):
            patch = x[:, a : a + h - kh + 1, b : b + wd - kw + 1]  # [C, H', W']
            out = out + torch.einsum("oc,chw->ohw", w[:, :, a, b], patch)
    return out


def conv2d_resample_ref(x, w, f, up=1, down=1, padding=0, flip_weight=True):
    """StyleGAN2's resampling convolution by definition, one sample at a time.

    Upsample (zero insertion + FIR, gain up^2) with the filter's extra padding, convolve
    (correlation if flip_weight else true convolution), then FIR + decimate.
    """
    if not flip_weight:
        w = w.flip([2, 3])
    outs = []
    for xb in x:
        if up > 1:
            fw = f.shape[-1]
            p0 = padding + (fw + up - 1) // 2
            p1 = padding + (fw - up) // 2
            y = upfirdn2d_ref(xb, f, up=up, padding=(p0, p1, p0, p1), gain=up * up)
        elif down > 1:
            fw = f.shape[-1]
            p0 = padding + (fw - down + 1) // 2
            p1 = padding + (fw - down) // 2
            y = pad_or_crop(xb, p0, p1, p0, p1)
        else:
            y = pad_or_crop(xb, padding, padding, padding, padding)
        y = conv_multi_valid(y, w)
        if down > 1:
            y = upfirdn2d_ref(y, f, down=down)
        outs.append(y)
    return torch.stack(outs)


def modulated_conv2d_ref(x, weight, styles, noise=None, up=1, padding=0, f=None, demodulate=True):
    """Explicit per-sample modulated convolution: build each sample's weight, then convolve."""
    outs = []
    for b in range(x.shape[0]):
        wb = weight * styles[b].reshape(1, -1, 1, 1)
        if demodulate:
            wb = wb / torch.sqrt((wb**2).sum(dim=[1, 2, 3], keepdim=True) + 1e-8)
        outs.append(
            conv2d_resample_ref(x[b : b + 1], wb, f, up=up, padding=padding, flip_weight=(up == 1))[0]
        )
    y = torch.stack(outs)
    if noise is not None:
        y = y + noise
    return y


def bilinear_zeros_ref(plane: torch.Tensor, u: float, v: float) -> torch.Tensor:
    """Bilinear lookup of ``[C, H, W]`` at normalised (u, v) in [-1, 1], align_corners=False,
    zero outside: pixel centres at ((u + 1) * W - 1) / 2."""
    c, h, w = plane.shape
    ix = ((u + 1) * w - 1) / 2
    iy = ((v + 1) * h - 1) / 2
    jx, jy = int(torch.floor(torch.tensor(ix))), int(torch.floor(torch.tensor(iy)))
    out = plane.new_zeros(c)
    for dy in (0, 1):
        for dx in (0, 1):
            px, py = jx + dx, jy + dy
            wgt = (1 - abs(ix - px)) * (1 - abs(iy - py))
            if 0 <= px < w and 0 <= py < h:
                out = out + wgt * plane[:, py, px]
    return out
