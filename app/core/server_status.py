"""What the headless servers (``wecom-auditor serve``) say about themselves, Qt-free: each instance's
heartbeat in ``server_instances`` (shared database, so every instance and the window see every
other), the last syncs and the queue, the health check and the Prometheus metrics. No message
content is ever part of it."""

from __future__ import annotations

import os
import socket
import time
from typing import TYPE_CHECKING, TypedDict

from sqlalchemy import func, insert, select, text, update

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import Action
from app.core.retention.tables import server_instances as SI
from app.core.store.db import now_ms
from app.core.store.models import Corp, Media, Message, Session, SyncRun

if TYPE_CHECKING:
    from app.core.context import AppContext
    from app.core.store.db import Database

HEARTBEAT_S = 10.0
STALE_MS = 60_000  # an instance not heard from for this long is reported as gone


class InstanceInfo(TypedDict):
    """One server instance's heartbeat row (times in ms since the epoch)."""

    id: str
    host: str
    pid: int
    address: str
    version: str
    started_at: int
    last_seen_at: int
    alive: bool


class LastSync(TypedDict):
    started_at: int
    ended_at: int | None
    outcome: str
    workstation: str
    stored: int
    last_seq: int
    error: str | None


class ServerStatus(TypedDict):
    servers: list[InstanceInfo]
    last_syncs: dict[str, LastSync]  # by corpid
    queue: dict[str, int] | None  # jobs per state; None when the queue does not answer


class Health(TypedDict):
    status: str  # "ok" | "failing"
    checks: dict[str, str]  # "database", "queue": "ok" or "failing (why)"
    instance: str
    instances_alive: int


def register(db: Database, instance_id: str, address: str, version: str) -> None:
    with db.write() as conn:
        conn.execute(insert(SI).values(id=instance_id, host=socket.gethostname()[:255], pid=os.getpid(),
                                       address=address[:255], version=version[:64], started_at=now_ms(),
                                       last_seen_at=now_ms()))


def beat(db: Database, instance_id: str, *, stopped: bool = False) -> None:
    values: dict[str, int] = {"last_seen_at": now_ms()}
    if stopped:
        values["stopped_at"] = now_ms()
    with db.write() as conn:
        conn.execute(update(SI).where(SI.c.id == instance_id).values(**values))


def instances(db: Database, *, include_gone: bool = False) -> list[InstanceInfo]:
    now = now_ms()
    with db.read() as conn:
        rows = conn.execute(select(SI).order_by(SI.c.started_at.desc()).limit(100)).all()
    out: list[InstanceInfo] = []
    for r in rows:
        alive = r.stopped_at is None and now - r.last_seen_at < STALE_MS
        if alive or include_gone:
            out.append({"id": r.id, "host": r.host, "pid": r.pid, "address": r.address, "version": r.version,
                        "started_at": r.started_at, "last_seen_at": r.last_seen_at, "alive": alive})
    return out


def _queue_counts(ctx: AppContext) -> dict[str, int] | None:
    from app.core.queue import QueueError, open_queue

    try:
        queue = open_queue(ctx)
        try:
            return queue.counts()
        finally:
            queue.close()
    except (QueueError, ValueError):
        return None


def server_status(ctx: AppContext, actor: Actor) -> ServerStatus:
    """The servers, each corp's last sync and the queue (needs ``archive.status``)."""
    ctx.trail.require(actor, R.ARCHIVE_STATUS, action=Action.ARCHIVE_READ, object_type="archive", object="server status")
    with ctx.db.read() as conn:
        corps = conn.execute(select(Corp.id, Corp.corpid)).all()
        last: dict[str, LastSync] = {}
        for cid, corpid in corps:
            r = conn.execute(select(SyncRun).where(SyncRun.corp_id == cid).order_by(SyncRun.started_at.desc())
                             .limit(1)).first()
            if r is not None:
                last[corpid] = {"started_at": r.started_at, "ended_at": r.ended_at, "outcome": r.outcome,
                                "workstation": r.workstation, "stored": r.stored, "last_seq": r.last_seq,
                                "error": r.error}
    return {"servers": instances(ctx.db), "last_syncs": last, "queue": _queue_counts(ctx)}


def health(ctx: AppContext, instance_id: str) -> Health:
    """``status`` ok / failing with one line per check: database, queue, this instance's heartbeat."""
    checks: dict[str, str] = {}
    try:
        with ctx.db.read() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 — reported, never raised
        checks["database"] = f"failing ({type(exc).__name__})"
    checks["queue"] = "ok" if _queue_counts(ctx) is not None else "failing (unreachable)"
    alive = instances(ctx.db) if checks["database"] == "ok" else []
    return {"status": "ok" if all(v == "ok" for v in checks.values()) else "failing", "checks": checks,
            "instance": instance_id, "instances_alive": len(alive)}


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def metrics_text(ctx: AppContext, requests: dict[tuple[str, int], int], started: float) -> str:
    """The Prometheus text exposition (version 0.0.4) of the archive's counts and this instance."""
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[dict[str, object], float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            label = ",".join(f'{k}="{_esc(str(v))}"' for k, v in labels.items())
            lines.append(f"{name}{{{label}}} {value}" if label else f"{name} {value}")

    with ctx.db.read() as conn:
        corp_names = dict(conn.execute(select(Corp.id, Corp.corpid)).all())
        msgs = conn.execute(select(Message.corp_id, func.count()).group_by(Message.corp_id)).all()
        sessions = conn.execute(select(Session.corp_id, func.count()).group_by(Session.corp_id)).all()
        media = conn.execute(select(Media.status, func.count()).group_by(Media.status)).all()
        runs = conn.execute(select(SyncRun.corp_id, func.max(SyncRun.ended_at)).where(SyncRun.outcome == "succeeded")
                            .group_by(SyncRun.corp_id)).all()
        head = conn.execute(text("SELECT seq FROM audit_head WHERE id = 1")).scalar() or 0
    metric("wecom_auditor_messages", "gauge", "Messages in the archive.",
           [({"corp": corp_names.get(c, c)}, n) for c, n in msgs])
    metric("wecom_auditor_sessions", "gauge", "Conversations in the archive.",
           [({"corp": corp_names.get(c, c)}, n) for c, n in sessions])
    metric("wecom_auditor_media_files", "gauge", "Media rows by status.", [({"status": s}, n) for s, n in media])
    metric("wecom_auditor_last_successful_sync_timestamp_seconds", "gauge", "End of the last successful sync.",
           [({"corp": corp_names.get(c, c)}, (t or 0) / 1000) for c, t in runs])
    metric("wecom_auditor_audit_entries", "gauge", "Entries in the audit trail (its chain head).", [({}, head)])
    queue = _queue_counts(ctx)
    metric("wecom_auditor_queue_up", "gauge", "Whether the job queue answers.", [({}, 0 if queue is None else 1)])
    if queue is not None:
        metric("wecom_auditor_queue_jobs", "gauge", "Background jobs by state.", [({"state": s}, n) for s, n in queue.items()])
    metric("wecom_auditor_servers_alive", "gauge", "Server instances heard from in the last minute.",
           [({}, len(instances(ctx.db)))])
    metric("wecom_auditor_http_requests_total", "counter", "API requests answered by this instance.",
           [({"route": r, "code": c}, n) for (r, c), n in sorted(requests.items())])
    metric("wecom_auditor_uptime_seconds", "gauge", "Seconds since this instance started.",
           [({}, round(time.time() - started, 3))])
    return "\n".join(lines) + "\n"
