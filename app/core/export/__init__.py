"""Evidence packages (BagIt bags, signed) and their verification. See package.py and verify.py.

The names below are imported when first used (PEP 562): a PDF renderer (pdf_process.py, a child
process of its own) imports this package but needs none of them, nor the database layer they bring
(about 90 MB in each renderer)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .package import (
        JOURNAL_DIR,
        ExportCancelled,
        ExportError,
        ExportResult,
        Selection,
        clean_interrupted_exports,
        describe_counts,
        export_package,
        export_records,
    )
    from .signing import ExportKey, key_fingerprint, load_or_create_export_key
    from .verify import Limits, VerifyCancelled, VerifyReport, known_keys, verify_package, verify_recorded

_WHERE = {
    **dict.fromkeys(("export_package", "export_records", "clean_interrupted_exports", "JOURNAL_DIR",
                     "describe_counts", "Selection", "ExportResult", "ExportError", "ExportCancelled"), ".package"),
    **dict.fromkeys(("verify_package", "verify_recorded", "VerifyReport", "VerifyCancelled", "Limits", "known_keys"),
                    ".verify"),
    **dict.fromkeys(("ExportKey", "key_fingerprint", "load_or_create_export_key"), ".signing"),
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "export_package", "export_records", "clean_interrupted_exports", "JOURNAL_DIR", "describe_counts", "Selection", "ExportResult", "ExportError", "ExportCancelled",
    "verify_package", "verify_recorded", "VerifyReport", "VerifyCancelled", "Limits", "known_keys", "ExportKey", "key_fingerprint", "load_or_create_export_key",
]
