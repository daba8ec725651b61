"""Load nvdiffrast's CUDA plugin: build it once per process, register it, explain failures.

nvdiffrast (``diffrp-nvdiffrast`` 0.3.3.1, the ``[cuda]`` extra) JIT-builds its C++/CUDA plugin
with ``torch.utils.cpp_extension``, discards the module that call returns and then imports the
plugin by name. pybind11 3 (bundled by recent torch) makes modules with multi-phase init, which
are never put in ``sys.modules``, and the build folder is not on ``sys.path``: the import raises
``ModuleNotFoundError`` on every ``RasterizeCudaContext()``. :func:`load_nvdiffrast` wraps
nvdiffrast's ``_get_plugin`` so that, while it runs, the module returned by
``cpp_extension.load`` (or by ``_import_module_from_library`` for a plugin built earlier) is
registered in ``sys.modules`` under the name nvdiffrast imports. nvdiffrast's own source list and
compiler flags are kept.

Before a build starts it checks what the build needs and names the missing piece: a CUDA device,
ninja, a C++ compiler, nvcc, and nvcc's CUDA major version equal to torch's. It sets
``TORCH_CUDA_ARCH_LIST`` to the visible GPUs' architectures when unset (one architecture instead
of torch's default list plus PTX; restored afterwards), and refuses to wait forever on the
``lock`` file a killed build leaves behind. The build takes a few minutes and is cached per
machine in torch's extension folder (``TORCH_EXTENSIONS_DIR`` or
``torch.utils.cpp_extension.get_default_build_root()``); prebuild it with
``python -m render.nvdiffrast_loader``.

Per process, the outcome (the loaded module, or the error) is cached: the plugin is built at most
once, and a failed build is not retried.

Loading needs a device nvdiffrast serves, one of :data:`render.backend.NVDIFFRAST_DEVICE_TYPES`:
a CUDA device, or the CPU, which only the fake nvdiffrast of the CPU tests adds (it never builds,
so the build checks above never run for it).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import importlib
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from render.nvdiffrast_checks import (
    NvdiffrastUnavailable,
    PluginState,
    arch_list_from_capabilities,
    check_compiler,
    check_cuda_device,
    check_cuda_major,
    check_ninja,
    check_nvcc,
    check_serving_device,
    collective_load,
    count_archs,
    not_installed,
    parse_nvcc_release,
    wait_for_lock,
)

__all__ = [
    "NvdiffrastUnavailable",
    "PluginState",
    "PluginStatus",
    "load_nvdiffrast",
    "plugin_status",
    "wrap_get_plugin",
]

_LOG = logging.getLogger(__name__)

STALE_LOCK_AFTER_S = 600.0
_MANY_ARCHS = 2
_WRAPPED_MARK = "__isogen3d_registers_plugin__"


@dataclasses.dataclass(frozen=True)
class PluginStatus:
    """``state`` and a one-line ``detail`` (the error text for ``FAILED``)."""

    state: PluginState
    detail: str = ""

    @property
    def line(self) -> str:
        """One line for people: ``LOADED`` / ``NOT_BUILT`` give the state's text (then the detail
        in parentheses), the other states their error text."""
        if self.state in (PluginState.LOADED, PluginState.NOT_BUILT):
            return f"{self.state.value} ({self.detail})" if self.detail else self.state.value
        return self.detail or self.state.value


# ---------------------------------------------------------------------------------------------
# Registering the module nvdiffrast builds.
# ---------------------------------------------------------------------------------------------


def _register(name: object, result: object) -> None:
    if isinstance(name, str) and isinstance(result, ModuleType):
        sys.modules[name] = result


@contextlib.contextmanager
def _registering(cpp_extension: Any, build_guard: Callable[[str, dict], Any] | None) -> Iterator[None]:
    """Patch ``cpp_extension.load`` / ``_import_module_from_library`` so that the modules they
    return are put in ``sys.modules``; ``build_guard(name, kwargs)`` (a context manager) wraps
    each ``load`` call."""
    original_load = cpp_extension.load
    original_import = getattr(cpp_extension, "_import_module_from_library", None)

    def load(*args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("name", args[0] if args else None)
        guard = build_guard(name, kwargs) if build_guard is not None else contextlib.nullcontext()
        with guard:
            result = original_load(*args, **kwargs)
        _register(name, result)
        return result

    def import_from_library(module_name: str, *args: Any, **kwargs: Any) -> Any:
        result = original_import(module_name, *args, **kwargs)
        _register(module_name, result)
        return result

    cpp_extension.load = load
    if original_import is not None:
        cpp_extension._import_module_from_library = import_from_library
    try:
        yield
    finally:
        cpp_extension.load = original_load
        if original_import is not None:
            cpp_extension._import_module_from_library = original_import


def wrap_get_plugin(
    get_plugin: Callable[..., ModuleType],
    cpp_extension: Any = None,
    build_guard: Callable[[str, dict], Any] | None = None,
) -> Callable[..., ModuleType]:
    """Wrap nvdiffrast's ``_get_plugin`` so the plugin module it builds or loads gets registered
    in ``sys.modules`` before ``get_plugin`` imports it by name.

    Args:
        get_plugin: the function to wrap (nvdiffrast's, or any function of the same pattern).
        cpp_extension: the module whose ``load`` / ``_import_module_from_library`` are patched
            while ``get_plugin`` runs (default ``torch.utils.cpp_extension``).
        build_guard: ``(name, load_kwargs) -> context manager`` entered around every
            ``cpp_extension.load`` call (checks, environment); None for none.

    Returns:
        The wrapper. Once a call succeeds, later calls with the same arguments return its result
        without patching anything (``_get_plugin`` runs for every op call). Calls are serialised.
    """
    if cpp_extension is None:
        import torch.utils.cpp_extension as cpp_extension
    done: dict[tuple, ModuleType] = {}
    lock = threading.RLock()

    @functools.wraps(get_plugin)
    def wrapper(*args: Any, **kwargs: Any) -> ModuleType:
        key = (args, tuple(sorted(kwargs.items())))
        module = done.get(key)
        if module is not None:
            return module
        with lock, _registering(cpp_extension, build_guard):
            module = get_plugin(*args, **kwargs)
        done[key] = module
        return module

    setattr(wrapper, _WRAPPED_MARK, True)
    return wrapper


# ---------------------------------------------------------------------------------------------
# The loader.
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class _BuildOptions:
    allow_build: bool = True
    verbose: bool = False
    stale_lock_after_s: float = STALE_LOCK_AFTER_S
    build_blocked: bool = False


class _BuildRequired(Exception):
    """Raised inside a load that may not build (a probe) when a build would start."""


_OPTIONS: contextvars.ContextVar[_BuildOptions | None] = contextvars.ContextVar(
    "nvdiffrast_build_options", default=None
)


class _PluginCache:
    """This process's outcome: the loaded ``nvdiffrast.torch`` or the build/load error."""

    def __init__(self) -> None:
        self.module: ModuleType | None = None
        self.error: NvdiffrastUnavailable | None = None
        self.lock = threading.Lock()


_CACHE = _PluginCache()


@contextlib.contextmanager
def _scoped_env(updates: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in updates}
    os.environ.update(updates)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _build_dir(name: str, load_kwargs: Mapping[str, Any]) -> Path:
    import torch.utils.cpp_extension as cpp_extension

    if load_kwargs.get("build_directory"):
        return Path(load_kwargs["build_directory"])
    if hasattr(cpp_extension, "_get_build_directory"):  # the folder load() itself uses
        return Path(cpp_extension._get_build_directory(name, False))
    root = os.environ.get("TORCH_EXTENSIONS_DIR") or cpp_extension.get_default_build_root()
    return Path(root) / name


def _nvcc_release(nvcc: str) -> tuple[int, int]:
    try:
        out = subprocess.run([nvcc, "--version"], capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as err:
        raise NvdiffrastUnavailable(f"`{nvcc} --version` failed: {err}") from err
    return parse_nvcc_release(out.stdout)


@contextlib.contextmanager
def _build_guard(name: str, load_kwargs: dict) -> Iterator[None]:
    """Entered around nvdiffrast's ``cpp_extension.load``: a build (or up-to-date check) starts."""
    import torch.utils.cpp_extension as cpp_extension

    options = _OPTIONS.get() or _BuildOptions()
    if not options.allow_build:
        options.build_blocked = True
        raise _BuildRequired(name)
    check_cuda_device(torch.cuda.is_available(), torch.version.cuda)
    env: dict[str, str] = {}
    ninja = shutil.which("ninja")
    if ninja is None:  # a pip-installed ninja next to this interpreter, outside PATH
        beside = Path(sys.executable).with_name("ninja")
        if beside.is_file():
            ninja = str(beside)
            env["PATH"] = f"{beside.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    check_ninja(ninja)
    cxx = os.environ.get("CXX", "c++")
    check_compiler(cxx, shutil.which(cxx))
    nvcc = check_nvcc(cpp_extension.CUDA_HOME, torch.version.cuda)
    check_cuda_major(_nvcc_release(nvcc), torch.version.cuda, nvcc)
    preset = os.environ.get("TORCH_CUDA_ARCH_LIST")
    if preset:
        if count_archs(preset) > _MANY_ARCHS:
            warnings.warn(
                f"TORCH_CUDA_ARCH_LIST={preset!r} names {count_archs(preset)} architectures: nvdiffrast's "
                "plugin is compiled for each, which takes several times longer; unset it to build "
                "for this machine's GPUs only",
                UserWarning,
                stacklevel=2,
            )
        archs = preset
    else:
        caps = [torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())]
        archs = env["TORCH_CUDA_ARCH_LIST"] = arch_list_from_capabilities(caps)
    build_dir = _build_dir(name, load_kwargs)
    wait_for_lock(build_dir, options.stale_lock_after_s)
    if options.verbose:
        load_kwargs["verbose"] = True
    _LOG.info(
        "nvdiffrast: building (or checking) plugin %s for CUDA arch %s with %s in %s; "
        "a build takes a few minutes, once per machine",
        name,
        archs,
        nvcc,
        build_dir,
    )
    start = time.perf_counter()
    with _scoped_env(env):
        yield
    _LOG.info("nvdiffrast: plugin %s ready after %.1f s", name, time.perf_counter() - start)


def _check_serving_device() -> None:
    """Raise ``NO_CUDA`` unless a device nvdiffrast serves is present (see
    :func:`render.nvdiffrast_checks.check_serving_device`). Reads
    :data:`render.backend.NVDIFFRAST_DEVICE_TYPES` at each call: the one seam through which the
    fake nvdiffrast of the CPU tests lets the CPU play the GPU, for the loader as for dispatch."""
    from render import backend

    check_serving_device(backend.NVDIFFRAST_DEVICE_TYPES, torch.cuda.is_available(), torch.version.cuda)


def _import_nvdiffrast() -> ModuleType:
    try:
        return importlib.import_module("nvdiffrast.torch")
    except ImportError as err:
        raise not_installed(err) from err


def _install_wrapper(dr: ModuleType) -> Any:
    ops = importlib.import_module(f"{dr.__name__}.ops")
    if not getattr(ops._get_plugin, _WRAPPED_MARK, False):
        ops._get_plugin = wrap_get_plugin(ops._get_plugin, build_guard=_build_guard)
    return ops


def _load_plugin(dr: ModuleType, options: _BuildOptions) -> None:
    """Run nvdiffrast's (wrapped) ``_get_plugin`` under ``options``; errors become
    NvdiffrastUnavailable (``_BuildRequired`` passes through for probes)."""
    ops = _install_wrapper(dr)
    token = _OPTIONS.set(options)
    try:
        ops._get_plugin()
    except NvdiffrastUnavailable:
        raise
    except Exception as err:
        if options.build_blocked:
            raise _BuildRequired(str(err)) from err
        raise NvdiffrastUnavailable(
            f"building or loading nvdiffrast's plugin failed: {type(err).__name__}: {err} "
            "(run `python -m render.nvdiffrast_loader` to see the build log)"
        ) from err
    finally:
        _OPTIONS.reset(token)


def _local_rank(rank: int, environ: Mapping[str, str]) -> int:
    return int(environ.get("LOCAL_RANK", rank))


def load_nvdiffrast(
    *, collective: bool = False, verbose: bool = False, stale_lock_after_s: float = STALE_LOCK_AFTER_S
) -> ModuleType:
    """Return ``nvdiffrast.torch`` with its CUDA plugin loaded, building the plugin if needed.

    The first successful call in a process may build the plugin (a few minutes, then cached per
    machine); later calls return at once. A failure is cached too and raised again.

    Args:
        collective: under an initialised ``torch.distributed``, every rank calls together: local
            rank 0 of each machine builds while the others wait on a barrier, then load. Leave it
            False where only some ranks may call (concurrent builds are then serialised by torch's
            lock file).
        verbose: show the build's compiler commands (torch's ``verbose``).
        stale_lock_after_s: a ``lock`` in the build folder with no file of the build changed for
            this long is treated as left by a killed build: raise, naming the file to delete.

    Raises:
        NvdiffrastUnavailable: (an ImportError) naming what is missing: nvdiffrast itself, a CUDA
            device, ninja, a C++ compiler, nvcc, a CUDA toolkit whose major version matches
            torch's, a stale lock, or the build's error.
    """
    if _CACHE.module is not None and not collective:
        return _CACHE.module
    if _CACHE.error is not None and not collective:  # a failed build stays failed in this process
        raise _CACHE.error

    def load(allow_build: bool) -> ModuleType:
        dr = _import_nvdiffrast()
        _check_serving_device()
        with _CACHE.lock:
            if _CACHE.module is not None:
                return _CACHE.module
            if _CACHE.error is not None:
                raise _CACHE.error
            options = _BuildOptions(allow_build, verbose, stale_lock_after_s)
            try:
                _load_plugin(dr, options)
            except _BuildRequired as err:
                raise NvdiffrastUnavailable(
                    "nvdiffrast's plugin is not built: local rank 0 builds it in a collective load, "
                    "and it has not (see its error)"
                ) from err
            except NvdiffrastUnavailable as err:
                _CACHE.error = err
                raise
            _CACHE.module = dr
            return dr

    dist = torch.distributed
    if collective and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        builder = _local_rank(dist.get_rank(), os.environ) == 0
        return collective_load(load, is_builder=builder, barrier=dist.barrier)
    return load(True)


def plugin_status() -> PluginStatus:
    """This process's view of nvdiffrast's plugin, without building it.

    A plugin built earlier on this machine is loaded (a shared-library load, no compilation) to
    tell ``LOADED`` from ``FAILED``; a plugin that would need compiling reports ``NOT_BUILT``.
    """
    if _CACHE.module is not None:
        return PluginStatus(PluginState.LOADED)
    try:
        dr = _import_nvdiffrast()
    except NvdiffrastUnavailable as err:
        return PluginStatus(PluginState.NOT_INSTALLED, str(err))
    if _CACHE.error is not None:
        return PluginStatus(PluginState.FAILED, str(_CACHE.error))
    try:
        _check_serving_device()
    except NvdiffrastUnavailable as err:
        return PluginStatus(PluginState.NO_CUDA, str(err))
    with _CACHE.lock:
        try:
            _load_plugin(dr, _BuildOptions(allow_build=False))
        except _BuildRequired:
            return PluginStatus(
                PluginState.NOT_BUILT, "build it with `python -m render.nvdiffrast_loader`, a few minutes"
            )
        except NvdiffrastUnavailable as err:
            return PluginStatus(PluginState.FAILED, str(err))
        _CACHE.module = dr
    return PluginStatus(PluginState.LOADED)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m render.nvdiffrast_loader``: build and load the plugin, print its status;
    exit status 0 when it is loaded, 1 otherwise."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m render.nvdiffrast_loader", description=main.__doc__)
    parser.add_argument("--quiet", action="store_true", help="no compiler commands, only the result")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(f"nvdiffrast: torch {torch.__version__}, CUDA {torch.version.cuda}", flush=True)
    start = time.perf_counter()
    try:
        dr = load_nvdiffrast(verbose=not args.quiet)
    except NvdiffrastUnavailable:
        pass  # plugin_status() reports the cached error
    else:
        try:
            dr.RasterizeCudaContext()  # the call that fails when the plugin cannot be imported
        except Exception as err:
            print(f"nvdiffrast: failed: RasterizeCudaContext() raised {type(err).__name__}: {err}")
            return 1
    status = plugin_status()
    print(f"nvdiffrast: {status.line} ({time.perf_counter() - start:.1f} s)", flush=True)
    return 0 if status.state is PluginState.LOADED else 1


if __name__ == "__main__":
    sys.exit(main())
