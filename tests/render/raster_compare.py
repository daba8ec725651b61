"""Comparing two rasterizers' triangle choices: where may they legitimately differ?

nvdiffrast snaps vertex positions to a fixed-point grid (1/16 px on its CUDA rasterizer) before
its coverage test, while the pure-PyTorch backend tests pixel centres against the exact float
edges. So the two may pick different triangles only for pixel centres lying (almost) on an edge
of the triangles involved. :func:`edge_distance_px` measures that distance, so tests can require
every disagreement to sit within a fraction of a pixel of an edge instead of guessing how many
pixels may disagree.
"""

from __future__ import annotations

import torch

__all__ = ["assert_disagreements_on_edges", "depth_at_pixels", "edge_distance_px"]


def edge_distance_px(pos: torch.Tensor, tri: torch.Tensor, tri_id: torch.Tensor) -> torch.Tensor:
    """Distance in pixels from each pixel centre to the nearest edge line of triangle ``tri_id``.

    Args:
        pos: clip-space positions ``[B, V, 4]`` (instanced) or ``[V, 4]`` (range mode).
        tri: ``[F, 3]`` vertex indices.
        tri_id: ``[B, H, W]`` int triangle index per pixel (rast's id minus 1), -1 for none.

    Returns:
        float64 ``[B, H, W]``; ``inf`` where ``tri_id`` is -1. Pixel centres are at (x + 0.5,
        y + 0.5) with row 0 at NDC y = -1 (nvdiffrast's convention).
    """
    b, h, w = tri_id.shape
    p = pos.detach().double()
    if p.dim() == 2:
        p = p.unsqueeze(0).expand(b, -1, -1)
    xy = p[..., :2] / p[..., 3:4]  # NDC
    screen = torch.stack([(xy[..., 0] + 1) * (w / 2), (xy[..., 1] + 1) * (h / 2)], -1)  # [B, V, 2]
    out = torch.full((b, h, w), float("inf"), dtype=torch.float64, device=tri_id.device)
    bi, yi, xi = torch.nonzero(tri_id >= 0, as_tuple=True)
    if bi.numel() == 0:
        return out
    corners = screen[bi[:, None], tri.long()[tri_id[bi, yi, xi]]]  # [N, 3, 2]
    centre = torch.stack([xi.double() + 0.5, yi.double() + 0.5], -1)[:, None, :]  # [N, 1, 2]
    a, e = corners, corners.roll(-1, dims=1) - corners  # edge k from corner k to corner k+1
    cross = e[..., 0] * (centre[..., 1] - a[..., 1]) - e[..., 1] * (centre[..., 0] - a[..., 0])
    dist = cross.abs() / e.norm(dim=-1).clamp_min(1e-12)  # [N, 3]
    out[bi, yi, xi] = dist.min(dim=1).values
    return out


def depth_at_pixels(pos: torch.Tensor, tri: torch.Tensor, tri_id: torch.Tensor) -> torch.Tensor:
    """NDC depth z/w of triangle ``tri_id``'s plane at each pixel centre (perspective-correct),
    float64 ``[B, H, W]``; ``nan`` where ``tri_id`` is -1. Shapes as :func:`edge_distance_px`."""
    b, h, w = tri_id.shape
    p = pos.detach().double()
    if p.dim() == 2:
        p = p.unsqueeze(0).expand(b, -1, -1)
    out = torch.full((b, h, w), float("nan"), dtype=torch.float64, device=tri_id.device)
    bi, yi, xi = torch.nonzero(tri_id >= 0, as_tuple=True)
    if bi.numel() == 0:
        return out
    c = p[bi[:, None], tri.long()[tri_id[bi, yi, xi]]]  # [N, 3, 4] clip corners
    ndc = torch.stack([(xi.double() + 0.5) * (2 / w) - 1, (yi.double() + 0.5) * (2 / h) - 1], -1)
    # solve for clip-space weights l with sum_k l_k (x_k - X w_k, y_k - Y w_k) = 0 and sum l_k = 1
    ex = c[..., 0] - ndc[:, :1] * c[..., 3]
    ey = c[..., 1] - ndc[:, 1:] * c[..., 3]
    m = torch.stack([ex, ey, torch.ones_like(ex)], 1)  # [N, 3, 3]
    rhs = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64, device=c.device).expand(len(c), 3)
    lam = torch.linalg.solve(m, rhs.unsqueeze(-1)).squeeze(-1)  # [N, 3]
    out[bi, yi, xi] = (lam * c[..., 2]).sum(-1) / (lam * c[..., 3]).sum(-1)
    return out


def assert_disagreements_on_edges(
    pos: torch.Tensor,
    tri: torch.Tensor,
    id_a: torch.Tensor,
    id_b: torch.Tensor,
    max_px: float = 0.1,
    depth_tie: float | None = None,
) -> int:
    """Assert that every pixel where ``id_a`` and ``id_b`` (``[B, H, W]``, -1 for none) differ is
    explained by an ambiguous coverage test, and return how many there are.

    The two rasterizers disagree legitimately when the front-most of the two triangles (the one
    with the smaller depth at the pixel; the only one when the other side shows background) has an
    edge within ``max_px`` pixels of the pixel centre: one rasterizer counted the centre inside it,
    the other outside, and showed what lies behind. With ``depth_tie``, a z-buffer near-tie (NDC
    depths within ``depth_tie``) also explains a disagreement.
    """
    diff = id_a != id_b
    if not bool(diff.any()):
        return 0
    none = torch.full_like(id_a, -1)
    da = edge_distance_px(pos, tri, torch.where(diff, id_a, none))
    db = edge_distance_px(pos, tri, torch.where(diff, id_b, none))
    za = depth_at_pixels(pos, tri, torch.where(diff, id_a, none))
    zb = depth_at_pixels(pos, tri, torch.where(diff, id_b, none))
    a_front = (id_b < 0) | ((id_a >= 0) & (za <= zb))
    front_dist = torch.where(a_front, da, db)
    explained = front_dist <= max_px
    if depth_tie is not None:
        explained |= (id_a >= 0) & (id_b >= 0) & ((za - zb).abs() <= depth_tie)
    bad = diff & ~explained
    assert not bool(bad.any()), (
        f"{int(bad.sum())} of {int(diff.sum())} disagreeing pixels lie farther than {max_px} px from an "
        f"edge of the front triangle (largest {float(front_dist[bad].max()):.3f} px)"
    )
    return int(diff.sum())
