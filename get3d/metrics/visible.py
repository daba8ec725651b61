"""Visible-surface point sampling, GET3D's protocol for cars (``evaluation_scripts/sample_surface.py``).

ShapeNet cars model their interiors (seats, dashboards), which no camera sees and which the
generator never learns; GET3D therefore samples both reference and generated cars on the surface
that cameras see (get3d_spec.md §10.2):

* the mesh is scaled about the origin so that its longest box side is ``extent`` (0.9, **not**
  re-centred);
* ``views`` (100) depth images of ``resolution`` (640) pixels square, focal length ``resolution``
  pixels and principal point at the image centre, from cameras at distance 1 from the origin in
  the directions of a Fibonacci sphere folded onto one hemisphere (:func:`visible_view_rotations`);
* from each view ``num_points // views`` covered pixels are drawn at random without replacement,
  and the visible surface point of each is kept; the views' points are concatenated in view order.

The protocol then keeps the first ``GeometryProtocol.num_points`` (2048) of the 5000 points, so
mostly the first ~41 views contribute (a bias of GET3D's protocol, kept to match its numbers).

Deliberate differences: a point is the interpolated surface position at the **pixel centre**
(GET3D back-projects the depth at the pixel corner, half a pixel off the surface), and the draws
come from a seeded generator (GET3D's are unseeded). A view that sees fewer pixels than its quota
contributes all of them, drawn with replacement (GET3D drops the whole shape).
"""

from __future__ import annotations

import math

import torch

from render.backend import BackendLike, as_context
from render.camera import Cameras
from render.mesh import render_mesh

__all__ = ["visible_surface_points", "visible_view_cameras", "visible_view_rotations"]

_NEAR, _FAR = 0.1, 100.0
_CHUNK = 10


def visible_view_rotations(views: int = 100) -> torch.Tensor:
    """World-to-camera rotations ``[views, 3, 3]`` (float64) of GET3D's depth cameras.

    View ``i`` starts from the Fibonacci-sphere point ``y = (2i + 1) / views - 1``,
    ``phi = ((i + 1) mod views) * pi (3 - sqrt 5)``, ``(x, z) = sqrt(1 - y^2) (cos phi, sin phi)``,
    then ``z := -|z| - 0.1`` (one hemisphere, not renormalised). With longitude
    ``-atan2(x, y)`` and latitude ``atan2(z, sqrt(x^2 + y^2))`` the rotation is
    ``R_x(latitude) R_y(longitude)``; the camera (OpenCV axes: +z into the picture) maps a world
    point ``p`` to ``R p + (0, 0, 1)``.
    """
    if isinstance(views, bool) or not isinstance(views, int) or views < 1:
        raise ValueError(f"views: expected a positive int, got {views!r}")
    i = torch.arange(views, dtype=torch.float64)
    step = 2.0 / views
    y = i * step - 1 + step / 2
    r = (1 - y * y).clamp_min(0).sqrt()
    phi = ((i + 1) % views) * (math.pi * (3 - math.sqrt(5)))
    x, z = phi.cos() * r, phi.sin() * r
    z = -z.abs() - 0.1
    lon = -torch.atan2(x, y)
    lat = torch.atan2(z, (x * x + y * y).sqrt())
    one, zero = torch.ones_like(lat), torch.zeros_like(lat)
    rx = torch.stack(
        [
            torch.stack([one, zero, zero], -1),
            torch.stack([zero, lat.cos(), -lat.sin()], -1),
            torch.stack([zero, lat.sin(), lat.cos()], -1),
        ],
        -2,
    )
    ry = torch.stack(
        [
            torch.stack([lon.cos(), zero, lon.sin()], -1),
            torch.stack([zero, one, zero], -1),
            torch.stack([-lon.sin(), zero, lon.cos()], -1),
        ],
        -2,
    )
    return rx @ ry


def visible_view_cameras(
    views: int = 100,
    resolution: int = 640,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> Cameras:
    """GET3D's depth cameras as :class:`render.camera.Cameras`: rotations of
    :func:`visible_view_rotations`, translation ``(0, 0, 1)``, focal length ``resolution`` pixels,
    principal point at the centre, near 0.1, far 100. Pixel ``(row j, column i)`` of a render sees
    the OpenCV image point ``(u, v) = (i + 0.5, j + 0.5)``."""
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
        raise ValueError(f"resolution: expected a positive int, got {resolution!r}")
    rot = visible_view_rotations(views)
    cv = torch.zeros(views, 4, 4, dtype=torch.float64)
    cv[:, :3, :3] = rot
    cv[:, 2, 3] = 1.0
    cv[:, 3, 3] = 1.0
    world_to_cam = torch.diag(torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=torch.float64)) @ cv  # OpenGL axes
    # u = f x / z + c with c = S / 2: NDC x = 2 u / S - 1 = 2 x / z (likewise v; rows are top-down).
    proj = torch.zeros(4, 4, dtype=torch.float64)
    proj[0, 0] = 2.0
    proj[1, 1] = -2.0
    proj[2, 2] = -(_FAR + _NEAR) / (_FAR - _NEAR)
    proj[2, 3] = -2.0 * _FAR * _NEAR / (_FAR - _NEAR)
    proj[3, 2] = -1.0
    return Cameras(world_to_cam.to(device, dtype), proj.expand(views, 4, 4).to(device, dtype).contiguous())


def visible_surface_points(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    *,
    num_points: int = 5000,
    views: int = 100,
    resolution: int = 640,
    generator: torch.Generator | None = None,
    backend: BackendLike = "auto",
) -> torch.Tensor:
    """Points on the surface of a mesh that GET3D's depth cameras see: float32 ``[n, 3]``, CPU.

    Args:
        vertices: float ``[V, 3]``, already normalised (GET3D: longest side 0.9, not centred).
        faces: int ``[F, 3]`` with ``F >= 1``.
        num_points: points in all; ``n = views * (num_points // views)``, in view order.
        views, resolution: depth cameras (:func:`visible_view_cameras`).
        generator: CPU generator of the per-view pixel draws (default: seed 0).
        backend: the rasterizer context (``render.make_context``) or a backend name.

    Raises:
        ValueError: ``num_points < views``, or a view that sees no surface at all.
    """
    if not isinstance(vertices, torch.Tensor) or vertices.ndim != 2 or vertices.shape[-1] != 3:
        raise ValueError(
            f"vertices: expected a tensor [V, 3], got {getattr(vertices, 'shape', type(vertices))}"
        )
    if faces.ndim != 2 or faces.shape[-1] != 3 or faces.shape[0] == 0:
        raise ValueError(f"faces: expected a non-empty [F, 3] tensor, got shape {tuple(faces.shape)}")
    if isinstance(num_points, bool) or not isinstance(num_points, int) or num_points < views:
        raise ValueError(f"num_points: expected an int >= views ({views}), got {num_points!r}")
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    verts = vertices.to(torch.float32)
    ctx = as_context(backend, verts.device)
    cams = visible_view_cameras(views, resolution, device=verts.device)
    per_view = num_points // views
    out = []
    for start in range(0, views, _CHUNK):  # views in chunks: 100 images of 640^2 would be large
        r = render_mesh(
            verts,
            faces.to(verts.device),
            cams[start : start + _CHUNK],
            resolution,
            backend=ctx,
            antialias=False,
        )
        masks = r.mask[:, 0].reshape(r.mask.shape[0], -1).cpu() > 0
        for k in range(masks.shape[0]):
            covered = torch.nonzero(masks[k]).squeeze(1)
            if covered.numel() == 0:
                raise ValueError(f"vertices: view {start + k} of the visible-surface cameras sees no surface")
            if covered.numel() >= per_view:
                pick = covered[torch.randperm(covered.numel(), generator=gen)[:per_view]]
            else:
                pick = covered[torch.randint(covered.numel(), (per_view,), generator=gen)]
            out.append(r.position[k].reshape(3, -1)[:, pick.to(r.position.device)].T.cpu())
    return torch.cat(out, 0).to(torch.float32)
