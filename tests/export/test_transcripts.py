"""Transcripts for people and the package as a zip: PDF text (CJK, emoji) extracted back, page numbers
and the fingerprint on every page, volumes, HTML checked in a real headless browser (Debian's
chromium), the fingerprint recomputed with standard tools, and zip packages verified and tampered."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pdf_text import pdf_pages

from app.core.actor import Actor
from app.core.auth.roles import ROLES
from app.core.export import Selection, export_package, known_keys, verify_package
from app.core.export.html import TranscriptWriter

ACTOR = Actor("os:tester", roles=frozenset(ROLES), workstation="test-host")


def _tool(name: str) -> str:
    """A system tool the test needs: CI installs it (.ci/run), elsewhere the test is skipped without it."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return path


def _pdf_pages(pdf: Path) -> list[str]:
    return pdf_pages(pdf)


@pytest.fixture(scope="module")
def hostile_package(export_archive, tmp_path_factory):
    from keyring_kit import memory_keyring

    from app.core.context import AppContext

    data, url, info = export_archive
    with memory_keyring():  # wider than one test: its own keyring holds the export signing key
        ctx = AppContext(data, url)
        try:
            out = tmp_path_factory.mktemp("transcripts") / "pkg"
            result = export_package(ctx, ACTOR, Selection(msgids=("../../x",), context_hours=2), out)
        finally:
            ctx.close()
    return result


def test_pdf_holds_cjk_and_emoji_as_text(hostile_package, hostile_text):
    out = hostile_package.path
    (pdf,) = (out / "data" / "transcripts").glob("*.pdf")
    text = "\n".join(_pdf_pages(pdf))
    flat = "".join(text.split())
    # every character of the hostile message (CJK, emoji, a supplementary-plane ideograph, full-width
    # Latin, the markup as plain text) comes back out of the PDF: as itself where a font has it (the
    # shipped fonts have all but the ideograph 𠮷, which an installed CJK font may have), else as
    # its visible code point
    from app.core.export.pdf import covered_characters, find_fonts, visible_in_pdf

    expected = visible_in_pdf(hostile_text, covered_characters(find_fonts()))
    assert "".join(expected.split()) in flat
    assert "中文" in flat and "😀" in flat and "野家ＡＢＣ" in flat
    assert ("𠮷野家" in flat) != ("⟨U+20BB7⟩野家" in flat)
    assert hostile_package.counts["pdf_files"] == 1


def test_every_pdf_page_has_number_and_fingerprint(ctx, tmp_path):
    from sqlalchemy import func, select

    from app.core.store.models import Message

    with ctx.db.read() as conn:  # the busiest conversation: several pages
        sid = conn.execute(select(Message.session_id).where(Message.session_id.is_not(None))
                           .group_by(Message.session_id).order_by(func.count().desc()).limit(1)).scalar_one()
    result = export_package(ctx, ACTOR, Selection(session_ids=(sid,)), tmp_path / "pages")
    (pdf,) = (result.path / "data" / "transcripts").glob("*.pdf")
    pages = _pdf_pages(pdf)
    assert len(pages) >= 2
    for n, page in enumerate(pages, 1):
        assert f"Page {n}" in page and f"第 {n} 页" in page
        assert result.fingerprint in "".join(page.split())


def test_fingerprint_is_checkable_with_standard_tools(hostile_package):
    out = hostile_package.path
    proc = subprocess.run("grep -v '  data/transcripts/' manifest-sha256.txt | sha256sum", shell=True, cwd=out,
                          capture_output=True, text=True, check=True)
    assert proc.stdout.split()[0] == hostile_package.fingerprint
    assert f"Package-Fingerprint: {hostile_package.fingerprint}" in (out / "bag-info.txt").read_text("utf-8")
    html = next((out / "data" / "transcripts").glob("[0-9a-fx]*.html")).read_text("utf-8")
    assert hostile_package.fingerprint in html
    assert verify_package(out).fingerprint == hostile_package.fingerprint


def test_long_conversation_is_split_into_pdf_volumes(ctx, info, tmp_path, monkeypatch):
    from app.core.export import pdf as pdf_module

    monkeypatch.setattr(pdf_module, "MESSAGES_PER_VOLUME", 2)
    out = tmp_path / "volumes"
    result = export_package(ctx, ACTOR, Selection(session_ids=(info["session_id"],)), out)
    pdfs = sorted(p.name for p in (out / "data" / "transcripts").glob("*.pdf"))
    expected = -(-result.counts["messages"] // 2)
    assert len(pdfs) == expected == result.counts["pdf_files"] and expected > 1
    sid = info["session_id"]
    assert f"{sid}.pdf" in pdfs and f"{sid}-2.pdf" in pdfs
    assert "volume 2" in _pdf_pages(out / "data" / "transcripts" / f"{sid}-2.pdf")[0]
    assert verify_package(out).ok


def test_export_without_pdf_says_so(ctx, info, tmp_path):
    out = tmp_path / "nopdf"
    export_package(ctx, ACTOR, Selection(msgids=("CON",), context_hours=0), out, pdf=False)
    assert not list((out / "data" / "transcripts").glob("*.pdf"))
    assert "PDF-Transcripts: no" in (out / "bag-info.txt").read_text("utf-8")
    assert verify_package(out).ok


# ------------------------------------------------------------------------------- a real browser

class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _browser_dom(html_file: Path) -> _Elements:
    chromium = _tool("chromium")
    proc = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-extensions", f"--user-data-dir={html_file.parent / '.chromium'}",
                           "--virtual-time-budget=2000", "--dump-dom", html_file.as_uri()],
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    dom = _Elements()
    dom.feed(proc.stdout.decode("utf-8"))
    return dom


def _assert_inert(dom: _Elements) -> None:
    assert not [t for t, _ in dom.tags if t in ("script", "iframe", "object", "embed")]
    for tag, attrs in dom.tags:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        for k in ("href", "src"):
            assert not (attrs.get(k) or "").strip().lower().startswith("javascript:"), (tag, attrs)
        assert "data-pwned" not in attrs, (tag, attrs)
        assert not (tag == "img" and attrs.get("src") == "x"), attrs


def test_browser_runs_no_script_even_without_the_csp(tmp_path):
    """Escaping alone keeps the payloads inert: the CSP is removed here, and payloads that would mark
    the page if they ran are fed through the transcript writer and loaded in chromium."""
    payloads = ['<script>document.body.setAttribute("data-pwned","script")</script>',
                '<img src=x onerror="document.body.setAttribute(\'data-pwned\',\'img\')">',
                '"><a href="javascript:document.body.setAttribute(\'data-pwned\',\'a\')">click</a>',
                "</div></body><body onload=\"document.body.setAttribute('data-pwned','onload')\">"]
    page = tmp_path / "t.html"
    with open(page, "w", encoding="utf-8") as f:
        tw = TranscriptWriter(f, session_id="s", session_type="single", participants=("<b>a</b>",), roomid="",
                              zone_note="UTC", selection_note="<i>sel</i>", fingerprint="f" * 64)
        for i, p in enumerate(payloads):
            tw.message(msgid=p, seq=i, time="t", sender=p, recipients=(p,), msgtype="text", summary=p, text=p,
                       recalled_at=None, hit=True, hit_spans=((0, 3),))
        tw.close()
    page.write_text(page.read_text("utf-8").replace("Content-Security-Policy", "X-Removed"), encoding="utf-8")
    dom = _browser_dom(page)
    _assert_inert(dom)
    shown = "".join(dom.text)
    for p in payloads:
        assert p[3:] in shown  # shown as text (the first 3 characters are a marked hit)


def test_exported_transcript_is_inert_in_a_browser(hostile_package, hostile_text):
    html = next((hostile_package.path / "data" / "transcripts").glob("[0-9a-fx]*.html"))
    work = html.parent.parent.parent.parent / "browser"
    work.mkdir(exist_ok=True)
    copy = work / "t.html"
    shutil.copyfile(html, copy)  # the browser's profile must not land inside the package
    dom = _browser_dom(copy)
    _assert_inert(dom)
    assert "".join(hostile_text.split()) in "".join("".join(dom.text).split())


# ------------------------------------------------------------------------------- zip packages

@pytest.fixture
def zip_package(ctx, info, tmp_path) -> Path:
    result = export_package(ctx, ACTOR, Selection(msgids=tuple(info["msgids"]), context_hours=1),
                            tmp_path / "evidence.zip")
    assert result.path.is_file()
    return result.path


def test_zip_package_verifies_and_unzips_to_a_valid_bag(ctx, zip_package, tmp_path):
    report = verify_package(zip_package, known_key_fingerprints=known_keys(ctx.db))
    assert report.ok, report.problems
    assert sorted(p.name for p in zip_package.parent.iterdir()) == ["evidence.zip"]  # nothing else left
    with zipfile.ZipFile(zip_package) as zf:
        assert all(n.startswith("evidence/") for n in zf.namelist())
        zf.extractall(tmp_path / "unzipped")
    bagit = pytest.importorskip("bagit")
    bagit.Bag(str(tmp_path / "unzipped" / "evidence")).validate()
    assert verify_package(tmp_path / "unzipped" / "evidence").fingerprint == report.fingerprint


def _rewrite_zip(path: Path, change) -> None:
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w") as dst:
        for item in src.infolist():
            data = change(item.filename, src.read(item))
            if data is not None:
                dst.writestr(item.filename, data)
        extra = change(None, None)
        if extra:
            dst.writestr(*extra)
    tmp.replace(path)


@pytest.mark.parametrize("tamper", ["change_byte", "delete", "add"])
def test_tampered_zip_is_reported(zip_package, tamper):
    target = {}

    def change(name, data):
        if name is None:
            return ("evidence/data/extra.txt", b"x") if tamper == "add" else None
        if name.startswith("evidence/data/messages/") and not target:
            target["rel"] = name.removeprefix("evidence/")
            if tamper == "delete":
                return None
            if tamper == "change_byte":
                b = bytearray(data)
                b[len(b) // 2] ^= 1
                return bytes(b)
        return data

    _rewrite_zip(zip_package, change)
    problems = verify_package(zip_package).problems
    expected = {"change_byte": f"changed file: {target['rel']}", "delete": f"missing file: {target['rel']}",
                "add": "extra file: data/extra.txt"}[tamper]
    assert any(p.startswith(expected) for p in problems), problems


def test_zip_export_refuses_an_existing_path(ctx, info, tmp_path):
    from app.core.export import ExportError

    (tmp_path / "e.zip").write_bytes(b"")
    with pytest.raises(ExportError, match="already exists"):
        export_package(ctx, ACTOR, Selection(msgids=("CON",), context_hours=0), tmp_path / "e.zip")
    assert hashlib.sha256((tmp_path / "e.zip").read_bytes()).hexdigest() == hashlib.sha256(b"").hexdigest()


def test_long_texts_wrap_without_losing_a_character(tmp_path):
    """Our own line breaking (faster than fpdf2's): long CJK runs, long Latin words, spaces, newlines."""
    import random

    from app.core.export.pdf import PdfTranscriptWriter, TranscriptHeader, find_fonts, subset_fonts

    rng = random.Random(5)
    words = ["合同", "违约金", "Contract", "supercalifragilisticexpialidocious" * 3, "😀", "ＡＢＣ", "a", "𠮷野家",
             "https://example.com/" + "x" * 150, "第三条：", "1234567890"]
    texts = []
    for _ in range(12):
        parts = [rng.choice(words) + rng.choice(["", " ", "\n", "，"]) for _ in range(rng.randint(1, 120))]
        texts.append("".join(parts))
    chars = set("".join(texts))
    fonts = subset_fonts(find_fonts(), chars, tmp_path)
    from app.core.export.pdf import covered_characters, visible_in_pdf

    covered = covered_characters(fonts)
    written = []
    header = TranscriptHeader("s", "single", ("a",), "", "UTC", "{}", "0" * 64)
    pw = PdfTranscriptWriter(fonts, header, lambda n: (f"t{n}.pdf", tmp_path / f"t{n}.pdf"),
                             lambda rel, path: written.append(path))
    for i, t in enumerate(texts):
        pw.message(seq=i, time="t", sender="a", recipients=("b",), msgtype="text", summary=t, text=t,
                   recalled_at=None, hit=False)
    pw.close()
    body = []  # the pages without their running header and footer (a message may cross a page)
    for p in written:
        for page in _pdf_pages(p):
            body += [line for line in page.splitlines()
                     if not re.match(r"(会话记录 Transcript |第 \d+ 页 Page \d+$|包指纹 Package fingerprint)", line)]
    flat = "".join("".join(body).split())
    pos = 0
    for t in texts:  # every text, in order, every character (as ⟨U+XXXX⟩ where no font has it)
        needle = "".join(visible_in_pdf(t, covered).split())
        found = flat.find(needle, pos)
        assert found >= 0, needle[:80]
        pos = found + len(needle)


def test_a_long_selection_is_cut_in_the_transcripts_as_in_bag_info(ctx, tmp_path):
    """Every transcript (and every PDF volume) shows the selection; a list of many conversations is
    cut after ten, as bag-info.txt cuts it, and custody.json keeps it whole."""
    import json

    actor = Actor("os:tester", roles=frozenset(ROLES), workstation="test-host")
    sessions = tuple(s.session_id for s in ctx.archive.sessions(actor, limit=1000))
    assert len(sessions) > 10
    out = tmp_path / "pkg"
    export_package(ctx, actor, Selection(session_ids=sessions), out, pdf=False)
    custody = json.loads((out / "data" / "custody.json").read_text(encoding="utf-8"))
    assert custody["selection"]["session_ids"] == list(sessions)
    more = f"... {len(sessions) - 10} more (see data/custody.json)"
    assert more in (out / "bag-info.txt").read_text(encoding="utf-8")
    transcripts = list((out / "data" / "transcripts").glob("*.html"))
    assert len(transcripts) == len(sessions) + 1  # and the index
    for page in transcripts:
        assert more in page.read_text(encoding="utf-8"), page.name
