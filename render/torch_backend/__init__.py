"""The pure-PyTorch rasterizer backend: nvdiffrast's ops on CPU (and any torch device).

Modules: ``rasterize`` and ``interpolate`` (this package's core), ``antialias`` and ``texture``.
Import the functions from their modules; this package's ``__init__`` imports nothing eagerly.
"""

__all__: list[str] = []
