"""The statistics page's and the timeline's figures (app/core/statistics.py) on SQLite and MariaDB: each
equals a plain count of the messages read one by one through ArchiveService.messages (the reader the
viewer uses, with its own scope rule), for the whole archive, a date range, zones with whole- and
half-hour offsets, and a scoped account; the queries run on the messages table's indexes."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.core.actor import Actor
from app.core.auth import PermissionDenied
from app.core.statistics import EXTERNAL, STAFF, StatisticsService, classify, external_corp

SHANGHAI, KOLKATA = ZoneInfo("Asia/Shanghai"), ZoneInfo("Asia/Kolkata")


def all_messages(archive, actor, start=None, end=None):
    """Every message the actor may read, one page after another (the plain count's source)."""
    out, after = [], None
    while True:
        page = archive.ctx.archive.messages(actor, corp_id=archive.corp_id, start_ms=start, end_ms=end, limit=500,
                                            after=after)
        out += page
        if len(page) < 500:
            return out
        after = (page[-1].msgtime, page[-1].id)


def service(archive) -> StatisticsService:
    return StatisticsService(archive.ctx.db, archive.ctx.directory, archive.ctx.trail)


def plain_figures(archive, actor, messages, tz):
    d = archive.ctx.directory
    days = Counter(datetime.fromtimestamp(m.msgtime / 1000, tz).date() for m in messages)
    types = Counter(m.msgtype for m in messages)
    senders = Counter(m.sender for m in messages)
    staff = {u: n for u, n in senders.items() if classify(d.person(actor, archive.corp_id, u), u) == STAFF}
    corps: Counter = Counter()
    for u, n in senders.items():
        person = d.person(actor, archive.corp_id, u)
        if classify(person, u) == EXTERNAL:
            corps[external_corp(person)] += n
    return days, types, staff, corps


def check(archive, actor, stats, messages, tz):
    days, types, staff, corps = plain_figures(archive, actor, messages, tz)
    assert stats.total == len(messages)
    assert {d.day: d.count for d in stats.per_day if d.count} == dict(days)
    assert all(d.count == 0 for d in stats.per_day if d.day not in days)  # the days between: zero
    assert {t.msgtype: t.count for t in stats.per_type} == dict(types)
    assert {s.userid: s.count for s in stats.per_staff} == staff
    assert {c.corp: c.count for c in stats.per_external_corp} == dict(corps)
    assert sum(s.count for s in stats.senders) == len(messages)


@pytest.mark.parametrize("tz", [SHANGHAI, KOLKATA], ids=["shanghai", "kolkata"])
def test_every_figure_equals_a_plain_count_of_the_messages(archive, tz):
    actor = archive.actor
    messages = all_messages(archive, actor)
    assert len(messages) > 600
    stats = service(archive).message_statistics(actor, archive.corp_id, tz=tz)
    check(archive, actor, stats, messages, tz)
    # names come from the directory, beside the ids; external contacts' corps are named
    named = [s for s in stats.per_staff if s.name]
    assert len(named) == len(stats.per_staff) > 10
    assert all(s.name == archive.ctx.directory.name(actor, archive.corp_id, s.userid) for s in named)
    assert "微信" in {c.corp for c in stats.per_external_corp} and len(stats.per_external_corp) > 3
    # the days run from the first to the last without a gap
    days = [d.day for d in stats.per_day]
    assert [(b - a).days for a, b in zip(days, days[1:], strict=False)] == [1] * (len(days) - 1)


def test_a_date_range_counts_what_is_in_it(archive):
    actor = archive.actor
    messages = all_messages(archive, actor)
    times = sorted(m.msgtime for m in messages)
    start = int(datetime.fromtimestamp(times[len(times) // 3] / 1000, SHANGHAI)
                .replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)
    end = start + 30 * 86_400_000
    inside = [m for m in messages if start <= m.msgtime < end]
    assert 0 < len(inside) < len(messages)
    stats = service(archive).message_statistics(actor, archive.corp_id, start, end, tz=SHANGHAI)
    check(archive, actor, stats, inside, SHANGHAI)
    assert stats.per_day[0].day >= datetime.fromtimestamp(start / 1000, SHANGHAI).date()
    assert stats.per_day[-1].day < datetime.fromtimestamp(end / 1000, SHANGHAI).date()


def test_a_scoped_account_counts_only_its_conversations(archive):
    full = service(archive).message_statistics(archive.actor, archive.corp_id, tz=SHANGHAI)
    top = full.per_staff[0].userid
    scoped = Actor("scoped", roles=frozenset({"reviewer"}), scope=frozenset({top}))
    messages = all_messages(archive, scoped)
    stats = service(archive).message_statistics(scoped, archive.corp_id, tz=SHANGHAI)
    assert 0 < stats.total < full.total
    check(archive, scoped, stats, messages, SHANGHAI)
    nobody = Actor("nobody", roles=frozenset({"reviewer"}), scope=frozenset())
    assert service(archive).message_statistics(nobody, archive.corp_id).total == 0


def test_counting_needs_messages_read_and_a_refusal_is_recorded(archive):
    auditor = Actor("aud", roles=frozenset({"auditor"}))
    with pytest.raises(PermissionDenied):
        service(archive).message_statistics(auditor, archive.corp_id)
    with pytest.raises(PermissionDenied):
        service(archive).person_conversations(auditor, archive.corp_id, "zhangwei")
    denied = [e for e in archive.ctx.trail.entries(archive.actor, limit=20) if e.account == "aud"]
    assert {e.outcome for e in denied} == {"denied"} and len(denied) == 2


def test_the_counts_run_on_the_messages_indexes(archive):
    s, actor = service(archive), archive.actor
    queries = {"ix_messages_time": s.day_query(actor, archive.corp_id, 0, 10**14),
               "ix_messages_type_time": s.type_query(actor, archive.corp_id, 0, 10**14),
               "ix_messages_sender_time": s.sender_query(actor, archive.corp_id, 0, 10**14),
               "ix_messages_sender_time ": s.day_query(actor, archive.corp_id, 0, 10**14, sender="zhangwei")}
    db = archive.ctx.db
    with db.read() as conn:
        for index, q in queries.items():
            sql = str(q.compile(db.engine, compile_kwargs={"literal_binds": True}))
            if db.is_sqlite:
                plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql.replace("%%", "%")))
                assert f"USING COVERING INDEX {index.strip()}" in plan, (sql, plan)
            else:
                rows = conn.exec_driver_sql("EXPLAIN " + sql).mappings().all()
                assert rows[0]["key"] and rows[0]["key"].startswith("ix_messages_"), (sql, rows)
                assert rows[0]["type"] != "ALL" or "Using index" in (rows[0]["Extra"] or ""), (sql, rows)


# ---------------------------------------------------------------------------------------- timeline

def test_a_persons_timeline_lists_every_conversation_they_are_in_with_what_they_sent(archive):
    actor = archive.actor
    stats = service(archive).message_statistics(actor, archive.corp_id)
    person = stats.per_staff[1].userid
    sessions = archive.ctx.archive.sessions(actor, archive.corp_id, limit=100_000)
    theirs = {s.session_id for s in sessions if person in s.participants}
    sent = Counter(m.session_id for m in all_messages(archive, actor) if m.sender == person)
    timeline = service(archive).person_conversations(actor, archive.corp_id, person)
    assert {c.session_id for c in timeline.conversations} == theirs
    assert {c.session_id: c.sent for c in timeline.conversations if c.sent} == dict(sent)
    assert timeline.sent == sum(sent.values()) == stats.per_staff[1].count
    lasts = [c.last_msgtime for c in timeline.conversations]
    assert lasts == sorted(lasts, reverse=True)  # by time, newest first
    assert timeline.name == archive.ctx.directory.name(actor, archive.corp_id, person)
    # their first message in a conversation, to open it
    busiest = max(timeline.conversations, key=lambda c: c.sent)
    first = service(archive).first_sent(actor, archive.corp_id, busiest.session_id, person)
    detail = archive.ctx.archive.message(actor, message_id=first)
    assert detail.row.sender == person and detail.row.msgtime == busiest.first_sent
    # per day, what they sent
    per_day = service(archive).sent_per_day(actor, archive.corp_id, person)
    assert sum(d.count for d in per_day) == timeline.sent


def test_a_timeline_keeps_to_the_range_and_the_scope(archive):
    actor = archive.actor
    stats = service(archive).message_statistics(actor, archive.corp_id)
    person = stats.per_staff[0].userid
    timeline = service(archive).person_conversations(actor, archive.corp_id, person)
    mid = sorted(c.last_msgtime for c in timeline.conversations)[len(timeline.conversations) // 2]
    later = service(archive).person_conversations(actor, archive.corp_id, person, start_ms=mid)
    assert {c.session_id for c in later.conversations} == {c.session_id for c in timeline.conversations
                                                           if c.last_msgtime >= mid}
    sent_later = sum(1 for m in all_messages(archive, actor, start=mid) if m.sender == person)
    assert later.sent == sent_later < timeline.sent
    other = next(s.userid for s in stats.per_staff if s.userid != person)
    scoped = Actor("scoped", roles=frozenset({"reviewer"}), scope=frozenset({other}))
    seen = service(archive).person_conversations(scoped, archive.corp_id, person)
    allowed = {s.session_id for s in archive.ctx.archive.sessions(scoped, archive.corp_id, limit=100_000)}
    assert {c.session_id for c in seen.conversations} == {c.session_id for c in timeline.conversations} & allowed
    assert len(seen.conversations) < len(timeline.conversations)


# ---------------------------------------------------------------------------------------- group members

def test_a_groups_members_are_wecoms_list_with_join_times_beside_what_the_archive_saw(archive):
    from app.core.directory.groups import GroupMembersService

    actor = archive.actor
    doc = json.loads((archive.corpus / "directory.json").read_text(encoding="utf-8"))
    wecom = {g["roomid"]: g for g in doc["groups"]}
    groups = archive.ctx.archive.sessions(actor, archive.corp_id, "group", limit=1000)
    svc = GroupMembersService(archive.ctx.db, archive.ctx.directory, archive.ctx.trail)
    checked = 0
    for s in groups:
        g = svc.group_members(actor, archive.corp_id, s.session_id)
        assert g is not None and g.roomid == s.roomid
        sent = Counter(m.sender for m in archive.ctx.archive.messages(actor, corp_id=archive.corp_id,
                                                                       session_id=s.session_id, limit=100_000))
        assert {m.userid: m.sent for m in g.members if m.sent} == dict(sent)
        assert {p for p in s.participants if p != s.roomid} <= {m.userid for m in g.members}
        if s.roomid not in wecom:
            continue
        checked += 1
        truth = wecom[s.roomid]
        assert g.described and g.name == truth["name"] and g.owner == truth["owner"]
        listed = {m.userid: m for m in g.members if m.listed}
        assert set(listed) == {m["userid"] for m in truth["members"]}
        for m in truth["members"]:
            assert listed[m["userid"]].join_time == m["join_time"] * 1000
            if truth["kind"] == "customer" and m.get("invitor"):
                assert listed[m["userid"]].invitor == m["invitor"]
        assert g.members[0].userid == truth["owner"]  # the owner first, then by join time
        joins = [m.join_time for m in g.members[1:] if m.listed]
        assert joins == sorted(joins)
        assert all(m.name == (archive.ctx.directory.name(actor, archive.corp_id, m.userid) or "") for m in g.members)
    assert checked >= 3


def test_a_group_outside_the_scope_has_no_member_list(archive):
    from app.core.directory.groups import GroupMembersService

    svc = GroupMembersService(archive.ctx.db, archive.ctx.directory, archive.ctx.trail)
    group = archive.ctx.archive.sessions(archive.actor, archive.corp_id, "group", limit=1)[0]
    outsider = Actor("outsider", roles=frozenset({"reviewer"}), scope=frozenset({"nobody-here"}))
    assert svc.group_members(outsider, archive.corp_id, group.session_id) is None
    insider = Actor("insider", roles=frozenset({"reviewer"}), scope=frozenset({group.participants[0]}))
    assert svc.group_members(insider, archive.corp_id, group.session_id) is not None
    one_to_one = archive.ctx.archive.sessions(archive.actor, archive.corp_id, "internal", limit=1)[0]
    assert svc.group_members(archive.actor, archive.corp_id, one_to_one.session_id) is None
    with pytest.raises(PermissionDenied):
        svc.group_members(Actor("aud", roles=frozenset({"auditor"})), archive.corp_id, group.session_id)


def test_days_are_cut_at_local_midnight_in_half_hour_zones_and_across_summer_time(db_url, tmp_path):
    """Messages minutes either side of local midnight land on their own local day: Kolkata (+05:30:
    an hourly bucket would put 23:40 and 00:10 on one day) and Berlin on the night summer time
    starts (+01:00 before, +02:00 after)."""
    from app.core.context import AppContext
    from app.core.messages import parse_message
    from app.core.sdk import ChatDataItem
    from app.core.sdk.decrypt import Decrypted
    from app.core.sync.pipeline import ensure_corp
    from app.core.sync.writer import write_batch

    def at(text: str) -> int:
        return int(datetime.fromisoformat(text).timestamp() * 1000)

    times = [at("2024-03-01T23:40:00+05:30"), at("2024-03-02T00:10:00+05:30"),  # Kolkata
             at("2024-03-30T23:50:00+01:00"), at("2024-03-31T00:20:00+01:00"),  # Berlin, before 02:00
             at("2024-03-31T23:45:00+02:00"), at("2024-04-01T00:15:00+02:00")]  # Berlin, summer time
    ctx = AppContext(tmp_path / "data", db_url)
    try:
        corp = ensure_corp(ctx.db, "wwdays")
        outcomes = []
        for seq, ms in enumerate(times, start=1):
            raw = json.dumps({"msgid": f"d{seq}", "action": "send", "from": "zhangwei", "tolist": ["lina"],
                              "roomid": "", "msgtime": ms, "msgtype": "text", "text": {"content": "x"}}).encode()
            outcomes.append(Decrypted(ChatDataItem(seq, f"d{seq}", 1, "k", "m"), raw, parse_message(raw)))
        write_batch(ctx.db, corp, 0, len(outcomes), outcomes, None)
        svc = StatisticsService(ctx.db)
        root = Actor("root", roles=frozenset({"reviewer"}))
        kolkata = svc.message_statistics(root, corp, times[0] - 3_600_000, times[1] + 3_600_000, tz=KOLKATA)
        assert [(d.day.isoformat(), d.count) for d in kolkata.per_day] == [("2024-03-01", 1), ("2024-03-02", 1)]
        berlin = svc.message_statistics(root, corp, times[2] - 3_600_000, tz=ZoneInfo("Europe/Berlin"))
        assert [(d.day.isoformat(), d.count) for d in berlin.per_day] == [
            ("2024-03-30", 1), ("2024-03-31", 2), ("2024-04-01", 1)]
    finally:
        ctx.close()
