"""``get3d invert``: the command's handler (its flags are defined in :mod:`get3d.cli`)."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from get3d.cli_args import check_common, load_model, raster_context

__all__ = ["run"]


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    import torch

    from get3d.invert import InversionConfig, from_images, from_mesh, mesh_cameras, save_latents
    from get3d.reconstruct.io import write_comparison
    from get3d.sampling import export_sample, render_views

    check_common(parser, args)  # --resolution may be None here: the views' own size
    for flag, value in (("--lr", args.lr), ("--w-avg-weight", args.w_avg_weight)):
        if not math.isfinite(value) or value < 0 or (flag == "--lr" and value == 0):
            parser.error(
                f"{flag}: expected a {'positive' if flag == '--lr' else 'non-negative'} number, got {value}"
            )
    if args.mesh_scale is not None and not (math.isfinite(args.mesh_scale) and args.mesh_scale > 0):
        parser.error(f"--mesh-scale: expected a positive number, got {args.mesh_scale}")
    if args.images is not None and not os.path.isdir(args.images):
        parser.error(f"--images: expected a folder of posed views, got {args.images!r} (not a directory)")
    if args.mesh is not None and not os.path.isfile(args.mesh):
        parser.error(f"--mesh: no file at {args.mesh!r}")
    G = load_model(parser, args, w_avg=True)  # the regulariser's centre, whatever --psi is
    ctx = raster_context(parser, args, G)
    device, dtype = G.mapping.fc0.weight.device, G.mapping.fc0.weight.dtype
    progress = not args.no_progress
    common = dict(
        space=args.space, steps=args.steps, lr=args.lr, w_avg_weight=args.w_avg_weight, seed=args.seed
    )
    if args.images is not None:
        from get3d.reconstruct import load_views

        try:
            views = load_views(args.images, args.shape_id, synset=args.synset, resolution=args.resolution)
        except ValueError as err:  # includes get3d.data.DatasetError
            parser.error(f"--images: {err}")
        views = views.to(device, dtype)
        side = views.resolution[0]
        if views.resolution[1] != side or side < 8:
            parser.error(
                f"--images: expected square views of side >= 8, got {views.resolution}; try --resolution"
            )
        config = InversionConfig(resolution=side, **common)
        result = from_images(G, views, config=config, backend=ctx, progress=progress)
        targets, cameras = views.images, views.cameras
    else:
        from get3d.data.meshes import load_mesh, normalize
        from get3d.reconstruct.views import render_target_views

        try:
            source = load_mesh(args.mesh)
        except ValueError as err:
            parser.error(f"--mesh: {err}")
        scale = 0.9 * G.box_size if args.mesh_scale is None else args.mesh_scale
        if scale > G.box_size:
            parser.error(
                f"--mesh-scale: expected at most the generator's box side {G.box_size:g}, got {scale:g}"
            )
        normalised, _ = normalize(source, scale)
        vertices = torch.as_tensor(normalised.vertices, dtype=dtype, device=device)
        faces = torch.as_tensor(normalised.faces, dtype=torch.int64, device=device)
        side = 64 if args.resolution is None else args.resolution
        config = InversionConfig(views=args.views, resolution=side, **common)
        result = from_mesh(G, (vertices, faces), config=config, backend=ctx, progress=progress)
        cameras = mesh_cameras(args.views, device=device, dtype=dtype)
        targets = render_target_views(vertices, faces, cameras, side, backend=ctx).images
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = [save_latents(out / "latents.pt", result)]
    shown = render_views(G, result.latents, cameras, resolution=side, background=-1.0, backend=ctx)[0]
    written.append(write_comparison(out / "comparison.png", targets, shown))
    try:
        written += export_sample(
            G,
            result.latents,
            0,
            out / "reconstruction.glb",
            texture_size=args.texture_size,
            max_faces=args.max_faces or None,
            backend=ctx,
        )
    except ValueError as err:
        print(f"error: no GLB written: {err}", file=sys.stderr)
        return 1
    print(
        f"wrote {', '.join(str(p) for p in written)} ({result.space.value}, {result.steps} steps, "
        f"final loss {result.final_loss:.4g}, {result.seconds:.1f} s)"
    )
    return 0
