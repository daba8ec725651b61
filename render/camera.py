"""GET3D's camera model in one place: projection, look-at, angles, distributions, conversions.

Frames and conventions (see docs/conventions.md and get3d_spec.md §5, §8):

- **World**: right-handed, Y up, object at the origin (the ShapeNet OBJ frame).
- **Camera space**: OpenGL. The camera looks down its ``-Z`` axis, ``+X`` is image-right and
  ``+Y`` image-up *before* the projection's y flip.
- **Angles** (GET3D's training convention): ``azimuth`` θ and ``polar`` φ measured from ``+Y``.
  The camera sits at ``o = r (-sin φ sin θ, cos φ, -sin φ cos θ)``, so θ = 0, φ = 90° puts it on
  ``-Z`` looking towards ``+Z``. The pair ``(θ, φ)`` is the camera condition GET3D feeds the
  discriminator (:meth:`Cameras.condition`).
- **Projection**: OpenGL perspective with ``fovy = 2 atan(16/35)`` (Blender's 35 mm lens on a
  32 mm sensor), near 0.1, far 1000, and the y axis **negated**. nvdiffrast stores NDC y = -1 in
  row 0, so with the flip a point above the image centre lands in the top rows: rendered tensors
  have **row 0 at the top** without any image flip.
- **Camera-to-world** matrices follow NeRF / Blender ``transforms.json``: columns are the
  camera's right, up and backward axes and its position. ``blender_frame=True`` arguments convert
  to and from Blender's Z-up world, in which GET3D's render script writes ``transforms.json``.

Every function follows the device and dtype of its tensor inputs; factories without tensor inputs
take ``device``/``dtype`` (default CPU float32).

This module is longer than the house limit of about 500 lines on purpose: every camera convention
(projection, look-at, angles, distributions, the transforms.json and Blender frames) lives in one
place, so that a convention cannot drift between two modules.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import torch
from torch import Tensor

__all__ = [
    "DEFAULT_FAR",
    "DEFAULT_FOVY",
    "DEFAULT_NEAR",
    "DEFAULT_RADIUS",
    "NUM_VISUALIZATION_VIEWS",
    "SNAPSHOT_VIEW",
    "CameraDistribution",
    "CameraRanges",
    "Cameras",
    "angles_from_position",
    "blender_to_world",
    "cam_to_world_to_world_to_cam",
    "condition_from_blender_angles",
    "full_precision",
    "look_at",
    "perspective",
    "position_from_angles",
    "sample_cameras",
    "visualization_cameras",
    "world_to_blender",
]

DEFAULT_FOVY: float = 2.0 * math.atan(16.0 / 35.0)
"""GET3D's vertical field of view in radians (0.857556 rad = 49.134°)."""
DEFAULT_RADIUS: float = 1.2
"""GET3D's camera distance from the origin."""
DEFAULT_NEAR: float = 0.1
DEFAULT_FAR: float = 1000.0
NUM_VISUALIZATION_VIEWS: int = 24
SNAPSHOT_VIEW: int = 4
"""Index into :func:`visualization_cameras` used by GET3D for snapshots and inference grids."""

_POLAR_EPS = 1e-5  # GET3D clamps φ to [1e-5, π - 1e-5]

# Blender's OBJ importer (forward -Z, up Y) maps OBJ (x, y, z) to Blender (x, -z, y).
# _BLENDER_FROM_WORLD @ p_world = p_blender; its transpose goes the other way.
_BLENDER_FROM_WORLD = ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0))


# --------------------------------------------------------------------------------------------
# Small checks
# --------------------------------------------------------------------------------------------


def full_precision(device: torch.device) -> contextlib.AbstractContextManager:
    """A region where autocast is off for ``device``'s type, so that camera transforms run in the
    tensors' own dtype (float32 clip positions under a bf16 training autocast)."""
    return torch.autocast(device_type=device.type, enabled=False)


def _check_float_tensor(name: str, x: object) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def _check_matrices(name: str, m: object) -> Tensor:
    m = _check_float_tensor(name, m)
    if m.dim() < 2 or m.shape[-2:] != (4, 4):
        raise ValueError(f"{name} must have shape [..., 4, 4], got {tuple(m.shape)}")
    return m


def _as_tensor(x: float | Tensor, like: Tensor) -> Tensor:
    if isinstance(x, Tensor):
        return x.to(device=like.device, dtype=like.dtype)
    return torch.tensor(float(x), device=like.device, dtype=like.dtype)


def _factory_kwargs(device: torch.device | str | None, dtype: torch.dtype | None) -> dict:
    dtype = torch.float32 if dtype is None else dtype
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point dtype, got {dtype}")
    return {"device": torch.device("cpu") if device is None else torch.device(device), "dtype": dtype}


def _normalize(v: Tensor) -> Tensor:
    return v / v.norm(dim=-1, keepdim=True)


# --------------------------------------------------------------------------------------------
# Projection
# --------------------------------------------------------------------------------------------


def perspective(
    fovy: float | Tensor = DEFAULT_FOVY,
    aspect: float = 1.0,
    near: float = DEFAULT_NEAR,
    far: float = DEFAULT_FAR,
    *,
    flip_y: bool = True,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """OpenGL perspective projection with GET3D's y flip.

    Args:
        fovy: vertical field of view in radians, in (0, π); a float or a tensor of shape ``[]``
            or ``[B]`` (then the result is batched and follows the tensor's device and dtype).
        aspect: width / height of the image (GET3D: 1). The horizontal focal term is
            ``1 / (tan(fovy/2) · aspect)``.
        near, far: clip planes, ``0 < near < far``.
        flip_y: negate the y row (GET3D) so that rendered images have row 0 at the top.
        device, dtype: used when ``fovy`` is a float.

    Returns:
        ``[4, 4]`` (or ``[B, 4, 4]``) matrix ``P`` mapping camera space (column vectors) to clip
        space: ``[[f/a, 0, 0, 0], [0, ∓f, 0, 0], [0, 0, -(F+N)/(F-N), -2FN/(F-N)], [0, 0, -1, 0]]``
        with ``f = 1/tan(fovy/2)``.
    """
    if not (0.0 < near < far):
        raise ValueError(f"near and far must satisfy 0 < near < far, got near={near}, far={far}")
    if not aspect > 0.0:
        raise ValueError(f"aspect must be positive, got {aspect}")
    if isinstance(fovy, Tensor):
        _check_float_tensor("fovy", fovy)
        if fovy.dim() > 1:
            raise ValueError(f"fovy must be a scalar or a [B] tensor, got shape {tuple(fovy.shape)}")
        fov = fovy
    else:
        fov = torch.tensor(float(fovy), **_factory_kwargs(device, dtype))
    if not bool(((fov > 0) & (fov < math.pi)).all()):
        raise ValueError(f"fovy must lie in (0, pi) radians, got {fovy}")
    focal = 1.0 / torch.tan(fov / 2)
    proj = torch.zeros(*fov.shape, 4, 4, device=fov.device, dtype=fov.dtype)
    proj[..., 0, 0] = focal / aspect
    proj[..., 1, 1] = -focal if flip_y else focal
    proj[..., 2, 2] = -(far + near) / (far - near)
    proj[..., 2, 3] = -2.0 * far * near / (far - near)
    proj[..., 3, 2] = -1.0
    return proj


# --------------------------------------------------------------------------------------------
# Angles and positions
# --------------------------------------------------------------------------------------------


def position_from_angles(azimuth: Tensor, polar: Tensor, radius: float | Tensor = DEFAULT_RADIUS) -> Tensor:
    """Camera position from GET3D's training angles.

    ``o = r (-sin φ sin θ, cos φ, -sin φ cos θ)``, i.e. GET3D's ``θ' = -θ - π/2``,
    ``o = r (sin φ cos θ', cos φ, sin φ sin θ')``.

    Args:
        azimuth: θ in radians, any shape ``[...]`` (broadcast with ``polar`` and ``radius``).
        polar: φ in radians from ``+Y``. Not clamped here (the samplers clamp).
        radius: distance to the origin, a float or a broadcastable tensor.

    Returns:
        ``[..., 3]`` world positions, dtype/device of ``azimuth``.
    """
    azimuth = _check_float_tensor("azimuth", azimuth)
    polar = _check_float_tensor("polar", polar).to(azimuth)
    r = _as_tensor(radius, azimuth)
    sin_p = torch.sin(polar)
    return torch.stack(
        torch.broadcast_tensors(
            -r * sin_p * torch.sin(azimuth), r * torch.cos(polar), -r * sin_p * torch.cos(azimuth)
        ),
        dim=-1,
    )


def angles_from_position(position: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Inverse of :func:`position_from_angles`.

    Args:
        position: ``[..., 3]`` camera positions (world frame), not at the origin.

    Returns:
        ``(azimuth, polar, radius)``, each ``[...]``: azimuth in ``[0, 2π)``, polar in ``[0, π]``,
        radius ``> 0``. On the Y axis the azimuth is undefined and returned as 0.
    """
    position = _check_float_tensor("position", position)
    if position.shape[-1:] != (3,):
        raise ValueError(f"position must have shape [..., 3], got {tuple(position.shape)}")
    x, y, z = position.unbind(-1)
    radius = position.norm(dim=-1)
    polar = torch.atan2(torch.hypot(x, z), y)
    azimuth = torch.remainder(torch.atan2(-x, -z), 2.0 * math.pi)
    # remainder of a tiny negative number can round up to exactly 2π; keep the half-open range
    azimuth = torch.where(azimuth >= 2.0 * math.pi, torch.zeros_like(azimuth), azimuth)
    return azimuth, polar, radius


def condition_from_blender_angles(rotation_deg: Tensor, elevation_deg: Tensor) -> Tensor:
    """The camera condition GET3D's data loader builds from the render script's angles (§8.2).

    Args:
        rotation_deg: ``[...]`` Blender azimuth in degrees (``rotation.npy``).
        elevation_deg: ``[...]`` elevation above the horizon in degrees (``elevation.npy``).

    Returns:
        ``[..., 2]`` = ``(rotation·π/180, (90 - elevation)·π/180)``, i.e. (azimuth, polar) in
        radians, the same convention as :meth:`Cameras.condition`.
    """
    rotation_deg = _check_float_tensor("rotation_deg", rotation_deg)
    elevation_deg = _check_float_tensor("elevation_deg", elevation_deg).to(rotation_deg)
    azimuth, polar = torch.broadcast_tensors(torch.deg2rad(rotation_deg), torch.deg2rad(90.0 - elevation_deg))
    return torch.stack([azimuth, polar], dim=-1)


# --------------------------------------------------------------------------------------------
# Extrinsics
# --------------------------------------------------------------------------------------------


def look_at(eye: Tensor, target: Tensor | None = None, up: Tensor | None = None) -> Tensor:
    """World-to-camera matrices of cameras at ``eye`` looking at ``target`` (GET3D's construction).

    ``fwd = normalize(eye - target)`` (the camera's ``+Z``, pointing away from the scene),
    ``right = normalize(up × fwd)``, ``up' = fwd × right``; the rotation has rows
    ``[right; up'; fwd]`` and the matrix is ``R · translate(-eye)``.

    Args:
        eye: ``[..., 3]`` camera positions.
        target: ``[..., 3]`` points looked at (broadcast); default the origin.
        up: ``[..., 3]`` world up (broadcast); default ``+Y``.

    Returns:
        ``[..., 4, 4]`` world-to-camera matrices (dtype/device of ``eye``).

    Raises:
        ValueError: when ``eye == target`` or the view direction is parallel to ``up``.
    """
    eye = _check_float_tensor("eye", eye)
    if eye.shape[-1:] != (3,):
        raise ValueError(f"eye must have shape [..., 3], got {tuple(eye.shape)}")
    if target is None:
        target = torch.zeros_like(eye)
    else:
        target = _check_float_tensor("target", target).to(eye)
        if target.shape[-1:] != (3,):
            raise ValueError(f"target must have shape [..., 3], got {tuple(target.shape)}")
    if up is None:
        up = torch.tensor([0.0, 1.0, 0.0], device=eye.device, dtype=eye.dtype)
    else:
        up = _check_float_tensor("up", up).to(eye)
        if up.shape[-1:] != (3,):
            raise ValueError(f"up must have shape [..., 3], got {tuple(up.shape)}")
    eye, target, up = torch.broadcast_tensors(eye, target, up)
    back = eye - target
    back_norm = back.norm(dim=-1, keepdim=True)
    if bool((back_norm <= 0).any()):
        raise ValueError("look_at: eye and target coincide for at least one camera")
    fwd = back / back_norm
    right = torch.linalg.cross(up, fwd, dim=-1)
    right_norm = right.norm(dim=-1, keepdim=True)
    tol = 1e-12 if eye.dtype == torch.float64 else 1e-7
    if bool((right_norm <= tol * up.norm(dim=-1, keepdim=True)).any()):
        raise ValueError("look_at: view direction is parallel to `up` for at least one camera")
    right = right / right_norm
    true_up = _normalize(torch.linalg.cross(fwd, right, dim=-1))
    rot = torch.stack([right, true_up, fwd], dim=-2)  # [..., 3, 3], rows
    w2c = torch.zeros(*eye.shape[:-1], 4, 4, device=eye.device, dtype=eye.dtype)
    w2c[..., :3, :3] = rot
    w2c[..., :3, 3] = -(rot @ eye.unsqueeze(-1)).squeeze(-1)
    w2c[..., 3, 3] = 1.0
    return w2c


def cam_to_world_to_world_to_cam(matrix: Tensor) -> Tensor:
    """Inverse of a rigid ``[..., 4, 4]`` transform ``[R t; 0 1]`` → ``[Rᵀ -Rᵀt; 0 1]``.

    It converts camera-to-world to world-to-camera and back (the map is its own inverse). The
    rotation block is assumed orthonormal; it is not re-orthonormalised.
    """
    matrix = _check_matrices("matrix", matrix)
    rot_t = matrix[..., :3, :3].transpose(-1, -2)
    out = torch.zeros_like(matrix)
    out[..., :3, :3] = rot_t
    out[..., :3, 3] = -(rot_t @ matrix[..., :3, 3:4]).squeeze(-1)
    out[..., 3, 3] = 1.0
    return out


def _axis_change(matrix: Tensor, to_blender: bool) -> Tensor:
    a = torch.eye(4, device=matrix.device, dtype=matrix.dtype)
    a[:3, :3] = torch.tensor(_BLENDER_FROM_WORLD, device=matrix.device, dtype=matrix.dtype)
    if not to_blender:
        a = a.transpose(0, 1)
    return a @ matrix


def world_to_blender(cam_to_world: Tensor) -> Tensor:
    """Camera-to-world matrices from our Y-up world into Blender's Z-up world.

    Blender's OBJ importer (forward -Z, up Y) maps a point ``(x, y, z)`` to ``(x, -z, y)``; the
    camera's local axes (OpenGL: looking down ``-Z``) are the same in both, so only the world
    side changes: ``M_blender = A · M``.

    Args:
        cam_to_world: ``[..., 4, 4]``.

    Returns:
        ``[..., 4, 4]`` camera-to-world in Blender's world (``transforms.json`` convention).
    """
    return _axis_change(_check_matrices("cam_to_world", cam_to_world), to_blender=True)


def blender_to_world(cam_to_world: Tensor) -> Tensor:
    """Inverse of :func:`world_to_blender`: Blender Z-up camera-to-world → our Y-up world."""
    return _axis_change(_check_matrices("cam_to_world", cam_to_world), to_blender=False)


# --------------------------------------------------------------------------------------------
# The batch of cameras
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cameras:
    """A batch of ``B`` pinhole cameras.

    Attributes:
        world_to_cam: ``[B, 4, 4]`` rigid world-to-camera (OpenGL camera space), float.
        proj: ``[B, 4, 4]`` projection to clip space (:func:`perspective`), same dtype/device.

    Points are column vectors: ``clip = proj @ world_to_cam @ [p, 1]``. Build with
    :meth:`from_angles`, :meth:`from_cam_to_world`, :meth:`look_at`, :func:`sample_cameras` or
    :func:`visualization_cameras`.
    """

    world_to_cam: Tensor
    proj: Tensor

    def __post_init__(self) -> None:
        w2c = _check_matrices("world_to_cam", self.world_to_cam)
        proj = _check_matrices("proj", self.proj)
        if w2c.dim() != 3 or proj.dim() != 3 or w2c.shape[0] != proj.shape[0]:
            raise ValueError(
                "world_to_cam and proj must both have shape [B, 4, 4] with the same B, got "
                f"{tuple(w2c.shape)} and {tuple(proj.shape)}"
            )
        if w2c.device != proj.device or w2c.dtype != proj.dtype:
            raise ValueError(
                f"world_to_cam and proj must share device and dtype, got {w2c.device}/{w2c.dtype} "
                f"and {proj.device}/{proj.dtype}"
            )

    # ---- constructors --------------------------------------------------------------------
    @classmethod
    def from_world_to_cam(
        cls,
        world_to_cam: Tensor,
        fovy: float | Tensor = DEFAULT_FOVY,
        aspect: float = 1.0,
        near: float = DEFAULT_NEAR,
        far: float = DEFAULT_FAR,
    ) -> Cameras:
        """Cameras from ``[B, 4, 4]`` (or ``[4, 4]``) world-to-camera matrices and intrinsics."""
        w2c = _check_matrices("world_to_cam", world_to_cam)
        if w2c.dim() == 2:
            w2c = w2c.unsqueeze(0)
        if w2c.dim() != 3:
            raise ValueError(f"world_to_cam must have shape [B, 4, 4] or [4, 4], got {tuple(w2c.shape)}")
        fov = fovy.to(w2c) if isinstance(fovy, Tensor) else fovy
        proj = perspective(fov, aspect, near, far, device=w2c.device, dtype=w2c.dtype)
        proj = proj.expand(w2c.shape[0], 4, 4).contiguous()
        return cls(world_to_cam=w2c, proj=proj)

    @classmethod
    def from_cam_to_world(
        cls,
        cam_to_world: Tensor,
        fovy: float | Tensor = DEFAULT_FOVY,
        aspect: float = 1.0,
        near: float = DEFAULT_NEAR,
        far: float = DEFAULT_FAR,
        *,
        blender_frame: bool = False,
    ) -> Cameras:
        """Cameras from NeRF/Blender camera-to-world matrices ``[B, 4, 4]`` (or ``[4, 4]``).

        ``blender_frame=True`` reads matrices in Blender's Z-up world (GET3D's
        ``transforms.json``) and converts them to our Y-up world first.
        """
        c2w = _check_matrices("cam_to_world", cam_to_world)
        if blender_frame:
            c2w = blender_to_world(c2w)
        return cls.from_world_to_cam(cam_to_world_to_world_to_cam(c2w), fovy, aspect, near, far)

    @classmethod
    def from_angles(
        cls,
        azimuth: Tensor,
        polar: Tensor,
        radius: float | Tensor = DEFAULT_RADIUS,
        fovy: float | Tensor = DEFAULT_FOVY,
        aspect: float = 1.0,
        near: float = DEFAULT_NEAR,
        far: float = DEFAULT_FAR,
    ) -> Cameras:
        """Cameras looking at the origin from GET3D's (azimuth, polar, radius), each ``[B]``.

        The polar angle is clamped to ``[1e-5, π - 1e-5]`` as GET3D does, which keeps look-at
        defined.
        """
        azimuth = _check_float_tensor("azimuth", azimuth)
        polar = _check_float_tensor("polar", polar).to(azimuth)
        polar = polar.clamp(_POLAR_EPS, math.pi - _POLAR_EPS)
        pos = position_from_angles(azimuth, polar, radius).reshape(-1, 3)
        return cls.from_world_to_cam(look_at(pos), fovy, aspect, near, far)

    @classmethod
    def from_blender_angles(
        cls,
        rotation_deg: Tensor,
        elevation_deg: Tensor,
        radius: float | Tensor = DEFAULT_RADIUS,
        fovy: float | Tensor = DEFAULT_FOVY,
    ) -> Cameras:
        """The cameras of GET3D's Blender render script for its saved angles (§8.3), ``[B]`` each."""
        cond = condition_from_blender_angles(rotation_deg, elevation_deg).reshape(-1, 2)
        return cls.from_angles(cond[:, 0], cond[:, 1], radius, fovy)

    @classmethod
    def look_at(
        cls,
        eye: Tensor,
        target: Tensor | None = None,
        up: Tensor | None = None,
        fovy: float | Tensor = DEFAULT_FOVY,
        aspect: float = 1.0,
        near: float = DEFAULT_NEAR,
        far: float = DEFAULT_FAR,
    ) -> Cameras:
        """Cameras at ``eye`` ``[B, 3]`` looking at ``target`` (default the origin); see :func:`look_at`."""
        return cls.from_world_to_cam(look_at(eye, target, up).reshape(-1, 4, 4), fovy, aspect, near, far)

    # ---- properties ----------------------------------------------------------------------
    def __len__(self) -> int:
        return self.world_to_cam.shape[0]

    @property
    def batch_size(self) -> int:
        return self.world_to_cam.shape[0]

    @property
    def device(self) -> torch.device:
        return self.world_to_cam.device

    @property
    def dtype(self) -> torch.dtype:
        return self.world_to_cam.dtype

    @property
    def cam_to_world(self) -> Tensor:
        """``[B, 4, 4]`` camera-to-world (NeRF convention, our Y-up world)."""
        return cam_to_world_to_world_to_cam(self.world_to_cam)

    @property
    def position(self) -> Tensor:
        """``[B, 3]`` camera centres in world space (``-Rᵀ t``)."""
        rot = self.world_to_cam[:, :3, :3]
        return -(rot.transpose(1, 2) @ self.world_to_cam[:, :3, 3:4]).squeeze(-1)

    @property
    def full_proj(self) -> Tensor:
        """``[B, 4, 4]`` = ``proj @ world_to_cam`` (world → clip)."""
        return self.proj @ self.world_to_cam

    @property
    def fovy(self) -> Tensor:
        """``[B]`` vertical field of view in radians, read back from ``proj``."""
        return 2.0 * torch.atan(1.0 / self.proj[:, 1, 1].abs())

    # ---- operations ----------------------------------------------------------------------
    def blender_cam_to_world(self) -> Tensor:
        """``[B, 4, 4]`` camera-to-world in Blender's Z-up world (``transforms.json``)."""
        return world_to_blender(self.cam_to_world)

    def condition(self) -> Tensor:
        """``[B, 2]`` = (azimuth θ ∈ [0, 2π), polar φ ∈ [0, π]): GET3D's discriminator condition.

        Computed from the camera position, so it assumes the camera looks at the origin (true of
        every GET3D camera).
        """
        azimuth, polar, _ = angles_from_position(self.position)
        return torch.stack([azimuth, polar], dim=-1)

    def transform_points(self, points: Tensor) -> tuple[Tensor, Tensor]:
        """World points to camera and clip space.

        Args:
            points: ``[V, 3]`` (shared by every camera) or ``[B, V, 3]``, dtype of the cameras.

        Returns:
            ``(cam, clip)``, each ``[B, V, 4]`` homogeneous: camera space (w = 1; ``z < 0`` in front
            of the camera) and clip space (nvdiffrast's ``pos`` input), in the points' dtype even
            inside an autocast region (a bf16 clip position is about 1 px off at 1024²).
        """
        points = _check_float_tensor("points", points)
        if points.shape[-1:] != (3,) or points.dim() not in (2, 3):
            raise ValueError(f"points must have shape [V, 3] or [B, V, 3], got {tuple(points.shape)}")
        if points.dim() == 3 and points.shape[0] != len(self):
            raise ValueError(f"points has batch {points.shape[0]} but there are {len(self)} cameras")
        if points.dtype != self.dtype or points.device != self.device:
            raise ValueError(
                f"points ({points.device}, {points.dtype}) must match the cameras "
                f"({self.device}, {self.dtype})"
            )
        hom = torch.cat([points, torch.ones_like(points[..., :1])], dim=-1)
        if hom.dim() == 2:
            hom = hom.unsqueeze(0).expand(len(self), -1, -1)
        with full_precision(points.device):
            cam = hom @ self.world_to_cam.transpose(1, 2)
            clip = cam @ self.proj.transpose(1, 2)
        return cam, clip

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Cameras:
        """A copy on ``device`` and/or with floating-point ``dtype``."""
        return Cameras(
            world_to_cam=self.world_to_cam.to(device=device, dtype=dtype),
            proj=self.proj.to(device=device, dtype=dtype),
        )

    def __getitem__(self, index: int | slice | Sequence[int] | Tensor) -> Cameras:
        """A sub-batch; an integer index keeps the batch dimension (``B = 1``)."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        return Cameras(world_to_cam=self.world_to_cam[index], proj=self.proj[index])

    @staticmethod
    def cat(cameras: Sequence[Cameras]) -> Cameras:
        """Concatenate batches of cameras (same device and dtype)."""
        if len(cameras) == 0:
            raise ValueError("cameras must be a non-empty sequence of Cameras")
        return Cameras(
            world_to_cam=torch.cat([c.world_to_cam for c in cameras]),
            proj=torch.cat([c.proj for c in cameras]),
        )


# --------------------------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraRanges:
    """A uniform camera distribution, as GET3D's ``sample_camera_positions(mode='uniform')``.

    θ ~ U[azimuth_min, azimuth_max), φ ~ U[polar_min, polar_max] (then clamped to
    ``[1e-5, π - 1e-5]``), r = u·radius_min + (1-u)·radius_max with u ~ U[0, 1). Angles in radians.
    """

    azimuth_min: float = 0.0
    azimuth_max: float = 2.0 * math.pi
    polar_min: float = math.radians(60.0)
    polar_max: float = math.radians(90.0)
    radius_min: float = DEFAULT_RADIUS
    radius_max: float = DEFAULT_RADIUS

    def __post_init__(self) -> None:
        if not self.azimuth_min <= self.azimuth_max:
            raise ValueError(
                f"azimuth_min must be <= azimuth_max, got {self.azimuth_min}, {self.azimuth_max}"
            )
        if not 0.0 <= self.polar_min <= self.polar_max <= math.pi:
            raise ValueError(
                "polar range must satisfy 0 <= polar_min <= polar_max <= pi, "
                f"got {self.polar_min}, {self.polar_max}"
            )
        if not 0.0 < self.radius_min <= self.radius_max:
            raise ValueError(
                "radius range must satisfy 0 < radius_min <= radius_max, "
                f"got {self.radius_min}, {self.radius_max}"
            )


def _mean_std(mean_deg: float, std_deg: float) -> CameraRanges:
    # GET3D writes each range as mean ± stddev with horizontal mean π, stddev π
    return CameraRanges(
        azimuth_min=0.0,
        azimuth_max=2.0 * math.pi,
        polar_min=math.radians(mean_deg - std_deg),
        polar_max=math.radians(mean_deg + std_deg),
    )


class CameraDistribution(Enum):
    """GET3D's per-dataset training camera distributions (``--data_camera_mode``)."""

    SHAPENET_CAR = "shapenet_car"
    SHAPENET_CHAIR = "shapenet_chair"
    SHAPENET_MOTORBIKE = "shapenet_motorbike"
    TS_HOUSE = "ts_house"
    TS_ANIMAL = "ts_animal"
    RENDERPEOPLE = "renderpeople"

    @property
    def ranges(self) -> CameraRanges:
        """The distribution's ranges: polar 60-90° (ShapeNet, house), 45-90° (animal), 70-90° (people)."""
        if self is CameraDistribution.TS_ANIMAL:
            return _mean_std(67.5, 22.5)
        if self is CameraDistribution.RENDERPEOPLE:
            return _mean_std(80.0, 10.0)
        return _mean_std(75.0, 15.0)


def sample_cameras(
    n: int,
    distribution: CameraDistribution | str | CameraRanges = CameraDistribution.SHAPENET_CAR,
    *,
    generator: torch.Generator | None = None,
    fovy: float = DEFAULT_FOVY,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Cameras:
    """Sample ``n`` training cameras looking at the origin (GET3D's ``sample_camera``).

    Three ``[n]`` uniform draws are taken in GET3D's order (azimuth, polar, radius). With a
    ``generator`` the result is deterministic; the cameras are created on the generator's device
    unless ``device`` is given (they must agree). :meth:`Cameras.condition` returns the sampled
    (θ, φ) up to rounding.

    Args:
        n: number of cameras, ``>= 0``.
        distribution: a :class:`CameraDistribution` (or its string value) or custom :class:`CameraRanges`.
        generator: optional ``torch.Generator``.
        fovy: vertical field of view in radians.
        device, dtype: of the result (default the generator's device / float32).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    if isinstance(distribution, str):
        try:
            distribution = CameraDistribution(distribution)
        except ValueError:
            valid = ", ".join(d.value for d in CameraDistribution)
            raise ValueError(
                f"distribution must be one of {valid} or a CameraRanges, got {distribution!r}"
            ) from None
    if isinstance(distribution, CameraDistribution):
        ranges = distribution.ranges
    elif isinstance(distribution, CameraRanges):
        ranges = distribution
    else:
        raise TypeError(
            "distribution must be a CameraDistribution, str or CameraRanges, "
            f"got {type(distribution).__name__}"
        )
    if generator is not None and device is None:
        device = generator.device
    kw = _factory_kwargs(device, dtype)
    if generator is not None and generator.device.type != kw["device"].type:
        raise ValueError(f"generator is on {generator.device} but device is {kw['device']}")
    u_az = torch.rand(n, generator=generator, **kw)
    u_po = torch.rand(n, generator=generator, **kw)
    u_r = torch.rand(n, generator=generator, **kw)
    azimuth = ranges.azimuth_min + (ranges.azimuth_max - ranges.azimuth_min) * u_az
    polar = ranges.polar_min + (ranges.polar_max - ranges.polar_min) * u_po
    radius = u_r * ranges.radius_min + (1.0 - u_r) * ranges.radius_max
    return Cameras.from_angles(azimuth, polar, radius, fovy)


def visualization_cameras(
    n_views: int = NUM_VISUALIZATION_VIEWS,
    *,
    radius: float = DEFAULT_RADIUS,
    elevation_deg: float = 15.0,
    fovy: float = DEFAULT_FOVY,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Cameras:
    """GET3D's turntable of visualisation cameras (``generate_rotate_camera_list``).

    View ``i`` sits at ``r (sin φ cos θ_i, cos φ, sin φ sin θ_i)`` with ``θ_i = -2πi/n`` and
    ``φ = 90° - elevation`` (this function's azimuth starts on ``+X``, unlike the training
    convention; in training angles view ``i`` has azimuth ``2πi/n - π/2``). GET3D uses
    ``n = 24``, elevation 15°, r = 1.2, and view :data:`SNAPSHOT_VIEW` (4) for snapshots.

    Returns:
        :class:`Cameras` with ``B = n_views``.
    """
    if isinstance(n_views, bool) or not isinstance(n_views, int) or n_views < 1:
        raise ValueError(f"n_views must be a positive int, got {n_views!r}")
    kw = _factory_kwargs(device, dtype)
    theta = -torch.arange(n_views, **kw) / n_views * (2.0 * math.pi)
    phi = torch.full((n_views,), math.radians(90.0 - elevation_deg), **kw).clamp(
        _POLAR_EPS, math.pi - _POLAR_EPS
    )
    pos = torch.stack(
        [
            radius * torch.sin(phi) * torch.cos(theta),
            radius * torch.cos(phi),
            radius * torch.sin(phi) * torch.sin(theta),
        ],
        dim=-1,
    )
    return Cameras.from_world_to_cam(look_at(pos), fovy)
