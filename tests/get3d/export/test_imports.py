"""get3d.export writes meshes and images; it must not import the networks (not even lazily)."""

from __future__ import annotations

import ast
from pathlib import Path

import get3d.export

FORBIDDEN = ("get3d.networks", "get3d.sampling", "get3d.training", "get3d.metrics")


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_checker_sees_lazy_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from get3d.networks import Latents\n    import get3d.sampling as s\n")
    assert _imported_modules(f) == {"get3d.networks", "get3d.sampling"}


def test_export_does_not_import_the_networks():
    folder = Path(get3d.export.__file__).parent
    modules = sorted(folder.glob("*.py"))
    assert len(modules) >= 9
    for path in modules:
        bad = {m for m in _imported_modules(path) if m.startswith(FORBIDDEN)}
        assert not bad, f"{path.name} imports {sorted(bad)}"
