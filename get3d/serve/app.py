"""The HTTP shell of the page: a Starlette app over :class:`~get3d.serve.jobs.ShapeJobs`, run by
uvicorn. Everything the page loads comes from ``get3d/serve/static`` (no CDN, nothing fetched at
run time).

Routes::

    GET  /                      the page (static/index.html)
    GET  /static/...            its script, viewer and style sheet
    GET  /api/config            defaults and ranges for the form, what is loaded
    POST /api/shapes            JSON ShapeRequest -> {"job": id}, or 400 {"error": message}
    GET  /api/jobs/{id}         progress: state, stage, fraction, elapsed; the shape when done
    GET  /api/shapes/{id}.glb   the GLB the page shows
    GET  /api/shapes/{id}.zip   the same mesh as OBJ + MTL + PNG

Starlette and uvicorn are the ``serve`` extra (``pip install isogen3d[serve]``); they are imported
when an app is made, so the rest of the library does not need them.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from .jobs import ShapeJobs
from .shapes import MAX_SEED, ShapeRequest

__all__ = ["bind_socket", "create_app", "run_server", "static_dir"]

_MISSING = "get3d serve needs starlette and uvicorn: pip install 'isogen3d[serve]' (missing: {name})"


def _require(name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(_MISSING.format(name=name)) from None


def static_dir() -> Path:
    """The folder of the page's files (shipped as package data)."""
    return Path(str(resources.files("get3d.serve") / "static"))


def create_app(jobs: ShapeJobs, *, defaults: ShapeRequest | None = None, info: dict | None = None):
    """The Starlette application serving the page and its API over ``jobs``.

    Args:
        jobs: the shape jobs (one generator, one rasterizer context).
        defaults: the form's initial values (default: :class:`ShapeRequest` ()).
        info: extra lines for the page's header (checkpoint, device, ...), JSON-serialisable.
    """
    _require("starlette")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    defaults = ShapeRequest() if defaults is None else defaults
    config = {"defaults": defaults.to_dict(), "max_seed": MAX_SEED, "info": dict(info or {})}
    static = static_dir()

    def error(message: str, status: int) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def index(request: Request) -> Response:
        return FileResponse(static / "index.html", media_type="text/html")

    async def get_config(request: Request) -> Response:
        return JSONResponse(config)

    async def post_shape(request: Request) -> Response:
        try:
            data = json.loads(await request.body() or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            return error(f"request: expected a JSON object ({err})", 400)
        try:
            shape_request = ShapeRequest.from_mapping(data)
        except ValueError as err:
            return error(str(err), 400)
        return JSONResponse({"job": jobs.submit(shape_request)})

    async def get_job(request: Request) -> Response:
        status = jobs.status(request.path_params["id"])
        if status is None:
            return error(f"job {request.path_params['id']} is unknown (too old or never made)", 404)
        return JSONResponse(status.to_dict())

    def download(kind: str) -> Callable:
        async def endpoint(request: Request) -> Response:
            shape = jobs.shape(request.path_params["id"])
            if shape is None:
                return error(f"shape {request.path_params['id']} is no longer kept; generate it again", 404)
            if kind == "glb":
                body, media = shape.glb, "model/gltf-binary"
            else:
                body, media = jobs.maker.obj_zip(shape), "application/zip"
            name = f"{shape.request.file_stem()}.{'glb' if kind == 'glb' else 'obj.zip'}"
            headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
            return Response(body, media_type=media, headers=headers)

        return endpoint

    async def server_error(request: Request, exc: Exception) -> Response:
        return error(f"internal error ({type(exc).__name__}); see the server's log", 500)

    routes = [
        Route("/", index),
        Route("/api/config", get_config),
        Route("/api/shapes", post_shape, methods=["POST"]),
        Route("/api/jobs/{id:int}", get_job),
        Route("/api/shapes/{id:int}.glb", download("glb")),
        Route("/api/shapes/{id:int}.zip", download("zip")),
        Mount("/static", app=StaticFiles(directory=static), name="static"),
    ]
    return Starlette(routes=routes, exception_handlers={Exception: server_error})


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one). Raises OSError (in use, ...)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(64)
    return sock


def run_server(app: Any, sock: socket.socket) -> None:
    """Serve ``app`` on the bound ``sock`` until interrupted (Ctrl-C / SIGTERM)."""
    uvicorn = _require("uvicorn")
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
