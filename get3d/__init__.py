"""The ``get3d`` package (being built; see the issues)."""

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
