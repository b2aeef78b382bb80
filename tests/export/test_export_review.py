"""The review in evidence packages (issue 15, "Evidence"): reviewers' tags, statuses, notes and alerts
travel with the package — data/review.jsonl, the load file's review_* columns, a box headed
审阅 Review in the HTML and PDF transcripts (apart from the message), custody.json's review section
with review.jsonl's SHA-256 — and ``--no-review`` leaves all of it out, saying so. A note's latest
version is the one exported, and hostile text in a note or a tag label (HTML, a right-to-left
override, a spreadsheet formula) is inert in every place. On SQLite and MariaDB."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC
from html import escape
from pathlib import Path

import pytest
from pdf_text import pdf_pages
from sqlalchemy import func, select, update

from app.core.actor import Actor
from app.core.auth.roles import ROLES
from app.core.export import Selection, export_package, verify_package
from app.core.export.html import REVIEW_HEADING as HTML_REVIEW_HEADING
from app.core.export.loadfile import REVIEW_COLUMNS
from app.core.export.pdf import REVIEW_HEADING as PDF_REVIEW_HEADING
from app.core.review import Review
from app.core.review import tables as T
from app.core.store.models import Message

ACTOR = Actor("os:reviewer", roles=frozenset(ROLES), workstation="test-host")
FIRST_NOTE = "初稿 first draft of the note, replaced later"
HOSTILE_NOTE = ('=HYPERLINK("http://x.invalid","ok") <script>alert(1)</script> <b>bold</b> '
                '\u202etxet\u202c 退款 😀 end')
HOSTILE_TAG = "=cmd|' /C calc'!A0"  # a tag label a spreadsheet would run as a formula
SESSION_NOTE = "会话批注 whole conversation checked <i>twice</i>"
BIDI = "\u202e"
REVIEW_HEADING = escape(HTML_REVIEW_HEADING)  # as the page holds it


@dataclass
class Reviewed:
    ctx: object
    corp: int
    a: str  # annotated message by message
    b: str  # no review at all
    c: str  # annotated as a whole conversation
    tagged: str = ""  # msgid: tag 违规 Violation, and a note edited once (HOSTILE_NOTE is its version 2)
    reviewed: str = ""  # msgid: status reviewed
    formula: str = ""  # msgid: the HOSTILE_TAG tag
    alerted: set[str] = field(default_factory=set)  # msgids with an alert of policy "mind the sender"
    note_id: int = 0


@pytest.fixture
def reviewed(db_url, tmp_path, monkeypatch):
    """A synced archive (SQLite or MariaDB) with reviewers' work on two of three conversations."""
    from app.core.context import AppContext
    from native.corpus import generate_corpus

    data = tmp_path / "data"
    monkeypatch.setenv("WECOM_AUDITOR_DATA_DIR", str(data))
    ctx = AppContext(data, db_url)
    try:
        generate_corpus(tmp_path / "corpus", messages=160, seed=5)
        corp, _ = ctx.setup_demo(tmp_path / "corpus")
        ctx.make_syncer(corp, workers=1).run()
        with ctx.db.read() as conn:
            sizes = conn.execute(select(Message.session_id, func.count()).where(Message.session_id.is_not(None))
                                 .group_by(Message.session_id).order_by(func.count().desc(), Message.session_id)
                                 ).all()
            a, c, b = (s for s, _n in sizes[:3])
            texts = conn.execute(select(Message.id, Message.msgid, Message.sender).where(
                Message.session_id == a, Message.msgtype == "text").order_by(Message.msgtime, Message.id)).all()
            corp_id = conn.execute(select(Message.corp_id).where(Message.session_id == a).limit(1)).scalar_one()
        assert len(texts) >= 4, "the corpus' busiest conversation should hold text messages"
        r = Reviewed(ctx, corp_id, a, b, c)
        review = Review(ctx.db, tz=UTC)
        t1, t2, _t3, t4 = texts[:4]
        r.tagged, r.reviewed, r.formula = t1.msgid, t2.msgid, t4.msgid
        review.tags.tag(ACTOR, "违规", message_ids=[t1.id])
        review.tags.add_tag(ACTOR, HOSTILE_TAG, "Formula")
        review.tags.tag(ACTOR, HOSTILE_TAG, message_ids=[t4.id])
        review.status.set_messages(ACTOR, [t2.id], "reviewed")
        note = review.notes.add(ACTOR, corp_id, a, FIRST_NOTE, message_id=t1.id)
        review.notes.edit(ACTOR, note.id, HOSTILE_NOTE)
        r.note_id = note.id
        # an alert: a policy on the third message's sender in conversation a, evaluated over the
        # whole archive (its mark set back, as if the policy had been there before the sync)
        sender = texts[2].sender
        policy = review.policies.create(ACTOR, "mind the sender", f"in:{a} from:{sender}")
        with ctx.db.write() as conn:
            conn.execute(update(T.policy_marks).where(T.policy_marks.c.policy_id == policy.id).values(last_no=0))
        review.policies.run(ACTOR, ["mind the sender"])
        with ctx.db.read() as conn:
            r.alerted = set(conn.execute(select(Message.msgid).join(
                T.alert_hits, T.alert_hits.c.message_id == Message.id)).scalars())
        assert r.alerted and r.alerted <= {t.msgid for t in texts} | _msgids(ctx, a)
        # conversation c as a whole: a tag, a note, in review
        review.tags.tag(ACTOR, "需关注", session=(corp_id, c))
        review.notes.add(ACTOR, corp_id, c, SESSION_NOTE)
        review.status.set_session(ACTOR, corp_id, c, "in_review")
        yield r
    finally:
        ctx.close()


def _msgids(ctx, session_id: str) -> set[str]:
    with ctx.db.read() as conn:
        return set(conn.execute(select(Message.msgid).where(Message.session_id == session_id)).scalars())


def _export(r: Reviewed, out: Path, **kwargs):
    return export_package(r.ctx, ACTOR, Selection(session_ids=(r.a, r.b, r.c)), out, tz=UTC, **kwargs)


def _loadfile(out: Path) -> list[dict]:
    text = (out / "data" / "loadfile.csv").read_text("utf-8-sig")
    return [row for row in csv.DictReader(io.StringIO(text)) if row["record_type"] == "message"]


def _review_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "data" / "review.jsonl").read_text("utf-8").splitlines()]


def _message_div(html: str, msgid_shown: str) -> str:
    """The HTML of the message whose msgid is shown as ``msgid_shown``."""
    for block in html.split('<div class="msg')[1:]:
        if f"<code><bdi>{msgid_shown}</bdi></code>" in block:
            return block
    raise AssertionError(f"{msgid_shown} is not in the transcript")


@pytest.fixture
def package(reviewed, tmp_path):
    out = tmp_path / "pkg"
    result = _export(reviewed, out)
    assert verify_package(out).ok
    return reviewed, out, result


def test_review_jsonl_holds_what_reviewers_decided(package):
    r, out, _ = package
    lines = _review_lines(out)
    messages = {x["msgid"]: x for x in lines if x["type"] == "message"}
    conversations = [x for x in lines if x["type"] == "conversation"]
    c_msgids = _msgids(r.ctx, r.c)
    # a message of a, each annotated one; every message of c (in review, tagged as a conversation); none of b
    assert set(messages) == {r.tagged, r.reviewed, r.formula} | r.alerted | c_msgids
    assert not set(messages) & _msgids(r.ctx, r.b)
    tagged = messages[r.tagged]
    assert tagged["tags"] == ["违规 Violation"] and tagged["conversation_id"] == r.a
    assert [(n["version"], n["text"], n["author"]) for n in tagged["notes"]] == [(2, HOSTILE_NOTE, ACTOR.username)]
    assert tagged["notes"][0]["sha256"] == hashlib.sha256(HOSTILE_NOTE.encode("utf-8")).hexdigest()
    assert messages[r.reviewed]["status"] == "reviewed" and messages[r.reviewed]["status_by"] == ACTOR.username
    assert messages[r.formula]["tags"] == [f"{HOSTILE_TAG} Formula"]
    for msgid in r.alerted:
        assert [(a["policy"], a["status"]) for a in messages[msgid]["alerts"]] == [("mind the sender", "open")]
    for msgid in c_msgids:
        assert messages[msgid]["tags"] == ["(会话 session) 需关注 Needs attention"]
        assert messages[msgid]["status"] == "in_review"
    (conversation,) = conversations
    assert conversation["conversation_id"] == r.c and conversation["status"] == "in_review"
    assert conversation["tags"] == ["需关注 Needs attention"]
    assert [n["text"] for n in conversation["notes"]] == [SESSION_NOTE]


def test_custody_records_the_review_exported_with_its_hash(package):
    r, out, _ = package
    custody = json.loads((out / "data" / "custody.json").read_text("utf-8"))["review"]
    raw = (out / "data" / "review.jsonl").read_bytes()
    assert custody["included"] is True and custody["file"] == "data/review.jsonl"
    assert custody["review_jsonl_sha256"] == hashlib.sha256(raw).hexdigest()
    lines = _review_lines(out)
    messages = [x for x in lines if x["type"] == "message"]
    counts = custody["counts"]
    assert counts["messages_with_review"] == len(messages)
    assert counts["tagged"] == sum(bool(x["tags"]) for x in messages)
    assert counts["reviewed"] == 1 and counts["in_review"] == len(_msgids(r.ctx, r.c))
    assert counts["notes"] == 1 and counts["alerts"] == len(r.alerted) and counts["conversations"] == 1
    # the bag lists review.jsonl with the same hash, and it is part of the package fingerprint
    manifest = (out / "manifest-sha256.txt").read_text("utf-8")
    assert f"{custody['review_jsonl_sha256']}  data/review.jsonl\n" in manifest


def test_load_file_review_columns_are_filled_for_reviewed_messages_only(package):
    r, out, _ = package
    rows = {row["message_id"]: row for row in _loadfile(out)}
    assert list(REVIEW_COLUMNS) == list(next(iter(rows.values())))[-len(REVIEW_COLUMNS):]  # after the message's own
    tagged = rows[r.tagged]
    assert tagged["review_tags"] == "违规 Violation"
    assert tagged["reviewed_by"] == "" and tagged["review_status"] == "unreviewed"
    assert rows[r.reviewed]["review_status"] == "reviewed" and rows[r.reviewed]["reviewed_by"] == ACTOR.username
    assert rows[r.reviewed]["reviewed_at"].startswith("20")
    for msgid in r.alerted:
        assert "mind the sender" in rows[msgid]["review_alerts"]
    for msgid in _msgids(r.ctx, r.c):
        assert rows[msgid]["review_tags"] == "(会话 session) 需关注 Needs attention"
        assert rows[msgid]["review_status"] == "in_review"
    annotated = {r.tagged, r.reviewed, r.formula} | r.alerted | _msgids(r.ctx, r.c)
    others = [row for msgid, row in rows.items() if msgid not in annotated]
    assert others and {row["conversation_id"] for row in others} >= {r.b}
    assert all(row[c] == "" for row in others for c in REVIEW_COLUMNS)


def test_latest_note_version_is_exported_everywhere(package):
    r, out, _ = package
    a_html = (out / "data" / "transcripts" / f"{r.a}.html").read_text("utf-8")
    a_pdf = "".join("".join(pdf_pages(out / "data" / "transcripts" / f"{r.a}.pdf")).split())
    places = {"review.jsonl": (out / "data" / "review.jsonl").read_text("utf-8"),
              "loadfile": (out / "data" / "loadfile.csv").read_text("utf-8-sig"), "html": a_html, "pdf": a_pdf}
    for place, text in places.items():
        assert "first draft" not in text and "初稿" not in text, place
    assert "v2" in _message_div(a_html, r.tagged)  # the box says which version it is
    assert "退款" in a_pdf and "end" in a_pdf


def test_transcripts_show_the_review_in_a_box_apart_from_the_message(package):
    r, out, _ = package
    a_html = (out / "data" / "transcripts" / f"{r.a}.html").read_text("utf-8")
    block = _message_div(a_html, r.tagged)
    body, _, box = block.partition('<div class="review">')
    assert box, "the tagged message has a review box"
    assert REVIEW_HEADING in box and "违规 Violation" in box and "批注 Note" in box
    assert "违规" not in body and "HYPERLINK" not in body  # the message's own part holds no annotation
    untouched = [m for m in a_html.split('<div class="msg')[1:] if '<div class="review">' not in m]
    assert untouched, "messages without a review have no box"
    c_html = (out / "data" / "transcripts" / f"{r.c}.html").read_text("utf-8")
    head = c_html.split('<div class="msg', 1)[0]
    assert REVIEW_HEADING in head and "会话标签 Conversation tags" in head and "&lt;i&gt;twice&lt;/i&gt;" in head
    b_html = (out / "data" / "transcripts" / f"{r.b}.html").read_text("utf-8")
    assert REVIEW_HEADING not in b_html

    pages = pdf_pages(out / "data" / "transcripts" / f"{r.a}.pdf")
    flat = "".join("".join(pages).split())
    heading = "".join(PDF_REVIEW_HEADING.split())
    at = flat.index(heading)
    assert "违规Violation" in flat[at:] and "批注Note" in flat[at:]
    assert "会话批注" in "".join("".join(pdf_pages(out / "data" / "transcripts" / f"{r.c}.pdf")).split())
    assert heading not in "".join("".join(pdf_pages(out / "data" / "transcripts" / f"{r.b}.pdf")).split())


def test_hostile_note_and_tag_are_inert_in_every_place(package):
    r, out, _ = package
    # review.jsonl: the exact text comes back from JSON, but no raw bidi control is in the file
    raw = (out / "data" / "review.jsonl").read_text("utf-8")
    assert BIDI not in raw and "\\u202e" in raw
    tagged = next(x for x in _review_lines(out) if x.get("msgid") == r.tagged)
    assert tagged["notes"][0]["text"] == HOSTILE_NOTE
    # load file: the override made visible, no cell a spreadsheet runs
    rows = {row["message_id"]: row for row in _loadfile(out)}
    notes = rows[r.tagged]["review_notes"]
    assert BIDI not in notes and "⟨U+202E⟩txet" in notes and "<script>alert(1)</script>" in notes
    assert rows[r.formula]["review_tags"] == f"'{HOSTILE_TAG} Formula"
    csv_text = (out / "data" / "loadfile.csv").read_text("utf-8-sig")
    assert BIDI not in csv_text
    # HTML: escaped, never markup; the override visible
    a_html = (out / "data" / "transcripts" / f"{r.a}.html").read_text("utf-8")
    box = _message_div(a_html, r.tagged).partition('<div class="review">')[2]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in box and "&lt;b&gt;bold&lt;/b&gt;" in box
    assert "<script" not in a_html.lower() and "<b>bold" not in a_html and BIDI not in a_html
    assert '<span class="esc">⟨U+202E⟩</span>txet' in box
    # PDF: the override visible as its code point, the text selectable
    flat = "".join("".join(pdf_pages(out / "data" / "transcripts" / f"{r.a}.pdf")).split())
    assert BIDI not in flat and "⟨U+202E⟩txet" in flat and "<script>alert(1)</script>" in flat


def test_no_review_leaves_all_of_it_out_and_custody_says_so(reviewed, tmp_path):
    out = tmp_path / "plain"
    _export(reviewed, out)  # once with the review, for the same data…
    out2 = tmp_path / "noreview"
    _export(reviewed, out2, review=False)
    assert verify_package(out2).ok
    assert not (out2 / "data" / "review.jsonl").exists()
    assert "data/review.jsonl" not in (out2 / "manifest-sha256.txt").read_text("utf-8")
    rows = _loadfile(out2)
    assert rows and all(row[c] == "" for row in rows for c in REVIEW_COLUMNS)
    custody = json.loads((out2 / "data" / "custody.json").read_text("utf-8"))["review"]
    assert custody["included"] is False and "--no-review" in custody["note"]
    transcripts = out2 / "data" / "transcripts"
    for page in transcripts.glob("*.html"):
        text = page.read_text("utf-8")
        assert REVIEW_HEADING not in text and "HYPERLINK" not in text and "会话批注" not in text
    flat = "".join("".join("".join(pdf_pages(p)) for p in transcripts.glob("*.pdf")).split())
    assert "审阅Review" not in flat and "HYPERLINK" not in flat
    # …which the first package did carry
    assert (out / "data" / "review.jsonl").exists()


def test_the_cli_no_review_flag(reviewed, tmp_path):
    from click.testing import CliRunner

    from app.cli import main

    r = reviewed
    runner = CliRunner()
    base = ["--data-dir", str(r.ctx.paths.data_dir), "--db", r.ctx.db_url, "export"]
    for name, extra in (("with", []), ("without", ["--no-review"])):
        res = runner.invoke(main, [*base, "--out", str(tmp_path / name), "--session", r.a, "--no-pdf", *extra])
        assert res.exit_code == 0, res.output
    assert (tmp_path / "with" / "data" / "review.jsonl").exists()
    assert not (tmp_path / "without" / "data" / "review.jsonl").exists()
    custody = json.loads((tmp_path / "without" / "data" / "custody.json").read_text("utf-8"))
    assert custody["review"]["included"] is False
    assert re.search(r"\S", (tmp_path / "with" / "data" / "review.jsonl").read_text("utf-8"))
