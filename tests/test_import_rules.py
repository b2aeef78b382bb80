"""The layers stay straight: rules on who may import what, checked on the source (ast).

- app/ui reaches data and the SDK only through core services: it never imports the store
  (app.core.store), SQLAlchemy, cffi or the SDK binding (app.core.sdk.binding, app.core.sdk.host).
- app/core never imports Qt (tests/test_layering.py imports every module with Qt blocked), nor the UI
  or the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imports_of(package: str) -> list[tuple[str, int, str]]:
    """(file, line, imported module) for every import statement under ``package`` (a folder)."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), node.lineno, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found += [(str(path.relative_to(ROOT)), node.lineno, node.module)]
                found += [(str(path.relative_to(ROOT)), node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def offending(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted({f"{f}:{line}: {module}" for f, line, module in imports_of(package)
                   if any(module == p or module.startswith(p + ".") for p in forbidden)})


def test_the_ui_reaches_data_and_the_sdk_only_through_core_services():
    assert offending("app/ui", ("app.core.store", "sqlalchemy", "cffi", "app.core.sdk.binding",
                                "app.core.sdk.host")) == []


def test_the_core_never_imports_the_ui_or_the_cli():
    assert offending("app/core", ("app.ui", "app.cli", "PySide6", "shiboken6")) == []
