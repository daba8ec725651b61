"""The ``render`` package (being built; see the issues)."""

__all__: list[str] = []
