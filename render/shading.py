"""Shaded previews of meshes: a normal map and a Lambert image with a documented light model.

These are pictures for humans (snapshots, docs, notebooks), not part of GET3D's training path,
which renders unlit colours from the texture field.

Light model (:func:`shade_lambert`): one directional light fixed in **camera space** (a
"headlight" rig, so every view of a turntable is lit the same way) plus an ambient term::

    intensity = ambient + diffuse · max(0, n · l)
    image     = albedo · intensity        (clamped to [0, 1])

``n`` is the unit surface normal in camera space, ``l`` the unit direction *towards* the light,
by default ``normalize(0.3, 0.5, 1.0)``: above, slightly right of and behind the viewer. With
``two_sided=True`` (default) normals pointing away from the camera are flipped first, so meshes
with inconsistent winding or open surfaces still look solid.

All images are NCHW with row 0 at the top and values in **[0, 1]**; the background is filled with
``background`` (default white). Multiply by 2 and subtract 1 for GET3D's [-1, 1] range.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from render.camera import Cameras
from render.mesh import MeshRender, NormalMode, render_mesh

__all__ = ["DEFAULT_LIGHT_DIR", "render_preview", "shade_lambert", "shade_normals"]

DEFAULT_LIGHT_DIR: tuple[float, float, float] = (0.3, 0.5, 1.0)
"""Direction towards the light in camera space (normalised before use)."""


def _check_image(name: str, x: object, channels: int) -> Tensor:
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4 or x.shape[1] != channels:
        raise ValueError(f"{name} must have shape [B, {channels}, H, W], got {tuple(x.shape)}")
    return x


def _check_pair(normals: object, mask: object) -> tuple[Tensor, Tensor]:
    normals = _check_image("normals", normals, 3)
    mask = _check_image("mask", mask, 1)
    if mask.shape[0] != normals.shape[0] or mask.shape[2:] != normals.shape[2:]:
        raise ValueError(
            f"mask {tuple(mask.shape)} must match normals {tuple(normals.shape)} in batch and size"
        )
    return normals, mask.to(normals)


def _background(background: float | Sequence[float], like: Tensor) -> Tensor:
    bg = torch.as_tensor(background, dtype=like.dtype, device=like.device)
    if bg.dim() == 0:
        bg = bg.expand(3)
    if bg.shape != (3,):
        raise ValueError(f"background must be a float or 3 floats, got shape {tuple(bg.shape)}")
    return bg.view(1, 3, 1, 1)


def shade_normals(normals: Tensor, mask: Tensor, *, background: float | Sequence[float] = 1.0) -> Tensor:
    """A normal map: ``(n + 1) / 2`` under the mask, ``background`` elsewhere.

    Args:
        normals: ``[B, 3, H, W]`` unit normals in any frame (world normals from
            :func:`render.mesh.render_mesh` give the usual "normal map" colours).
        mask: ``[B, 1, H, W]`` coverage in [0, 1] (hard or antialiased; used as alpha).
        background: grey level or RGB in [0, 1].

    Returns:
        ``[B, 3, H, W]`` in [0, 1].
    """
    normals, mask = _check_pair(normals, mask)
    rgb = ((normals + 1.0) * 0.5).clamp(0.0, 1.0)
    return rgb * mask + _background(background, normals) * (1.0 - mask)


def shade_lambert(
    normals: Tensor,
    mask: Tensor,
    cameras: Cameras,
    *,
    light_dir: Sequence[float] | Tensor = DEFAULT_LIGHT_DIR,
    ambient: float = 0.25,
    diffuse: float = 0.75,
    albedo: float | Sequence[float] | Tensor = 0.8,
    two_sided: bool = True,
    positions: Tensor | None = None,
    background: float | Sequence[float] = 1.0,
) -> Tensor:
    """Lambert shading with a camera-space directional light (see the module docstring).

    Args:
        normals: ``[B, 3, H, W]`` unit **world-space** normals.
        mask: ``[B, 1, H, W]`` coverage in [0, 1], used as alpha over ``background``.
        cameras: the ``B`` cameras the normals were rendered with (rotates them to camera space).
        light_dir: direction towards the light in camera space, 3 floats or a ``[3]`` / ``[B, 3]``
            tensor; normalised here.
        ambient, diffuse: non-negative weights of the ambient and diffuse terms.
        albedo: grey level, RGB, or an image ``[B, 3, H, W]`` in [0, 1].
        two_sided: flip normals that face away from the camera before lighting.
        positions: optional ``[B, 3, H, W]`` world positions of the pixels; with them the facing
            test of ``two_sided`` uses each pixel's exact viewing ray, without them the sign of
            the camera-space normal's z (exact at the image centre).
        background: grey level or RGB in [0, 1].

    Returns:
        ``[B, 3, H, W]`` in [0, 1].
    """
    normals, mask = _check_pair(normals, mask)
    if not isinstance(cameras, Cameras):
        raise TypeError(f"cameras must be a render.camera.Cameras, got {type(cameras).__name__}")
    if len(cameras) != normals.shape[0]:
        raise ValueError(f"cameras has {len(cameras)} entries but normals has batch {normals.shape[0]}")
    if ambient < 0 or diffuse < 0:
        raise ValueError(f"ambient and diffuse must be non-negative, got {ambient}, {diffuse}")
    light = torch.as_tensor(light_dir, dtype=normals.dtype, device=normals.device)
    if light.shape not in ((3,), (normals.shape[0], 3)):
        raise ValueError(f"light_dir must have shape [3] or [B, 3], got {tuple(light.shape)}")
    norm = light.norm(dim=-1, keepdim=True)
    if bool((norm <= 0).any()):
        raise ValueError("light_dir must be a non-zero vector")
    light = (light / norm).expand(normals.shape[0], 3)

    rot = cameras.world_to_cam[:, :3, :3].to(normals)  # [B, 3, 3]
    n_cam = torch.einsum("bij,bjhw->bihw", rot, normals)
    if two_sided:
        if positions is None:
            to_eye = torch.zeros_like(n_cam)
            to_eye[:, 2] = 1.0
        else:
            positions = _check_image("positions", positions, 3).to(normals)
            if positions.shape != normals.shape:
                raise ValueError(
                    f"positions must have shape {tuple(normals.shape)}, got {tuple(positions.shape)}"
                )
            t = cameras.world_to_cam[:, :3, 3].to(normals)
            to_eye = -(torch.einsum("bij,bjhw->bihw", rot, positions) + t[:, :, None, None])
        facing_away = (n_cam * to_eye).sum(dim=1, keepdim=True) < 0
        n_cam = torch.where(facing_away, -n_cam, n_cam)
    cos = torch.einsum("bchw,bc->bhw", n_cam, light).clamp_min(0.0).unsqueeze(1)
    intensity = ambient + diffuse * cos

    alb = torch.as_tensor(albedo, dtype=normals.dtype, device=normals.device)
    if alb.dim() == 0:
        alb = alb.expand(3)
    if alb.dim() == 1:
        if alb.shape != (3,):
            raise ValueError(f"albedo must be a float, 3 floats or [B, 3, H, W], got {tuple(alb.shape)}")
        alb = alb.view(1, 3, 1, 1)
    elif alb.shape != normals.shape:
        raise ValueError(f"albedo image must have shape {tuple(normals.shape)}, got {tuple(alb.shape)}")
    rgb = (alb * intensity).clamp(0.0, 1.0)
    return rgb * mask + _background(background, normals) * (1.0 - mask)


def render_preview(
    vertices: Tensor | Sequence[Tensor],
    faces: Tensor | Sequence[Tensor],
    cameras: Cameras,
    resolution: int | tuple[int, int],
    *,
    mode: str = "lambert",
    normals: NormalMode | str = NormalMode.FACE,
    background: float | Sequence[float] = 1.0,
    **render_kwargs: object,
) -> Tensor:
    """Render meshes and shade them: one call from a mesh to a picture.

    Args:
        vertices, faces, cameras, resolution: as :func:`render.mesh.render_mesh`.
        mode: ``"lambert"`` (:func:`shade_lambert`, default settings) or ``"normals"``
            (:func:`shade_normals` of world normals).
        normals: :class:`render.mesh.NormalMode` used for shading (flat faces by default).
        background: grey level or RGB in [0, 1].
        render_kwargs: forwarded to :func:`render.mesh.render_mesh` (e.g. ``backend``).

    Returns:
        ``[B, 3, H, W]`` in [0, 1], row 0 at the top; the antialiased mask is the alpha.
    """
    if mode not in ("lambert", "normals"):
        raise ValueError(f"mode must be 'lambert' or 'normals', got {mode!r}")
    normal_mode = NormalMode(normals)
    if normal_mode is NormalMode.NONE:
        raise ValueError("normals must be 'face' or 'vertex' for a shaded preview")
    out: MeshRender = render_mesh(vertices, faces, cameras, resolution, normals=normal_mode, **render_kwargs)
    assert out.normals is not None
    alpha = out.antialiased_mask if out.antialiased_mask is not None else out.mask
    if mode == "normals":
        return shade_normals(out.normals, alpha, background=background)
    cams = cameras.to(device=out.mask.device, dtype=out.mask.dtype)
    return shade_lambert(out.normals, alpha, cams, positions=out.position, background=background)
