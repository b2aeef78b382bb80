"""The audit trail: appends, the hash chain and its verification against tampering done directly in
the database, concurrent writers, viewing, CSV export, redaction. On SQLite and on MariaDB."""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from app.core.actor import Actor
from app.core.auth import (
    GENESIS_HASH,
    Action,
    AuditFilter,
    AuditTrailError,
    ChainHead,
    PermissionDenied,
    setting_change_text,
)
from app.core.auth.audit import entry_hash, is_secret_name
from app.core.store.models import AuditEntry, AuditHead

ROOT = Path(__file__).resolve().parents[2]
LOG = AuditEntry.__table__
AUDITOR = Actor("auditor", roles={"auditor"}, workstation="ws-audit", account_id=99, login_id="L1")


def _fill(trail, n=10):
    """n entries of varied content: Chinese, emoji, a lone surrogate, nested detail, no account."""
    people = [Actor("alice", roles={"reviewer"}, workstation="pc-1", account_id=1, login_id="a1"),
              Actor("王芳", roles={"reviewer"}, workstation="工作站-2", account_id=2, login_id="b2"),
              Actor("", workstation="kiosk")]
    actions = [Action.SEARCH, Action.SESSION_OPEN, Action.MESSAGE_RAW, Action.LOGIN_FAILED, Action.EXPORT]
    for i in range(n):
        trail.record(people[i % 3], actions[i % 5], object_type="thing",
                     object=[f"msg-{i}", "表情😀", "x\ud800y"] if i % 2 else f"query 第{i}个 \"quoted\"",
                     outcome="ok" if i % 4 else "failed", detail={"i": i, "nested": {"list": [1, "二", None]}})


def _row(db, seq):
    with db.read() as conn:
        return conn.execute(select(LOG).where(LOG.c.seq == seq)).one()


def _rehash(row, **changes):
    values = row._asdict() | changes
    values.pop("entry_hash")
    return entry_hash(**values)


def _renumber_up(conn, from_seq, last_seq):
    for s in range(last_seq, from_seq - 1, -1):  # one row at a time: SQLite has no UPDATE ... ORDER BY
        conn.execute(update(LOG).where(LOG.c.seq == s).values(seq=s + 1))


def _renumber_down(conn, from_seq, last_seq):
    for s in range(from_seq, last_seq + 1):
        conn.execute(update(LOG).where(LOG.c.seq == s).values(seq=s - 1))


# Each tampering, done with plain SQL as someone with database access would; then the seq and kind
# that verify must name.
def edit(db):
    with db.write() as conn:
        conn.execute(update(LOG).where(LOG.c.seq == 5).values(object="something else"))
    return 5, "edited"


def edit_time(db):
    with db.write() as conn:
        conn.execute(update(LOG).where(LOG.c.seq == 5).values(at=LOG.c.at - 86_400_000))
    return 5, "edited"


def edit_and_rehash(db):
    r = _row(db, 5)
    with db.write() as conn:
        conn.execute(update(LOG).where(LOG.c.seq == 5).values(account="mallory",
                                                              entry_hash=_rehash(r, account="mallory")))
    return 5, "edited"


def edit_last_and_rehash(db):
    r = _row(db, 10)
    with db.write() as conn:
        conn.execute(update(LOG).where(LOG.c.seq == 10).values(outcome="denied", entry_hash=_rehash(r, outcome="denied")))
    return 10, "edited"


def delete_one(db):
    with db.write() as conn:
        conn.execute(delete(LOG).where(LOG.c.seq == 5))
    return 5, "deleted"


def delete_last(db):
    with db.write() as conn:
        conn.execute(delete(LOG).where(LOG.c.seq == 10))
    return 10, "deleted"


def delete_and_renumber(db):
    with db.write() as conn:
        conn.execute(delete(LOG).where(LOG.c.seq == 5))
        _renumber_down(conn, 6, 10)
        conn.execute(update(AuditHead.__table__).values(seq=9))
    return 5, "deleted"


def reorder(db):
    with db.write() as conn:
        conn.execute(update(LOG).where(LOG.c.seq == 3).values(seq=-3))
        conn.execute(update(LOG).where(LOG.c.seq == 4).values(seq=3))
        conn.execute(update(LOG).where(LOG.c.seq == -3).values(seq=4))
    return 3, "reordered"


def reorder_far(db):
    with db.write() as conn:
        conn.execute(update(LOG).where(LOG.c.seq == 2).values(seq=-2))
        conn.execute(update(LOG).where(LOG.c.seq == 8).values(seq=2))
        conn.execute(update(LOG).where(LOG.c.seq == -2).values(seq=8))
    return 2, "reordered"


def insert_well_formed(db):
    """A forged entry slipped in at #5, correctly chained to #4, the later ones renumbered."""
    prev = _row(db, 4).entry_hash
    forged = dict(seq=5, at=_row(db, 5).at, account_id=1, account="alice", action="login", object_type="account",
                  object="alice", outcome="ok", workstation="pc-1", login_id="zz", detail="{}", prev_hash=prev)
    with db.write() as conn:
        _renumber_up(conn, 5, 10)
        conn.execute(insert(LOG).values(**forged, entry_hash=entry_hash(**forged)))
        conn.execute(update(AuditHead.__table__).values(seq=11))
    return 5, "inserted"


def insert_garbage(db):
    with db.write() as conn:
        _renumber_up(conn, 5, 10)
        conn.execute(insert(LOG).values(seq=5, at=1, account_id=None, account="x", action="login", object_type="",
                                        object="", outcome="ok", workstation="", login_id="", detail="{}",
                                        prev_hash="0" * 64, entry_hash="f" * 64))
        conn.execute(update(AuditHead.__table__).values(seq=11))
    return 5, "edited"


def append_outside_the_app(db):
    last = _row(db, 10)
    forged = dict(seq=11, at=last.at + 1, account_id=None, account="ghost", action="logout", object_type="",
                  object="", outcome="ok", workstation="", login_id="", detail="{}", prev_hash=last.entry_hash)
    with db.write() as conn:
        conn.execute(insert(LOG).values(**forged, entry_hash=entry_hash(**forged)))
    return 11, "inserted"


TAMPERING = [edit, edit_time, edit_and_rehash, edit_last_and_rehash, delete_one, delete_last, delete_and_renumber,
             reorder, reorder_far, insert_well_formed, insert_garbage, append_outside_the_app]


def test_an_intact_trail_verifies_and_its_head_is_the_last_entry(trail, db):
    assert trail.head() == ChainHead(0, GENESIS_HASH)
    assert trail.check().ok and trail.check().checked == 0
    _fill(trail)
    report = trail.verify(AUDITOR)
    assert report.ok and report.checked == 10 and report.problem is None
    assert report.head == ChainHead(10, _row(db, 10).entry_hash)
    assert str(report).startswith("audit trail intact: 10 entries, chain head #10 ")
    first = _row(db, 1)
    assert first.prev_hash == GENESIS_HASH and _row(db, 2).prev_hash == first.entry_hash
    assert _row(db, 2).object == "msg-1, 表情😀, x?y"  # a lone surrogate cannot be stored: replaced
    verified = _row(db, 11)  # verify records itself
    assert (verified.action, verified.account, verified.outcome) == ("audit.verify", "auditor", "ok")
    assert trail.check().ok and trail.head().seq == 11


@pytest.mark.parametrize("tamper", TAMPERING, ids=[t.__name__ for t in TAMPERING])
def test_tampering_in_the_database_is_found_and_named(trail, db, tamper):
    _fill(trail)
    seq, kind = tamper(db)
    report = trail.verify(AUDITOR)
    assert not report.ok
    assert (report.problem.seq, report.problem.kind) == (seq, kind), report.problem.message
    assert f"#{seq}" in str(report) and "BROKEN" in str(report)
    if tamper is append_outside_the_app:
        # An entry beyond the head blocks every append (the app fails closed); verify still reports.
        assert not report.recorded
        with pytest.raises(AuditTrailError, match="already exists"):
            trail.record(AUDITOR, Action.SEARCH)
        return
    assert report.recorded
    recorded = _row(db, trail.head().seq)
    assert (recorded.action, recorded.outcome) == ("audit.verify", "failed")
    assert f'"seq":{seq}' in recorded.detail


def test_a_kept_head_catches_a_trail_rewritten_wholesale(trail, db):
    _fill(trail)
    kept = trail.head()
    # Change entry 3 and recompute every later hash and the head: the chain alone cannot tell ...
    with db.write() as conn:
        rows = conn.execute(select(LOG).order_by(LOG.c.seq)).all()
        prev = rows[1].entry_hash
        for r in rows[2:]:
            changes = {"prev_hash": prev} | ({"object": "rewritten"} if r.seq == 3 else {})
            h = _rehash(r, **changes)
            conn.execute(update(LOG).where(LOG.c.seq == r.seq).values(**changes, entry_hash=h))
            prev = h
        conn.execute(update(AuditHead.__table__).values(hash=prev))
    assert trail.check().ok
    # ... the head printed and kept outside the app can.
    report = trail.check(expected_head=kept)
    assert not report.ok and report.problem.seq == 10 and "kept earlier" in report.problem.message
    later = trail.check(expected_head=ChainHead(12, "0" * 64))
    assert not later.ok and later.problem.kind == "deleted"


def test_a_missing_head_row_fails_closed(trail, db):
    _fill(trail, 3)
    with db.write() as conn:
        conn.execute(delete(AuditHead.__table__))
    assert trail.check().problem.kind == "head"
    with pytest.raises(Exception, match="chain head"):
        trail.record(AUDITOR, Action.SEARCH)


def test_a_rolled_back_change_leaves_no_gap(trail, db):
    _fill(trail, 2)
    with pytest.raises(RuntimeError), db.write() as conn:
        trail.record(AUDITOR, Action.SETTINGS_CHANGE, object="x: 1 -> 2", conn=conn)
        raise RuntimeError("the change failed")
    trail.record(AUDITOR, Action.SEARCH, object="next")
    assert trail.check().ok and trail.head().seq == 3 and _row(db, 3).object == "next"


CHILD = r"""
import os, sys, time
from app.core.actor import Actor
from app.core.auth import Action, AuditTrail
from app.core.store.db import open_database
url, name, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
db = open_database(url)
trail = AuditTrail(db)
open(go + "." + name, "w").close()  # ready: both start together, however slowly each one started
while not os.path.exists(go):
    time.sleep(0.005)
for i in range(n):
    trail.record(Actor(name, workstation=name), Action.SEARCH, object_type="query", object=f"{name}-{i}")
    time.sleep(0.002)  # let the other writer in (SQLite would otherwise hand the lock back to us)
db.close()
"""


def test_concurrent_writers_in_two_processes_keep_one_chain(trail, db, db_url, tmp_path):
    trail.record(AUDITOR, Action.LOGIN)
    go = tmp_path / "go"
    n = 80
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, db_url, name, str(n), str(go)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in ("proc-a", "proc-b")]
    deadline = time.monotonic() + 120  # imports take seconds on a loaded machine
    while not all((tmp_path / f"go.{name}").exists() for name in ("proc-a", "proc-b")):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "a writer did not start"
        time.sleep(0.01)
    go.touch()
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    report = trail.check()
    assert report.ok, report.problem
    assert report.checked == 1 + 2 * n and trail.head().seq == 1 + 2 * n
    with db.read() as conn:
        objects = conn.execute(select(LOG.c.account, LOG.c.object).order_by(LOG.c.seq)).all()
    for name in ("proc-a", "proc-b"):  # every entry there, each writer's in its own order
        assert [o for a, o in objects if a == name] == [f"{name}-{i}" for i in range(n)]
    accounts = [a for a, _ in objects[1:]]
    switches = sum(1 for x, y in zip(accounts, accounts[1:], strict=False) if x != y)
    assert switches >= 5, switches  # they really interleaved (typically dozens of times)


def test_entries_filter_page_and_record_the_view(trail, db, clock):
    _fill(trail, 10)
    clock.advance(60_000)
    trail.record(Actor("bob", workstation="pc-9"), Action.SETTINGS_CHANGE, object_type="setting",
                 object=setting_change_text("media_workers", 4, 8))
    page1 = trail.entries(AUDITOR, limit=4)
    assert [e.seq for e in page1] == [11, 10, 9, 8] and page1[0].object == "media_workers: 4 -> 8"
    page2 = trail.entries(AUDITOR, limit=4, cursor=page1[-1].seq)
    assert [e.seq for e in page2] == [7, 6, 5, 4]
    views = [e for e in trail.entries(AUDITOR, AuditFilter(actions=frozenset({"audit.view"})), limit=50)]
    assert len(views) == 1 and views[0].object == "all entries"  # page 2 was not recorded again
    assert views[0].detail == {"filter": {}, "rows": 4}
    assert [e.seq for e in trail.entries(AUDITOR, AuditFilter(account="王芳"), newest_first=False)] == [2, 5, 8]
    assert [e.seq for e in trail.entries(AUDITOR, AuditFilter(object_text="QUERY 第4"))] == [5]
    assert [e.seq for e in trail.entries(AUDITOR, AuditFilter(start_ms=clock.now, account="bob"))] == [11]
    assert [e.seq for e in trail.entries(AUDITOR, AuditFilter(end_ms=clock.now, outcome="failed"))] == [9, 5, 1]
    assert trail.count(AUDITOR, AuditFilter(actions=frozenset({"search", "export"}))) == 4
    e = trail.entries(AUDITOR, AuditFilter(account="alice"), limit=1)[0]
    assert e.detail == {"i": 9, "nested": {"list": [1, "二", None]}} and e.workstation == "pc-1"


@pytest.mark.parametrize("role", ["administrator", "reviewer", "exporter"])
def test_only_auditors_read_export_or_verify_the_trail(trail, db, tmp_path, role):
    actor = Actor(f"{role}-1", roles={role}, account_id=5)
    for call in (lambda: trail.entries(actor), lambda: trail.verify(actor),
                 lambda: trail.export_csv(actor, tmp_path / "a.csv"), lambda: trail.count(actor)):
        with pytest.raises(PermissionDenied, match="read the audit trail .audit.read.: that needs the role auditor"):
            call()
    with db.read() as conn:
        denied = conn.execute(select(LOG.c.action, LOG.c.outcome, LOG.c.account).order_by(LOG.c.seq)).all()
    assert denied == [("audit.view", "denied", f"{role}-1"), ("audit.verify", "denied", f"{role}-1"),
                      ("audit.export", "denied", f"{role}-1"), ("audit.view", "denied", f"{role}-1")]
    assert not (tmp_path / "a.csv").exists()


def test_csv_export_is_faithful_and_safe_to_open(trail, db, tmp_path):
    _fill(trail, 4)
    trail.record(Actor("=HYPERLINK(\"http://evil\")", workstation="w"), Action.LOGIN_FAILED,
                 object="=HYPERLINK(\"http://evil\")", outcome="failed")
    out = tmp_path / "sub" / "audit.csv"
    assert trail.export_csv(AUDITOR, out, AuditFilter(actions=frozenset({"search", "login.failed"}))) == 3
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert [r["seq"] for r in rows] == ["1", "4", "5"]
    assert rows[0]["object"] == 'query 第0个 "quoted"' and rows[0]["time_utc"].endswith("Z")
    assert rows[2]["account"].startswith("'=HYPERLINK") and rows[2]["object"].startswith("'=")
    assert rows[0]["entry_hash"] == _row(db, 1).entry_hash
    export = _row(db, trail.head().seq)
    assert export.action == "audit.export" and export.object == str(out)
    assert hashlib.sha256(raw).hexdigest() in export.detail and '"rows":3' in export.detail
    assert [p.name for p in out.parent.iterdir()] == ["audit.csv"]  # no temp file left


def test_secrets_are_redacted_from_settings_and_details(trail, db):
    assert setting_change_text("corp_secret", "abc", "def") == "corp_secret: [redacted] -> [redacted]"
    assert setting_change_text("database_url", "", "mysql+pymysql://app:s3cr3t@db:3306/archive") == (
        "database_url:  -> mysql+pymysql://app:***@db:3306/archive")
    assert setting_change_text("media_workers", 4, 8) == "media_workers: 4 -> 8"
    assert setting_change_text("key_versions", [1], [1, 2]) == "key_versions: [1] -> [1, 2]"
    for name in ("proxy_password", "PRIVATE_KEY_V2", "export-signing-key", "storage_secret_key", "token"):
        assert is_secret_name(name), name
    for name in ("key_versions", "token_id", "revoked_tokens", "password_changed_at", "sdk_library"):
        assert not is_secret_name(name), name
    trail.record(AUDITOR, Action.SETTINGS_CHANGE, object_type="setting",
                 object=setting_change_text("proxy_password", "old-pw-1", "new-pw-2"),
                 detail={"name": "proxy", "proxy_password": "new-pw-2", "corp": {"secret": "cs-3"},
                         "keys": [{"private_key": "-----BEGIN"}], "must_change_password": True})
    r = _row(db, 1)
    for secret in ("old-pw-1", "new-pw-2", "cs-3", "BEGIN"):
        assert secret not in r.object + r.detail
    assert '"must_change_password":true' in r.detail


def test_unknown_actions_and_outcomes_are_refused(trail):
    with pytest.raises(ValueError, match="unknown audit action"):
        trail.record(AUDITOR, "message.delete")
    with pytest.raises(ValueError, match="unknown audit outcome"):
        trail.record(AUDITOR, Action.SEARCH, outcome="maybe")


def test_the_trail_has_no_delete_api():
    from app.core.auth import audit

    public = {n for n in dir(audit.AuditTrail) if not n.startswith("_")}
    assert public == {"record", "lock", "require", "refuse", "head", "entries", "count", "export_csv", "verify",
                      "check"}


def test_the_schema_matches_the_models(db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.core.store.models import Base

    mine = {"accounts", "login_tokens", "audit_log", "audit_head"}
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)

    def table_of(d):
        item = d[0] if isinstance(d, list) else d
        for part in item[1:]:
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(part, "table", None)
            if table is not None:
                return table.name
            if name in mine:
                return name
        return None

    assert [d for d in diff if table_of(d) in mine] == []
    with db.read() as conn:
        assert conn.execute(text("SELECT id, seq, hash FROM audit_head")).all() == [(1, 0, GENESIS_HASH)]


def test_database_errors_are_not_swallowed(trail, db):
    with db.write() as conn:
        conn.execute(text("DROP TABLE audit_log"))
    with pytest.raises(SQLAlchemyError):
        trail.record(AUDITOR, Action.SEARCH)
