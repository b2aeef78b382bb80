"""Accounts, roles, scopes and the tamper-evident audit trail (issue 8). Qt-free.

This is the core that services, the CLI and the GUI use to decide *who may do what* and to record
*who did what*. Everything is in the archive database (tables of migration 0006: ``accounts``,
``login_tokens``, ``audit_log``, ``audit_head``), so a team on one MySQL shares it.

Who is acting — ``app.core.actor.Actor`` (frozen)
-------------------------------------------------
``Actor(username, roles=frozenset(), workstation="", account_id=None, scope=None, login_id="",
must_change_password=False, is_system=False)``

- ``roles``: frozenset of role names; ``scope``: frozenset of staff userids whose sessions the
  actor may see, or ``None`` for everything (an *empty* set means nothing).
- Made by ``AccountService.authenticate`` / ``actor_from_token`` / ``no_login_actor``;
  ``Actor.system("sync-worker")`` for internal jobs (``system:<job>``, administrator role, reads no
  content); ``Actor.local()`` (``os:<user>``, every role, no scope) for tests and code that does not
  log in yet (the CLI logs in: ``app.cli.base.current_actor``).
- A hand-made ``Actor("x")`` has no role and may do nothing.

Roles and permissions — ``app.core.auth.roles``
-----------------------------------------------
Roles ``ADMINISTRATOR``, ``REVIEWER``, ``EXPORTER``, ``AUDITOR`` (``ROLES``). Permissions:

==================  ===========================================  ==================================
permission          lets one                                     granted by
==================  ===========================================  ==================================
``settings.change``  change settings                              administrator
``sync.run``         run a sync                                   administrator
``accounts.manage``  manage accounts                              administrator
``archive.status``   see counts, corps, sync history (no content) every role
``messages.read``    browse sessions, read messages, raw JSON     reviewer
``media.read``       open or save media files                     reviewer
``search.run``       search the archive                           reviewer
``export.create``    create evidence packages                     exporter
``export.verify``    verify evidence packages                     auditor
``audit.read``       read / export / verify the audit trail       auditor
``backup.run``       back up, verify and restore the archive      administrator
``retention.manage`` retention policies, approve deletions        administrator
``hold.manage``      place and release legal holds                administrator
``review.manage``    tag set, review policies, sampling rules     administrator
``review.write``     tag, note, mark reviewed, triage, samples    reviewer
``review.read``      tags, statuses, who reviewed what, alerts    reviewer, auditor
==================  ===========================================  ==================================

An administrator reads no message content unless also a reviewer. Constants: ``SETTINGS_CHANGE``,
``SYNC_RUN``, ``ACCOUNTS_MANAGE``, ``ARCHIVE_STATUS``, ``MESSAGES_READ``, ``MEDIA_READ``,
``SEARCH_RUN``, ``EXPORT_CREATE``, ``EXPORT_VERIFY``, ``AUDIT_READ``.

- ``can(actor, permission) -> bool`` (False for everything while ``actor.must_change_password``).
- ``require(actor, permission)`` raises ``PermissionDenied`` ("account 'bob' may not create
  evidence packages (export.create): that needs the role exporter, and it has reviewer"); it has
  ``.username`` and ``.permission``.
- In a service, prefer ``trail.require(actor, permission, action=Action.X, object_type=..,
  object=..)``: the same check, and a refusal is recorded as a ``denied`` entry before raising.
- ``permissions_of(roles)``, ``roles_granting(permission)``, ``validate_roles(roles)``,
  ``PERMISSIONS`` (descriptions), ``ROLE_DESCRIPTIONS``.

Scopes — ``app.core.auth.scope``
--------------------------------
An account's scope is a ``ScopeSpec(userids=frozenset, departments=frozenset)`` (both empty =
everything); departments are ``contacts.organisation`` of staff rows (exact names). It is resolved
into ``Actor.scope`` at login (``resolve_scope(conn, spec)``); a scope change applies at the next
login or ``AccountService.refresh(actor)``. A session is in scope if any in-scope userid is among
its ``participants``; a message if its session is.

- ``session_condition(db, actor.scope, sessions_table_or_alias)`` and
  ``message_condition(db, actor.scope, messages_table_or_alias)``: WHERE clauses (``true()`` for
  ``None``); one bound parameter whatever the number of userids.
- ``session_keys_in_scope(db, scope, corp_id=None) -> set[(corp_id, session_id)] | None``.
- Building blocks: ``participant_in(db, json_array_column, ids)``, ``value_in(db, column, ids)``
  (``db`` may be a Database or a Connection; both take one parameter for any number of ids).
- ``session_in_scope(scope, participants) -> bool``;
  ``require_session_in_scope(actor, session_id, participants)`` raises ``PermissionDenied``
  (record it with ``trail.refuse(actor, action, error, ...)``).

Accounts — ``AccountService(db, trail=None, *, hasher=None, clock=None)``
--------------------------------------------------------------------------
First run and "no login":

- ``needs_first_admin() -> bool``; ``create_first_admin(username, password, *, workstation="")
  -> AccountInfo`` (AccountError once any account exists).
- ``no_login_allowed() -> bool`` (exactly one account, enabled); ``no_login_actor(workstation)
  -> Actor`` (records a login with method no-login; AccountError otherwise). The setting that
  asks for it lives in settings.

Logging in:

- ``authenticate(username, password, workstation="") -> Actor``. Raises ``AuthenticationError``
  ("wrong user name or password"), ``AccountLockedError`` (``.until_ms``; the 5th consecutive
  wrong password locks the name on that workstation for 15 min, ``LOCKOUT_THRESHOLD``/``LOCKOUT_MS``;
  names of no account alike: table ``login_throttle``), ``AccountDisabledError``.
  Records ``login`` / ``login.failed`` (with the name typed). If ``actor.must_change_password``,
  the caller must run ``change_password`` before anything else (until then ``can`` is False).
- ``logout(actor)``; ``refresh(actor) -> Actor`` (current roles/scope; AccountDisabledError).
- ``change_password(actor, old, new) -> Actor`` (wrong old password counts towards the lockout;
  revokes the account's tokens); ``PasswordPolicyError`` says what to change.

Administration (each needs ``accounts.manage``; refusals recorded):

- ``create_account(actor, username, password, *, roles, scope=None, must_change_password=True)``
- ``reset_password(actor, username, new_password, *, must_change_password=True)`` (unlocks too)
- ``rename(actor, username, new_username)`` (``account.update``, "old -> new")
- ``set_roles(actor, username, roles)``, ``set_scope(actor, username, ScopeSpec)``,
  ``disable(actor, username)``, ``enable(actor, username)``, ``unlock(actor, username)`` (every
  workstation) — all
  return ``AccountInfo``; the last enabled administrator cannot lose the role or be disabled.
- ``recover(username, *, new_password=None, workstation="", os_user="")``: the local recovery (no
  actor: whoever can open the database; recorded as ``os:<os_user>``).
- ``list_accounts(actor) -> list[AccountInfo]``; ``account(actor, username=None)`` (own: always).
- ``AccountInfo``: id, username, roles, scope (ScopeSpec), created_at, disabled, failed_attempts,
  locked_until, last_login_at, password_changed_at, must_change_password; ``.locked(now_ms)``.

CLI tokens: ``issue_token(actor, ttl_seconds=86400, *, label="") -> IssuedToken(id, token,
expires_at)`` (``wat_…``, shown once; not from a token login); ``actor_from_token(token,
workstation="") -> Actor`` (``login_id`` ``token:<id>``; ``TokenError`` for unknown / expired /
revoked, recorded); ``revoke_token(actor, *, token=None, token_id=None) -> bool``;
``list_tokens(actor, username=None) -> list[TokenInfo]``.

User names are canonical (``canonical_username``: NFKC, trimmed, case-folded, ≤ 64 characters,
no spaces or ``:``). A new or renamed account's name must not look like another's (TR39 skeleton),
hold invisible characters or mix scripts (``lookalike.check_new_username``; AccountError). Passwords: ``passwords.PasswordHasher`` — scrypt N=2**17, r=8, p=1, encoded
``scrypt$n=..,r=..,p=..$salt$key`` (parameters can be raised later: weaker hashes are re-hashed
at the next login); policy ``check_password_policy(password, username)``: ≥ 10 characters, not the
user name, not one repeated character.

The audit trail — ``AuditTrail(db, *, clock=None)``
---------------------------------------------------
- ``record(actor, action, *, object_type="", object="", outcome=OK, detail=None, conn=None)
  -> ChainHead``. ``action``: an ``Action`` constant (unknown names are refused — add one there);
  ``object``: text or a sequence of ids (joined with ", "); ``outcome``: ``OK`` / ``DENIED`` /
  ``FAILED``; ``detail``: a JSON-able dict (secret-named keys are redacted). Pass ``conn`` (from
  ``db.write()``) to commit the entry with the change it records — as the transaction's last
  statement (the chain head stays locked to commit). Raises ``AuditTrailError`` when the trail
  cannot be written: the action must then fail.
- ``require(actor, permission, *, action, object_type, object, detail)`` and
  ``refuse(actor, action, error, ...)``: check / record refusals (see Roles).
- ``head() -> ChainHead(seq, hash)`` for printing and for evidence packages' custody record.
- ``verify(actor, *, expected_head=None, progress=None) -> VerifyReport(ok, checked, head,
  problem)`` (needs ``audit.read``; records ``audit.verify``). ``problem`` is a
  ``ChainProblem(seq, kind, message)`` naming the first broken entry: ``kind`` is edited,
  deleted, reordered, inserted or head. ``str(report)`` is a one-line summary; ``report.recorded``
  is False when the trail is so broken that the ``audit.verify`` entry could not be appended (every
  other append then fails with AuditTrailError too). ``check(...)``: the same without permission
  check or record (internal use). Speed: ~40,000 entries/s on SQLite, bounded memory.
- ``lock(conn)``: take the chain head's lock first in a write transaction that also locks rows
  other audited transactions lock (see its docstring; AccountService does).
- ``entries(actor, filters=AuditFilter(...), *, limit=200, cursor=None, newest_first=True)
  -> list[AuditRecord]`` (needs ``audit.read``; the first page records ``audit.view``);
  ``count(actor, filters)``; ``export_csv(actor, path, filters) -> rows`` (records
  ``audit.export`` with the file's SHA-256). ``AuditFilter(account, actions, start_ms, end_ms,
  object_text, outcome)``.
- ``Action``: LOGIN, LOGOUT, LOGIN_FAILED, SESSION_OPEN, MESSAGE_VIEW, MESSAGE_RAW, MEDIA_OPEN,
  MEDIA_SAVE, SEARCH, EXPORT_START, EXPORT, VERIFY, SYNC_RUN, SETTINGS_CHANGE, ACCOUNT_CREATE, ACCOUNT_UPDATE,
  ACCOUNT_ROLES, ACCOUNT_SCOPE, ACCOUNT_DISABLE, ACCOUNT_ENABLE, ACCOUNT_UNLOCK, ACCOUNT_LIST,
  PASSWORD_CHANGE, PASSWORD_RESET, TOKEN_ISSUE, TOKEN_REVOKE, AUDIT_VIEW, AUDIT_EXPORT,
  AUDIT_VERIFY, ARCHIVE_READ (refused reads only), INDEX_REBUILD, DIRECTORY_IMPORT.
- Secrets: ``setting_change_text(name, old, new)`` gives ``"name: old -> new"`` with secret
  settings (``is_secret_name``) as ``[redacted]`` and URL passwords hidden.
- There is no delete or update API and no way to switch the trail off.

Enforcement in the services (each checks permission and scope itself; refusals are recorded)
---------------------------------------------------------------------------------------------
- ``ArchiveService`` (app/core/archive.py): content reads need ``messages.read`` and are limited to
  the actor's scope (out-of-scope sessions/messages read as absent); status reads (corps, media
  status counts, quarantine, sync runs) need ``archive.status``. Audited explicit methods:
  ``open_session(actor, corp_id, session_id) -> SessionRow | None`` (``session.open``; the viewer
  calls it once per opened conversation), ``view_message(actor, *, message_id=|msgid=, corp_id=None,
  raw=False) -> MessageDetail | None`` (``message.view`` / ``message.raw``),
  ``record_raw_view(actor, detail)`` (``message.raw`` for a raw tab opened later).
- ``SearchService``: ``search.run`` + scope (a filter inside the query: pages and counts exact);
  ``query(..., record=True)`` / ``search(..., record=True)`` on the first page of a person's search
  records ``search`` with the query text; ``reindex(actor, progress, cancel, only_new=False)`` needs
  ``sync.run`` (``index.rebuild``).
- ``MediaService``: ``media.read`` + scope for every read; audited ``view(actor, media_id)`` (bytes
  for the in-app viewer, ``media.open``), ``open_copy(actor, media_id, folder) -> Path`` (for the
  desktop's application, ``media.open``), ``save_to(actor, media_id, target) -> Path``
  (``media.save``). ``open``/``read``/``save_copy`` are unrecorded (thumbnails, exports).
- Sync: ``AppContext.make_syncer(corp, ..., actor=None)`` → ``Syncer.run`` needs ``sync.run`` and
  records one ``sync.run`` entry with the outcome (None = ``Actor.system("scheduled-sync")``);
  ``retry_quarantine(actor, db, ...)``; ``import_directory(db, corp_id, path, actor=...)`` needs
  ``settings.change`` (``directory.import``).
- Settings: ``AppContext.change_settings(actor, new_settings=None, *, secrets_changed=(), **fields)``
  needs ``settings.change``; one ``settings.change`` entry per changed setting, then saves.
  ``AppContext.setup_demo(..., actor=None)``: on an archive without accounts creates the ``demo``
  account (every role; password in ``ctx.demo_login``, shown once) and turns ``no_login`` on.
- CLI: ``app.cli.base.current_actor(ctx)`` (env ``WECOM_AUDITOR_TOKEN``, the keyring token, no-login,
  a prompt); PermissionDenied exits 4, other AuthError 1.

Errors (``app.core.auth.errors``): ``AuthError`` ⊃ ``AuthenticationError`` ⊃
(``AccountLockedError``, ``AccountDisabledError``, ``TokenError``); ``PasswordPolicyError``,
``AccountError`` (also ValueError); ``PermissionDenied`` (also PermissionError);
``AuditTrailError``. Every message is one sentence fit for the user and holds no secret.
"""

from __future__ import annotations

from .accounts import (
    DEFAULT_TOKEN_TTL_S,
    LOCKOUT_MS,
    LOCKOUT_THRESHOLD,
    AccountInfo,
    AccountService,
    IssuedToken,
    TokenInfo,
    canonical_username,
)
from .audit import (
    ACTIONS,
    DENIED,
    FAILED,
    GENESIS_HASH,
    OK,
    Action,
    AuditFilter,
    AuditRecord,
    AuditTrail,
    ChainHead,
    ChainProblem,
    VerifyReport,
    is_secret_name,
    setting_change_text,
)
from .errors import (
    AccountDisabledError,
    AccountError,
    AccountLockedError,
    AuditTrailError,
    AuthenticationError,
    AuthError,
    PasswordPolicyError,
    PermissionDenied,
    TokenError,
)
from .passwords import PasswordHasher, ScryptParams, check_password_policy
from .roles import (
    ACCOUNTS_MANAGE,
    ADMINISTRATOR,
    ARCHIVE_STATUS,
    AUDIT_READ,
    AUDITOR,
    BACKUP_RUN,
    EXPORT_CREATE,
    EXPORT_VERIFY,
    EXPORTER,
    HOLD_MANAGE,
    MEDIA_READ,
    MESSAGES_READ,
    PERMISSIONS,
    RETENTION_MANAGE,
    REVIEW_MANAGE,
    REVIEW_READ,
    REVIEW_WRITE,
    REVIEWER,
    ROLES,
    SEARCH_RUN,
    SETTINGS_CHANGE,
    SYNC_RUN,
    can,
    permissions_of,
    require,
    roles_granting,
)
from .scope import (
    ScopeSpec,
    message_condition,
    participant_in,
    require_session_in_scope,
    resolve_scope,
    session_condition,
    session_in_scope,
    session_keys_in_scope,
    value_in,
)

__all__ = [
    "ACCOUNTS_MANAGE", "ACTIONS", "ADMINISTRATOR", "ARCHIVE_STATUS", "AUDITOR", "AUDIT_READ", "BACKUP_RUN",
    "HOLD_MANAGE", "RETENTION_MANAGE", "REVIEW_MANAGE", "REVIEW_READ", "REVIEW_WRITE",
    "DEFAULT_TOKEN_TTL_S", "DENIED", "EXPORTER", "EXPORT_CREATE", "EXPORT_VERIFY", "FAILED", "GENESIS_HASH",
    "LOCKOUT_MS", "LOCKOUT_THRESHOLD", "MEDIA_READ", "MESSAGES_READ", "OK", "PERMISSIONS", "REVIEWER", "ROLES",
    "SEARCH_RUN", "SETTINGS_CHANGE", "SYNC_RUN", "AccountDisabledError", "AccountError", "AccountInfo",
    "AccountLockedError", "AccountService", "Action", "AuditFilter", "AuditRecord", "AuditTrail",
    "AuditTrailError", "AuthError", "AuthenticationError", "ChainHead", "ChainProblem", "IssuedToken",
    "PasswordHasher", "PasswordPolicyError", "PermissionDenied", "ScopeSpec", "ScryptParams", "TokenError",
    "TokenInfo", "VerifyReport", "can", "canonical_username", "check_password_policy", "is_secret_name",
    "message_condition", "participant_in", "permissions_of", "require", "require_session_in_scope", "resolve_scope",
    "roles_granting", "session_condition", "session_in_scope", "session_keys_in_scope", "setting_change_text", "value_in",
]
