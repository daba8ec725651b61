"""Small meshes and cameras shared by the nvdiffrast tests (the CPU fake and the CUDA parity)."""

from __future__ import annotations

import math

import torch

from render.camera import Cameras


def uv_sphere(
    n_lat: int = 12, n_lon: int = 24, radius: float = 0.5, centre=(0.0, 0.0, 0.0), dtype=torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """A welded, closed UV sphere: vertices ``[V, 3]`` and outward faces ``[F, 3]`` int64."""
    verts = [[0.0, radius, 0.0]]
    for i in range(1, n_lat):
        th = math.pi * i / n_lat
        for j in range(n_lon):
            ph = 2 * math.pi * j / n_lon
            verts.append(
                [
                    radius * math.sin(th) * math.cos(ph),
                    radius * math.cos(th),
                    radius * math.sin(th) * math.sin(ph),
                ]
            )
    verts.append([0.0, -radius, 0.0])
    faces = [[0, 1 + (j + 1) % n_lon, 1 + j] for j in range(n_lon)]
    for i in range(n_lat - 2):
        for j in range(n_lon):
            a, b = 1 + i * n_lon + j, 1 + i * n_lon + (j + 1) % n_lon
            faces += [[a, b, b + n_lon], [a, b + n_lon, a + n_lon]]
    last = len(verts) - 1
    for j in range(n_lon):
        a, b = 1 + (n_lat - 2) * n_lon + j, 1 + (n_lat - 2) * n_lon + (j + 1) % n_lon
        faces.append([last, a, b])
    v = torch.tensor(verts, dtype=torch.float64) + torch.tensor(centre, dtype=torch.float64)
    return v.to(dtype), torch.tensor(faces, dtype=torch.int64)


def two_meshes(dtype=torch.float32) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Two different meshes for range mode: a sphere and a smaller, offset, coarser one."""
    v0, f0 = uv_sphere(12, 24, 0.45, dtype=dtype)
    v1, f1 = uv_sphere(8, 16, 0.3, centre=(0.1, -0.05, 0.05), dtype=dtype)
    return [v0, v1], [f0, f1]


def orbit_cameras(n: int, dtype=torch.float32) -> Cameras:
    """``n`` cameras around the origin at GET3D's distance, a little above the equator."""
    azimuth = torch.linspace(0.3, 2.0, n, dtype=torch.float64)
    polar = torch.full((n,), 1.2, dtype=torch.float64)
    return Cameras.from_angles(azimuth, polar).to(dtype=dtype)
