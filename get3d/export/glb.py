"""Binary glTF 2.0 (GLB) writer: one mesh, one PBR material, the texture embedded as PNG.

Layout (glTF 2.0 spec, "GLB File Format"): a 12-byte header (``glTF``, version 2, total length),
a JSON chunk padded with spaces to 4 bytes, and a BIN chunk padded with zeros. The BIN chunk holds,
each 4-byte aligned: indices (uint32, or uint16 when every index fits), positions, normals and
texture coordinates (float32 VEC3/VEC3/VEC2), then the PNG.

Conventions: glTF is Y up, metres, counter-clockwise front faces, the same as the library. Its
texture coordinates have ``(0, 0)`` at the **top-left** of the image, so ``v_gltf = 1 - v``. The
base colour texture is sRGB by definition of ``baseColorTexture`` (the PNG holds sRGB-encoded
colours, like the training images). glTF needs one index per vertex, so vertices are split at UV
seams: the file holds ``U`` vertices (``mesh.vertices[mesh.uv_vertex]``).
"""

from __future__ import annotations

import io
import json
import os
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from get3d.atomic import atomic_files

from .material import Material
from .mesh import TexturedMesh

__all__ = ["glb_bytes", "write_glb"]

_GLB_MAGIC = 0x46546C67  # b"glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
_FLOAT, _USHORT, _UINT = 5126, 5123, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_LINEAR, _LINEAR_MIPMAP_LINEAR, _CLAMP_TO_EDGE = 9729, 9987, 33071


def _pad4(data: bytes, fill: bytes) -> bytes:
    return data + fill * (-len(data) % 4)


def glb_bytes(mesh: TexturedMesh, material: Material | None = None, *, generator: str = "isogen3d") -> bytes:
    """The GLB file's bytes for ``mesh`` (see the module docstring for the layout)."""
    if not isinstance(mesh, TexturedMesh):
        raise TypeError(f"mesh: expected a TexturedMesh, got {type(mesh).__name__}")
    material = Material() if material is None else material
    if not isinstance(material, Material):
        raise TypeError(f"material: expected a Material, got {type(material).__name__}")
    corner = mesh.uv_vertex.cpu()
    positions = mesh.vertices.detach().cpu()[corner].numpy().astype("<f4")
    normals = mesh.normals.detach().cpu()[corner].numpy().astype("<f4")
    uv = mesh.uvs.detach().cpu().numpy().astype(np.float64)
    texcoords = np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=1).astype("<f4")
    n_vertices = positions.shape[0]
    small = n_vertices <= 65535
    indices = mesh.uv_faces.cpu().numpy().astype("<u2" if small else "<u4").reshape(-1)
    png = io.BytesIO()
    Image.fromarray(mesh.texture_image_uint8().numpy()).save(png, format="PNG")

    blobs = [indices.tobytes(), positions.tobytes(), normals.tobytes(), texcoords.tobytes(), png.getvalue()]
    views, offset, binary = [], 0, b""
    targets = [_ELEMENT_ARRAY_BUFFER, _ARRAY_BUFFER, _ARRAY_BUFFER, _ARRAY_BUFFER, None]
    for blob, target in zip(blobs, targets, strict=True):
        view = {"buffer": 0, "byteOffset": offset, "byteLength": len(blob)}
        if target is not None:
            view["target"] = target
        views.append(view)
        padded = _pad4(blob, b"\x00")
        binary += padded
        offset += len(padded)

    pos_min = positions.min(axis=0) if n_vertices else np.zeros(3, "<f4")
    pos_max = positions.max(axis=0) if n_vertices else np.zeros(3, "<f4")
    doc = {
        "asset": {"version": "2.0", "generator": generator},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "mesh"}],
        "meshes": [
            {
                "name": "mesh",
                "primitives": [
                    {
                        "attributes": {"POSITION": 1, "NORMAL": 2, "TEXCOORD_0": 3},
                        "indices": 0,
                        "material": 0,
                        "mode": 4,
                    }
                ],
            }
        ],
        "materials": [
            {
                "name": material.name,
                "pbrMetallicRoughness": {
                    "baseColorTexture": {"index": 0, "texCoord": 0},
                    "baseColorFactor": [1.0, 1.0, 1.0, 1.0],
                    "metallicFactor": float(material.metallic),
                    "roughnessFactor": float(material.roughness),
                },
                "doubleSided": bool(material.double_sided),
            }
        ],
        "textures": [{"sampler": 0, "source": 0}],
        "samplers": [
            {
                "magFilter": _LINEAR,
                "minFilter": _LINEAR_MIPMAP_LINEAR,
                "wrapS": _CLAMP_TO_EDGE,
                "wrapT": _CLAMP_TO_EDGE,
            }
        ],
        "images": [{"bufferView": 4, "mimeType": "image/png", "name": "base_color"}],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": _USHORT if small else _UINT,
                "count": int(indices.size),
                "type": "SCALAR",
            },
            {
                "bufferView": 1,
                "componentType": _FLOAT,
                "count": n_vertices,
                "type": "VEC3",
                "min": [float(x) for x in pos_min],
                "max": [float(x) for x in pos_max],
            },
            {"bufferView": 2, "componentType": _FLOAT, "count": n_vertices, "type": "VEC3"},
            {"bufferView": 3, "componentType": _FLOAT, "count": n_vertices, "type": "VEC2"},
        ],
        "bufferViews": views,
        "buffers": [{"byteLength": len(binary)}],
    }
    json_chunk = _pad4(json.dumps(doc, separators=(",", ":")).encode("utf-8"), b" ")
    total = 12 + 8 + len(json_chunk) + 8 + len(binary)
    return b"".join(
        [
            struct.pack("<III", _GLB_MAGIC, 2, total),
            struct.pack("<II", len(json_chunk), _CHUNK_JSON),
            json_chunk,
            struct.pack("<II", len(binary), _CHUNK_BIN),
            binary,
        ]
    )


def write_glb(path: str | os.PathLike, mesh: TexturedMesh, material: Material | None = None) -> Path:
    """Write ``mesh`` as a self-contained ``.glb`` file, atomically. Returns the path."""
    p = Path(os.fspath(path))
    if p.suffix.lower() != ".glb":
        raise ValueError(f"path: expected a file name ending in .glb, got {str(p)!r}")
    data = glb_bytes(mesh, material)
    with atomic_files([p]) as (tmp,):
        tmp.write_bytes(data)
    return p
