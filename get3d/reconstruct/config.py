"""Options of multiview reconstruction (:func:`get3d.reconstruct.reconstruct`), one frozen dataclass."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

__all__ = ["ColorMode", "Init", "ReconstructConfig", "Shading"]


class ColorMode(enum.Enum):
    """Where the surface colour comes from."""

    MLP = "mlp"
    """A small MLP on Fourier features of the world position, queried per visible pixel (a texture
    field, GET3D's way); survives grid changes untouched."""
    VERTEX = "vertex"
    """One RGB value per tet-grid vertex, interpolated to the surface exactly as the positions are
    (same zero-crossing weights) and across faces by the rasterizer; upsampled with the SDF."""


class Init(enum.Enum):
    """The SDF of the first (coarsest) stage."""

    SPHERE = "sphere"
    """``init_radius - |x|``."""
    VISUAL_HULL = "visual_hull"
    """The visual hull of the target silhouettes (:func:`get3d.reconstruct.init.visual_hull_sdf`)."""


class Shading(enum.Enum):
    """How the predicted colour becomes a pixel (must match how the targets were made)."""

    UNLIT = "unlit"
    """Pixel = colour (GET3D's training renders)."""
    LAMBERT = "lambert"
    """Pixel = colour x (ambient + diffuse max(0, n . l)) with the camera-space light of
    :func:`render.shading.shade_lambert` and flat face normals: the light model of
    :mod:`get3d.data.prepare`, so the colour recovered is the albedo."""


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")


def _non_negative(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")


def _positive(name: str, value: object) -> None:
    _non_negative(name, value)
    if value == 0:
        raise ValueError(f"{name}: expected a number > 0, got {value!r}")


@dataclass(frozen=True)
class ReconstructConfig:
    """Everything :func:`get3d.reconstruct.reconstruct` can be told. Defaults suit 128² views on CPU.

    Attributes:
        grid_resolutions: coarse-to-fine schedule of BCC tet-grid resolutions (cells per side,
            :meth:`dmtet.TetGrid.bcc`); each stage starts from the previous stage's SDF,
            deformation (and vertex colours) interpolated barycentrically onto the finer grid.
        steps: optimisation steps of each stage, same length as ``grid_resolutions``.
        grid_scale: side of the box the grid fills, centred on the origin (GET3D's ``dmtet_scale``);
            the object must lie inside it.
        views_per_step: training views rendered per step (a random subset, drawn without
            replacement and cycled, so every view is used once per epoch).
        lr: Adam learning rate of the SDF and the deformation.
        lr_color: Adam learning rate of the colour parameters.
        lr_decay: learning rates are multiplied by this factor over each stage (exponentially,
            1.0 = constant).
        init: :class:`Init`, the starting SDF of the coarsest grid.
        init_radius: radius of the sphere of ``Init.SPHERE`` (world units).
        max_deform: bound of each grid vertex's offset, in units of the grid's median edge length
            (``max_deform * tanh(raw)`` per axis; GET3D bounds it at about half a cell).
        weight_silhouette: weight of the MSE between antialiased and target masks.
        weight_rgb: weight of the L1 distance between rendered and target RGB (in [-1, 1]).
        weight_sign: weight of the SDF sign regulariser :func:`dmtet.sdf_sign_reg`.
        weight_smooth: weight of the uniform-Laplacian smoothness of the extracted mesh
            (:func:`get3d.reconstruct.losses.laplacian_smoothness`, in squared grid-edge units).
        color_mode: :class:`ColorMode`.
        mlp_hidden, mlp_layers: width and number of hidden layers of the colour MLP.
        mlp_frequencies: Fourier-feature octaves of the colour MLP's input (0 = raw positions).
        shading: :class:`Shading`, how colours become pixels.
        ambient, diffuse: the Lambert weights when ``shading`` is LAMBERT (prepare's defaults).
        seed: seeds the view order and the MLP initialisation.
        backend: rasterizer backend (``"auto"``, ``"torch"``, ``"nvdiffrast"``).
        progress: show a tqdm progress bar.
    """

    grid_resolutions: tuple[int, ...] = (12, 20, 28)
    steps: tuple[int, ...] = (120, 100, 80)
    grid_scale: float = 1.0
    views_per_step: int = 4
    lr: float = 0.01
    lr_color: float = 0.01
    lr_decay: float = 0.3
    init: Init = Init.VISUAL_HULL
    init_radius: float = 0.3
    max_deform: float = 0.45
    weight_silhouette: float = 1.0
    weight_rgb: float = 0.5
    weight_sign: float = 0.01
    weight_smooth: float = 0.05
    color_mode: ColorMode = ColorMode.MLP
    mlp_hidden: int = 64
    mlp_layers: int = 2
    mlp_frequencies: int = 4
    shading: Shading = Shading.UNLIT
    ambient: float = 0.25
    diffuse: float = 0.75
    seed: int = 0
    backend: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("grid_resolutions", "steps"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not value:
                raise ValueError(f"{name}: expected a non-empty tuple of positive ints, got {value!r}")
            for item in value:
                _positive_int(name, item)
        if len(self.grid_resolutions) != len(self.steps):
            raise ValueError(
                f"steps: expected one entry per grid resolution ({len(self.grid_resolutions)}), "
                f"got {len(self.steps)}"
            )
        if any(b <= a for a, b in zip(self.grid_resolutions, self.grid_resolutions[1:], strict=False)):
            raise ValueError(
                f"grid_resolutions: expected a strictly increasing tuple, got {self.grid_resolutions}"
            )
        for name in ("views_per_step", "mlp_hidden", "mlp_layers"):
            _positive_int(name, getattr(self, name))
        if (
            isinstance(self.mlp_frequencies, bool)
            or not isinstance(self.mlp_frequencies, int)
            or self.mlp_frequencies < 0
        ):
            raise ValueError(f"mlp_frequencies: expected an int >= 0, got {self.mlp_frequencies!r}")
        for name in ("grid_scale", "lr", "lr_color", "lr_decay", "init_radius", "max_deform"):
            _positive(name, getattr(self, name))
        for name in ("weight_silhouette", "weight_rgb", "weight_sign", "weight_smooth", "ambient", "diffuse"):
            _non_negative(name, getattr(self, name))
        if self.init_radius >= self.grid_scale / 2:
            raise ValueError(
                "init_radius: expected a sphere inside the grid box "
                f"(< grid_scale / 2 = {self.grid_scale / 2}), got {self.init_radius}"
            )
        for name, kind in (("color_mode", ColorMode), ("shading", Shading), ("init", Init)):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, kind(value))
            except ValueError:
                names = ", ".join(repr(m.value) for m in kind)
                raise ValueError(
                    f"{name}: expected a {kind.__name__} or one of {names}, got {value!r}"
                ) from None
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed: expected an int >= 0, got {self.seed!r}")
        if self.backend not in ("auto", "torch", "nvdiffrast"):
            raise ValueError(f"backend: expected 'auto', 'torch' or 'nvdiffrast', got {self.backend!r}")
