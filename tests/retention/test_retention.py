"""Retention deletes exactly what is due and nothing held, with its proof and audit entries; holds
are audited and can be exported from; deleted messages leave the search index and later backups."""

from __future__ import annotations

import json

import pytest
from archive_kit import make_archive
from sqlalchemy import select, text

from app.core.actor import Actor
from app.core.auth import PermissionDenied
from app.core.retention import RetentionError, RetentionService
from app.core.retention import tables as T
from app.core.store.models import Message, Session

DAY = 86_400_000


@pytest.fixture
def archive(tmp_path, db_url):
    ctx, actor = make_archive(tmp_path / "data", db_url if db_url.startswith("mysql") else None, messages=90)
    yield ctx, actor
    ctx.close()


def _service(ctx):
    return RetentionService(ctx.db, ctx.trail, storage_for=ctx.storage_for, search=ctx.search)


def _state(ctx):
    with ctx.db.read() as conn:
        rows = conn.execute(select(Message.id, Message.msgid, Message.msgtime, Message.session_type,
                                   Message.session_id, Message.sender, Message.raw_sha256)).all()
        sessions = {(r.session_id): json.loads(r.participants) for r in conn.execute(select(Session))}
    return rows, sessions


def test_deletes_exactly_what_is_due_and_nothing_held(archive):
    ctx, admin = archive
    svc = _service(ctx)
    rows, sessions = _state(ctx)
    newest = max(r.msgtime for r in rows)
    external = [r for r in rows if r.session_type == "external"]
    assert len(external) > 10
    # a custodian: the staff member of one external conversation; a date-range hold on another stretch
    custodian_session = external[0].session_id
    custodian = next(p for p in sessions[custodian_session] if not p.startswith("wm") and not p.startswith("wo"))
    svc.add_policy(admin, "external 30 days", 30, message_class="external")
    by_person = svc.place_hold(admin, "Matter 1", "litigation 2026-17", userids=[custodian])
    mid = sorted(r.msgtime for r in external)[len(external) // 2]
    by_date = svc.place_hold(admin, "Matter 2", "regulator request", start_ms=mid, end_ms=mid + 1)

    held = svc.held_message_ids()
    expected_due = {r.id for r in external} - held
    assert {r.id for r in rows if r.msgtime == mid} <= held
    assert any(r.session_id == custodian_session for r in external if r.id in held)

    run = svc.plan(admin, as_of=newest + 31 * DAY)
    assert run.due_count == len(expected_due) and run.held_count == len({r.id for r in external} & held)
    with pytest.raises(RetentionError, match="only an approved run"):
        svc.execute(admin, run.id)
    svc.approve(admin, run.id)  # the only administrator may approve its own plan
    done = svc.execute(admin, run.id)
    assert done.status == "done" and done.deleted_count == len(expected_due)

    after, _ = _state(ctx)
    remaining = {r.id for r in after}
    assert remaining == {r.id for r in rows} - expected_due  # exactly the due ones went; held ones stay
    with ctx.db.read() as conn:
        proof = conn.execute(select(T.deleted_messages.c.msgid, T.deleted_messages.c.raw_sha256)).all()
        sessions_left = conn.execute(text("SELECT session_id, message_count FROM sessions")).all()
    assert {(p.msgid, p.raw_sha256) for p in proof} == {(r.msgid, r.raw_sha256) for r in rows if r.id in expected_due}
    for sid, count in sessions_left:
        assert count == sum(1 for r in after if r.session_id == sid)
    # the audit trail has the plan, the approval and every batch, with counts and digests, and is intact
    entries = ctx.trail.entries(admin, limit=50)
    actions = [e.action for e in entries]
    assert {"retention.plan", "retention.approve", "retention.delete", "hold.create", "retention.policy"} <= set(actions)
    batches = [e for e in entries if e.action == "retention.delete" and "digest" in e.detail]
    assert sum(e.detail["messages"] for e in batches) == len(expected_due)
    assert ctx.trail.check().ok
    # releasing a hold is recorded; a released hold no longer protects
    svc.release_hold(admin, by_date.id, "matter closed")
    assert by_date.id not in [h.id for h in svc.holds(admin)]
    assert by_person.id in [h.id for h in svc.holds(admin)]


def test_search_and_later_backups_no_longer_hold_deleted_messages(tmp_path):
    from app.core.backup import make_backup, verify_backup

    ctx, admin = make_archive(tmp_path / "data", messages=70)
    try:
        svc = _service(ctx)
        rows, _ = _state(ctx)
        before = ctx.search.query_count(admin, "type:text")
        newest = max(r.msgtime for r in rows)
        svc.add_policy(admin, "all 10 days", 10)
        cutoff = sorted(r.msgtime for r in rows)[len(rows) // 3]
        run = svc.plan(admin, as_of=cutoff + 10 * DAY)
        svc.approve(admin, run.id)
        svc.execute(admin, run.id)
        after, _ = _state(ctx)
        assert 0 < len(after) < len(rows)
        with ctx.db.read() as conn:
            texts = conn.execute(text("SELECT COUNT(*) FROM messages WHERE msgtype = 'text'")).scalar()
        assert ctx.search.query_count(admin, "type:text") == texts
        deleted = {r.msgid for r in rows} - {r.msgid for r in after}
        hits = {h.message.msgid for h in ctx.search.query(admin, "type:text", limit=1000)}
        assert not hits & deleted and ctx.search.query_count(admin, "type:text") < before
        result = make_backup(ctx, admin, tmp_path / "backups")
        assert result.messages == len(after) and verify_backup(tmp_path / "backups").ok
        assert newest > cutoff
    finally:
        ctx.close()


def test_only_administrators_manage_and_a_second_one_must_approve(tmp_path):
    from accounts_kit import FAST

    ctx, admin = make_archive(tmp_path / "data", messages=40)
    try:
        svc = _service(ctx)
        reviewer = Actor("rev", roles={"reviewer"}, account_id=1)
        with pytest.raises(PermissionDenied):
            svc.add_policy(reviewer, "x", 10)
        with pytest.raises(PermissionDenied):
            svc.place_hold(reviewer, "x", "y", userids=["a"])
        from app.core.auth import AccountService

        AccountService(ctx.db, ctx.trail, hasher=FAST).create_account(admin, "second", "second-admin-pass-1",
                                                                      roles={"administrator"})
        svc.add_policy(admin, "all 1 day", 1)
        run = svc.plan(admin)
        with pytest.raises(PermissionDenied, match="another administrator"):
            svc.approve(admin, run.id)
        denied = ctx.trail.entries(admin, limit=5)
        assert any(e.action == "retention.approve" and e.outcome == "denied" for e in denied)
    finally:
        ctx.close()


def test_export_from_a_hold(tmp_path):
    from app.core.export.package import export_package

    ctx, admin = make_archive(tmp_path / "data", messages=50)
    try:
        svc = _service(ctx)
        rows, _ = _state(ctx)
        one = rows[0]
        hold = svc.place_hold(admin, "Matter 3", "audit", session_ids=[one.session_id])
        selection = svc.hold_selection(admin, hold.id)
        n = sum(1 for r in rows if r.session_id == one.session_id)
        assert len(selection.msgids) == n
        result = export_package(ctx, admin, selection, tmp_path / "hold-package", pdf=False)
        assert result.counts["messages"] == n
    finally:
        ctx.close()
