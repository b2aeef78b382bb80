"""The directory sync against WeCom's API as the stand-in serves it over HTTPS, on SQLite and MariaDB:
what it stores, paging, tokens expiring, frequency limits, permission errors as sentences, history
across syncs, hostile answers."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.core.directory.runs import directory_runs
from app.core.directory.service import sync_directory
from app.core.store.models import (
    ArchivePermit,
    ConsentRecord,
    Contact,
    ContactName,
    DirectoryAvatar,
    DirectoryDepartment,
    DirectoryGroup,
    DirectoryGroupMember,
)
from native.corpus.directory import LEFT_STAFF, NOT_PERMITTED


def rows(ctx, *columns, where=()):
    with ctx.db.read() as conn:
        return conn.execute(select(*columns).where(*where)).all()


def test_a_sync_fills_staff_departments_contacts_groups_permits_and_consent(archive, standin):
    ctx, actor = archive.ctx, archive.actor
    doc = archive.directory_doc()
    report = sync_directory(ctx, actor, archive.corp)
    c = report.counts
    assert report.outcome == "partial", report.problems  # the one who left: 60111
    assert c["departments"] == len(doc["departments"]) and c["staff"] == len(doc["users"])
    assert c["externals"] > 50 and c["groups"] > 5 and c["consent"] > 10 and c["avatars"] > 20
    assert c["permits"] == len(doc["permit_users"])

    d = ctx.directory
    chen = d.person(actor, archive.corp_id, "ChenJing")
    assert (chen.name, chen.organisation, chen.kind, chen.source) == ("陈静", "销售二部", "staff", "api")
    assert chen.position == "部门经理" and chen.status == 1
    rooms = {r.name for r in rows(ctx, Contact.name, where=[Contact.kind == "room"])}
    assert "销售二部" in rooms
    wo = next(e for e in doc["external_contacts"] if e["type"] == 2 and e["corp_name"] != e["corp_full_name"])
    person = d.person(actor, archive.corp_id, wo["external_userid"])
    assert (person.name, person.organisation, person.corp_tag) == (wo["name"], wo["corp_full_name"],
                                                                  "@" + wo["corp_name"])
    wm = next(e for e in doc["external_contacts"] if e["type"] == 1)
    if d.person(actor, archive.corp_id, wm["external_userid"]) is not None:
        assert d.corp_tag(actor, archive.corp_id, wm["external_userid"]) == "@微信"

    # every id has one open name period; departments with their parents
    assert len(rows(ctx, ContactName.id, where=[ContactName.valid_to.is_(None)])) == len(rows(ctx, Contact.id))
    assert {r.name for r in rows(ctx, DirectoryDepartment.name)} >= {"销售二部", "客服部"}
    groups = {r.roomid: r for r in rows(ctx, DirectoryGroup.roomid, DirectoryGroup.kind, DirectoryGroup.owner,
                                        DirectoryGroup.member_count, DirectoryGroup.errcode)}
    assert {g.kind for g in groups.values()} == {"internal", "customer"}
    assert all(g.errcode is None and g.member_count > 1 for g in groups.values())
    joins = rows(ctx, DirectoryGroupMember.join_time, DirectoryGroupMember.member_type)
    assert joins and all(j.join_time and j.join_time > 1_600_000_000_000 for j in joins)
    assert {j.member_type for j in joins} == {1, 2}
    permits = {r.userid for r in rows(ctx, ArchivePermit.userid, where=[ArchivePermit.removed_seen_at.is_(None)])}
    assert "ChenJing" in permits and NOT_PERMITTED not in permits and LEFT_STAFF not in permits
    consent = rows(ctx, ConsentRecord.roomid, ConsentRecord.userid, ConsentRecord.status, ConsentRecord.changed_at)
    assert {r.status for r in consent} <= {"agree", "disagree"} and any(r.roomid for r in consent)
    assert all(r.changed_at for r in consent)
    avatar = d.avatar(actor, archive.corp_id, next(u["userid"] for u in doc["users"] if u["avatar"]))
    assert avatar.startswith(b"\x89PNG") and len(rows(ctx, DirectoryAvatar.sha256)) == c["avatars"]

    # the report: each call's errcode, paging (pages of 7 and 9), the one problem as a sentence
    calls = report.calls
    assert calls["user/list_id"]["calls"] == -(-len([1 for u in doc["users"] for _ in u["department"]]) // 7)
    assert calls["externalcontact/batch/get_by_user"]["calls"] > 2
    assert calls["user/get"]["errcodes"] == {"0": len(doc["users"]), "60111": 1}
    assert set(calls["gettoken"]["errcodes"]) == {"0"} and calls["gettoken"]["calls"] == 3  # one token per secret
    [problem] = report.problems
    assert (problem.api, problem.errcode, problem.ids) == ("user/get", 60111, [LEFT_STAFF])
    assert problem.en.startswith("user/get: WeCom knows no staff member") and problem.zh
    [run] = directory_runs(ctx.db, archive.corp_id)
    assert (run.outcome, run.source, run.counts, run.calls) == ("partial", "api", c, calls)
    # which secret each API was called with: the stand-in grants each kind only its own APIs
    used = {call.api: call.secret_kind for call in standin.server.calls}
    assert used["user/get"] == "contacts" and used["msgaudit/check_single_agree"] == "msgaudit"
    assert used["externalcontact/batch/get_by_user"] == "externalcontact"


def test_expired_tokens_frequency_limits_and_busy_answers_are_retried(archive, standin, no_waiting):
    server = standin.server
    server.fail("department/list", 42001)  # expired: a new token, the call again
    server.fail("user/list_id", 40014)  # invalid token: the same
    server.fail("user/get", 45009, times=2)  # frequency limit: wait, again
    server.fail("msgaudit/get_permit_user_list", -1)  # busy
    server.fail("externalcontact/get_follow_user_list", status=503, body=b"Service Unavailable")
    report = sync_directory(archive.ctx, archive.actor, archive.corp, avatars=False)
    assert report.outcome == "partial" and [p.errcode for p in report.problems] == [60111]
    calls = report.calls
    assert calls["department/list"]["errcodes"] == {"42001": 1, "0": 1}
    assert calls["user/list_id"]["errcodes"]["40014"] == 1
    assert calls["user/get"]["errcodes"]["45009"] == 2
    assert calls["msgaudit/get_permit_user_list"]["errcodes"] == {"-1": 1, "0": 1}
    assert calls["externalcontact/get_follow_user_list"]["errcodes"] == {"HTTP 503": 1, "0": 1}
    assert calls["gettoken"]["calls"] == 5  # three secrets, two refreshed


def test_a_token_expiring_mid_run_is_replaced(archive, standin):
    ttl_server = standin.server
    ttl_server.token_ttl = 2  # WeCom's expires_in: the client renews before it runs out ...
    report = sync_directory(archive.ctx, archive.actor, archive.corp, avatars=False)
    assert report.outcome == "partial"
    standin.server.token_ttl = 7200
    standin.server.expire_tokens()  # ... and when WeCom says 42001 anyway
    assert sync_directory(archive.ctx, archive.actor, archive.corp, avatars=False).outcome == "partial"


def test_refusals_are_sentences_per_api_and_secret_and_the_rest_goes_on(archive, standin):
    ctx = archive.ctx
    ctx.secrets.delete_directory_secret(archive.corp.corpid, "contacts")
    ctx.secrets.delete_directory_secret(archive.corp.corpid, "customer")
    standin.server.hidden_users.add("ChenJing")
    report = sync_directory(ctx, archive.actor, archive.corp, avatars=False)
    assert report.outcome == "partial"
    by_api = {(p.api, p.errcode): p for p in report.problems}
    p = by_api[("department/list", 48002)]
    assert p.en == ("WeCom does not let the chat-archive secret call department/list (errcode 48002): give that app "
                    "the permission in the admin console, or enter a secret that has it in the Directory panel's "
                    "Secrets (or `wecom-auditor directory secret contacts`).") or "chat-archive secret" in p.en
    assert "会话存档 Secret" in p.zh and "department/list" in p.zh
    assert ("user/list_id", 48002) in by_api and ("externalcontact/get_follow_user_list", 48002) in by_api
    # the chat-archive APIs still worked
    assert report.counts["permits"] > 0 and report.counts["consent"] > 0 and report.counts["groups"] > 0
    assert report.counts.get("staff", 0) == 0
    # asked once per API, not once per object
    assert report.calls["externalcontact/groupchat/get"]["calls"] == 1

    # with the contacts secret, a member outside the app's visible range is one item of the report
    ctx.secrets.set_directory_secret(archive.corp.corpid, "contacts", "contacts-secret-0123456789abcdefghijkl")
    report = sync_directory(ctx, archive.actor, archive.corp, avatars=False)
    hidden = next(p for p in report.problems if p.errcode == 60011)
    assert hidden.api == "user/get" and hidden.ids == ["ChenJing"] and "visible range" in hidden.en
    assert ctx.directory.name(archive.actor, archive.corp_id, "yangfan") == "杨帆"


def test_a_wrong_secret_names_the_secret(archive, standin):
    archive.ctx.secrets.set_directory_secret(archive.corp.corpid, "contacts", "not-the-SECRET-7f3a")
    report = sync_directory(archive.ctx, archive.actor, archive.corp, avatars=False)
    p = next(p for p in report.problems if p.api == "gettoken")
    assert p.errcode == 40001 and p.en.startswith("The contacts secret is wrong (WeCom errcode 40001)")
    assert report.calls["gettoken"]["errcodes"]["40001"] == 1  # asked once, not once per API
    assert "SECRET-7f3a" not in json.dumps(report.to_dict())  # no secret in the report (not hex alone: ids)


def test_an_intercepted_connection_fails_the_run_before_any_secret_is_sent(archive):
    from directory.conftest import use_standin
    from directory.standin import DirectoryStandIn

    with DirectoryStandIn.for_corpus(archive.corpus, cert="self-signed") as s:
        use_standin(archive, s)
        report = sync_directory(archive.ctx, archive.actor, archive.corp)
        sent = [r for r in s.requests if r.endpoint not in ("connect", "refused")]
    assert report.outcome == "failed" and "failed certificate verification" in report.error
    assert "intercepting" in report.error and sent == []
    [run] = directory_runs(archive.ctx.db, archive.corp_id)
    assert run.outcome == "failed" and run.error == report.error


def test_history_across_syncs_keeps_who_was_called_what_and_when(archive, standin):
    ctx, actor, corp_id = archive.ctx, archive.actor, archive.corp_id
    sync_directory(ctx, actor, archive.corp, avatars=False)
    with ctx.db.read() as conn:
        from app.core.store.models import Message
        first_msg = conn.execute(select(Message.msgtime).where(Message.sender == "ChenJing")
                                 .order_by(Message.msgtime).limit(1)).scalar()
    doc = standin.server.doc
    next(u for u in doc["users"] if u["userid"] == "ChenJing")["name"] = "陈静怡"
    doc["permit_users"].remove("zhangwei")
    asked = {(r.userid, r.external_userid) for r in rows(ctx, ConsentRecord.userid, ConsentRecord.external_userid,
                                                         where=[ConsentRecord.roomid == ""])}
    pair = next(a for a in doc["single_agree"] if a["agree_status"] == "Agree"
                and (a["userid"], a["external_userid"]) in asked)
    pair.update(agree_status="Disagree", status_change_time=pair["status_change_time"] + 86_400)
    group = next(g for g in doc["groups"] if g["kind"] == "internal" and len(g["members"]) > 3)
    gone = group["members"].pop()["userid"]
    report = sync_directory(ctx, actor, archive.corp, avatars=False)
    assert report.counts["names_changed"] == 1 and report.counts["permits_removed"] == 1
    assert report.counts["consent_changes"] == 1 and report.counts["members_left"] == 1

    then = ctx.directory.name_at(actor, corp_id, "ChenJing", first_msg)
    assert (then.name, then.current, then.changed) == ("陈静", "陈静怡", True)
    assert ctx.directory.name_at(actor, corp_id, "ChenJing", None).name == "陈静怡"
    periods = rows(ctx, ContactName.name, ContactName.valid_from, ContactName.valid_to,
                   where=[ContactName.userid == "ChenJing"])
    assert [p.name for p in sorted(periods, key=lambda p: p.valid_from)] == ["陈静", "陈静怡"]
    assert sorted(periods, key=lambda p: p.valid_from)[0].valid_to is not None
    stretch = rows(ctx, ArchivePermit.removed_seen_at, where=[ArchivePermit.userid == "zhangwei"])
    assert len(stretch) == 1 and stretch[0].removed_seen_at is not None
    states = rows(ctx, ConsentRecord.status, where=[ConsentRecord.userid == pair["userid"],
                                                    ConsentRecord.external_userid == pair["external_userid"]])
    assert sorted(s.status for s in states) == ["agree", "disagree"]
    left = rows(ctx, DirectoryGroupMember.left_seen_at, where=[DirectoryGroupMember.roomid == group["roomid"],
                                                              DirectoryGroupMember.userid == gone])
    assert left[0].left_seen_at is not None


def test_hostile_answers_are_stored_as_data_or_refused_never_crash(archive, standin):
    doc = standin.server.doc
    users = doc["users"]
    users[0]["name"] = "<b>张伟</b>\u202e\x00"
    users[1]["name"] = 12345  # not text: the name is not taken
    users[2]["avatar"] = "https://evil.example/avatar.png"  # not WeCom's image servers: not fetched
    users[3]["avatar"] = "https://wework.qpic.cn/wwpic/" + "0" * 24 + "/0"
    users.append({"userid": "x" * 300, "name": "too long an id", "department": [1]})  # not storable
    standin.server.fail("avatar", status=200, body=b"\x89PNG\r\n\x1a\n but not a picture", times=None,
                        match=lambda r: "0" * 24 in r["path"])
    report = sync_directory(archive.ctx, archive.actor, archive.corp)
    d = archive.ctx.directory
    assert d.name(archive.actor, archive.corp_id, users[0]["userid"]) == "<b>张伟</b>\u202e"
    assert d.person(archive.actor, archive.corp_id, users[1]["userid"]) is None
    assert any(p.api == "avatar" and p.ids == [users[2]["userid"]] and "not on WeCom's image servers" in p.en
               for p in report.problems)
    assert any(p.api == "avatar" and p.ids == [users[3]["userid"]] and "not a picture the app accepts" in p.en
               for p in report.problems)
    assert d.avatar(archive.actor, archive.corp_id, users[3]["userid"]) is None
    assert not any(c.api == "avatar" for c in standin.server.calls)  # (the avatar hosts are not API calls)
    assert all(r.target.rpartition(":")[0] != "evil.example" for r in standin.requests)
    assert report.outcome == "partial"


def test_cancelled_keeps_what_was_stored(archive, standin):
    phases = []

    def progress(p):
        phases.append(p.phase)

    report = sync_directory(archive.ctx, archive.actor, archive.corp, avatars=False, progress=progress,
                            cancel=lambda: "externals" in phases)
    assert report.outcome == "cancelled"
    assert report.counts["staff"] > 0 and "groups" not in report.counts
    assert directory_runs(archive.ctx.db, archive.corp_id)[0].outcome == "cancelled"


def test_one_run_at_a_time_and_the_right_to_run(archive, standin):
    from app.core.auth import PermissionDenied
    from app.core.directory.runs import record_run
    from app.core.directory.sync import DirectoryBusy
    from app.core.store.db import now_ms

    with archive.ctx.db.write() as conn:
        record_run(conn, archive.ctx.db, archive.corp_id, source="api", actor=archive.actor, started_at=now_ms(),
                   outcome="running", counts={}, calls={}, problems=[])
    with pytest.raises(DirectoryBusy, match="has been running since"):
        sync_directory(archive.ctx, archive.actor, archive.corp)
    reviewer = archive.actor.__class__(username="r", roles=frozenset({"reviewer"}), workstation="w")
    with pytest.raises(PermissionDenied):
        sync_directory(archive.ctx, reviewer, archive.corp)


def test_the_demo_corp_syncs_in_process_without_a_network(archive, monkeypatch):
    import socket

    def no_network(*a, **k):
        raise AssertionError("the demo's directory sync opened a connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    report = sync_directory(archive.ctx, archive.actor, archive.corp, avatars=False)
    assert report.outcome == "partial" and report.counts["staff"] > 30
    assert archive.ctx.directory.name(archive.actor, archive.corp_id, "ChenJing") == "陈静"
