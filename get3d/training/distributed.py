"""Multi-process training with ``torch.distributed`` (launch with ``torchrun``; no own launcher).

``torchrun --nproc_per_node N train.py ...`` sets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``;
:func:`init_distributed` then joins the process group with the device's default backend (NCCL on
GPUs, gloo on CPU). Gradients are averaged explicitly (:func:`all_reduce_gradients`, one flat
buffer per call, as StyleGAN2-ADA/GET3D do) rather than through a ``DistributedDataParallel``
wrapper: every loss term is already scaled by ``micro-batch / global batch``, so summing over the
processes gives the gradient of the global-batch mean, independent of the number of processes.
Without those variables everything runs in one process and these helpers are no-ops.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.distributed as dist

from render.backend import Backend, RasterContext, make_context, resolve_backend

from .config import RenderConfig

__all__ = [
    "DistInfo",
    "all_reduce_gradients",
    "all_reduce_sum",
    "cleanup_distributed",
    "init_distributed",
    "render_context",
    "resolve_device",
]


@dataclass(frozen=True)
class DistInfo:
    """This process's place: ``rank`` of ``world_size`` processes, on ``device``."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto``: the current accelerator (its ``local_rank``-th device) when one is usable, else
    CPU; otherwise ``torch.device(name)``. A torch built for CUDA on a machine without a usable
    GPU resolves ``auto`` to the CPU (``check_available=True``)."""
    if name == "auto":
        acc = torch.accelerator.current_accelerator(check_available=True)
        if acc is None:
            return torch.device("cpu")
        return torch.device(acc.type, local_rank)
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ValueError(f"device: expected 'auto' or a torch device string, got {name!r}") from exc


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1), else single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if dev.type != "cpu" and dev.index is None:
        dev = torch.device(dev.type, local_rank)
    if world > 1 and not dist.is_initialized():
        backend = dist.get_default_backend_for_device(dev)
        if dev.type != "cpu":
            torch.accelerator.set_device_index(dev.index)
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank=rank, world_size=world, device=dev)


def render_context(config: RenderConfig, info: DistInfo) -> RasterContext:
    """This process's one rasterizer context for the run (``config.render``), on ``info.device``.

    Under ``torchrun`` on CUDA, nvdiffrast's plugin is loaded collectively first: local rank 0
    builds it (once per machine) while the other ranks wait at a barrier, so that no rank builds
    inside its first training step and none builds concurrently. Every rank calls this at set-up.
    """
    backend = Backend(config.backend)
    wants_nvdiffrast = backend is not Backend.TORCH and info.device.type == "cuda"
    if wants_nvdiffrast and info.distributed:
        from render.nvdiffrast_loader import load_nvdiffrast

        try:
            load_nvdiffrast(collective=True)
        except ImportError:
            if backend is Backend.NVDIFFRAST:
                raise
            # auto: make_context below falls back to torch with a warning that gives the reason
    chosen = resolve_backend(backend, info.device)
    options = {"compile": True} if config.compile and chosen is Backend.TORCH else {}
    return make_context(chosen, info.device, **options)


def cleanup_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(tensor: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum ``tensor`` over the processes in place (no-op in one process); returns it."""
    if info.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_reduce_gradients(params: Iterable[torch.nn.Parameter], info: DistInfo) -> None:
    """Sum the gradients of ``params`` over the processes (missing gradients count as 0)."""
    if not info.distributed:
        return
    params = [p for p in params if p.requires_grad]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.flatten() for p in params])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
        offset += n
