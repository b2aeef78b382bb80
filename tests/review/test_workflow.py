"""The review services as a reviewer, an administrator and an auditor use them: tags, statuses and
marks, notes, saved searches — each change recorded in the audit trail, each refused (and recorded)
outside the account's role or scope; on SQLite and MariaDB."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core.auth import PermissionDenied
from app.core.review import ReviewError
from app.core.review import tables as T
from app.core.review.facts import resolve_review_terms
from app.core.search import SearchService

from .kit import UTC, audit, make_desk


@pytest.fixture
def desk(db_url):
    d = make_desk(db_url)
    yield d
    d.db.close()


def _count(db, table) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# ---------------------------------------------------------------------------------------- tags
def test_the_tag_set_is_the_administrators_and_tagging_the_reviewers(desk):
    tags = desk.review.tags
    assert [(t.label_zh, t.label_en) for t in tags.tags(desk.alice)] == [
        ("需关注", "Needs attention"), ("违规", "Violation"), ("无问题", "No issue"), ("特权", "Privileged"),
        ("已上报", "Escalated")]
    with pytest.raises(PermissionDenied):
        tags.add_tag(desk.alice, "已归档", "Archived")
    new = tags.add_tag(desk.root, "已归档", "Archived", colour="#607d8b")
    assert (new.key, new.position, new.colour) == ("archived", 6, "#607D8B")
    with pytest.raises(ReviewError, match="already has the name"):
        tags.add_tag(desk.root, "违规", "Something else")
    moved = tags.edit_tag(desk.root, "archived", position=1, label_en="Filed")
    assert moved.position == 1 and [t.key for t in tags.tags(desk.alice)][:2] == ["archived", "attention"]
    with pytest.raises(PermissionDenied):
        tags.tag(desk.root, "违规", message_ids=[desk.by_msgid("m000")["id"]])  # administrators do not tag
    m0, m1 = desk.by_msgid("m000")["id"], desk.by_msgid("m001")["id"]
    assert tags.tag(desk.alice, "违规", message_ids=[m0, m1, m0]) == 2
    assert tags.tag(desk.alice, "violation", message_ids=[m0]) == 0  # had it already
    tags.edit_tag(desk.root, "违规", enabled=False)
    with pytest.raises(ReviewError, match="disabled"):
        tags.tag(desk.alice, "违规", message_ids=[desk.by_msgid("m005")["id"]])
    assert tags.tag(desk.alice, "违规", message_ids=[m1], remove=True) == 1  # removing still works
    assert tags.of_messages(desk.alice, *desk.session_of("m000"), [m0]) == {m0: [tags.find("违规").id]}
    changes = audit(desk.db, "review.tagset")
    assert [(e.account, e.outcome) for e in changes[:2]] == [("alice", "denied"), ("root", "ok")]
    assert [e.detail["change"] for e in changes[1:]] == ["add", "edit", "edit"]
    tagged = audit(desk.db, "review.tag")
    assert [(e.outcome, e.account) for e in tagged[-4:]] == [("denied", "root"), ("ok", "alice"), ("ok", "alice"),
                                                            ("ok", "alice")]
    assert tagged[-3].object == f"{min(m0, m1)}, {max(m0, m1)}" and tagged[-3].detail["changed"] == 2


def test_a_whole_session_and_all_search_results_are_tagged(desk):
    tags, search = desk.review.tags, SearchService(desk.db, tz=UTC, review_terms=resolve_review_terms)
    corp, sid = desk.session_of("m000")
    assert tags.tag(desk.alice, "需关注", session=(corp, sid)) == 1
    in_session = search.query_count(desk.alice, f"in:{sid}")
    assert search.query_count(desk.alice, "tag:需关注") == in_session
    desk.add_messages([{"msgid": "late1", "from": "zhangwei", "tolist": ["LiNa"], "roomid": "", "msgtime": 1750000000000,
                        "msgtype": "text", "text": {"content": "后来的消息"}}])
    assert search.query_count(desk.alice, "tag:需关注") == in_session + 1  # a session's tag covers later messages
    assert tags.tagged_sessions(desk.alice, "需关注") == {(corp, sid)}
    n = tags.tag_results(desk.alice, "特权", "合同 OR 发票", search)
    assert n == search.query_count(desk.alice, "合同 OR 发票") > 0
    assert search.query_count(desk.alice, "tag:特权") == n
    entry = audit(desk.db, "review.tag")[-1]
    assert entry.detail["query"] == "合同 OR 发票" and entry.detail["messages"] == n and len(entry.detail["ids_sha256"]) == 64


def test_scope_limits_every_review_action(desk):
    tags, status, notes = desk.review.tags, desk.review.status, desk.review.notes
    inside, outside = desk.by_msgid("m000"), desk.by_msgid("m003")  # bob sees LiNa's conversations only
    assert "LiNa" in [inside["sender"], *inside["tolist"]] and "LiNa" not in [outside["sender"], *outside["tolist"]]
    before = _count(desk.db, T.tag_links)
    with pytest.raises(PermissionDenied, match="outside the scope"):
        tags.tag(desk.bob, "违规", message_ids=[inside["id"], outside["id"]])
    assert _count(desk.db, T.tag_links) == before  # nothing, not even the message in scope
    with pytest.raises(PermissionDenied):
        tags.tag(desk.bob, "违规", session=(outside["corp_id"], outside["session_id"]))
    with pytest.raises(PermissionDenied):
        status.mark_reviewed(desk.bob, outside["corp_id"], outside["session_id"])
    with pytest.raises(PermissionDenied):
        notes.add(desk.bob, outside["corp_id"], outside["session_id"], "x", message_id=outside["id"])
    with pytest.raises(PermissionDenied):
        status.set_messages(desk.bob, [outside["id"]], "reviewed")
    assert tags.tag(desk.bob, "违规", message_ids=[inside["id"]]) == 1
    denied = [e for e in (audit(desk.db, "review.tag") + audit(desk.db, "review.status") + audit(desk.db, "review.note"))
              if e.outcome == "denied"]
    assert len(denied) == 5 and {e.account for e in denied} == {"bob"}
    # what bob reads is limited too: another's tags and notes on an outside session read as none
    tags.tag(desk.alice, "无问题", message_ids=[outside["id"]])
    notes.add(desk.alice, outside["corp_id"], outside["session_id"], "外部看过", message_id=outside["id"])
    assert tags.of_messages(desk.bob, outside["corp_id"], outside["session_id"], [outside["id"]]) == {}
    assert notes.of_session(desk.bob, outside["corp_id"], outside["session_id"]) == []
    assert (outside["corp_id"], outside["session_id"]) not in desk.review.status.overview(desk.bob)


# ---------------------------------------------------------------------------------------- status
def test_marks_statuses_and_what_is_new_since_my_review(desk):
    status = desk.review.status
    corp, sid = desk.session_of("m000")
    msgs = [r for r in desk.rows() if r["session_id"] == sid]
    assert len(msgs) >= 5
    s = status.mark_reviewed(desk.alice, corp, sid, msgs[2]["id"])
    assert s.status == "in_review" and s.new_for_me == len(msgs) - 3 and s.mine.upto_id == msgs[2]["id"]
    assert status.mark_reviewed(desk.alice, corp, sid, msgs[0]["id"]).mine.upto_id == msgs[2]["id"]  # never back
    assert audit(desk.db, "review.status")[-1].detail["moved"] is False
    states = status.of_messages(desk.alice, corp, sid, [(m["id"], m["msgtime"]) for m in msgs])
    assert [states[m["id"]].status for m in msgs[:4]] == ["reviewed", "reviewed", "reviewed", "unreviewed"]
    assert states[msgs[0]["id"]].by == "alice"
    status.set_messages(desk.alice, [msgs[1]["id"]], "in_review")  # a message's own status wins over the mark
    assert status.of_messages(desk.alice, corp, sid, [(msgs[1]["id"], msgs[1]["msgtime"])])[msgs[1]["id"]].explicit
    # J: from the start, the first not reviewed is the message set in review; then the one after the mark
    first = status.next_unreviewed(desk.alice, corp, sid, None)
    assert first == msgs[1]["id"]
    after = status.next_unreviewed(desk.alice, corp, sid, (msgs[1]["msgtime"], msgs[1]["id"]))
    assert after == msgs[3]["id"]
    assert status.next_unreviewed(desk.alice, corp, sid, (msgs[3]["msgtime"], msgs[3]["id"]), backwards=True) == msgs[1]["id"]
    whole = status.mark_reviewed(desk.alice, corp, sid)
    assert whole.status == "reviewed" and whole.new_for_me == 0
    assert status.next_unreviewed(desk.alice, corp, sid, (msgs[1]["msgtime"], msgs[1]["id"])) is None
    desk.add_messages([{"msgid": f"new{i}", "from": "LiNa", "tolist": ["zhangwei"], "roomid": "",
                        "msgtime": 1750000000000 + i, "msgtype": "text", "text": {"content": f"新消息{i}"}}
                       for i in range(3)])
    s = status.session_review(desk.alice, corp, sid)
    assert (s.status, s.new_for_me, s.unreviewed_after_marks) == ("in_review", 3, 3)
    assert status.overview(desk.alice)[(corp, sid)] == ("in_review", 3)
    assert status.session_review(desk.dave, corp, sid).new_for_me is None  # dave never reviewed it
    reset = status.set_session(desk.dave, corp, sid, "unreviewed")
    assert reset.status == "unreviewed" and reset.marks == ()
    assert audit(desk.db, "review.status")[-1].detail["marks_removed"][0]["reviewer"] == "alice"
    assert status.set_session(desk.alice, corp, sid, "in_review").in_review_by == "alice"
    with pytest.raises(PermissionDenied):
        status.mark_reviewed(desk.carol, corp, sid)  # auditors read the review, they do not review


# ---------------------------------------------------------------------------------------- notes
def test_notes_have_versions_and_only_their_author_changes_them(desk):
    notes = desk.review.notes
    m = desk.by_msgid("m000")
    n = notes.add(desk.alice, m["corp_id"], m["session_id"], "第一稿", message_id=m["id"])
    edited = notes.edit(desk.alice, n.id, "第二稿\n有换行")
    assert (edited.version, edited.text) == (2, "第二稿\n有换行")
    with pytest.raises(PermissionDenied, match="only its author"):
        notes.edit(desk.dave, n.id, "改别人的")
    history = notes.history(desk.alice, n.id)
    assert [(v.version, v.text) for v in history] == [(1, "第一稿"), (2, "第二稿\n有换行")]
    # the auditor sees who wrote what when, not the text
    seen = notes.of_session(desk.carol, m["corp_id"], m["session_id"])
    assert [(x.author, x.version, x.text) for x in seen] == [("alice", 2, None)]
    assert [v.text for v in notes.history(desk.carol, n.id)] == [None, None]
    withdrawn = notes.withdraw(desk.alice, n.id)
    assert withdrawn.withdrawn and notes.of_session(desk.alice, m["corp_id"], m["session_id"]) == []
    assert len(notes.of_session(desk.alice, m["corp_id"], m["session_id"], include_withdrawn=True)) == 1
    with pytest.raises(ReviewError, match="withdrawn"):
        notes.edit(desk.alice, n.id, "again")
    with pytest.raises(ReviewError, match="empty"):
        notes.add(desk.alice, m["corp_id"], m["session_id"], "   ")
    entries = audit(desk.db, "review.note")
    assert [(e.account, e.outcome, e.detail.get("change")) for e in entries] == [
        ("alice", "ok", "add"), ("alice", "ok", "edit"), ("dave", "denied", None), ("alice", "ok", "withdraw")]
    import hashlib

    assert entries[1].detail["sha256"] == hashlib.sha256("第二稿\n有换行".encode()).hexdigest()
    assert "第二稿" not in str([e.detail for e in entries])  # the trail holds the hash, not the text


# ---------------------------------------------------------------------------------------- saved searches
def test_saved_searches_are_shared_and_count_new_hits_since_the_last_run(desk):
    searches, search = desk.review.searches, SearchService(desk.db, tz=UTC, review_terms=resolve_review_terms)
    mine = searches.save(desk.alice, "合同类", "合同 OR 发票")
    searches.save(desk.alice, "私人", "的")
    assert [s.name for s in searches.list(desk.dave)] == []
    searches.update(desk.alice, "合同类", shared=True)
    assert [s.name for s in searches.list(desk.dave)] == ["合同类"]
    with pytest.raises(PermissionDenied, match="only its owner"):
        searches.update(desk.dave, "合同类", query="x")
    with pytest.raises(ReviewError, match="character"):
        searches.save(desk.alice, "bad", '"unclosed')
    counts = searches.counts(desk.dave, mine.id, search)
    assert counts.new is None and counts.hits == search.query_count(desk.dave, "合同 OR 发票")
    _row, hits, total = searches.run(desk.dave, "合同类", search)
    assert total == counts.hits and len(hits) == min(50, total)
    desk.add_messages([{"msgid": "n1", "from": "zhangwei", "tolist": ["LiNa"], "roomid": "", "msgtime": 1750000000000,
                        "msgtype": "text", "text": {"content": "新合同"}},
                       {"msgid": "n2", "from": "zhangwei", "tolist": ["LiNa"], "roomid": "", "msgtime": 1739000000001,
                        "msgtype": "text", "text": {"content": "无关"}}])
    later = searches.counts(desk.dave, "合同类", search)
    assert (later.hits, later.new) == (total + 1, 1)
    assert searches.counts(desk.alice, "合同类", search).new is None  # alice never ran it
    searches.delete(desk.alice, "合同类")
    assert [s.name for s in searches.list(desk.dave)] == []
    assert [e.detail["change"] for e in audit(desk.db, "review.search") if e.outcome == "ok"] == [
        "save", "save", "share", "delete"]
    assert any(e.object == "合同 OR 发票" for e in audit(desk.db, "search"))  # running it is a recorded search


def test_the_audit_trail_stays_intact(desk):
    m = desk.by_msgid("m000")
    desk.review.tags.tag(desk.alice, "违规", message_ids=[m["id"]])
    desk.review.status.mark_reviewed(desk.alice, m["corp_id"], m["session_id"])
    desk.review.notes.add(desk.alice, m["corp_id"], m["session_id"], "ok")
    report = desk.review.trail.check()
    assert report.ok, report
