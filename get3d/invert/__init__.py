"""Inversion of a trained generator: from posed images or a mesh to editable latents.

::

    G = load_generator("network-snapshot.pt")
    result = from_images(G, views)                     # get3d.reconstruct.load_views(...)
    result = from_mesh(G, (vertices, faces))           # a mesh in the generator's box
    export_sample(G, result.latents, 0, "shape.glb")   # result.latents: get3d.networks.Latents

Both return an :class:`InversionResult` (the :class:`~get3d.networks.Latents` as ``.latents``,
the loss history and the time); :func:`save_latents` / :func:`load_latents` keep latents in a
``.pt`` file that loads with ``weights_only=True``. Modules: :mod:`~get3d.invert.optimize` (the
optimisation, W / W+), :mod:`~get3d.invert.fit` (the losses), :mod:`~get3d.invert.io` (files).
"""

from .fit import from_images, from_mesh, mesh_cameras
from .io import load_latents, save_latents
from .optimize import InversionConfig, InversionResult, LatentSpace

__all__ = [
    "InversionConfig",
    "InversionResult",
    "LatentSpace",
    "from_images",
    "from_mesh",
    "load_latents",
    "mesh_cameras",
    "save_latents",
]
