"""End to end: recover a cube's position and size from its silhouettes through rasterize + antialias.

The silhouette (an antialiased hard mask) is the only image signal; its geometry gradient comes
from ``antialias`` alone. Without ``antialias`` the same mask gives no gradient at all.
"""

from __future__ import annotations

import math

import torch

import render

# A welded unit cube centred at the origin, outward (counter-clockwise) faces.
CUBE_VERTS = torch.tensor(
    [[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)], dtype=torch.float32
)
CUBE_FACES = torch.tensor(
    [
        [0, 1, 3], [0, 3, 2],  # x = -0.5
        [4, 6, 7], [4, 7, 5],  # x = +0.5
        [0, 4, 5], [0, 5, 1],  # y = -0.5
        [2, 3, 7], [2, 7, 6],  # y = +0.5
        [0, 2, 6], [0, 6, 4],  # z = -0.5
        [1, 5, 7], [1, 7, 3],  # z = +0.5
    ]
)  # fmt: skip


def _look_at(eye: torch.Tensor) -> torch.Tensor:
    """World-to-camera 4x4 looking at the origin (OpenGL camera: -z forward)."""
    forward = -eye / eye.norm()
    up = torch.tensor([0.0, 1.0, 0.0]) if abs(float(forward[1])) < 0.9 else torch.tensor([0.0, 0.0, 1.0])
    right = torch.linalg.cross(forward, up)
    right = right / right.norm()
    true_up = torch.linalg.cross(right, forward)
    rot = torch.stack([right, true_up, -forward])
    m = torch.eye(4)
    m[:3, :3] = rot
    m[:3, 3] = -rot @ eye
    return m


def _perspective(fovy: float, near: float = 0.1, far: float = 10.0) -> torch.Tensor:
    f = 1.0 / math.tan(fovy / 2)
    return torch.tensor(
        [
            [f, 0, 0, 0],
            [0, f, 0, 0],
            [0, 0, -(far + near) / (far - near), -2 * far * near / (far - near)],
            [0, 0, -1, 0],
        ],
        dtype=torch.float32,
    )


# Three views (front, side, top-ish) so that every translation axis is observable.
EYES = [torch.tensor([0.3, 0.4, 3.0]), torch.tensor([3.0, 0.5, -0.4]), torch.tensor([0.5, 3.0, 0.6])]
MVP = torch.stack([_perspective(math.radians(40)) @ _look_at(e) for e in EYES])  # [3, 4, 4]
RES = (32, 32)


def _clip_positions(translation: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    verts = CUBE_VERTS * scale + translation
    homo = torch.cat([verts, torch.ones_like(verts[:, :1])], dim=1)
    return torch.einsum("bij,vj->bvi", MVP, homo).contiguous()  # [views, V, 4]


def _silhouettes(ctx, translation, scale, antialias: bool = True) -> torch.Tensor:
    pos = _clip_positions(translation, scale)
    rast, _ = render.rasterize(ctx, pos, CUBE_FACES, RES)
    mask = rast[..., 3:].clamp(0, 1)
    if antialias:
        mask = render.antialias(mask, rast, pos, CUBE_FACES, backend="torch")
    return mask


def test_fit_position_and_size_from_silhouettes():
    torch.manual_seed(0)
    ctx = render.make_context("torch")
    true_t = torch.tensor([0.12, -0.08, 0.1])
    true_s = torch.tensor(0.8)
    with torch.no_grad():
        target = _silhouettes(ctx, true_t, true_s)
    assert 0.05 < float(target.mean()) < 0.5  # the cube is visible, not filling the frame

    translation = torch.zeros(3, requires_grad=True)
    log_scale = torch.zeros((), requires_grad=True)  # start at scale 1.0
    opt = torch.optim.Adam([translation, log_scale], lr=0.03)
    losses = []
    for step in range(60):
        opt.zero_grad()
        loss = ((_silhouettes(ctx, translation, log_scale.exp()) - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if step == 40:
            for group in opt.param_groups:
                group["lr"] = 0.0075
    t_err = float((translation.detach() - true_t).abs().max())
    s_err = abs(float(log_scale.detach().exp()) - float(true_s))
    assert losses[-1] < 0.05 * losses[0], (losses[0], losses[-1])
    # Starting errors: 0.12 in translation and 0.2 in scale; a pixel is ~0.07 world units here, so
    # the bound is about 1/7 pixel.
    assert t_err < 0.01, (translation.detach(), true_t)
    assert s_err < 0.01, (float(log_scale.detach().exp()), float(true_s))


def test_mask_without_antialias_has_no_geometry_gradient():
    ctx = render.make_context("torch")
    translation = torch.tensor([0.05, 0.0, 0.0], requires_grad=True)
    scale = torch.tensor(1.0, requires_grad=True)
    target = torch.zeros(len(EYES), *RES, 1)

    hard = _silhouettes(ctx, translation, scale, antialias=False)
    loss = ((hard - target) ** 2).sum()
    if loss.requires_grad:
        loss.backward()
    for p in (translation, scale):
        assert p.grad is None or torch.all(p.grad == 0)

    soft = _silhouettes(ctx, translation, scale, antialias=True)
    ((soft - target) ** 2).sum().backward()
    assert translation.grad.abs().sum() > 0 and scale.grad.abs() > 0
    # Shrinking the cube reduces the (all-zero target) loss: d loss / d scale > 0.
    assert float(scale.grad) > 0
