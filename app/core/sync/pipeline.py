"""The sync: fetch → RSA → DecryptData → parse → store → media, with progress and cancel.

Why processes: RSA-2048 decryption is the bottleneck (~3,600/s per core). ``cryptography``
releases the GIL, but beside one busy pure-Python thread an RSA thread falls to ~190/s (GIL
convoy). SDK host processes (``workers`` of them, default one per core; :class:`DecryptPool`) do
RSA + DecryptData + parse; this process fetches the next batch while they work on the previous
one, and writes each batch in one transaction. Tencent's library itself is only ever loaded in SDK
host processes (:mod:`app.core.sdk.hosted`): GetChatData in one, each media download in one, so
that a crash of the library costs one entry or file. The window runs this whole sync in a sync
process of its own (:mod:`app.core.sync.process`).

The core knows nothing of Qt: progress goes to a callback, cancel is a callable polled between
batches (and between media chunks).

A run is done by an actor holding ``sync.run`` (the administrator role; background and scheduled
syncs act as ``Actor.system("scheduled-sync")``) and ends with one ``sync.run`` audit entry saying
how it went; a refusal is recorded before anything is fetched.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import FAILED, OK, Action, AuditTrail
from app.core.auth.errors import AuditTrailError
from app.core.media.storage import MediaStorage
from app.core.review.policies import PolicyFollower
from app.core.sdk import ChatDataItem, SdkError
from app.core.sdk.binding import library_file_problem
from app.core.sdk.connection import CorpConnection
from app.core.sdk.decrypt import Decrypted, Rejected
from app.core.sdk.hosted import HostedSdk
from app.core.store.db import Database, now_ms
from app.core.store.models import Corp, SyncCheckpoint, SyncRun

from .cancel import SyncCancelled
from .decrypt import DecryptPool
from .failures import SyncFailed, describe_failure
from .index_process import IndexFollowerProcess
from .media_phase import MediaPhase
from .memory import release_free_memory
from .writer import BatchCounts, write_batch

log = logging.getLogger(__name__)

BATCH_LIMIT = 1000  # the SDK's maximum per GetChatData
LOOK_AHEAD = 2  # batches fetched and handed to the decrypt hosts beyond the one being written
ETA_HORIZON_MS = 7 * 86_400_000  # WeCom keeps about 5 days: beyond that an ETA means nothing


@dataclass
class SyncProgress:
    phase: str = "starting"  # starting / messages / media / done
    seq: int = 0
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    media_total: int = 0
    media_done: int = 0
    media_stored: int = 0
    media_failed: int = 0
    media_expired: int = 0
    media_retry: int = 0
    retries: int = 0
    rate: float = 0.0  # entries (or media files) per second in the current phase
    eta_seconds: float | None = None
    note: str = ""  # e.g. "retrying GetChatData after network error (attempt 2)"


@dataclass
class SyncReport:
    run_id: int
    outcome: str  # succeeded / failed / cancelled
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    media_stored: int = 0
    media_failed: int = 0
    media_expired: int = 0
    media_pending: int = 0
    last_seq: int = 0
    seconds: float = 0.0
    retries: int = 0
    error: str | None = None
    decrypt_busy: float = 0.0  # share of the message phase the decrypt hosts had entries in hand (0-1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SyncOptions:
    workers: int = 0  # decrypt processes; 0 = one per core; 1 = in this process
    media: bool = True
    media_workers: int = 4
    batch_limit: int = BATCH_LIMIT
    max_attempts: int = 6  # per SDK call, for retryable errors
    retry_wait: float = 1.0  # first back-off in seconds (doubles, up to 30 s)
    media_attempts: int = 3  # per media file: transient errors and md5/size mismatches
    media_retry_wait: float = 0.5
    niceness: int = 0  # lower the CPU priority of the SDK hosts by this much (the window's syncs: 10)
    check_access: bool = True  # call gettoken with certificate verification before the SDK (real library)
    extra: dict[str, Any] = field(default_factory=dict)


def ensure_corp(db: Database, corpid: str, name: str = "") -> int:
    """The ``corps.id`` of ``corpid``, creating the row if needed."""
    with db.read() as conn:
        found: int | None = conn.execute(select(Corp.id).where(Corp.corpid == corpid)).scalar()
    if found is not None:
        return found
    try:
        with db.write() as conn:
            found = conn.execute(select(Corp.id).where(Corp.corpid == corpid)).scalar()
            if found is None:
                found = db.ids.next_id()
                conn.execute(insert(Corp).values(id=found, corpid=corpid, name=name, created_at=now_ms()))
    except IntegrityError:  # another workstation registered it at the same moment
        with db.read() as conn:
            found = conn.execute(select(Corp.id).where(Corp.corpid == corpid)).scalar_one()
    return found


def checkpoint(db: Database, corp_id: int) -> int:
    with db.read() as conn:
        last_seq: int | None = conn.execute(select(SyncCheckpoint.last_seq)
                                            .where(SyncCheckpoint.corp_id == corp_id)).scalar()
        return last_seq or 0


SCHEDULED_SYNC = "scheduled-sync"


class Syncer:
    """Runs one sync of one corp. Create, call :meth:`run` once.

    ``actor``: who runs it (needs ``sync.run``); None means a background job,
    ``Actor.system("scheduled-sync")``. A person's sync (GUI, CLI) passes that person's actor."""

    def __init__(self, db: Database, *, connection: CorpConnection, private_keys: dict[int, str],
                 storage: MediaStorage, spool_dir: Path, options: SyncOptions | None = None, corp_name: str = "",
                 actor: Actor | None = None, log_dir: Path | None = None) -> None:
        self.db = db
        self.actor = actor or Actor.system(SCHEDULED_SYNC)
        self.trail = AuditTrail(db)
        self.connection = connection
        self.corpid = connection.corpid
        self.private_keys = {int(k): v for k, v in private_keys.items()}
        self.storage = storage
        self.spool_dir = spool_dir
        self.log_dir = log_dir  # where the search-index process logs (None: nowhere but stderr)
        self.options = options or SyncOptions()
        self.corp_name = corp_name
        self.progress = SyncProgress()
        self.report: SyncReport | None = None  # set when the run starts; kept after it ends, whatever the outcome
        self._report_cb: Callable[[SyncProgress], None] | None = None
        self._last_report = 0.0

    # ------------------------------------------------------------------ public
    def run(self, progress: Callable[[SyncProgress], None] | None = None,
            cancel: Callable[[], bool] | None = None) -> SyncReport:
        """Sync to the end. Returns the report; SyncFailed/SdkError propagate after the run row is closed.
        PermissionDenied (recorded) if the actor may not run a sync; the run's ``sync.run`` entry
        is written when it ends, whatever the outcome (AuditTrailError if it cannot be)."""
        self.trail.require(self.actor, R.SYNC_RUN, action=Action.SYNC_RUN, object_type="corp", object=self.corpid)
        self._report_cb = progress
        cancel = cancel or (lambda: False)
        problem = library_file_problem(self.connection.library.path)
        if problem:  # a clear sentence before anything else
            raise problem
        if not self.private_keys:
            raise SyncFailed(f"no private key is installed for corp {self.corpid}: import the private key(s) "
                             f"in Settings (one per publickey_ver)")
        corp_id = ensure_corp(self.db, self.corpid, self.corp_name)
        start_seq = checkpoint(self.db, corp_id)
        run_id = self._open_run(corp_id, start_seq)
        report = self.report = SyncReport(run_id=run_id, outcome="running", last_seq=start_seq)
        log.info("sync run %s of corp %s started at seq %s", run_id, self.corpid, start_seq)
        started = time.monotonic()
        pool: DecryptPool | None = None
        try:
            self.progress.note = "connecting to WeCom"
            self._report(force=True)
            pool = self._pool()  # its hosts start while the GetChatData host connects
            with self.connection.open(media_hosts=self.options.media_workers, niceness=self.options.niceness,
                                      check=self.options.check_access) as sdk:
                self.progress.note = ""
                self._sync_messages(sdk, pool, corp_id, start_seq, run_id, report, cancel)
                if self.options.media:
                    phase = MediaPhase(self.db, sdk, self.storage, self.corpid, corp_id, self.spool_dir,
                                       workers=self.options.media_workers, progress=self.progress,
                                       report=self._report, retries=self.options.media_attempts,
                                       retry_wait=self.options.media_retry_wait)
                    phase.run(cancel)
                    report.media_stored, report.media_failed = self.progress.media_stored, self.progress.media_failed
                    report.media_expired = self.progress.media_expired
                    report.media_pending = phase.pending_count()
            report.outcome = "succeeded"
        except SyncCancelled:
            report.outcome = "cancelled"
        except BaseException as exc:
            report.outcome = "failed"
            report.error = describe_failure(exc)[0]
            log.error("sync run %s failed: %s", run_id, report.error)
            raise
        finally:
            if pool is not None:
                pool.close()  # closed already once the messages are done, unless the run failed before
            report.seconds = round(time.monotonic() - started, 3)
            report.retries = self.progress.retries
            self.progress.phase = "done"
            self._report(force=True)
            self._close_run(report)
            self._audit(report)
            log.info("sync run %s %s in %.1fs: %s", run_id, report.outcome, report.seconds,
                     {k: v for k, v in report.to_dict().items() if k not in ("run_id", "outcome", "error")})
        return report

    def _audit(self, report: SyncReport) -> None:
        detail = {k: v for k, v in report.to_dict().items() if k != "outcome"}
        detail["result"] = report.outcome
        try:
            self.trail.record(self.actor, Action.SYNC_RUN, object_type="corp", object=self.corpid,
                              outcome=FAILED if report.outcome == "failed" else OK, detail=detail)
        except AuditTrailError:
            if report.outcome == "failed":  # the run's own error is already propagating: report that
                log.exception("the sync.run audit entry of run %s could not be written", report.run_id)
                return
            raise

    # ------------------------------------------------------------------ messages
    def _retrying(self, what: str, sdk: HostedSdk | None = None) -> Retrying:
        def note(state: RetryCallState) -> None:
            self.progress.retries += 1
            exc = state.outcome.exception() if state.outcome else None
            if sdk is not None and getattr(exc, "new_token", False):
                sdk.renew()  # a new handle asks WeCom for a new access token
            self.progress.note = (f"retrying {what} after: {exc} (attempt {state.attempt_number + 1} of "
                                  f"{self.options.max_attempts})")
            self._report(force=True)

        return Retrying(stop=stop_after_attempt(self.options.max_attempts),
                        wait=wait_exponential(multiplier=self.options.retry_wait, max=30),
                        retry=retry_if_exception(lambda e: isinstance(e, SdkError) and e.retryable),
                        before_sleep=note, reraise=True)

    def _fetch(self, sdk: HostedSdk, seq: int) -> list[ChatDataItem]:
        items = self._retrying("GetChatData", sdk)(sdk.get_chat_data, seq, self.options.batch_limit)
        self.progress.note = ""
        return items

    def _pool(self) -> DecryptPool:
        workers = self.options.workers or os.cpu_count() or 1
        return DecryptPool(self.connection.library, self.private_keys, workers, niceness=self.options.niceness)

    @staticmethod
    def _submit(pool: DecryptPool, items: list[ChatDataItem]) -> list[cf.Future[list[Decrypted | Rejected]]]:
        size = max(50, -(-len(items) // (pool.workers * 2)))
        return [pool.submit(items[i:i + size]) for i in range(0, len(items), size)]

    def _sync_messages(self, sdk: HostedSdk, pool: DecryptPool, corp_id: int, start_seq: int, run_id: int,
                       report: SyncReport, cancel: Callable[[], bool]) -> None:
        """The message phase; closes ``pool`` at its end."""
        self.progress.phase = "messages"
        self.progress.seq = start_seq
        phase_start = time.monotonic()
        # Search: each batch is indexed after it commits, by a process of its own at a lower priority.
        follower = IndexFollowerProcess(self.db, log_dir=self.log_dir)
        policies = PolicyFollower(self.db)  # review: policies evaluate each batch after it commits
        first_msgtime: int | None = None
        seq = start_seq
        # Batches fetched and handed to the decrypt hosts, oldest first. Keeping LOOK_AHEAD batches
        # beyond the one being written means the hosts always have work queued while this process
        # writes a batch and fetches the next one.
        in_flight: collections.deque[tuple[list[ChatDataItem], list[cf.Future[list[Decrypted | Rejected]]]]]
        in_flight = collections.deque()
        last_fetched = start_seq
        more = True  # WeCom may have more entries after the last batch fetched
        try:
            while True:
                if cancel():
                    raise SyncCancelled()
                while more and len(in_flight) <= LOOK_AHEAD:
                    items = self._fetch(sdk, last_fetched)
                    if items:
                        in_flight.append((items, self._submit(pool, items)))
                        last_fetched = items[-1].seq
                    more = len(items) >= self.options.batch_limit
                if not in_flight:
                    break
                items, futures = in_flight.popleft()
                batch_last = items[-1].seq
                outcomes = [o for f in futures for o in f.result()]
                fetched_now = len(items)

                def record(conn: Connection, counts: BatchCounts, n: int = fetched_now, last: int = batch_last) -> None:
                    p = self.progress
                    p.seq, p.fetched = last, p.fetched + n
                    p.stored += counts.stored
                    p.duplicates += counts.duplicates
                    p.quarantined += counts.quarantined
                    report.fetched, report.stored, report.last_seq = p.fetched, p.stored, last
                    report.duplicates, report.quarantined = p.duplicates, p.quarantined
                    self._update_run(run_id, report, conn=conn)

                write_batch(self.db, corp_id, seq, batch_last, outcomes, run_id, on_counts=record)
                follower.poke()
                policies.poke()
                seq = batch_last
                times = [o.parsed.msgtime for o in outcomes if hasattr(o, "parsed") and o.parsed.msgtime > 0]
                if times and first_msgtime is None:
                    first_msgtime = min(times)
                self._estimate(phase_start, first_msgtime, max(times) if times else None)
                self._report()
                del outcomes, items, futures  # written: what the batch took goes back before the next
                release_free_memory()
        finally:
            follower.close()
            policies.close()
            busy = pool.busy_seconds
            pool.close()
            # of the pool's whole life: its hosts' start-up and the last catch-up of the index included
            elapsed = time.monotonic() - pool.created
            report.decrypt_busy = round(min(1.0, busy / (pool.workers * elapsed)), 3) if elapsed > 0 else 0.0

    def _estimate(self, phase_start: float, first_msgtime: int | None, last_msgtime: int | None) -> None:
        """Rate, and an ETA from how fast message time advances towards now (WeCom does not say
        how many entries remain, but entries arrive in time order)."""
        elapsed = max(time.monotonic() - phase_start, 1e-6)
        self.progress.rate = self.progress.fetched / elapsed
        if first_msgtime is None or last_msgtime is None or last_msgtime <= first_msgtime:
            self.progress.eta_seconds = None
            return
        behind_ms = now_ms() - last_msgtime
        if behind_ms > ETA_HORIZON_MS:
            # Far older than WeCom keeps data (an imported or simulated archive): no honest ETA.
            self.progress.eta_seconds = None
            return
        covered_per_s = (last_msgtime - first_msgtime) / elapsed
        self.progress.eta_seconds = max(0.0, behind_ms / covered_per_s)

    # ------------------------------------------------------------------ run rows and progress
    def _report(self, force: bool = False) -> None:
        if self._report_cb is None:
            return
        now = time.monotonic()
        if force or now - self._last_report >= 0.1:  # throttled: at most 10 reports a second
            self._last_report = now
            self._report_cb(SyncProgress(**asdict(self.progress)))

    def _open_run(self, corp_id: int, start_seq: int) -> int:
        run_id = self.db.ids.next_id()
        host = socket.gethostname()
        with self.db.write() as conn:
            # Runs of this host left "running" by a killed process are marked interrupted.
            for rid, ws in conn.execute(select(SyncRun.id, SyncRun.workstation).where(
                    SyncRun.corp_id == corp_id, SyncRun.outcome == "running")):
                wshost, _, pid = ws.rpartition(":")
                if wshost == host and pid.isdigit() and not _pid_alive(int(pid)):
                    conn.execute(update(SyncRun).where(SyncRun.id == rid).values(outcome="interrupted"))
            conn.execute(insert(SyncRun).values(
                id=run_id, corp_id=corp_id, started_at=now_ms(), ended_at=None, outcome="running",
                workstation=f"{host}:{os.getpid()}"[:255], start_seq=start_seq, last_seq=start_seq,
                fetched=0, stored=0, duplicates=0, quarantined=0, media_stored=0, media_failed=0,
                media_expired=0, retries=0, error=None))
        return run_id

    def _update_run(self, run_id: int, report: SyncReport, conn: Connection | None = None, **extra: object) -> None:
        if conn is None:
            with self.db.write() as own:
                self._update_run(run_id, report, conn=own, **extra)
            return
        conn.execute(update(SyncRun).where(SyncRun.id == run_id).values(
            last_seq=report.last_seq, fetched=report.fetched, stored=report.stored,
            duplicates=report.duplicates, quarantined=report.quarantined,
            media_stored=report.media_stored, media_failed=report.media_failed,
            media_expired=report.media_expired, retries=self.progress.retries, **extra))

    def _close_run(self, report: SyncReport) -> None:
        self._update_run(report.run_id, report, outcome=report.outcome, ended_at=now_ms(),
                         error=report.error)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

