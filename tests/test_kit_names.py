"""Helper modules of the tests (kits, conftest aside) imported by their bare name have names unique
across tests/: pytest puts each test folder without an __init__.py on sys.path, so two
``archive_kit.py`` in different folders made the full run import whichever came first, and seven
test modules failed to import (each folder alone passed). A folder with an __init__.py is a package
and imports its kits relatively (``from .kit import``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_helper_module_names_are_unique():
    helpers = [p for p in TESTS.rglob("*.py")
               if not p.name.startswith("test_") and p.name not in ("conftest.py", "__init__.py")
               and "__pycache__" not in p.parts and not (p.parent / "__init__.py").exists()]
    twice = sorted(name for name, n in Counter(p.name for p in helpers).items() if n > 1)
    assert twice == [], [str(p.relative_to(TESTS)) for p in helpers if p.name in twice]
