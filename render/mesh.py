"""Render triangle meshes the way GET3D does (get3d_spec.md §5.3, kaolin_nvdiffrast.md C.6).

The path: world → camera → clip space (:class:`render.camera.Cameras`), :func:`render.rasterize`,
:func:`render.interpolate` of world positions and camera depth, a hard mask from the triangle ids
and an antialiased mask from :func:`render.antialias` of the hard mask. The antialiased mask is
the only route by which a silhouette loss reaches the vertex positions.

Three ways to pass meshes (``B`` = number of cameras):

- one mesh ``vertices [V, 3]``, ``faces [F, 3]``: seen from every camera (nvdiffrast instanced mode);
- ``vertices [B, V, 3]`` with shared ``faces [F, 3]``: mesh ``b`` seen from camera ``b`` (instanced);
- sequences of ``B`` meshes ``vertices[b] [V_b, 3]``, ``faces[b] [F_b, 3]``: mesh ``b`` seen from
  camera ``b``, packed into one call in nvdiffrast's range mode (GET3D's per-shape loop).

Output images are NCHW with **row 0 at the top** of the picture: the projection's y flip puts
world +Y in the low rows of nvdiffrast's raw output, so no flip is applied. Background pixels are
0 everywhere (``face_id`` -1); a mesh without faces renders as background.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import torch
from torch import Tensor

from render import ops
from render.backend import Backend, BackendLike, RasterContext, as_context
from render.camera import Cameras, full_precision
from render.normals import face_normals, safe_normalize, vertex_normals

__all__ = ["MeshRender", "NormalMode", "render_mesh"]


class NormalMode(Enum):
    """Which per-pixel normals :func:`render_mesh` returns."""

    NONE = "none"
    FACE = "face"
    """Flat: the unit normal ``(p1 - p0) × (p2 - p0)`` of the visible face."""
    VERTEX = "vertex"
    """Smooth: area-weighted vertex normals, interpolated and renormalised."""


@dataclass(frozen=True)
class MeshRender:
    """What :func:`render_mesh` returns. Images are NCHW, row 0 at the top, dtype of ``vertices``.

    Attributes:
        mask: ``[B, 1, H, W]`` hard coverage in {0, 1} (``clamp(tri_id, 0, 1)``); no gradient.
        antialiased_mask: ``[B, 1, H, W]`` in [0, 1], :func:`render.antialias` of ``mask``; carries
            silhouette gradients to the vertices. None when ``antialias=False``.
        position: ``[B, 3, H, W]`` interpolated world position of the visible surface; 0 outside.
        depth: ``[B, 1, H, W]`` distance along the camera's view axis (``-z`` in camera space),
            positive in front of the camera; 0 outside.
        face_id: ``[B, H, W]`` int64 index of the visible face within its own mesh's ``faces``;
            -1 outside.
        normals: ``[B, 3, H, W]`` unit world-space normals (see :class:`NormalMode`), 0 outside;
            None for ``NormalMode.NONE``.
        rast: ``[B, H, W, 4]`` raw rasterizer output in nvdiffrast's layout (u, v, z/w, id + 1),
            row 0 at NDC y = -1 (= the top here). Triangle ids are global rows of ``tri``.
        pos_clip: clip-space vertices given to the rasterizer, ``[B, V, 4]`` (instanced) or
            ``[ΣV, 4]`` (range mode).
        tri: ``[F, 3]`` / ``[ΣF, 3]`` int32 triangles given to the rasterizer. With ``rast`` and
            ``pos_clip`` it lets callers interpolate more attributes or antialias colour images.
    """

    mask: Tensor
    antialiased_mask: Tensor | None
    position: Tensor
    depth: Tensor
    face_id: Tensor
    normals: Tensor | None
    rast: Tensor
    pos_clip: Tensor
    tri: Tensor


# --------------------------------------------------------------------------------------------
# Argument checks shared with render.uv
# --------------------------------------------------------------------------------------------


def _check_resolution(resolution: object) -> tuple[int, int]:
    if isinstance(resolution, int) and not isinstance(resolution, bool):
        hw = (resolution, resolution)
    elif (
        isinstance(resolution, Sequence)
        and len(resolution) == 2
        and all(isinstance(r, int) and not isinstance(r, bool) for r in resolution)
    ):
        hw = (int(resolution[0]), int(resolution[1]))
    else:
        raise ValueError(f"resolution must be an int or a pair of ints (height, width), got {resolution!r}")
    if hw[0] <= 0 or hw[1] <= 0:
        raise ValueError(f"resolution must be positive, got {resolution!r}")
    return hw


def _check_faces(name: str, faces: object, n_vertices: int, device: torch.device) -> Tensor:
    if not isinstance(faces, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(faces).__name__}")
    if faces.is_floating_point() or faces.is_complex() or faces.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor, got dtype {faces.dtype}")
    if faces.dim() != 2 or faces.shape[1] != 3:
        raise ValueError(f"{name} must have shape [F, 3], got {tuple(faces.shape)}")
    if faces.device != device:
        raise ValueError(f"{name} is on {faces.device} but the vertices are on {device}")
    if faces.numel() > 0:
        lo, hi = int(faces.min()), int(faces.max())
        if lo < 0 or hi >= n_vertices:
            raise ValueError(f"{name} indices must lie in [0, {n_vertices}), got range [{lo}, {hi}]")
    return faces.to(torch.int64)


def _check_vertices(name: str, vertices: object, dims: tuple[int, ...]) -> Tensor:
    if not isinstance(vertices, Tensor) or not vertices.is_floating_point():
        raise TypeError(f"{name} must be a floating-point torch.Tensor, got {type(vertices).__name__}")
    if vertices.dim() not in dims or vertices.shape[-1] != 3:
        shapes = " or ".join("[V, 3]" if d == 2 else "[B, V, 3]" for d in dims)
        raise ValueError(f"{name} must have shape {shapes}, got {tuple(vertices.shape)}")
    return vertices


def _empty_render(
    batch: int,
    height: int,
    width: int,
    like: Tensor,
    normals: NormalMode,
    antialias: bool,
    pos_clip: Tensor,
    tri: Tensor,
) -> MeshRender:
    def z(c: int) -> Tensor:
        return like.new_zeros(batch, c, height, width)

    return MeshRender(
        mask=z(1),
        antialiased_mask=z(1) if antialias else None,
        position=z(3),
        depth=z(1),
        face_id=torch.full((batch, height, width), -1, dtype=torch.int64, device=like.device),
        normals=None if normals is NormalMode.NONE else z(3),
        rast=like.new_zeros(batch, height, width, 4),
        pos_clip=pos_clip,
        tri=tri,
    )


# --------------------------------------------------------------------------------------------
# The renderer
# --------------------------------------------------------------------------------------------


def render_mesh(
    vertices: Tensor | Sequence[Tensor],
    faces: Tensor | Sequence[Tensor],
    cameras: Cameras,
    resolution: int | tuple[int, int],
    *,
    backend: BackendLike = Backend.AUTO,
    antialias: bool = True,
    normals: NormalMode | str = NormalMode.NONE,
) -> MeshRender:
    """Render meshes from cameras: GET3D's rasterize / interpolate / antialias path.

    Args:
        vertices: ``[V, 3]``, ``[B, V, 3]`` or a sequence of ``B`` tensors ``[V_b, 3]`` (see the
            module docstring), world frame, floating point. Output dtype and device follow it.
        faces: ``[F, 3]`` integer indices (for the tensor forms) or a sequence of ``B`` such
            tensors (with a sequence of vertices). Winding does not matter (no culling) except for
            the sign of the normals.
        cameras: ``B`` cameras; converted to the dtype and device of ``vertices``.
        resolution: ``S`` or ``(H, W)``.
        backend: the rasterizer context to use for all four ops (create one per process with
            :func:`render.make_context` and pass it to every call), or a backend name, for which
            a context is made for this call alone.
        antialias: also compute the antialiased mask (the differentiable silhouette).
        normals: per-pixel normals to return (:class:`NormalMode` or its value).

    Returns:
        :class:`MeshRender`; gradients reach ``vertices`` through ``position``, ``depth``,
        ``normals`` (within triangles) and ``antialiased_mask`` (silhouettes).
    """
    if not isinstance(cameras, Cameras):
        raise TypeError(f"cameras must be a render.camera.Cameras, got {type(cameras).__name__}")
    try:
        normal_mode = NormalMode(normals)
    except ValueError:
        valid = ", ".join(m.value for m in NormalMode)
        raise ValueError(f"normals must be one of {valid}, got {normals!r}") from None
    height, width = _check_resolution(resolution)
    batch = len(cameras)

    if isinstance(vertices, Tensor):
        vertices = _check_vertices("vertices", vertices, (2, 3))
        if not isinstance(faces, Tensor):
            raise TypeError(f"faces must be a tensor when vertices is a tensor, got {type(faces).__name__}")
        if vertices.dim() == 3 and vertices.shape[0] != batch:
            raise ValueError(f"vertices has batch {vertices.shape[0]} but there are {batch} cameras")
        faces64 = _check_faces("faces", faces, vertices.shape[-2], vertices.device)
        cams = cameras.to(device=vertices.device, dtype=vertices.dtype)
        return _render_instanced(vertices, faces64, cams, height, width, backend, antialias, normal_mode)

    if isinstance(vertices, (str, bytes)) or not isinstance(vertices, Sequence):
        raise TypeError(f"vertices must be a tensor or a sequence of tensors, got {type(vertices).__name__}")
    if isinstance(faces, Tensor) or not isinstance(faces, Sequence):
        raise TypeError("faces must be a sequence of tensors when vertices is a sequence")
    if len(vertices) != batch or len(faces) != batch:
        raise ValueError(
            f"vertices and faces must hold one mesh per camera ({batch}), "
            f"got {len(vertices)} and {len(faces)}"
        )
    if batch == 0:
        raise ValueError("render_mesh needs at least one camera")
    vs = [_check_vertices(f"vertices[{b}]", v, (2,)) for b, v in enumerate(vertices)]
    device, dtype = vs[0].device, vs[0].dtype
    for b, v in enumerate(vs):
        if v.device != device or v.dtype != dtype:
            raise ValueError(f"vertices[{b}] is {v.device}/{v.dtype} but vertices[0] is {device}/{dtype}")
    fs = [
        _check_faces(f"faces[{b}]", f, v.shape[0], device)
        for b, (v, f) in enumerate(zip(vs, faces, strict=True))
    ]
    cams = cameras.to(device=device, dtype=dtype)
    return _render_ranges(vs, fs, cams, height, width, backend, antialias, normal_mode)


def _finish(
    rast: Tensor,
    interp: Tensor,
    face_id: Tensor,
    pixel_normals: Tensor | None,
    pos_clip: Tensor,
    tri: Tensor,
    ctx: RasterContext,
    antialias: bool,
) -> MeshRender:
    """Shared tail: masks, antialias and the NHWC -> NCHW layout."""
    # the id channel never carries gradient; detaching makes that explicit (GET3D's clamp of it)
    hard = rast[..., 3:4].detach().clamp(0.0, 1.0).to(interp.dtype)
    aa = ops.antialias(hard, rast, pos_clip, tri, backend=ctx) if antialias else None
    covered = hard  # [B, H, W, 1]
    position = interp[..., 0:3] * covered
    depth = interp[..., 3:4] * covered

    def nchw(x: Tensor) -> Tensor:
        return x.permute(0, 3, 1, 2).contiguous()

    return MeshRender(
        mask=nchw(hard),
        antialiased_mask=None if aa is None else nchw(aa),
        position=nchw(position),
        depth=nchw(depth),
        face_id=face_id,
        normals=None if pixel_normals is None else nchw(pixel_normals * covered),
        rast=rast,
        pos_clip=pos_clip,
        tri=tri,
    )


def _render_instanced(
    vertices: Tensor,
    faces: Tensor,
    cams: Cameras,
    height: int,
    width: int,
    backend: BackendLike,
    antialias: bool,
    normal_mode: NormalMode,
) -> MeshRender:
    batch = len(cams)
    cam, clip = cams.transform_points(vertices)  # [B, V, 4] each
    tri = faces.to(torch.int32).contiguous()
    if faces.shape[0] == 0 or batch == 0:
        return _empty_render(batch, height, width, vertices, normal_mode, antialias, clip, tri)
    context = as_context(backend, vertices.device)  # after the empty case: no buffers for nothing
    clip = clip.contiguous()
    rast, _ = ops.rasterize(context, clip, tri, (height, width), grad_db=False)

    world = vertices if vertices.dim() == 3 else vertices.unsqueeze(0).expand(batch, -1, -1)
    attrs = [world, -cam[..., 2:3]]
    if normal_mode is NormalMode.VERTEX:
        attrs.append(vertex_normals(world, faces))
    interp, _ = ops.interpolate(torch.cat(attrs, dim=-1).contiguous(), rast, tri, backend=context)

    face_id = rast[..., 3].round().to(torch.int64) - 1  # [B, H, W], -1 = background
    pixel_normals = None
    if normal_mode is NormalMode.VERTEX:
        pixel_normals = safe_normalize(interp[..., 4:7])
    elif normal_mode is NormalMode.FACE:
        fn = safe_normalize(face_normals(vertices, faces))  # [F, 3] or [B, F, 3]
        idx = face_id.clamp_min(0)
        if fn.dim() == 2:
            pixel_normals = fn[idx]
        else:
            pixel_normals = fn[torch.arange(batch, device=fn.device).view(-1, 1, 1), idx]
    return _finish(rast, interp, face_id, pixel_normals, clip, tri, context, antialias)


def _render_ranges(
    vertices: list[Tensor],
    faces: list[Tensor],
    cams: Cameras,
    height: int,
    width: int,
    backend: BackendLike,
    antialias: bool,
    normal_mode: NormalMode,
) -> MeshRender:
    batch = len(cams)
    device = vertices[0].device
    n_vertices = torch.tensor([v.shape[0] for v in vertices], dtype=torch.int64)
    n_faces = torch.tensor([f.shape[0] for f in faces], dtype=torch.int64)
    vert_offset = torch.cumsum(n_vertices, 0) - n_vertices
    face_offset = torch.cumsum(n_faces, 0) - n_faces

    world = torch.cat(vertices, dim=0)  # [ΣV, 3]
    tri64 = torch.cat([f + int(o) for f, o in zip(faces, vert_offset.tolist(), strict=True)], dim=0)
    owner = torch.repeat_interleave(torch.arange(batch, device=device), n_vertices.to(device))  # [ΣV]
    hom = torch.cat([world, torch.ones_like(world[:, :1])], dim=-1)
    with full_precision(device):  # clip space in the vertices' dtype, also under bf16 autocast
        cam = torch.einsum("vij,vj->vi", cams.world_to_cam[owner], hom)
        clip = torch.einsum("vij,vj->vi", cams.proj[owner], cam).contiguous()
    tri = tri64.to(torch.int32).contiguous()
    if tri.shape[0] == 0:
        return _empty_render(batch, height, width, world, normal_mode, antialias, clip, tri)
    context = as_context(backend, device)  # after the empty case: no buffers for nothing
    # nvdiffrast wants the ranges as an int32 CPU tensor of (first face, face count)
    ranges = torch.stack([face_offset, n_faces], dim=1).to(torch.int32)
    rast, _ = ops.rasterize(context, clip, tri, (height, width), ranges=ranges, grad_db=False)

    attrs = [world, -cam[:, 2:3]]
    if normal_mode is NormalMode.VERTEX:
        attrs.append(vertex_normals(world, tri64))
    interp, _ = ops.interpolate(torch.cat(attrs, dim=-1).contiguous(), rast, tri, backend=context)

    global_id = rast[..., 3].round().to(torch.int64) - 1  # [B, H, W]
    local = global_id - face_offset.to(device).view(-1, 1, 1)
    face_id = torch.where(global_id >= 0, local, torch.full_like(global_id, -1))
    pixel_normals = None
    if normal_mode is NormalMode.VERTEX:
        pixel_normals = safe_normalize(interp[..., 4:7])
    elif normal_mode is NormalMode.FACE:
        fn = safe_normalize(face_normals(world, tri64))  # [ΣF, 3]
        pixel_normals = fn[global_id.clamp_min(0)]
    return _finish(rast, interp, face_id, pixel_normals, clip, tri, context, antialias)
