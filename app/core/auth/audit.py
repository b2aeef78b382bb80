"""The audit trail: an append-only, hash-chained record of who did what, when, from where.

Every entry (table ``audit_log``) has a gap-free ``seq`` (1, 2, 3, ...), the time in ms, the account
(id and user name; for a failed login the name typed), the action (:class:`Action`), the object
(session id, message ids, query text, package fingerprint, "setting: old -> new" with secrets
redacted), the outcome (ok / denied / failed), the workstation, the login id, a JSON detail, and
two hashes::

    entry_hash = SHA-256(canonical JSON of [HASH_DOMAIN, seq, at, account_id, account, action,
                         object_type, object, outcome, workstation, login_id, detail, prev_hash])
    prev_hash  = entry_hash of entry seq-1 (GENESIS_HASH for entry 1)

(``detail`` is hashed as the stored JSON text; the canonical JSON is ``json.dumps`` with
``ensure_ascii=True, separators=(",", ":")``.) Editing, deleting, reordering or inserting an entry
therefore breaks the chain from that entry on, and :meth:`AuditTrail.verify` names the first
broken entry and why. The chain head — (seq, hash) of the last entry — is kept in the one-row
table ``audit_head``: every append increments it first (a row lock on MySQL/MariaDB; SQLite's
write transaction is exclusive), so concurrent writers on any number of workstations append one
chain and never fork it. The head can be printed and kept outside the app; ``verify`` can be given
such a kept head to detect a trail rewritten wholesale up to it.

There is no delete or update API and no switch to turn the trail off. Secrets never enter it:
:func:`setting_change_text` redacts setting values whose name is secret, and every ``detail`` is
redacted by key name before it is written (:func:`redact_detail`).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.core.actor import Actor
from app.core.store.db import Database, now_ms
from app.core.store.models import AuditEntry, AuditHead

from . import roles
from .errors import AuditTrailError, PermissionDenied

GENESIS_HASH = "0" * 64
HASH_DOMAIN = "wecom-auditor/audit-entry/1"
REDACTED = "[redacted]"

_LOG = AuditEntry.__table__
_HEAD = AuditHead.__table__
_PAGE = 1000
_REORDER_SEARCH = 4096  # how far from its place verify looks for the position an entry was written at


class Action:
    """Action names. Add a constant here for a new kind of entry: ``record`` refuses unknown names,
    so that the trail's vocabulary stays one list an auditor can filter by."""

    LOGIN = "login"
    LOGOUT = "logout"
    LOGIN_FAILED = "login.failed"
    SESSION_OPEN = "session.open"
    MESSAGE_VIEW = "message.view"
    MESSAGE_RAW = "message.raw"
    MEDIA_OPEN = "media.open"
    MEDIA_SAVE = "media.save"
    SEARCH = "search"
    EXPORT = "export"
    EXPORT_START = "export.start"  # before anything is written: a killed export stays visible
    VERIFY = "verify"
    SYNC_RUN = "sync.run"
    SETTINGS_CHANGE = "settings.change"
    ACCOUNT_CREATE = "account.create"
    ACCOUNT_UPDATE = "account.update"
    ACCOUNT_ROLES = "account.roles"
    ACCOUNT_SCOPE = "account.scope"
    ACCOUNT_DISABLE = "account.disable"
    ACCOUNT_ENABLE = "account.enable"
    ACCOUNT_UNLOCK = "account.unlock"
    ACCOUNT_LIST = "account.list"
    PASSWORD_CHANGE = "password.change"
    PASSWORD_RESET = "password.reset"
    TOKEN_ISSUE = "token.issue"
    TOKEN_REVOKE = "token.revoke"
    AUDIT_VIEW = "audit.view"
    AUDIT_EXPORT = "audit.export"
    AUDIT_VERIFY = "audit.verify"
    # A read refused before it reached one of the actions above (a session list, counts, a page of
    # messages, the sync history): recorded with outcome "denied" only.
    ARCHIVE_READ = "archive.read"
    INDEX_REBUILD = "index.rebuild"  # the search index rebuilt or caught up by hand (`reindex`)
    DIRECTORY_IMPORT = "directory.import"  # display names and departments imported (they decide scopes)
    DIRECTORY_SYNC = "directory.sync"  # names, departments, groups, permit list, consent from WeCom's API
    BACKUP = "backup"  # a backup of the archive made (app/core/backup), with its manifest's fingerprint
    BACKUP_VERIFY = "backup.verify"
    RESTORE = "restore"  # recorded in the restored archive, after its verification
    RETENTION_POLICY = "retention.policy"  # a retention policy created, changed or disabled
    RETENTION_PLAN = "retention.plan"  # a deletion run proposed: what is due, counts and a digest
    RETENTION_APPROVE = "retention.approve"
    RETENTION_DELETE = "retention.delete"  # one batch deleted under policy: counts and the hashes' digest
    HOLD_CREATE = "hold.create"
    HOLD_RELEASE = "hold.release"
    API_READ = "api.read"  # a read through the server's REST API (app/server) by an account or a v1 caller
    # The review workflow (app/core/review): every decision, with what it concerned and who made it.
    REVIEW_TAG = "review.tag"  # tags added to or removed from messages or whole sessions
    REVIEW_STATUS = "review.status"  # a review status set, or a session marked reviewed up to a message
    REVIEW_NOTE = "review.note"  # a note written, edited (a new version) or withdrawn
    REVIEW_TAGSET = "review.tagset"  # a tag of the archive's tag set added, changed or disabled
    REVIEW_SEARCH = "review.search"  # a saved search created, changed, shared or deleted
    REVIEW_POLICY = "review.policy"  # a policy created, changed, enabled or disabled
    REVIEW_POLICY_RUN = "review.policy_run"  # policies evaluated: the alerts raised or given new hits
    REVIEW_ALERT = "review.alert"  # an alert assigned, dismissed (with the reason), escalated or reopened
    REVIEW_SAMPLING = "review.sampling"  # a sampling rule created or disabled
    REVIEW_SAMPLE = "review.sample"  # a sample drawn: rule, week, seed, the candidates' digest
    REVIEW_READ = "review.read"  # a read of review work refused (outcome denied only)


ACTIONS: frozenset[str] = frozenset(v for k, v in vars(Action).items() if k.isupper())

OK, DENIED, FAILED = "ok", "denied", "failed"
OUTCOMES = (OK, DENIED, FAILED)

# Column widths (models.AuditEntry): values are cut to them *before* hashing, so that the hash
# covers exactly what is stored.
_WIDTH = {"account": 191, "action": 64, "object_type": 64, "outcome": 16, "workstation": 255, "login_id": 64}

# ------------------------------------------------------------------ secrets never enter the trail

SECRET_SETTING_NAMES = frozenset({
    "corp_secret", "secret", "private_key", "private_keys", "proxy_password", "database_password",
    "storage_secret", "storage_secret_key", "access_key_secret", "secret_key", "secret_id",
    "signing_key", "export_signing_key", "password", "token", "password_hash", "token_hash",
})
# A name is secret if one of its words is one of these, or it contains one of the phrases, unless it
# names something about the secret that is not the secret (its id, time, count, source...).
_SECRET_WORDS = frozenset({"secret", "secrets", "password", "passwords", "passwd", "pwd", "passphrase", "token",
                           "credential", "credentials", "privkey", "apikey"})
_SECRET_PHRASES = ("private_key", "signing_key", "api_key", "access_key", "secret_key")
_NOT_SECRET_SUFFIXES = ("_id", "_ids", "_at", "_count", "_source", "_version", "_versions", "_kind",
                        "_changed_at", "_expires_at", "_set", "_present")
_URL_PASSWORD = re.compile(r"(?P<pre>[A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:)[^/@\s]*(?P<post>@)")


def is_secret_name(name: str) -> bool:
    """True if a setting or detail key of this name holds a secret (its value is never recorded):
    e.g. ``corp_secret``, ``proxy_password``, ``export_signing_key``; not ``key_versions`` or
    ``token_id``."""
    n = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if n in SECRET_SETTING_NAMES:
        return True
    if n.endswith(_NOT_SECRET_SUFFIXES):
        return False
    return bool(_SECRET_WORDS.intersection(n.split("_"))) or any(p in n for p in _SECRET_PHRASES)


def _hide_url_password(text: str) -> str:
    return _URL_PASSWORD.sub(r"\g<pre>***\g<post>", text)


def redact_value(name: str, value: Any) -> str:
    """``value`` as text fit for the trail: ``[redacted]`` for a secret name, a URL with its
    password hidden, else ``str(value)`` (JSON for lists and dicts)."""
    if is_secret_name(name):
        return REDACTED
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return _hide_url_password(_clean_text(text))


def setting_change_text(name: str, old: Any, new: Any) -> str:
    """The object text of a settings change: ``"name: old -> new"``, values redacted (secret
    settings read ``"corp_secret: [redacted] -> [redacted]"``)."""
    return f"{name}: {redact_value(name, old)} -> {redact_value(name, new)}"


def _clean_text(value: Any) -> str:
    # Lone surrogates (possible in chat JSON) cannot be stored as UTF-8: replace them.
    text = value if isinstance(value, str) else str(value)
    return text.encode("utf-8", "replace").decode("utf-8")


def redact_detail(detail: Any, key: str = "") -> Any:
    """A JSON-able copy of ``detail`` with the value of every secret-named key redacted, URLs'
    passwords hidden and unencodable characters replaced."""
    if key and is_secret_name(key) and not (detail is None or isinstance(detail, bool)):
        return REDACTED  # (a flag such as must_change_password holds no secret)
    if isinstance(detail, Mapping):
        return {_clean_text(k): redact_detail(v, str(k)) for k, v in detail.items()}
    if isinstance(detail, list | tuple | set | frozenset):
        items = sorted(detail, key=str) if isinstance(detail, set | frozenset) else detail
        return [redact_detail(v, key) for v in items]
    if detail is None or isinstance(detail, bool | int | float):
        return detail
    return _hide_url_password(_clean_text(detail))


def object_text(obj: str | Iterable[Any]) -> str:
    """The ``object`` column for a value: text as is, a sequence of ids joined with ``", "``."""
    if isinstance(obj, str):
        return _clean_text(obj)
    return _clean_text(", ".join(str(o) for o in obj))


# ------------------------------------------------------------------ hashing

def entry_hash(*, seq: int, at: int, account_id: int | None, account: str, action: str, object_type: str,
               object: str, outcome: str, workstation: str, login_id: str, detail: str, prev_hash: str) -> str:
    """The SHA-256 (hex) of one entry's canonical encoding (see the module docstring)."""
    doc = [HASH_DOMAIN, seq, at, account_id, account, action, object_type, object, outcome, workstation,
           login_id, detail, prev_hash]
    return hashlib.sha256(json.dumps(doc, ensure_ascii=True, separators=(",", ":")).encode("ascii")).hexdigest()


def _row_hash(r, seq: int | None = None) -> str:
    return entry_hash(seq=r.seq if seq is None else seq, at=r.at, account_id=r.account_id, account=r.account,
                      action=r.action, object_type=r.object_type, object=r.object, outcome=r.outcome,
                      workstation=r.workstation, login_id=r.login_id, detail=r.detail, prev_hash=r.prev_hash)


# ------------------------------------------------------------------ rows, filters, reports

@dataclass(frozen=True)
class ChainHead:
    """The last entry's seq and hash (seq 0 and GENESIS_HASH for an empty trail)."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash}"


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: int
    account_id: int | None
    account: str
    action: str
    object_type: str
    object: str
    outcome: str
    workstation: str
    login_id: str
    detail: dict
    prev_hash: str
    entry_hash: str


def _ms_iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to show: all criteria AND together. ``account``: exact user name;
    ``actions``: any of these; ``start_ms`` <= at < ``end_ms``; ``object_text``: a substring of
    the object (case-insensitive for ASCII letters); ``outcome``: ok / denied / failed."""

    account: str | None = None
    actions: frozenset[str] = frozenset()
    start_ms: int | None = None
    end_ms: int | None = None
    object_text: str | None = None
    outcome: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "actions", frozenset(self.actions))

    def conditions(self) -> list:
        out = []
        if self.account:
            out.append(_LOG.c.account == self.account)
        if self.actions:
            out.append(_LOG.c.action.in_(sorted(self.actions)))
        if self.start_ms is not None:
            out.append(_LOG.c.at >= self.start_ms)
        if self.end_ms is not None:
            out.append(_LOG.c.at < self.end_ms)
        if self.object_text:
            out.append(func.instr(func.lower(_LOG.c.object), self.object_text.lower()) > 0)
        if self.outcome:
            out.append(_LOG.c.outcome == self.outcome)
        return out

    def as_detail(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if v not in (None, frozenset(), "")}
        if "actions" in d:
            d["actions"] = sorted(d["actions"])
        return d

    def describe(self) -> str:
        """E.g. ``account=alice; action=login; from 2026-01-01T00:00:00.000Z`` (``all entries`` if empty)."""
        parts = []
        if self.account:
            parts.append(f"account={self.account}")
        if self.actions:
            parts.append("action=" + ",".join(sorted(self.actions)))
        if self.start_ms is not None:
            parts.append(f"from {_ms_iso(self.start_ms)}")
        if self.end_ms is not None:
            parts.append(f"before {_ms_iso(self.end_ms)}")
        if self.object_text:
            parts.append(f"object contains {self.object_text!r}")
        if self.outcome:
            parts.append(f"outcome={self.outcome}")
        return "; ".join(parts) or "all entries"


@dataclass(frozen=True)
class ChainProblem:
    """The first broken entry: its ``seq``, what happened (``kind``: edited / deleted / reordered /
    inserted / head) and a sentence saying why verify thinks so."""

    seq: int
    kind: str
    message: str


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    checked: int  # entries whose hashes were checked
    head: ChainHead | None  # the recorded chain head (None if its row is missing)
    problem: ChainProblem | None = None
    recorded: bool = True  # False if the audit.verify entry itself could not be appended

    def __str__(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.checked} entries, chain head {self.head}"
        assert self.problem is not None
        return f"audit trail BROKEN at entry #{self.problem.seq} ({self.problem.kind}): {self.problem.message}"


@dataclass
class _Walk:
    """Verification state (the last two hashes seen, to tell an inserted entry from an edited one)."""

    expected_seq: int = 1
    prev_hash: str = GENESIS_HASH
    prevprev_hash: str | None = None
    checked: int = 0
    problem: ChainProblem | None = None


# ------------------------------------------------------------------ the trail

class AuditTrail:
    """Appends to, reads and verifies the audit trail of one archive database.

    ``clock`` (ms since the epoch) is injectable for tests. All methods are thread-safe (each
    opens its own connection or uses the caller's)."""

    def __init__(self, db: Database, *, clock: Callable[[], int] | None = None):
        self.db = db
        self._clock = clock or now_ms

    # -------------------------------------------------------------- writing

    def record(self, actor: Actor, action: str, *, object_type: str = "", object: str | Iterable[Any] = "",
               outcome: str = OK, detail: Mapping[str, Any] | None = None, conn=None) -> ChainHead:
        """Append one entry; returns the new chain head (its seq and hash).

        With ``conn`` (a connection inside ``db.write()``), the entry joins that transaction, so it
        commits or rolls back with the change it records — call it as the last statement, since the
        chain head stays locked until commit. Without, it commits in its own transaction. For a
        refusal or a failure, record with ``conn=None`` (the caller's transaction is rolled back).
        Raises ValueError for an unknown action or outcome, :class:`AuditTrailError` if the trail
        cannot be appended to (the action must then fail: the app fails closed)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}: add it to app.core.auth.audit.Action")
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown audit outcome {outcome!r} (use {', '.join(OUTCOMES)})")
        values = {
            "account_id": actor.account_id,
            "account": _clean_text(actor.username)[:_WIDTH["account"]],
            "action": action,
            "object_type": _clean_text(object_type)[:_WIDTH["object_type"]],
            "object": object_text(object),
            "outcome": outcome,
            "workstation": _clean_text(actor.workstation)[:_WIDTH["workstation"]],
            "login_id": _clean_text(actor.login_id)[:_WIDTH["login_id"]],
            "detail": json.dumps(redact_detail(dict(detail or {})), ensure_ascii=False, sort_keys=True,
                                 separators=(",", ":")),
        }
        if conn is not None:
            return self._append(conn, values)
        with self.db.write() as own:
            return self._append(own, values)

    def _append(self, conn, values: dict) -> ChainHead:
        # Increment first: this takes the row lock (MySQL) / the write lock (SQLite) before the head
        # is read, so no two transactions can chain to the same predecessor.
        res = conn.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + 1))
        if res.rowcount != 1:
            raise AuditTrailError("the audit trail's chain head (table audit_head) is missing: the database was "
                                  "changed outside the app; run `wecom-auditor audit verify` and restore it from "
                                  "a backup")
        seq, prev = conn.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)).one()
        at = self._clock()
        h = entry_hash(seq=seq, at=at, prev_hash=prev, **values)
        try:
            conn.execute(insert(_LOG).values(seq=seq, at=at, prev_hash=prev, entry_hash=h, **values))
        except IntegrityError:
            raise AuditTrailError(f"audit entry #{seq} already exists although the chain head says #{seq - 1} is "
                                  f"the last: the trail was changed outside the app; run "
                                  f"`wecom-auditor audit verify`") from None
        conn.execute(update(_HEAD).where(_HEAD.c.id == 1).values(hash=h))
        return ChainHead(seq, h)

    def lock(self, conn) -> None:
        """Take the chain head's lock in the caller's write transaction now.

        Lock order on MySQL: a transaction that ``record``s last locks its own rows, then the head.
        A transaction that locks rows *other audited transactions may lock after the head* (the
        accounts service: account and token rows) must take the head first, here — then no two
        transactions wait on each other in a cycle. It also serialises checks that must not race
        ("is this the last administrator?"). On SQLite, ``db.write()`` already holds the lock."""
        q = select(_HEAD.c.seq).where(_HEAD.c.id == 1)
        if conn.dialect.name != "sqlite":  # SQLite: db.write() already holds the database's write lock
            q = q.with_for_update()
        conn.execute(q).first()

    def require(self, actor: Actor, permission: str, *, action: str, object_type: str = "",
                object: str | Iterable[Any] = "", detail: Mapping[str, Any] | None = None) -> None:
        """:func:`roles.require`, and on refusal record a ``denied`` entry for ``action`` before
        raising :class:`PermissionDenied`."""
        try:
            roles.require(actor, permission)
        except PermissionDenied as exc:
            self.refuse(actor, action, exc, object_type=object_type, object=object, detail=detail)

    def refuse(self, actor: Actor, action: str, error: PermissionDenied, *, object_type: str = "",
               object: str | Iterable[Any] = "", detail: Mapping[str, Any] | None = None) -> NoReturn:
        """Record ``error`` (e.g. a scope refusal) as a ``denied`` entry for ``action``, then raise it."""
        self.record(actor, action, object_type=object_type, object=object, outcome=DENIED,
                    detail={**(detail or {}), "permission": error.permission, "reason": str(error)})
        raise error

    # -------------------------------------------------------------- reading

    def head(self) -> ChainHead:
        """The recorded chain head, for printing and for evidence packages' custody records.
        :class:`AuditTrailError` if its row is missing."""
        with self.db.read() as conn:
            row = conn.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)).first()
        if row is None:
            raise AuditTrailError("the audit trail's chain head (table audit_head) is missing: the database was "
                                  "changed outside the app; run `wecom-auditor audit verify`")
        return ChainHead(row.seq, row.hash)

    def entries(self, actor: Actor, filters: AuditFilter | None = None, *, limit: int = 200,
                cursor: int | None = None, newest_first: bool = True) -> list[AuditRecord]:
        """One page of entries matching ``filters``; needs ``audit.read``.

        Paging is by seq: pass the seq of the last row of the previous page as ``cursor``. The
        first page (``cursor`` None) records an ``audit.view`` entry naming the filter; later pages
        of the same listing do not. PermissionDenied (recorded) without ``audit.read``."""
        filters = filters or AuditFilter()
        self.require(actor, roles.AUDIT_READ, action=Action.AUDIT_VIEW, object_type="audit",
                     object=filters.describe(), detail={"filter": filters.as_detail()})
        q = select(_LOG).where(*filters.conditions())
        if cursor is not None:
            q = q.where(_LOG.c.seq < cursor if newest_first else _LOG.c.seq > cursor)
        q = q.order_by(_LOG.c.seq.desc() if newest_first else _LOG.c.seq).limit(max(1, min(limit, 10_000)))
        with self.db.read() as conn:
            rows = [_record(r) for r in conn.execute(q)]
        if cursor is None:
            self.record(actor, Action.AUDIT_VIEW, object_type="audit", object=filters.describe(),
                        detail={"filter": filters.as_detail(), "rows": len(rows)})
        return rows

    def count(self, actor: Actor, filters: AuditFilter | None = None) -> int:
        """How many entries match ``filters`` (needs ``audit.read``; not itself recorded)."""
        filters = filters or AuditFilter()
        self.require(actor, roles.AUDIT_READ, action=Action.AUDIT_VIEW, object_type="audit",
                     object=filters.describe())
        with self.db.read() as conn:
            return conn.execute(select(func.count()).select_from(_LOG).where(*filters.conditions())).scalar_one()

    def _iter(self, conn, filters: AuditFilter | None = None) -> Iterator:
        """Every matching row in seq order, read in pages (bounded memory)."""
        conditions = filters.conditions() if filters else []
        last = 0
        while True:
            rows = conn.execute(select(_LOG).where(_LOG.c.seq > last, *conditions)
                                .order_by(_LOG.c.seq).limit(_PAGE)).all()
            yield from rows
            if len(rows) < _PAGE:
                return
            last = rows[-1].seq

    def export_csv(self, actor: Actor, path: str | os.PathLike, filters: AuditFilter | None = None) -> int:
        """Write the matching entries, oldest first, to a CSV file (UTF-8 with BOM, so that Excel
        reads Chinese); returns the number of rows. Needs ``audit.read``; records ``audit.export``
        with the path, filter, row count and the file's SHA-256.

        The file is written beside ``path`` and renamed into place, so a failure never leaves half
        a file. Cells a spreadsheet would run as a formula (starting with = + - @ or a tab/CR)
        get a leading apostrophe (OWASP's CSV-injection advice): a user name typed at a failed
        login is attacker-controlled. ``audit verify`` checks the database, not the CSV."""
        filters = filters or AuditFilter()
        target = Path(path)
        self.require(actor, roles.AUDIT_READ, action=Action.AUDIT_EXPORT, object_type="file", object=str(target),
                     detail={"filter": filters.as_detail()})
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".audit-", suffix=".csv.part")
        rows = 0
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(CSV_COLUMNS)
                with self.db.read() as conn:
                    for r in self._iter(conn, filters):
                        writer.writerow(_csv_row(r))
                        rows += 1
            with open(tmp, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.record(actor, Action.AUDIT_EXPORT, object_type="file", object=str(target),
                    detail={"filter": filters.as_detail(), "rows": rows, "sha256": digest.hexdigest()})
        return rows

    # -------------------------------------------------------------- verifying

    def verify(self, actor: Actor, *, expected_head: ChainHead | None = None,
               progress: Callable[[int, int], None] | None = None) -> VerifyReport:
        """Check the whole chain; needs ``audit.read``. Records ``audit.verify`` (outcome ok or
        failed, with the report) after checking.

        ``expected_head``: a head printed earlier and kept outside the app; the entry at its seq
        must still have its hash. ``progress(checked, total)`` is called every 1,000 entries.
        Memory stays bounded whatever the trail's length."""
        self.require(actor, roles.AUDIT_READ, action=Action.AUDIT_VERIFY, object_type="audit",
                     object="audit trail")
        report = self.check(expected_head=expected_head, progress=progress)
        detail: dict[str, Any] = {"checked": report.checked, "head": str(report.head) if report.head else None}
        if expected_head is not None:
            detail["expected_head"] = str(expected_head)
        if report.problem:
            detail["problem"] = asdict(report.problem)
        try:
            self.record(actor, Action.AUDIT_VERIFY, object_type="audit", object="audit trail",
                        outcome=OK if report.ok else FAILED, detail=detail)
        except AuditTrailError:
            # A trail broken so that nothing can be appended (e.g. an entry beyond its head) must
            # still be reportable: that is what verify is for.
            return dataclasses.replace(report, recorded=False)
        return report

    def check(self, *, expected_head: ChainHead | None = None,
              progress: Callable[[int, int], None] | None = None) -> VerifyReport:
        """:meth:`verify` without the permission check and without recording — for internal use
        (evidence packages, tests). Prefer :meth:`verify` wherever a person asked for it."""
        w = _Walk()
        with self.db.read() as conn:
            head_row = conn.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)).first()
            total = head_row.seq if head_row else 0
            for r in self._iter(conn):
                if not self._step(conn, w, r, expected_head):
                    break
                if progress and w.checked % _PAGE == 0:
                    progress(w.checked, total)
            while w.problem is None:
                # The head is read after the entries: an append commits its entry and the head
                # together, so a head beyond the last entry seen means entries committed while we
                # read (MySQL reads see new commits) or entries deleted. Follow them.
                head_row = conn.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)).first()
                if head_row is None or head_row.seq < w.expected_seq:
                    break
                rows = conn.execute(select(_LOG).where(_LOG.c.seq >= w.expected_seq)
                                    .order_by(_LOG.c.seq).limit(_PAGE)).all()
                if not rows:
                    break
                for r in rows:
                    if not self._step(conn, w, r, expected_head):
                        break
            head = ChainHead(head_row.seq, head_row.hash) if head_row else None
            if w.problem is None:
                w.problem = self._check_head(head, w, expected_head)
        if progress:
            progress(w.checked, total)
        return VerifyReport(w.problem is None, w.checked, head, w.problem)

    def _step(self, conn, w: _Walk, r, expected_head: ChainHead | None) -> bool:
        """Check one entry; False (and ``w.problem`` set) at the first break."""
        s = w.expected_seq
        if r.seq != s:
            last = r.seq - 1
            what = f"entry #{s} is" if last == s else f"entries #{s} to #{last} are"
            w.problem = ChainProblem(s, "deleted", f"{what} missing (deleted): entry #{r.seq} follows #{s - 1}")
            return False
        linked = r.prev_hash == w.prev_hash
        intact = _row_hash(r) == r.entry_hash
        if not (linked and intact):
            w.problem = self._diagnose(conn, w, r, linked, intact)
            return False
        if expected_head is not None and r.seq == expected_head.seq and r.entry_hash != expected_head.hash:
            w.problem = ChainProblem(s, "edited", f"entry #{s} does not have the hash of the chain head kept "
                                                  f"earlier ({expected_head.hash}): the trail up to it was "
                                                  f"rewritten")
            return False
        w.checked += 1
        w.prevprev_hash, w.prev_hash = w.prev_hash, r.entry_hash
        w.expected_seq = s + 1
        return True

    def _diagnose(self, conn, w: _Walk, r, linked: bool, intact: bool) -> ChainProblem:
        s = r.seq
        if not intact:
            written_as = _written_as(r)
            if written_as is not None and written_as != s:
                if written_as < s:
                    return ChainProblem(s - 1, "inserted", f"entry #{s - 1} is not part of the chain: it was "
                                                          f"inserted, and the entries after it were renumbered "
                                                          f"(#{s} was written as #{written_as})")
                predecessor = conn.execute(select(_LOG.c.seq).where(_LOG.c.entry_hash == r.prev_hash)
                                           .limit(1)).scalar()
                if predecessor is None:
                    gone = f"#{s}" if written_as - 1 == s else f"#{s} to #{written_as - 1}"
                    return ChainProblem(s, "deleted", f"the entries written as {gone} are missing (deleted), and "
                                                      f"the entries after them were renumbered (#{s} was written "
                                                      f"as #{written_as})")
                return ChainProblem(s, "reordered", f"entry #{s} was written as #{written_as} (it follows the "
                                                    f"entry now at #{predecessor}): the entries were reordered")
            if linked:
                return ChainProblem(s, "edited", f"entry #{s} was changed after it was written: its content no "
                                                 f"longer matches its hash")
            return ChainProblem(s, "edited", f"entry #{s} does not match its hash and is not chained to "
                                             f"#{s - 1}: it was changed, replaced or inserted")
        # Intact but not linked: the predecessor changed and its hash was recomputed, or was inserted.
        if r.prev_hash == w.prevprev_hash:
            return ChainProblem(s - 1, "inserted", f"entry #{s - 1} is not part of the chain: #{s} is chained "
                                                   f"directly to #{s - 2} (an entry was inserted or replaced)")
        return ChainProblem(s - 1, "edited", f"entry #{s - 1} was changed and its hash recomputed: #{s} was "
                                             f"chained to a different hash")

    def _check_head(self, head: ChainHead | None, w: _Walk, expected_head: ChainHead | None
                    ) -> ChainProblem | None:
        last = w.expected_seq - 1
        if head is None:
            return ChainProblem(last + 1, "head", "the chain head record (table audit_head) is missing: the "
                                                  "database was changed outside the app")
        if head.seq > last:
            what = f"entry #{last + 1} is" if head.seq == last + 1 else f"entries #{last + 1} to #{head.seq} are"
            return ChainProblem(last + 1, "deleted", f"{what} missing (deleted): the chain head says the trail "
                                                     f"ends at #{head.seq}, the last entry is #{last}")
        if head.seq < last:
            return ChainProblem(head.seq + 1, "inserted", f"entry #{head.seq + 1} and later are not covered by "
                                                          f"the chain head (#{head.seq}): they were added outside "
                                                          f"the app")
        if head.hash != w.prev_hash:
            return ChainProblem(last, "edited", f"entry #{last} does not have the hash the chain head records: "
                                                f"it was changed and its hash recomputed")
        if expected_head is not None and expected_head.seq > last:
            return ChainProblem(last + 1, "deleted", f"the chain head kept earlier is #{expected_head.seq}, but "
                                                     f"the trail ends at #{last}: entries were deleted")
        return None


def _written_as(r) -> int | None:
    """The seq an entry's hash was made for, if it is near its place (an entry moved by a reorder,
    an insertion or a deletion with renumbering); None if the content itself was changed."""
    for delta in range(1, _REORDER_SEARCH + 1):
        for candidate in (r.seq - delta, r.seq + delta):
            if candidate >= 1 and _row_hash(r, candidate) == r.entry_hash:
                return candidate
    return None


def _record(r) -> AuditRecord:
    try:
        detail = json.loads(r.detail or "{}")
    except ValueError:
        detail = {"unreadable": r.detail}
    return AuditRecord(r.seq, r.at, r.account_id, r.account, r.action, r.object_type, r.object, r.outcome,
                       r.workstation, r.login_id, detail if isinstance(detail, dict) else {"value": detail},
                       r.prev_hash, r.entry_hash)


CSV_COLUMNS = ("seq", "time_utc", "at_ms", "account_id", "account", "action", "object_type", "object", "outcome",
               "workstation", "login_id", "detail", "prev_hash", "entry_hash")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_row(r) -> Sequence[Any]:
    return (r.seq, _ms_iso(r.at), r.at, "" if r.account_id is None else r.account_id, _cell(r.account), r.action,
            _cell(r.object_type), _cell(r.object), r.outcome, _cell(r.workstation), _cell(r.login_id),
            _cell(r.detail), r.prev_hash, r.entry_hash)


def ms_iso(ms: int) -> str:
    """``ms`` since the epoch as ISO-8601 UTC with milliseconds (``2026-01-02T03:04:05.006Z``)."""
    return _ms_iso(ms)


__all__ = [
    "ACTIONS", "CSV_COLUMNS", "DENIED", "FAILED", "GENESIS_HASH", "OK", "OUTCOMES", "REDACTED", "Action",
    "AuditFilter", "AuditRecord", "AuditTrail", "ChainHead", "ChainProblem", "VerifyReport", "entry_hash",
    "is_secret_name", "ms_iso", "object_text", "redact_detail", "redact_value", "setting_change_text",
]
