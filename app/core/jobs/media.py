"""``media.download`` (job id ``media:<media id>``): download, verify and store one media file whose
download failed or has not happened yet.

The media row stays ``pending`` (transient errors) or ``failed`` (the bytes did not verify, or WeCom
refused the file id) until it is stored. Failures retry with exponential backoff (1 min, doubling, at
most 4 h) until WeCom's ~5-day retention window after the message has passed; then a pending file is
marked ``expired``, and a failed one keeps its status and reason and is not tried again. WeCom
answering "expired" (10010) ends it at once.

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
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update

from app.core.media.download import DownloadCancelled, DownloadResult, MediaJob, download_media
from app.core.queue import Backoff, Job, JobCancelled, JobControl, JobQueue, JobSpec, RetryLater
from app.core.sdk import SdkClosedError, SdkConfigError, SdkError, SdkLoadError
from app.core.store.db import Database, now_ms
from app.core.store.models import EXPIRED, FAILED, PENDING, STORED, Corp, Media, Message
from app.core.wecom.api import WeComAccessError

if TYPE_CHECKING:
    from app.core.context import AppContext
    from app.core.sdk.hosted import HostedSdk

__all__ = ["MEDIA_RETENTION_MS", "TOPIC_MEDIA", "MediaDownloadHandler", "media_job_id", "requeue_pending"]

log = logging.getLogger(__name__)

TOPIC_MEDIA = "media.download"
MEDIA_RETENTION_MS = 5 * 86_400_000  # Tencent keeps archive data (and its media) about 5 days
MEDIA_BACKOFF = Backoff(base=60.0, cap=4 * 3600.0, jitter=0.1)
MEDIA_TTR = 120.0  # renewed by the heartbeat while a large file downloads
MEDIA_MAX_ATTEMPTS = 100  # the retention window ends retries long before this (about 35 at the cap)
PAGE = 500


def media_job_id(media_id: int) -> str:
    return f"media:{int(media_id)}"


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

    def __init__(self, ctx: AppContext, *, retention_ms: int = MEDIA_RETENTION_MS, backoff: Backoff = MEDIA_BACKOFF,
                 attempts_per_run: int = 2, retry_wait: float = 0.5, clock: Callable[[], int] = now_ms) -> None:
        self.ctx = ctx
        self.retention_ms = retention_ms
        self.backoff = backoff
        self.attempts_per_run = attempts_per_run
        self.retry_wait = retry_wait
        self.clock = clock
        self._sdks: dict[str, HostedSdk] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _sdk(self, corpid: str) -> HostedSdk:
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
