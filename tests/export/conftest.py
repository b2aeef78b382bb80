"""Export test fixtures: a small synced demo archive of our own (exports write to it), with a few
hostile messages added: msgids "../../x" and "CON", HTML/script text, a media file name "../../x";
and one that deceives (``info["deceptive_msgid"]``): a right-to-left override in its msgid and
file name ("\u202egpj.exe" reads "exe.jpg"), a line break in its msgid, terminal escapes and a
spreadsheet formula in its text, its media stored as .html (a type browsers run)."""

from __future__ import annotations

import hashlib
import json

import pytest

EXPORT_MESSAGES = 300
DECEPTIVE_MSGID = "wm\u202eDI-lacigol\nfake"
DECEPTIVE_FILENAME = "\u202egpj.exe"
DECEPTIVE_TEXT = "=HYPERLINK(\"http://x.invalid\",\"ok\") \u202etxet\u202c \x1b[2Jline one\nline two 😀\u200b"
HOSTILE_TEXT = ('<script>alert(1)</script> <img src=x onerror=alert(2)> '
                '"><a href=javascript:alert(3)>click</a> 中文 😀 𠮷野家 ＡＢＣ')


def _insert_hostile(ctx) -> dict:
    from sqlalchemy import insert, select

    from app.core.messages import parse_message
    from app.core.store.db import now_ms
    from app.core.store.models import STORED, Media, Message

    with ctx.db.read() as conn:
        base = conn.execute(select(Message).where(Message.session_type == "internal", Message.msgtype == "text")
                            .order_by(Message.msgtime).limit(1)).first()
        stored = conn.execute(select(Media).where(Media.status == STORED).limit(1)).first()
    assert base is not None and stored is not None
    sender, tolist = base.sender, json.loads(base.tolist)
    t = base.msgtime + 1000
    raws = {
        "../../x": {"msgid": "../../x", "action": "send", "from": sender, "tolist": tolist, "roomid": "",
                    "msgtime": t, "msgtype": "text", "text": {"content": HOSTILE_TEXT}},
        "CON": {"msgid": "CON", "action": "send", "from": sender, "tolist": tolist, "roomid": "",
                "msgtime": t + 1000, "msgtype": "file",
                "file": {"md5sum": "0" * 32, "filename": "../../x", "fileext": "../../x", "sdkfileid": "hostile",
                         "filesize": stored.stored_size}},
        DECEPTIVE_MSGID: {"msgid": DECEPTIVE_MSGID, "action": "send", "from": sender, "tolist": tolist, "roomid": "",
                          "msgtime": t + 2000, "msgtype": "file",
                          "file": {"md5sum": "0" * 32, "filename": DECEPTIVE_FILENAME, "fileext": "html",
                                   "sdkfileid": "deceptive", "filesize": stored.stored_size}},
    }
    ids = {}
    with ctx.db.write() as conn:
        for msgid, obj in raws.items():
            raw = json.dumps(obj, ensure_ascii=False).encode("utf-8")
            p = parse_message(raw)
            mid = ctx.db.ids.next_id()
            ids[msgid] = mid
            conn.execute(insert(Message).values(
                id=mid, corp_id=base.corp_id, seq=10_000_000 + len(ids), msgid=msgid, publickey_ver=1, raw_json=raw,
                raw_sha256=hashlib.sha256(raw).hexdigest(), action=p.action, sender=p.sender,
                tolist=json.dumps(list(p.tolist), ensure_ascii=False), roomid=p.roomid, msgtime=p.msgtime,
                msgtype=p.msgtype,
                content_text=DECEPTIVE_TEXT if msgid == DECEPTIVE_MSGID else p.search_text, session_id=p.session_id,
                session_type=p.session_type, supported=p.supported, has_media=bool(p.media), recalled_msgid=None,
                recalled_at=None, recall_msgid=None, sync_run_id=None, ingested_at=now_ms()))
        conn.execute(insert(Media).values(
            id=ctx.db.ids.next_id(), corp_id=base.corp_id, message_id=ids["CON"], msgid="CON", ref_path="file",
            kind="file", sdkfileid="hostile", sdkfileid_sha256=hashlib.sha256(b"hostile").hexdigest(),
            md5sum="0" * 32, declared_size=stored.stored_size, filename="../../x", ext="../../x", status=STORED,
            attempts=1, last_error=None, storage_backend=stored.storage_backend, storage_key=stored.storage_key,
            sha256=stored.sha256, stored_size=stored.stored_size, md5_matched=False, stored_at=now_ms(),
            updated_at=now_ms()))
        conn.execute(insert(Media).values(
            id=ctx.db.ids.next_id(), corp_id=base.corp_id, message_id=ids[DECEPTIVE_MSGID], msgid=DECEPTIVE_MSGID,
            ref_path="file", kind="file", sdkfileid="deceptive",
            sdkfileid_sha256=hashlib.sha256(b"deceptive").hexdigest(), md5sum="0" * 32,
            declared_size=stored.stored_size, filename=DECEPTIVE_FILENAME, ext="html", status=STORED, attempts=1,
            last_error=None, storage_backend=stored.storage_backend, storage_key=stored.storage_key,
            sha256=stored.sha256, stored_size=stored.stored_size, md5_matched=True, stored_at=now_ms(),
            updated_at=now_ms()))
    return {"session_id": base.session_id, "msgids": ["../../x", "CON"], "deceptive_msgid": DECEPTIVE_MSGID}


@pytest.fixture(scope="session")
def export_archive(tmp_path_factory):
    """(data_dir, db_url, info) of a synced demo archive with the hostile messages added."""
    from app.core.context import AppContext
    from native.corpus import generate_corpus

    data = tmp_path_factory.mktemp("export-archive")
    ctx = AppContext(data)
    corpus = data / "corpus"
    generate_corpus(corpus, messages=EXPORT_MESSAGES, seed=7)
    corp, _ = ctx.setup_demo(corpus)
    ctx.make_syncer(corp, workers=1).run()
    info = _insert_hostile(ctx)
    url = ctx.db_url
    ctx.close()
    return data, url, info


@pytest.fixture
def ctx(export_archive, monkeypatch):
    from app.core.context import AppContext

    data, url, _ = export_archive
    monkeypatch.setenv("WECOM_AUDITOR_DATA_DIR", str(data))
    c = AppContext(data, url)
    yield c
    c.close()


@pytest.fixture
def info(export_archive) -> dict:
    return export_archive[2]


@pytest.fixture(scope="session")
def hostile_text() -> str:
    return HOSTILE_TEXT
