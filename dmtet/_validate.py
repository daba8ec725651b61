"""Argument checks shared by the public functions of ``dmtet`` (internal).

Every check raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError`` (wrong shape,
range or content) with a message naming the argument, what was expected and what was given.
"""

from __future__ import annotations

import torch


def _describe(t: torch.Tensor) -> str:
    return f"tensor of shape {tuple(t.shape)}, dtype {t.dtype}, on {t.device}"


def check_tensor(name: str, value: object) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
    return value


def check_float(name: str, t: torch.Tensor, shape: str, ndim: int, last: int | None = None) -> None:
    check_tensor(name, t)
    if not t.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor {shape}, got {_describe(t)}")
    if t.dim() != ndim or (last is not None and t.shape[-1] != last):
        raise ValueError(f"{name}: expected shape {shape}, got {_describe(t)}")


def check_index(name: str, t: torch.Tensor, shape: str, ndim: int, last: int | None = None) -> None:
    check_tensor(name, t)
    if t.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise TypeError(f"{name}: expected an integer tensor {shape}, got {_describe(t)}")
    if t.dim() != ndim or (last is not None and t.shape[-1] != last):
        raise ValueError(f"{name}: expected shape {shape}, got {_describe(t)}")


def check_index_range(name: str, t: torch.Tensor, count: int, what: str) -> None:
    if t.numel() == 0:
        return
    lo, hi = int(t.min()), int(t.max())
    if lo < 0 or hi >= count:
        raise ValueError(
            f"{name}: expected ids in [0, {count - 1}] ({count} {what}), got values in [{lo}, {hi}]"
        )


def check_finite(name: str, t: torch.Tensor) -> None:
    if not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"{name}: expected finite values, got {bad} NaN or Inf entries in {_describe(t)}")


def check_same_device(**tensors: torch.Tensor) -> None:
    devices = {name: t.device for name, t in tensors.items()}
    if len(set(devices.values())) > 1:
        listing = ", ".join(f"{name} on {dev}" for name, dev in devices.items())
        raise ValueError(f"expected all tensors on one device, got {listing}")
