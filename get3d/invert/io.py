"""Latents on disk: a ``.pt`` dict of tensors and plain values, loadable with ``weights_only=True``.

Keys: ``geo`` float32 ``[1, num_ws_geo, w_dim]``, ``tex`` float32 ``[1, num_ws, w_dim]`` (CPU),
``space`` (``"w"`` or ``"w+"``), ``history`` (loss name -> list of floats), ``seconds``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from get3d.atomic import atomic_files
from get3d.networks import Latents

from .optimize import InversionResult, LatentSpace

__all__ = ["load_latents", "save_latents"]


def save_latents(path: str | os.PathLike, result: InversionResult) -> Path:
    """Write ``result`` (its latents, space, loss history and time) to ``path`` atomically."""
    if not isinstance(result, InversionResult):
        raise TypeError(f"result: expected an InversionResult, got {type(result).__name__}")
    path = Path(os.fspath(path))
    if path.suffix != ".pt":
        raise ValueError(f"path: expected a file name ending in '.pt', got {str(path)!r}")
    data = {
        "geo": result.latents.geo.detach().to("cpu", torch.float32).contiguous(),
        "tex": result.latents.tex.detach().to("cpu", torch.float32).contiguous(),
        "space": result.space.value,
        "history": {k: list(v) for k, v in result.history.items()},
        "seconds": float(result.seconds),
    }
    with atomic_files([path]) as (tmp,):
        torch.save(data, tmp)
    return path


def load_latents(path: str | os.PathLike) -> tuple[Latents, LatentSpace]:
    """The latents and space stored by :func:`save_latents` (CPU, float32; ``weights_only``)."""
    path = Path(os.fspath(path))
    if not path.is_file():
        raise ValueError(f"path: no latents file at {str(path)!r}")
    data = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(data, dict) or not {"geo", "tex", "space"} <= set(data):
        raise ValueError(f"path: {str(path)!r} is not a latents file (expected keys geo, tex, space)")
    return Latents(geo=data["geo"], tex=data["tex"]), LatentSpace(data["space"])
