"""``get3d serve``: the command's handler (its flags are defined in :mod:`get3d.cli`)."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from get3d.cli_args import check_common, load_model, material, raster_context

__all__ = ["run"]


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:

    check_common(parser, args)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port: expected a TCP port in [0, 65535], got {args.port}")
    if not 0.0 <= args.psi <= 1.0:
        parser.error(f"--psi: expected a number in [0, 1] (the page's range), got {args.psi}")
    try:
        from get3d.serve.app import bind_socket, create_app, run_server

        for name in ("starlette", "uvicorn"):
            importlib.import_module(name)
    except ImportError as err:
        print(
            f"error: get3d serve needs starlette and uvicorn: pip install 'isogen3d[serve]' ({err})",
            file=sys.stderr,
        )
        return 1
    from get3d.serve import ShapeJobs, ShapeMaker, ShapeRequest

    try:
        sock = bind_socket(args.host, args.port)
    except OSError as err:
        parser.error(f"--host/--port: cannot listen on {args.host}:{args.port} ({err})")
    G = load_model(parser, args, w_avg=True)  # the page may change psi
    ctx = raster_context(parser, args, G)
    maker = ShapeMaker(
        G, ctx, texture_size=args.texture_size, max_faces=args.max_faces or None, material=material(args)
    )
    jobs = ShapeJobs(maker)
    info = {
        "checkpoint": Path(args.checkpoint).name,
        "device": str(G.mapping.fc0.weight.device),
        "rasterizer": type(ctx).__name__,
        "texture": f"{args.texture_size} px",
    }
    app = create_app(jobs, defaults=ShapeRequest(psi=args.psi), info=info)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"get3d serve: http://{shown}:{port}/  (Ctrl-C to stop)", flush=True)
    try:
        run_server(app, sock)
    finally:
        jobs.close()
        sock.close()
    return 0
