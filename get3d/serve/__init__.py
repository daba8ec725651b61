"""``get3d serve``: a local web page to explore a trained generator and download its shapes.

The page offers geometry and texture seeds of two samples A and B, truncation psi, a geometry
mix and a texture mix (GET3D's geometry x texture grid, linear in w), an orbiting 3D view of the
current mesh, GLB and OBJ (zip) downloads of exactly the mesh shown, and a gallery of the last
samples. :mod:`~get3d.serve.shapes` is the framework-free core (requests, latents, meshes),
:mod:`~get3d.serve.jobs` runs them on one worker thread with progress, :mod:`~get3d.serve.app` is
the HTTP shell (Starlette + uvicorn, the ``serve`` extra); the page and its WebGL viewer are
package data (``static/``), so nothing is fetched from the internet.
"""

from .jobs import JobState, JobStatus, ShapeJobs
from .shapes import EmptyShapeError, Shape, ShapeMaker, ShapeRequest

__all__ = ["EmptyShapeError", "JobState", "JobStatus", "Shape", "ShapeJobs", "ShapeMaker", "ShapeRequest"]
