"""Accounts: first administrator, login and lockout, passwords, administration, no-login mode, tokens.
Every test runs on SQLite and on MariaDB (``db_url``)."""

from __future__ import annotations

import hashlib

import pytest
from auth_kit import ADMIN_PW, FAST, PASSWORDS
from sqlalchemy import delete, select, text

from app.core.actor import Actor
from app.core.auth import (
    LOCKOUT_MS,
    AccountDisabledError,
    AccountError,
    AccountLockedError,
    AccountService,
    Action,
    AuditFilter,
    AuditTrailError,
    AuthenticationError,
    PasswordHasher,
    PasswordPolicyError,
    PermissionDenied,
    ScopeSpec,
    ScryptParams,
    TokenError,
    can,
)
from app.core.store.models import Account, AuditEntry, AuditHead, LoginToken


def _entries(db, action=None):
    q = select(AuditEntry).order_by(AuditEntry.seq)
    if action:
        q = q.where(AuditEntry.action == action)
    with db.read() as conn:
        return conn.execute(q).all()


def _row(db, username):
    with db.read() as conn:
        return conn.execute(select(Account).where(Account.username == username)).one()


# ------------------------------------------------------------------ first run

def test_first_run_creates_one_administrator(accounts, db):
    assert accounts.needs_first_admin()
    info = accounts.create_first_admin("  Admin ", ADMIN_PW, workstation="ws1")
    assert info.username == "admin" and info.roles == ("administrator",) and not info.must_change_password
    assert not accounts.needs_first_admin()
    with pytest.raises(AccountError, match="already has accounts"):
        accounts.create_first_admin("second", "another-pass-1")
    [entry] = _entries(db)
    assert (entry.action, entry.account, entry.object, entry.outcome) == ("account.create", "admin", "admin", "ok")
    row = _row(db, "admin")
    assert row.password_hash.startswith("scrypt$") and ADMIN_PW not in row.password_hash


def test_user_names_are_canonical_and_checked(accounts, admin):
    actor = accounts.authenticate("ADMIN", ADMIN_PW)  # case-folded
    assert actor.username == "admin"
    accounts.create_account(admin, "Zhang.Wei", "zhangwei-pass-1", roles=["reviewer"])
    with pytest.raises(AccountError, match="taken"):
        accounts.create_account(admin, "zhang.wei", "zhangwei-pass-2", roles=["reviewer"])
    for bad in ("", "   ", "two words", "os:root", "x" * 65, "tab\there"):
        with pytest.raises(AccountError):
            accounts.create_account(admin, bad, "some-long-pass-1", roles=["reviewer"])
    with pytest.raises(PasswordPolicyError, match="at least 10"):
        accounts.create_account(admin, "shorty", "short", roles=["reviewer"])
    with pytest.raises(AccountError, match="at least one role"):
        accounts.create_account(admin, "noroles", "noroles-pass-1", roles=[])


# ------------------------------------------------------------------ login and lockout

def test_login_records_who_and_where_and_resolves_the_actor(accounts, admin, db):
    accounts.create_account(admin, "lina", "lina-password-1", roles=["reviewer", "exporter"],
                            scope=ScopeSpec(userids=frozenset({"zhangwei"})), must_change_password=False)
    actor = accounts.authenticate("lina", "lina-password-1", "pc-42")
    assert actor.username == "lina" and actor.roles == {"reviewer", "exporter"}
    assert actor.scope == {"zhangwei"} and actor.workstation == "pc-42" and actor.is_authenticated
    assert len(actor.login_id) == 16
    login = _entries(db, "login")[-1]
    assert (login.account, login.account_id, login.workstation, login.login_id) == (
        "lina", actor.account_id, "pc-42", actor.login_id)
    assert _row(db, "lina").last_login_at is not None


def test_unknown_user_and_wrong_password_read_the_same_but_the_trail_keeps_the_name(accounts, admin, db):
    with pytest.raises(AuthenticationError) as unknown:
        accounts.authenticate("mallory", "whatever-pass", "ws-x")
    with pytest.raises(AuthenticationError) as wrong:
        accounts.authenticate("admin", "not-the-password", "ws-x")
    assert str(unknown.value) == str(wrong.value) == "wrong user name or password"
    assert type(unknown.value) is type(wrong.value) is AuthenticationError
    failed = _entries(db, "login.failed")
    assert [(e.account, e.outcome, e.workstation) for e in failed] == [("mallory", "failed", "ws-x"),
                                                                       ("admin", "failed", "ws-x")]
    assert failed[0].account_id is None and failed[1].account_id == admin.account_id
    assert "unknown user name" in failed[0].detail and "wrong password" in failed[1].detail
    assert "whatever-pass" not in failed[0].detail + failed[0].object


def test_five_wrong_passwords_lock_for_fifteen_minutes(accounts, admin, clock, db):
    for _ in range(4):
        with pytest.raises(AuthenticationError) as info:
            accounts.authenticate("admin", "wrong-password")
        assert not isinstance(info.value, AccountLockedError)
    with pytest.raises(AccountLockedError) as locked:
        accounts.authenticate("admin", "wrong-password")
    assert locked.value.until_ms == clock.now + LOCKOUT_MS
    assert "locked on this workstation until" in str(locked.value)
    # The right password does not help while locked ...
    clock.advance(LOCKOUT_MS - 1)
    with pytest.raises(AccountLockedError):
        accounts.authenticate("admin", ADMIN_PW)
    # ... and works once the time is up; the count starts again from zero.
    clock.advance(1)
    assert accounts.authenticate("admin", ADMIN_PW).username == "admin"
    row = _row(db, "admin")
    assert row.failed_attempts == 0 and row.locked_until is None
    reasons = [e.detail for e in _entries(db, "login.failed")]
    assert len(reasons) == 6 and "locked_until" in reasons[4] and "locked on this workstation" in reasons[5]


def test_a_success_resets_the_count(accounts, admin):
    for _ in range(2):
        for _ in range(4):
            with pytest.raises(AuthenticationError):
                accounts.authenticate("admin", "wrong-password")
        accounts.authenticate("admin", ADMIN_PW)  # 4 wrong, 1 right: never locked


def test_an_administrator_can_unlock(accounts, team, clock):
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            accounts.authenticate("reviewer", "wrong-password")
    with pytest.raises(AccountLockedError):
        accounts.authenticate("reviewer", PASSWORDS["reviewer"])
    info = accounts.unlock(team["administrator"], "reviewer")
    assert info.locked_until is None and not info.locked(clock.now)
    accounts.authenticate("reviewer", PASSWORDS["reviewer"])


def test_a_weaker_stored_hash_is_upgraded_at_login(db, trail, clock, admin):
    stronger = AccountService(db, trail, hasher=PasswordHasher(ScryptParams(n=2**11)), clock=clock)
    assert _row(db, "admin").password_hash.startswith("scrypt$n=1024,")
    stronger.authenticate("admin", ADMIN_PW)
    assert _row(db, "admin").password_hash.startswith("scrypt$n=2048,")
    stronger.authenticate("admin", ADMIN_PW)


# ------------------------------------------------------------------ passwords

def test_reset_forces_a_change_before_anything_else(accounts, team, db):
    accounts.reset_password(team["administrator"], "auditor", "temporary-pass-9")
    actor = accounts.authenticate("auditor", "temporary-pass-9")
    assert actor.must_change_password and not can(actor, "audit.read")
    with pytest.raises(PermissionDenied, match="must change its password"):
        accounts.trail.entries(actor)
    with pytest.raises(AuthenticationError, match="current password is wrong"):
        accounts.change_password(actor, "not-it-at-all", "brand-new-pass-1")
    with pytest.raises(PasswordPolicyError, match="differ"):
        accounts.change_password(actor, "temporary-pass-9", "temporary-pass-9")
    with pytest.raises(PasswordPolicyError, match="at least 10"):
        accounts.change_password(actor, "temporary-pass-9", "short")
    actor = accounts.change_password(actor, "temporary-pass-9", "brand-new-pass-1")
    assert not actor.must_change_password and can(actor, "audit.read")
    assert accounts.authenticate("auditor", "brand-new-pass-1").must_change_password is False
    with pytest.raises(AuthenticationError):
        accounts.authenticate("auditor", "temporary-pass-9")
    actions = [e.action for e in _entries(db) if e.object == "auditor" or e.account == "auditor"]
    assert "password.reset" in actions and actions.count("password.change") == 2  # one failed, one ok


def test_wrong_current_passwords_count_towards_the_lockout(accounts, team):
    actor = team["reviewer"]
    for _ in range(4):
        with pytest.raises(AuthenticationError):
            accounts.change_password(actor, "wrong-password", "new-password-12")
    with pytest.raises(AccountLockedError):
        accounts.change_password(actor, "wrong-password", "new-password-12")
    with pytest.raises(AccountLockedError):
        accounts.authenticate("reviewer", PASSWORDS["reviewer"], actor.workstation)
    accounts.authenticate("reviewer", PASSWORDS["reviewer"], "another-workstation")  # locked there only


# ------------------------------------------------------------------ administration

def test_only_administrators_manage_accounts_and_refusals_are_recorded(accounts, team, db):
    for role in ("reviewer", "exporter", "auditor"):
        with pytest.raises(PermissionDenied, match="may not manage accounts"):
            accounts.create_account(team[role], f"by-{role}", "some-long-pass-1", roles=["reviewer"])
        with pytest.raises(PermissionDenied):
            accounts.list_accounts(team[role])
        with pytest.raises(PermissionDenied):
            accounts.set_roles(team[role], role, ["administrator"])
    denied = [e for e in _entries(db) if e.outcome == "denied"]
    assert len(denied) == 9
    assert {(e.account, e.action) for e in denied} >= {("reviewer", "account.create"), ("auditor", "account.roles")}
    assert _row(db, "reviewer").roles == '["reviewer"]'


def test_roles_scope_disable_enable(accounts, team, db, clock):
    admin = team["administrator"]
    info = accounts.set_roles(admin, "reviewer", ["reviewer", "exporter"])
    assert info.roles == ("exporter", "reviewer")
    entry = _entries(db, "account.roles")[-1]
    assert entry.object == "reviewer: reviewer -> exporter, reviewer"
    info = accounts.set_scope(admin, "reviewer", ScopeSpec(userids=frozenset({"u1"}),
                                                           departments=frozenset({"Sales"})))
    assert info.scope.userids == {"u1"} and info.scope.departments == {"Sales"}
    assert _entries(db, "account.scope")[-1].object == "reviewer: everything -> userids: u1; departments: Sales"
    old_actor = team["reviewer"]
    assert accounts.refresh(old_actor).roles == {"reviewer", "exporter"}
    assert accounts.refresh(old_actor).scope == {"u1"}  # no contacts: the department adds nobody
    accounts.disable(admin, "reviewer")
    with pytest.raises(AccountDisabledError, match="disabled"):
        accounts.authenticate("reviewer", PASSWORDS["reviewer"])
    with pytest.raises(AuthenticationError) as wrong:  # a wrong password does not reveal it
        accounts.authenticate("reviewer", "wrong-password")
    assert type(wrong.value) is AuthenticationError
    with pytest.raises(AccountDisabledError):
        accounts.refresh(old_actor)
    accounts.enable(admin, "reviewer")
    accounts.authenticate("reviewer", PASSWORDS["reviewer"])
    assert [a.username for a in accounts.list_accounts(admin)] == ["admin", "auditor", "exporter", "reviewer"]
    assert accounts.account(team["auditor"]).username == "auditor"  # one's own: no permission needed
    with pytest.raises(PermissionDenied):
        accounts.account(team["auditor"], "admin")


def test_the_last_enabled_administrator_stays(accounts, team):
    admin = team["administrator"]
    with pytest.raises(AccountError, match="only enabled administrator"):
        accounts.set_roles(admin, "admin", ["reviewer"])
    with pytest.raises(AccountError, match="only enabled administrator"):
        accounts.disable(admin, "admin")
    accounts.set_roles(admin, "auditor", ["auditor", "administrator"])
    accounts.set_roles(admin, "admin", ["reviewer"])  # another administrator exists now
    auditor = accounts.refresh(team["auditor"])  # roles change at the next login or refresh
    assert auditor.roles == {"auditor", "administrator"}
    with pytest.raises(AccountError, match="only enabled administrator"):
        accounts.disable(auditor, "auditor")


def test_an_account_change_and_its_audit_entry_commit_together(accounts, admin, db):
    with db.write() as conn:
        conn.execute(delete(AuditHead))  # an audit trail that cannot be written
    with pytest.raises(AuditTrailError, match="chain head"):
        accounts.create_account(admin, "ghost", "ghost-password-1", roles=["reviewer"])
    with db.read() as conn:
        assert conn.execute(select(Account).where(Account.username == "ghost")).first() is None


# ------------------------------------------------------------------ no-login mode

def test_no_login_only_while_a_single_account_exists(accounts, db):
    assert not accounts.no_login_allowed()  # no account yet
    accounts.create_first_admin("solo", "solo-password-1")
    assert accounts.no_login_allowed()
    actor = accounts.no_login_actor("laptop")
    assert actor.username == "solo" and actor.roles == {"administrator"} and actor.workstation == "laptop"
    assert '"no-login"' in _entries(db, "login")[-1].detail
    admin = accounts.authenticate("solo", "solo-password-1")
    accounts.create_account(admin, "second", "second-pass-01", roles=["reviewer"])
    assert not accounts.no_login_allowed()
    with pytest.raises(AccountError, match="single enabled account"):
        accounts.no_login_actor("laptop")


# ------------------------------------------------------------------ tokens

def test_tokens_act_as_their_account_and_only_their_hash_is_stored(accounts, team, db, clock):
    reviewer = team["reviewer"]
    issued = accounts.issue_token(reviewer, 3600, label="nightly export")
    assert issued.token.startswith("wat_") and issued.token not in repr(issued)
    assert issued.expires_at == clock.now + 3_600_000
    actor = accounts.actor_from_token(issued.token, "cron-host")
    assert (actor.username, actor.roles, actor.login_id, actor.workstation) == (
        "reviewer", {"reviewer"}, f"token:{issued.id}", "cron-host")
    with db.read() as conn:
        row = conn.execute(select(LoginToken)).one()
        dump = " ".join(str(v) for v in conn.execute(text("SELECT * FROM login_tokens")).one())
        audit = " ".join(str(v) for r in conn.execute(text("SELECT * FROM audit_log")) for v in r)
    assert row.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert issued.token not in dump and issued.token not in audit
    assert issued.token[4:] not in dump and issued.token[4:] not in audit
    [info] = accounts.list_tokens(reviewer)
    assert info.label == "nightly export" and info.last_used_at == clock.now
    with pytest.raises(PermissionDenied, match="cannot issue another"):
        accounts.issue_token(actor)


def test_expired_revoked_unknown_tokens_are_refused_and_recorded(accounts, team, clock, db):
    reviewer = team["reviewer"]
    short = accounts.issue_token(reviewer, 60)
    clock.advance(60_000)
    with pytest.raises(TokenError, match="expired"):
        accounts.actor_from_token(short.token)
    kept = accounts.issue_token(reviewer, 3600)
    assert accounts.revoke_token(reviewer, token=kept.token)
    assert not accounts.revoke_token(reviewer, token_id=kept.id)  # already revoked
    with pytest.raises(TokenError, match="revoked"):
        accounts.actor_from_token(kept.token)
    with pytest.raises(TokenError, match="not valid"):
        accounts.actor_from_token("wat_" + "A" * 43)
    with pytest.raises(TokenError, match="not valid"):
        accounts.actor_from_token("garbage")
    reasons = [e.detail for e in _entries(db, "login.failed")]
    assert [("expired" in r, "revoked" in r, "unknown" in r) for r in reasons] == [
        (True, False, False), (False, True, False), (False, False, True), (False, False, True)]


def test_password_change_disable_and_admin_revoke_end_tokens(accounts, team):
    admin, reviewer = team["administrator"], team["reviewer"]
    a = accounts.issue_token(reviewer, 3600)
    accounts.change_password(reviewer, PASSWORDS["reviewer"], "changed-pass-123")
    with pytest.raises(TokenError, match="revoked"):
        accounts.actor_from_token(a.token)
    b = accounts.issue_token(reviewer, 3600)
    accounts.disable(admin, "reviewer")
    with pytest.raises(TokenError, match="revoked"):
        accounts.actor_from_token(b.token)
    accounts.enable(admin, "reviewer")
    c = accounts.issue_token(accounts.authenticate("reviewer", "changed-pass-123"), 3600)
    with pytest.raises(PermissionDenied):
        accounts.revoke_token(team["exporter"], token_id=c.id)  # not one's own
    assert accounts.revoke_token(admin, token_id=c.id)
    with pytest.raises(ValueError, match="60 seconds"):
        accounts.issue_token(admin, 10)


def test_no_password_or_token_ever_reaches_the_trail(accounts, team, db):
    admin = team["administrator"]
    token = accounts.issue_token(admin, 600).token
    accounts.reset_password(admin, "exporter", "reset-secret-77")
    with pytest.raises(AuthenticationError):
        accounts.authenticate("admin", "typed-wrong-secret")
    accounts.trail.record(admin, Action.SETTINGS_CHANGE, object_type="setting",
                          detail={"name": "proxy_password", "proxy_password": "hunter2-proxy",
                                  "database_url": "mysql+pymysql://u:dbsecret@h/db"})
    with db.read() as conn:
        dump = " ".join(str(v) for r in conn.execute(text("SELECT * FROM audit_log")) for v in r)
    for secret in [ADMIN_PW, *PASSWORDS.values(), token, "reset-secret-77", "typed-wrong-secret",
                   "hunter2-proxy", "dbsecret"]:
        assert secret not in dump
    assert accounts.trail.count(team["auditor"], AuditFilter(actions=frozenset({"login"}))) == 4


def test_a_hand_made_actor_is_not_an_account(accounts, admin):
    with pytest.raises(AccountError, match="not an account"):
        accounts.issue_token(Actor("os:someone"))
    with pytest.raises(AccountError, match="not an account"):
        accounts.change_password(Actor("os:someone"), "a", "b")
    assert FAST.verify(ADMIN_PW, _row(accounts.db, "admin").password_hash)
