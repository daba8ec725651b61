"""GET3D's networks in plain PyTorch (no custom CUDA ops, no JIT), weight-compatible with the
official checkpoints.

The package exports what a user calls: :class:`Generator` / :class:`GeneratorConfig`,
:class:`Discriminator` / :class:`DiscriminatorConfig`, :class:`Latents`, :func:`load_generator`,
:func:`load_official_checkpoint` and :class:`IsoSurface` (DMTet or FlexiCubes). The building
blocks are imported from their modules:

* :mod:`~get3d.networks.layers`, :mod:`~get3d.networks.conv`, :mod:`~get3d.networks.fir`,
  :mod:`~get3d.networks.mlp`: StyleGAN2 layers, modulated convolutions and FIR resampling;
* :mod:`~get3d.networks.mapping`, :mod:`~get3d.networks.synthesis`, :mod:`~get3d.networks.triplane`,
  :mod:`~get3d.networks.heads`: mapping networks, the triplane synthesis and the field heads;
* :mod:`~get3d.networks.flexicubes`: the FlexiCubes generator's voxel grid and mesh extraction;
* :mod:`~get3d.networks.outputs`, :mod:`~get3d.networks.rendering`: the generator's typed outputs
  and its render path;
* :mod:`~get3d.networks.discriminator`, :mod:`~get3d.networks.checkpoint`: the discriminator's
  blocks and the official checkpoint reader;
* :mod:`~get3d.networks.grids`: what a tet grid is (BCC, cubes, GET3D's Quartet grids) and the
  grid a configuration names.
"""

from .checkpoint import load_generator, load_official_checkpoint
from .config import DiscriminatorConfig, GeneratorConfig, IsoSurface
from .discriminator import Discriminator
from .generator import Generator
from .outputs import Latents

__all__ = [
    "Discriminator",
    "DiscriminatorConfig",
    "Generator",
    "GeneratorConfig",
    "IsoSurface",
    "Latents",
    "load_generator",
    "load_official_checkpoint",
]
