"""Shared fixtures for the export tests: small meshes, an analytic colour field, a GLB reader."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import torch
import trimesh


def sphere(subdivisions: int = 1, radius: float = 0.4) -> tuple[torch.Tensor, torch.Tensor]:
    m = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    return torch.tensor(m.vertices, dtype=torch.float32), torch.tensor(m.faces, dtype=torch.int64)


def field(points: torch.Tensor) -> torch.Tensor:
    """A smooth analytic RGB field in [-1, 1] of world position ``[P, 3]``."""
    x, y, z = points.unbind(-1)
    return torch.stack([torch.sin(3.0 * x), torch.cos(2.0 * y + 0.5), (x * 1.5 + z).clamp(-1, 1)], dim=-1)


def read_glb(path: str | Path) -> tuple[dict, bytes, bytes]:
    """(json document, BIN chunk, raw header+chunks) parsed by hand from the glTF 2.0 layout."""
    data = Path(path).read_bytes()
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert magic == 0x46546C67 and version == 2 and length == len(data)
    json_len, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A and json_len % 4 == 0
    doc = json.loads(data[20 : 20 + json_len].decode("utf-8"))
    bin_len, bin_type = struct.unpack_from("<II", data, 20 + json_len)
    assert bin_type == 0x004E4942 and bin_len % 4 == 0
    binary = data[28 + json_len : 28 + json_len + bin_len]
    assert 28 + json_len + bin_len == len(data)
    return doc, binary, data


_DTYPES = {5126: "<f4", 5125: "<u4", 5123: "<u2"}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3}


def accessor(doc: dict, binary: bytes, index: int) -> np.ndarray:
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    width = _WIDTH[acc["type"]]
    dtype = np.dtype(_DTYPES[acc["componentType"]])
    assert view["byteOffset"] % 4 == 0
    raw = binary[view["byteOffset"] : view["byteOffset"] + view["byteLength"]]
    arr = np.frombuffer(raw, dtype=dtype)
    assert arr.size == acc["count"] * width
    return arr.reshape(acc["count"], width) if width > 1 else arr
