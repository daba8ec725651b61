"""UV-space rasterization for texture baking, and seam padding (get3d_spec.md §9.2 steps 3 and 6).

To bake a texture, every texel needs the world position of the surface point it stands for. The
mesh is rasterized **in UV space**: each UV vertex goes to clip position ``(2u - 1, 2v - 1, 0, 1)``,
so texel ``(row i, column j)`` of an ``H × W`` texture samples ``u = (j + 0.5) / W``,
``v = (i + 0.5) / H`` (nvdiffrast's pixel centres). The barycentrics of that texel in its UV
triangle then interpolate the triangle's **world** positions; the map from UV to world is affine
per triangle, so the interpolation is exact.

Layout: textures here are ``[C, H, W]`` with **row 0 at v = 0** (OpenGL / nvdiffrast texture
memory order, the order :func:`render.texture` samples in). Image files have row 0 at the top
(v = 1); :func:`flip_v` converts between the two (GET3D flips before writing its PNG).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from render import ops
from render.backend import Backend, BackendLike, as_context
from render.mesh import _check_faces, _check_resolution

__all__ = ["UVRaster", "flip_v", "pad_texture", "rasterize_uv"]


@dataclass(frozen=True)
class UVRaster:
    """The result of :func:`rasterize_uv` for one mesh and an ``H × W`` texture.

    Attributes:
        position: ``[3, H, W]`` world position of each texel's surface point; 0 where uncovered.
        mask: ``[1, H, W]`` bool, True where a UV triangle covers the texel centre.
        face_id: ``[H, W]`` int64 index of the covering face, -1 where uncovered.
        rast: ``[1, H, W, 4]`` raw rasterizer output (nvdiffrast layout, row 0 at v = 0), for
            interpolating further per-vertex attributes with :func:`render.interpolate`.
    """

    position: Tensor
    mask: Tensor
    face_id: Tensor
    rast: Tensor


def rasterize_uv(
    vertices: Tensor,
    faces: Tensor,
    uvs: Tensor,
    uv_faces: Tensor | None,
    resolution: int | tuple[int, int],
    *,
    backend: BackendLike = Backend.AUTO,
) -> UVRaster:
    """Rasterize a mesh's UV layout and interpolate world positions per texel (GET3D §9.2 step 3).

    Args:
        vertices: ``[V, 3]`` float world positions.
        faces: ``[F, 3]`` integer position indices.
        uvs: either ``[U, 2]`` UV coordinates indexed by ``uv_faces`` (xatlas' output: separate
            ``vt`` indices), or ``[F, 3, 2]`` per-face-corner UVs with ``uv_faces=None``. UVs are
            in [0, 1]; parts outside are clipped.
        uv_faces: ``[F, 3]`` integer UV indices, face ``f`` corner ``k`` has UV
            ``uvs[uv_faces[f, k]]`` and position ``vertices[faces[f, k]]``; or None (see ``uvs``).
        resolution: texture size ``S`` or ``(H, W)``.
        backend: the process's rasterizer context, or a backend name, as
            :func:`render.mesh.render_mesh`.

    Returns:
        :class:`UVRaster`. Differentiable with respect to ``vertices`` (the interpolation is linear in
        them); no gradient flows to the UVs' coverage. Overlapping UV triangles resolve to one of
        them (UV layouts are expected not to overlap).
    """
    if not isinstance(vertices, Tensor) or not vertices.is_floating_point():
        raise TypeError(f"vertices must be a floating-point torch.Tensor, got {type(vertices).__name__}")
    if vertices.dim() != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices must have shape [V, 3], got {tuple(vertices.shape)}")
    faces = _check_faces("faces", faces, vertices.shape[0], vertices.device)
    if not isinstance(uvs, Tensor) or not uvs.is_floating_point():
        raise TypeError(f"uvs must be a floating-point torch.Tensor, got {type(uvs).__name__}")
    if uv_faces is None:
        if uvs.shape != (faces.shape[0], 3, 2):
            raise ValueError(
                f"with uv_faces=None, uvs must have shape [F, 3, 2] = {(faces.shape[0], 3, 2)}, "
                f"got {tuple(uvs.shape)}"
            )
        uvs = uvs.reshape(-1, 2)
        uv_faces = torch.arange(uvs.shape[0], device=vertices.device).reshape(-1, 3)
    else:
        if uvs.dim() != 2 or uvs.shape[1] != 2:
            raise ValueError(f"uvs must have shape [U, 2] when uv_faces is given, got {tuple(uvs.shape)}")
        uv_faces = _check_faces("uv_faces", uv_faces, uvs.shape[0], vertices.device)
        if uv_faces.shape[0] != faces.shape[0]:
            raise ValueError(
                f"uv_faces must have as many rows as faces ({faces.shape[0]}), got {uv_faces.shape[0]}"
            )
    if uvs.device != vertices.device:
        raise ValueError(f"uvs is on {uvs.device} but vertices is on {vertices.device}")
    height, width = _check_resolution(resolution)
    uvs = uvs.to(vertices.dtype)

    if faces.shape[0] == 0:
        zeros = vertices.new_zeros(1, height, width, 4)
        return UVRaster(
            position=vertices.new_zeros(3, height, width),
            mask=torch.zeros(1, height, width, dtype=torch.bool, device=vertices.device),
            face_id=torch.full((height, width), -1, dtype=torch.int64, device=vertices.device),
            rast=zeros,
        )

    pos = torch.cat(
        [uvs.detach() * 2.0 - 1.0, torch.zeros_like(uvs[:, :1]), torch.ones_like(uvs[:, :1])], dim=-1
    ).unsqueeze(0)  # [1, U, 4], instanced mode with one image
    context = as_context(backend, pos.device)
    rast, _ = ops.rasterize(
        context, pos.contiguous(), uv_faces.to(torch.int32).contiguous(), (height, width), grad_db=False
    )
    # The barycentrics of a texel refer to the corners of face `f`, so the same rast interpolates
    # per-vertex positions through the position indices.
    position, _ = ops.interpolate(
        vertices.unsqueeze(0).contiguous(),
        rast,
        faces.to(torch.int32).contiguous(),
        backend=context,
    )
    tri = rast[0, :, :, 3]
    mask = tri > 0
    face_id = tri.round().to(torch.int64) - 1
    return UVRaster(
        position=position[0].permute(2, 0, 1) * mask.unsqueeze(0).to(vertices.dtype),
        mask=mask.unsqueeze(0),
        face_id=face_id,
        rast=rast,
    )


def pad_texture(texture: Tensor, mask: Tensor, iterations: int | None = 4) -> tuple[Tensor, Tensor]:
    """Seam padding: grow the covered region of a texture into the uncovered texels around it.

    Each iteration gives every uncovered texel with at least one covered texel among its 8
    neighbours the **mean** of those neighbours, then marks it covered (a colour-preserving
    alternative to GET3D's 3×3 ``cv2.dilate``, which takes a per-channel maximum). Covered texels
    are never changed. Bilinear lookups and mipmaps near UV seams then read plausible colours.

    Args:
        texture: ``[C, H, W]`` or ``[B, C, H, W]`` float.
        mask: ``[1, H, W]`` / ``[B, 1, H, W]`` (or ``[H, W]`` for a single texture) bool or
            {0, 1} float coverage.
        iterations: number of one-texel growth steps (``>= 0``), or None to repeat until no
            uncovered texel touches the covered region.

    Returns:
        ``(padded texture, grown mask)`` with the shapes of the inputs (mask as bool).
    """
    if not isinstance(texture, Tensor) or not texture.is_floating_point():
        raise TypeError(f"texture must be a floating-point torch.Tensor, got {type(texture).__name__}")
    if texture.dim() not in (3, 4):
        raise ValueError(f"texture must have shape [C, H, W] or [B, C, H, W], got {tuple(texture.shape)}")
    if not isinstance(mask, Tensor):
        raise TypeError(f"mask must be a torch.Tensor, got {type(mask).__name__}")
    if iterations is not None and (
        isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0
    ):
        raise ValueError(f"iterations must be a non-negative int or None, got {iterations!r}")
    batched = texture.dim() == 4
    tex = texture if batched else texture.unsqueeze(0)
    m = mask
    if not batched and m.dim() == 2:
        m = m.unsqueeze(0)
    if not batched:
        m = m.unsqueeze(0)
    if m.dim() != 4 or m.shape[1] != 1 or m.shape[0] != tex.shape[0] or m.shape[2:] != tex.shape[2:]:
        expected = (tex.shape[0], 1, *tex.shape[2:]) if batched else (1, *tex.shape[2:])
        raise ValueError(f"mask must have shape {expected}, got {tuple(mask.shape)}")
    covered = m > 0.5 if m.is_floating_point() else m.to(torch.bool)
    out = tex.clone()
    kernel = torch.ones(1, 1, 3, 3, dtype=tex.dtype, device=tex.device)
    channels = tex.shape[1]
    step = 0
    while iterations is None or step < iterations:
        cov = covered.to(tex.dtype)
        count = F.conv2d(cov, kernel, padding=1)
        grow = (~covered) & (count > 0)
        if not bool(grow.any()):
            break
        known = torch.where(covered, out, torch.zeros_like(out))  # uncovered texels may hold NaN
        summed = F.conv2d(known.reshape(-1, 1, *tex.shape[2:]), kernel, padding=1)
        summed = summed.reshape(tex.shape[0], channels, *tex.shape[2:])
        mean = summed / count.clamp_min(1.0)
        out = torch.where(grow, mean, out)
        covered = covered | grow
        step += 1
    if not batched:
        return out[0], covered[0]
    return out, covered


def flip_v(texture: Tensor) -> Tensor:
    """Flip the rows of ``[..., H, W]``: texture memory order (row 0 at v = 0) ⇄ image order."""
    if not isinstance(texture, Tensor) or texture.dim() < 2:
        raise ValueError("texture must be a tensor with at least 2 dimensions [..., H, W]")
    return texture.flip(-2)
