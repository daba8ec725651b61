"""render.nvdiffrast_loader: the checks that name a missing piece, stale-lock detection, the
wrapper that registers the plugin module, the per-process cache, the collective build, and (slow)
the wrapper on a real pybind11 module built with torch.utils.cpp_extension.

Over the usual ~500 lines because it mirrors one module's contract, case by case (each check of a
missing piece, each lock state, each cache state); the fake CUDA environment they share is set up
once at the top.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest
import torch
import torch.utils.cpp_extension as cpp_extension

from render import nvdiffrast_loader as loader
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
    lock_is_stale,
    parse_nvcc_release,
    stale_lock,
    wait_for_lock,
)

NVCC_13 = """nvcc: NVIDIA (R) Cuda compiler driver
Copyright (c) 2005-2025 NVIDIA Corporation
Built on Wed_Aug_20_01:58:59_PM_PDT_2025
Cuda compilation tools, release 13.0, V13.0.88
Build cuda_13.0.r13.0/compiler.36424714_0
"""


# --- the checks -------------------------------------------------------------------------------


def test_errors_are_import_errors_with_a_state():
    err = NvdiffrastUnavailable("x", PluginState.NO_CUDA)
    assert isinstance(err, ImportError) and err.state is PluginState.NO_CUDA
    assert NvdiffrastUnavailable("y").state is PluginState.FAILED


def test_check_cuda_device():
    check_cuda_device(True, "13.0")
    with pytest.raises(
        NvdiffrastUnavailable, match=r"sees none \(torch.cuda.is_available\(\) is False\)"
    ) as e:
        check_cuda_device(False, "13.0")
    assert e.value.state is PluginState.NO_CUDA
    with pytest.raises(NvdiffrastUnavailable, match="a build without CUDA") as e:
        check_cuda_device(True, None)
    assert e.value.state is PluginState.NO_CUDA


def test_check_serving_device():
    check_serving_device(("cuda",), True, "13.0")
    with pytest.raises(NvdiffrastUnavailable, match=r"sees none") as e:
        check_serving_device(("cuda",), False, "13.0")
    assert e.value.state is PluginState.NO_CUDA
    with pytest.raises(NvdiffrastUnavailable, match="a build without CUDA"):
        check_serving_device(("cuda",), True, None)
    # the CPU tests' fake serves the CPU, which is always there: no CUDA needed
    check_serving_device(("cuda", "cpu"), False, None)
    with pytest.raises(ValueError, match=r"device_types must name 'cuda' or 'cpu', got \('mps',\)"):
        check_serving_device(("mps",), True, "13.0")


def test_check_ninja_and_compiler():
    assert check_ninja("/usr/bin/ninja") == "/usr/bin/ninja"
    with pytest.raises(
        NvdiffrastUnavailable, match=r"needs ninja, which is not on PATH: `pip install ninja`"
    ):
        check_ninja(None)
    assert check_compiler("g++", "/usr/bin/g++") == "/usr/bin/g++"
    with pytest.raises(
        NvdiffrastUnavailable, match=r"needs a C\+\+ compiler, but 'clang\+\+' is not on PATH"
    ):
        check_compiler("clang++", None)


def test_check_nvcc():
    nvcc = os.path.join("/opt/cuda", "bin", "nvcc")
    assert check_nvcc("/opt/cuda", "13.0", is_file=lambda p: p == nvcc) == nvcc
    with pytest.raises(
        NvdiffrastUnavailable, match=r"needs nvcc, but /opt/cuda/bin/nvcc does not exist.*CUDA 13.0"
    ):
        check_nvcc("/opt/cuda", "13.0", is_file=lambda p: False)
    with pytest.raises(
        NvdiffrastUnavailable, match=r"needs nvcc, but torch found no CUDA toolkit.*CUDA_HOME"
    ):
        check_nvcc(None, "12.8")


def test_nvcc_release_and_cuda_major():
    assert parse_nvcc_release(NVCC_13) == (13, 0)
    assert parse_nvcc_release("Cuda compilation tools, release 12.4, V12.4.131") == (12, 4)
    with pytest.raises(NvdiffrastUnavailable, match="cannot read the CUDA release"):
        parse_nvcc_release("command not found")
    check_cuda_major((13, 0), "13.0")
    check_cuda_major((13, 2), "13.0")  # minor versions may differ
    with pytest.raises(
        NvdiffrastUnavailable,
        match=r"nvcc \(/usr/bin/nvcc\) is CUDA 12.4, but torch was built with CUDA 13.0: the CUDA "
        r"major versions must match; install CUDA toolkit 13.x",
    ):
        check_cuda_major((12, 4), "13.0", "/usr/bin/nvcc")


def test_arch_lists():
    assert arch_list_from_capabilities([(9, 0)]) == "9.0"
    assert arch_list_from_capabilities([(9, 0), (8, 6), (9, 0)]) == "8.6;9.0"
    with pytest.raises(ValueError, match="capabilities must name at least one"):
        arch_list_from_capabilities([])
    assert count_archs("9.0") == 1
    assert count_archs("7.0;7.5;8.0;8.6;9.0+PTX") == 5
    assert count_archs(" 8.6 9.0 ") == 2


# --- stale locks ------------------------------------------------------------------------------


def test_lock_is_stale():
    assert lock_is_stale(lock_mtime=0.0, newest_mtime=0.0, now=601.0, stale_after_s=600.0)
    assert not lock_is_stale(lock_mtime=0.0, newest_mtime=0.0, now=599.0, stale_after_s=600.0)
    # a build that still writes objects is making progress, however old its lock
    assert not lock_is_stale(lock_mtime=0.0, newest_mtime=500.0, now=1000.0, stale_after_s=600.0)


def test_stale_lock_reads_the_build_folder(tmp_path):
    now = time.time()
    assert stale_lock(tmp_path, now, 600.0) is None  # no lock
    lock = tmp_path / "lock"
    lock.touch()
    os.utime(lock, (now - 3600, now - 3600))
    assert stale_lock(tmp_path, now, 600.0) == lock
    obj = tmp_path / "rasterize.cuda.o"
    obj.touch()  # written just now: a live build
    assert stale_lock(tmp_path, now, 600.0) is None
    os.utime(obj, (now - 3600, now - 3600))
    assert stale_lock(tmp_path, now, 600.0) == lock


def test_wait_for_lock_names_the_file_to_delete(tmp_path):
    lock = tmp_path / "lock"
    lock.touch()
    os.utime(lock, (time.time() - 3600,) * 2)
    with pytest.raises(NvdiffrastUnavailable, match=rf"stale lock file {lock}.*delete it \(rm '{lock}'\)"):
        wait_for_lock(tmp_path, 600.0, sleep=lambda s: pytest.fail("a stale lock is not waited on"))


def test_wait_for_lock_waits_for_a_live_build(tmp_path):
    lock = tmp_path / "lock"
    lock.touch()
    sleeps = []

    def sleep(seconds):  # the other build finishes during the second wait
        sleeps.append(seconds)
        if len(sleeps) == 2:
            lock.unlink()

    wait_for_lock(tmp_path, 600.0, poll_s=0.5, sleep=sleep)
    assert sleeps == [0.5, 0.5]


def test_wait_for_lock_gives_up_on_a_build_killed_while_waiting(tmp_path):
    (tmp_path / "lock").touch()
    start = time.time()
    clock = iter([start, start + 300.0, start + 700.0])
    with pytest.raises(NvdiffrastUnavailable, match="no build has touched"):
        wait_for_lock(tmp_path, 600.0, clock=lambda: next(clock), sleep=lambda s: None)


# --- one build per machine under torch.distributed --------------------------------------------


def _recording_collective(is_builder, fail=False):
    events = []

    def load(allow_build):
        events.append(f"load(allow_build={allow_build})")
        if fail:
            raise NvdiffrastUnavailable("nvcc missing")
        return types.ModuleType("dr")

    def barrier():
        events.append("barrier")

    return events, lambda: collective_load(load, is_builder=is_builder, barrier=barrier)


def test_collective_load_builder_builds_then_releases_the_others():
    events, run = _recording_collective(is_builder=True)
    assert run().__name__ == "dr"
    assert events == ["load(allow_build=True)", "barrier"]
    events, run = _recording_collective(is_builder=False)
    run()
    assert events == ["barrier", "load(allow_build=False)"]


def test_collective_load_reaches_the_barrier_when_the_build_fails():
    events, run = _recording_collective(is_builder=True, fail=True)
    with pytest.raises(NvdiffrastUnavailable, match="nvcc missing"):
        run()
    assert events == ["load(allow_build=True)", "barrier"]


# --- the wrapper ------------------------------------------------------------------------------


def _nvdiffrast_pattern(cpp, name):
    """A ``_get_plugin`` doing what nvdiffrast 0.3.3.1's does: load a built module or build it,
    discard the result, then import it by name."""
    calls = []

    def get_plugin(gl=False):
        calls.append(gl)
        try:
            cpp._import_module_from_library(name, "/nonexistent", True)
        except ImportError:
            cpp.load(name=name, sources=[], verbose=False)
        return importlib.import_module(name)

    return get_plugin, calls


def _fake_cpp(built):
    """A stand-in for torch.utils.cpp_extension whose modules, like pybind11 3's, are never put in
    sys.modules."""
    cpp = types.SimpleNamespace(loads=[])

    def load(name, sources, verbose=False):
        cpp.loads.append({"name": name, "verbose": verbose})
        return types.ModuleType(name)

    def import_module_from_library(name, path, is_python_module):
        if not built:
            raise ImportError(f"{path}/{name}.so: cannot open shared object file")
        return types.ModuleType(name)

    cpp.load = load
    cpp._import_module_from_library = import_module_from_library
    return cpp


@pytest.mark.parametrize("built", [False, True], ids=["build", "load-built"])
def test_wrapper_registers_the_module_nvdiffrast_discards(built, monkeypatch):
    name = f"isogen3d_test_plugin_{'built' if built else 'fresh'}"
    monkeypatch.delitem(sys.modules, name, raising=False)
    cpp = _fake_cpp(built)
    load, import_lib = cpp.load, cpp._import_module_from_library
    bare, _ = _nvdiffrast_pattern(cpp, name)
    with pytest.raises(ModuleNotFoundError, match=name):
        bare()
    guarded = []

    @contextlib.contextmanager
    def guard(plugin_name, kwargs):  # sees the build's name and may change its arguments
        guarded.append(plugin_name)
        kwargs["verbose"] = True
        yield

    get_plugin, calls = _nvdiffrast_pattern(cpp, name)
    wrapped = loader.wrap_get_plugin(get_plugin, cpp_extension=cpp, build_guard=guard)
    module = wrapped()
    monkeypatch.delitem(sys.modules, name)
    assert module.__name__ == name
    assert wrapped() is module and calls == [False]  # later calls skip nvdiffrast's loader
    assert cpp.load is load and cpp._import_module_from_library is import_lib  # restored
    if built:
        assert guarded == [] and cpp.loads == []  # a built plugin is loaded, not built
    else:
        assert guarded == [name] and cpp.loads[-1] == {"name": name, "verbose": True}


def test_wrapper_passes_a_fake_plugin_through():
    plugin = types.SimpleNamespace(rasterize_fwd_cuda=lambda *a: None)
    cpp = types.SimpleNamespace(load=lambda **kw: pytest.fail("the fake never builds"))
    wrapped = loader.wrap_get_plugin(lambda gl=False: plugin, cpp_extension=cpp)
    assert wrapped() is plugin and wrapped(gl=False) is plugin


def test_wrapper_restores_cpp_extension_when_the_plugin_fails():
    cpp = _fake_cpp(built=False)
    load = cpp.load

    def failing(gl=False):
        cpp.load(name="x", sources=[])
        raise RuntimeError("Error building extension 'x'")

    with pytest.raises(RuntimeError, match="Error building extension"):
        loader.wrap_get_plugin(failing, cpp_extension=cpp)()
    assert cpp.load is load


# --- the loader, on a fake nvdiffrast package -------------------------------------------------

_FAKE_OPS = """
import importlib
import types

import torch.utils.cpp_extension

NAME = "isogen3d_fake_nvdiffrast_plugin"
MODE = "direct"  # "direct": return a plugin without cpp_extension; "jit": nvdiffrast's pattern
calls = []


def _get_plugin(gl=False):
    calls.append(gl)
    if MODE == "direct":
        return types.SimpleNamespace(name="direct plugin")
    try:
        torch.utils.cpp_extension._import_module_from_library(NAME, "/nonexistent", True)
    except ImportError:
        torch.utils.cpp_extension.load(name=NAME, sources=[], verbose=False)
    return importlib.import_module(NAME)


class RasterizeCudaContext:
    def __init__(self, device=None):
        self.plugin = _get_plugin()
"""


@pytest.fixture
def fake_nvdiffrast(tmp_path, monkeypatch):
    """A fake nvdiffrast package on sys.path, CUDA faked present, a fresh per-process cache, and
    torch's extension folder in tmp_path."""
    pkg = tmp_path / "site" / "nvdiffrast"
    (pkg / "torch").mkdir(parents=True)
    (pkg / "__init__.py").write_text('__version__ = "0.0.fake"\n')
    (pkg / "torch" / "__init__.py").write_text("from .ops import RasterizeCudaContext\n")
    (pkg / "torch" / "ops.py").write_text(textwrap.dedent(_FAKE_OPS))
    for mod in [m for m in sys.modules if m == "nvdiffrast" or m.startswith("nvdiffrast.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.delitem(sys.modules, "isogen3d_fake_nvdiffrast_plugin", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(loader, "_CACHE", loader._PluginCache())
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "ext"))
    monkeypatch.delenv("TORCH_CUDA_ARCH_LIST", raising=False)
    yield importlib.import_module("nvdiffrast.torch.ops")
    for mod in [m for m in sys.modules if m == "nvdiffrast" or m.startswith("nvdiffrast.")]:
        del sys.modules[mod]


@pytest.fixture
def build_tools(fake_nvdiffrast, tmp_path, monkeypatch):
    """Everything a build needs, faked: ninja and c++ on PATH, an nvcc of CUDA 13.0 under
    CUDA_HOME, one sm_90 GPU, and a cpp_extension.load that records instead of compiling.
    Nothing is built: cpp_extension._import_module_from_library says so."""
    cuda_home = tmp_path / "cuda"
    (cuda_home / "bin").mkdir(parents=True)
    nvcc = cuda_home / "bin" / "nvcc"
    nvcc.write_text("#!/bin/sh\necho 'Cuda compilation tools, release 13.0, V13.0.88'\n")
    nvcc.chmod(0o755)
    monkeypatch.setattr(cpp_extension, "CUDA_HOME", str(cuda_home))
    monkeypatch.setattr(shutil, "which", lambda cmd: f"/usr/bin/{cmd}")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda i=0: (9, 0))
    loads = []

    def load(name, sources, verbose=False, **kwargs):
        loads.append({"name": name, "arch": os.environ.get("TORCH_CUDA_ARCH_LIST"), "verbose": verbose})
        return types.ModuleType(name)

    def not_built(name, path, is_python_module):
        raise ImportError(f"{path}/{name}.so: cannot open shared object file")

    monkeypatch.setattr(cpp_extension, "load", load)
    monkeypatch.setattr(cpp_extension, "_import_module_from_library", not_built)
    fake_nvdiffrast.MODE = "jit"
    return types.SimpleNamespace(ops=fake_nvdiffrast, loads=loads, nvcc=nvcc, cuda_home=cuda_home)


def test_not_installed(monkeypatch):
    monkeypatch.setattr(loader, "_CACHE", loader._PluginCache())
    monkeypatch.setitem(sys.modules, "nvdiffrast", None)  # import nvdiffrast raises ImportError
    with pytest.raises(NvdiffrastUnavailable, match=r"not installed: `pip install diffrp-nvdiffrast`") as e:
        loader.load_nvdiffrast()
    assert e.value.state is PluginState.NOT_INSTALLED
    assert loader.plugin_status().state is PluginState.NOT_INSTALLED


def test_no_cuda(fake_nvdiffrast, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(NvdiffrastUnavailable, match="needs a CUDA device") as e:
        loader.load_nvdiffrast()
    assert e.value.state is PluginState.NO_CUDA
    assert loader.plugin_status().state is PluginState.NO_CUDA
    assert fake_nvdiffrast.calls == []


def test_with_the_cpu_served_a_plugin_loads_without_cuda_but_a_build_still_needs_it(build_tools, monkeypatch):
    # the seam of the CPU tests' fake (render.backend.NVDIFFRAST_DEVICE_TYPES) counts the CPU as a
    # device nvdiffrast serves; a real build still checks for the CUDA device (then ninja, nvcc,
    # the CUDA major) ...
    import render.backend

    monkeypatch.setattr(render.backend, "NVDIFFRAST_DEVICE_TYPES", ("cuda", "cpu"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(NvdiffrastUnavailable, match="a build without CUDA") as e:
        loader.load_nvdiffrast()
    assert e.value.state is PluginState.NO_CUDA and build_tools.loads == []
    # ... but a plugin that needs no build (the fake's) loads without a CUDA device
    monkeypatch.setattr(loader, "_CACHE", loader._PluginCache())
    build_tools.ops.MODE = "direct"
    assert loader.plugin_status().state is PluginState.LOADED
    assert loader.load_nvdiffrast() is sys.modules["nvdiffrast.torch"]
    assert build_tools.loads == []


def test_a_fake_plugin_loads_once_through_the_wrapper(fake_nvdiffrast):
    assert loader.plugin_status().state is PluginState.LOADED  # loadable without a build
    dr = loader.load_nvdiffrast()
    assert dr is sys.modules["nvdiffrast.torch"]
    assert getattr(fake_nvdiffrast._get_plugin, loader._WRAPPED_MARK)
    wrapped = fake_nvdiffrast._get_plugin
    assert loader.load_nvdiffrast() is dr and fake_nvdiffrast._get_plugin is wrapped  # wrapped once
    assert fake_nvdiffrast._get_plugin().name == "direct plugin"
    assert fake_nvdiffrast.calls == [False]


def test_build_sets_the_arch_list_for_this_gpu_and_restores_it(build_tools):
    assert loader.plugin_status().state is PluginState.NOT_BUILT  # the probe builds nothing
    assert build_tools.loads == []
    dr = loader.load_nvdiffrast(verbose=True)
    assert build_tools.loads == [{"name": "isogen3d_fake_nvdiffrast_plugin", "arch": "9.0", "verbose": True}]
    assert "TORCH_CUDA_ARCH_LIST" not in os.environ
    assert dr.RasterizeCudaContext().plugin.__name__ == "isogen3d_fake_nvdiffrast_plugin"
    assert loader.plugin_status().state is PluginState.LOADED
    assert loader.plugin_status().line == "plugin built and loaded"
    loader.load_nvdiffrast()
    assert len(build_tools.loads) == 1  # built once per process


def test_a_preset_arch_list_is_kept_and_a_long_one_warned_about(build_tools, monkeypatch):
    monkeypatch.setenv("TORCH_CUDA_ARCH_LIST", "7.0;7.5;8.0;8.6;9.0+PTX")
    with pytest.warns(UserWarning, match="names 5 architectures"):
        loader.load_nvdiffrast()
    assert build_tools.loads[0]["arch"] == "7.0;7.5;8.0;8.6;9.0+PTX"
    assert os.environ["TORCH_CUDA_ARCH_LIST"] == "7.0;7.5;8.0;8.6;9.0+PTX"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no-ninja", r"needs ninja, which is not on PATH"),
        ("no-nvcc", r"needs nvcc, but .*/cuda/bin/nvcc does not exist"),
        ("cuda-12", r"is CUDA 12.4, but torch was built with CUDA 13.0: the CUDA major versions must match"),
        ("stale-lock", r"stale lock file .*isogen3d_fake_nvdiffrast_plugin/lock"),
    ],
)
def test_a_failed_build_names_the_missing_piece_and_is_cached(
    build_tools, monkeypatch, tmp_path, setup, message
):
    if setup == "no-ninja":
        monkeypatch.setattr(shutil, "which", lambda cmd: None if cmd == "ninja" else f"/usr/bin/{cmd}")
        monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "bin" / "python"))
    elif setup == "no-nvcc":
        build_tools.nvcc.unlink()
    elif setup == "cuda-12":
        build_tools.nvcc.write_text("#!/bin/sh\necho 'Cuda compilation tools, release 12.4, V12.4.131'\n")
    else:
        lock = tmp_path / "ext" / "isogen3d_fake_nvdiffrast_plugin" / "lock"
        lock.parent.mkdir(parents=True)
        lock.touch()
        os.utime(lock, (time.time() - 3600,) * 2)
    with pytest.raises(NvdiffrastUnavailable, match=message) as first:
        loader.load_nvdiffrast()
    assert first.value.state is PluginState.FAILED and build_tools.loads == []
    with pytest.raises(NvdiffrastUnavailable) as second:
        loader.load_nvdiffrast()
    assert second.value is first.value and build_tools.ops.calls == [False]  # not retried
    status = loader.plugin_status()
    assert status.state is PluginState.FAILED and status.line == str(first.value)


def test_a_build_error_is_reported_with_its_text(build_tools, monkeypatch):
    def broken(name, sources, **kwargs):
        raise RuntimeError(f"Error building extension '{name}'")

    monkeypatch.setattr(cpp_extension, "load", broken)
    with pytest.raises(
        NvdiffrastUnavailable,
        match=r"failed: RuntimeError: Error building extension 'isogen3d_fake_nvdiffrast",
    ):
        loader.load_nvdiffrast()


def test_main_exit_status(fake_nvdiffrast, monkeypatch, capsys):
    assert loader.main(["--quiet"]) == 0
    assert "nvdiffrast: plugin built and loaded" in capsys.readouterr().out
    monkeypatch.setattr(loader, "_CACHE", loader._PluginCache())
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert loader.main(["--quiet"]) == 1
    assert "nvdiffrast: nvdiffrast needs a CUDA device" in capsys.readouterr().out


# --- a real pybind11 module, built on CPU -----------------------------------------------------

_TINY_SOURCE = """
#include <pybind11/pybind11.h>
int add(int a, int b) { return a + b; }
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("add", &add); }
"""


def _pybind11_major() -> int:
    header = Path(torch.__file__).parent / "include" / "pybind11" / "detail" / "common.h"
    for line in header.read_text().splitlines():
        if line.startswith("#define PYBIND11_VERSION_MAJOR"):
            return int(line.split()[-1])
    raise AssertionError(f"no PYBIND11_VERSION_MAJOR in {header}")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("ninja") is None, reason="torch.utils.cpp_extension.load needs ninja")
@pytest.mark.skipif(shutil.which(os.environ.get("CXX", "c++")) is None, reason="needs a C++ compiler")
def test_real_pybind11_module_needs_the_wrapper(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "ext"))
    source = tmp_path / "tiny.cpp"
    source.write_text(_TINY_SOURCE)
    name = "isogen3d_tiny_pybind11"
    monkeypatch.delitem(sys.modules, name, raising=False)

    def build_then_import(gl=False):  # nvdiffrast 0.3.3.1's pattern: the built module is discarded
        cpp_extension.load(name=name, sources=[str(source)], verbose=False)
        return importlib.import_module(name)

    def load_built_then_import(gl=False):  # its pattern for a plugin built by an earlier process
        build_dir = cpp_extension._get_build_directory(name, False)
        cpp_extension._import_module_from_library(name, build_dir, True)
        return importlib.import_module(name)

    if _pybind11_major() >= 3:  # multi-phase init: the bug this loader works around
        with pytest.raises(ModuleNotFoundError, match=name):
            build_then_import()
        assert name not in sys.modules
    plugin = loader.wrap_get_plugin(build_then_import)()
    assert plugin.add(2, 3) == 5 and sys.modules[name] is plugin
    monkeypatch.delitem(sys.modules, name)
    if _pybind11_major() >= 3:
        with pytest.raises(ModuleNotFoundError, match=name):
            load_built_then_import()
    plugin = loader.wrap_get_plugin(load_built_then_import)()
    assert plugin.add(4, 5) == 9 and sys.modules[name] is plugin
