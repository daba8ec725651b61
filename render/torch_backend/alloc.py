"""Allocation of the large per-call output buffers of the pure-PyTorch backend.

On Linux with glibc, ``torch.empty`` of a buffer of several MiB that is freed and allocated again
at the same size is mapped afresh on every call (PyTorch's aligned allocation keeps landing
above glibc's dynamic mmap threshold), so every 4 KiB page costs a page fault on first touch:
measured on the 2-core CI machine, a 16 MiB buffer took 4096 faults and 4-8 ms per call.
NumPy's allocator reuses the freed block (1 fault, 0.2-0.5 ms). The rasterizer's outputs at
1024^2 are 32 MiB per call, so CPU output buffers of at least 1 MiB are allocated through
NumPy and wrapped without a copy. The only visible difference: their storage cannot be
resized in place (``Tensor.resize_``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["empty_output"]

_NUMPY_DTYPES = {
    torch.float32: np.float32,
    torch.float64: np.float64,
    torch.float16: np.float16,
    torch.int64: np.int64,
}
_MIN_BYTES = 1 << 20


def empty_output(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Uninitialised contiguous tensor for an output buffer (see the module docstring)."""
    np_dtype = _NUMPY_DTYPES.get(dtype)
    size = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
    if torch.device(device).type != "cpu" or np_dtype is None or size < _MIN_BYTES:
        return torch.empty(shape, dtype=dtype, device=device)
    return torch.from_numpy(np.empty(shape, dtype=np_dtype))
