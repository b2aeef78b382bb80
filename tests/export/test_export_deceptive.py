"""Text that deceives is made visible in every rendering of a package (HTML, PDF, load file), the
load file defuses spreadsheet formulas, attachments a browser would run are not linked from the
HTML transcript, and a package this archive signed but never recorded is named by verify."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from app.core.actor import Actor
from app.core.auth.roles import ROLES
from app.core.export import Selection, export_package, known_keys, verify_package, verify_recorded
from app.core.export.html import CSP, LINKABLE_EXTS, MediaLink, TranscriptWriter, linkable

ACTOR = Actor("os:tester", roles=frozenset(ROLES), workstation="test-host")
DANGEROUS = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200f\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture(scope="module")
def deceptive_package(export_archive, tmp_path_factory):
    from keyring_kit import memory_keyring

    from app.core.context import AppContext

    data, url, info = export_archive
    with memory_keyring():  # wider than one test: its own keyring holds the export signing key
        ctx = AppContext(data, url)
        try:
            out = tmp_path_factory.mktemp("deceptive") / "pkg"
            result = export_package(ctx, ACTOR, Selection(msgids=(info["deceptive_msgid"],), context_hours=0), out)
        finally:
            ctx.close()
    return result


def test_html_transcript_shows_the_deception(deceptive_package):
    html = next((deceptive_package.path / "data" / "transcripts").glob("[0-9a-fx]*.html")).read_text("utf-8")
    assert not DANGEROUS.search(html), DANGEROUS.search(html)
    assert "⟨U+202E⟩</span>gpj.exe" in html  # the file name no longer reads "exe.jpg"
    assert "wm<span class=\"esc\">⟨U+202E⟩</span>DI-lacigol<span class=\"esc\">⟨U+000A⟩</span>fake" in html
    assert "line one\nline two 😀" in html  # message text keeps its line break and emoji
    assert "⟨U+001B⟩</span>[2J" in html and "⟨U+200B⟩" in html
    assert f'content="{CSP}"' in html and "default-src 'none'" in CSP


def test_html_transcript_does_not_link_what_a_browser_would_run(deceptive_package):
    html = next((deceptive_package.path / "data" / "transcripts").glob("[0-9a-fx]*.html")).read_text("utf-8")
    (media,) = [p for p in (deceptive_package.path / "data" / "media").iterdir()]
    assert media.suffix == ".html"  # the file is in the package, named from its hash...
    assert f'href="../media/{media.name}"' not in html and f'src="../media/{media.name}"' not in html
    assert f"<code>data/media/{media.name}</code> 未链接 not linked" in html  # ...and referenced as text


@pytest.mark.parametrize("ext", ["html", "htm", "xhtml", "svg", "xml", "js", "mht", "mhtml", "hta", "shtml", "bin",
                                 "amr", "silk", "txt", "json5", "HTML", "SvG"])
def test_types_a_browser_could_run_or_sniff_are_never_linked(tmp_path, ext):
    assert not linkable(f"../media/{'a' * 64}.{ext}")
    page = tmp_path / "t.html"
    with open(page, "w", encoding="utf-8") as f:
        tw = TranscriptWriter(f, session_id="s", session_type="single", participants=("a",), roomid="",
                              zone_note="UTC", selection_note="{}")
        tw.message(msgid="m", seq=1, time="t", sender="a", recipients=("b",), msgtype="file", summary="f", text="",
                   recalled_at=None, hit=False,
                   media=[MediaLink(href=f"../media/x.{ext}", kind="file", label="x", is_image=True)])
        tw.close()
    body = page.read_text("utf-8")
    assert f"x.{ext}\"" not in body and "<img" not in body


def test_images_and_documents_stay_linked(tmp_path):
    assert {"jpg", "png", "pdf", "docx", "mp4", "zip"} <= LINKABLE_EXTS
    assert not {"svg", "html", "xml", "js"} & LINKABLE_EXTS
    assert linkable("../media/x.jpg") and linkable("../media/x.PDF")


def test_load_file_neutralises_and_defuses(deceptive_package, export_archive):
    info = export_archive[2]
    text = (deceptive_package.path / "data" / "loadfile.csv").read_text("utf-8-sig")
    assert not DANGEROUS.search(text.replace("\r\n", "\n").replace("\n", ""))
    rows = list(csv.DictReader(io.StringIO(text)))
    message = next(r for r in rows if r["record_type"] == "message" and "fake" in r["message_id"])
    assert message["message_id"] == "wm⟨U+202E⟩DI-lacigol⟨U+000A⟩fake" != info["deceptive_msgid"]
    assert message["text"].startswith("'=HYPERLINK(")  # a spreadsheet shows it, it does not run it
    assert "line one\nline two 😀⟨U+200B⟩" in message["text"]
    media = next(r for r in rows if r["record_type"] == "media")
    assert media["original_filename"] == "⟨U+202E⟩gpj.exe"
    for row in rows:
        for column, value in row.items():
            assert not (value and value[0] in "=+-@\t\r"), (column, value)


def test_pdf_transcript_shows_the_deception(deceptive_package):
    from pdf_text import pdf_pages

    (pdf,) = (deceptive_package.path / "data" / "transcripts").glob("*.pdf")
    shown = "\n".join(pdf_pages(pdf))
    assert "\u202e" not in shown and "\x1b" not in shown
    flat = "".join(shown.split())
    assert "⟨U+202E⟩gpj.exe" in flat and "⟨U+001B⟩[2J" in flat


def test_pdf_and_html_of_a_hit_inside_deceptive_text(tmp_path):
    """Hit spans are offsets into the original text: the pieces are neutralised one by one."""
    from app.core.export.html import highlighted

    value = "a\u202eb hit c"
    assert highlighted(value, ((4, 7),)) == 'a<span class="esc">⟨U+202E⟩</span>b <mark>hit</mark> c'


def test_an_unrecorded_package_signed_with_this_archives_key_is_named(ctx, info, tmp_path):
    from sqlalchemy import delete

    from app.core.store.models import Export

    result = export_package(ctx, ACTOR, Selection(msgids=("CON",), context_hours=0), tmp_path / "unrecorded",
                            pdf=False)
    auditor = Actor("aud", roles=frozenset({"auditor"}))
    assert verify_recorded(ctx.db, auditor, result.path).ok
    with ctx.db.write() as conn:  # as if the record had never been written
        conn.execute(delete(Export).where(Export.id == result.export_id))
    other = export_package(ctx, ACTOR, Selection(msgids=("../../x",), context_hours=0), tmp_path / "other",
                           pdf=False)  # the key stays known through another recorded export
    assert result.key_fingerprint in known_keys(ctx.db)
    report = verify_recorded(ctx.db, auditor, result.path)
    assert report.problems == [
        f"not recorded: the package is signed with this archive's export key {result.key_fingerprint}, but this "
        f"archive recorded no export with fingerprint {result.fingerprint} (an interrupted export, or a package "
        "made outside the app with a copy of the key)"]
    assert verify_recorded(ctx.db, auditor, result.path, any_key=True).ok
    assert verify_package(other.path).ok


def test_export_started_is_recorded_before_anything_is_written(ctx, info, tmp_path):
    from app.core.auth import AuditTrail
    from app.core.auth.audit import AuditFilter

    result = export_package(ctx, ACTOR, Selection(msgids=("CON",), context_hours=0), tmp_path / "p", pdf=False)
    auditor = Actor("aud", roles=frozenset({"auditor"}))
    entries = AuditTrail(ctx.db).entries(auditor, AuditFilter(actions=frozenset({"export.start", "export"})),
                                         limit=2)
    done, started = entries
    assert (started.action, done.action, done.outcome) == ("export.start", "export", "ok")
    assert started.detail["token"] == done.detail["token"] and started.seq < done.seq
    assert done.object == result.fingerprint


def test_staging_is_private_while_the_export_runs(ctx, info, tmp_path):
    seen = []

    def progress(done, total):
        if not seen:
            (staging,) = [p for p in tmp_path.iterdir() if p.name.startswith(".p.export-")]
            seen.append(staging.stat().st_mode & 0o777)

    export_package(ctx, ACTOR, Selection(msgids=("CON",), context_hours=0), tmp_path / "p", pdf=False,
                   progress=progress)
    assert seen == [0o700]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_a_hostile_package_name_is_not_a_problem_for_the_transcript_title(tmp_path):
    page = Path(tmp_path / "t.html")
    with open(page, "w", encoding="utf-8") as f:
        TranscriptWriter(f, session_id="\u202eevil", session_type="single\n", participants=("\u2066a\u2069",),
                         roomid="r\u200b", zone_note="UTC", selection_note="{}").close()
    body = page.read_text("utf-8")
    assert not DANGEROUS.search(body)
    assert "<title>会话记录 Transcript ⟨U+202E⟩evil</title>" in body
