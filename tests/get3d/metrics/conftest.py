"""Metrics tests run single-threaded: their tensors are tiny, and on a busy 2-core machine torch's
OpenMP threads wait on each other (a 0.15 s test took 4.4 s with 2 threads under load)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
