"""A fake ``nvdiffrast.torch`` for CPU tests: nvdiffrast's checks and call shapes, the torch results.

:func:`install_fake_nvdiffrast` (the ``fake_nvdiffrast`` fixture of ``tests/conftest.py``) puts
three modules into ``sys.modules`` for one test: ``nvdiffrast``, ``nvdiffrast.torch`` and
``nvdiffrast.torch.ops``. They offer what this library uses of nvdiffrast 0.3.3:
``RasterizeCudaContext(device=...)``, ``rasterize``, ``interpolate``, ``antialias``,
``antialias_construct_topology_hash``, ``texture`` and ``ops._get_plugin`` (returns a stand-in
module object, as ``torch.utils.cpp_extension.load`` would, and never builds anything; the
context's constructor and the ops fetch the "plugin" through ``ops._get_plugin`` like nvdiffrast
does, so a loader that wraps that function is exercised too).

Every call is recorded (:class:`Call`: the op and, per argument, its dtype, device, shape and
contiguity, or its value), forward and backward, and checked the way nvdiffrast checks it: the
Python-level ``assert`` statements raise ``AssertionError``; the C++ checks (``NVDR_CHECK_*``:
float32, int32, contiguous, same device, ``ranges`` on the CPU, shapes) raise ``RuntimeError``
with nvdiffrast's wording. The outputs are the pure-PyTorch backend's
(:mod:`render.torch_backend`), wrapped in one autograd node per op as nvdiffrast's are.

**The seam.** nvdiffrast serves CUDA tensors only and this machine has none. The fixture adds
``"cpu"`` to :data:`render.backend.NVDIFFRAST_DEVICE_TYPES` (``monkeypatch``, undone after the
test), so that ``make_context("nvdiffrast", device="cpu")`` builds a
:class:`render.NvdiffrastRasterContext` and ``backend="nvdiffrast"`` / ``auto`` dispatch CPU
tensors to the (fake) nvdiffrast path: while it is installed, the CPU plays the GPU. The same
tuple tells :func:`render.nvdiffrast_loader.load_nvdiffrast` that a device nvdiffrast serves is
present (the CPU), so the loader wraps and calls the fake's ``ops._get_plugin`` as it would the
real one, with ``torch.cuda.is_available()`` left alone; the build checks (ninja, nvcc, CUDA
major) run only around a real ``cpp_extension.load``, which the fake never calls. The fake
then checks "on the GPU" as "on the context's device" (``rasterize``) or "on one device" (the
other ops). One check it cannot make: that ``ranges`` is *not* on the GPU, since the CPU is both.

It is a little over the usual ~500 lines: the four ops, their backward functions and nvdiffrast's
argument checks must live together so that every recorded call is checked the way nvdiffrast
checks it.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch

__all__ = ["Call", "FakeNvdiffrast", "TensorInfo", "install_fake_nvdiffrast"]

PLUGIN_NAME = "nvdiffrast_plugin_fake"
_FILTER_MODES = ("nearest", "linear", "linear-mipmap-nearest", "linear-mipmap-linear")
_BOUNDARY_MODES = ("cube", "wrap", "clamp", "zero")
_MAX_DIFF_ATTRS = 32  # nvdiffrast's IP_MAX_DIFF_ATTRS


@dataclass(frozen=True)
class TensorInfo:
    """What a recorded call knew about one tensor argument."""

    dtype: torch.dtype
    device: torch.device
    shape: tuple[int, ...]
    contiguous: bool
    requires_grad: bool

    @staticmethod
    def of(t: torch.Tensor) -> TensorInfo:
        return TensorInfo(t.dtype, t.device, tuple(t.shape), t.is_contiguous(), t.requires_grad)


@dataclass(frozen=True)
class Call:
    """One recorded call: ``op`` (a Python op name, or the C++ function nvdiffrast's backward
    runs, e.g. ``rasterize_grad`` / ``rasterize_grad_db``) and its arguments by name: a
    :class:`TensorInfo` for tensors, the value itself otherwise."""

    op: str
    args: dict[str, Any]


@dataclass
class FakeNvdiffrast:
    """The installed fake: its modules and everything it was asked to do."""

    device_types: tuple[str, ...]
    calls: list[Call] = field(default_factory=list)
    plugin_requests: int = 0
    modules: dict[str, types.ModuleType] = field(default_factory=dict)

    def ops(self, *names: str) -> list[Call]:
        """The recorded calls of the given ops (all calls without names), in order."""
        return [c for c in self.calls if not names or c.op in names]

    def op_names(self) -> list[str]:
        return [c.op for c in self.calls]

    def clear(self) -> None:
        self.calls.clear()

    # -- recording and nvdiffrast's checks ------------------------------------------------
    def record(self, op: str, **args: Any) -> None:
        info = {k: TensorInfo.of(v) if isinstance(v, torch.Tensor) else v for k, v in args.items()}
        self.calls.append(Call(op, info))

    def check_gpu(
        self, func: str, named: dict[str, torch.Tensor], device: torch.device | None = None
    ) -> None:
        """``NVDR_CHECK_DEVICE``: all on one GPU (here: a device type the fake serves)."""
        dev = device if device is not None else next(iter(named.values())).device
        ok = dev.type in self.device_types and all(t.device == dev for t in named.values())
        if not ok:
            raise RuntimeError(f"{func}(): Inputs {', '.join(named)} must reside on the same GPU device")


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise RuntimeError(message)


def _check_cpu(func: str, named: dict[str, torch.Tensor]) -> None:
    _check(
        all(t.device.type == "cpu" for t in named.values()),
        f"{func}(): Inputs {', '.join(named)} must reside on CPU",
    )


def _check_contiguous(func: str, named: dict[str, torch.Tensor]) -> None:
    _check(
        all(t.is_contiguous() for t in named.values()),
        f"{func}(): Inputs {', '.join(named)} must be contiguous tensors",
    )


def _check_dtype(func: str, named: dict[str, torch.Tensor], dtype: torch.dtype) -> None:
    kind = "float32" if dtype == torch.float32 else "int32"
    _check(
        all(t.dtype == dtype for t in named.values()),
        f"{func}(): Inputs {', '.join(named)} must be {kind} tensors",
    )


# ------------------------------------------------------------------------------------------
# One autograd node per op, like nvdiffrast's autograd Functions
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    """How to run one op: ``forward(*inputs) -> outputs`` on the torch backend, and a hook that
    records and checks the backward call (it gets the output gradients, returns the subset of
    them that nvdiffrast propagates: ``None`` entries are dropped, e.g. ``rast_db``'s gradient
    with ``grad_db=False``)."""

    forward: Callable[..., tuple[torch.Tensor, ...]]
    backward: Callable[[tuple[torch.Tensor, ...]], tuple[torch.Tensor | None, ...]]


class _OpFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, node: _Node, *inputs: Any) -> tuple[torch.Tensor, ...]:  # type: ignore[override]
        wants = [isinstance(t, torch.Tensor) and ctx.needs_input_grad[i + 1] for i, t in enumerate(inputs)]
        if not any(wants):
            ctx.node = None
            return tuple(o.detach() for o in node.forward(*inputs))
        leaves = [t.detach().requires_grad_(True) if w else t for t, w in zip(inputs, wants, strict=True)]
        with torch.enable_grad():
            outs = node.forward(*leaves)
        ctx.node, ctx.leaves, ctx.wants, ctx.outs = node, leaves, wants, outs
        return tuple(o.detach() for o in outs)

    @staticmethod
    def backward(ctx, *grads: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        node: _Node = ctx.node
        kept = node.backward(grads)
        pairs = [(o, g) for o, g in zip(ctx.outs, kept, strict=True) if g is not None and o.requires_grad]
        targets = [leaf for leaf, w in zip(ctx.leaves, ctx.wants, strict=True) if w]
        got = iter(
            torch.autograd.grad([o for o, _ in pairs], targets, [g for _, g in pairs], allow_unused=True)
            if pairs
            else [None] * len(targets)
        )
        return (None, *(next(got) if w else None for w in ctx.wants))


def _apply(node: _Node, *inputs: Any) -> tuple[torch.Tensor, ...]:
    return _OpFunction.apply(node, *inputs)


# ------------------------------------------------------------------------------------------
# The modules
# ------------------------------------------------------------------------------------------


def _build(fake: FakeNvdiffrast) -> dict[str, types.ModuleType]:
    from render.torch_backend.antialias import antialias_construct_topology_hash_torch, antialias_torch
    from render.torch_backend.interpolate import interpolate_torch
    from render.torch_backend.rasterize import rasterize_torch
    from render.torch_backend.texture import texture_torch

    root = types.ModuleType("nvdiffrast")
    root.__version__ = "0.3.3+fake"
    root.__path__ = []  # a package, so that `import nvdiffrast.torch` resolves through sys.modules
    pkg = types.ModuleType("nvdiffrast.torch")
    pkg.__path__ = []
    ops = types.ModuleType("nvdiffrast.torch.ops")
    plugin = types.ModuleType(PLUGIN_NAME)
    plugin.__doc__ = "Stand-in for nvdiffrast's compiled plugin (tests/render/fake_nvdiffrast.py)."
    ops._cached_plugin = {}

    def _get_plugin(gl: bool = False) -> types.ModuleType:
        assert isinstance(gl, bool)
        if gl:
            raise RuntimeError("the fake nvdiffrast has no OpenGL plugin")
        fake.plugin_requests += 1
        ops._cached_plugin[gl] = plugin
        return plugin

    def plugin_of() -> types.ModuleType:
        return ops._get_plugin()  # through the module attribute: a loader's wrapper runs

    class RasterizeCudaContext:
        def __init__(self, device: torch.device | str | int | None = None) -> None:
            if device is None:
                if not torch.cuda.is_available():
                    raise RuntimeError("fake RasterizeCudaContext: device=None needs CUDA (pass device=)")
                dev = torch.device("cuda", torch.cuda.current_device())
            else:
                dev = torch.device("cuda", device) if isinstance(device, int) else torch.device(device)
            if dev.type not in fake.device_types:
                raise RuntimeError(f"fake RasterizeCudaContext: not a device the fake serves: {dev}")
            self.cpp_wrapper = plugin_of()
            self.device = dev
            self.output_db = True
            self.active_depth_peeler = None
            fake.record("RasterizeCudaContext", device=dev)

    class TopologyHashWrapper:
        def __init__(self, topology: Any) -> None:
            self.topology = topology

    plugin.TopologyHashWrapper = TopologyHashWrapper

    def rasterize(glctx, pos, tri, resolution, ranges=None, grad_db=True):
        assert isinstance(glctx, RasterizeCudaContext)
        assert grad_db is True or grad_db is False
        grad_db = grad_db and glctx.output_db
        assert isinstance(pos, torch.Tensor) and isinstance(tri, torch.Tensor)
        resolution = tuple(resolution)
        if ranges is None:
            ranges = torch.empty(size=(0, 2), dtype=torch.int32, device="cpu")
        else:
            assert isinstance(ranges, torch.Tensor)
        fake.record("rasterize", pos=pos, tri=tri, resolution=resolution, ranges=ranges, grad_db=grad_db)
        func = "rasterize_fwd_cuda"
        plugin_of()
        fake.check_gpu(func, {"pos": pos, "tri": tri})
        _check_cpu(func, {"ranges": ranges})
        _check_contiguous(func, {"pos": pos, "tri": tri, "ranges": ranges})
        _check_dtype(func, {"pos": pos}, torch.float32)
        _check_dtype(func, {"tri": tri, "ranges": ranges}, torch.int32)
        _check(
            pos.device == glctx.device,
            "CudaRaster context must must reside on the same device as input tensors",
        )
        instance_mode = pos.dim() > 2
        if instance_mode:
            _check(
                pos.dim() == 3 and pos.shape[0] > 0 and pos.shape[1] > 0 and pos.shape[2] == 4,
                "instance mode - pos must have shape [>0, >0, 4]",
            )
        else:
            _check(
                pos.dim() == 2 and pos.shape[0] > 0 and pos.shape[1] == 4,
                "range mode - pos must have shape [>0, 4]",
            )
            _check(
                ranges.dim() == 2 and ranges.shape[0] > 0 and ranges.shape[1] == 2,
                "range mode - ranges must have shape [>0, 2]",
            )
        _check(tri.dim() == 2 and tri.shape[0] > 0 and tri.shape[1] == 3, "tri must have shape [>0, 3]")
        _check(
            len(resolution) == 2 and resolution[0] > 0 and resolution[1] > 0, "resolution must be [>0, >0]"
        )

        def backward(grads):
            dy, ddb = grads
            name = "rasterize_grad_db" if grad_db else "rasterize_grad"
            fake.record(name, dy=dy, ddb=ddb if grad_db else None)
            tensors = {"pos": pos, "tri": tri, "dy": dy} | ({"ddb": ddb} if grad_db else {})
            fake.check_gpu(name, tensors)
            _check_dtype(name, {"dy": dy} | ({"ddb": ddb} if grad_db else {}), torch.float32)
            return dy, (ddb if grad_db else None)

        node = _Node(
            lambda p: rasterize_torch(
                p, tri, resolution, ranges=None if instance_mode else ranges, grad_db=grad_db
            ),
            backward,
        )
        return _apply(node, pos)

    def interpolate(attr, rast, tri, rast_db=None, diff_attrs=None):
        if diff_attrs is None:
            diff_attrs = []
        elif diff_attrs != "all":
            diff_attrs = [int(i) for i in diff_attrs]
        diff_all = diff_attrs == "all"
        assert all(isinstance(x, torch.Tensor) for x in (attr, rast, tri))
        if diff_attrs:
            assert isinstance(rast_db, torch.Tensor)
        fake.record(
            "interpolate", attr=attr, rast=rast, tri=tri, rast_db=rast_db, diff_attrs=diff_attrs or None
        )
        func = "interpolate_fwd_da" if diff_attrs else "interpolate_fwd"
        plugin_of()
        named = {"attr": attr, "rast": rast, "tri": tri} | ({"rast_db": rast_db} if diff_attrs else {})
        fake.check_gpu(func, named)
        _check_contiguous(func, named)
        _check_dtype(func, {k: v for k, v in named.items() if k != "tri"}, torch.float32)
        _check_dtype(func, {"tri": tri}, torch.int32)
        _check(
            rast.dim() == 4 and min(rast.shape[:3]) > 0 and rast.shape[3] == 4,
            "rast must have shape[>0, >0, >0, 4]",
        )
        _check(tri.dim() == 2 and tri.shape[0] > 0 and tri.shape[1] == 3, "tri must have shape [>0, 3]")
        _check(attr.dim() in (2, 3) and attr.numel() > 0, "attr must have shape [>0, >0, >0] or [>0, >0]")
        if attr.dim() == 3:
            _check(attr.shape[0] in (rast.shape[0], 1), "minibatch size mismatch between inputs rast, attr")
        n_attr = attr.shape[-1]
        if diff_attrs:
            _check(rast_db.shape == rast.shape, "rast_db must have rast's shape [>0, >0, >0, 4]")
            if not diff_all:
                _check(len(diff_attrs) <= _MAX_DIFF_ATTRS, "too many entries in diff_attrs list")
                # nvdiffrast reads out of bounds here; the fake refuses instead
                _check(
                    all(0 <= i < n_attr for i in diff_attrs), f"diff_attrs entries must lie in [0, {n_attr})"
                )
        resolved = list(range(n_attr)) if diff_all else list(diff_attrs)

        def backward(grads):
            dy, dda = grads
            name = "interpolate_grad_da" if diff_attrs else "interpolate_grad"
            fake.record(name, dy=dy, dda=dda if diff_attrs else None)
            fake.check_gpu(name, {"attr": attr, "dy": dy} | ({"dda": dda} if diff_attrs else {}))
            _check_dtype(name, {"dy": dy} | ({"dda": dda} if diff_attrs else {}), torch.float32)
            return dy, (dda if diff_attrs else None)

        if diff_attrs:
            node = _Node(
                lambda a, r, db: interpolate_torch(a, r, tri, rast_db=db, diff_attrs=resolved), backward
            )
            return _apply(node, attr, rast, rast_db)
        node = _Node(lambda a, r: interpolate_torch(a, r, tri), backward)
        return _apply(node, attr, rast)

    def antialias_construct_topology_hash(tri):
        assert isinstance(tri, torch.Tensor)
        fake.record("antialias_construct_topology_hash", tri=tri)
        func = "antialias_construct_topology_hash"
        plugin_of()
        fake.check_gpu(func, {"tri": tri})
        _check_contiguous(func, {"tri": tri})
        _check_dtype(func, {"tri": tri}, torch.int32)
        _check(tri.dim() == 2 and tri.shape[0] > 0 and tri.shape[1] == 3, "tri must have shape [>0, 3]")
        return TopologyHashWrapper(antialias_construct_topology_hash_torch(tri))

    def antialias(color, rast, pos, tri, topology_hash=None, pos_gradient_boost=1.0):
        assert all(isinstance(x, torch.Tensor) for x in (color, rast, pos, tri))
        if topology_hash is not None:
            assert isinstance(topology_hash, plugin_of().TopologyHashWrapper)
        else:
            topology_hash = antialias_construct_topology_hash(tri)
        fake.record(
            "antialias", color=color, rast=rast, pos=pos, tri=tri, pos_gradient_boost=pos_gradient_boost
        )
        func = "antialias_fwd"
        named = {"color": color, "rast": rast, "pos": pos, "tri": tri}
        fake.check_gpu(func, named)
        _check_contiguous(func, named)
        _check_dtype(func, {"color": color, "rast": rast, "pos": pos}, torch.float32)
        _check_dtype(func, {"tri": tri}, torch.int32)
        _check(color.dim() == 4 and min(color.shape) > 0, "color must have shape[>0, >0, >0, >0]")
        _check(
            rast.dim() == 4 and min(rast.shape[:3]) > 0 and rast.shape[3] == 4,
            "rast must have shape[>0, >0, >0, 4]",
        )
        _check(color.shape[1:3] == rast.shape[1:3], "color and rast inputs must have same spatial dimensions")
        if pos.dim() == 3:
            _check(min(pos.shape[:2]) > 0 and pos.shape[2] == 4, "pos must have shape [>0, >0, 4] or [>0, 4]")
            _check(
                rast.shape[0] == color.shape[0] and pos.shape[0] == color.shape[0],
                "minibatch size mismatch between inputs color, rast, pos",
            )
        else:
            _check(
                pos.dim() == 2 and pos.shape[0] > 0 and pos.shape[1] == 4,
                "pos must have shape [>0, >0, 4] or [>0, 4]",
            )
            _check(rast.shape[0] == color.shape[0], "minibatch size mismatch between inputs color, rast")
        topology = topology_hash.topology

        def backward(grads):
            (dy,) = grads
            fake.record("antialias_grad", dy=dy)
            fake.check_gpu("antialias_grad", {"color": color, "dy": dy})
            _check_dtype("antialias_grad", {"dy": dy}, torch.float32)
            _check(dy.shape == color.shape, "color and dy inputs must have same dimensions")
            return (dy,)

        node = _Node(
            lambda c, p: (antialias_torch(c, rast, p, tri, pos_gradient_boost, topology_hash=topology),),
            backward,
        )
        return _apply(node, color, pos)[0]

    def texture(
        tex,
        uv,
        uv_da=None,
        mip_level_bias=None,
        mip=None,
        filter_mode="auto",
        boundary_mode="wrap",
        max_mip_level=None,
    ):
        if filter_mode == "auto":
            filter_mode = (
                "linear-mipmap-linear" if (uv_da is not None or mip_level_bias is not None) else "linear"
            )
        if max_mip_level is not None:
            max_mip_level = int(max_mip_level)
            assert max_mip_level >= 0
        assert isinstance(tex, torch.Tensor) and isinstance(uv, torch.Tensor)
        if "mipmap" in filter_mode:
            assert isinstance(uv_da, torch.Tensor) or isinstance(mip_level_bias, torch.Tensor)
        if max_mip_level == 0 and "mipmap" in filter_mode:
            filter_mode = "linear"
        if filter_mode not in _FILTER_MODES:
            raise KeyError(filter_mode)  # nvdiffrast's dict lookup
        if boundary_mode not in _BOUNDARY_MODES:
            raise KeyError(boundary_mode)
        fake.record(
            "texture",
            tex=tex,
            uv=uv,
            uv_da=uv_da,
            mip_level_bias=mip_level_bias,
            filter_mode=filter_mode,
            boundary_mode=boundary_mode,
            max_mip_level=max_mip_level,
        )
        if mip is not None:
            raise NotImplementedError("the fake nvdiffrast does not emulate prebuilt mip stacks")
        if boundary_mode == "cube":
            raise NotImplementedError("the fake nvdiffrast does not emulate cube maps")
        mipped = "mipmap" in filter_mode
        func = "texture_fwd_mip" if mipped else "texture_fwd"
        plugin_of()
        extra = {k: v for k, v in (("uv_da", uv_da), ("mip_level_bias", mip_level_bias)) if v is not None}
        named = {"tex": tex, "uv": uv} | (extra if mipped else {})
        fake.check_gpu(func, named)
        _check_contiguous(func, named)
        _check_dtype(func, named, torch.float32)
        _check(tex.dim() == 4 and min(tex.shape) > 0, "tex must have shape[>0, >0, >0, >0]")
        _check(
            uv.dim() == 4 and min(uv.shape[:3]) > 0 and uv.shape[3] == 2, "uv must have shape [>0, >0, >0, 2]"
        )
        _check(tex.shape[0] in (1, uv.shape[0]), "minibatch size mismatch between inputs tex, uv")

        def backward(grads):
            (dy,) = grads
            name = {"nearest": "texture_grad_nearest", "linear": "texture_grad_linear"}.get(
                filter_mode, "texture_grad_" + filter_mode.replace("-", "_")
            )
            fake.record(name, dy=dy)
            fake.check_gpu(name, {"tex": tex, "dy": dy})
            _check_dtype(name, {"dy": dy}, torch.float32)
            return (dy,)

        kwargs = {"max_mip_level": max_mip_level} if mipped else {}
        if mipped:
            node = _Node(
                lambda t, u, da, bias: (
                    texture_torch(t, u, filter_mode, boundary_mode, uv_da=da, mip_level_bias=bias, **kwargs),
                ),
                backward,
            )
            return _apply(node, tex, uv, uv_da, mip_level_bias)[0]
        node = _Node(lambda t, u: (texture_torch(t, u, filter_mode, boundary_mode),), backward)
        return _apply(node, tex, uv)[0]

    exported = {
        "RasterizeCudaContext": RasterizeCudaContext,
        "rasterize": rasterize,
        "interpolate": interpolate,
        "antialias": antialias,
        "antialias_construct_topology_hash": antialias_construct_topology_hash,
        "texture": texture,
    }
    for name, obj in exported.items():
        setattr(ops, name, obj)
        setattr(pkg, name, obj)
    ops._get_plugin = _get_plugin
    pkg.__all__ = sorted(exported)
    pkg.ops = ops
    root.torch = pkg
    return {"nvdiffrast": root, "nvdiffrast.torch": pkg, "nvdiffrast.torch.ops": ops}


def install_fake_nvdiffrast(
    monkeypatch: pytest.MonkeyPatch, device_types: Sequence[str] = ("cuda", "cpu")
) -> FakeNvdiffrast:
    """Install the fake for one test (``monkeypatch`` undoes everything afterwards).

    Puts the three modules into ``sys.modules`` (hiding a real nvdiffrast), sets
    :data:`render.backend.NVDIFFRAST_DEVICE_TYPES` to ``device_types`` (the seam described in the
    module docstring), and gives :mod:`render.nvdiffrast_loader` a fresh per-process cache for
    the test (the process's own cache, real plugin or error, comes back afterwards; the fake's
    module never outlives the test in it).
    """
    import render.backend
    import render.nvdiffrast_loader

    fake = FakeNvdiffrast(device_types=tuple(device_types))
    fake.modules = _build(fake)
    for name in [m for m in sys.modules if m == "nvdiffrast" or m.startswith("nvdiffrast.")]:
        monkeypatch.delitem(sys.modules, name)
    for name, module in fake.modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(render.backend, "NVDIFFRAST_DEVICE_TYPES", fake.device_types)
    monkeypatch.setattr(render.nvdiffrast_loader, "_CACHE", render.nvdiffrast_loader._PluginCache())
    return fake
