"""One intra-op thread for the training tests (tiny models: far faster on busy CPUs), restored after."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from .helpers import build_tiny_data


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding the tiny built-in data set."""
    return build_tiny_data(tmp_path_factory.mktemp("isogen3d_cache"))
