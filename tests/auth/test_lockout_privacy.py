"""The lockout tells nothing about which accounts exist, and cannot keep the last administrator out:

- a name of no account gets the same answers, attempt by attempt, as an account given wrong
  passwords — "wrong user name or password", then the same "locked" sentence at the fifth — costs
  the same one scrypt derivation per attempt (none while locked) and about the same time;
- a lockout holds for one workstation and 15 minutes; an administrator can lift it everywhere;
- `wecom-auditor accounts recover NAME` (no login; it needs what opening the database needs) lifts
  it and can set a new password, and is recorded in the audit trail by the OS user.
SQLite and MariaDB."""

from __future__ import annotations

import statistics
import time

import pytest
from auth_kit import ADMIN_PW, FAST, PASSWORDS
from click.testing import CliRunner

from app.core.actor import Actor
from app.core.auth import (
    AUDITOR,
    LOCKOUT_MS,
    AccountLockedError,
    AccountService,
    Action,
    AuditFilter,
    AuthenticationError,
    PasswordHasher,
    ScryptParams,
)
from app.core.auth import passwords as passwords_module

AUDIT = Actor("os:auditor", roles=frozenset({AUDITOR}))


def _attempts(accounts, name: str, workstation: str, n: int = 7) -> list[tuple[str, str]]:
    out = []
    for _ in range(n):
        with pytest.raises(AuthenticationError) as err:
            accounts.authenticate(name, "not-the-password", workstation)
        out.append((type(err.value).__name__, str(err.value)))
    return out


def test_a_name_of_no_account_gets_exactly_the_answers_of_an_account(accounts, admin):
    real = _attempts(accounts, "admin", "ws-1")
    ghost = _attempts(accounts, "nobody-here", "ws-1")
    assert real == ghost
    assert real[:4] == [("AuthenticationError", "wrong user name or password")] * 4
    assert {kind for kind, _ in real[4:]} == {"AccountLockedError"}
    assert "this user name is locked on this workstation until" in real[4][1]
    # the typed spelling does not matter either way
    assert _attempts(accounts, "ADMIN", "ws-2", 5) == _attempts(accounts, "NOBODY-HERE", "ws-2", 5)


def test_each_attempt_costs_one_scrypt_derivation_either_way_and_none_while_locked(accounts, admin, monkeypatch):
    calls = []
    real_derive = passwords_module._derive
    monkeypatch.setattr(passwords_module, "_derive", lambda *a, **k: calls.append(1) or real_derive(*a, **k))

    def cost(name: str) -> list[int]:
        per_attempt = []
        for _ in range(6):
            before = len(calls)
            with pytest.raises(AuthenticationError):
                accounts.authenticate(name, "not-the-password", "ws-cost")
            per_attempt.append(len(calls) - before)
        return per_attempt

    assert cost("admin") == cost("nobody-here") == [1, 1, 1, 1, 1, 0]


def test_the_time_of_an_attempt_does_not_tell_whether_the_account_exists(db, trail, clock, admin):
    # a realistic share of scrypt (16 MiB) against the database work; medians of several attempts. The
    # account's hash has the hasher's parameters, as every hash has after its owner's next login.
    accounts = AccountService(db, trail, hasher=PasswordHasher(ScryptParams(n=2**14)), clock=clock)
    accounts.create_account(admin, "timed", "timed-pass-0001", roles=["reviewer"])

    samples: dict[str, list[float]] = {"timed": [], "nobody-here": []}
    for i in range(15):  # interleaved, so that the machine's other load falls on both alike
        for name in ("timed", "nobody-here") if i % 2 else ("nobody-here", "timed"):
            start = time.perf_counter()
            with pytest.raises(AuthenticationError):
                accounts.authenticate(name, "not-the-password", f"ws-time-{i}")  # never locks
            samples[name].append(time.perf_counter() - start)
    real, ghost = statistics.median(samples["timed"][1:]), statistics.median(samples["nobody-here"][1:])
    assert 0.5 < real / ghost < 2.0, (real, ghost)


def test_a_lockout_holds_on_one_workstation_for_fifteen_minutes(accounts, admin, clock):
    _attempts(accounts, "admin", "ws-attacked", 5)
    with pytest.raises(AccountLockedError) as locked:
        accounts.authenticate("admin", ADMIN_PW, "ws-attacked")
    assert locked.value.until_ms == clock.now + LOCKOUT_MS
    assert accounts.authenticate("admin", ADMIN_PW, "ws-office").username == "admin"  # elsewhere: fine
    info = accounts.account(admin, "admin")
    assert info.locked(clock.now)  # administrators see that it is locked somewhere
    clock.advance(LOCKOUT_MS)
    assert accounts.authenticate("admin", ADMIN_PW, "ws-attacked").username == "admin"
    assert not accounts.account(admin, "admin").locked(clock.now)


def test_an_administrator_unlocks_every_workstation(accounts, team):
    for ws in ("ws-a", "ws-b"):
        _attempts(accounts, "reviewer", ws, 5)
    accounts.unlock(team["administrator"], "reviewer")
    for ws in ("ws-a", "ws-b"):
        accounts.authenticate("reviewer", PASSWORDS["reviewer"], ws)


def test_local_recovery_lets_the_last_administrator_in_and_is_recorded(accounts, admin, trail, clock):
    for ws in ("ws-1", "ws-2"):
        _attempts(accounts, "admin", ws, 5)
    info = accounts.recover("admin", workstation="ws-1", os_user="root")
    assert not info.locked(clock.now)
    assert accounts.authenticate("admin", ADMIN_PW, "ws-2").username == "admin"
    info = accounts.recover("ADMIN", new_password="fresh-admin-pass-1", workstation="ws-1", os_user="root")
    assert info.must_change_password
    actor = accounts.authenticate("admin", "fresh-admin-pass-1", "ws-1")
    assert actor.must_change_password
    entries = trail.entries(AUDIT, AuditFilter(account="os:root"), limit=10)
    assert {e.action for e in entries} == {Action.ACCOUNT_UNLOCK, Action.PASSWORD_RESET}
    assert all(e.detail["method"] == "local recovery" and e.workstation == "ws-1" for e in entries)
    assert trail.verify(AUDIT).ok


def test_recover_on_the_command_line_needs_no_login(db_url, tmp_path, monkeypatch):
    from app.cli import main

    monkeypatch.delenv("WECOM_AUDITOR_TOKEN", raising=False)
    monkeypatch.setattr("app.core.auth.accounts.PasswordHasher", lambda: FAST)
    runner = CliRunner()

    def cli(*args, input=None, code=0):
        result = runner.invoke(main, [*args, "--data-dir", str(tmp_path / "data"), "--db", db_url], input=input)
        assert result.exit_code == code, result.output
        return result.output

    cli("accounts", "init", "--username", "admin", "--password-stdin", input=ADMIN_PW + "\n")
    cli("logout")
    for _ in range(5):
        cli("login", "-u", "admin", "--password-stdin", input="not-the-password\n", code=1)
    assert "locked on this workstation" in cli("login", "-u", "admin", "--password-stdin", input=ADMIN_PW + "\n",
                                               code=1)
    out = cli("accounts", "recover", "admin", "--reset-password", "--password-stdin", input="brand-new-pass-77\n")
    assert out.startswith("Recovered admin") and "brand-new-pass-77" not in out
    out = cli("login", "-u", "admin", "--password-stdin", input="brand-new-pass-77\n", code=1)
    assert "must choose a new password first" in out
    cli("accounts", "passwd", "-u", "admin", "--password-stdin", input="brand-new-pass-77\nmy-own-pass-888\n")
    assert "Logged in as admin" in cli("login", "-u", "admin", "--password-stdin", input="my-own-pass-888\n")


def test_failures_not_repeated_for_a_month_are_forgotten(accounts, admin, clock, db):
    from sqlalchemy import func, select

    from app.core.auth.accounts import THROTTLE_KEEP_MS
    from app.core.store.models import LoginThrottle

    for i in range(20):
        _attempts(accounts, f"spray-{i}", "ws-spray", 2)
    clock.advance(THROTTLE_KEEP_MS + 1)
    _attempts(accounts, "one-more", "ws-spray", 1)
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(LoginThrottle)).scalar_one() == 1
