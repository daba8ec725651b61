"""Whether the nvdiffrast parity suite runs, skips or fails on this machine (one small function).

The rule (issue #14): without CUDA the suite skips; on a machine with CUDA it must *fail* when
nvdiffrast cannot be loaded, because there the CUDA path is the one users train with and a skip
would hide a broken install (an importable package whose plugin does not build or load).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import torch

import render

__all__ = ["Gate", "GateAction", "load_nvdiffrast_context", "parity_gate"]


class GateAction(Enum):
    RUN = "run"
    SKIP = "skip"
    FAIL = "fail"


@dataclass(frozen=True)
class Gate:
    action: GateAction
    reason: str


def load_nvdiffrast_context(device: torch.device) -> render.NvdiffrastRasterContext:
    """Load nvdiffrast for real: a context builds (or finds) and loads the compiled plugin, which
    importing ``nvdiffrast.torch`` alone does not."""
    ctx = render.make_context("nvdiffrast", device=device)
    if not isinstance(ctx, render.NvdiffrastRasterContext):
        raise TypeError(f"make_context('nvdiffrast') returned {type(ctx).__name__}")
    return ctx


def parity_gate(cuda_available: bool, load: Callable[[], object]) -> Gate:
    """Run, skip or fail: skip only without CUDA (``load`` is then not called); with CUDA, fail
    with the loader's error when ``load()`` raises, else run."""
    if not cuda_available:
        return Gate(GateAction.SKIP, "no CUDA device: the nvdiffrast parity suite needs one")
    try:
        load()
    except Exception as err:  # any failure to build or load is the finding
        return Gate(
            GateAction.FAIL,
            "CUDA is available but nvdiffrast cannot be loaded, so the CUDA rasterizer is broken on "
            f"this machine: {type(err).__name__}: {err}. Install it with the [cuda] extra and build "
            "the plugin (python -m render.nvdiffrast_loader); deselect with -m 'not cuda' only on "
            "machines not meant to run nvdiffrast.",
        )
    return Gate(GateAction.RUN, "nvdiffrast loaded")
