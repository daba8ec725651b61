from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from get3d.training.checkpoint import (
    CheckpointManager,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_atomic,
)


def test_save_atomic_leaves_no_temp_and_loads_weights_only(tmp_path: Path):
    path = save_atomic({"w": torch.arange(3), "step": 5}, tmp_path / "a" / "x.pt")
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.pt"]
    assert load_checkpoint(path)["step"] == 5


def test_load_refuses_pickled_code(tmp_path: Path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="(?i)weights_only|unsupported|global"):
        load_checkpoint(tmp_path / "evil.pt")
    with pytest.raises(FileNotFoundError, match="path"):
        load_checkpoint(tmp_path / "missing.pt")


def test_manager_keeps_last_k_and_best(tmp_path: Path):
    m = CheckpointManager(tmp_path, keep=2)
    for step, metric in [(1, 5.0), (2, 3.0), (3, 4.0), (4, None)]:
        m.save({"v": torch.tensor(step)}, step, metric)
    assert [s for s, _ in m.checkpoints()] == [3, 4]
    assert m.latest() == tmp_path / "checkpoint-00000004.pt"
    best = load_checkpoint(m.best_path)
    assert best["step"] == 2 and best["metric"] == 3.0 and m.best_metric() == 3.0
    with pytest.raises(ValueError, match="keep"):
        CheckpointManager(tmp_path, keep=0)


def test_rng_state_round_trip(tmp_path: Path):
    torch.manual_seed(1)
    np.random.seed(2)  # noqa: NPY002
    random.seed(3)
    state = capture_rng_state()
    save_atomic(state, tmp_path / "rng.pt")
    first = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    restore_rng_state(load_checkpoint(tmp_path / "rng.pt"))
    second = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    assert torch.equal(first[0], second[0]) and np.array_equal(first[1], second[1]) and first[2] == second[2]
