"""Text out of a PDF, as a reader's copy-and-paste would get it: pypdf (pure Python, in the test
extras), so no test depends on poppler's pdftotext being installed."""

from __future__ import annotations

from pathlib import Path


def pdf_pages(pdf: Path) -> list[str]:
    """The text of each non-empty page, in order. pypdf reports the empty glyph fpdf2 sets before a
    run in a fallback font as U+0000; no transcript text holds a NUL (it is shown as ⟨U+0000⟩), so
    those are left out."""
    from pypdf import PdfReader

    pages = [(page.extract_text() or "").replace("\x00", "") for page in PdfReader(str(pdf)).pages]
    return [p for p in pages if p.strip()]
