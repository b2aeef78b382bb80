"""Issue 18, 11: the custody record counts what the package holds (it said ``pdf_files: 0`` next to PDFs)."""

from __future__ import annotations

import json

from app.core.actor import Actor
from app.core.export import Selection, export_package
from app.core.export import pdf as pdf_module

ACTOR = Actor.local()


def test_custody_counts_the_pdf_transcripts_the_package_holds(ctx, info, tmp_path, monkeypatch):
    monkeypatch.setattr(pdf_module, "MESSAGES_PER_VOLUME", 3)  # several volumes per conversation
    out = tmp_path / "pkg"
    result = export_package(ctx, ACTOR, Selection(session_ids=(info["session_id"],)), out)
    pdfs = sorted((out / "data" / "transcripts").glob("*.pdf"))
    assert len(pdfs) > 1
    custody = json.loads((out / "data" / "custody.json").read_text(encoding="utf-8"))
    assert custody["counts"]["pdf_files"] == len(pdfs)
    assert result.counts["pdf_files"] == len(pdfs)


def test_custody_says_no_pdf_when_none_was_made(ctx, info, tmp_path):
    out = tmp_path / "nopdf"
    export_package(ctx, ACTOR, Selection(session_ids=(info["session_id"],)), out, pdf=False)
    custody = json.loads((out / "data" / "custody.json").read_text(encoding="utf-8"))
    assert custody["counts"]["pdf_files"] == 0
    assert not list((out / "data" / "transcripts").glob("*.pdf"))
