"""Imports flow one way: ``get3d -> render, dmtet``; ``render`` never imports ``get3d``, ``dmtet``
imports neither (ARCHITECTURE.md, "Layout").

Checked twice: statically over every module of each package (``ast``: ``import``, ``from ...
import``, relative imports resolved, imports inside functions and ``TYPE_CHECKING`` blocks,
``importlib.import_module``/``__import__`` with a literal name), and dynamically (import the
package and all its submodules in a fresh interpreter, then look at ``sys.modules``). The checkers
themselves are tested on synthetic offending sources, so the layering tests can fail.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> top-level packages it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "dmtet": ("render", "get3d"),
    "render": ("get3d",),
}


def _is_under(name: str, top: str) -> bool:
    return name == top or name.startswith(top + ".")


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of ``from <level dots><target> import ...`` written in ``module``."""
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]  # a plain module's package is its parent
    if level - 1 > len(parts) - 1:
        raise ValueError(f"relative import beyond the top-level package in {module}")
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imported_names(source: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """Every module name that ``source`` (the text of ``module``) may import, with its line.

    For ``from X import a, b`` both ``X`` and ``X.a``, ``X.b`` are listed (``a`` may be a submodule).
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = (
                _resolve_relative(module, is_package, node.level, node.module)
                if node.level
                else node.module or ""
            )
            found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call):
            func = node.func
            callee = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else None
            )
            if callee in ("import_module", "__import__") and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append((node.lineno, arg.value))
    return found


def forbidden_imports(
    source: str, module: str, forbidden: tuple[str, ...], *, is_package: bool = False
) -> list[str]:
    """``"<module>:<line> imports <name>"`` for each import of a package in ``forbidden``."""
    return sorted(
        {
            f"{module}:{line} imports {name}"
            for line, name in imported_names(source, module, is_package=is_package)
            if any(_is_under(name, top) for top in forbidden)
        }
    )


def package_modules(package: str) -> list[tuple[str, Path]]:
    """(dotted name, path) of every ``.py`` file of ``package`` under the repository root."""
    root = ROOT / package
    modules = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules.append((".".join(parts), path))
    return modules


def modules_loaded_by_import(package: str, *, search_path: tuple[Path, ...] = (ROOT,)) -> list[str]:
    """Import ``package`` and all its submodules in a fresh interpreter; ``sys.modules`` after."""
    script = textwrap.dedent(
        f"""
        import importlib, json, pkgutil, sys
        pkg = importlib.import_module({package!r})
        for info in pkgutil.walk_packages(pkg.__path__, prefix={package!r} + "."):
            importlib.import_module(info.name)
        print(json.dumps(sorted(sys.modules)))
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(p) for p in search_path),
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=search_path[0],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"importing {package} failed:\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------
# The rule, on the real packages


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_forbidden_import_in_source(package: str) -> None:
    modules = package_modules(package)
    assert len(modules) >= 5, f"found only {modules} under {package}/"
    offences = []
    for module, path in modules:
        is_package = path.name == "__init__.py"
        offences += forbidden_imports(path.read_text(), module, FORBIDDEN[package], is_package=is_package)
    assert offences == [], f"{package} must not import {FORBIDDEN[package]}: {offences}"


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_forbidden_module_loaded_at_import(package: str) -> None:
    loaded = modules_loaded_by_import(package)
    own = {m for m in loaded if _is_under(m, package)}
    assert own == {name for name, _ in package_modules(package)}, "not every submodule was imported"
    bad = [m for m in loaded if any(_is_under(m, top) for top in FORBIDDEN[package])]
    assert bad == [], f"importing {package} and its submodules loaded {bad}"


# ------------------------------------------------------------------------------------------------
# The checkers flag what they must (so the tests above can fail) and nothing else


def _lines(flagged: list[str]) -> list[int]:
    return sorted({int(entry.split(":")[1].split()[0]) for entry in flagged})


def test_static_checker_flags_every_import_form() -> None:
    source = textwrap.dedent(
        """
        import numpy
        import get3d
        import render.ops as ops
        from get3d.networks import Generator
        from render import rasterize
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from get3d import sampling

        def lazy():
            import render
            import importlib
            importlib.import_module("get3d.export")
            return __import__("render.camera")
        """
    )
    flagged = forbidden_imports(source, "dmtet.marching", ("render", "get3d"))
    assert _lines(flagged) == [3, 4, 5, 6, 9, 12, 14, 15], flagged
    # only get3d is forbidden for render: the render imports are allowed
    flagged_render = forbidden_imports(source, "render.mesh", ("get3d",))
    assert _lines(flagged_render) == [3, 5, 9, 14], flagged_render
    assert "dmtet.marching:5 imports get3d.networks.Generator" in flagged


def test_static_checker_ignores_lookalikes_and_own_relative_imports() -> None:
    source = textwrap.dedent(
        """
        import renderer
        import get3d_tools
        from . import render
        from .render import x
        from .. import get3d
        x = "import get3d"
        """
    )
    # `from . import render` inside dmtet.sub.mod is dmtet.sub.render; `from .. import get3d` is dmtet.get3d
    assert forbidden_imports(source, "dmtet.sub.mod", ("render", "get3d")) == []
    # relative imports resolve against the package for an __init__ module
    assert _resolve_relative("dmtet", True, 1, "grid") == "dmtet.grid"
    assert _resolve_relative("render.torch_backend", True, 2, "ops") == "render.ops"
    assert _resolve_relative("render.torch_backend.blocks", False, 2, None) == "render"


def test_dynamic_checker_sees_an_indirect_import(tmp_path: Path) -> None:
    """A synthetic package whose submodule pulls in ``dmtet`` through another module."""
    pkg = tmp_path / "fakepkg"
    (pkg / "inner").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "inner" / "__init__.py").write_text("")
    (pkg / "inner" / "uses.py").write_text("from fakepkg import helper\n")
    (pkg / "helper.py").write_text("import importlib\nimportlib.import_module('dm' + 'tet')\n")
    loaded = modules_loaded_by_import("fakepkg", search_path=(tmp_path, ROOT))
    assert "fakepkg.inner.uses" in loaded
    assert "dmtet" in loaded and "dmtet.marching" in loaded
    # the static checker cannot see a computed name; that is what the dynamic check is for
    source = (pkg / "helper.py").read_text()
    assert forbidden_imports(source, "fakepkg.helper", ("dmtet",)) == []
