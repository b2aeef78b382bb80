"""The media step of a sync: download every pending media file with several threads.

The GetMediaData calls release the GIL and hashing is done by hashlib on large chunks, so threads
suffice here. Worker threads only download; this thread writes every result to the database
(in small batches), so SQLite sees a single writer.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, bindparam, func, or_, select, update

from app.core.media.download import DownloadCancelled, DownloadResult, MediaJob, MediaSource, download_media
from app.core.media.storage import MediaStorage
from app.core.sdk import SdkConfigError
from app.core.store.db import Database, now_ms
from app.core.store.models import EXPIRED, FAILED, PENDING, STORED, Media

from .cancel import SyncCancelled

if TYPE_CHECKING:
    from .pipeline import SyncProgress

PAGE = 500
log = logging.getLogger(__name__)


class MediaPhase:
    def __init__(self, db: Database, sdk: MediaSource, storage: MediaStorage, corpid: str, corp_id: int,
                 spool_dir: Path, *, workers: int, progress: SyncProgress, report: Callable[..., None],
                 retries: int = 3, retry_wait: float = 0.5) -> None:
        self.db, self.sdk, self.storage = db, sdk, storage
        self.corpid, self.corp_id, self.spool_dir = corpid, corp_id, spool_dir
        self.workers = max(1, workers)
        self.progress = progress
        self._report = report
        self.retries, self.retry_wait = retries, retry_wait

    def pending_count(self) -> int:
        with self.db.read() as conn:
            return conn.execute(select(func.count()).select_from(Media).where(
                Media.corp_id == self.corp_id, Media.status == PENDING)).scalar_one()

    def _pages(self) -> Iterator[Sequence[Row[*tuple[Any, ...]]]]:
        """Pending media, page by page in id order (never the whole list in memory)."""
        last = -1
        while True:
            with self.db.read() as conn:
                rows = conn.execute(
                    select(Media.id, Media.sdkfileid, Media.md5sum, Media.declared_size, Media.ext)
                    .where(Media.corp_id == self.corp_id, Media.status == PENDING, Media.id > last)
                    .order_by(Media.id).limit(PAGE)).all()
            if not rows:
                return
            yield rows
            last = rows[-1].id

    def run(self, cancel: Callable[[], bool]) -> None:
        p = self.progress
        p.phase = "media"
        p.media_total = self.pending_count()
        p.rate, p.eta_seconds = 0.0, None
        self._report(force=True)
        started = time.monotonic()
        results: list[tuple[int, DownloadResult]] = []
        cancelled = False
        with cf.ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="media") as pool:
            in_flight: dict[cf.Future[DownloadResult], int] = {}
            for page in self._pages():
                for row in page:
                    if cancel():
                        cancelled = True
                        break
                    while len(in_flight) >= self.workers * 2:
                        self._drain(in_flight, results, cf.FIRST_COMPLETED, started)
                    job = MediaJob(row.sdkfileid, row.md5sum, row.declared_size, row.ext)
                    fut = pool.submit(download_media, self.sdk, job, self.storage, self.corpid, self.spool_dir,
                                      max_attempts=self.retries, backoff=self.retry_wait, cancel=cancel)
                    in_flight[fut] = row.id
                    if len(results) >= 50:
                        self._write(results)
                if cancelled:
                    break
            while in_flight:
                self._drain(in_flight, results, cf.ALL_COMPLETED, started)
        self._write(results)
        if cancelled or cancel():
            raise SyncCancelled()

    def _drain(self, in_flight: dict[cf.Future[DownloadResult], int], results: list[tuple[int, DownloadResult]],
               how: str, started: float) -> None:
        done, _ = cf.wait(list(in_flight), return_when=how)
        p = self.progress
        for fut in done:
            media_id = in_flight.pop(fut)
            try:
                result = fut.result()
            except DownloadCancelled:
                continue
            except SdkConfigError:
                raise  # the set-up is wrong (e.g. an untrusted IP): every file would fail the same way
            except Exception as exc:  # one file must never stop the others: it fails with a reason
                log.warning("media %s failed unexpectedly: %s", media_id, type(exc).__name__, exc_info=True)
                result = DownloadResult(status=FAILED, storage_key=None, sha256=None, md5=None, size=None,
                                        md5_matched=None, attempts=1,
                                        error=f"unexpected error while downloading ({type(exc).__name__})")
            results.append((media_id, result))
            p.media_done += 1
            if result.status == STORED:
                p.media_stored += 1
            elif result.status == FAILED:
                p.media_failed += 1
            elif result.status == EXPIRED:
                p.media_expired += 1
            else:
                p.media_retry += 1
        elapsed = max(time.monotonic() - started, 1e-6)
        p.rate = p.media_done / elapsed
        remaining = max(p.media_total - p.media_done, 0)
        p.eta_seconds = remaining / p.rate if p.rate > 0 else None
        self._report()

    def _write(self, results: list[tuple[int, DownloadResult]]) -> None:
        if not results:
            return
        now = now_ms()
        rows = [{
            "mid": media_id,
            "status": r.status if r.status in (STORED, FAILED, EXPIRED) else PENDING,
            "att": r.attempts, "err": r.error, "backend": self.storage.name if r.status == STORED else None,
            "key": r.storage_key, "sha": r.sha256, "size": r.size, "md5ok": r.md5_matched,
            "at": now if r.status == STORED else None, "now": now,
        } for media_id, r in results]
        # Only rows still waiting: a media job of the delay queue may have stored the file meanwhile.
        stmt = (update(Media).where(Media.id == bindparam("mid"),
                                   or_(Media.status == PENDING, Media.status == FAILED)).values(
            status=bindparam("status"), attempts=Media.attempts + bindparam("att"), last_error=bindparam("err"),
            storage_backend=bindparam("backend"), storage_key=bindparam("key"), sha256=bindparam("sha"),
            stored_size=bindparam("size"), md5_matched=bindparam("md5ok"), stored_at=bindparam("at"),
            updated_at=bindparam("now")))
        with self.db.write() as conn:
            conn.execute(stmt.execution_options(synchronize_session=False), rows)
        results.clear()
