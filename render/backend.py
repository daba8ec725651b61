"""Rasterizer backend selection and context objects.

Two backends implement nvdiffrast's four ops with the same semantics and the same ``rast`` layout,
so their outputs are interchangeable:

- ``Backend.TORCH``: the pure-PyTorch rasterizer (:mod:`render.torch_backend`), any device.
- ``Backend.NVDIFFRAST``: nvdiffrast's CUDA rasterizer (``RasterizeCudaContext``, never the OpenGL
  one), CUDA devices only, installed with ``pip install diffrp-nvdiffrast`` (the ``[cuda]`` extra)
  and loaded by :func:`render.nvdiffrast_loader.load_nvdiffrast`, which builds its CUDA plugin on
  first use (a few minutes, once per machine; ``python -m render.nvdiffrast_loader`` prebuilds it).
- ``Backend.AUTO``: nvdiffrast for CUDA devices when it is usable (its plugin loads), else torch.
  The choice is announced once, when the context is created (a log record; a ``UserWarning``
  giving the reason when a CUDA device falls back to torch). A backend asked for by name never
  falls back: it raises instead.

One context is the backend handle of a process: ``rasterize`` takes it, and the context-free ops
(``interpolate``, ``antialias``, ``texture``) and every higher-level renderer (``render_mesh``,
``rasterize_uv``, ``Generator.render``, texture baking, reconstruction) take it as their
``backend`` argument, which also accepts a backend name (then a context is made for that call).
Create one with :func:`make_context` and pass it everywhere: an nvdiffrast context holds CUDA
buffers that are slow to allocate, and a torch context carries options such as ``compile``.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from enum import Enum
from types import ModuleType

import torch

__all__ = [
    "Backend",
    "NvdiffrastRasterContext",
    "RasterContext",
    "BackendLike",
    "TorchRasterContext",
    "as_context",
    "make_context",
    "op_backend",
    "nvdiffrast_available",
    "resolve_backend",
]

_LOG = logging.getLogger(__name__)

NVDIFFRAST_DEVICE_TYPES: tuple[str, ...] = ("cuda",)
"""Device types whose tensors the nvdiffrast backend serves. Only CUDA; the fake nvdiffrast of the
CPU tests (``tests/render/fake_nvdiffrast.py``) adds ``"cpu"`` for the duration of one test."""


class Backend(str, Enum):
    """Rasterizer backend: ``auto``, ``torch`` or ``nvdiffrast``."""

    AUTO = "auto"
    TORCH = "torch"
    NVDIFFRAST = "nvdiffrast"


def _as_backend(backend: Backend | str) -> Backend:
    if isinstance(backend, Backend):
        return backend
    if isinstance(backend, str):
        try:
            return Backend(backend.lower())
        except ValueError:
            pass
    choices = ", ".join(repr(b.value) for b in Backend)
    raise ValueError(f"backend must be a render.Backend or one of {choices}, got {backend!r}")


def _load_nvdiffrast() -> ModuleType:
    # Imported here, not at the top: ``python -m render.nvdiffrast_loader`` must find the loader
    # outside sys.modules after ``import render`` (else runpy runs a second copy of it).
    from render.nvdiffrast_loader import load_nvdiffrast

    return load_nvdiffrast()


def nvdiffrast_available() -> bool:
    """True when nvdiffrast is usable: installed, a CUDA device present, and its plugin loads.

    Cost: the first call in a process on a machine where the plugin was never built builds it
    (a few minutes; ``python -m render.nvdiffrast_loader`` does that ahead of time); loading a
    built plugin takes well under a second. The outcome is cached per process, so later calls
    are free. :func:`render.nvdiffrast_loader.plugin_status` reports without building.
    """
    try:
        _load_nvdiffrast()
    except ImportError:
        return False
    return True


def resolve_backend(backend: Backend | str, device: torch.device | str | None) -> Backend:
    """Turn ``backend`` into a concrete backend for tensors on ``device``.

    ``AUTO`` gives ``NVDIFFRAST`` for CUDA devices when nvdiffrast is usable (see
    :func:`nvdiffrast_available`), else ``TORCH`` (with a ``UserWarning`` giving the reason on CUDA
    devices). ``NVDIFFRAST`` on a non-CUDA device or when nvdiffrast is unusable raises
    (``ValueError``, or ``NvdiffrastUnavailable``, an ImportError naming the missing piece);
    nothing falls back silently.
    """
    backend = _as_backend(backend)
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if backend is Backend.TORCH:
        return backend
    if backend is Backend.NVDIFFRAST:
        if dev.type not in NVDIFFRAST_DEVICE_TYPES:
            raise ValueError(f"backend 'nvdiffrast' needs CUDA tensors, got device {dev}")
        _load_nvdiffrast()  # raises, naming what is missing
        return backend
    if dev.type in NVDIFFRAST_DEVICE_TYPES:
        try:
            _load_nvdiffrast()
        except ImportError as err:
            warnings.warn(
                f"render: backend 'auto' uses the pure-PyTorch rasterizer on {dev} because nvdiffrast "
                f"is unusable: {err}. Use Backend.TORCH to silence this.",
                UserWarning,
                stacklevel=3,
            )
        else:
            return Backend.NVDIFFRAST
    return Backend.TORCH


@dataclass(frozen=True)
class TorchRasterContext:
    """Context of the pure-PyTorch rasterizer; works on tensors of any device.

    Attributes:
        tile_size: largest side (pixels) of the tiles that triangles' screen boxes are cut into.
        max_fragments: most candidate fragments expanded per chunk; bounds the temporary memory
            of the visibility pass (about 70 bytes per fragment) independently of image and mesh
            size. Outputs take O(B H W) on top.
        compile: run the per-pixel kernels (the shading, fragment keys and (u, v) gradient of
            ``rasterize``; the blend of ``interpolate`` and its gradient when it is given this
            context as ``backend``) through ``torch.compile``: several times faster on CPU,
            after a first call that compiles (tens of seconds; needs a C++ compiler). See
            :mod:`render.torch_backend.compiled`.
    """

    tile_size: int = 32
    max_fragments: int = 1 << 21
    compile: bool = False
    backend: Backend = field(default=Backend.TORCH, init=False)
    kernels: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.tile_size, int) or not 1 <= self.tile_size <= 64:
            raise ValueError(f"tile_size must be an int in [1, 64], got {self.tile_size!r}")
        if not isinstance(self.max_fragments, int) or self.max_fragments < 1:
            raise ValueError(f"max_fragments must be a positive int, got {self.max_fragments!r}")
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile must be a bool, got {self.compile!r}")


class NvdiffrastRasterContext:
    """nvdiffrast's ``RasterizeCudaContext`` for one CUDA device, created once and held.

    Args:
        device: a CUDA device; ``None`` means the current CUDA device.
    """

    backend: Backend = Backend.NVDIFFRAST

    def __init__(self, device: torch.device | str | int | None = None) -> None:
        dr = _load_nvdiffrast()
        if device is None:
            if not torch.cuda.is_available():
                raise ValueError("NvdiffrastRasterContext needs a CUDA device, but CUDA is not available")
            device = torch.device("cuda", torch.cuda.current_device())
        dev = torch.device(device) if not isinstance(device, int) else torch.device("cuda", device)
        if dev.type not in NVDIFFRAST_DEVICE_TYPES:
            raise ValueError(f"device must be a CUDA device for nvdiffrast, got {dev}")
        if dev.index is None and dev.type == "cuda":
            dev = torch.device("cuda", torch.cuda.current_device())
        self.device = dev
        self.raw = dr.RasterizeCudaContext(device=dev)

    def __repr__(self) -> str:
        return f"NvdiffrastRasterContext(device={self.device})"


RasterContext = TorchRasterContext | NvdiffrastRasterContext


def make_context(
    backend: Backend | str = Backend.AUTO,
    device: torch.device | str | None = None,
    **torch_options: int | bool,
) -> RasterContext:
    """Create the rasterizer context for ``backend`` on ``device``.

    ``make_context()`` is the drop-in for nvdiffrast's ``RasterizeCudaContext()``: with no
    ``device`` and CUDA available it serves the current CUDA device, with nvdiffrast when that is
    usable (else the torch backend, with a ``UserWarning`` giving the reason). Without CUDA it
    gives the torch context (which serves tensors on any device).

    Args:
        backend: ``auto`` (nvdiffrast on CUDA devices when usable, else torch), ``torch`` or
            ``nvdiffrast``; a named backend that cannot be used raises, never falls back.
        device: where the tensors will live. ``None``: the current CUDA device when
            ``torch.cuda.is_available()``, else the CPU (``nvdiffrast`` then raises).
        **torch_options: ``tile_size`` / ``max_fragments`` / ``compile`` of :class:`TorchRasterContext`.

    Returns:
        A :class:`TorchRasterContext` or :class:`NvdiffrastRasterContext`.
    """
    requested = _as_backend(backend)
    if device is None and requested is not Backend.TORCH:
        if torch.cuda.is_available():
            device = torch.device("cuda", torch.cuda.current_device())
        elif requested is Backend.NVDIFFRAST:
            _load_nvdiffrast()  # raises, naming what is missing (nvdiffrast itself, or CUDA)
    chosen = resolve_backend(requested, device)
    if chosen is Backend.NVDIFFRAST:
        if torch_options:
            raise ValueError(f"options {sorted(torch_options)} apply to the torch backend only")
        ctx: RasterContext = NvdiffrastRasterContext(device)
    else:
        ctx = TorchRasterContext(**torch_options)
    if requested is Backend.AUTO:
        _LOG.info("render: backend 'auto' chose %r for device %s", chosen.value, device or "cpu")
    return ctx


BackendLike = Backend | str | TorchRasterContext | NvdiffrastRasterContext
"""What a ``backend`` argument takes: a context (used as it is) or a backend name."""


def _check_backend_name(backend: object) -> None:
    """TypeError unless ``backend`` (not a context) is a :class:`Backend` or a string."""
    if not isinstance(backend, (Backend, str)):
        raise TypeError(
            "backend must be a render context (render.make_context) or a backend name "
            f"('auto', 'torch', 'nvdiffrast'), got {type(backend).__name__}"
        )


def as_context(backend: BackendLike, device: torch.device | str | None) -> RasterContext:
    """The context to rasterize with: ``backend`` itself when it is a context, else a new
    :func:`make_context` for that backend name on ``device``."""
    if isinstance(backend, (TorchRasterContext, NvdiffrastRasterContext)):
        return backend
    _check_backend_name(backend)
    return make_context(backend, device)


def op_backend(
    backend: BackendLike, device: torch.device | str | None
) -> tuple[Backend, TorchRasterContext | None]:
    """The concrete backend a context-free op runs on for tensors on ``device``, and the torch
    context whose options apply (None for nvdiffrast or a bare name).

    A context keeps its own backend: nothing is re-resolved by name, so a torch context's options
    (``compile``) reach the op and an nvdiffrast context never silently becomes torch.
    """
    dev = torch.device(device) if device is not None else torch.device("cpu")
    if isinstance(backend, TorchRasterContext):
        return Backend.TORCH, backend
    if isinstance(backend, NvdiffrastRasterContext):
        wrong_device = dev.type == backend.device.type and dev != backend.device
        if dev.type not in NVDIFFRAST_DEVICE_TYPES or wrong_device:
            raise ValueError(
                f"backend is an nvdiffrast context for {backend.device}, but the tensors are on {dev}"
            )
        return Backend.NVDIFFRAST, None
    _check_backend_name(backend)
    return resolve_backend(backend, dev), None
