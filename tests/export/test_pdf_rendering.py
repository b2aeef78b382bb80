"""PDF transcripts rendered by child processes (app/core/export/pdf_process.py) are the ones one
process renders, in the same order in the manifest and counted the same in the custody record; a
renderer that fails or dies fails the export; and text is drawn as it is (fpdf2 would have replaced
"{nb}" by the page count)."""

from __future__ import annotations

import json
import re

import pytest
from pdf_text import pdf_pages
from sqlalchemy import func, select

from app.core.actor import Actor
from app.core.export import Selection, export_package, verify_package
from app.core.export.package import ExportError
from app.core.export.pdf_process import PdfRenderers, RenderJob
from app.core.store.models import Message

ACTOR = Actor.local()


def _transcript_lines(out):
    return [line.split("  ", 1)[1] for line in (out / "manifest-sha256.txt").read_text("utf-8").splitlines()
            if "  data/transcripts/" in line]


def _texts(out, fingerprint: str) -> dict[str, list[str]]:
    return {p.name: [page.replace(fingerprint, "<fp>") for page in pdf_pages(p)]
            for p in sorted((out / "data" / "transcripts").glob("*.pdf"))}


def test_worker_processes_render_what_one_process_renders(ctx, tmp_path, monkeypatch):
    from app.core.export import pdf as pdf_module

    monkeypatch.setattr(pdf_module, "MESSAGES_PER_VOLUME", 3)  # a volume size the children must be told
    with ctx.db.read() as conn:
        sids = tuple(conn.execute(select(Message.session_id).where(Message.session_id.is_not(None))
                                  .group_by(Message.session_id).order_by(func.count().desc(), Message.session_id)
                                  .limit(6)).scalars())
    one = export_package(ctx, ACTOR, Selection(session_ids=sids), tmp_path / "one", pdf_workers=0)
    two = export_package(ctx, ACTOR, Selection(session_ids=sids), tmp_path / "two", pdf_workers=2)
    for result in (one, two):
        assert verify_package(result.path).ok
        custody = json.loads((result.path / "data" / "custody.json").read_text("utf-8"))
        assert custody["counts"]["pdf_files"] == len(list((result.path / "data" / "transcripts").glob("*.pdf")))
    assert one.counts["pdf_files"] == two.counts["pdf_files"] > len(sids)  # several volumes each
    assert _transcript_lines(one.path) == _transcript_lines(two.path)  # the same files, in the same order
    assert _texts(one.path, one.fingerprint) == _texts(two.path, two.fingerprint)
    index = (two.path / "data" / "transcripts" / "index.html").read_text("utf-8")
    assert all(f'href="{sid}-2.pdf"' in index for sid in sids if (two.path / f"data/transcripts/{sid}-2.pdf").exists())


def test_a_renderer_that_fails_fails_the_export(tmp_path):
    from app.core.export.pdf import PdfFonts, TranscriptHeader, find_fonts

    fonts: PdfFonts = find_fonts()
    header = TranscriptHeader("s", "single", ("a",), "", "UTC", "{}", "0" * 64)
    job = RenderJob(fonts, header, str(tmp_path / "no-such-spool.jsonl"), str(tmp_path), "s", 10)
    with PdfRenderers(1) as renderers, pytest.raises(ExportError, match="could not be written.*no-such-spool"):
        list(renderers.submit(0, job))
        list(renderers.results())


def test_a_renderer_that_dies_fails_the_export(tmp_path):
    from app.core.export.pdf import TranscriptHeader, find_fonts

    header = TranscriptHeader("s", "single", ("a",), "", "UTC", "{}", "0" * 64)
    spool = tmp_path / "spool.jsonl"
    spool.write_text("", encoding="utf-8")
    job = RenderJob(find_fonts(), header, str(spool), str(tmp_path), "s", 10)
    with PdfRenderers(1) as renderers:
        proc = renderers._children[0][0]
        proc.kill()
        proc.wait()
        with pytest.raises(ExportError, match="ended unexpectedly"):
            list(renderers.submit(0, job))
            list(renderers.results())


def test_text_is_drawn_as_it_is(tmp_path):
    from app.core.export.pdf import PdfTranscriptWriter, TranscriptHeader, find_fonts, subset_fonts

    text = "第 {nb} 页 is what the message said"
    fonts = subset_fonts(find_fonts(), set(text), tmp_path)
    written = []
    header = TranscriptHeader("s", "single", ("a",), "", "UTC", "{}", "0" * 64)
    pw = PdfTranscriptWriter(fonts, header, lambda n: (f"t{n}.pdf", tmp_path / f"t{n}.pdf"),
                             lambda rel, path: written.append(path))
    pw.message(seq=1, time="t", sender="a", recipients=("b",), msgtype="text", summary=text, text=text,
               recalled_at=None, hit=False)
    pw.message(seq=2, time="t", sender="a", recipients=("b",), msgtype="text", summary=text, text=text,
               recalled_at=None, hit=True, hit_spans=((2, 6),))  # the underlined hit goes through fpdf2
    pw.close()
    flat = "".join("".join(pdf_pages(written[0])).split())
    assert len(re.findall(re.escape("第{nb}页"), flat)) == 2
