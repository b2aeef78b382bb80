"""Accounts: the first administrator, logins with lockout, passwords, roles, scopes, CLI tokens.

Accounts live in the archive database, so a team on one MySQL shares them. Every change writes its
audit entry in the same transaction as the change; refusals and failed logins are recorded too.

User names are canonical: NFKC-normalised, trimmed and case-folded (``Alice`` and ``alice`` are
one account), 1-64 characters, no spaces, control characters or ``:`` (``os:`` and ``system:``
name the local and system actors). A new or renamed account's name must not look like another
account's (TR39 confusable skeleton), hold invisible characters or mix scripts (:mod:`.lookalike`).

Login and lockout: wrong passwords are counted per (user name as typed, workstation); the fifth in a
row locks that name *on that workstation* for 15 minutes (:class:`AccountLockedError` says until
when), then it may try again; a success resets the count. A name of no account is counted and locked
exactly like an account's — same answers ("wrong user name or password", then the same "locked"
sentence), one scrypt derivation per attempt either way, the same writes — so neither the answers,
the timing nor the lockout tell whether an account exists; the audit trail records the name typed
(auditors may know). Bounded and local, a lockout cannot keep the last administrator out for good:
another workstation is not affected, an administrator can ``unlock`` it, and whoever can open the
archive's database — the OS account owning a SQLite archive, a holder of the MySQL credentials — can
run the local recovery (:meth:`AccountService.recover`, ``wecom-auditor accounts recover``), which
is recorded. ``accounts.failed_attempts``/``locked_until`` summarise the workstations' state for
administrators.

CLI tokens: 32 random bytes, shown once as ``wat_<base64url>``; only their SHA-256 is stored.
A token acts as its account (``Actor.login_id`` = ``token:<id>``) until it expires or is revoked;
changing or resetting the password, or disabling the account, revokes all its tokens.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.core.actor import Actor
from app.core.store.db import Database, now_ms
from app.core.store.models import Account, LoginThrottle, LoginToken

from . import roles as R
from .audit import FAILED, Action, AuditTrail
from .errors import (
    AccountDisabledError,
    AccountError,
    AccountLockedError,
    AuthenticationError,
    PasswordPolicyError,
    PermissionDenied,
    TokenError,
    local_time_text,
)
from .lookalike import check_new_username
from .passwords import PasswordHasher, check_password_policy
from .scope import ScopeSpec, resolve_scope

LOCKOUT_THRESHOLD = 5
LOCKOUT_MS = 15 * 60 * 1000
THROTTLE_KEEP_MS = 30 * 24 * 3600 * 1000  # wrong passwords older than this are forgotten
MAX_USERNAME_LENGTH = 64
TOKEN_PREFIX = "wat_"
DEFAULT_TOKEN_TTL_S = 24 * 3600
MAX_TOKEN_TTL_S = 90 * 24 * 3600

_ACCOUNTS = Account.__table__
_TOKENS = LoginToken.__table__
_THROTTLE = LoginThrottle.__table__
_KEY_LEN = 191  # login_throttle's key columns
_TOKEN_SHAPE = re.compile(r"^wat_[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class AccountInfo:
    """An account as administrators see it (never its password hash)."""

    id: int
    username: str
    roles: tuple[str, ...]
    scope: ScopeSpec
    created_at: int
    disabled: bool
    failed_attempts: int
    locked_until: int | None
    last_login_at: int | None
    password_changed_at: int
    must_change_password: bool

    def locked(self, now: int) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class IssuedToken:
    """A new CLI token. ``token`` is shown once and never stored; keep it like a password."""

    id: int
    token: str
    expires_at: int

    def __repr__(self) -> str:  # never print the token by accident
        return f"IssuedToken(id={self.id}, expires_at={self.expires_at})"


@dataclass(frozen=True)
class TokenInfo:
    id: int
    username: str
    label: str
    workstation: str
    created_at: int
    expires_at: int
    revoked_at: int | None
    last_used_at: int | None


def canonical_username(name: str) -> str:
    """The stored form of a user name; :class:`AccountError` saying what is wrong with it."""
    canon = unicodedata.normalize("NFKC", name or "").strip().casefold()
    if not canon:
        raise AccountError("the user name is empty", "用户名为空")
    if len(canon) > MAX_USERNAME_LENGTH:
        raise AccountError(f"the user name must have at most {MAX_USERNAME_LENGTH} characters",
                           f"用户名最多 {MAX_USERNAME_LENGTH} 个字符")
    if ":" in canon or any(unicodedata.category(c)[0] in "CZ" for c in canon):
        raise AccountError("the user name must not contain spaces, control characters or ':'",
                           "用户名不能包含空格、控制字符或“:”")
    return canon


def _locked(until_ms: int) -> AccountLockedError:
    """The one answer while a user name is locked on a workstation, whether it is an account's or not."""
    return AccountLockedError(until_ms, f"too many wrong passwords: this user name is locked on this workstation "
                                        f"until {local_time_text(until_ms)}; try again then, or ask an "
                                        f"administrator to unlock it")


def _throttle_key(name: str) -> str:
    """The lockout's key for a user name as typed (canonical when it can be)."""
    return (name or "")[:_KEY_LEN]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _info(r) -> AccountInfo:
    return AccountInfo(r.id, r.username, tuple(json.loads(r.roles)), ScopeSpec.from_json(r.scope), r.created_at,
                       bool(r.disabled), r.failed_attempts, r.locked_until, r.last_login_at, r.password_changed_at,
                       bool(r.must_change_password))


def _roles_text(roles: Iterable[str]) -> str:
    return ", ".join(sorted(roles)) or "no role"


class AccountService:
    """Accounts of one archive database.

    ``trail``: the audit trail to write to (one is made if not given). ``hasher``: the password
    hasher (tests pass cheaper scrypt parameters). ``clock``: ms since the epoch (tests inject
    one to step past a lockout)."""

    def __init__(self, db: Database, trail: AuditTrail | None = None, *, hasher: PasswordHasher | None = None,
                 clock: Callable[[], int] | None = None):
        self.db = db
        self._clock = clock or now_ms
        self.trail = trail or AuditTrail(db, clock=self._clock)
        self.hasher = hasher or PasswordHasher()

    # -------------------------------------------------------------- helpers

    def _row(self, conn, *, username: str | None = None, account_id: int | None = None, lock: bool = False):
        q = select(_ACCOUNTS)
        q = q.where(_ACCOUNTS.c.username == username) if username is not None else q.where(
            _ACCOUNTS.c.id == account_id)
        if lock and conn.dialect.name != "sqlite":
            q = q.with_for_update()
        return conn.execute(q).first()

    def _target(self, conn, username: str):
        row = self._row(conn, username=canonical_username(username), lock=True)
        if row is None:
            raise AccountError(f"there is no account '{username}'", f"没有账号“{username}”")
        return row

    def _actor_of(self, conn, row, workstation: str, login_id: str) -> Actor:
        spec = ScopeSpec.from_json(row.scope)
        return Actor(username=row.username, roles=frozenset(json.loads(row.roles)), workstation=workstation,
                     account_id=row.id, scope=resolve_scope(conn, spec), login_id=login_id,
                     must_change_password=bool(row.must_change_password))

    def _usernames(self, conn=None, *, but: int | None = None) -> list[str]:
        """Every account's user name (``but``: leave out this account id)."""
        q = select(_ACCOUNTS.c.username)
        if but is not None:
            q = q.where(_ACCOUNTS.c.id != but)
        if conn is not None:
            return list(conn.execute(q).scalars())
        with self.db.read() as c:
            return list(c.execute(q).scalars())

    def _enabled_admins(self, conn) -> list[int]:
        return [r.id for r in conn.execute(select(_ACCOUNTS.c.id, _ACCOUNTS.c.roles)
                                           .where(_ACCOUNTS.c.disabled.is_(False)))
                if R.ADMINISTRATOR in json.loads(r.roles)]

    def _revoke_all_tokens(self, conn, account_id: int, now: int) -> int:
        return conn.execute(update(_TOKENS).where(_TOKENS.c.account_id == account_id,
                                                  _TOKENS.c.revoked_at.is_(None), _TOKENS.c.expires_at > now)
                            .values(revoked_at=now)).rowcount

    def _manage(self, actor: Actor, action: str, username: str) -> None:
        self.trail.require(actor, R.ACCOUNTS_MANAGE, action=action, object_type="account", object=username)

    # -------------------------------------------------------------- first run, no-login mode

    def count(self) -> int:
        """How many accounts exist (enabled or not)."""
        with self.db.read() as conn:
            return conn.execute(select(func.count()).select_from(_ACCOUNTS)).scalar_one()

    def needs_first_admin(self) -> bool:
        """True while the archive has no account: the first-run flow must create an administrator."""
        return self.count() == 0

    def create_first_admin(self, username: str, password: str, *, workstation: str = "") -> AccountInfo:
        """Create the first account, an administrator, on an archive without accounts.
        AccountError if an account exists already; PasswordPolicyError for a weak password."""
        canon = canonical_username(username)
        check_new_username(canon, ())
        check_password_policy(password, canon)
        encoded = self.hasher.hash(password)
        now = self._clock()
        with self.db.write() as conn:
            self.trail.lock(conn)  # two first-run dialogs on one MySQL: only one wins
            if conn.execute(select(func.count()).select_from(_ACCOUNTS)).scalar_one():
                raise AccountError("the archive already has accounts: ask an administrator to create yours",
                                   "存档中已有账号：请让管理员为您创建账号")
            account_id = self.db.ids.next_id()
            conn.execute(insert(_ACCOUNTS).values(
                id=account_id, username=canon, password_hash=encoded, roles=json.dumps([R.ADMINISTRATOR]),
                scope=ScopeSpec().to_json(), created_at=now, disabled=False, failed_attempts=0, locked_until=None,
                last_login_at=None, password_changed_at=now, must_change_password=False))
            who = Actor(username=canon, roles=frozenset({R.ADMINISTRATOR}), workstation=workstation,
                        account_id=account_id)
            self.trail.record(who, Action.ACCOUNT_CREATE, object_type="account", object=canon,
                              detail={"roles": [R.ADMINISTRATOR], "first_administrator": True}, conn=conn)
            return _info(self._row(conn, account_id=account_id))

    def no_login_allowed(self) -> bool:
        """True if the "no login" mode may be used: the archive has exactly one account and it is
        enabled. (The setting itself lives in settings; check this each start.)"""
        with self.db.read() as conn:
            rows = conn.execute(select(_ACCOUNTS.c.disabled).limit(2)).all()
        return len(rows) == 1 and not rows[0].disabled

    def no_login_actor(self, workstation: str = "") -> Actor:
        """The single account's actor without a password ("no login" mode); records a login.
        AccountError if the archive does not have exactly one enabled account."""
        login_id = secrets.token_hex(8)
        with self.db.write() as conn:
            self.trail.lock(conn)
            rows = conn.execute(select(_ACCOUNTS).limit(2)).all()
            if len(rows) != 1 or rows[0].disabled:
                raise AccountError("'no login' is only possible while the archive has a single enabled account: "
                                   "log in with your user name and password",
                                   "只有当存档中只有一个启用的账号时才能免登录：请用用户名和密码登录")
            actor = self._actor_of(conn, rows[0], workstation, login_id)
            conn.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == actor.account_id)
                         .values(last_login_at=self._clock()))
            self.trail.record(actor, Action.LOGIN, object_type="account", object=actor.username,
                              detail={"method": "no-login"}, conn=conn)
        return actor

    # -------------------------------------------------------------- logging in and out

    def authenticate(self, username: str, password: str, workstation: str = "") -> Actor:
        """The actor of the account if ``password`` is right; records ``login`` or ``login.failed``.

        Raises AuthenticationError ("wrong user name or password") for an unknown name or a wrong
        password, AccountLockedError (with ``until_ms``) while the name is locked on this workstation
        — the fifth consecutive wrong password locks it there for 15 minutes — and
        AccountDisabledError for a disabled account (only once the password was right). A name of no
        account gets the same answers, the same scrypt time and the same lockout as an account's
        (see the module docstring). A successful login re-hashes a password stored with weaker
        scrypt parameters than the current ones."""
        typed = (username or "").strip()
        try:
            canon = canonical_username(typed)
        except AccountError:
            canon = None
        key, ws = _throttle_key(canon or typed), (workstation or "")[:_KEY_LEN]
        with self.db.read() as conn:
            row = self._row(conn, username=canon) if canon else None
            throttle = self._throttle(conn, key, ws)
        now = self._clock()
        if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
            self._record_login_failure(row, typed, workstation, "locked on this workstation",
                                       {"locked_until": throttle.locked_until})
            raise _locked(throttle.locked_until)
        if row is None:
            self.hasher.dummy_verify(password)
            correct = False
        else:
            correct = self.hasher.verify(password, row.password_hash)
        if not correct:
            raise self._count_failure(key, ws, row, typed, workstation, Action.LOGIN_FAILED,
                                      "wrong password" if row is not None else "unknown user name")
        if row.disabled:
            self._record_failure(row, workstation, "account disabled")
            raise AccountDisabledError(f"the account '{row.username}' is disabled: ask an administrator to "
                                       f"enable it")
        new_hash = self.hasher.hash(password) if self.hasher.needs_rehash(row.password_hash) else None
        login_id = secrets.token_hex(8)
        with self.db.write() as conn:
            self.trail.lock(conn)
            row = self._row(conn, account_id=row.id, lock=True)
            now = self._clock()
            throttle = self._throttle(conn, key, ws)
            if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
                locked_until = throttle.locked_until  # locked meanwhile by another login on this workstation
            else:
                locked_until = None
                conn.execute(delete(_THROTTLE).where(_THROTTLE.c.username == key, _THROTTLE.c.workstation == ws))
                values = {"last_login_at": now, **self._lock_summary(conn, row.username, now)}
                if new_hash:
                    values["password_hash"] = new_hash
                conn.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == row.id).values(**values))
                actor = self._actor_of(conn, row, workstation, login_id)
                self.trail.record(actor, Action.LOGIN, object_type="account", object=actor.username,
                                  detail={"method": "password", "rehashed": bool(new_hash),
                                          "must_change_password": actor.must_change_password}, conn=conn)
        if locked_until is not None:
            raise _locked(locked_until)
        return actor

    # -------------------------------------------------------------- the lockout (module docstring)

    @staticmethod
    def _throttle(conn, key: str, ws: str):
        return conn.execute(select(_THROTTLE).where(_THROTTLE.c.username == key,
                                                    _THROTTLE.c.workstation == ws)).first()

    def _lock_summary(self, conn, username: str, now: int) -> dict:
        """The accounts row's failed_attempts/locked_until, shown to administrators: the most failures
        on any workstation and the latest lock still running."""
        rows = conn.execute(select(_THROTTLE.c.failures, _THROTTLE.c.locked_until)
                            .where(_THROTTLE.c.username == _throttle_key(username))).all()
        locks = [r.locked_until for r in rows if r.locked_until is not None and r.locked_until > now]
        return {"failed_attempts": max((r.failures for r in rows), default=0),
                "locked_until": max(locks) if locks else None}

    def _record_login_failure(self, row, typed: str, workstation: str, reason: str, extra: dict | None = None,
                              action: str = Action.LOGIN_FAILED, login_id: str = "", conn=None) -> None:
        if row is not None:
            who = Actor(username=row.username, workstation=workstation, account_id=row.id, login_id=login_id)
            name = row.username
        else:
            who, name = Actor(username=typed, workstation=workstation), typed
        self.trail.record(who, action, object_type="account", object=name, outcome=FAILED,
                          detail={"reason": reason, "method": "password", "known_account": row is not None,
                                  **(extra or {})}, conn=conn)

    def _record_failure(self, row, workstation: str, reason: str, extra: dict | None = None,
                        action: str = Action.LOGIN_FAILED) -> None:
        who = Actor(username=row.username, workstation=workstation, account_id=row.id)
        self.trail.record(who, action, object_type="account", object=row.username, outcome=FAILED,
                          detail={"reason": reason, **(extra or {})})

    def _count_failure(self, key: str, ws: str, row, typed: str, workstation: str, action: str, reason: str,
                       login_id: str = "") -> AuthenticationError:
        """Count a wrong password for (name, workstation) — the fifth in a row locks the name there
        for LOCKOUT_MS — and record it; the same statements whether or not the name is an
        account's. Returns the error to raise."""
        with self.db.write() as conn:
            self.trail.lock(conn)
            now = self._clock()
            current = self._throttle(conn, key, ws)
            failures = (current.failures if current is not None else 0) + 1
            locked_until = now + LOCKOUT_MS if failures >= LOCKOUT_THRESHOLD else None
            values = {"failures": 0 if locked_until else failures, "locked_until": locked_until, "updated_at": now}
            if current is None:
                conn.execute(insert(_THROTTLE).values(username=key, workstation=ws, **values))
            else:
                conn.execute(update(_THROTTLE).where(_THROTTLE.c.username == key, _THROTTLE.c.workstation == ws)
                             .values(**values))
            # names not tried for a month are forgotten (their locks ended long ago): the table stays small
            conn.execute(delete(_THROTTLE).where(_THROTTLE.c.updated_at < now - THROTTLE_KEEP_MS))
            # the same UPDATE for a name of no account (it changes no row): equal work, equal time
            conn.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.username == key)
                         .values(**self._lock_summary(conn, key, now)))
            detail: dict = {"consecutive_failures": failures, "workstation_lock": True}
            if locked_until:
                detail["locked_until"] = locked_until
            self._record_login_failure(row, typed, workstation, reason, detail, action, login_id, conn)
        if locked_until:
            return _locked(locked_until)
        return AuthenticationError()

    def _clear_lockouts(self, conn, username: str) -> int:
        """Lift every lockout of ``username`` (all workstations); how many workstations had one."""
        now = self._clock()
        locked = conn.execute(select(func.count()).select_from(_THROTTLE).where(
            _THROTTLE.c.username == _throttle_key(username), _THROTTLE.c.locked_until > now)).scalar_one()
        conn.execute(delete(_THROTTLE).where(_THROTTLE.c.username == _throttle_key(username)))
        return locked

    def logout(self, actor: Actor) -> None:
        """Record the end of an interactive login."""
        self.trail.record(actor, Action.LOGOUT, object_type="account", object=actor.username)

    def refresh(self, actor: Actor) -> Actor:
        """``actor`` with the account's current roles, scope and password state (a long-running
        GUI calls it after account changes). AccountDisabledError if the account was disabled
        meanwhile; actors without an account come back unchanged."""
        if actor.account_id is None:
            return actor
        with self.db.read() as conn:
            row = self._row(conn, account_id=actor.account_id)
            if row is None or row.disabled:
                raise AccountDisabledError(f"the account '{actor.username}' is disabled: ask an administrator to "
                                           f"enable it")
            return self._actor_of(conn, row, actor.workstation, actor.login_id)

    # -------------------------------------------------------------- passwords

    def change_password(self, actor: Actor, old_password: str, new_password: str) -> Actor:
        """Change the actor's own password; returns the actor with ``must_change_password`` cleared.
        A wrong current password counts towards the lockout like a failed login. Revokes the
        account's CLI tokens."""
        if actor.account_id is None:
            raise AccountError(f"'{actor.username}' is not an account of this archive: log in first",
                               f"“{actor.username}”不是本存档的账号：请先登录")
        with self.db.read() as conn:
            row = self._row(conn, account_id=actor.account_id)
        if row is None:
            raise AccountError(f"the account '{actor.username}' no longer exists", f"账号“{actor.username}”已不存在")
        key, ws = _throttle_key(row.username), (actor.workstation or "")[:_KEY_LEN]
        with self.db.read() as conn:
            throttle = self._throttle(conn, key, ws)
        now = self._clock()
        if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
            raise _locked(throttle.locked_until)
        if not self.hasher.verify(old_password, row.password_hash):
            error = self._count_failure(key, ws, row, row.username, actor.workstation, Action.PASSWORD_CHANGE,
                                        "wrong password", actor.login_id)
            if isinstance(error, AccountLockedError):
                raise error
            raise AuthenticationError("the current password is wrong")
        check_password_policy(new_password, row.username)
        if new_password == old_password:
            raise PasswordPolicyError("the new password must differ from the current one")
        encoded = self.hasher.hash(new_password)
        with self.db.write() as conn:
            self.trail.lock(conn)
            now = self._clock()
            conn.execute(delete(_THROTTLE).where(_THROTTLE.c.username == key, _THROTTLE.c.workstation == ws))
            conn.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == row.id).values(
                password_hash=encoded, password_changed_at=now, must_change_password=False,
                **self._lock_summary(conn, row.username, now)))
            revoked = self._revoke_all_tokens(conn, row.id, now)
            self.trail.record(actor, Action.PASSWORD_CHANGE, object_type="account", object=row.username,
                              detail={"revoked_tokens": revoked}, conn=conn)
        return dataclasses.replace(actor, must_change_password=False)

    def reset_password(self, actor: Actor, username: str, new_password: str, *,
                       must_change_password: bool = True) -> AccountInfo:
        """Set another account's password (needs ``accounts.manage``); unlocks it and revokes its
        tokens. By default its owner must choose a new password at the next login."""
        self._manage(actor, Action.PASSWORD_RESET, username)
        canon = canonical_username(username)
        check_password_policy(new_password, canon)
        encoded = self.hasher.hash(new_password)
        with self.db.write() as conn:
            self.trail.lock(conn)
            row = self._target(conn, canon)
            now = self._clock()
            self._clear_lockouts(conn, row.username)
            conn.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == row.id).values(
                password_hash=encoded, password_changed_at=now, must_change_password=must_change_password,
                failed_attempts=0, locked_until=None))
            revoked = self._revoke_all_tokens(conn, row.id, now)
            self.trail.record(actor, Action.PASSWORD_RESET, object_type="account", object=canon,
                              detail={"must_change_password": must_change_password, "revoked_tokens": revoked},
                              conn=conn)
            return _info(self._row(conn, account_id=row.id))

    # -------------------------------------------------------------- administration

    def create_account(self, actor: Actor, username: str, password: str, *, roles: Iterable[str],
                       scope: ScopeSpec | None = None, must_change_password: bool = True) -> AccountInfo:
        """Create an account (needs ``accounts.manage``). ``roles``: at least one of
        administrator, reviewer, exporter, auditor. ``scope``: None = every session. By default the
        new owner must change the password at first login. AccountError if the name is taken."""
        self._manage(actor, Action.ACCOUNT_CREATE, username)
        canon = canonical_username(username)
        granted = R.validate_roles(roles)
        if not granted:
            raise AccountError("give the account at least one role", "请为账号至少指定一个角色")
        scope = scope or ScopeSpec()
        check_new_username(canon, self._usernames())  # early, before the costly hash
        check_password_policy(password, canon)
        encoded = self.hasher.hash(password)
        try:
            with self.db.write() as conn:
                self.trail.lock(conn)  # serialises account creation: the check below sees every name
                check_new_username(canon, self._usernames(conn))
                account_id = self.db.ids.next_id()
                now = self._clock()
                conn.execute(insert(_ACCOUNTS).values(
                    id=account_id, username=canon, password_hash=encoded, roles=json.dumps(sorted(granted)),
                    scope=scope.to_json(), created_at=now, disabled=False, failed_attempts=0, locked_until=None,
                    last_login_at=None, password_changed_at=now, must_change_password=must_change_password))
                self.trail.record(actor, Action.ACCOUNT_CREATE, object_type="account", object=canon,
                                  detail={"roles": sorted(granted), "scope": scope.describe(),
                                          "must_change_password": must_change_password}, conn=conn)
                return _info(self._row(conn, account_id=account_id))
        except IntegrityError:  # created at the same moment on another workstation
            raise AccountError(f"the user name '{canon}' is taken", f"用户名“{canon}”已被占用") from None

    def set_roles(self, actor: Actor, username: str, roles: Iterable[str]) -> AccountInfo:
        """Replace an account's roles (needs ``accounts.manage``). The archive always keeps one
        enabled administrator: AccountError if this would remove the last."""
        self._manage(actor, Action.ACCOUNT_ROLES, username)
        granted = R.validate_roles(roles)
        if not granted:
            raise AccountError("give the account at least one role (or disable it)",
                               "请为账号至少保留一个角色（或停用该账号）")
        with self.db.write() as conn:
            self.trail.lock(conn)
            row = self._target(conn, username)
            old = frozenset(json.loads(row.roles))
            if R.ADMINISTRATOR in old and R.ADMINISTRATOR not in granted and not row.disabled \
                    and self._enabled_admins(conn) == [row.id]:
                raise AccountError(f"'{row.username}' is the only enabled administrator: make another account an "
                                   f"administrator first",
                                   f"“{row.username}”是唯一启用的管理员：请先将另一个账号设为管理员")
            conn.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == row.id).values(roles=json.dumps(sorted(granted))))
            self.trail.record(actor, Action.ACCOUNT_ROLES, object_type="account",
                              object=f"{row.username}: {_roles_text(old)} -> {_roles_text(granted)}",
                              detail={"old": sorted(old), "new": sorted(granted)}, conn=conn)
            return _info(self._row(conn, account_id=row.id))

    def rename(self, actor: Actor, username: str, new_username: str) -> AccountInfo:
        """Give an account a new user name (needs ``accounts.manage``). AccountError if the new name
        is taken, looks like another account's, has invisible characters or mixes scripts
        (:mod:`.lookalike`). Its tokens and sessions stay valid (they name the account, not the
        name); the audit trail keeps the old name in earlier entries and records the change."""
        self._manage(actor, Action.ACCOUNT_UPDATE, username)
        canon = canonical_username(new_username)
        with self.db.write() as conn:
            self.trail.lock(conn)
            row = self._target(conn, username)
            if canon == row.username:
                return _info(row)
            check_new_username(canon, self._usernames(conn, but=row.id))
            conn.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == row.id).values(username=canon))
            self.trail.record(actor, Action.ACCOUNT_UPDATE, object_type="account",
                              object=f"{row.username} -> {canon}",
                              detail={"renamed_from": row.username, "renamed_to": canon}, conn=conn)
            return _info(self._row(conn, account_id=row.id))

    def set_scope(self, actor: Actor, username: str, scope: ScopeSpec) -> AccountInfo:
        """Limit an account to the sessions of some staff and/or departments (needs
        ``accounts.manage``); an empty ScopeSpec lifts the limit. Takes effect at its next login."""
        self._manage(actor, Action.ACCOUNT_SCOPE, username)
        with self.db.write() as conn:
            self.trail.lock(conn)
            row = self._target(conn, username)
            old = ScopeSpec.from_json(row.scope)
            conn.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == row.id).values(scope=scope.to_json()))
            self.trail.record(actor, Action.ACCOUNT_SCOPE, object_type="account",
                              object=f"{row.username}: {old.describe()} -> {scope.describe()}",
                              detail={"old": json.loads(old.to_json()), "new": json.loads(scope.to_json())},
                              conn=conn)
            return _info(self._row(conn, account_id=row.id))

    def disable(self, actor: Actor, username: str) -> AccountInfo:
        """Disable an account (needs ``accounts.manage``): it can no longer log in and its tokens
        are revoked. AccountError for the last enabled administrator."""
        self._manage(actor, Action.ACCOUNT_DISABLE, username)
        with self.db.write() as conn:
            self.trail.lock(conn)
            row = self._target(conn, username)
            if not row.disabled and self._enabled_admins(conn) == [row.id]:
                raise AccountError(f"'{row.username}' is the only enabled administrator and cannot be disabled",
                                   f"“{row.username}”是唯一启用的管理员，不能停用")
            now = self._clock()
            conn.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == row.id).values(disabled=True))
            revoked = self._revoke_all_tokens(conn, row.id, now)
            self.trail.record(actor, Action.ACCOUNT_DISABLE, object_type="account", object=row.username,
                              detail={"revoked_tokens": revoked}, conn=conn)
            return _info(self._row(conn, account_id=row.id))

    def enable(self, actor: Actor, username: str) -> AccountInfo:
        """Enable a disabled account (needs ``accounts.manage``)."""
        self._manage(actor, Action.ACCOUNT_ENABLE, username)
        with self.db.write() as conn:
            self.trail.lock(conn)
            row = self._target(conn, username)
            conn.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == row.id).values(disabled=False))
            self.trail.record(actor, Action.ACCOUNT_ENABLE, object_type="account", object=row.username, conn=conn)
            return _info(self._row(conn, account_id=row.id))

    def unlock(self, actor: Actor, username: str) -> AccountInfo:
        """Lift the account's lockouts on every workstation and reset the failure counts (needs
        ``accounts.manage``)."""
        self._manage(actor, Action.ACCOUNT_UNLOCK, username)
        with self.db.write() as conn:
            self.trail.lock(conn)
            row = self._target(conn, username)
            workstations = self._clear_lockouts(conn, row.username)
            conn.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == row.id).values(failed_attempts=0,
                                                                                  locked_until=None))
            self.trail.record(actor, Action.ACCOUNT_UNLOCK, object_type="account", object=row.username,
                              detail={"was_locked_until": row.locked_until, "locked_workstations": workstations},
                              conn=conn)
            return _info(self._row(conn, account_id=row.id))

    def recover(self, username: str, *, new_password: str | None = None, workstation: str = "",
                os_user: str = "") -> AccountInfo:
        """Local recovery (``wecom-auditor accounts recover``), with no login: lift every lockout of
        the account, enable it, and with ``new_password`` set its password (to be changed at the
        next login). Whoever can open the archive's database — the OS account that owns a SQLite
        archive's folder, or a holder of the MySQL credentials — could change these rows anyway; this
        does it in the open: each step is recorded in the audit trail as done by ``os:<os_user>``
        with the method "local recovery". AccountError if there is no such account."""
        canon = canonical_username(username)
        if new_password is not None:
            check_password_policy(new_password, canon)
        encoded = self.hasher.hash(new_password) if new_password is not None else None
        who = Actor(username=f"os:{os_user or 'unknown'}", roles=frozenset(R.ROLES), workstation=workstation)
        with self.db.write() as conn:
            self.trail.lock(conn)
            row = self._target(conn, canon)
            now = self._clock()
            workstations = self._clear_lockouts(conn, row.username)
            values: dict = {"failed_attempts": 0, "locked_until": None, "disabled": False}
            if encoded is not None:
                values.update(password_hash=encoded, password_changed_at=now, must_change_password=True)
            conn.execute(update(_ACCOUNTS).where(_ACCOUNTS.c.id == row.id).values(**values))
            base = {"method": "local recovery", "os_user": os_user}
            self.trail.record(who, Action.ACCOUNT_UNLOCK, object_type="account", object=row.username,
                              detail={**base, "was_locked_until": row.locked_until,
                                      "locked_workstations": workstations}, conn=conn)
            if row.disabled:
                self.trail.record(who, Action.ACCOUNT_ENABLE, object_type="account", object=row.username,
                                  detail=base, conn=conn)
            if encoded is not None:
                revoked = self._revoke_all_tokens(conn, row.id, now)
                self.trail.record(who, Action.PASSWORD_RESET, object_type="account", object=row.username,
                                  detail={**base, "must_change_password": True, "revoked_tokens": revoked},
                                  conn=conn)
            return _info(self._row(conn, account_id=row.id))

    def list_accounts(self, actor: Actor) -> list[AccountInfo]:
        """Every account by user name (needs ``accounts.manage``; a refusal is recorded)."""
        self._manage(actor, Action.ACCOUNT_LIST, "")
        with self.db.read() as conn:
            return [_info(r) for r in conn.execute(select(_ACCOUNTS).order_by(_ACCOUNTS.c.username))]

    def account(self, actor: Actor, username: str | None = None) -> AccountInfo:
        """One account: the actor's own (``username`` None or its own name) or, with
        ``accounts.manage``, any. AccountError if there is none."""
        own = username is None or (actor.account_id is not None and canonical_username(username) == actor.username)
        if not own:
            self._manage(actor, Action.ACCOUNT_LIST, username or "")
        with self.db.read() as conn:
            row = (self._row(conn, account_id=actor.account_id) if own and actor.account_id is not None
                   else self._row(conn, username=canonical_username(username or actor.username)))
        if row is None:
            raise AccountError(f"there is no account '{username or actor.username}'",
                               f"没有账号“{username or actor.username}”")
        return _info(row)

    # -------------------------------------------------------------- CLI tokens

    def issue_token(self, actor: Actor, ttl_seconds: int = DEFAULT_TOKEN_TTL_S, *, label: str = "") -> IssuedToken:
        """A new login token for the actor's own account, valid ``ttl_seconds`` (60 s to 90 days).
        Only a password (or no-login) login may issue one: a token cannot extend itself."""
        if actor.account_id is None:
            raise AccountError(f"'{actor.username}' is not an account of this archive: log in first",
                               f"“{actor.username}”不是本存档的账号：请先登录")
        if actor.login_id.startswith("token:"):
            raise PermissionDenied(f"account '{actor.username}' is using a login token, which cannot issue another: "
                                   f"log in with the password",
                                   f"账号“{actor.username}”正在使用登录令牌，令牌不能再签发令牌：请用密码登录",
                                   username=actor.username, permission="token.issue")
        if actor.must_change_password:
            raise PermissionDenied(f"account '{actor.username}' must change its password before it may get a login "
                                   f"token", f"账号“{actor.username}”须先修改密码才能获取登录令牌",
                                   username=actor.username, permission="token.issue")
        if not 60 <= ttl_seconds <= MAX_TOKEN_TTL_S:
            raise ValueError(f"a token lives from 60 seconds to {MAX_TOKEN_TTL_S // 86400} days, not {ttl_seconds} s")
        token = TOKEN_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")
        token_id = self.db.ids.next_id()
        with self.db.write() as conn:
            self.trail.lock(conn)
            now = self._clock()
            expires = now + ttl_seconds * 1000
            conn.execute(insert(_TOKENS).values(id=token_id, account_id=actor.account_id, token_hash=_token_hash(token),
                                                label=label[:255], workstation=actor.workstation[:255], created_at=now,
                                                expires_at=expires, revoked_at=None, last_used_at=None))
            self.trail.record(actor, Action.TOKEN_ISSUE, object_type="token", object=str(token_id),
                              detail={"expires_at": expires, "label": label[:255]}, conn=conn)
        return IssuedToken(token_id, token, expires)

    def actor_from_token(self, token: str, workstation: str = "") -> Actor:
        """The actor of a valid token (``login_id`` ``token:<id>``). TokenError for an unknown,
        expired or revoked token; AccountDisabledError if its account is disabled. Failures are
        recorded (never the token itself); uses are not — the actions done with it are."""
        token = (token or "").strip()
        row = None
        if _TOKEN_SHAPE.match(token):
            with self.db.read() as conn:
                row = conn.execute(select(_TOKENS, _ACCOUNTS.c.username, _ACCOUNTS.c.disabled)
                                   .join(_ACCOUNTS, _ACCOUNTS.c.id == _TOKENS.c.account_id)
                                   .where(_TOKENS.c.token_hash == _token_hash(token))).first()
        anonymous = Actor(username="", workstation=workstation)
        if row is None:
            self.trail.record(anonymous, Action.LOGIN_FAILED, object_type="token", outcome=FAILED,
                              detail={"reason": "unknown token", "method": "token"})
            raise TokenError("the login token is not valid: run `wecom-auditor login` to get a new one")
        who = Actor(username=row.username, workstation=workstation, account_id=row.account_id,
                    login_id=f"token:{row.id}")
        now = self._clock()
        problem = None
        if row.revoked_at is not None:
            problem = ("revoked token", f"the login token was revoked at {local_time_text(row.revoked_at)}: run "
                                        f"`wecom-auditor login` to get a new one")
        elif row.expires_at <= now:
            problem = ("expired token", f"the login token expired at {local_time_text(row.expires_at)}: run "
                                        f"`wecom-auditor login` to get a new one")
        elif row.disabled:
            problem = ("account disabled", f"the account '{row.username}' is disabled: ask an administrator to "
                                           f"enable it")
        if problem:
            self.trail.record(who, Action.LOGIN_FAILED, object_type="token", object=str(row.id), outcome=FAILED,
                              detail={"reason": problem[0], "method": "token"})
            raise (AccountDisabledError if problem[0] == "account disabled" else TokenError)(problem[1])
        with self.db.write() as conn:
            conn.execute(update(_TOKENS).where(_TOKENS.c.id == row.id).values(last_used_at=now))
            account = self._row(conn, account_id=row.account_id)
            return self._actor_of(conn, account, workstation, f"token:{row.id}")

    def revoke_token(self, actor: Actor, *, token: str | None = None, token_id: int | None = None) -> bool:
        """Revoke a token, given as the token itself (e.g. at CLI logout) or by id. One's own tokens
        always; another account's with ``accounts.manage``. False if it was already revoked or
        expired; AccountError if there is no such token."""
        if (token is None) == (token_id is None):
            raise ValueError("give either token or token_id")
        q = select(_TOKENS.c.id, _TOKENS.c.account_id, _ACCOUNTS.c.username).join(
            _ACCOUNTS, _ACCOUNTS.c.id == _TOKENS.c.account_id)
        q = q.where(_TOKENS.c.token_hash == _token_hash(token)) if token is not None else q.where(
            _TOKENS.c.id == token_id)
        with self.db.read() as conn:
            row = conn.execute(q).first()
        if row is None:
            raise AccountError("there is no such login token", "没有这个登录令牌")
        if row.account_id != actor.account_id:
            self._manage(actor, Action.TOKEN_REVOKE, f"token {row.id} of {row.username}")
        with self.db.write() as conn:
            self.trail.lock(conn)
            now = self._clock()
            done = conn.execute(update(_TOKENS).where(_TOKENS.c.id == row.id, _TOKENS.c.revoked_at.is_(None),
                                                      _TOKENS.c.expires_at > now)
                                .values(revoked_at=now)).rowcount == 1
            self.trail.record(actor, Action.TOKEN_REVOKE, object_type="token", object=str(row.id),
                              detail={"account": row.username, "was_active": done}, conn=conn)
        return done

    def list_tokens(self, actor: Actor, username: str | None = None) -> list[TokenInfo]:
        """Tokens of the actor's own account, or of ``username`` with ``accounts.manage``; newest
        first, revoked and expired ones included."""
        own = username is None or (actor.account_id is not None and canonical_username(username) == actor.username)
        if not own:
            self._manage(actor, Action.ACCOUNT_LIST, username or "")
        q = (select(_TOKENS, _ACCOUNTS.c.username).join(_ACCOUNTS, _ACCOUNTS.c.id == _TOKENS.c.account_id)
             .order_by(_TOKENS.c.created_at.desc(), _TOKENS.c.id.desc()))
        if own:
            if actor.account_id is None:
                return []
            q = q.where(_TOKENS.c.account_id == actor.account_id)
        else:
            q = q.where(_ACCOUNTS.c.username == canonical_username(username or ""))
        with self.db.read() as conn:
            return [TokenInfo(r.id, r.username, r.label, r.workstation, r.created_at, r.expires_at, r.revoked_at,
                              r.last_used_at) for r in conn.execute(q)]
