"""GET3D-style textured 3D generation on top of ``dmtet`` and ``render``.

Subpackages: ``get3d.networks`` (generator, discriminators, checkpoint loading), ``get3d.training``
(losses, training loop), ``get3d.data`` (data sets, the built-in procedural one), ``get3d.sampling``
and ``get3d.interpolation`` (sampling textured meshes, latent interpolation), ``get3d.export``
(OBJ/GLB for Blender), ``get3d.metrics`` (FID, KID, COV/MMD/1-NNA on Chamfer distance) and
``get3d.reconstruct`` (DMTet inverse rendering from posed images). The command line is
``python -m get3d`` (or ``get3d``). Imports flow one way: ``get3d`` uses ``dmtet`` and ``render``,
never the reverse.
"""

from get3d.networks import (
    Discriminator,
    DiscriminatorConfig,
    Generator,
    GeneratorConfig,
    Latents,
    load_official_checkpoint,
)

__all__: list[str] = [
    "Discriminator",
    "DiscriminatorConfig",
    "Generator",
    "GeneratorConfig",
    "Latents",
    "load_official_checkpoint",
]
