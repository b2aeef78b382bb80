"""Scopes: userids and departments resolve to the sessions and messages a reviewer may see, as SQL
filters on SQLite and MariaDB."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from app.core.actor import Actor
from app.core.auth import (
    PermissionDenied,
    ScopeSpec,
    message_condition,
    require_session_in_scope,
    resolve_scope,
    session_condition,
    session_in_scope,
    session_keys_in_scope,
)
from app.core.directory import import_directory
from app.core.messages import parse_message
from app.core.sdk import ChatDataItem
from app.core.sdk.decrypt import Decrypted
from app.core.store.models import Message, Session
from app.core.sync.pipeline import ensure_corp
from app.core.sync.writer import write_batch

# sender, tolist, roomid: who talks to whom
CHATS = {
    "m1": ("zhangwei", ["lina"], ""),  # internal pair: Sales + Support
    "m2": ("lina", ["wangfang"], ""),  # Support + Legal
    "m3": ("chenjie", ["wmEXTERNAL0123456789abcdefghij"], ""),  # Legal + a customer
    "m4": ("zhangwei", ["chenjie", "lina"], "room-1"),  # group
    "m5": ("wangfang", ["wangfang"], ""),  # note to self
}
DEPARTMENTS = {"zhangwei": "Sales", "lina": "Support", "wangfang": "Legal", "chenjie": "Legal"}


@pytest.fixture
def archive(db, tmp_path):
    corp = ensure_corp(db, "wwscope")
    outcomes = []
    for seq, (msgid, (sender, to, room)) in enumerate(CHATS.items(), start=1):
        raw = json.dumps({"msgid": msgid, "action": "send", "from": sender, "tolist": to, "roomid": room,
                          "msgtime": 1_700_000_000_000 + seq, "msgtype": "text", "text": {"content": msgid}}).encode()
        outcomes.append(Decrypted(ChatDataItem(seq, msgid, 1, "k", "m"), raw, parse_message(raw)))
    write_batch(db, corp, 0, len(outcomes), outcomes, None)
    directory = tmp_path / "directory.json"
    directory.write_text(json.dumps({
        "directory": {u: u.title() for u in DEPARTMENTS} | {"wmEXTERNAL0123456789abcdefghij": "Customer"},
        "departments": DEPARTMENTS, "external_corps": {"wmEXTERNAL0123456789abcdefghij": "Legal"}}))
    # the customer's *corp* is called "Legal" too: not staff
    import_directory(db, corp, directory, actor=Actor.system("test"))
    return corp


def _session_msgids(db, scope):
    """For each session in scope, the msgid of its first message (sessions named by their chat)."""
    with db.read() as conn:
        sessions = conn.execute(select(Session.session_id).where(session_condition(db, scope))).scalars().all()
        names = dict(conn.execute(select(Message.session_id, Message.msgid)).all())
    return {names[s] for s in sessions}


def _messages(db, scope):
    with db.read() as conn:
        return set(conn.execute(select(Message.msgid).where(message_condition(db, scope, Message.__table__)))
                   .scalars())


def test_departments_resolve_to_staff_userids(db, archive):
    with db.read() as conn:
        assert resolve_scope(conn, ScopeSpec()) is None
        assert resolve_scope(conn, ScopeSpec(departments=frozenset({"Legal"}))) == {"wangfang", "chenjie"}
        assert resolve_scope(conn, ScopeSpec(userids=frozenset({"x"}), departments=frozenset({"Sales"}))) == {
            "x", "zhangwei"}
        # A department nobody belongs to gives an empty scope: nothing, never everything.
        assert resolve_scope(conn, ScopeSpec(departments=frozenset({"Nowhere"}))) == frozenset()


@pytest.mark.parametrize("scope, sessions", [
    (None, {"m1", "m2", "m3", "m4", "m5"}),
    (frozenset(), set()),
    (frozenset({"zhangwei"}), {"m1", "m4"}),
    (frozenset({"lina"}), {"m1", "m2", "m4"}),
    (frozenset({"wangfang", "chenjie"}), {"m2", "m3", "m4", "m5"}),
    (frozenset({"nobody"}), set()),
    (frozenset({"wmEXTERNAL0123456789abcdefghij"}), {"m3"}),
])
def test_sessions_and_messages_in_scope(db, archive, scope, sessions):
    assert _session_msgids(db, scope) == sessions
    assert _messages(db, scope) == sessions  # one message per session here
    keys = session_keys_in_scope(db, scope, archive)
    assert keys is None if scope is None else len(keys) == len(sessions)


def test_a_large_scope_is_one_parameter(db, archive):
    scope = frozenset({f"user{i:05d}" for i in range(40_000)} | {"chenjie"})
    assert _session_msgids(db, scope) == {"m3", "m4"}
    assert _messages(db, scope) == {"m3", "m4"}


def test_a_message_without_a_session_is_in_scope_by_its_sender(db, archive):
    with db.write() as conn:  # none are written today; the filter must still hold for them
        conn.execute(update(Message).where(Message.msgid == "m2").values(session_id=None))
    big = {f"user{i:05d}" for i in range(40_000)}
    assert _messages(db, frozenset(big | {"lina"})) == {"m1", "m2", "m4"}
    assert _messages(db, frozenset(big | {"wangfang"})) == {"m5"}  # m2 has no session now; its sender is lina


def test_ids_are_matched_exactly(db, archive):
    assert _session_msgids(db, frozenset({"ZHANGWEI", "zhang", "lin"})) == set()


def test_one_session_check_names_the_account():
    actor = Actor("lina", roles={"reviewer"}, scope=frozenset({"lina"}), account_id=7)
    assert session_in_scope(actor.scope, ["lina", "zhangwei"]) and session_in_scope(None, [])
    require_session_in_scope(actor, "abc", ["zhangwei", "lina"])
    with pytest.raises(PermissionDenied, match="session abc is outside the scope of account 'lina'"):
        require_session_in_scope(actor, "abc", ["zhangwei", "wangfang"])
