"""Pure checks behind :mod:`render.nvdiffrast_loader`: each inspects only its arguments (or the
folder it is given) and raises :class:`NvdiffrastUnavailable` naming the missing piece.

Kept apart from the loader so that they are unit-tested on CPU with made-up inputs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from types import ModuleType

import torch

__all__ = [
    "NvdiffrastUnavailable",
    "PluginState",
    "arch_list_from_capabilities",
    "check_compiler",
    "check_cuda_device",
    "check_cuda_major",
    "check_ninja",
    "check_nvcc",
    "check_serving_device",
    "collective_load",
    "count_archs",
    "lock_is_stale",
    "not_installed",
    "parse_nvcc_release",
    "stale_lock",
    "wait_for_lock",
]

_LOG = logging.getLogger("render.nvdiffrast_loader")

INSTALL_HINT = "pip install diffrp-nvdiffrast"


class PluginState(str, Enum):
    """Where nvdiffrast's plugin stands in this process."""

    NOT_INSTALLED = "not installed"
    NO_CUDA = "no CUDA device"
    NOT_BUILT = "importable, not built yet"
    LOADED = "plugin built and loaded"
    FAILED = "failed"


class NvdiffrastUnavailable(ImportError):
    """nvdiffrast cannot be used; the message names the missing piece, ``state`` classifies it."""

    def __init__(self, message: str, state: PluginState = PluginState.FAILED) -> None:
        super().__init__(message)
        self.state = state


def not_installed(import_error: BaseException) -> NvdiffrastUnavailable:
    """The ``NOT_INSTALLED`` error for a failed ``import nvdiffrast.torch``."""
    return NvdiffrastUnavailable(
        f"nvdiffrast is not installed: `{INSTALL_HINT}` (this library's [cuda] extra); it needs a "
        f"CUDA GPU (import error: {import_error})",
        PluginState.NOT_INSTALLED,
    )


def check_cuda_device(cuda_available: bool, torch_cuda: str | None) -> None:
    """Raise ``NO_CUDA`` unless torch is a CUDA build that sees a device."""
    if torch_cuda is None:
        raise NvdiffrastUnavailable(
            f"nvdiffrast needs a CUDA device, but torch {torch.__version__} is a build without CUDA",
            PluginState.NO_CUDA,
        )
    if not cuda_available:
        raise NvdiffrastUnavailable(
            f"nvdiffrast needs a CUDA device, but torch (CUDA {torch_cuda}) sees none "
            "(torch.cuda.is_available() is False)",
            PluginState.NO_CUDA,
        )


def check_serving_device(device_types: Sequence[str], cuda_available: bool, torch_cuda: str | None) -> None:
    """Raise ``NO_CUDA`` unless a device of ``device_types`` (the types nvdiffrast serves,
    :data:`render.backend.NVDIFFRAST_DEVICE_TYPES`) is present.

    The CPU is always present: only the fake nvdiffrast of the CPU tests serves it (it adds
    ``"cpu"`` for one test). A CUDA device is present when :func:`check_cuda_device` passes.
    """
    if "cpu" in device_types:
        return
    if "cuda" not in device_types:
        raise ValueError(f"device_types must name 'cuda' or 'cpu', got {tuple(device_types)!r}")
    check_cuda_device(cuda_available, torch_cuda)


def check_ninja(ninja_path: str | None) -> str:
    """Return ``ninja_path``; raise when ninja was not found."""
    if not ninja_path:
        raise NvdiffrastUnavailable(
            "building nvdiffrast's plugin needs ninja, which is not on PATH: `pip install ninja` "
            "(part of this library's [cuda] extra) or install it with the system's package manager"
        )
    return ninja_path


def check_compiler(compiler: str, compiler_path: str | None) -> str:
    """Return ``compiler_path``; raise when the C++ compiler ``compiler`` was not found."""
    if not compiler_path:
        raise NvdiffrastUnavailable(
            f"building nvdiffrast's plugin needs a C++ compiler, but {compiler!r} is not on PATH "
            "(install g++, or set CXX to a compiler)"
        )
    return compiler_path


def check_nvcc(
    cuda_home: str | None, torch_cuda: str | None, is_file: Callable[[str], bool] = os.path.isfile
) -> str:
    """Path of the nvcc that torch builds with (``<cuda_home>/bin/nvcc``); raise when it is absent.

    ``cuda_home`` is ``torch.utils.cpp_extension.CUDA_HOME``; ``torch_cuda`` is ``torch.version.cuda``.
    """
    nvcc = os.path.join(cuda_home, "bin", "nvcc") if cuda_home else None
    if nvcc is None or not is_file(nvcc):
        where = f"{nvcc} does not exist" if nvcc else "torch found no CUDA toolkit (CUDA_HOME is unset)"
        raise NvdiffrastUnavailable(
            f"building nvdiffrast's plugin needs nvcc, but {where}: install the CUDA toolkit whose "
            f"major version matches torch's CUDA {torch_cuda} and set CUDA_HOME to it "
            "(or put its bin/ on PATH) before starting Python"
        )
    return nvcc


def parse_nvcc_release(version_text: str) -> tuple[int, int]:
    """``(major, minor)`` from ``nvcc --version`` output (its ``release X.Y`` part)."""
    match = re.search(r"release (\d+)\.(\d+)", version_text)
    if match is None:
        raise NvdiffrastUnavailable(f"cannot read the CUDA release from `nvcc --version`: {version_text!r}")
    return int(match.group(1)), int(match.group(2))


def check_cuda_major(nvcc_release: tuple[int, int], torch_cuda: str, nvcc: str = "nvcc") -> None:
    """Raise when nvcc's CUDA major version differs from the one torch was built with."""
    torch_major = int(torch_cuda.split(".")[0])
    if nvcc_release[0] != torch_major:
        raise NvdiffrastUnavailable(
            f"nvcc ({nvcc}) is CUDA {nvcc_release[0]}.{nvcc_release[1]}, but torch was built with "
            f"CUDA {torch_cuda}: the CUDA major versions must match; install CUDA toolkit "
            f"{torch_major}.x and point CUDA_HOME at it before starting Python"
        )


def arch_list_from_capabilities(capabilities: Sequence[tuple[int, int]]) -> str:
    """``TORCH_CUDA_ARCH_LIST`` value naming each distinct capability once, e.g. ``"8.6;9.0"``."""
    if not capabilities:
        raise ValueError("capabilities must name at least one (major, minor) device capability, got none")
    return ";".join(f"{major}.{minor}" for major, minor in sorted(set(capabilities)))


def count_archs(arch_list: str) -> int:
    """How many architectures a ``TORCH_CUDA_ARCH_LIST`` value names (``+PTX`` is not one more)."""
    return len([a for a in re.split(r"[;\s]+", arch_list.strip()) if a])


def lock_is_stale(lock_mtime: float, newest_mtime: float, now: float, stale_after_s: float) -> bool:
    """A lock is stale when neither it nor any file of its build changed for ``stale_after_s``."""
    return now - max(lock_mtime, newest_mtime) > stale_after_s


def stale_lock(build_dir: Path, now: float, stale_after_s: float) -> Path | None:
    """The ``lock`` file of ``build_dir`` when it is stale (see :func:`lock_is_stale`), else None."""
    lock = Path(build_dir) / "lock"
    try:
        lock_mtime = lock.stat().st_mtime
    except FileNotFoundError:
        return None
    newest = 0.0
    for path in Path(build_dir).rglob("*"):
        with contextlib.suppress(OSError):
            newest = max(newest, path.stat().st_mtime)
    return lock if lock_is_stale(lock_mtime, newest, now, stale_after_s) else None


def wait_for_lock(
    build_dir: Path,
    stale_after_s: float,
    poll_s: float = 1.0,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Wait while another build holds ``build_dir/lock``; raise naming the file once it is stale."""
    announced = False
    while (Path(build_dir) / "lock").exists():
        lock = stale_lock(build_dir, clock(), stale_after_s)
        if lock is not None:
            raise NvdiffrastUnavailable(
                f"stale lock file {lock}: no build has touched {build_dir} for more than "
                f"{stale_after_s:.0f} s (a killed build leaves it behind, and torch would wait on it "
                f"forever). If no build is running, delete it (rm '{lock}') and retry"
            )
        if not announced:
            _LOG.info("nvdiffrast: waiting for the build that holds %s", Path(build_dir) / "lock")
            announced = True
        sleep(poll_s)


def collective_load(
    load: Callable[[bool], ModuleType], *, is_builder: bool, barrier: Callable[[], None]
) -> ModuleType:
    """One process per machine builds (``load(True)``), the others wait on ``barrier`` and then
    load what it built (``load(False)``: raise rather than build). Every caller reaches
    ``barrier`` exactly once, also when the build fails."""
    if not is_builder:
        barrier()
        return load(False)
    try:
        module = load(True)
    except BaseException:
        barrier()
        raise
    barrier()
    return module
