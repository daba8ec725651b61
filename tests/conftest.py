"""Shared pytest configuration.

- The ``cuda`` mark skips cleanly on machines without a GPU.
- The ``fake_nvdiffrast`` fixture installs a recording fake of ``nvdiffrast.torch`` that runs the
  nvdiffrast code path on CPU tensors (see ``tests/render/fake_nvdiffrast.py``, which also
  documents the one seam it patches: ``render.backend.NVDIFFRAST_DEVICE_TYPES``).
"""

from __future__ import annotations

import pytest
import torch

from tests.render.fake_nvdiffrast import FakeNvdiffrast, install_fake_nvdiffrast


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU; none is available on this machine")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def fake_nvdiffrast(monkeypatch: pytest.MonkeyPatch) -> FakeNvdiffrast:
    """A fake ``nvdiffrast.torch`` for this test: CPU tensors take the nvdiffrast code path, every
    call is recorded and checked as nvdiffrast checks it, and results are the torch backend's."""
    return install_fake_nvdiffrast(monkeypatch)
