"""The declared torch floor covers every versioned torch API the library calls (issue #14 item 8)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]

# torch APIs the library uses that are newer than torch 2.0, with the release that brought them
VERSIONED_APIS: dict[str, tuple[int, int]] = {
    "current_accelerator(check_available": (2, 7),
    "torch.accelerator.set_device_index": (2, 6),
    "torch.accelerator.current_accelerator": (2, 6),
    "get_default_backend_for_device": (2, 6),
}


def _torch_floor() -> tuple[int, int]:
    tree = ast.parse((REPO / "setup.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            m = re.fullmatch(r"torch>=(\d+)\.(\d+)(?:\.\d+)?", node.value)
            if m:
                return int(m.group(1)), int(m.group(2))
    raise AssertionError("setup.py declares no 'torch>=X.Y' requirement")


def _library_sources() -> list[Path]:
    return [p for pkg in ("dmtet", "render", "get3d") for p in sorted((REPO / pkg).rglob("*.py"))]


def test_torch_floor_covers_the_apis_used():
    floor = _torch_floor()
    needed = {}
    for path in _library_sources():
        text = path.read_text(encoding="utf-8")
        for api, version in VERSIONED_APIS.items():
            if api in text:
                needed[api] = max(version, needed.get(api, (0, 0)))
    assert needed, "the API table no longer matches the code; update VERSIONED_APIS"
    newest = max(needed.values())
    assert floor >= newest, f"setup.py allows torch>={floor}, but the code uses {needed}"


def test_installed_torch_meets_the_floor():
    major, minor = (int(x) for x in re.match(r"(\d+)\.(\d+)", torch.__version__).groups())
    assert (major, minor) >= _torch_floor()
