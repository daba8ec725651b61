"""FlexiCubes iso-surfacing (Shen et al. 2023) with kaolin's exact semantics.

Two entry points produce identical meshes:

* ``flexicubes(vertices, sdf, cubes, resolution, ...)``: the functional core, returning a frozen
  ``FlexiCubesMesh``;
* ``FlexiCubes()``: a thin shell whose ``__call__`` is a drop-in for
  ``kaolin.ops.conversions.FlexiCubes.__call__`` (same positional order, returns
  ``(vertices, faces, L_dev)``) and whose ``construct_voxel_grid`` matches kaolin's.

Semantics (kaolin's):

* a grid vertex is **inside when ``sdf < 0``** (the opposite of marching tets' ``sdf > 0``);
  faces are wound so that their right-hand normals point towards increasing sdf, i.e. outwards;
* every surface cube (corners on both sides) emits 1 to 4 dual vertices, one per group of crossing
  edges (``dmtet.flexicubes_tables``); a dual vertex is the beta-weighted mean of its edges' zero
  crossings, each computed with alpha-scaled corner values;
* each crossing edge shared by four cubes gives a quad of their dual vertices, split into two
  triangles along the diagonal with the larger gamma product (``QuadSplit.DIAGONAL``, kaolin's
  ``training=False``) or into four triangles around the gamma-weighted blend of the two diagonal
  midpoints (``QuadSplit.CENTER``, ``training=True``, differentiable in gamma);
* ``L_dev`` holds, for each (dual vertex, crossing edge) pair, ``| |z_e - v| - mean_e |z_e - v| |``
  with ``z_e`` the plain (unweighted) zero crossing; callers take ``.mean()``;
* ambiguous C16/C19 cube pairs are resolved through the regular-grid neighbour, so the cube order
  must be ``construct_voxel_grid``'s (deformed positions are fine).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import torch

from ._validate import check_finite, check_float, check_index, check_index_range, check_same_device
from .flexicubes_tables import CUBE_CORNERS, CUBE_EDGES, check_table, dmc_table, num_vd_table

__all__ = ["FlexiCubes", "FlexiCubesMesh", "MeshKind", "QuadSplit", "construct_voxel_grid", "flexicubes"]

_CUBE_EDGE_FLAT = tuple(c for edge in CUBE_EDGES for c in edge)
_GAMMA_EPS = 1e-8


class QuadSplit(Enum):
    """How each quad of dual vertices becomes triangles."""

    DIAGONAL = "diagonal"  # 2 triangles along the diagonal with the larger gamma product (eval)
    CENTER = "center"  # 4 triangles around a gamma-weighted centre vertex (training)


class MeshKind(Enum):
    """What ``flexicubes`` returns."""

    TRIANGLES = "triangles"  # the surface
    TETRAHEDRA = "tetrahedra"  # the interior volume, bounded by the surface


@dataclass(frozen=True, eq=False)
class FlexiCubesMesh:
    """A mesh extracted by FlexiCubes.

    Attributes:
        vertices: float [V, 3] in the frame and dtype of the grid positions; differentiable.
            Dual vertices first (cubes with 1 dual vertex in cube order, then cubes with 2, ...),
            then the quad centres (``QuadSplit.CENTER``), then for ``MeshKind.TETRAHEDRA`` the
            inside grid vertices and the centres of fully inside cubes.
        faces: int64 [F, 3] triangles, or [F, 4] tetrahedra for ``MeshKind.TETRAHEDRA``.
        l_dev: float [P] the deviation regulariser per (dual vertex, crossing edge) pair.
    """

    vertices: torch.Tensor
    faces: torch.Tensor
    l_dev: torch.Tensor


# --------------------------------------------------------------------------- grid
def _resolution3(resolution: object) -> tuple[int, int, int]:
    if isinstance(resolution, bool):
        raise TypeError(f"resolution: expected an int or 3 ints, got {resolution!r}")
    if isinstance(resolution, int):
        res = (resolution,) * 3
    elif isinstance(resolution, Sequence) and len(resolution) == 3:
        if not all(isinstance(r, int) and not isinstance(r, bool) for r in resolution):
            raise TypeError(f"resolution: expected an int or 3 ints, got {resolution!r}")
        res = tuple(resolution)
    else:
        raise TypeError(f"resolution: expected an int or 3 ints, got {resolution!r}")
    if min(res) < 1:
        raise ValueError(f"resolution: expected positive cube counts, got {resolution!r}")
    return res  # type: ignore[return-value]


def construct_voxel_grid(
    resolution: int | Sequence[int], device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Regular voxel grid in [-0.5, 0.5]^3, as ``kaolin``'s ``FlexiCubes.construct_voxel_grid``.

    Args:
        resolution: cubes per axis, an int or (rx, ry, rz).
        device: where the tensors are built (default CPU).

    Returns:
        vertices: float32 [(rx+1)(ry+1)(rz+1), 3], lexicographic (x, y, z) order with z fastest;
            coordinates ``round(i / r, 5 decimals) - 0.5`` as kaolin rounds them.
        cubes: int64 [rx*ry*rz, 8] vertex ids of each cube's corners in ``CUBE_CORNERS`` order
            (x fastest); cubes in (i, j, k) order with k fastest.
    """
    rx, ry, rz = _resolution3(resolution)
    axes = [
        torch.round(torch.arange(r + 1, device=device, dtype=torch.float32) / r * 1e5) / 1e5 - 0.5
        for r in (rx, ry, rz)
    ]
    vertices = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)
    i, j, k = (
        t.reshape(-1)
        for t in torch.meshgrid(*(torch.arange(r, device=device) for r in (rx, ry, rz)), indexing="ij")
    )
    corners = torch.tensor(CUBE_CORNERS, dtype=torch.int64, device=device)
    cubes = ((i[:, None] + corners[:, 0]) * (ry + 1) + j[:, None] + corners[:, 1]) * (rz + 1)
    cubes = cubes + k[:, None] + corners[:, 2]
    return vertices, cubes


# --------------------------------------------------------------------------- validation
def _check_weight(name: str, value: torch.Tensor | None, shape: tuple[int, ...], ref: torch.Tensor) -> None:
    if value is None:
        return
    expected = "[" + ", ".join(str(s) for s in shape) + "]"
    check_float(name, value, expected, len(shape))
    if tuple(value.shape) != shape:
        raise ValueError(f"{name}: expected shape {expected}, got {tuple(value.shape)}")
    check_same_device(vertices=ref, **{name: value})
    check_finite(name, value)


def _check_inputs(
    vertices: torch.Tensor,
    sdf: torch.Tensor,
    cubes: torch.Tensor,
    resolution: object,
    beta: torch.Tensor | None,
    alpha: torch.Tensor | None,
    gamma: torch.Tensor | None,
    weight_scale: float,
    split: object,
    kind: object,
) -> tuple[int, int, int]:
    check_float("vertices", vertices, "[N, 3]", 2, 3)
    check_float("sdf", sdf, "[N]", 1)
    if sdf.shape[0] != vertices.shape[0]:
        raise ValueError(
            f"sdf: expected shape [N] = ({vertices.shape[0]},) to match vertices, got {tuple(sdf.shape)}"
        )
    check_index("cubes", cubes, "[C, 8]", 2, 8)
    check_same_device(vertices=vertices, sdf=sdf, cubes=cubes)
    check_index_range("cubes", cubes, vertices.shape[0], "vertices")
    res = _resolution3(resolution)
    if res[0] * res[1] * res[2] != cubes.shape[0]:
        raise ValueError(
            f"resolution: expected rx*ry*rz to equal the {cubes.shape[0]} cubes of construct_voxel_grid's "
            f"order, got {resolution!r}"
        )
    check_finite("vertices", vertices)
    check_finite("sdf", sdf)
    c = cubes.shape[0]
    _check_weight("beta", beta, (c, 12), vertices)
    _check_weight("alpha", alpha, (c, 8), vertices)
    _check_weight("gamma", gamma, (c,), vertices)
    if isinstance(weight_scale, bool) or not isinstance(weight_scale, (int, float)):
        raise TypeError(f"weight_scale: expected a float in [0, 1], got {weight_scale!r}")
    if not 0.0 <= float(weight_scale) <= 1.0:
        raise ValueError(f"weight_scale: expected a float in [0, 1], got {weight_scale!r}")
    if not isinstance(split, QuadSplit):
        raise TypeError(f"split: expected a dmtet.QuadSplit, got {split!r}")
    if not isinstance(kind, MeshKind):
        raise TypeError(f"kind: expected a dmtet.MeshKind, got {kind!r}")
    return res


# --------------------------------------------------------------------------- steps
def _interp(s: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Zero crossing ``(x0 * s1 - x1 * s0) / (s1 - s0)`` of each edge; s [M, 2, 1], x [M, 2, K]."""
    s0, s1 = s[:, 0], s[:, 1]
    return (x[:, 0] * s1 - x[:, 1] * s0) / (s1 - s0)


def _case_ids(inside_fx8: torch.Tensor, surf: torch.Tensor, res: tuple[int, int, int]) -> torch.Tensor:
    """Case of each surface cube, with the C16/C19 ambiguity resolved through the grid neighbour."""
    device = inside_fx8.device
    weights = 2 ** torch.arange(8, device=device)
    case = (inside_fx8[surf].to(torch.int64) * weights).sum(-1)
    config = check_table(device).index_select(0, case)  # [S, 5]
    to_check = config[:, 0] == 1
    if not bool(to_check.any()):
        return case
    cube_ids = torch.nonzero(surf).reshape(-1)
    flagged = torch.zeros(res[0] * res[1] * res[2], dtype=torch.bool, device=device)
    flagged[cube_ids[to_check]] = True
    rows = torch.nonzero(to_check).reshape(-1)
    ids = cube_ids[rows]
    ijk = torch.stack((ids // (res[1] * res[2]), (ids // res[2]) % res[1], ids % res[2]), dim=-1)
    adj = ijk + config[rows, 1:4]
    bound = torch.tensor(res, device=device)
    within = ((adj >= 0) & (adj < bound)).all(-1)
    rows, adj = rows[within], adj[within]
    adj_ids = (adj[:, 0] * res[1] + adj[:, 1]) * res[2] + adj[:, 2]
    invert = flagged[adj_ids]
    case = case.clone()
    case[rows[invert]] = config[rows[invert], 4]
    return case


def _surface_edges(
    inside: torch.Tensor, surf_cubes_fx8: torch.Tensor, num_vertices: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Unique crossing edges of the surface cubes.

    Returns: surf_edges int64 [E, 2] (lexicographic order of the cube-edge pairs), idx_map int64
    [S*12] (crossing edge id of each cube edge slot, -1 elsewhere), counts int64 [S*12] (cubes
    sharing the slot's edge), crossing bool [S*12].
    """
    edge_cols = torch.tensor(_CUBE_EDGE_FLAT, device=surf_cubes_fx8.device)
    pairs = surf_cubes_fx8.index_select(1, edge_cols).reshape(-1, 2)
    keys = pairs[:, 0] * num_vertices + pairs[:, 1]
    unique_keys, inverse, counts = torch.unique(keys, sorted=True, return_inverse=True, return_counts=True)
    unique_edges = torch.stack((unique_keys // num_vertices, unique_keys % num_vertices), dim=-1)
    crossing_edges = inside[unique_edges[:, 0]] != inside[unique_edges[:, 1]]
    mapping = torch.full_like(unique_keys, -1)
    mapping[crossing_edges] = torch.arange(int(crossing_edges.sum()), device=keys.device)
    return unique_edges[crossing_edges], mapping[inverse], counts[inverse], crossing_edges[inverse]


def _dual_vertices(
    x: torch.Tensor,
    s: torch.Tensor,
    surf_edges: torch.Tensor,
    idx_map: torch.Tensor,
    case: torch.Tensor,
    beta: torch.Tensor,
    alpha: torch.Tensor,
    gamma: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Dual vertices [D, 3], L_dev [P], gamma per dual vertex [D], dual vertex of each slot [S*12]."""
    device = x.device
    num_cubes = case.shape[0]
    with torch.no_grad():
        num_vd = num_vd_table(device).index_select(0, case)
        table = dmc_table(device)
        edge_group, group_vd, group_cube, vd_cube = [], [], [], []
        total = 0
        for num in torch.unique(num_vd).tolist():
            cubes_here = torch.nonzero(num_vd == num).reshape(-1)
            groups = table.index_select(0, case[cubes_here])[:, :num].reshape(-1, 7)  # [n*num, 7]
            vd_ids = torch.arange(groups.shape[0], device=device) + total
            total += groups.shape[0]
            valid = groups >= 0
            edge_group.append(groups[valid])
            group_vd.append(vd_ids[:, None].expand_as(groups)[valid])
            cube_of_vd = cubes_here.repeat_interleave(num)
            group_cube.append(cube_of_vd[:, None].expand_as(groups)[valid])
            vd_cube.append(cube_of_vd)
        edge_group = torch.cat(edge_group)
        group_vd = torch.cat(group_vd)
        group_cube = torch.cat(group_cube)
        vd_cube = torch.cat(vd_cube)
        slot = group_cube * 12 + edge_group
        edge_of_group = idx_map.index_select(0, slot)
        pair = surf_edges.index_select(0, edge_of_group)  # [P, 2]
        edge_cols = torch.tensor(_CUBE_EDGE_FLAT, device=device).reshape(12, 2)
        local = edge_cols.index_select(0, edge_group)  # [P, 2] local corners of each group edge
    x_pair = x.index_select(0, pair.reshape(-1)).reshape(-1, 2, 3)
    s_pair = s.index_select(0, pair.reshape(-1)).reshape(-1, 2, 1)
    alpha_ids = (group_cube[:, None] * 8 + local).reshape(-1)
    alpha_pair = alpha.reshape(-1).index_select(0, alpha_ids).reshape(-1, 2, 1)
    crossing = _interp(s_pair * alpha_pair, x_pair)
    beta_group = beta.reshape(-1).index_select(0, slot).unsqueeze(-1)
    beta_sum = torch.zeros((total, 1), dtype=x.dtype, device=device).index_add(0, group_vd, beta_group)
    vd = torch.zeros((total, 3), dtype=x.dtype, device=device).index_add(0, group_vd, crossing * beta_group)
    vd = vd / beta_sum
    # L_dev uses the plain zero crossings.
    plain = _interp(s_pair, x_pair)
    dist = torch.linalg.vector_norm(plain - vd.index_select(0, group_vd), dim=-1)
    count = torch.bincount(group_vd, minlength=total).to(x.dtype)
    mean = torch.zeros(total, dtype=x.dtype, device=device).index_add(0, group_vd, dist) / count
    l_dev = (dist - mean.index_select(0, group_vd)).abs()
    with torch.no_grad():
        vd_of_slot = torch.zeros(num_cubes * 12, dtype=torch.int64, device=device)
        vd_of_slot[slot] = group_vd
    return vd, l_dev, gamma.index_select(0, vd_cube), vd_of_slot


def _quads(
    s: torch.Tensor,
    surf_edges: torch.Tensor,
    idx_map: torch.Tensor,
    counts: torch.Tensor,
    crossing: torch.Tensor,
    vd_of_slot: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Consistently wound quads [Q, 4] of dual vertices and their crossing edge ids [Q].

    Quads whose edge's first endpoint is outside come first, then the others, each in edge order.
    """
    mask = (counts == 4) & crossing
    edge_ids, order = torch.sort(idx_map[mask], stable=True)
    quad = vd_of_slot[mask][order].reshape(-1, 4)
    edge_ids = edge_ids.reshape(-1, 4)[:, 0]
    first_outside = s.index_select(0, surf_edges.index_select(0, edge_ids)[:, 0]) > 0
    quads = torch.cat((quad[first_outside][:, [0, 1, 3, 2]], quad[~first_outside][:, [2, 3, 1, 0]]))
    edges = torch.cat((edge_ids[first_outside], edge_ids[~first_outside]))
    return quads, edges


def _triangulate(
    vd: torch.Tensor, vd_gamma: torch.Tensor, quads: torch.Tensor, split: QuadSplit
) -> tuple[torch.Tensor, torch.Tensor]:
    q_gamma = vd_gamma.index_select(0, quads.reshape(-1)).reshape(-1, 4)
    g02 = q_gamma[:, 0] * q_gamma[:, 2]
    g13 = q_gamma[:, 1] * q_gamma[:, 3]
    if split is QuadSplit.DIAGONAL:
        along_02 = (g02 > g13).unsqueeze(-1)
        faces = torch.where(along_02, quads[:, [0, 1, 2, 0, 2, 3]], quads[:, [0, 1, 3, 3, 1, 2]])
        return vd, faces.reshape(-1, 3).detach()
    corners = vd.index_select(0, quads.reshape(-1)).reshape(-1, 4, 3)
    mid02 = (corners[:, 0] + corners[:, 2]) / 2
    mid13 = (corners[:, 1] + corners[:, 3]) / 2
    centre = (mid02 * g02[:, None] + mid13 * g13[:, None]) / (g02 + g13 + _GAMMA_EPS)[:, None]
    centre_ids = torch.arange(quads.shape[0], device=vd.device) + vd.shape[0]
    ring = quads[:, [0, 1, 1, 2, 2, 3, 3, 0]].reshape(-1, 4, 2)
    faces = torch.cat((ring, centre_ids[:, None, None].expand(-1, 4, 1)), dim=-1).reshape(-1, 3)
    return torch.cat((vd, centre)), faces


def _normalize(
    weight: torch.Tensor | None, shape: tuple[int, ...], scale: float, like: torch.Tensor, gamma: bool = False
) -> torch.Tensor:
    if weight is None:
        return torch.ones(shape, dtype=like.dtype, device=like.device)
    weight = weight.to(like.dtype)
    if gamma:
        return torch.sigmoid(weight) * scale + (1 - scale) / 2
    return torch.tanh(weight) * scale + 1


# --------------------------------------------------------------------------- entry points
def flexicubes(
    vertices: torch.Tensor,
    sdf: torch.Tensor,
    cubes: torch.Tensor,
    resolution: int | Sequence[int],
    *,
    beta: torch.Tensor | None = None,
    alpha: torch.Tensor | None = None,
    gamma: torch.Tensor | None = None,
    weight_scale: float = 0.99,
    split: QuadSplit = QuadSplit.DIAGONAL,
    kind: MeshKind = MeshKind.TRIANGLES,
) -> FlexiCubesMesh:
    """Extract the ``sdf = 0`` surface (or the ``sdf < 0`` volume) of a voxel grid with FlexiCubes.

    Args:
        vertices: float [N, 3] grid vertex positions, possibly deformed (kaolin's ``x_nx3``); the
            output is in their frame and dtype. Finite.
        sdf: float [N] scalar field, **negative inside**. Finite.
        cubes: integer [C, 8] corner vertex ids of each cube, in ``construct_voxel_grid``'s cube and
            corner order (the ambiguity resolution relies on it).
        resolution: cubes per axis (int or 3 ints); their product must equal C.
        beta: optional float [C, 12] raw edge weights (``1 + weight_scale * tanh(beta)``).
        alpha: optional float [C, 8] raw corner weights (``1 + weight_scale * tanh(alpha)``).
        gamma: optional float [C] raw split weights
            (``weight_scale * sigmoid(gamma) + (1 - weight_scale) / 2``). Omitted weights are 1.
        weight_scale: in [0, 1]; kaolin's default 0.99, GET3D uses 0.5.
        split: ``QuadSplit.DIAGONAL`` (kaolin ``training=False``) or ``QuadSplit.CENTER``
            (``training=True``).
        kind: ``MeshKind.TRIANGLES`` for the surface, ``MeshKind.TETRAHEDRA`` for the interior
            tet mesh (kaolin ``output_tetmesh=True``).

    Returns:
        A ``FlexiCubesMesh``; all-empty tensors ((0, 3), (0, 3) or (0, 4), (0,)) when no cube
        crosses the surface. Gradients reach ``vertices``, ``sdf``, ``beta``, ``alpha`` and (with
        ``QuadSplit.CENTER``) ``gamma``; the topology is piecewise constant.
    """
    res = _check_inputs(vertices, sdf, cubes, resolution, beta, alpha, gamma, weight_scale, split, kind)
    cubes = cubes.to(torch.int64)
    s = sdf.to(vertices.dtype)
    with torch.no_grad():
        inside = s < 0
        inside_fx8 = inside[cubes]
        n_inside = inside_fx8.sum(-1)
        surf = (n_inside > 0) & (n_inside < 8)
    if not bool(surf.any()):
        width = 4 if kind is MeshKind.TETRAHEDRA else 3
        return FlexiCubesMesh(
            vertices.new_zeros((0, 3)),
            torch.zeros((0, width), dtype=torch.int64, device=vertices.device),
            vertices.new_zeros((0,)),
        )
    n_surf = int(surf.sum())  # weights are normalised on the surface cubes only (element-wise)

    def on_surface(weight: torch.Tensor | None) -> torch.Tensor | None:
        return None if weight is None else weight[surf]

    beta_n = _normalize(on_surface(beta), (n_surf, 12), weight_scale, vertices)
    alpha_n = _normalize(on_surface(alpha), (n_surf, 8), weight_scale, vertices)
    gamma_n = _normalize(on_surface(gamma), (n_surf,), weight_scale, vertices, gamma=True)
    with torch.no_grad():
        case = _case_ids(inside_fx8, surf, res)
        surf_edges, idx_map, counts, crossing = _surface_edges(inside, cubes[surf], vertices.shape[0])
    vd, l_dev, vd_gamma, vd_of_slot = _dual_vertices(
        vertices, s, surf_edges, idx_map, case, beta_n, alpha_n, gamma_n
    )
    with torch.no_grad():
        quads, quad_edges = _quads(s, surf_edges, idx_map, counts, crossing, vd_of_slot)
    out_vertices, faces = _triangulate(vd, vd_gamma, quads, split)
    if kind is MeshKind.TETRAHEDRA:
        from .flexicubes_tets import tetrahedralize

        out_vertices, faces = tetrahedralize(
            vertices, inside, cubes, surf, case, out_vertices, faces, surf_edges, quad_edges, vd_of_slot
        )
    return FlexiCubesMesh(out_vertices, faces, l_dev)


class FlexiCubes:
    """Drop-in for ``kaolin.ops.conversions.FlexiCubes`` (triangle and tet output, no QEF path).

    Args:
        device: where ``construct_voxel_grid`` builds the grid (default CPU). Extraction runs on
            the device of its inputs.
    """

    def __init__(self, device: torch.device | str | None = None) -> None:
        self.device = torch.device("cpu") if device is None else torch.device(device)

    def construct_voxel_grid(self, resolution: int | Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """See ``dmtet.construct_voxel_grid``."""
        return construct_voxel_grid(resolution, self.device)

    def __call__(
        self,
        voxelgrid_vertices: torch.Tensor,
        scalar_field: torch.Tensor,
        cube_idx: torch.Tensor,
        resolution: int | Sequence[int],
        qef_reg_scale: float = 1e-3,
        weight_scale: float = 0.99,
        beta: torch.Tensor | None = None,
        alpha: torch.Tensor | None = None,
        gamma_f: torch.Tensor | None = None,
        training: bool = False,
        output_tetmesh: bool = False,
        grad_func: object = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """kaolin's argument order; returns ``(vertices, faces or tets, L_dev)`` (see ``flexicubes``).

        ``qef_reg_scale`` only matters for kaolin's ``grad_func`` (QEF placement), which is not
        implemented here: passing a ``grad_func`` raises ``ValueError``.
        """
        if grad_func is not None:
            raise ValueError("grad_func: the QEF (dual contouring) placement is not implemented; pass None")
        if not isinstance(training, bool):
            raise TypeError(f"training: expected a bool, got {training!r}")
        if not isinstance(output_tetmesh, bool):
            raise TypeError(f"output_tetmesh: expected a bool, got {output_tetmesh!r}")
        mesh = flexicubes(
            voxelgrid_vertices,
            scalar_field,
            cube_idx,
            resolution,
            beta=beta,
            alpha=alpha,
            gamma=gamma_f,
            weight_scale=weight_scale,
            split=QuadSplit.CENTER if training else QuadSplit.DIAGONAL,
            kind=MeshKind.TETRAHEDRA if output_tetmesh else MeshKind.TRIANGLES,
        )
        return mesh.vertices, mesh.faces, mesh.l_dev
