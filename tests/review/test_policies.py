"""Policies evaluate what each batch stores (the search journal past their marks), raise one alert per
policy, session and day, reopen dismissed alerts on new hits, never raise an alert twice when two
evaluations race, look back through the index on request, run daily ones once a day, and are
triaged within scope with reasons the auditor does not read; the sync runs them itself."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.core.auth import PermissionDenied
from app.core.review import ReviewError
from app.core.review import tables as T
from app.core.review.facts import resolve_review_terms
from app.core.review.policies import PolicyEngine, local_day
from app.core.search import SearchService

from .kit import UTC, audit, make_desk

DAY = 86_400_000
BASE = 1_750_000_000_000  # 2025-06-15T15:06:40Z, after the corpus


@pytest.fixture
def desk(db_url):
    d = make_desk(db_url)
    yield d
    d.db.close()


def _msg(msgid, text, t, sender="zhangwei", to=("LiNa",), room=""):
    return {"msgid": msgid, "from": sender, "tolist": list(to), "roomid": room, "msgtime": t, "msgtype": "text",
            "text": {"content": text}}


def _hits(db) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(T.alert_hits)).scalar_one()


def test_policies_evaluate_only_what_each_batch_stored_and_raise_one_alert_per_session_and_day(desk):
    engine = PolicyEngine(desk.db, tz=UTC)
    policies = desk.review.policies
    with pytest.raises(PermissionDenied):
        policies.create(desk.alice, "lexicon", "返现 OR 回扣")
    p = policies.create(desk.root, "lexicon", '返现 OR 回扣 OR "私下转账"')
    assert engine.evaluate().messages == 0  # a new policy starts at the journal's head: the corpus is history
    desk.add_messages([_msg("a1", "这单给你返现", BASE), _msg("a2", "回扣照旧", BASE + 1000),
                       _msg("a3", "私下转账吧", BASE + 2000, sender="wangfang01", to=("wmExternalUser0000000000000001",)),
                       _msg("a4", "无关的话", BASE + 3000), _msg("a5", "明天再返现", BASE + DAY)])
    report = engine.evaluate()
    assert report.messages == 5 and report.hits == {"lexicon": 4}
    alerts = sorted(desk.review.alerts.list(desk.alice, status="open"), key=lambda a: (a.day, a.session_id))
    by_day = [(a.day, a.hits) for a in alerts]
    assert sorted(by_day) == sorted([(local_day(BASE, UTC), 2), (local_day(BASE, UTC), 1), (local_day(BASE + DAY, UTC), 1)])
    assert len(report.raised) == 3 and all(a.policy == "lexicon" for a in alerts)
    assert engine.evaluate().messages == 0  # nothing new: nothing read
    desk.add_messages([_msg("a6", "又是返现", BASE + 5000)])
    report = engine.evaluate()
    assert report.messages == 1 and len(report.updated) == 1 and not report.raised  # joins the day's alert
    # the same matches, found by a search (the evaluator is the search's)
    search = SearchService(desk.db, tz=UTC, review_terms=resolve_review_terms)
    assert search.query_count(desk.alice, "policy:lexicon") == 5 == search.query_count(
        desk.alice, '(返现 OR 回扣 OR "私下转账") after:2025-06-01')
    entry = audit(desk.db, "review.policy_run")[-1]
    assert entry.account == "system:review-policies" and entry.detail["updated"] == 1 and entry.object == "lexicon"
    assert [e.detail["change"] for e in audit(desk.db, "review.policy") if e.outcome == "ok"] == ["create"]
    assert p.name == "lexicon"


def test_new_hits_reopen_a_dismissed_alert_and_count_on_an_escalated_one(desk):
    engine = PolicyEngine(desk.db, tz=UTC)
    desk.review.policies.create(desk.root, "lexicon", "返现")
    desk.add_messages([_msg("b1", "返现一", BASE), _msg("b2", "返现二", BASE, sender="LiNa", to=("wangfang01",))])
    engine.evaluate()
    first, second = sorted(desk.review.alerts.list(desk.alice), key=lambda a: a.session_id)
    alerts = desk.review.alerts
    with pytest.raises(ReviewError, match="reason"):
        alerts.triage(desk.alice, [first.id], "dismiss")
    alerts.triage(desk.alice, [first.id], "dismiss", reason="误报：这是产品名")
    alerts.triage(desk.alice, [second.id], "escalate", reason="需合规部跟进", assignee="dave")
    desk.add_messages([_msg("b3", "返现三", BASE + 1000), _msg("b4", "返现四", BASE + 1000, sender="LiNa",
                                                                 to=("wangfang01",))])
    report = engine.evaluate()
    assert report.reopened == [first.id] and sorted(report.updated) == sorted([first.id, second.id])
    now = {a.id: a for a in alerts.list(desk.alice, status=None)}
    assert (now[first.id].status, now[first.id].hits) == ("open", 2)
    assert (now[second.id].status, now[second.id].new_hits, now[second.id].assignee) == ("escalated", 1, "dave")
    assert now[second.id].reason == "需合规部跟进" and alerts.get(desk.carol, second.id).reason is None  # auditor
    assert alerts.counts(desk.dave) == {"open": 1, "mine": 0, "unassigned": 1}
    entries = audit(desk.db, "review.alert")
    assert [e.detail.get("action") for e in entries if e.outcome == "ok"] == ["dismiss", "escalate"]
    assert "误报" not in str([e.detail for e in entries]) and entries[-1].detail["reason_characters"] == 6


def test_triage_respects_scope_and_names_real_reviewers(desk):
    desk.review.policies.create(desk.root, "lexicon", "返现")
    desk.add_messages([_msg("c1", "返现", BASE, sender="wangfang01", to=("wmExternalUser0000000000000001",)),
                       _msg("c2", "返现", BASE, sender="zhangwei", to=("LiNa",))])
    PolicyEngine(desk.db, tz=UTC).evaluate()
    every = desk.review.alerts.list(desk.alice)
    seen_by_bob = desk.review.alerts.list(desk.bob)
    assert len(every) == 2 and len(seen_by_bob) == 1  # bob: LiNa's conversations only
    outside = next(a for a in every if a.id != seen_by_bob[0].id)
    with pytest.raises(PermissionDenied):
        desk.review.alerts.triage(desk.bob, [outside.id, seen_by_bob[0].id], "dismiss", reason="x")
    assert desk.review.alerts.get(desk.alice, outside.id).status == "open"
    assert desk.review.alerts.session_counts(desk.bob) == {(seen_by_bob[0].corp_id, seen_by_bob[0].session_id): 1}
    with pytest.raises(ReviewError, match="cannot triage"):
        desk.review.alerts.triage(desk.alice, [outside.id], "assign", assignee="carol")  # an auditor
    with pytest.raises(ReviewError, match="no account"):
        desk.review.alerts.triage(desk.alice, [outside.id], "assign", assignee="nobody")
    assert desk.review.alerts.triage(desk.alice, [outside.id], "assign", assignee="me")[0].mine


def test_recalls_changed_messages_are_evaluated_again(desk):
    engine = PolicyEngine(desk.db, tz=UTC)
    desk.review.policies.create(desk.root, "recalled files", "is:recalled has:media")
    desk.add_messages([{"msgid": "f1", "from": "zhangwei", "tolist": ["LiNa"], "roomid": "", "msgtime": BASE,
                        "msgtype": "file", "file": {"filename": "报价.pdf", "sdkfileid": "F9", "md5sum": "0" * 32,
                                                    "filesize": 10, "fileext": "pdf"}}])
    assert not engine.evaluate().hits
    desk.add_messages([{"msgid": "r1", "action": "recall", "from": "zhangwei", "tolist": ["LiNa"], "roomid": "",
                        "msgtime": BASE + 60_000, "msgtype": "revoke", "revoke": {"pre_msgid": "f1"}}])
    report = engine.evaluate()
    assert report.hits == {"recalled files": 1} and report.messages == 2  # the recall and the file it changed


def test_a_tag_policy_sees_session_tags_on_new_messages_and_message_tags_on_recalled_ones(desk):
    """The review terms are resolved for each batch's messages: a session's tag covers the new
    messages of that session, a message's own tag counts when a recall brings the message back."""
    engine = PolicyEngine(desk.db, tz=UTC)
    desk.add_messages([{"msgid": "g1", "from": "zhangwei", "tolist": ["wangfang01"], "roomid": "", "msgtime": BASE,
                        "msgtype": "file", "file": {"filename": "报价.pdf", "sdkfileid": "F9", "md5sum": "0" * 32,
                                                    "filesize": 10, "fileext": "pdf"}},
                       _msg("g2", "在吗", BASE + 1000)])  # zhangwei -> LiNa
    desk.review.tags.tag(desk.alice, "违规", message_ids=[desk.by_msgid("g1")["id"]])
    desk.review.tags.tag(desk.alice, "需关注", session=desk.session_of("g2"))
    desk.review.policies.create(desk.root, "flagged", "tag:违规 OR tag:需关注")
    assert engine.evaluate().messages == 0
    desk.add_messages([_msg("g3", "好的", BASE + 2000),  # in the session tagged 需关注
                       _msg("g4", "收到", BASE + 3000, sender="zhangwei", to=("wangfang01",)),  # g1's, untagged
                       {"msgid": "g5", "action": "recall", "from": "zhangwei", "tolist": ["wangfang01"], "roomid": "",
                        "msgtime": BASE + 4000, "msgtype": "revoke", "revoke": {"pre_msgid": "g1"}}])
    report = engine.evaluate()
    assert report.messages == 4 and report.hits == {"flagged": 2}  # g3, and g1 recalled; not g4 nor g5
    with desk.db.read() as conn:
        hit = set(conn.execute(select(T.alert_hits.c.message_id)).scalars())
    assert hit == {desk.by_msgid("g3")["id"], desk.by_msgid("g1")["id"]}


def test_a_policy_on_recipients_reads_them_and_one_without_does_not_need_them(desk):
    engine = PolicyEngine(desk.db, tz=UTC)
    desk.review.policies.create(desk.root, "to customers", "to:wmExternalUser0000000000000001")
    desk.review.policies.create(desk.root, "lexicon", "返现")
    desk.add_messages([_msg("t1", "返现", BASE, sender="wangfang01", to=("wmExternalUser0000000000000001",)),
                       _msg("t2", "你好", BASE + 1000, sender="LiNa", to=("wmExternalUser0000000000000001",)),
                       _msg("t3", "返现", BASE + 2000)])
    assert engine.evaluate().hits == {"to customers": 2, "lexicon": 2}
    desk.review.policies.update(desk.root, "to customers", enabled=False)
    desk.add_messages([_msg("t4", "返现", BASE + 3000, sender="LiNa", to=("wmExternalUser0000000000000001",))])
    assert engine.evaluate().hits == {"lexicon": 1}


def test_hits_join_their_own_alert_not_another_sessions_or_days(desk):
    """The alerts of a batch's groups are looked up together: a group joins the alert of its own
    policy, session and day, never one that shares only the session or only the day."""
    engine = PolicyEngine(desk.db, tz=UTC)
    desk.review.policies.create(desk.root, "lexicon", "返现")
    desk.add_messages([_msg("h1", "返现", BASE)])  # zhangwei -> LiNa, day 1
    first = engine.evaluate()
    assert len(first.raised) == 1
    desk.add_messages([_msg("h2", "返现", BASE + DAY),  # the same session, day 2
                       _msg("h3", "返现", BASE + 1000, sender="wangfang01", to=("LiNa",)),  # another session, day 1
                       _msg("h4", "又返现", BASE + 2000)])  # the same session and day: joins
    report = engine.evaluate()
    assert report.updated == first.raised and len(report.raised) == 2
    by_key = {(a.session_id, a.day): a.hits for a in desk.review.alerts.list(desk.alice)}
    assert sorted(by_key.values()) == [1, 1, 2] and len(by_key) == 3
    assert by_key[(desk.session_of("h1")[1], local_day(BASE, UTC))] == 2


def test_two_evaluations_at_once_raise_each_alert_once(desk):
    desk.review.policies.create(desk.root, "lexicon", "返现 OR 合同")
    desk.add_messages([_msg(f"d{i}", f"返现{i}", BASE + i * 3_600_000, sender="zhangwei" if i % 2 else "LiNa",
                            to=("LiNa",) if i % 2 else ("wangfang01",)) for i in range(40)])
    reports, errors = [], []

    def run():
        try:
            reports.append(PolicyEngine(desk.db, tz=UTC).evaluate())
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _hits(desk.db) == 40 and sum(sum(r.hits.values()) for r in reports) == 40
    with desk.db.read() as conn:
        dup = conn.execute(select(T.alerts.c.session_id, T.alerts.c.day, func.count()).group_by(
            T.alerts.c.session_id, T.alerts.c.day).having(func.count() > 1)).all()
    assert dup == []


def test_look_back_raises_alerts_for_history_without_moving_marks(desk):
    search = SearchService(desk.db, tz=UTC, review_terms=resolve_review_terms)
    p = desk.review.policies.create(desk.root, "contracts", "合同")
    with desk.db.read() as conn:
        marks = conn.execute(select(T.policy_marks)).all()
    report = desk.review.policies.run(desk.alice, ["contracts"], since_ms=0, search=search)
    assert report.hits == {"contracts": search.query_count(desk.alice, "合同")} and report.raised
    with desk.db.read() as conn:
        assert conn.execute(select(T.policy_marks)).all() == marks
    again = desk.review.policies.run(desk.alice, ["contracts"], since_ms=0, search=search)
    assert not again.hits  # a message is a hit of a policy once
    assert audit(desk.db, "review.policy_run")[-1].detail["look_back"] is True
    assert p.schedule == "sync"


def test_daily_policies_run_once_a_day_and_a_disabled_policy_not_at_all(desk):
    engine = PolicyEngine(desk.db, tz=UTC)
    desk.review.policies.create(desk.root, "daily", "返现", schedule="daily")
    desk.review.policies.create(desk.root, "off", "返现")
    desk.review.policies.update(desk.root, "off", enabled=False)
    desk.add_messages([_msg("e1", "返现", BASE)])
    assert engine.evaluate().hits == {}  # after a batch: neither
    assert engine.evaluate(due_daily=True).hits == {"daily": 1}  # the sync's last evaluation of the day
    desk.add_messages([_msg("e2", "返现", BASE + 1000)])
    assert engine.evaluate(due_daily=True).hits == {}  # already ran today
    assert desk.review.policies.run(desk.alice).hits == {"daily": 1}  # by hand: every enabled policy
    desk.review.policies.update(desk.root, "off", enabled=True)
    desk.add_messages([_msg("e3", "返现", BASE + 2000)])
    assert engine.evaluate().hits == {"off": 1}  # re-enabled: from then on, not what passed meanwhile
    changes = [e.detail for e in audit(desk.db, "review.policy") if e.detail.get("change") == "update"]
    assert [c["enabled"] for c in changes] == ["True -> False", "False -> True"]


def test_a_policy_query_is_checked_when_saved(desk):
    with pytest.raises(ReviewError, match="character 7"):
        desk.review.policies.create(desk.root, "bad", '返现 OR "open')
    with pytest.raises(ReviewError, match="reviewed:me"):
        desk.review.policies.create(desk.root, "mine", "reviewed:me")
    desk.review.policies.create(desk.root, "x", "返现")
    with pytest.raises(ReviewError, match="exists already"):
        desk.review.policies.create(desk.root, "X", "回扣")


def test_the_sync_runs_the_policies_after_each_batch(tmp_path):
    from archive_kit import demo_actor

    from app.core.context import AppContext
    from app.core.review import Review
    from native.corpus import generate_corpus

    corpus = tmp_path / "corpus"
    generate_corpus(corpus, messages=600, seed=9)
    ctx = AppContext(tmp_path / "data")
    try:
        corp, _ = ctx.setup_demo(corpus)
        actor = demo_actor(ctx)
        review = Review(ctx.db, ctx.trail)
        review.policies.create(actor, "contracts", "合同 OR 发票")
        options_batch = 100
        syncer = ctx.make_syncer(corp, workers=1, media=False)
        syncer.options.batch_limit = options_batch
        syncer.run()
        want = ctx.search.query_count(actor, "合同 OR 发票")
        assert want > 0 and ctx.search.query_count(actor, "policy:contracts") == want
        runs = audit(ctx.db, "review.policy_run")
        assert runs and all(e.account == "system:review-policies" for e in runs)
    finally:
        ctx.close()
