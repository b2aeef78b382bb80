"""A long check says how far it is and can be stopped: verify_package reports the bytes hashed of
every file's size, and a cancel stops it with VerifyCancelled (recorded in the audit trail when the
check runs for an account)."""

from __future__ import annotations

import pytest

from app.core.actor import Actor
from app.core.auth import AuditTrail
from app.core.auth.audit import AuditFilter
from app.core.auth.roles import ROLES
from app.core.export import Selection, VerifyCancelled, export_package, verify_package, verify_recorded

ACTOR = Actor("os:tester", roles=frozenset(ROLES), workstation="test-host")


@pytest.fixture(params=["folder", "zip"])
def package(request, ctx, info, tmp_path):
    name = "pkg.zip" if request.param == "zip" else "pkg"
    return export_package(ctx, ACTOR, Selection(session_ids=(info["session_id"],)), tmp_path / name, pdf=False).path


def test_progress_runs_up_to_every_byte_of_the_package(package):
    seen: list[tuple[int, int]] = []
    report = verify_package(package, progress=lambda done, total: seen.append((done, total)))
    assert report.ok, report.problems
    totals = {t for _d, t in seen}
    assert len(totals) > 1 or seen[0][1] > 0  # the total is known once the files are listed
    total = seen[-1][1]
    if package.is_dir():
        assert total == sum(p.stat().st_size for p in package.rglob("*") if p.is_file())
    dones = [d for d, _t in seen]
    assert dones == sorted(dones) and dones[-1] == total and all(d <= t for d, t in seen)


def test_a_cancelled_check_stops_and_is_recorded(ctx, package):
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 3  # a few files in

    with pytest.raises(VerifyCancelled) as caught:
        verify_recorded(ctx.db, ACTOR, package, cancel=cancel)
    assert "校验已取消" in caught.value.message_zh
    entries = AuditTrail(ctx.db).entries(ACTOR, AuditFilter(actions=frozenset({"verify"})), limit=5)
    assert entries[0].outcome == "failed" and entries[0].detail["cancelled"] is True
    assert entries[0].detail["path"] == str(package)
    assert verify_recorded(ctx.db, ACTOR, package).ok  # nothing left over: the next check runs whole
