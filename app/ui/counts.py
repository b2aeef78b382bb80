"""Counts in sentences: "1 message" / "2 messages" (English needs both forms; Chinese has one).

    count_text(n, self.tr("1 message"), self.tr("%1 messages"))

Both forms are literal ``tr`` calls at the caller, so pyside6-lupdate extracts them; ``%1`` becomes
the number in the locale's digits grouping ("12,345").
"""

from __future__ import annotations

from PySide6.QtCore import QLocale


def count_text(n: int, one: str, many: str) -> str:
    """``one`` when ``n`` is 1, else ``many`` with ``%1`` replaced by ``n``."""
    return one if n == 1 else many.replace("%1", QLocale().toString(int(n)))
