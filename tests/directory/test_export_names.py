"""Evidence packages carry names: transcripts (titles, senders with ids beside them, an index page by
name), the load file's name columns, the custody record's directory provenance — names as held at
each message's time, with today's name where it changed; hostile names stay inert."""

from __future__ import annotations

import csv
import io
import json

import pytest

from app.core.directory.service import sync_directory
from app.core.directory.store import ContactFacts, apply_contacts
from app.core.export.package import Selection, export_package
from app.core.export.verify import verify_package
from app.core.store.db import now_ms


@pytest.fixture
def named(directory_corpus, tmp_path):
    """A SQLite archive of the corpus whose directory was synced (the demo's in-process WeCom)."""
    from app.core.context import AppContext

    ctx = AppContext(tmp_path / "data")
    corp, _ = ctx.setup_demo(directory_corpus)
    ctx.make_syncer(corp, workers=1, media=False).run()
    actor = ctx.accounts.no_login_actor("")
    assert sync_directory(ctx, actor, corp, avatars=False).outcome == "partial"
    yield ctx, actor
    ctx.close()


def _sessions(ctx, actor):
    rows = ctx.archive.sessions(actor, limit=10_000)
    d = ctx.directory
    room = next(r for r in rows if r.roomid and d.name(actor, r.corp_id, r.roomid) == "销售二部")
    chen = next(r for r in rows if r.session_type == "external" and "ChenJing" in r.participants)
    return room, chen


def test_transcripts_load_file_and_custody_name_people_and_groups(named, tmp_path):
    ctx, actor = named
    room, chen = _sessions(ctx, actor)
    corp_id = room.corp_id
    later = now_ms() + 1000
    with ctx.db.write() as conn:  # ChenJing is renamed after every message of the archive
        apply_contacts(conn, ctx.db, corp_id, [ContactFacts("ChenJing", "陈静怡", "staff", "销售二部")], now=later,
                       source="user/get")
    ctx.directory.refresh()
    out = tmp_path / "pkg"
    export_package(ctx, actor, Selection(session_ids=(room.session_id, chen.session_id)), out)
    assert verify_package(out).ok
    data = out / "data"

    rows = list(csv.DictReader(io.StringIO((data / "loadfile.csv").read_text("utf-8-sig"))))
    mine = [r for r in rows if r["sender"] == "ChenJing" and r["record_type"] == "message"]
    assert mine and {r["sender_name"] for r in mine} == {"陈静"} and {r["sender_name_now"] for r in mine} == {"陈静怡"}
    group = [r for r in rows if r["roomid"] == room.roomid]
    assert group and {r["group_name"] for r in group} == {"销售二部"}
    other = next(r for r in rows if r["conversation_id"] == chen.session_id and r["sender"] != "ChenJing")
    customer = ctx.directory.person(actor, corp_id, other["sender"])
    assert other["sender_name"] == customer.name and other["sender_corp"] == customer.organisation
    assert other["recipient_names"] == "陈静" and other["recipient_corps"] == ""
    media = [r for r in rows if r["record_type"] == "media"]
    assert media and all(r["sender_name"] for r in media)

    html = (data / "transcripts" / f"{room.session_id}.html").read_text("utf-8")
    assert "<h1>会话记录 Transcript <bdi>销售二部</bdi></h1>" in html
    assert ('<b><bdi>陈静</bdi></b> <span class="id"><bdi>ChenJing</bdi></span> '
            '<span class="now"><bdi>现名 now: 陈静怡</bdi></span>') in html
    index = (data / "transcripts" / "index.html").read_text("utf-8")
    assert "销售二部" in index and f'href="{room.session_id}.html"' in index and f'href="{chen.session_id}.pdf"' in index
    assert f"陈静、{customer.name}（{customer.organisation}）" in index

    from pdf_text import pdf_pages

    pdf = "\n".join(pdf_pages(data / "transcripts" / f"{chen.session_id}.pdf"))
    assert "陈静" in pdf and customer.name in pdf and "ChenJing" in pdf

    custody = json.loads((data / "custody.json").read_text("utf-8"))
    d = custody["directory"]
    assert d["source"] == "wecom_api" and d["outcome"] == "partial" and d["synced_at"] and d["names"] > 100


def test_hostile_names_are_inert_in_the_index_and_transcripts(named, tmp_path):
    ctx, actor = named
    room, _ = _sessions(ctx, actor)
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>\u202egpj.exe'
    with ctx.db.write() as conn:
        apply_contacts(conn, ctx.db, room.corp_id, [ContactFacts(room.roomid, evil, "room")], now=1000,
                       source="groupchat")
    ctx.directory.refresh()
    out = tmp_path / "pkg"
    export_package(ctx, actor, Selection(session_ids=(room.session_id,)), out, pdf=False)
    for page in ("index.html", f"{room.session_id}.html"):
        html = (out / "data" / "transcripts" / page).read_text("utf-8")
        assert "<script" not in html.lower() and "<img src=x" not in html.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "⟨U+202E⟩</span>gpj.exe" in html


def test_without_a_directory_the_package_says_so_and_shows_ids(directory_corpus, tmp_path):
    from app.core.context import AppContext

    ctx = AppContext(tmp_path / "data")
    corp, _ = ctx.setup_demo(directory_corpus)
    ctx.make_syncer(corp, workers=1, media=False).run()
    actor = ctx.accounts.no_login_actor("")
    try:
        session = ctx.archive.sessions(actor, session_type="internal", limit=1)[0]
        out = tmp_path / "pkg"
        export_package(ctx, actor, Selection(session_ids=(session.session_id,)), out, pdf=False)
    finally:
        ctx.close()
    custody = json.loads((out / "data" / "custody.json").read_text("utf-8"))
    assert custody["directory"]["source"] == "none" and custody["directory"]["synced_at"] is None
    rows = list(csv.DictReader(io.StringIO((out / "data" / "loadfile.csv").read_text("utf-8-sig"))))
    assert rows and all(r["sender_name"] == "" for r in rows)
