"""The surface description written next to the base-colour texture (OBJ/MTL and glTF PBR)."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Material"]

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Material:
    """A metallic-roughness material with the baked texture as base colour.

    GET3D's MTL hard-codes ``Ks 0.4 / Ns 10`` (shiny assets, user_needs.md §7); here every value
    is a field, and the defaults describe a matte dielectric (the training renders are diffuse).

    Attributes:
        name: material name (letters, digits, ``_.-``).
        roughness: glTF ``roughnessFactor`` / MTL ``Pr`` in [0, 1] (1 = fully rough).
        metallic: glTF ``metallicFactor`` / MTL ``Pm`` in [0, 1].
        specular: MTL ``Ks`` grey level in [0, 1] for viewers without PBR support.
        double_sided: glTF ``doubleSided`` (GET3D's meshes are closed: False).
    """

    name: str = "material_0"
    roughness: float = 1.0
    metallic: float = 0.0
    specular: float = 0.0
    double_sided: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"name: expected letters, digits, '_', '.', '-', got {self.name!r}")
        for field in ("roughness", "metallic", "specular"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{field}: expected a number in [0, 1], got {value!r}")
