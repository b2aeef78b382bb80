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


# ---------------------------------------------------------------------------------------------- no cycles

# Known imports against the layers, to be removed (each is a cycle today): none may be added.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}


def core_imports() -> dict[str, set[str]]:
    """Module of app.core -> the modules of app.core it imports, relative imports resolved; imports
    inside functions count too (a lazy import is still a dependency)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / "app" / "core").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        package = parts[:-1]
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        targets = graph.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
                stem = ".".join(p for p in (base, node.module or "") if p)
                # "from . import x" imports the submodule x, not the package (which is importing it)
                names = ([stem] if node.module else []) + [f"{stem}.{a.name}" for a in node.names]
            else:
                continue
            targets.update(n for n in names if n.startswith("app.core."))
    # "from .x import name" names a module only when name is one: keep what exists.
    known = set(graph)
    return {m: {t for t in ts if t in known and t != m} for m, ts in graph.items()}


def unit_of(module: str) -> str:
    """``app.core.media.local`` -> ``media``; a top-level module (``app.core.context``) is its own unit."""
    return module.split(".")[2] if module.count(".") >= 2 else module


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_between_the_core_packages():
    units: dict[str, set[str]] = {}
    for module, targets in core_imports().items():
        src = unit_of(module)
        units.setdefault(src, set()).update(
            u for u in map(unit_of, targets) if u != src and (src, u) not in KNOWN_UPWARD)
    assert cycles(units) == []


def test_no_import_cycles_inside_media_queue_config_and_jobs():
    mine = ("app.core.media", "app.core.queue", "app.core.config", "app.core.jobs")
    graph = {m: {t for t in ts if t.startswith(mine)} for m, ts in core_imports().items() if m.startswith(mine)}
    assert cycles(graph) == []


def test_settings_and_the_generic_queue_import_nothing_above_them():
    graph = core_imports()
    leaves = {m for m, ts in graph.items() if not ts}  # import nothing of the core (errors.py, files.py): below all
    config = sorted({t for m, ts in graph.items() if unit_of(m) == "config" for t in ts
                     if unit_of(t) != "config" and t not in leaves})
    assert config == []  # each settings section checks itself; backends register theirs (media/registry.py)
    assert {"app.core.errors", "app.core.files"} <= leaves
    queue = sorted({t for m, ts in graph.items() if unit_of(m) == "queue" for t in ts
                    if unit_of(t) in ("jobs", "media", "sync", "sdk", "wecom")})
    assert queue == []  # the app's jobs are in app/core/jobs
