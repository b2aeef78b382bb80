"""Evidence packages (BagIt bags, signed) and their verification. See package.py and verify.py."""

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
from .verify import Limits, VerifyReport, known_keys, verify_package, verify_recorded

__all__ = [
    "export_package", "export_records", "clean_interrupted_exports", "JOURNAL_DIR", "describe_counts", "Selection", "ExportResult", "ExportError", "ExportCancelled",
    "verify_package", "verify_recorded", "VerifyReport", "Limits", "known_keys", "ExportKey", "key_fingerprint", "load_or_create_export_key",
]
