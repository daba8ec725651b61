"""The textured triangle mesh that the exporters write.

Frames: world coordinates, Y up, metres (the object box of side ``dmtet_scale`` is that many
metres), faces counter-clockwise seen from outside. UVs follow docs/conventions.md: ``(0, 0)`` is
texel row 0 of the texture tensor, which is stored in texture memory order (row 0 at v = 0); the
writers flip it into image order (row 0 at the top) and convert v where a format needs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .images import to_uint8

__all__ = ["TexturedMesh"]


@dataclass(frozen=True)
class TexturedMesh:
    """A UV-mapped mesh with one base-colour texture.

    Attributes:
        vertices: float ``[V, 3]`` world positions (Y up, metres).
        faces: int64 ``[F, 3]`` position indices, counter-clockwise seen from outside.
        normals: float ``[V, 3]`` unit vertex normals (indexed like ``vertices``).
        uvs: float ``[U, 2]`` texture coordinates in [0, 1]; v = 0 is texture row 0.
        uv_faces: int64 ``[F, 3]`` UV indices; corner ``k`` of face ``f`` has position
            ``vertices[faces[f, k]]`` and UV ``uvs[uv_faces[f, k]]``.
        uv_vertex: int64 ``[U]`` the position index of every UV vertex (so a format that needs one
            index per corner, like glTF, writes ``vertices[uv_vertex]`` with ``uv_faces``).
        texture: float ``[3, H, W]`` base colour in [0, 1] (sRGB-encoded, like the training
            images), texture memory order (row 0 at v = 0).
    """

    vertices: Tensor
    faces: Tensor
    normals: Tensor
    uvs: Tensor
    uv_faces: Tensor
    uv_vertex: Tensor
    texture: Tensor

    def __post_init__(self) -> None:
        v, f = self.vertices, self.faces
        if v.dim() != 2 or v.shape[1] != 3 or not v.is_floating_point():
            raise ValueError(f"vertices: expected a float [V, 3] tensor, got {tuple(v.shape)} {v.dtype}")
        if f.dim() != 2 or f.shape[1] != 3 or f.dtype != torch.int64:
            raise ValueError(f"faces: expected an int64 [F, 3] tensor, got {tuple(f.shape)} {f.dtype}")
        if self.normals.shape != v.shape:
            raise ValueError(f"normals: expected shape {tuple(v.shape)}, got {tuple(self.normals.shape)}")
        if self.uvs.dim() != 2 or self.uvs.shape[1] != 2:
            raise ValueError(f"uvs: expected [U, 2], got {tuple(self.uvs.shape)}")
        if self.uv_faces.shape != f.shape or self.uv_faces.dtype != torch.int64:
            raise ValueError(
                f"uv_faces: expected an int64 tensor of shape {tuple(f.shape)}, got "
                f"{tuple(self.uv_faces.shape)} {self.uv_faces.dtype}"
            )
        if self.uv_vertex.shape != (self.uvs.shape[0],):
            raise ValueError(
                f"uv_vertex: expected shape ({self.uvs.shape[0]},), got {tuple(self.uv_vertex.shape)}"
            )
        t = self.texture
        if t.dim() != 3 or t.shape[0] != 3 or not t.is_floating_point():
            raise ValueError(f"texture: expected a float [3, H, W] tensor, got {tuple(t.shape)} {t.dtype}")
        if f.numel() and (int(f.min()) < 0 or int(f.max()) >= v.shape[0]):
            raise ValueError(
                f"faces: indices must lie in [0, {v.shape[0]}), got [{int(f.min())}, {int(f.max())}]"
            )
        uf = self.uv_faces
        if uf.numel() and (int(uf.min()) < 0 or int(uf.max()) >= self.uvs.shape[0]):
            raise ValueError(f"uv_faces: indices must lie in [0, {self.uvs.shape[0]})")

    @property
    def num_vertices(self) -> int:
        return self.vertices.shape[0]

    @property
    def num_faces(self) -> int:
        return self.faces.shape[0]

    @property
    def texture_size(self) -> tuple[int, int]:
        """``(H, W)`` of the texture."""
        return self.texture.shape[1], self.texture.shape[2]

    def texture_image_uint8(self) -> Tensor:
        """The texture as ``[H, W, 3]`` uint8 in **image order** (row 0 at the top, v = 1)."""
        return torch.from_numpy(to_uint8(self.texture.flip(-2), (0.0, 1.0))).contiguous()
