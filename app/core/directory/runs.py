"""The record of directory syncs and imports (``directory_runs``): who, when, the outcome, counts, the
errcodes every API answered and the problems as sentences. Read by the report views and by exports
(the names' provenance in the custody record)."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update

from app.core.actor import Actor
from app.core.store.db import Database, now_ms
from app.core.store.models import DirectoryRun

RUNNING, SUCCEEDED, PARTIAL, FAILED, CANCELLED = "running", "succeeded", "partial", "failed", "cancelled"
STALE_MS = 2 * 3600 * 1000  # a run "running" for longer than this was ended by a crash


@dataclass
class Problem:
    """One kind of refusal in a run: an API, its errcode (None: no answer / not WeCom's JSON), how
    often, the sentence in both languages and the first ids it concerned."""

    api: str
    errcode: int | None
    en: str
    zh: str
    count: int = 1
    ids: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"api": self.api, "errcode": self.errcode, "count": self.count, "en": self.en, "zh": self.zh,
                "ids": self.ids}


@dataclass(frozen=True)
class RunRecord:
    id: int
    corp_id: int
    started_at: int
    ended_at: int | None
    outcome: str
    source: str
    actor: str
    workstation: str
    counts: dict
    calls: dict
    problems: list[dict]
    error: str | None


def _workstation(actor: Actor) -> str:
    if actor.workstation:
        return actor.workstation
    try:
        return socket.gethostname()
    except OSError:
        return ""


def record_run(conn, db: Database, corp_id: int, *, source: str, actor: Actor, started_at: int, outcome: str,
               counts: dict, calls: dict, problems: list, error: str | None = None, run_id: int | None = None) -> int:
    """Write (or, with ``run_id``, finish) a run in the caller's transaction; returns its id."""
    values = {"ended_at": None if outcome == RUNNING else now_ms(), "outcome": outcome,
              "counts": json.dumps(counts, ensure_ascii=False), "calls": json.dumps(calls, ensure_ascii=False),
              "problems": json.dumps([p.to_dict() if isinstance(p, Problem) else p for p in problems],
                                     ensure_ascii=False),
              "error": error}
    if run_id is not None:
        conn.execute(update(DirectoryRun).where(DirectoryRun.id == run_id).values(**values))
        return run_id
    run_id = db.ids.next_id()
    conn.execute(insert(DirectoryRun).values(id=run_id, corp_id=corp_id, started_at=started_at, source=source,
                                             actor=actor.username[:191], workstation=_workstation(actor)[:255],
                                             **values))
    return run_id


def running_since(db: Database, corp_id: int) -> int | None:
    """When the directory sync of ``corp_id`` still running started (ms), or None."""
    with db.read() as conn:
        started = conn.execute(select(DirectoryRun.started_at).where(
            DirectoryRun.corp_id == corp_id, DirectoryRun.outcome == RUNNING,
            DirectoryRun.started_at > now_ms() - STALE_MS).order_by(DirectoryRun.started_at.desc()).limit(1)).scalar()
    return started


def directory_runs(db: Database, corp_id: int | None = None, *, limit: int = 20) -> list[RunRecord]:
    """Directory syncs and imports, newest first."""
    q = (select(*DirectoryRun.__table__.c).order_by(DirectoryRun.started_at.desc(), DirectoryRun.id.desc())
         .limit(limit))
    if corp_id is not None:
        q = q.where(DirectoryRun.corp_id == corp_id)
    with db.read() as conn:
        rows = conn.execute(q).all()
    out = []
    for r in rows:
        out.append(RunRecord(r.id, r.corp_id, r.started_at, r.ended_at, r.outcome, r.source, r.actor, r.workstation,
                             _json(r.counts, {}), _json(r.calls, {}), _json(r.problems, []), r.error))
    return out


def _json(text: str | None, default):
    try:
        value = json.loads(text or "")
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default
