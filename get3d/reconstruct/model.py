"""The optimised quantities: an SDF and a deformation on a tet grid, and a colour model.

Thin ``nn.Module`` shells around parameters; the maths lives in functions
(:func:`surface_attributes`, :func:`fourier_features`) so that it can be tested on its own.

* :class:`TetField`: per-vertex SDF (positive inside) and a bounded per-vertex offset
  ``max_offset * tanh(raw)`` on a :class:`dmtet.TetGrid`; :meth:`TetField.extract` runs
  :func:`dmtet.marching_tets` (outward faces).
* :class:`ColorMLP`: RGB in [-1, 1] from world positions (Fourier features, ReLU MLP, tanh).
* :class:`GridColors`: RGB in [-1, 1] per grid vertex (``tanh`` of a raw parameter), carried to
  the surface by :func:`surface_attributes`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from dmtet import SurfaceMesh, TetGrid, marching_tets

__all__ = ["ColorMLP", "GridColors", "TetField", "fourier_features", "surface_attributes"]


def surface_attributes(grid: TetGrid, sdf: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Per-vertex ``values`` of the grid carried to the vertices of its marching-tets surface.

    Marching tets places one surface vertex on every edge whose endpoints change occupancy
    (``sdf > 0``), numbered in the order of ``grid.edges``, at the zero crossing of the linear
    interpolation of the SDF. This function blends any per-vertex quantity with the very same
    weights, so ``surface_attributes(grid, sdf, grid.vertices + deform)`` equals the surface's
    vertex positions.

    Args:
        grid: the tet grid.
        sdf: float [N] (one sample).
        values: float [N, C].

    Returns:
        float [V, C] (V = vertices of ``marching_tets(grid, sdf[None])[0]``), differentiable with
        respect to ``values`` and ``sdf``.
    """
    if sdf.dim() != 1 or sdf.shape[0] != grid.num_vertices:
        raise ValueError(f"sdf: expected shape [N] with N = {grid.num_vertices}, got {tuple(sdf.shape)}")
    if values.dim() != 2 or values.shape[0] != grid.num_vertices:
        raise ValueError(
            f"values: expected shape [N, C] with N = {grid.num_vertices}, got {tuple(values.shape)}"
        )
    a, b = grid.edges[:, 0], grid.edges[:, 1]
    with torch.no_grad():
        occupied = sdf > 0
        crossing = torch.nonzero(occupied[a] != occupied[b]).reshape(-1)
    a, b = a[crossing], b[crossing]
    s = sdf.to(values.dtype)
    s_a, s_b = s[a, None], s[b, None]
    denominator = s_a - s_b
    return values[a] * (-s_b / denominator) + values[b] * (s_a / denominator)


def fourier_features(points: torch.Tensor, octaves: int) -> torch.Tensor:
    """``[x, sin(2^k pi x), cos(2^k pi x) for k < octaves]`` of points [P, 3] -> [P, 3 + 6 octaves]."""
    if octaves == 0:
        return points
    scales = (2.0 ** torch.arange(octaves, device=points.device, dtype=points.dtype)) * math.pi
    angles = (points[:, :, None] * scales).reshape(points.shape[0], -1)
    return torch.cat([points, angles.sin(), angles.cos()], dim=-1)


class TetField(nn.Module):
    """Per-vertex SDF and bounded deformation on a grid.

    Args:
        grid: the tet grid (kept as a plain attribute; it is immutable).
        sdf: float [N] initial SDF (positive inside).
        offset: float [N, 3] initial offsets, each component in ``(-max_offset, max_offset)``
            (None: zeros).
        max_offset: bound of each offset component, world units.
    """

    def __init__(
        self, grid: TetGrid, sdf: torch.Tensor, offset: torch.Tensor | None = None, *, max_offset: float
    ) -> None:
        super().__init__()
        if sdf.shape != (grid.num_vertices,):
            raise ValueError(f"sdf: expected shape [N] = ({grid.num_vertices},), got {tuple(sdf.shape)}")
        if not max_offset > 0:
            raise ValueError(f"max_offset: expected a positive number, got {max_offset!r}")
        self.grid = grid
        self.max_offset = float(max_offset)
        self.sdf = nn.Parameter(sdf.detach().to(grid.vertices.dtype).clone())
        raw = torch.zeros_like(grid.vertices)
        if offset is not None:
            if offset.shape != grid.vertices.shape:
                raise ValueError(
                    f"offset: expected shape [N, 3] = {tuple(grid.vertices.shape)}, got {tuple(offset.shape)}"
                )
            ratio = (offset.detach().to(raw) / self.max_offset).clamp(-0.999, 0.999)
            raw = torch.atanh(ratio)
        self.raw_offset = nn.Parameter(raw)

    def offset(self) -> torch.Tensor:
        """float [N, 3] current offsets, ``max_offset * tanh(raw)``."""
        return self.max_offset * torch.tanh(self.raw_offset)

    def positions(self) -> torch.Tensor:
        """float [N, 3] deformed grid vertices."""
        return self.grid.vertices + self.offset()

    def extract(self) -> SurfaceMesh:
        """The current surface (outward faces), differentiable in ``sdf`` and the offsets."""
        return marching_tets(self.grid, self.sdf[None], self.offset(), outward=True)[0]


class ColorMLP(nn.Module):
    """RGB in [-1, 1] from world positions: Fourier features, ``layers`` hidden ReLU layers, tanh.

    Args:
        hidden: width of the hidden layers.
        layers: number of hidden layers (>= 1).
        octaves: Fourier-feature octaves of the input (0 = raw positions).
        generator: seeds the initialisation (default torch's global generator).
    """

    def __init__(
        self, hidden: int = 64, layers: int = 2, octaves: int = 4, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        if layers < 1 or hidden < 1 or octaves < 0:
            raise ValueError(
                f"hidden, layers, octaves: expected >= 1, >= 1, >= 0, got {hidden}, {layers}, {octaves}"
            )
        self.octaves = int(octaves)
        sizes = [3 + 6 * self.octaves] + [hidden] * layers + [3]
        modules: list[nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            linear = nn.Linear(fan_in, fan_out)
            bound = 1.0 / math.sqrt(fan_in)
            with torch.no_grad():
                linear.weight.uniform_(-bound, bound, generator=generator)
                linear.bias.zero_()
            modules.append(linear)
            if i < len(sizes) - 2:
                modules.append(nn.ReLU())
        self.net = nn.Sequential(*modules)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """points float [P, 3] -> RGB float [P, 3] in [-1, 1]."""
        return torch.tanh(self.net(fourier_features(points, self.octaves)))


class GridColors(nn.Module):
    """RGB in [-1, 1] per grid vertex: ``tanh`` of a raw [N, 3] parameter.

    Args:
        colors: float [N, 3] initial colours in [-1, 1] (clamped to +-0.999 before ``atanh``).
    """

    def __init__(self, colors: torch.Tensor) -> None:
        super().__init__()
        if colors.dim() != 2 or colors.shape[1] != 3:
            raise ValueError(f"colors: expected shape [N, 3], got {tuple(colors.shape)}")
        self.raw = nn.Parameter(torch.atanh(colors.detach().clamp(-0.999, 0.999)).clone())

    def forward(self) -> torch.Tensor:
        """float [N, 3] colours in [-1, 1]."""
        return torch.tanh(self.raw)
