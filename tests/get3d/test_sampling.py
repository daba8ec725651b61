"""Sampling API (tiny generator, random weights): seeds, truncation, turntables, export;
interpolation: endpoints, modes, grid layout, slerp."""

from __future__ import annotations

import math

import pytest
import torch

import dmtet
from get3d.interpolation import (
    InterpolationMode,
    interpolate_latents,
    interpolation_grid,
    lerp,
    slerp,
    steps_t,
)
from get3d.networks import Generator, GeneratorConfig
from get3d.networks.outputs import Latents
from get3d.sampling import (
    export_sample,
    prepare_generator,
    render_turntable,
    sample_latents,
    textured_mesh_of,
)
from render.camera import visualization_cameras

from .roundtrip import assert_silhouettes_match, load_mesh_file, obj_counts, silhouette


@pytest.fixture(scope="module")
def G():
    torch.manual_seed(0)
    cfg = GeneratorConfig.tiny()
    grid = dmtet.TetGrid.bcc(8, scale=cfg.dmtet_scale)
    return Generator(cfg, grid=grid).eval().requires_grad_(False)


@pytest.fixture(scope="module")
def G_separate():
    torch.manual_seed(0)
    cfg = GeneratorConfig.tiny(one_3d_generator=False)
    grid = dmtet.TetGrid.bcc(8, scale=cfg.dmtet_scale)
    return Generator(cfg, grid=grid).eval().requires_grad_(False)


@pytest.fixture(scope="module")
def G_flexicubes():
    torch.manual_seed(0)
    return Generator(GeneratorConfig.tiny(iso_surface="flexicubes")).eval().requires_grad_(False)


@pytest.fixture(params=["unified", "separate", "flexicubes"])
def G_any(request, G, G_separate, G_flexicubes):
    """Every generator model (the separate one draws its texture noise at random, as GET3D; its
    noise strengths are 0 at initialisation, so its fields are deterministic here; the FlexiCubes
    one extracts its meshes with dmtet.flexicubes)."""
    return {"unified": G, "separate": G_separate, "flexicubes": G_flexicubes}[request.param]


def test_seeds_are_separate_and_prefix_stable(G):
    a = sample_latents(G, 3, geo_seed=5, tex_seed=7)
    b = sample_latents(G, 2, geo_seed=5, tex_seed=8)
    assert torch.equal(a.z_geo[:2], b.z_geo) and torch.equal(a.ws.geo[:2], b.ws.geo)
    assert not torch.allclose(a.z_tex[:2], b.z_tex)
    c = sample_latents(G, 1, geo_seed=5)
    assert torch.equal(
        c.z_tex[0], sample_latents(G, 1, geo_seed=0, tex_seed=6).z_tex[0]
    )  # default tex = geo + 1
    assert a.ws.geo.shape == (3, G.num_ws_geo, G.config.w_dim) and a.ws.tex.shape == (
        3,
        G.num_ws,
        G.config.w_dim,
    )
    with pytest.raises(ValueError, match="n"):
        sample_latents(G, 0)


def test_w_avg_recomputed_and_truncation(G):
    prepare_generator(G, w_avg_samples=2000, seed=1)
    first = G.mapping.w_avg.clone()
    prepare_generator(G, w_avg_samples=2000, seed=1)
    assert torch.equal(G.mapping.w_avg, first)
    lat = sample_latents(G, 2, psi=0.0)
    assert torch.allclose(lat.ws.tex, G.mapping.w_avg.expand_as(lat.ws.tex), atol=1e-6)
    assert torch.allclose(lat.ws.geo, G.mapping_geo.w_avg.expand_as(lat.ws.geo), atol=1e-6)
    full = sample_latents(G, 2, psi=1.0)
    half = sample_latents(G, 2, psi=0.5)
    assert torch.allclose(half.ws.tex, G.mapping.w_avg + 0.5 * (full.ws.tex - G.mapping.w_avg), atol=1e-5)


def test_w_avg_is_the_mean_mapped_w(G):
    prepare_generator(G, w_avg_samples=500, seed=3)
    z = torch.randn(500, G.config.z_dim, generator=torch.Generator().manual_seed(3))
    w = G.mapping(z, None, truncation_psi=1.0)[:, 0]
    assert torch.allclose(G.mapping.w_avg, w.mean(0), atol=1e-5)


def test_turntable_and_background(G):
    lat = sample_latents(G, 1, geo_seed=1)
    img = render_turntable(G, lat.ws, n_views=3, resolution=16, background=1.0)
    assert img.shape == (1, 3, 3, 16, 16) and img.min() >= -1 and img.max() <= 1
    # compositing: img(bg=1) - img(bg=-1) = 2 (1 - mask), the same in every channel
    diff = img - render_turntable(G, lat.ws, n_views=3, resolution=16, background=-1.0)
    assert torch.allclose(diff, diff[:, :, :1].expand_as(diff), atol=1e-5)
    assert diff.min() >= -1e-5 and diff.max() <= 2 + 1e-5 and diff.max() > 1.9
    raw = render_turntable(G, lat.ws, n_views=3, views=[1], resolution=16, background=None)
    assert torch.allclose(
        raw[:, 0], render_turntable(G, lat.ws, n_views=3, resolution=16, background=None)[:, 1], atol=1e-5
    )
    with pytest.raises(ValueError, match="views"):
        render_turntable(G, lat.ws, n_views=3, views=[3])


def test_texture_field_of_export_matches_generator(G_any):
    G = G_any
    lat = sample_latents(G, 4, geo_seed=2)
    meshes = G.extract_meshes(lat.ws)
    i = next(k for k, m in enumerate(meshes) if m.faces.shape[0] > 0)
    tm = textured_mesh_of(G, lat.ws, i, texture_size=32)
    assert torch.equal(tm.faces, meshes[i].faces) and torch.allclose(
        tm.vertices, meshes[i].vertices, atol=1e-5
    )
    from get3d.networks import Latents
    from get3d.sampling import generator_color_fn

    one = Latents(geo=lat.ws.geo[i : i + 1], tex=lat.ws.tex[i : i + 1])
    fn = generator_color_fn(G, lat.ws, i)
    assert torch.allclose(fn(meshes[i].vertices), meshes[i].vertex_colors, atol=1e-5)
    assert torch.allclose(fn(meshes[i].vertices[:5]), generator_color_fn(G, one, 0)(meshes[i].vertices[:5]))
    planes = G.triplanes(lat.ws)
    given = generator_color_fn(G, lat.ws, i, planes=planes)
    assert torch.allclose(given(meshes[i].vertices[:5]), fn(meshes[i].vertices[:5]), atol=1e-6)
    with pytest.raises(ValueError, match="planes"):
        generator_color_fn(G, one, 0, planes=planes)  # batch 4 planes for batch 1 latents


def test_exported_files_render_like_the_generator(G_any, tmp_path):
    """``export_sample``'s GLB and OBJ, read back by trimesh and rendered from the generator's
    cameras, have the silhouettes of the generator's own render; the OBJ has the generated mesh's
    vertex and face counts."""
    G = G_any
    lat = sample_latents(G, 4, geo_seed=2)
    meshes = G.extract_meshes(lat.ws)
    i = next(k for k, m in enumerate(meshes) if m.faces.shape[0] > 0)
    glb = export_sample(G, lat.ws, i, tmp_path / "s.glb", texture_size=16)
    obj = export_sample(G, lat.ws, i, tmp_path / "s.obj", texture_size=16)
    assert [p.name for p in glb] == ["s.glb"] and [p.name for p in obj] == ["s.obj", "s.mtl", "s.png"]
    counts = obj_counts(obj[0])
    assert (counts["v"], counts["f"]) == (meshes[i].vertices.shape[0], meshes[i].faces.shape[0])
    cams = visualization_cameras(4, elevation_deg=30.0)
    one = Latents(geo=lat.ws.geo[i : i + 1], tex=lat.ws.tex[i : i + 1])
    with torch.no_grad():
        want = G.render(one, cams, 64, backend="torch").hard_mask[:, 0] > 0.5
    for path in (glb[0], obj[0]):
        vertices, faces = load_mesh_file(path)
        assert faces.shape[0] == meshes[i].faces.shape[0]
        assert_silhouettes_match(silhouette(vertices, faces, cams, 64), want)


def test_interpolation_endpoints_equal_samples(G):
    a = sample_latents(G, 1, geo_seed=10, tex_seed=11, psi=0.7)
    b = sample_latents(G, 1, geo_seed=12, tex_seed=13, psi=0.7)
    zg, zt = (a.z_geo[0], b.z_geo[0]), (a.z_tex[0], b.z_tex[0])
    for space in ("w", "z"):
        path = interpolate_latents(G, zg, zt, 5, mode="both", space=space, psi=0.7)
        assert path.geo.shape[0] == 5
        assert torch.allclose(path.geo[0], a.ws.geo[0], atol=1e-5) and torch.allclose(
            path.tex[0], a.ws.tex[0], atol=1e-5
        )
        assert torch.allclose(path.geo[-1], b.ws.geo[0], atol=1e-5)
        assert torch.allclose(path.tex[-1], b.ws.tex[0], atol=1e-5)
    geo_only = interpolate_latents(G, zg, zt, 4, mode=InterpolationMode.GEOMETRY)
    assert torch.allclose(geo_only.tex, a.ws.tex.expand(4, -1, -1), atol=1e-6)
    assert torch.allclose(geo_only.geo[2], a.ws.geo[0] + 2 / 3 * (b.ws.geo[0] - a.ws.geo[0]), atol=1e-5)
    tex_only = interpolate_latents(G, zg, zt, 4, mode="texture")
    assert torch.allclose(tex_only.geo, a.ws.geo.expand(4, -1, -1), atol=1e-6)
    grid = interpolation_grid(G, zg, zt, 3)
    path = interpolate_latents(G, zg, zt, 3)
    for i in range(3):
        for j in range(3):
            assert torch.allclose(grid.geo[i * 3 + j], path.geo[i]) and torch.allclose(
                grid.tex[i * 3 + j], path.tex[j]
            )
    with pytest.raises(ValueError, match="steps"):
        interpolate_latents(G, zg, zt, 1)
    with pytest.raises(ValueError, match="z_geo"):
        interpolate_latents(G, (a.z_geo[0, :3], b.z_geo[0]), zt, 3)


def test_slerp_and_lerp():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    t = steps_t(3)
    s = slerp(a, b, t)
    assert torch.allclose(s[0], a) and torch.allclose(s[-1], b)
    assert torch.allclose(s[1], 1.5 * torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]))
    assert torch.allclose(lerp(a, b, t)[1], torch.tensor([0.5, 1.0]))
    same = slerp(a, 3 * a, t)  # parallel: falls back to lerp
    assert torch.allclose(same[1], 2 * a)
