"""What the window's Review settings dialog needs of the core beyond the CLI: changing a sampling
rule (name, group, size, enabled) as a recorded change that leaves earlier draws reproducible, and
the alert counts per policy, within the reader's scope."""

from __future__ import annotations

from datetime import date

import pytest

from app.core.auth import PermissionDenied
from app.core.review import ReviewError
from app.core.search import SearchService

from .kit import UTC, audit, make_desk

WEEK = date(2025, 1, 8)  # the corpus' second week


@pytest.fixture
def desk(db_url):
    d = make_desk(db_url)
    yield d
    d.db.close()


def test_a_sampling_rule_is_changed_as_a_recorded_change_and_old_draws_still_reproduce(desk):
    sampling = desk.review.sampling
    rule = sampling.create_rule(desk.root, "weekly", userids=["zhangwei"], percent=50)
    drawn = sampling.draw(desk.alice, "weekly", week=WEEK)
    with pytest.raises(PermissionDenied):
        sampling.update_rule(desk.alice, "weekly", sessions=3)
    changed = sampling.update_rule(desk.root, "weekly", name="Weekly sales", userids=["zhangwei", "LiNa"],
                                   sessions=3)
    assert (changed.id, changed.name, changed.userids, changed.percent, changed.sessions) == (
        rule.id, "Weekly sales", ("LiNa", "zhangwei"), None, 3)
    entry = audit(desk.db, "review.sampling")[-1]
    assert entry.account == "root" and entry.object == "weekly"
    assert entry.detail == {"change": "update", "name": "weekly -> Weekly sales",
                            "userids": "['zhangwei'] -> ['LiNa', 'zhangwei']", "percent": "50 -> None",
                            "sessions": "None -> 3"}
    assert sampling.reproduce(desk.carol, drawn.id).same_sample  # the draw kept the rule as it was
    # nothing changed: nothing recorded
    n = len(audit(desk.db, "review.sampling"))
    assert sampling.update_rule(desk.root, "Weekly sales", sessions=3) == changed
    assert len(audit(desk.db, "review.sampling")) == n
    # the checks of a new rule hold for a change
    with pytest.raises(ReviewError, match="either a percentage or a number"):
        sampling.update_rule(desk.root, "Weekly sales", percent=10, sessions=2)
    with pytest.raises(ReviewError, match="needs staff"):
        sampling.update_rule(desk.root, "Weekly sales", userids=[], departments=[])
    with pytest.raises(ReviewError, match="between 1 and 100"):
        sampling.update_rule(desk.root, "Weekly sales", percent=120)


def test_a_disabled_rule_is_enabled_again_unless_its_name_is_taken_meanwhile(desk):
    sampling = desk.review.sampling
    sampling.create_rule(desk.root, "weekly", userids=["zhangwei"], percent=50)
    off = sampling.update_rule(desk.root, "weekly", enabled=False)
    assert off.disabled
    with pytest.raises(ReviewError, match="disabled"):
        sampling.draw(desk.alice, off.id, week=WEEK)
    other = sampling.create_rule(desk.root, "weekly", userids=["LiNa"], sessions=1)  # the name is free
    with pytest.raises(ReviewError, match="exists already"):
        sampling.update_rule(desk.root, off.id, enabled=True)
    sampling.update_rule(desk.root, other.id, enabled=False)
    assert not sampling.update_rule(desk.root, off.id, enabled=True).disabled
    assert [e.detail.get("enabled") for e in audit(desk.db, "review.sampling")
            if e.detail.get("change") == "update"] == ["True -> False", "True -> False", "False -> True"]


def test_alert_counts_per_policy_follow_triage_and_the_reader_s_scope(desk):
    search = SearchService(desk.db, tz=UTC)
    p = desk.review.policies.create(desk.root, "texts", "type:text")
    desk.review.policies.run(desk.root, ["texts"], since_ms=0, search=search)
    alerts = desk.review.alerts.list(desk.carol, limit=1000)
    assert len(alerts) >= 2
    assert desk.review.alerts.policy_counts(desk.root) == {p.id: (len(alerts), len(alerts))}
    desk.review.alerts.triage(desk.alice, [alerts[0].id], "dismiss", reason="template")
    assert desk.review.alerts.policy_counts(desk.carol) == {p.id: (len(alerts), len(alerts) - 1)}
    bob_sees = desk.review.alerts.list(desk.bob, status=None, limit=1000)
    assert 0 < len(bob_sees) < len(alerts)
    assert desk.review.alerts.policy_counts(desk.bob) == {p.id: (len(bob_sees),
                                                                 sum(a.status == "open" for a in bob_sees))}
