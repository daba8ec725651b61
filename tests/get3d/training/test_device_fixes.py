"""CPU-side checks of the training code's device handling (issue #14 items 6, 7 and 10).

No GPU is needed: the accelerator, the CUDA RNG and the pinning DataLoader are replaced by
recording fakes, and the copy target is the ``meta`` device (any non-CPU device makes the
loader pin and copy asynchronously).
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from get3d.data.dataset import MultiviewSample
from get3d.training import checkpoint as ckpt
from get3d.training import data as train_data
from get3d.training.distributed import resolve_device
from get3d.training.step import RealSchedule


def test_auto_device_skips_an_accelerator_that_is_not_usable(monkeypatch):
    # a CUDA build of torch on a machine without a usable GPU: the accelerator type is known,
    # but check_available=True says there is none
    def current_accelerator(check_available: bool = False):
        return None if check_available else torch.device("cuda")

    monkeypatch.setattr(torch.accelerator, "current_accelerator", current_accelerator)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


def test_auto_device_takes_a_usable_accelerator(monkeypatch):
    def current_accelerator(check_available: bool = False):
        return torch.device("cuda")

    monkeypatch.setattr(torch.accelerator, "current_accelerator", current_accelerator)
    assert resolve_device("auto", local_rank=3) == torch.device("cuda", 3)


def test_rng_state_resumes_on_fewer_gpus(monkeypatch):
    restored: dict[int, torch.Tensor] = {}

    def set_rng_state(state: torch.Tensor, device: int | str | torch.device = "cuda") -> None:
        index = device if isinstance(device, int) else torch.device(device).index or 0
        if index >= 1:
            raise RuntimeError(f"CUDA error: invalid device ordinal {index}")
        restored[index] = state.clone()

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_rng_state", set_rng_state)
    monkeypatch.setattr(torch.cuda.random, "set_rng_state", set_rng_state)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    state = ckpt.capture_rng_state()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    saved = [torch.full((16,), 7, dtype=torch.uint8), torch.full((16,), 9, dtype=torch.uint8)]
    state["cuda"] = saved  # written by a two-GPU run
    ckpt.restore_rng_state(state)  # resumed on one GPU
    assert list(restored) == [0]
    assert torch.equal(restored[0], saved[0])


class _Views(Dataset):
    def __init__(self, n: int, size: int = 4) -> None:
        self.n, self.size = n, size

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> MultiviewSample:
        image = torch.full((3, self.size, self.size), float(i) / self.n)
        mask = torch.ones(1, self.size, self.size)
        return MultiviewSample(image, mask, torch.tensor([0.1 * i, 1.0]), torch.eye(4))


def test_collate_joins_rgb_and_mask():
    ds = _Views(3)
    image, camera = train_data.collate_real([ds[0], ds[2]])
    assert image.shape == (2, 4, 4, 4) and camera.shape == (2, 2)
    assert torch.equal(image[1, :3], ds[2].image) and torch.equal(image[1, 3:], ds[2].mask)
    assert torch.equal(camera[1], ds[2].camera)


def test_real_batches_copy_exactly_the_tensors_the_loader_pinned(monkeypatch):
    pinned: set[int] = set()
    kwargs_seen: dict = {}
    real_loader = train_data.DataLoader

    class PinRecordingLoader(real_loader):
        # stands in for the loader's pin-memory step: what it yields is what it pinned
        def __init__(self, *args, **kwargs):
            kwargs_seen.update(kwargs)
            kwargs = {**kwargs, "pin_memory": False}  # no accelerator here to pin for
            super().__init__(*args, **kwargs)

        def __iter__(self):
            for batch in super().__iter__():
                for t in batch if isinstance(batch, tuple) else batch:
                    if isinstance(t, torch.Tensor):
                        pinned.add(id(t))
                yield batch

    copied: list[tuple[int, torch.Tensor]] = []
    real_to = torch.Tensor.to

    def recording_to(self, *args, **kwargs):
        out = real_to(self, *args, **kwargs)
        if out.device.type == "meta":
            copied.append((id(self), out))
        return out

    monkeypatch.setattr(train_data, "DataLoader", PinRecordingLoader)
    monkeypatch.setattr(torch.Tensor, "to", recording_to)
    schedule = RealSchedule(size=5, batch=2, seed=0)
    steps = list(
        train_data.real_batches(
            _Views(5), schedule, 0, 2, micro=[0], batch_gpu=2, workers=0, device=torch.device("meta")
        )
    )
    assert kwargs_seen["pin_memory"] is True
    assert len(steps) == 2 and all(len(s) == 1 for s in steps)
    image, camera = steps[0][0]
    assert image.shape == (2, 4, 4, 4) and camera.shape == (2, 2)
    assert len(copied) == 4
    assert all(source in pinned for source, _ in copied), "a tensor made after pinning was copied"
