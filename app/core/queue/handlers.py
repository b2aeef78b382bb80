"""The app's background jobs: retrying media downloads and scheduled syncs, and keeping the queue in
step with the archive database (the source of truth).

Topics
------
``media.download`` (job id ``media:<media id>``)
    Download, verify and store one media file whose download failed or has not happened yet. The
    media row stays ``pending`` (transient errors) or ``failed`` (the bytes did not verify, or WeCom
    refused the file id) until it is stored. Failures retry with exponential backoff (1 min,
    doubling, at most 4 h) until WeCom's ~5-day retention window after the message has passed;
    then a pending file is marked ``expired``, and a failed one keeps its status and reason and is
    not tried again. WeCom answering "expired" (10010) ends it at once.
``sync.scheduled`` (job id ``sync:<corpid>``)
    Sync one corp, then schedule the next run ``interval_minutes`` later under the same id (one
    future job per corp). A failed run is recorded as the job's last error and tried again with
    backoff, never later than the interval. The workstation whose ``sync_interval_minutes`` is set
    owns the schedule (:func:`ensure_scheduled_syncs`).

The database is the source of truth: :func:`requeue_pending` enqueues a job for every media row
that still needs one (idempotently, by job id), so a Redis that lost its memory loses no work.
Consumers run it when they start and every few minutes.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterator

from sqlalchemy import or_, select, update

from app.core.media.download import DownloadCancelled, DownloadResult, MediaJob, download_media
from app.core.sdk import SdkClosedError, SdkConfigError, SdkError, SdkLoadError
from app.core.store.db import Database, DatabaseError, now_ms
from app.core.store.models import EXPIRED, FAILED, PENDING, STORED, Corp, Media, Message
from app.core.wecom.api import WeComAccessError

from .base import DEAD, RUNNING, Backoff, Job, JobQueue, JobSpec, QueueError
from .worker import JobCancelled, JobControl, Reschedule, RetryLater, Worker, WorkerEvent

__all__ = [
    "MEDIA_RETENTION_MS", "TOPICS", "TOPIC_MEDIA", "TOPIC_SYNC", "MediaDownloadHandler", "ScheduledSyncHandler",
    "build_worker", "ensure_scheduled_syncs", "media_job_id", "requeue_pending", "sync_job_id",
]

log = logging.getLogger(__name__)

TOPIC_MEDIA = "media.download"
TOPIC_SYNC = "sync.scheduled"
TOPICS = (TOPIC_MEDIA, TOPIC_SYNC)

MEDIA_RETENTION_MS = 5 * 86_400_000  # Tencent keeps archive data (and its media) about 5 days
MEDIA_BACKOFF = Backoff(base=60.0, cap=4 * 3600.0, jitter=0.1)
MEDIA_TTR = 120.0  # renewed by the heartbeat while a large file downloads
MEDIA_MAX_ATTEMPTS = 100  # the retention window ends retries long before this (about 35 at the cap)
SYNC_TTR = 300.0
SYNC_MAX_ATTEMPTS = 1000  # a schedule never dies of failed runs; only of a consumer killed mid-run, repeatedly
SYNC_BACKOFF = Backoff(base=60.0, cap=3600.0, jitter=0.1)
PAGE = 500


def media_job_id(media_id: int) -> str:
    return f"media:{int(media_id)}"


def sync_job_id(corpid: str) -> str:
    return f"sync:{corpid}"


# ---------------------------------------------------------------------------------------------- requeue

def _pending_media(db: Database, *, corp_id: int | None, retention_ms: int, now: int) -> Iterator[list[int]]:
    """Ids of media rows that still need a download, page by page in id order: every pending row,
    and failed rows whose message is still within WeCom's retention window."""
    last = -1
    while True:
        q = (select(Media.id).join(Message, Message.id == Media.message_id)
             .where(Media.id > last,
                    or_(Media.status == PENDING,
                        (Media.status == FAILED) & (Message.msgtime > now - retention_ms)))
             .order_by(Media.id).limit(PAGE))
        if corp_id is not None:
            q = q.where(Media.corp_id == corp_id)
        with db.read() as conn:
            ids = list(conn.execute(q).scalars())
        if not ids:
            return
        yield ids
        last = ids[-1]


def requeue_pending(db: Database, queue: JobQueue, *, corp_id: int | None = None,
                    retention_ms: int = MEDIA_RETENTION_MS) -> int:
    """Enqueue a ``media.download`` job for every media row that needs one and has none (an existing
    job of the same id, in any state, is left alone). Returns how many jobs were created. Reads the
    rows page by page (bounded memory); safe to run any time, from any number of processes."""
    created = 0
    for ids in _pending_media(db, corp_id=corp_id, retention_ms=retention_ms, now=now_ms()):
        created += queue.enqueue_many(
            JobSpec(TOPIC_MEDIA, {"media_id": mid}, ttr=MEDIA_TTR, max_attempts=MEDIA_MAX_ATTEMPTS,
                    job_id=media_job_id(mid)) for mid in ids)
    if created:
        log.info("re-enqueued %d media download job(s) from the archive database", created)
    return created


# ---------------------------------------------------------------------------------------------- media

class MediaDownloadHandler:
    """``media.download``: see the module docstring. One SDK handle per corp is opened on first use
    and shared by the worker's threads (GetMediaData is thread-safe since SDK v1.1); :meth:`close`
    destroys them."""

    def __init__(self, ctx, *, retention_ms: int = MEDIA_RETENTION_MS, backoff: Backoff = MEDIA_BACKOFF,
                 attempts_per_run: int = 2, retry_wait: float = 0.5, clock: Callable[[], int] = now_ms):
        self.ctx = ctx
        self.retention_ms = retention_ms
        self.backoff = backoff
        self.attempts_per_run = attempts_per_run
        self.retry_wait = retry_wait
        self.clock = clock
        self._sdks: dict[str, object] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _sdk(self, corpid: str):
        from app.core.config.settings import load_settings

        with self._lock:
            if self._closed:
                raise JobCancelled("the media handler is closing")
            sdk = self._sdks.get(corpid)
            if sdk is not None:
                return sdk
            corp = load_settings(self.ctx.paths).corp(corpid)  # SettingsError: not configured here
            # Tencent's library runs in SDK host processes (never in this one, which may be the
            # window's): a crash costs the file being downloaded, never the runner.
            sdk = self.ctx.connection(corp).open(media_hosts=self.ctx.settings.media_workers)
            self._sdks[corpid] = sdk
            return sdk

    def _drop_sdk(self, corpid: str) -> None:
        with self._lock:
            sdk = self._sdks.pop(corpid, None)
        if sdk is not None:
            sdk.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sdks, self._sdks = list(self._sdks.values()), {}
        for sdk in sdks:
            with contextlib.suppress(Exception):
                sdk.close()

    def __call__(self, job: Job, control: JobControl) -> None:
        from app.core.config.secrets import SecretMissingError
        from app.core.config.settings import SettingsError

        db = self.ctx.db
        media_id = int(job.payload["media_id"])
        with db.read() as conn:
            row = conn.execute(
                select(Media.id, Media.status, Media.sdkfileid, Media.md5sum, Media.declared_size, Media.ext,
                       Message.msgtime, Corp.corpid)
                .join(Message, Message.id == Media.message_id).join(Corp, Corp.id == Media.corp_id)
                .where(Media.id == media_id)).first()
        if row is None or row.status in (STORED, EXPIRED):
            return None  # gone, or done meanwhile (by a sync or another consumer): nothing to do
        deadline = row.msgtime + self.retention_ms
        try:
            sdk = self._sdk(row.corpid)
        except (SettingsError, SecretMissingError) as exc:
            raise RetryLater(f"cannot download here ({socket.gethostname()}): {exc}") from None
        except (SdkLoadError, SdkError) as exc:
            raise RetryLater(f"the Finance SDK cannot be opened for corp {row.corpid}: {exc}") from None
        except WeComAccessError as exc:
            raise RetryLater(f"corp {row.corpid}: {exc.message_en}") from None
        try:
            result = download_media(sdk, MediaJob(row.sdkfileid, row.md5sum, row.declared_size, row.ext),
                                    self.ctx.storage, row.corpid, self.ctx.paths.spool_dir,
                                    max_attempts=self.attempts_per_run, backoff=self.retry_wait,
                                    cancel=control.cancelled)
        except (DownloadCancelled, SdkClosedError):
            raise JobCancelled("the download was interrupted") from None
        except SdkConfigError as exc:
            # The set-up is wrong (e.g. this machine's IP is not trusted): the file is not at fault.
            self._drop_sdk(row.corpid)
            raise RetryLater(str(exc)) from None
        now = self.clock()
        if result.status == STORED:
            self._record(media_id, result, STORED, None, now)
            return None
        if result.status == EXPIRED:
            self._record(media_id, result, EXPIRED, result.error, now)
            return None
        window_passed = now >= deadline
        if window_passed:
            if result.status == FAILED:
                self._record(media_id, result, FAILED, f"{result.error} (not retried: WeCom's retention window "
                                                       f"for this message has passed)", now)
            else:
                self._record(media_id, result, EXPIRED, f"not stored within WeCom's ~5-day retention window; "
                                                        f"last error: {result.error}", now)
            return None
        self._record(media_id, result, FAILED if result.status == FAILED else PENDING, result.error, now)
        # Retry with backoff, but try once more right at the end of the window rather than never.
        delay = min(self.backoff.delay(job.attempts), max((deadline - now) / 1000, 1.0))
        raise RetryLater(result.error or result.status, delay=delay)

    def _record(self, media_id: int, r: DownloadResult, status: str, error: str | None, now: int) -> None:
        """Write the outcome to the media row, unless it was stored or expired meanwhile."""
        stored = status == STORED
        values = {"status": status, "attempts": Media.attempts + r.attempts, "last_error": error,
                  "storage_backend": self.ctx.storage.name if stored else None,
                  "storage_key": r.storage_key if stored else None, "sha256": r.sha256, "stored_size": r.size,
                  "md5_matched": r.md5_matched, "stored_at": now if stored else None, "updated_at": now}
        with self.ctx.db.write() as conn:
            conn.execute(update(Media).where(Media.id == media_id, Media.status.in_((PENDING, FAILED)))
                         .values(**values))


# ---------------------------------------------------------------------------------------------- sync

def ensure_scheduled_syncs(settings, queue: JobQueue, *, host: str | None = None) -> int:
    """Keep exactly one ``sync.scheduled`` job per configured corp when ``settings.sync_interval_minutes``
    is set; with 0, remove the schedules this workstation made. A dead schedule is started again,
    a schedule with another interval replaced. Schedules made by other workstations (a team's
    server) are left alone. Returns how many jobs were created or changed."""
    host = host or socket.gethostname()
    interval = settings.sync_interval_minutes
    configured = {c.corpid for c in settings.corps}
    changed = 0
    if interval > 0:
        for corpid in sorted(configured):
            jid = sync_job_id(corpid)
            payload = {"corpid": corpid, "interval_minutes": interval, "scheduled_by": host}
            job = queue.get(jid)
            if job is not None and job.state != RUNNING and job.payload.get("interval_minutes") != interval:
                queue.delete(jid)  # a crash before the enqueue below is repaired by the next call
                job = None
            if job is None:
                if queue.enqueue(TOPIC_SYNC, payload, delay=interval * 60, ttr=SYNC_TTR,
                                 max_attempts=SYNC_MAX_ATTEMPTS, job_id=jid) is not None:
                    changed += 1
            elif job.state == DEAD and queue.reschedule(jid):
                changed += 1
    for job in queue.list_jobs(topic=TOPIC_SYNC, limit=10_000):
        mine = job.payload.get("scheduled_by") == host
        corpid = job.payload.get("corpid")
        if mine and job.state != RUNNING and (interval == 0 or corpid not in configured):
            changed += queue.delete(job.id)
    return changed


class ScheduledSyncHandler:
    """``sync.scheduled``: one sync of the job's corp with this workstation's settings and secrets."""

    def __init__(self, ctx, *, backoff: Backoff = SYNC_BACKOFF, niceness: int = 0):
        self.ctx = ctx
        self.backoff = backoff
        self.niceness = niceness

    def __call__(self, job: Job, control: JobControl) -> Reschedule:
        from app.core.config.secrets import SecretMissingError
        from app.core.config.settings import SettingsError, load_settings
        from app.core.sync.pipeline import ensure_corp
        from app.core.sync.process import SyncProcessDied, SyncRunFailed, run_sync_process

        queue = control.queue
        corpid = str(job.payload["corpid"])
        interval_ms = max(1, int(job.payload.get("interval_minutes") or 1)) * 60_000

        def retry(error: str) -> Reschedule:
            wait_ms = min(interval_ms, int(self.backoff.delay(job.attempts) * 1000))
            return Reschedule(queue.now_ms() + wait_ms, error=error)

        try:
            corp = load_settings(self.ctx.paths).corp(corpid)
            # In a sync process of its own, like the window's syncs: Tencent's library never
            # loads in this process (which may be the window's), and a crash costs one run.
            report = run_sync_process(self.ctx.sync_plan(corp), cancel=control.cancelled, niceness=self.niceness)
        except SyncRunFailed as exc:
            if exc.error_type == "ConcurrentSyncError":
                log.info("scheduled sync of %s skipped: another sync of this corp is running", corpid)
                return Reschedule(queue.now_ms() + interval_ms)
            return retry(exc.message_en)
        except (SettingsError, SecretMissingError) as exc:
            return retry(f"cannot sync on {socket.gethostname()}: {exc}")
        except (SyncProcessDied, SdkError, SdkLoadError, DatabaseError, OSError) as exc:
            return retry(str(exc))
        if report.outcome == "cancelled":
            raise JobCancelled("the scheduled sync was cancelled")
        try:  # media the sync could not fetch now get their retry jobs at once
            requeue_pending(self.ctx.db, queue, corp_id=ensure_corp(self.ctx.db, corpid))
        except QueueError as exc:
            log.warning("after the scheduled sync of %s: cannot enqueue media retries (%s)", corpid, exc)
        return Reschedule(queue.now_ms() + interval_ms)


# ---------------------------------------------------------------------------------------------- assembly

def build_worker(ctx, queue: JobQueue, *, topics=TOPICS, concurrency: int = 1, name: str = "worker",
                 until_idle: bool = False, on_event: Callable[[WorkerEvent], None] | None = None,
                 maintenance_interval: float = 300.0, media_handler: MediaDownloadHandler | None = None,
                 niceness: int = 0) -> tuple[Worker, Callable[[], None]]:
    """A :class:`Worker` with the app's handlers for ``topics``, which re-enqueues pending media and
    keeps the sync schedule at start and every ``maintenance_interval`` seconds. Returns the worker
    and a function to call after it has been joined (it closes the SDK handles). ``niceness`` lowers
    the CPU priority of scheduled syncs' processes (the window's runner leaves the CPU to the GUI)."""
    from app.core.config.settings import load_settings

    unknown = set(topics) - set(TOPICS)
    if unknown:
        raise ValueError(f"unknown job topic(s): {', '.join(sorted(unknown))} (known: {', '.join(TOPICS)})")
    media = media_handler or MediaDownloadHandler(ctx)
    handlers = {}
    if TOPIC_MEDIA in topics:
        handlers[TOPIC_MEDIA] = media
    if TOPIC_SYNC in topics:
        handlers[TOPIC_SYNC] = ScheduledSyncHandler(ctx, niceness=niceness)

    def requeue_media() -> None:
        requeue_pending(ctx.db, queue)

    def schedule_syncs() -> None:
        ensure_scheduled_syncs(load_settings(ctx.paths), queue)

    maintenance = [requeue_media] if TOPIC_MEDIA in topics else []
    if TOPIC_SYNC in topics:
        maintenance.append(schedule_syncs)
    worker = Worker(queue, handlers, concurrency=concurrency, name=name, until_idle=until_idle, on_event=on_event,
                    maintenance=maintenance, maintenance_interval=maintenance_interval)
    return worker, media.close
