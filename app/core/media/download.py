"""Streaming media download: GetMediaData chunks → spool file → verify md5/size → storage.

One call of :func:`download_media` handles one media file of one message:

1. Stream ``sdk.iter_media(sdkfileid)`` into a fresh temp file in ``spool_dir``, hashing MD5 and
   SHA-256 as the chunks arrive. Memory stays at about one chunk (~512 KB) whatever the file size.
2. Verify: the MD5 equals the message's ``md5sum`` (case-insensitive; skipped when WeCom sent
   none) and the byte count equals its size (when given).
3. Store under the content-addressed key :func:`~app.core.media.storage.media_key` of the
   SHA-256, skipping the upload when that key already exists (the same file sent twice is stored
   once).

Outcomes (:class:`DownloadResult.status`):

* ``stored``  — verified and in storage (``storage_key`` set).
* ``expired`` — WeCom answered 10010: Tencent no longer keeps the file. Never retried.
* ``failed``  — this file cannot be had: an invalid fileid (10005 and the other item errors), a
  persistent md5/size mismatch, or another SDK error. Bytes that failed verification are **not**
  stored: they are not what the message refers to, and a stored object would look like evidence.
  The digests of the last attempt are still reported for the audit trail.
* ``retry``   — a transient problem (network/parse/system errors 10001-10003 after
  ``max_attempts`` tries, a storage error, a local disk error while spooling). The caller keeps
  the job pending for a later run.

Raised rather than returned: :class:`DownloadCancelled` (the ``cancel`` callback said so) and
:class:`~app.core.sdk.SdkConfigError` (10000/10004/10007/10009/10011: the set-up is wrong, e.g.
this machine's IP is not trusted — every file would fail the same way, so the caller must stop
and tell the administrator instead of marking each file failed). :class:`~app.core.sdk.SdkClosedError`
propagates too. ValueError for a malformed corp id, before anything is downloaded.

A mismatch is downloaded again (WeCom documents that a retry sometimes succeeds) within the same
``max_attempts`` budget as transient errors, with the same exponential backoff.

Thread-safe: calls on several threads may share one sdk and one storage; each call has its own
temp file, and every temp file is removed on every path.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential, wait_random

from app.core.sdk.errors import MediaExpiredError, SdkConfigError, SdkError, SdkRetryableError

from .storage import MediaStorage, StorageError, media_key, validate_corpid

__all__ = ["DownloadCancelled", "DownloadResult", "DownloadStatus", "MediaJob", "MediaSource", "download_media"]

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0  # seconds; the wait before the n-th retry is backoff * 2**(n-1), capped here
_SLEEP_SLICE = 0.1  # seconds; how often cancel() is polled while backing off


class MediaSource(Protocol):
    """What :func:`download_media` needs of the SDK (:class:`app.core.sdk.FinanceSdk` fits)."""

    def iter_media(self, sdkfileid: str) -> Iterator[bytes]: ...


class DownloadStatus(StrEnum):
    STORED = "stored"
    FAILED = "failed"
    EXPIRED = "expired"
    RETRY = "retry"


@dataclass(frozen=True, slots=True)
class MediaJob:
    """One media file referenced by a message.

    ``md5sum`` is WeCom's hex MD5 ("" when WeCom sent none); ``size`` its byte count, or None to
    skip the size check; ``ext`` a suggested extension (kept in the key only if short and safe).
    """

    sdkfileid: str
    md5sum: str
    size: int | None
    ext: str | None


@dataclass(frozen=True, slots=True)
class DownloadResult:
    """The outcome of one :func:`download_media` call.

    ``status`` is a :class:`DownloadStatus` (a ``str``: compare with ``"stored"`` etc.).
    ``sha256``/``md5``/``size`` describe the bytes of the last complete download (also on a
    verification failure), or None if no download completed. ``md5_matched`` is None when WeCom
    gave no md5sum or nothing was downloaded. ``error`` is an English reason for failed, expired
    and retry.
    """

    status: str
    storage_key: str | None
    sha256: str | None
    md5: str | None
    size: int | None
    md5_matched: bool | None
    attempts: int
    error: str | None


class DownloadCancelled(Exception):
    """The download was cancelled by the caller's ``cancel`` callback; nothing was stored."""


@dataclass(frozen=True, slots=True)
class _Spooled:
    path: Path
    sha256: str
    md5: str
    size: int
    md5_matched: bool | None


class _VerificationError(Exception):
    """The downloaded bytes are not what the message describes (its spool file is already gone)."""

    def __init__(self, reason: str, spooled: _Spooled):
        super().__init__(reason)
        self.reason = reason
        self.spooled = spooled


def download_media(sdk: MediaSource, job: MediaJob, storage: MediaStorage, corpid: str, spool_dir: Path, *,
                   max_attempts: int = 3, backoff: float = 0.5,
                   cancel: Callable[[], bool] | None = None) -> DownloadResult:
    """Download, verify and store one media file; see the module docstring for the outcomes.

    ``spool_dir`` (created if missing) should be on the same filesystem as a LocalStorage root so
    the verified file is moved, not copied. ``max_attempts`` counts downloads of the file (≥ 1);
    ``backoff`` is the first wait in seconds, doubling after each attempt (with a little jitter so
    parallel downloads do not retry in lockstep). ``cancel`` is polled between chunks and while
    backing off; when it returns True, DownloadCancelled is raised.

    Blocks for as long as the download takes: call it off the GUI thread.
    """
    validate_corpid(corpid)
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
    spool_dir = Path(spool_dir)
    attempts = 0

    def attempt() -> _Spooled:
        nonlocal attempts
        attempts += 1
        return _spool_and_verify(sdk, job, spool_dir, cancel)

    retrying = Retrying(
        stop=stop_after_attempt(max_attempts),
        wait=wait_exponential(multiplier=backoff, max=MAX_BACKOFF) + wait_random(0, backoff / 2),
        retry=retry_if_exception_type((SdkRetryableError, _VerificationError)),
        sleep=_cancellable_sleep(cancel),
        before_sleep=lambda state: log.info(
            "media %s: attempt %d failed (%s); retrying", _short(job.sdkfileid), state.attempt_number,
            state.outcome.exception() if state.outcome else "?"),
        reraise=True,
    )

    def outcome(status: DownloadStatus, error: str | None, spooled: _Spooled | None = None,
                key: str | None = None) -> DownloadResult:
        return DownloadResult(
            status=status, storage_key=key, error=error, attempts=attempts,
            sha256=spooled.sha256 if spooled else None, md5=spooled.md5 if spooled else None,
            size=spooled.size if spooled else None, md5_matched=spooled.md5_matched if spooled else None)

    try:
        spooled = retrying(attempt)
    except MediaExpiredError as exc:
        return outcome(DownloadStatus.EXPIRED, str(exc))
    except SdkRetryableError as exc:
        return outcome(DownloadStatus.RETRY, f"{exc} (gave up after {attempts} attempts)")
    except _VerificationError as exc:
        suffix = f" (after {attempts} attempts)" if attempts > 1 else ""
        return outcome(DownloadStatus.FAILED, exc.reason + suffix, exc.spooled)
    except SdkConfigError:
        raise
    except SdkError as exc:  # SdkItemError (10005 invalid fileid, ...) and anything unexpected
        return outcome(DownloadStatus.FAILED, str(exc))
    except OSError as exc:
        # The local spool folder: full disk, no permission. Not the file's fault: keep it pending.
        return outcome(DownloadStatus.RETRY, f"cannot write the spool file in {spool_dir}: {exc}")

    try:
        key = media_key(corpid, spooled.sha256, job.ext)
        if storage.exists(key):
            log.debug("media %s: %s already stored", _short(job.sdkfileid), key)
        else:
            storage.put_file(key, spooled.path)
    except StorageError as exc:
        return outcome(DownloadStatus.RETRY, f"storage error: {exc}", spooled)
    finally:
        with contextlib.suppress(OSError):
            spooled.path.unlink(missing_ok=True)
    return outcome(DownloadStatus.STORED, None, spooled, key)


def _spool_and_verify(sdk: MediaSource, job: MediaJob, spool_dir: Path,
                      cancel: Callable[[], bool] | None) -> _Spooled:
    """One download into a new spool file; the verified file is left for the caller to remove."""
    if cancel is not None and cancel():
        raise DownloadCancelled("media download cancelled")
    spool_dir.mkdir(parents=True, exist_ok=True)
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    size = 0
    # Entered as a context manager below, once its path is known to the cleanup handler.
    tmp = tempfile.NamedTemporaryFile(dir=spool_dir, prefix="media-", suffix=".part", delete=False)  # noqa: SIM115
    path = Path(tmp.name)
    try:
        with tmp:
            chunks = sdk.iter_media(job.sdkfileid)
            try:
                for chunk in chunks:
                    tmp.write(chunk)
                    md5.update(chunk)
                    sha256.update(chunk)
                    size += len(chunk)
                    del chunk  # do not keep the last chunk alive while waiting for the next
                    if cancel is not None and cancel():
                        raise DownloadCancelled("media download cancelled")
            finally:  # a cancelled or failed download must not leave the SDK generator suspended
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        expected_md5 = (job.md5sum or "").strip().lower()
        spooled = _Spooled(path=path, sha256=sha256.hexdigest(), md5=md5.hexdigest(), size=size,
                           md5_matched=(md5.hexdigest() == expected_md5) if expected_md5 else None)
        problems = []
        if spooled.md5_matched is False:
            problems.append(f"md5 mismatch: expected {expected_md5}, got {spooled.md5}")
        if job.size is not None and size != job.size:
            problems.append(f"size mismatch: expected {job.size} bytes, got {size}")
        if problems:
            raise _VerificationError("; ".join(problems), spooled)
        return spooled
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        raise


def _cancellable_sleep(cancel: Callable[[], bool] | None) -> Callable[[float], None]:
    def sleep(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            if cancel is not None and cancel():
                raise DownloadCancelled("media download cancelled")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(remaining, _SLEEP_SLICE))
    return sleep


def _short(sdkfileid: str) -> str:
    return sdkfileid if len(sdkfileid) <= 24 else sdkfileid[:20] + "..."
