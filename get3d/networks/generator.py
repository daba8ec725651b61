"""GET3D's generator (official ``GeneratorDMTETMesh``), unified or separate.

State (names equal the official checkpoints, so they load with ``strict=True``):

* ``mapping`` (texture, ``num_ws_tex`` copies) and ``mapping_geo`` (geometry, ``num_ws_geo``);
* ``synthesis``: with ``config.one_3d_generator`` (default) the unified model's
  :class:`GeneratorSynthesis`: ``synthesis.generator`` =
  :class:`~get3d.networks.heads.TriplaneTexGeo` (backbone + heads; 9 texture and 22 geometry w's);
  otherwise the separate model's :class:`~get3d.networks.separate.SeparateSynthesis`
  (``synthesis.geometry_synthesis_{sdf,def,tex}``; 22 texture and 11 geometry w's);
* ``synthesis.to_rgb``: ToRGB 16 -> 3 (clamp 256), modulated by the last texture w.

With ``config.iso_surface`` FlexiCubes (unified model only) the heads gain
``synthesis.generator.mlp_synthesis_weight`` and meshes come from a
:class:`~get3d.networks.flexicubes.VoxelGrid` of ``grid_resolution`` cubes per side
(:attr:`Generator.grid`), built from the configuration.

The tet grid used for mesh extraction is explicit state of the module, :attr:`Generator.tet_grid`:
given to the constructor (e.g. ``dmtet.TetGrid.load('90_compress.npz', scale)`` for GET3D's own
grid), else loaded from the configuration's ``tet_grid`` file or built as
``TetGrid.bcc(grid_resolution, dmtet_scale)``, replaced only by
:meth:`Generator.set_grid`. It is not in the ``state_dict`` (official checkpoints do not store
it) and follows the module through ``.to()`` / ``.cuda()`` / ``.double()``. World frame: Y up,
object in the box ``[-s/2, s/2]^3`` with ``s = dmtet_scale``; SDF positive inside.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

import dmtet
from render.backend import BackendLike
from render.camera import Cameras

from .config import GeneratorConfig
from .conv import NoiseMode, ToRGBLayer
from .flexicubes import VoxelGrid, extract_meshes
from .grids import configured_grid
from .heads import TriplaneTexGeo, bound_deformation, postprocess_geometry
from .mapping import MappingNetwork
from .mixing import draw_mixing_cutoffs, splice_styles
from .outputs import GeneratedMesh, GridGeometry, Latents, PointGeometry, Triplanes
from .rendering import GeneratorOutput, render_textured
from .separate import SeparateSynthesis

__all__ = ["Generator", "GeneratorSynthesis"]


class GeneratorSynthesis(nn.Module):
    """The unified model's container with the official layout: ``generator`` (triplanes + heads)
    and ``to_rgb``. Shares its interface with :class:`~get3d.networks.separate.SeparateSynthesis`:
    ``num_ws_tex``, ``num_ws_geo``, ``default_noise_mode``, :meth:`features`,
    :meth:`sdf_deformation`, :meth:`texture_feature` (full w's in, the heads slice them)."""

    default_noise_mode = NoiseMode.CONST

    def __init__(self, cfg: GeneratorConfig) -> None:
        super().__init__()
        self.generator = TriplaneTexGeo(
            cfg.w_dim,
            cfg.triplane_resolution,
            cfg.triplane_channels,
            cfg.feat_channels,
            cfg.mlp_hidden,
            cfg.mlp_layers,
            cfg.channel_base,
            cfg.channel_max,
            cfg.conv_clamp,
            flexicubes=cfg.flexicubes,
        )
        self.to_rgb = ToRGBLayer(cfg.feat_channels, 3, cfg.w_dim, conv_clamp=256)
        self.num_ws_tex = self.generator.num_ws_tex
        self.num_ws_geo = self.generator.num_ws_geo

    def features(
        self, ws_tex: torch.Tensor, ws_geo: torch.Tensor, noise_mode: NoiseMode | str = NoiseMode.CONST
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(geometry triplane, texture triplane)``, each ``[B, 3C, R, R]``."""
        return self.generator.get_feature(ws_tex, ws_geo, noise_mode=noise_mode)

    def sdf_deformation(
        self, geo: torch.Tensor, points: torch.Tensor, ws_geo: torch.Tensor, box_min: float, box_size: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw head outputs at ``points [B, P, 3]``: sdf ``[B, P, 1]``, deformation ``[B, P, 3]``."""
        heads = self.generator
        return heads.sdf_deformation(geo, points, ws_geo[:, heads.num_ws_geo_backbone :], box_min, box_size)

    def sdf_deformation_weights(
        self,
        geo: torch.Tensor,
        points: torch.Tensor,
        ws_geo: torch.Tensor,
        box_min: float,
        box_size: float,
        cubes: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """FlexiCubes model: raw sdf ``[B, N, 1]``, deformation ``[B, N, 3]`` at the grid vertices
        and per-cube weights ``[B, K, 21]`` of ``cubes [K, 8]``."""
        heads = self.generator
        ws = ws_geo[:, heads.num_ws_geo_backbone :]
        return heads.sdf_deformation_weights(geo, points, ws, box_min, box_size, cubes)

    def texture_feature(
        self,
        tex: torch.Tensor,
        points: torch.Tensor,
        ws_tex: torch.Tensor,
        ws_geo: torch.Tensor,
        box_min: float,
        box_size: float,
    ) -> torch.Tensor:
        """Texture features ``[B, P, feat_channels]`` at world points ``[B, P, 3]`` (``ws_geo``
        unused: the unified texture head reads only texture w's)."""
        heads = self.generator
        return heads.texture_feature(tex, points, ws_tex[:, heads.num_ws_tex_backbone :], box_min, box_size)


def _check_points(name: str, points: object, batch: int) -> torch.Tensor:
    if not isinstance(points, torch.Tensor) or not points.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor [B, P, 3], got {type(points).__name__}")
    if points.ndim == 2 and points.shape[1] == 3:
        points = points.unsqueeze(0).expand(batch, -1, -1)
    if points.ndim != 3 or points.shape[0] != batch or points.shape[2] != 3:
        raise ValueError(f"{name}: expected shape [{batch}, P, 3] or [P, 3], got {tuple(points.shape)}")
    return points


class Generator(nn.Module):
    """Two latents in, triplanes, SDF/deformation/colour fields, meshes and renders out.

    Args:
        config: sizes (default: the official model); every size is configurable.
        grid: the tet grid for mesh extraction (:attr:`tet_grid`); None loads the configuration's
            ``tet_grid`` file, or without one builds ``TetGrid.bcc(grid_resolution, dmtet_scale)``.
            Its box must be ``[-s/2, s/2]^3``.
            FlexiCubes models take no grid (None): their voxel grid follows the configuration.
    """

    def __init__(self, config: GeneratorConfig | None = None, grid: dmtet.TetGrid | None = None) -> None:
        super().__init__()
        cfg = GeneratorConfig() if config is None else config
        if not isinstance(cfg, GeneratorConfig):
            raise TypeError(f"config: expected a GeneratorConfig, got {type(cfg).__name__}")
        self.config = cfg
        self.synthesis = GeneratorSynthesis(cfg) if cfg.one_3d_generator else SeparateSynthesis(cfg)
        self.num_ws = self.synthesis.num_ws_tex
        self.num_ws_geo = self.synthesis.num_ws_geo
        mapping_kwargs = dict(
            num_layers=cfg.mapping_layers, lr_multiplier=cfg.mapping_lr_multiplier, w_avg_beta=cfg.w_avg_beta
        )
        self.mapping = MappingNetwork(cfg.z_dim, 0, cfg.w_dim, self.num_ws, **mapping_kwargs)
        self.mapping_geo = MappingNetwork(cfg.z_dim, 0, cfg.w_dim, self.num_ws_geo, **mapping_kwargs)
        if cfg.flexicubes:
            if grid is not None:
                raise ValueError(
                    f"grid: a FlexiCubes generator extracts meshes from its voxel grid of "
                    f"config.grid_resolution ({cfg.grid_resolution}) cubes per side; pass no tet grid, "
                    f"got {type(grid).__name__}"
                )
            self._grid: dmtet.TetGrid | VoxelGrid = VoxelGrid.build(cfg.grid_resolution, cfg.dmtet_scale)
            return
        if grid is None:
            with torch.device("cpu"):  # real data even when the module is built on the meta device
                grid = configured_grid(cfg)
        self._grid = self._placed_grid(grid)

    # ------------------------------------------------------------------ grid and box
    @property
    def box_min(self) -> float:
        return -0.5 * self.config.dmtet_scale

    @property
    def box_size(self) -> float:
        return float(self.config.dmtet_scale)

    @property
    def grid(self) -> dmtet.TetGrid | VoxelGrid:
        """The grid of mesh extraction: the tet grid (DMTet) or the voxel grid (FlexiCubes), on the
        parameters' device with vertices in their dtype. Both carry ``vertices``, ``edges`` (for
        the SDF sign regulariser), ``center_idx``, ``boundary_idx`` and ``num_vertices``."""
        return self._grid

    @property
    def tet_grid(self) -> dmtet.TetGrid:
        """The tet grid of mesh extraction, on the parameters' device with vertices in their dtype
        (GET3D casts its float64 grid files to float32). Set by the constructor or :meth:`set_grid`.

        Raises:
            ValueError: a FlexiCubes generator (it has a voxel grid, :attr:`grid`).
        """
        if self.config.flexicubes:
            raise ValueError(
                "tet_grid: a FlexiCubes generator has no tet grid; its voxel grid is Generator.grid"
            )
        return self._grid

    def set_grid(self, grid: dmtet.TetGrid) -> None:
        """Use ``grid`` for mesh extraction from now on (checked to span the object box; DMTet
        generators only: a FlexiCubes generator's voxel grid follows ``config.grid_resolution``)."""
        if self.config.flexicubes:
            raise ValueError(
                "grid: a FlexiCubes generator's voxel grid follows config.grid_resolution; build the "
                "generator with another grid_resolution (load_generator(..., grid_resolution=r))"
            )
        self._grid = self._placed_grid(grid)

    def _placed_grid(self, grid: dmtet.TetGrid) -> dmtet.TetGrid:
        """``grid`` checked against the object box, on the parameters' device and dtype."""
        if not isinstance(grid, dmtet.TetGrid):
            raise TypeError(f"grid: expected a dmtet.TetGrid, got {type(grid).__name__}")
        lo, hi = float(grid.vertices.min()), float(grid.vertices.max())
        tol = 1e-4 * self.box_size
        if abs(lo - self.box_min) > tol or abs(hi - (self.box_min + self.box_size)) > tol:
            raise ValueError(
                f"grid: expected vertices spanning [{self.box_min}, {self.box_min + self.box_size}] "
                f"(dmtet_scale {self.config.dmtet_scale}), got [{lo:.6g}, {hi:.6g}]"
            )
        return self._grid_like_parameters(grid)

    def _grid_like_parameters(self, grid: dmtet.TetGrid | VoxelGrid) -> dmtet.TetGrid | VoxelGrid:
        """``grid`` on the parameters' device with vertices in their dtype (kept where it is while
        the parameters are on the meta device, which holds no data)."""
        weight = self.mapping.fc0.weight
        if weight.device.type == "meta":
            return grid
        if grid.vertices.device != weight.device or grid.vertices.dtype != weight.dtype:
            grid = grid.to(weight.device, weight.dtype)
        return grid

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True) -> Generator:
        """``nn.Module``'s hook behind ``.to()`` / ``.cuda()`` / ``.double()`` / ``.to_empty()``:
        move and cast the parameters, then the grid to follow them."""
        super()._apply(fn, recurse)
        self._grid = self._grid_like_parameters(self._grid)
        return self

    # ------------------------------------------------------------------ latents
    def map_latents(
        self,
        z_geo: torch.Tensor,
        z_tex: torch.Tensor,
        truncation_psi: float = 1.0,
        update_emas: bool = False,
    ) -> Latents:
        """Map ``z_geo, z_tex [B, z_dim]`` (N(0, I)) to per-layer w's with truncation ``psi``."""
        if z_geo.shape != z_tex.shape:
            raise ValueError(
                f"z_geo, z_tex: expected equal shapes, got {tuple(z_geo.shape)} and {tuple(z_tex.shape)}"
            )
        tex = self.mapping(z_tex, None, truncation_psi=truncation_psi, update_emas=update_emas)
        geo = self.mapping_geo(z_geo, None, truncation_psi=truncation_psi, update_emas=update_emas)
        return Latents(geo=geo, tex=tex)

    def map_latents_mixed(
        self,
        z_geo: torch.Tensor,
        z_tex: torch.Tensor,
        mixing_prob: float = 0.9,
        truncation_psi: float = 1.0,
        update_emas: bool = False,
        generator: torch.Generator | None = None,
    ) -> Latents:
        """:meth:`map_latents` with GET3D's training-time style mixing, per stream.

        For the geometry stream, then the texture stream: one cutoff for the whole batch from
        :func:`draw_mixing_cutoffs` (``k ~ U{1, ..., num_ws - 1}``, kept with probability
        ``mixing_prob``); when kept, ``ws[:, k:]`` is replaced (:func:`splice_styles`) by the
        mapping of a fresh ``z ~ N(0, I)`` drawn next (with ``truncation_psi``, without updating
        ``w_avg``). ``generator`` (on its own device; default: the global stream on ``z``'s device)
        makes the draws reproducible. The training step uses exactly this.
        """
        if not 0.0 <= mixing_prob <= 1.0:
            raise ValueError(f"mixing_prob: expected a probability in [0, 1], got {mixing_prob!r}")
        ws = self.map_latents(z_geo, z_tex, truncation_psi=truncation_psi, update_emas=update_emas)
        mixed = []
        for mapping, z, w in ((self.mapping_geo, z_geo, ws.geo), (self.mapping, z_tex, ws.tex)):
            device = z.device if generator is None else generator.device
            cutoff = draw_mixing_cutoffs(w.shape[1], (), mixing_prob, generator, device)
            if int(cutoff) < w.shape[1]:
                fresh = torch.randn(z.shape, generator=generator, device=device).to(z)
                other = mapping(fresh, None, truncation_psi=truncation_psi)
                w = splice_styles(w, other, cutoff.expand(w.shape[0]))
            mixed.append(w)
        return Latents(geo=mixed[0], tex=mixed[1])

    @torch.no_grad()
    def update_w_avg(self, num_samples: int = 100_000, generator: torch.Generator | None = None) -> None:
        """Overwrite both mappings' ``w_avg`` with the mean w of ``num_samples`` fresh z's, as
        GET3D does before visualisation and export (truncation pulls towards this mean)."""
        self.mapping.update_w_avg(num_samples, generator=generator)
        self.mapping_geo.update_w_avg(num_samples, generator=generator)

    def _check_latents(self, ws: Latents) -> None:
        if not isinstance(ws, Latents):
            raise TypeError(f"ws: expected Latents, got {type(ws).__name__}")
        w = self.config.w_dim
        if ws.geo.ndim != 3 or tuple(ws.geo.shape[1:]) != (self.num_ws_geo, w):
            raise ValueError(f"ws.geo: expected [B, {self.num_ws_geo}, {w}], got {tuple(ws.geo.shape)}")
        if tuple(ws.tex.shape) != (ws.geo.shape[0], self.num_ws, w):
            raise ValueError(
                f"ws.tex: expected [{ws.geo.shape[0]}, {self.num_ws}, {w}], got {tuple(ws.tex.shape)}"
            )

    # ------------------------------------------------------------------ fields
    def triplanes(self, ws: Latents, noise_mode: NoiseMode | str | None = None) -> Triplanes:
        """Geometry and texture features: the unified model's triplanes ``[B, 3C, R, R]`` each;
        the separate model's SDF and deformation volumes ``[B, 2C, V, V, V]`` and texture
        triplane.

        ``noise_mode`` None = GET3D's: const for the unified model, random for the separate
        model's texture triplane (its only noise input).
        """
        self._check_latents(ws)
        mode = self.synthesis.default_noise_mode if noise_mode is None else noise_mode
        geo, tex = self.synthesis.features(ws.tex, ws.geo, noise_mode=mode)
        return Triplanes(geometry=geo, texture=tex)

    def query_geometry(self, planes: Triplanes, ws: Latents, points: torch.Tensor) -> PointGeometry:
        """SDF (positive inside; a FlexiCubes model's raw head output negated) and bounded
        deformation at world points ``[B, P, 3]`` (or ``[P, 3]`` for all)."""
        self._check_latents(ws)
        points = _check_points("points", points, ws.geo.shape[0])
        sdf, deform = self.synthesis.sdf_deformation(
            planes.geometry, points, ws.geo, self.box_min, self.box_size
        )
        return self._point_geometry(sdf, deform)

    def _point_geometry(self, raw_sdf: torch.Tensor, raw_deform: torch.Tensor) -> PointGeometry:
        cfg = self.config
        deform = bound_deformation(raw_deform, cfg.deformation_divisor, cfg.effective_deformation_multiplier)
        sdf = raw_sdf[..., 0]
        return PointGeometry(-sdf if cfg.flexicubes else sdf, deform)

    def query_features(self, planes: Triplanes, ws: Latents, points: torch.Tensor) -> torch.Tensor:
        """Texture features ``[B, P, feat_channels]`` at world points ``[B, P, 3]``."""
        self._check_latents(ws)
        points = _check_points("points", points, ws.tex.shape[0])
        return self.synthesis.texture_feature(
            planes.texture, points, ws.tex, ws.geo, self.box_min, self.box_size
        )

    def features_to_rgb(self, features: torch.Tensor, ws: Latents) -> torch.Tensor:
        """Final ToRGB of a feature image ``[B, feat, H, W]`` -> RGB ``[B, 3, H, W]``."""
        return self.synthesis.to_rgb(features, ws.tex[:, -1])

    def query_rgb(self, planes: Triplanes, ws: Latents, points: torch.Tensor) -> torch.Tensor:
        """RGB ``[B, P, 3]`` (about [-1, 1]) of the texture field at world points ``[B, P, 3]``."""
        feat = self.query_features(planes, ws, points)  # [B, P, F]
        rgb = self.features_to_rgb(feat.permute(0, 2, 1).unsqueeze(-1), ws)  # [B, 3, P, 1]
        return rgb[..., 0].permute(0, 2, 1)

    def grid_geometry(self, planes: Triplanes, ws: Latents) -> GridGeometry:
        """SDF and deformation on every grid vertex, with GET3D's empty-shape fix (FlexiCubes: the
        test reads the interior vertices, the fallback shell is 2 voxels thick), and for FlexiCubes
        the per-cube weights."""
        grid = self._grid
        verts = grid.vertices.to(planes.geometry.dtype)
        weights = check_idx = None
        if isinstance(grid, VoxelGrid):
            self._check_latents(ws)
            points = _check_points("points", verts, ws.geo.shape[0])
            sdf, deform, weights = self.synthesis.sdf_deformation_weights(
                planes.geometry, points, ws.geo, self.box_min, self.box_size, grid.cubes
            )
            field = self._point_geometry(sdf, deform)
            check_idx = grid.interior_idx
        else:
            field = self.query_geometry(planes, ws, verts)
        sdf, deform, reg, empty = postprocess_geometry(
            field.sdf, field.deformation, grid.center_idx, grid.boundary_idx, check_idx
        )
        return GridGeometry(
            sdf=sdf, deformation=deform, vertices=verts + deform, sdf_reg=reg, empty=empty, weights=weights
        )

    def meshes(self, geometry: GridGeometry) -> list[dmtet.SurfaceMesh] | list[dmtet.FlexiCubesMesh]:
        """One mesh per sample, outward faces: marching tets on the deformed tet grid, or
        FlexiCubes on the deformed voxel grid (quads split in 4 around a centre in training mode,
        in 2 in eval mode, as GET3D; each mesh carries its ``l_dev``)."""
        if isinstance(self._grid, VoxelGrid):
            if geometry.weights is None:
                raise ValueError("geometry: expected the FlexiCubes weights of grid_geometry, got None")
            grid, training = self._grid, self.training
            return extract_meshes(grid, geometry.sdf, geometry.deformation, geometry.weights, training)
        return dmtet.marching_tets(self._grid, geometry.sdf, geometry.deformation, outward=True)

    @torch.no_grad()
    def extract_meshes(self, ws: Latents) -> list[GeneratedMesh]:
        """One mesh per sample with per-vertex colours from the texture field (inference)."""
        planes = self.triplanes(ws)
        out = []
        for i, mesh in enumerate(self.meshes(self.grid_geometry(planes, ws))):
            one = Latents(geo=ws.geo[i : i + 1], tex=ws.tex[i : i + 1])
            sub = Triplanes(planes.geometry[i : i + 1], planes.texture[i : i + 1])
            colors = (
                self.query_rgb(sub, one, mesh.vertices[None])[0]
                if mesh.vertices.shape[0]
                else (mesh.vertices.new_zeros(0, 3))
            )
            out.append(GeneratedMesh(mesh.vertices, mesh.faces, colors))
        return out

    # ------------------------------------------------------------------ rendering
    def render_geometry(
        self,
        planes: Triplanes,
        ws: Latents,
        geometry: GridGeometry,
        cameras: Cameras,
        resolution: int | None = None,
        *,
        backend: BackendLike = "auto",
    ) -> GeneratorOutput:
        """Extract the meshes of ``geometry`` and render them.

        ``cameras`` holds ``n_views * B`` cameras, sample-major: sample ``b`` is seen from cameras
        ``b * n_views ... (b + 1) * n_views - 1`` (GET3D trains with ``n_views = 1``). The images
        follow the cameras' order. ``backend`` is the process's rasterizer context
        (``render.make_context``; pass the same one to every call) or a backend name.
        """
        self._check_latents(ws)
        if not isinstance(cameras, Cameras):
            raise TypeError(f"cameras: expected render.camera.Cameras, got {type(cameras).__name__}")
        batch = ws.geo.shape[0]
        if cameras.batch_size % batch != 0 or cameras.batch_size == 0:
            raise ValueError(
                f"cameras: expected a positive multiple of the batch size {batch} (n_views per sample, "
                f"sample-major), got {cameras.batch_size}"
            )
        n_views = cameras.batch_size // batch
        res = self.config.image_resolution if resolution is None else resolution
        meshes = self.meshes(geometry)
        syn = self.synthesis
        tex_planes, tex_ws, geo_ws = planes.texture, ws.tex, ws.geo
        if n_views > 1:
            tex_planes = tex_planes.repeat_interleave(n_views, dim=0)
            tex_ws = tex_ws.repeat_interleave(n_views, dim=0)
            geo_ws = geo_ws.repeat_interleave(n_views, dim=0)
        rgb, mask, hard = render_textured(
            [meshes[i // n_views] for i in range(batch * n_views)],
            cameras,
            res,
            lambda pts: syn.texture_feature(tex_planes, pts, tex_ws, geo_ws, self.box_min, self.box_size),
            lambda feat: self.synthesis.to_rgb(feat, tex_ws[:, -1]),
            self.config.feat_channels,
            backend=backend,
        )
        image = torch.cat([rgb, mask.to(rgb.dtype)], dim=1)
        return GeneratorOutput(
            image=image, rgb=rgb, mask=mask, hard_mask=hard, geometry=geometry, meshes=meshes
        )

    def render(
        self,
        ws: Latents,
        cameras: Cameras,
        resolution: int | None = None,
        *,
        backend: BackendLike = "auto",
    ) -> GeneratorOutput:
        """The full GET3D forward pass: ws -> triplanes -> grid SDF -> meshes -> ``[RGB | mask]``.

        Args:
            ws: latents of ``B`` samples (:meth:`map_latents`).
            cameras: ``n_views * B`` cameras (``render.camera``), sample-major (see
                :meth:`render_geometry`).
            resolution: image side (default ``config.image_resolution``).
            backend: the process's rasterizer context (``render.make_context``), reused by every
                call, or a backend name (a context is then made for this call).
        """
        planes = self.triplanes(ws)
        return self.render_geometry(
            planes, ws, self.grid_geometry(planes, ws), cameras, resolution, backend=backend
        )

    def forward(
        self,
        z_geo: torch.Tensor,
        z_tex: torch.Tensor,
        cameras: Cameras,
        truncation_psi: float = 1.0,
        update_emas: bool = False,
    ) -> GeneratorOutput:
        """Map the latents and render them: ``render(map_latents(z_geo, z_tex), cameras)``."""
        ws = self.map_latents(z_geo, z_tex, truncation_psi=truncation_psi, update_emas=update_emas)
        return self.render(ws, cameras)
