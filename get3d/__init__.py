"""The ``get3d`` package (being built; see the issues)."""

__all__: list[str] = []
