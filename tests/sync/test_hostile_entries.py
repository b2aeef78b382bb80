"""Nothing an entry contains can stop the archive (on SQLite and MariaDB).

A hostile corpus with one entry of each kind that once stopped every later sync, synced through the
CLI and the SDK simulator; and a property test that puts random JSON values in every field of every
msgtype through parse *and* the batch write.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from message_kit import COMMON, FIELDS, json_values
from sync_kit import archive_state, run_cli

from app.core.messages import MessageParseError, parse_message
from app.core.sdk import ChatDataItem
from app.core.sdk.decrypt import Decrypted, Rejected
from app.core.store.db import Database
from app.core.sync.pipeline import ensure_corp
from app.core.sync.writer import write_batch

CORPID, SECRET = "wwhostile000001", "hostile-secret-0123456789"
IMAGE = bytes(range(256)) * 40
HALF_EMOJI = "\\ud83d"  # a lone UTF-16 surrogate escape: half of 😀
HUGE = 2**70


def _msg(msgid: str, **fields) -> dict:
    base = {"msgid": msgid, "action": "send", "from": "zhangwei", "tolist": ["lina"], "roomid": "",
            "msgtime": 1_700_000_000_000, "msgtype": "text", "text": {"content": "ok"}}
    base.update(fields)
    return base


def _image(fid: str, **extra) -> dict:
    return {"sdkfileid": fid, "md5sum": hashlib.md5(IMAGE).hexdigest(), "filesize": len(IMAGE), **extra}


# (seq, msg JSON text as WeCom sends it, what must become of it)
STORED, QUARANTINED = "stored", "quarantined"


def hostile_lines() -> list[tuple[int, str, str, str]]:
    """(seq, msgid, msg JSON text, expected outcome). Surrogate escapes are written into the text."""
    entries = [
        (1, "ok-first", json.dumps(_msg("ok-first")), STORED),
        (2, "half-emoji-text", json.dumps(_msg("half-emoji-text", text={"content": "X"})).replace('"X"', f'"a{HALF_EMOJI}b"'),
         STORED),
        (3, "half-emoji-filename", json.dumps(_msg("half-emoji-filename", msgtype="file", file=_image(
            "fid-image", filename="N.jpg", fileext="jpg"))).replace('"N.jpg"', f'"{HALF_EMOJI}.jpg"'), STORED),
        (4, "half-emoji-room", json.dumps(_msg("half-emoji-room", roomid="R")).replace('"R"', f'"wr{HALF_EMOJI}"'),
         STORED),
        (5, "half-emoji-msgid", json.dumps(_msg("M")).replace('"M"', f'"id{HALF_EMOJI}"'), QUARANTINED),
        (6, "huge-time", json.dumps(_msg("huge-time", msgtime=HUGE)), STORED),
        (7, "huge-filesize", json.dumps(_msg("huge-filesize", msgtype="image", image=_image("fid-image",
                                                                                          filesize=HUGE))), STORED),
        (8, "huge-voice", json.dumps(_msg("huge-voice", msgtype="voice", voice={
            "sdkfileid": "fid-image", "md5sum": "", "voice_size": HUGE, "play_length": -HUGE})), STORED),
        (9, "L" * 300, json.dumps(_msg("L" * 300)), QUARANTINED),
        (10, "long-action", json.dumps(_msg("long-action", action="send" * 40)), STORED),
        (11, "long-recall", json.dumps(_msg("long-recall", action="recall", msgtype="revoke",
                                            revoke={"pre_msgid": "P" * 500})), STORED),
        (12, "nul-fileid", json.dumps(_msg("nul-fileid", msgtype="image", image=_image("fid\u0000image"))), STORED),
        (13, "negative-time", json.dumps(_msg("negative-time", msgtime=-5)), STORED),
        (14, "long-type", json.dumps(_msg("long-type", msgtype="t" * 200)), STORED),
        (15, "ok-first", json.dumps(_msg("ok-first", text={"content": "changed"})), QUARANTINED),  # conflict
        (16, "ok-first", json.dumps(_msg("ok-first")), "duplicate"),  # the same bytes again: a duplicate
        (17, "ok-image", json.dumps(_msg("ok-image", msgtype="image", image=_image("fid-image"))), STORED),
        (18, "ok-last", json.dumps(_msg("ok-last", msgtime=1_700_000_100_000)), STORED),
    ]
    return entries


def write_corpus(path: Path, keys) -> list[tuple[int, str, str, str]]:
    (path / "keys").mkdir(parents=True)
    (path / "media").mkdir()
    (path / "media" / "img.jpg").write_bytes(IMAGE)
    (path / "media.json").write_text(json.dumps({"fid-image": "media/img.jpg"}))
    private, public = keys[1]
    (path / "keys/v1.pem").write_bytes(private)
    (path / "keys/v1.pub.pem").write_bytes(public)
    (path / "corpus.json").write_text(json.dumps({"corpid": CORPID, "secret": SECRET, "keys": {
        "1": {"public": "keys/v1.pub.pem", "private": "keys/v1.pem"}}}))
    entries = hostile_lines()
    with (path / "messages.jsonl").open("w", encoding="utf-8") as f:
        for seq, _, text, _ in entries:
            f.write(f'{{"seq": {seq}, "publickey_ver": 1, "msg": {text}}}\n')
    return entries


def test_a_hostile_corpus_syncs_completely_and_the_next_sync_is_clean(db_url, tmp_path, rsa_keys):
    corpus = tmp_path / "corpus"
    entries = write_corpus(corpus, rsa_keys)
    data = tmp_path / "data"
    run_cli("demo", "--corpus", str(corpus), data_dir=data, db_url=db_url)
    proc = run_cli("sync", "--json", data_dir=data, db_url=db_url, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    assert report["outcome"] == "succeeded" and report["fetched"] == len(entries)
    state = archive_state(db_url)

    for seq, msgid, text, expected in entries:
        if expected == STORED:  # exactly the bytes WeCom sent, with their SHA-256
            assert state["messages"][msgid] == hashlib.sha256(text.encode()).hexdigest(), (seq, msgid)
        elif expected == QUARANTINED:
            assert seq in state["quarantine"], (seq, msgid)
    quarantine = state["quarantine"]
    assert set(quarantine) == {5, 9, 15}
    assert quarantine[5][0] == "store" and quarantine[9][0] == "store"
    assert quarantine[15][0] == "conflict" and "other content" in quarantine[15][1]
    assert report["duplicates"] == 1 and report["quarantined"] == 3
    for _stage, error in quarantine.values():  # reasons, never the entry's content
        assert "changed" not in error and "L" * 50 not in error
    # Media: the one that can never be fetched is failed with its reason; every other was fetched.
    unusable = [m for m in state["media"] if "usable sdkfileid" in (m["last_error"] or "")]
    assert len(unusable) == 1 and unusable[0]["status"] == "failed"
    others = [m for m in state["media"] if m not in unusable]
    assert others and all(m["status"] == "stored" for m in others), others
    assert state["checkpoint"] == 18

    again = json.loads(run_cli("sync", "--json", data_dir=data, db_url=db_url).stdout)
    assert again["outcome"] == "succeeded" and again["stored"] == again["quarantined"] == 0
    retry = run_cli("quarantine", "--retry", data_dir=data, db_url=db_url).stdout
    assert "3 still failing" in retry  # a conflict stays a conflict; unstorable ids stay unstorable
    # What the reviewer reads: no traceback, the entries listed with their reasons.
    listing = run_cli("messages", data_dir=data, db_url=db_url)
    assert "Traceback" not in listing.stderr


# ------------------------------------------------------------------------------ properties

surrogate_text = st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.characters(),
                         max_size=300)
hostile_values = json_values | surrogate_text | st.integers(min_value=-2**80, max_value=2**80) | st.just("L" * 400)


@st.composite
def hostile_messages(draw) -> bytes:
    msgtype = draw(st.sampled_from(sorted(FIELDS)))
    key, payload_fields, top_fields = FIELDS[msgtype]
    choices = [("common", f) for f in COMMON] + [("payload", f) for f in payload_fields] + [
        ("top", f) for f in top_fields]
    msg = _msg(f"m{draw(st.integers(0, 10**6))}", msgtype=msgtype)
    msg.pop("text")
    if key is not None:
        msg[key] = {f: "x" for f in payload_fields}
    for where, field in draw(st.lists(st.sampled_from(choices), min_size=1, max_size=4)):
        value = draw(hostile_values)
        if where == "payload" and key is not None:
            msg[key][field] = value
        else:
            msg[field] = value
    return json.dumps(msg).encode()  # ensure_ascii: lone surrogates travel as \\udXXX escapes, as WeCom's do


@pytest.fixture
def hostile_db(db_url):
    db = Database(db_url)
    yield db, ensure_corp(db, "wwprop")
    db.close()


def test_random_values_in_every_field_never_stop_a_batch(hostile_db):
    db, corp_id = hostile_db
    state = {"seq": 0}

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(hostile_messages(), min_size=1, max_size=12))
    def write(raws):
        outcomes = []
        start = state["seq"]
        for raw in raws:
            state["seq"] += 1
            item = ChatDataItem(state["seq"], "", 1, "", "")
            try:
                parsed = parse_message(raw)
            except MessageParseError as exc:
                outcomes.append(Rejected(item, "parse", str(exc), plaintext=raw))
                continue
            outcomes.append(Decrypted(item, raw, parsed))
        counts = write_batch(db, corp_id, start, state["seq"], outcomes, None)  # never raises
        assert counts.stored + counts.duplicates + counts.quarantined == len(raws)

    write()


def test_a_database_error_is_narrowed_to_the_entries_that_cause_it(hostile_db):
    """The database refuses two entries of a batch (a trigger, as a stricter server or a full
    column would): those are quarantined with the error's code and class — never its message,
    which here quotes the entry — and the other 998 are written with the checkpoint."""
    from sqlalchemy import text

    db, corp_id = hostile_db
    with db.write() as conn:
        if db.is_sqlite:
            conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.msgid LIKE 'poison%' "
                              "BEGIN SELECT RAISE(ABORT, 'refused: 私下转账 secret text'); END"))
        else:
            conn.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON messages FOR EACH ROW "
                              "IF NEW.msgid LIKE 'poison%' THEN SIGNAL SQLSTATE '45000' "
                              "SET MESSAGE_TEXT = 'refused: secret text'; END IF"))
    outcomes = []
    for seq in range(1, 1001):
        msgid = "poison-a" if seq == 321 else "poison-b" if seq == 977 else f"m{seq}"
        raw = json.dumps(_msg(msgid, text={"content": f"私下转账 {seq}"}), ensure_ascii=False).encode()
        outcomes.append(Decrypted(ChatDataItem(seq, msgid, 1, "", ""), raw, parse_message(raw)))
    counts = write_batch(db, corp_id, 0, 1000, outcomes, None)
    assert (counts.stored, counts.quarantined) == (998, 2)
    from sqlalchemy import select

    from app.core.store.models import Message, QuarantineEntry, SyncCheckpoint

    with db.read() as conn:
        assert conn.execute(select(SyncCheckpoint.last_seq)).scalar() == 1000
        stored = set(conn.execute(select(Message.msgid)).scalars())
        rows = conn.execute(select(QuarantineEntry.seq, QuarantineEntry.stage, QuarantineEntry.error,
                                   QuarantineEntry.plaintext)).all()
    assert len(stored) == 998 and "poison-a" not in stored
    assert sorted(r.seq for r in rows) == [321, 977]
    for r in rows:
        assert r.stage == "store" and "database error" in r.error
        assert "secret text" not in r.error and "私下转账" not in r.error and "poison" not in r.error
        assert r.plaintext == outcomes[r.seq - 1].raw  # kept as received, for a retry
