"""``python -m get3d <command>`` (console script ``get3d``): the library's command line.

::

    get3d doctor                                   # versions, backends and optional packages
    get3d toy-data --out data/procedural ...       # = python -m get3d.data procedural
    get3d prepare MESH_DIR --out ROOT --synset ID  # = python -m get3d.data prepare
    get3d train [--config PRESET|X.yaml] [k=v ...]  # = python train.py
    get3d sample CKPT --out DIR [-n 4 --geo-seed 0 --tex-seed 1 --psi 0.7 --export glb]
    get3d interpolate CKPT --out DIR [--geo-seeds 0 1 --tex-seeds 2 3 --steps 10 --mode both]
    get3d export CKPT --out shape.glb [--geo-seed 0 --tex-seed 1 --texture-size 2048]
    get3d invert CKPT (--images DIR | --mesh FILE) --out DIR [--space w+ --steps 100]
    get3d eval --checkpoint CKPT ...               # = python -m get3d.metrics eval
    get3d serve CKPT [--port 7860 --host 127.0.0.1]  # a local page: seeds, psi, mix, 3D view, GLB/OBJ

``CKPT`` is an official GET3D checkpoint or one written by ``get3d.training``. Argument errors
exit with status 2 and name the flag; long work shows a progress bar (``--no-progress`` hides it).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

from get3d.cli_args import (
    add_export_args,
    add_model_args,
    check_common,
    export_formats,
    load_model,
    material,
    positive_int,
    raster_context,
)

__all__ = ["build_parser", "main"]

_DELEGATED = {
    "prepare": "python -m get3d.data prepare",
    "toy-data": "python -m get3d.data procedural",
    "train": "python train.py",
    "eval": "python -m get3d.metrics eval",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="get3d", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("doctor", help="print versions, chosen backends and optional packages")
    for name, target in _DELEGATED.items():
        sub.add_parser(name, help=f"same as `{target}` (arguments are passed on)", add_help=False)

    s = sub.add_parser("sample", help="sample shapes: image grid, turntable GIFs, textured meshes")
    add_model_args(s)
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("-n", "--num", type=positive_int("--num"), default=4, help="number of shapes (default 4)")
    s.add_argument("--geo-seed", type=int, default=0, help="seed of the geometry codes (default 0)")
    s.add_argument(
        "--tex-seed", type=int, default=None, help="seed of the texture codes (default geo-seed + 1)"
    )
    s.add_argument("--views", type=positive_int("--views"), default=24, help="turntable views (default 24)")
    s.add_argument("--resolution", type=positive_int("--resolution"), default=256, help="image side")
    s.add_argument("--no-turntable", action="store_true", help="only the grid image (GET3D's view 4)")
    s.add_argument("--export", default="none", help="mesh formats: none, glb, obj or glb,obj (default none)")
    add_export_args(s)

    i = sub.add_parser("interpolate", help="interpolate geometry and/or texture latents")
    add_model_args(i)
    i.add_argument("--out", required=True, help="output folder")
    i.add_argument(
        "--geo-seeds", type=int, nargs=2, default=(0, 1), metavar=("A", "B"), help="geometry seeds"
    )
    i.add_argument("--tex-seeds", type=int, nargs=2, default=(2, 3), metavar=("A", "B"), help="texture seeds")
    i.add_argument("--steps", type=positive_int("--steps"), default=10, help="steps per path (default 10)")
    i.add_argument(
        "--mode",
        default="both",
        choices=["geometry", "texture", "both"],
        help="what the strip/GIF interpolate",
    )
    i.add_argument("--space", default="w", choices=["w", "z"], help="linear in w (GET3D) or slerp in z")
    i.add_argument("--resolution", type=positive_int("--resolution"), default=256, help="image side")
    i.add_argument("--no-grid", action="store_true", help="skip the steps x steps geometry-by-texture grid")
    i.add_argument("--export", default="none", help="export every strip step: none, glb, obj or glb,obj")
    add_export_args(i)

    e = sub.add_parser("export", help="export one sampled shape as a textured GLB or OBJ+MTL+PNG")
    add_model_args(e)
    e.add_argument("--out", required=True, help="output file (.glb or .obj)")
    e.add_argument("--geo-seed", type=int, default=0, help="seed of the geometry code (default 0)")
    e.add_argument(
        "--tex-seed", type=int, default=None, help="seed of the texture code (default geo-seed + 1)"
    )
    e.add_argument("--index", type=int, default=0, help="which sample of the seeds' sequence (default 0)")
    e.add_argument("--cleanup", action="store_true", help="drop small floating parts before unwrapping")
    add_export_args(e)
    _add_invert_parser(sub)
    _add_serve_parser(sub)
    for command_parser in sub.choices.values():  # each command's errors name its own usage
        command_parser.set_defaults(command_parser=command_parser)
    return parser


def _add_serve_parser(sub: argparse._SubParsersAction) -> None:
    v = sub.add_parser(
        "serve", help="a local web page: seeds, psi, geometry x texture mix, 3D view, downloads"
    )
    add_model_args(v)
    v.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine)"
    )
    v.add_argument("--port", type=int, default=7860, help="TCP port (default 7860; 0: any free port)")
    add_export_args(v)
    v.set_defaults(texture_size=512)


# ------------------------------------------------------------------------------------------ helpers


def _grid_shape(n: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


# ------------------------------------------------------------------------------------------ commands


def _sample(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import torch
    from tqdm.auto import tqdm

    from get3d.atomic import atomic_files
    from get3d.export import image_grid, save_textured_mesh, write_gif, write_png
    from get3d.sampling import render_turntable, sample_latents, textured_mesh_of
    from render.camera import SNAPSHOT_VIEW

    formats = export_formats(parser, args.export)
    check_common(parser, args)
    if not args.no_turntable and args.views <= SNAPSHOT_VIEW:
        parser.error(f"--views: expected more than {SNAPSHOT_VIEW} (the grid uses view {SNAPSHOT_VIEW})")
    G = load_model(parser, args)
    ctx = raster_context(parser, args, G)
    lat = sample_latents(G, args.num, geo_seed=args.geo_seed, tex_seed=args.tex_seed, psi=args.psi)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    progress = not args.no_progress
    written: list[Path] = []
    if args.no_turntable:
        frames = render_turntable(
            G,
            lat.ws,
            views=[SNAPSHOT_VIEW],
            resolution=args.resolution,
            backend=ctx,
            progress=progress,
        )
        snap = frames[:, 0]
    else:
        frames = render_turntable(
            G, lat.ws, n_views=args.views, resolution=args.resolution, backend=ctx, progress=progress
        )
        snap = frames[:, SNAPSHOT_VIEW]
        for k in range(args.num):
            written.append(write_gif(out / f"sample_{k:03d}_turntable.gif", frames[k]))
    rows, cols = _grid_shape(args.num)
    padded = torch.cat([snap, snap.new_ones(rows * cols - args.num, *snap.shape[1:])])
    written.append(write_png(out / "grid.png", image_grid(padded, rows, cols)))
    with atomic_files([out / "latents.pt"]) as (tmp,):
        torch.save(
            {
                "z_geo": lat.z_geo.cpu(),
                "z_tex": lat.z_tex.cpu(),
                "psi": lat.psi,
                "geo_seed": args.geo_seed,
                "tex_seed": args.geo_seed + 1 if args.tex_seed is None else args.tex_seed,
            },
            tmp,
        )
    written.append(out / "latents.pt")
    max_faces = args.max_faces or None
    for k in tqdm(range(args.num) if formats else [], desc="export", disable=not progress):
        try:  # unwrap and bake once, write every format
            mesh = textured_mesh_of(
                G, lat.ws, k, texture_size=args.texture_size, max_faces=max_faces, backend=ctx
            )
        except ValueError as err:
            print(f"sample {k}: skipped ({err})", file=sys.stderr)
            continue
        for fmt in formats:
            written += save_textured_mesh(out / f"sample_{k:03d}.{fmt}", mesh, material(args))
    print(
        f"wrote {len(written)} files to {out} (grid.png, latents.pt"
        f"{', turntable GIFs' if not args.no_turntable else ''}{', meshes' if formats else ''})"
    )
    return 0


def _interpolate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from get3d.export import image_grid, save_textured_mesh, write_gif, write_png
    from get3d.interpolation import interpolate_latents, interpolation_grid
    from get3d.sampling import render_turntable, sample_latents, textured_mesh_of
    from render.camera import SNAPSHOT_VIEW

    formats = export_formats(parser, args.export)
    check_common(parser, args)
    if args.steps < 2:
        parser.error(f"--steps: expected at least 2, got {args.steps}")
    G = load_model(parser, args)
    ctx = raster_context(parser, args, G)
    progress = not args.no_progress

    def code(seed: int, which: str):
        lat = sample_latents(G, 1, geo_seed=seed, tex_seed=seed, psi=args.psi)
        return (lat.z_geo if which == "geo" else lat.z_tex)[0]

    z_geo = tuple(code(s, "geo") for s in args.geo_seeds)
    z_tex = tuple(code(s, "tex") for s in args.tex_seeds)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    strip = interpolate_latents(G, z_geo, z_tex, args.steps, mode=args.mode, space=args.space, psi=args.psi)
    n_views = 24
    views = render_turntable(
        G, strip, n_views=n_views, resolution=args.resolution, backend=ctx, progress=progress
    )  # [S, 24, 3, H, W]
    write_png(out / f"strip_{args.mode}.png", image_grid(views[:, SNAPSHOT_VIEW], 1, args.steps))
    # a morphing turntable: forward and back along the path while the camera goes round once
    order = list(range(args.steps)) + list(range(args.steps - 2, 0, -1))
    frames = [views[s, (SNAPSHOT_VIEW + k * n_views // len(order)) % n_views] for k, s in enumerate(order)]
    write_gif(out / f"strip_{args.mode}.gif", frames, fps=8)
    if not args.no_grid:
        grid = interpolation_grid(G, z_geo, z_tex, args.steps, space=args.space, psi=args.psi)
        cells = render_turntable(
            G,
            grid,
            views=[SNAPSHOT_VIEW],
            resolution=args.resolution,
            backend=ctx,
            progress=progress,
        )[:, 0]
        write_png(out / "grid_geometry_x_texture.png", image_grid(cells, args.steps, args.steps))
    for s in tqdm(range(args.steps) if formats else [], desc="export", disable=not progress):
        try:
            mesh = textured_mesh_of(
                G,
                strip,
                s,
                texture_size=args.texture_size,
                max_faces=args.max_faces or None,
                backend=ctx,
            )
        except ValueError as err:
            print(f"step {s}: skipped ({err})", file=sys.stderr)
            continue
        for fmt in formats:
            save_textured_mesh(out / f"step_{s:03d}.{fmt}", mesh, material(args))
    print(f"wrote the interpolation to {out}")
    return 0


def _export(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from get3d.export import cleanup_mesh, save_textured_mesh, texture_mesh
    from get3d.networks import Latents
    from get3d.sampling import generator_color_fn, sample_latents

    suffix = Path(args.out).suffix.lower()
    if suffix not in (".glb", ".obj"):
        parser.error(f"--out: expected a file name ending in .glb or .obj, got {args.out!r}")
    if args.index < 0:
        parser.error(f"--index: expected a non-negative integer, got {args.index}")
    check_common(parser, args)
    G = load_model(parser, args)
    ctx = raster_context(parser, args, G)
    lat = sample_latents(G, args.index + 1, geo_seed=args.geo_seed, tex_seed=args.tex_seed, psi=args.psi)
    import torch

    i = args.index
    one = Latents(geo=lat.ws.geo[i : i + 1], tex=lat.ws.tex[i : i + 1])
    with torch.no_grad():
        planes = G.triplanes(one)
        mesh = G.meshes(G.grid_geometry(planes, one))[0]
    if mesh.faces.shape[0] == 0:
        print(
            "error: the sampled shape is empty (no SDF sign change); try another --geo-seed", file=sys.stderr
        )
        return 1
    verts, faces = mesh.vertices, mesh.faces
    if args.cleanup:
        verts, faces, report = cleanup_mesh(verts, faces, min_component_fraction=0.01)
        print(f"cleanup: {report}")
    tm = texture_mesh(
        verts,
        faces,
        generator_color_fn(G, one, 0, planes=planes),
        texture_size=args.texture_size,
        max_faces=args.max_faces or None,
        backend=ctx,
    )
    paths = save_textured_mesh(args.out, tm, material(args))
    print(
        f"wrote {', '.join(str(p) for p in paths)} ({tm.num_vertices} vertices, {tm.num_faces} faces, "
        f"texture {tm.texture_size[1]}x{tm.texture_size[0]})"
    )
    return 0


def _add_invert_parser(sub) -> None:  # sub: argparse's subparsers action
    v = sub.add_parser(
        "invert",
        help="find the latents of a shape from posed images or a mesh (latents.pt, GLB, comparison)",
    )
    add_model_args(v)
    target = v.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--images",
        help="posed views of one shape: a data set in get3d.data's layout (GET3D's img/ + camera/ "
        "or transforms.json + RGBA PNGs), as written by `get3d prepare`",
    )
    target.add_argument("--mesh", help="a mesh file (OBJ, GLB, PLY, ...), normalised into the object box")
    v.add_argument(
        "--out", required=True, help="output folder (latents.pt, reconstruction.glb, comparison.png)"
    )
    v.add_argument("--shape-id", default=None, help="--images: which shape, when the folder holds several")
    v.add_argument(
        "--synset", default=None, help="--images: category folder under img/ when there are several"
    )
    v.add_argument("--space", default="w+", choices=["w", "w+"], help="optimise in W or W+ (default w+)")
    v.add_argument("--steps", type=positive_int("--steps"), default=100, help="Adam steps (default 100)")
    v.add_argument("--lr", type=float, default=0.05, help="peak learning rate (default 0.05)")
    v.add_argument("--w-avg-weight", type=float, default=0.01, help="regulariser towards w_avg (0.01)")
    v.add_argument("--views", type=positive_int("--views"), default=8, help="--mesh: silhouette views (8)")
    v.add_argument(
        "--resolution",
        type=positive_int("--resolution"),
        default=None,
        help="image side (--images: resize the views, default their size; --mesh: default 64)",
    )
    v.add_argument(
        "--mesh-scale",
        type=float,
        default=None,
        help="--mesh: longest side after normalising (default 0.9 x the generator's dmtet_scale)",
    )
    v.add_argument("--seed", type=int, default=0, help="seed of the starting-point search (default 0)")
    v.add_argument(
        "--texture-size", type=positive_int("--texture-size"), default=512, help="GLB texture side"
    )
    v.add_argument("--max-faces", type=int, default=20_000, help="simplify before unwrapping (0: never)")


def _module_status(name: str) -> str:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return "not installed"
    try:
        from importlib.metadata import version

        dist = {"nvdiffrast": "diffrp-nvdiffrast"}.get(name, name)
        return f"installed ({version(dist)})"
    except Exception:
        return "installed"


def doctor_report() -> list[str]:
    """The lines ``get3d doctor`` prints.

    nvdiffrast's state comes from :func:`render.nvdiffrast_loader.plugin_status`: a plugin built
    earlier on this machine is loaded to check it, one never built is not built here (that takes
    minutes: ``python -m render.nvdiffrast_loader``).
    """
    import torch

    from render.nvdiffrast_loader import PluginState, plugin_status

    cuda = torch.cuda.is_available()
    if cuda:
        cuda_text = f"available: CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}"
    else:
        cuda_text = f"not available (torch built with CUDA {torch.version.cuda})"
    lines = [
        f"python      {platform.python_version()} ({sys.executable})",
        f"torch       {torch.__version__}",
        f"cuda        {cuda_text}",
    ]
    status = plugin_status()
    if not cuda:
        raster = "torch (no CUDA device; nvdiffrast needs one)"
    elif status.state is PluginState.LOADED:
        raster = "nvdiffrast (CUDA device, nvdiffrast's plugin built and loaded)"
    elif status.state is PluginState.NOT_BUILT:
        raster = "nvdiffrast once its plugin is built, on first use (importable, not built yet)"
    else:
        raster = f"torch (CUDA device, but nvdiffrast is unusable: {status.line})"
    lines.append(f"rasterizer  backend 'auto' -> {raster}")
    kaolin = importlib.util.find_spec("kaolin") is not None
    lines.append(
        "marching    dmtet.marching_tets (built-in, pure PyTorch, kaolin's semantics; "
        + ("kaolin importable: used only by the comparison tests)" if kaolin else "kaolin not importable)")
    )
    nvdiffrast = _module_status("nvdiffrast")
    if nvdiffrast != "not installed":
        nvdiffrast = f"{nvdiffrast}: {status.line}"
    lines.append(f"{'nvdiffrast':<11} {nvdiffrast}")
    for name in ("kaolin", "xatlas", "bpy", "trimesh", "scipy"):
        lines.append(f"{name:<11} {_module_status(name)}")
    return lines


def _doctor(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    print("\n".join(doctor_report()))
    return 0


def _run_train(argv: list[str]) -> int:
    from get3d.training.cli import main as train_main

    return int(train_main(argv, prog="get3d train") or 0)


def _delegate(command: str, argv: list[str]) -> int:
    if command in ("prepare", "toy-data"):
        from get3d.data.cli import main as data_main

        return int(data_main(["prepare" if command == "prepare" else "procedural", *argv]) or 0)
    if command == "eval":
        from get3d.metrics.cli import main as metrics_main

        return int(metrics_main(["eval", *argv]) or 0)
    return _run_train(argv)


def _run_invert(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from get3d.invert.cli import run

    return run(parser, args)


def _run_serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from get3d.serve.cli import run

    return run(parser, args)


_COMMANDS = {
    "sample": _sample,
    "interpolate": _interpolate,
    "export": _export,
    "doctor": _doctor,
    "invert": _run_invert,
    "serve": _run_serve,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (argument errors raise ``SystemExit(2)``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _DELEGATED:
        return _delegate(argv[0], argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    return _COMMANDS[args.command](args.command_parser, args)
