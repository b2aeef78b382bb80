"""What the cloud backends (Aliyun OSS, Tencent COS) share: streaming uploads, resuming reads, retries
and error messages. ``oss.py`` and ``cos.py`` only say how each SDK does the few object calls.

Uploads. ``put`` never holds the object in memory: a seekable source (a spooled download, a local
file) is sent in place, slice by slice; any other stream is first copied to a temp file in
``spool_dir`` (so a failed attempt can be sent again). Objects up to ``multipart_threshold`` (16 MiB)
go in one PUT; larger ones through the SDK's multipart calls in ``part_size`` parts (8 MiB, more for
files above 80 GB so that 10,000 parts suffice), each retried on its own. The object appears under its
key only when the PUT or the multipart "complete" succeeds, so readers never see a partial object;
a multipart upload that fails is aborted (an abort that cannot reach the service leaves parts the
bucket's lifecycle rule should expire). Every slice is checksummed (CRC-64/ECMA, the services' own)
while it is sent and compared with the checksum the service reports, when the crcmod C extension is
present.

Reads. ``open`` returns a buffered stream that, when the connection drops mid-object, asks again
for the rest with a Range GET (If-Match the first ETag), up to ``attempts`` times, and checks the
whole object's CRC-64 at the end when the service gives one.

Errors. Every SDK or network exception becomes :class:`StorageError` with a sentence naming the
service, bucket and what to check (credentials, bucket name and region, network, throttling), the
service's error code and request id; never the secret (it is also scrubbed from any text taken from
a response). Network failures, timeouts, HTTP 5xx, 429 and SlowDown are retried with exponential
backoff and jitter (``attempts`` tries in all), so a brief outage costs a little time, not a file.

Thread-safe: the SDK clients share connection pools; the instance holds no per-call state.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import logging
import math
import os
import tempfile
import time
from abc import abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from .config import CloudConfig
from .storage import COPY_BUFFER, MediaNotFoundError, MediaStorage, StorageError, check_key, copy_stream

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["CloudStorage", "Download", "Failure", "MULTIPART_THRESHOLD", "PART_SIZE", "crc64", "network_reason",
           "parse_crc"]

log = logging.getLogger(__name__)

MiB = 1024 * 1024
MULTIPART_THRESHOLD = 16 * MiB  # larger objects are uploaded in parts
PART_SIZE = 8 * MiB
MAX_PARTS = 10_000  # both services' limit
DELETE_BATCH = 1000  # both services' limit per batch delete
MAX_URL_EXPIRY = 7 * 24 * 3600  # OSS V4 pre-signed URLs live at most 7 days; COS is held to the same

T = TypeVar("T")


def _crc64_function() -> Callable[[bytes, int], int] | None:
    """CRC-64/ECMA-182 as OSS and COS compute it, if crcmod's C extension is there (its pure-Python
    fallback runs at ~1 MB/s: then no checksum is computed rather than slowing every upload)."""
    try:
        import crcmod
        from crcmod import _crcfunext  # noqa: F401  (only to learn that the fast version exists)
    except ImportError:
        return None
    crc64: Callable[[bytes, int], int] = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF,
                                                         rev=True)
    return crc64


crc64 = _crc64_function()


# What _run's actions are called in a Chinese sentence ("拒绝上传").
_ACTIONS_ZH = {"upload": "上传", "start a multipart upload": "开始分片上传",
               "complete the multipart upload": "完成分片上传", "read": "读取", "look up": "查询",
               "delete objects": "删除对象"}


@dataclass(frozen=True)
class Failure:
    """What went wrong in one SDK call, as a driver reads it from the SDK's exception.

    ``kind``: "network" / "busy" (retried), "auth", "clock", "no_bucket", "not_found", "corrupt"
    (retried), "other". ``status`` is the HTTP status (None without a response).
    """

    kind: str
    status: int | None = None
    code: str = ""
    message: str = ""
    request_id: str = ""

    @property
    def transient(self) -> bool:
        return self.kind in ("network", "busy", "corrupt")


class _SourceError(Exception):
    """The source file ended early or could not be read while it was being sent (not retried)."""


class ChecksumMismatch(Exception):
    """The service's CRC-64 of the bytes it received (or sent) differs from ours."""


class _Slice:
    """``length`` bytes of ``f`` from ``offset``, read in COPY_BUFFER pieces; has a length for the
    HTTP client's Content-Length, and computes the CRC-64 of what it hands out."""

    def __init__(self, f: BinaryIO, offset: int, length: int):
        self._f, self._offset, self._length = f, offset, length
        self._left = length
        self.crc = 0
        f.seek(offset)

    def __len__(self) -> int:
        return self._length

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if n is None or n < 0 else min(n, self._left)
        try:
            data = self._f.read(min(want, COPY_BUFFER))
        except OSError as exc:
            raise _SourceError(f"cannot read the source: {exc}") from exc
        if not data:
            raise _SourceError(f"the source ended {self._left} bytes early (did the file change while it "
                               "was being uploaded?)")
        self._left -= len(data)
        if crc64 is not None:
            self.crc = crc64(data, self.crc)
        return data

    # Some HTTP clients ask a file-like body for its position and rewind it between attempts.
    def tell(self) -> int:
        return self._length - self._left

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 2 and pos == 0:
            return self._length
        if (whence, pos) != (0, 0):
            raise io.UnsupportedOperation("a slice can only be rewound")
        self._f.seek(self._offset)
        self._left, self.crc = self._length, 0
        return 0


@dataclass
class Download:
    """A GET in progress, as a driver returns it: ``read(n)`` gives up to n bytes (b"" at the end),
    ``close()`` releases the connection. ``total`` is the whole object's size, ``start`` where
    this response begins; ``etag`` and ``crc64`` (an int, or None) describe the whole object."""

    read: Callable[[int], bytes]
    close: Callable[[], None]
    total: int
    start: int
    etag: str
    crc64: int | None


class _ResumingReader(io.RawIOBase):
    """The object's bytes; a dropped connection is resumed with a Range GET from where it broke."""

    def __init__(self, storage: CloudStorage, key: str, okey: str, first: Download):
        super().__init__()
        self._storage, self._key, self._okey = storage, key, okey
        self._dl: Download | None = first
        self._pos = first.start
        self._total, self._etag, self._expected_crc = first.total, first.etag, first.crc64
        self._crc = 0
        self._resumes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer).cast("B")
        if not len(view):
            return 0
        while True:
            if self._pos >= self._total:
                self._finish()
                return 0
            try:
                if self._dl is None:
                    self._dl = self._storage._resume(self._key, self._okey, self._pos, self._etag)
                data = self._dl.read(min(len(view), COPY_BUFFER))
            except StorageError:
                raise
            except Exception as exc:  # noqa: BLE001 - SDK, urllib3 and socket errors all mean "resume"
                failure = self._storage._classify(exc)
                if failure is not None and not failure.transient:
                    raise self._storage._error("read", self._key, failure, 1) from exc
                self._retry(exc)
                continue
            if not data:  # the connection closed before the object's end
                self._retry(None)
                continue
            n = len(data)
            view[:n] = data
            self._pos += n
            if crc64 is not None and self._expected_crc is not None:
                self._crc = crc64(data, self._crc)
            return n

    def _retry(self, exc: BaseException | None) -> None:
        self._drop()
        self._resumes += 1
        if self._resumes >= self._storage.attempts:
            reason = f"{type(exc).__name__}: {exc}" if exc else "the connection closed early"
            raise StorageError(self._storage._scrub(
                f"the download from {self._storage.config.describe()} broke at byte {self._pos} of "
                f"{self._total} and could not be resumed after {self._resumes} attempts ({reason})"),
                backend=self._storage.name, key=self._key, kind="network") from exc
        log.info("%s: read of %s broke at %d/%d (%s); resuming", self._storage.name, self._key, self._pos,
                 self._total, exc or "connection closed")
        self._storage._sleep(self._storage._backoff_for(self._resumes))

    def _finish(self) -> None:
        if self._expected_crc is not None and crc64 is not None and self._crc != self._expected_crc:
            self._expected_crc = None  # report once
            raise StorageError(f"the object read from {self._storage.config.describe()} does not match the "
                               "service's checksum (CRC-64): corrupted in transit or at rest",
                               backend=self._storage.name, key=self._key, kind="corrupt")
        self._drop()

    def _drop(self) -> None:
        if self._dl is not None:
            with contextlib.suppress(Exception):
                self._dl.close()
            self._dl = None

    def close(self) -> None:
        self._drop()
        super().close()


class CloudStorage(MediaStorage):
    """The shared half of the OSS and COS backends (see the module docstring).

    ``config``: bucket, endpoint, region, prefix and access key id; ``secret``: the secret key (kept
    only to sign and to scrub messages). ``attempts`` counts tries per call (≥ 1); ``backoff`` is the
    first wait in seconds, doubling up to ``max_backoff``. ``timeout`` is per HTTP request (seconds).
    ``spool_dir`` holds the temp copies of non-seekable sources (default: the system temp folder).
    """

    name = "cloud"

    def __init__(self, config: CloudConfig, secret: str, *, attempts: int = 4, backoff: float = 0.5,
                 max_backoff: float = 8.0, timeout: float = 60.0, spool_dir: str | os.PathLike[str] | None = None,
                 part_size: int = PART_SIZE, multipart_threshold: int = MULTIPART_THRESHOLD):
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts}")
        if part_size < 1 * MiB:  # COS refuses parts under 1 MB (but the last), OSS under 100 KB
            raise ValueError(f"part_size must be at least 1 MiB, not {part_size}")
        if not secret:
            raise StorageError(f"no secret key for {config.describe()}", f"{config.describe()} 没有密钥",
                               backend=config.backend)
        self.config = config
        self._secret = secret
        self.attempts, self.backoff, self.max_backoff = attempts, backoff, max_backoff
        self.timeout = timeout
        self.spool_dir = Path(spool_dir) if spool_dir else None
        self.part_size, self.multipart_threshold = part_size, max(multipart_threshold, part_size)
        self._bucket_confirmed = False  # once the bucket is known to exist, a HEAD's 404 means "no such object"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.config.bucket} at {self.config.endpoint or self.config.region}>"

    def describe(self) -> str:
        return self.config.describe()

    # ------------------------------------------------------------------ what a driver implements
    @abstractmethod
    def _put_object(self, okey: str, body: _Slice, length: int, content_type: str | None) -> int | None:
        """One PUT of the whole object; the service's CRC-64 of what it stored, if it says."""

    @abstractmethod
    def _initiate(self, okey: str, content_type: str | None) -> str:
        """Start a multipart upload; its upload id."""

    @abstractmethod
    def _upload_part(self, okey: str, upload_id: str, number: int, body: _Slice, length: int) -> tuple[str, int | None]:
        """One part; its ETag and the service's CRC-64 of it (or None)."""

    @abstractmethod
    def _complete(self, okey: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Assemble the parts (number, ETag) into the object."""

    @abstractmethod
    def _abort(self, okey: str, upload_id: str) -> None:
        """Drop an unfinished multipart upload and its parts."""

    @abstractmethod
    def _get(self, okey: str, start: int, if_match: str | None) -> Download:
        """GET the object from byte ``start`` (a Range GET when > 0)."""

    @abstractmethod
    def _head(self, okey: str) -> int | None:
        """The object's size, or None when the service answers 404."""

    @abstractmethod
    def _delete_many(self, okeys: list[str]) -> list[str]:
        """Delete up to DELETE_BATCH objects in one request; the object keys that failed."""

    @abstractmethod
    def _sign_get(self, okey: str, expires_in: int) -> str:
        """A pre-signed GET URL."""

    @abstractmethod
    def _classify_sdk(self, exc: BaseException) -> Failure | None:
        """The Failure an SDK exception stands for, or None if it is not the SDK's."""

    # ------------------------------------------------------------------ keys, retries, errors
    def _okey(self, key: str) -> str:
        return self.config.prefix + check_key(key, self.name)

    def _backoff_for(self, attempt: int) -> float:
        return float(min(self.backoff * 2 ** (attempt - 1), self.max_backoff))

    @staticmethod
    def _sleep(seconds: float) -> None:
        time.sleep(seconds)

    def _classify(self, exc: BaseException) -> Failure | None:
        if isinstance(exc, ChecksumMismatch):
            return Failure("corrupt", message=str(exc))
        failure = self._classify_sdk(exc)
        if failure is not None:
            return failure
        import requests
        import urllib3

        if isinstance(exc, requests.RequestException | urllib3.exceptions.HTTPError | http.client.HTTPException
                      | ConnectionError | TimeoutError):
            return Failure("network", message=network_reason(exc))
        return None

    def _run(self, action: str, key: str | None, fn: Callable[[], T]) -> T:
        """``fn()`` with retries of transient failures; any failure as a StorageError."""
        attempts = 0

        def once() -> T:
            nonlocal attempts
            attempts += 1
            return fn()

        def transient(exc: BaseException) -> bool:
            if _source_error(exc) is not None:
                return False
            failure = self._classify(exc)
            return failure is not None and failure.transient

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff, max=self.max_backoff) + wait_random(0, self.backoff / 2),
            retry=retry_if_exception(transient), sleep=self._sleep, reraise=True,
            before_sleep=lambda state: log.info(
                "%s: %s %s failed (attempt %d: %s); retrying", self.name, action, key or "", state.attempt_number,
                self._scrub(str(state.outcome.exception()) if state.outcome else "?")))
        try:
            result = retrying(once)
        except StorageError:
            raise
        except Exception as exc:
            source = _source_error(exc)
            if source is not None:
                raise StorageError(f"{source}; nothing stored", backend=self.name, key=key) from exc
            failure = self._classify(exc)
            if failure is None:
                raise
            raise self._error(action, key, failure, attempts) from exc
        return result

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def _error(self, action: str, key: str | None, f: Failure, attempts: int) -> StorageError:
        c = self.config
        where = c.describe()
        detail = ", ".join(x for x in (f"HTTP {f.status}" if f.status and f.status > 0 else "", f.code,
                                       f"request id {f.request_id}" if f.request_id else "") if x)
        detail = f" ({detail})" if detail else ""
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        id_name = "AccessKey ID" if c.backend == "oss" else "SecretId"
        act = _ACTIONS_ZH.get(action.split(" part ")[0], action)  # "upload part 3": as "upload"
        place = c.endpoint or "region " + c.region
        place_zh = c.endpoint or "地域 " + c.region
        tries_zh = f"（已尝试 {attempts} 次）" if attempts > 1 else ""
        if f.kind == "not_found":
            return MediaNotFoundError(f"no such object in {where}", f"{where} 中没有这个对象", backend=self.name,
                                      key=key)
        if f.kind == "auth":
            why, why_zh = {
                "SignatureDoesNotMatch": (f"the secret key does not match the {id_name} {c.access_key_id!r}",
                                          f"密钥与 {id_name} {c.access_key_id!r} 不匹配"),
                "InvalidAccessKeyId": (f"the {id_name} {c.access_key_id!r} is not known to the service",
                                       f"服务不认识 {id_name} {c.access_key_id!r}"),
            }.get(f.code, (f"access was denied to the {id_name} {c.access_key_id!r}",
                           f"{id_name} {c.access_key_id!r} 被拒绝访问"))
            message = (f"{c.service} refused to {action}: {why}{detail}. Check the {id_name}, its secret key "
                       f"and its permissions on the bucket in Settings → Media")
            message_zh = (f"{c.service} 拒绝{act}：{why_zh}{detail}。请在“设置 → 媒体”中检查 {id_name}、其密钥"
                          f"及其对存储桶的权限")
        elif f.kind == "clock":
            message = (f"{c.service} refused to {action}: this computer's clock is too far from the service's"
                       f"{detail}. Set the clock right (signatures are valid for 15 minutes)")
            message_zh = f"{c.service} 拒绝{act}：本机时钟与服务的时间相差太大{detail}。请校准时钟（签名 15 分钟内有效）"
        elif f.kind == "no_bucket":
            message = (f"the bucket {c.bucket!r} does not exist at {place}{detail}. "
                       "Check the bucket name and region (or endpoint) in Settings → Media")
            message_zh = (f"存储桶 {c.bucket!r} 在 {place_zh} 不存在{detail}。"
                          "请在“设置 → 媒体”中检查存储桶名称和地域（或服务地址）")
        elif f.kind == "network":
            message = (f"cannot reach {c.service} at {place} to {action}{tries} "
                       f"({f.message}). Check the network connection and the endpoint")
            message_zh = f"无法连接 {place_zh} 的 {c.service} 以{act}{tries_zh}（{f.message}）。请检查网络连接和服务地址"
        elif f.kind == "busy":
            message = (f"{c.service} is busy or unavailable{detail}; could not {action}{tries}. "
                       "It is throttling or failing requests: try again later")
            message_zh = f"{c.service} 繁忙或不可用{detail}，未能{act}{tries_zh}。它正在限流或请求失败：请稍后再试"
        elif f.kind == "corrupt":
            message = f"the data was corrupted in transit to or from {where}{tries}: {f.message}"
            message_zh = f"与 {where} 之间传输的数据已损坏{tries_zh}：{f.message}"
        else:
            text = f": {f.message}" if f.message else ""
            message = f"{where} could not {action}{detail}{text}"
            message_zh = f"{where} 未能{act}{detail}" + (f"：{f.message}" if f.message else "")
        error = StorageError(self._scrub(message), self._scrub(message_zh), backend=self.name, key=key, kind=f.kind)
        error.code = f.code
        return error

    # ------------------------------------------------------------------ MediaStorage
    def put(self, key: str, stream: BinaryIO, *, size: int | None = None,
            content_type: str | None = None) -> None:
        """Upload everything ``stream`` yields (see the module docstring); atomic for readers.

        Raises StorageError (a size mismatch stores nothing); exceptions other than OSError raised
        by ``stream.read`` propagate unchanged.
        """
        okey = self._okey(key)
        with self._seekable(stream, key) as (f, start, length):
            if size is not None and length != size:
                raise StorageError(f"expected {size} bytes from the source, got {length}; nothing stored",
                                   backend=self.name, key=key)
            if length <= self.multipart_threshold:
                self._run("upload", key, lambda: self._checked_put(okey, f, start, length, content_type))
            else:
                self._multipart(key, okey, f, start, length, content_type)
        self._bucket_confirmed = True

    def _checked_put(self, okey: str, f: BinaryIO, start: int, length: int, content_type: str | None) -> None:
        body = _Slice(f, start, length)
        remote = self._put_object(okey, body, length, content_type)
        _compare_crc(body, remote, "upload")

    def _multipart(self, key: str, okey: str, f: BinaryIO, start: int, length: int,
                   content_type: str | None) -> None:
        part = max(self.part_size, math.ceil(length / MAX_PARTS / MiB) * MiB)
        upload_id = self._run("start a multipart upload", key, lambda: self._initiate(okey, content_type))
        try:
            parts: list[tuple[int, str]] = []
            for number, offset in enumerate(range(0, length, part), 1):
                n = min(part, length - offset)

                def send(number: int = number, offset: int = offset, n: int = n) -> str:
                    body = _Slice(f, start + offset, n)
                    etag, remote = self._upload_part(okey, upload_id, number, body, n)
                    _compare_crc(body, remote, f"upload of part {number}")
                    return etag

                parts.append((number, self._run(f"upload part {number}", key, send)))
            self._run("complete the multipart upload", key, lambda: self._complete_once(okey, upload_id, parts, length))
        except BaseException:
            try:
                self._abort(okey, upload_id)
            except Exception as exc:  # noqa: BLE001 - the upload failed already; say why that failed
                log.warning("%s: could not abort the multipart upload of %s (%s); the bucket's lifecycle rule "
                            "should remove its parts", self.name, key, self._scrub(str(exc)))
            raise

    def _complete_once(self, okey: str, upload_id: str, parts: list[tuple[int, str]], length: int) -> None:
        try:
            self._complete(okey, upload_id, parts)
        except Exception as exc:
            # A retried "complete" whose first answer was lost finds the upload gone: the object is there.
            failure = self._classify(exc)
            if failure is not None and failure.kind == "not_found" and self._head(okey) == length:
                return
            raise

    @contextlib.contextmanager
    def _seekable(self, stream: BinaryIO, key: str):
        """(file, start, length) of the source: the stream itself if it can seek, else a temp copy."""
        seekable = False
        with contextlib.suppress(AttributeError, OSError, ValueError):
            seekable = bool(stream.seekable())
        if seekable:
            try:
                start = stream.tell()
                end = stream.seek(0, os.SEEK_END)
                stream.seek(start)
            except OSError as exc:
                raise StorageError(f"cannot read the source: {exc}", backend=self.name, key=key) from exc
            yield stream, start, end - start
            return
        if self.spool_dir is not None:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
        try:
            spool = tempfile.TemporaryFile(prefix="upload-", dir=self.spool_dir)  # noqa: SIM115
        except OSError as exc:
            raise StorageError(f"cannot create a temp file to upload from: {exc}", backend=self.name,
                               key=key) from exc
        with spool:
            try:
                length = copy_stream(stream, spool)
            except OSError as exc:
                raise StorageError(f"cannot read the source or write its temp copy: {exc}; nothing stored",
                                   backend=self.name, key=key) from exc
            yield spool, 0, length

    def open(self, key: str) -> BinaryIO:
        """The object as a buffered stream (resumes a broken connection); MediaNotFoundError if absent."""
        okey = self._okey(key)
        first = self._run("read", key, lambda: self._get(okey, 0, None))
        self._bucket_confirmed = True
        return io.BufferedReader(_ResumingReader(self, key, okey, first), buffer_size=COPY_BUFFER)

    def _resume(self, key: str, okey: str, start: int, etag: str) -> Download:
        dl = self._run("read", key, lambda: self._get(okey, start, etag or None))
        if dl.start != start:
            dl.close()
            raise StorageError(f"{self.config.describe()} ignored a Range request; the read cannot be resumed",
                               backend=self.name, key=key, kind="other")
        return dl

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        okey = self._okey(key)
        try:
            size = self._run("look up", key, lambda: self._head(okey))
        except StorageError as exc:
            if exc.kind in ("auth", "clock", "other") and not getattr(exc, "code", ""):
                # A refused HEAD has no error body: a GET's error says what is wrong (its StorageError).
                self._probe_bucket(key, okey)
            raise
        if size is not None:
            self._bucket_confirmed = True
        elif not self._bucket_confirmed:
            self._probe_bucket(key, okey)
        return size

    def _probe_bucket(self, key: str, okey: str) -> None:
        """A HEAD's 404 has no body, so it cannot tell a missing object from a missing bucket: ask once
        with a GET, whose error says which (StorageError for a missing bucket)."""
        try:
            dl = self._run("look up", key, lambda: self._get(okey, 0, None))
        except MediaNotFoundError:
            self._bucket_confirmed = True
            return
        with contextlib.suppress(Exception):
            dl.close()
        self._bucket_confirmed = True

    def delete(self, keys: Iterable[str]) -> list[str]:
        """Delete in batches of 1000; the keys that could not be deleted (a missing key counts as
        deleted). A batch the service refuses counts as failed and is logged; never raises."""
        failed: list[str] = []
        batch: dict[str, str] = {}

        def flush() -> None:
            okeys = list(batch)
            try:
                bad = self._run("delete objects", None, lambda: self._delete_many(okeys))
            except StorageError as exc:
                log.warning("%s", exc)
                failed.extend(batch.values())
            else:
                failed.extend(batch[o] for o in bad if o in batch)
            batch.clear()

        for key in keys:
            try:
                batch[self._okey(key)] = key
            except StorageError:
                failed.append(key)
                continue
            if len(batch) >= DELETE_BATCH:
                flush()
        if batch:
            flush()
        return failed

    def signed_url(self, key: str, expires_in: int = 3600) -> str:
        """A pre-signed GET URL valid for ``expires_in`` seconds (1 s to 7 days); made locally, without a
        request, whether or not the object exists. It holds the access key id and a signature, not
        the secret."""
        if not isinstance(expires_in, int) or not 0 < expires_in <= MAX_URL_EXPIRY:
            raise ValueError(f"expires_in must be 1 to {MAX_URL_EXPIRY} seconds, not {expires_in!r}")
        return self._sign_get(self._okey(key), expires_in)


def _source_error(exc: BaseException) -> _SourceError | None:
    """The _SourceError behind ``exc`` (SDKs wrap what the body raised), if any."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, _SourceError):
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


def _compare_crc(body: _Slice, remote: int | None, what: str) -> None:
    if crc64 is not None and remote is not None and body.crc != remote:
        raise ChecksumMismatch(f"the {what} arrived with CRC-64 {remote}, sent {body.crc}")


_NETWORK_REASONS = (
    ("refused", "connection refused"),
    ("timed out", "timed out"),
    ("timeout", "timed out"),
    ("name or service not known", "host name not found"),
    ("nodename nor servname", "host name not found"),
    ("getaddrinfo failed", "host name not found"),
    ("temporary failure in name resolution", "host name not found"),
    ("certificate verify failed", "TLS certificate not trusted"),
    ("ssl", "TLS error"),
    ("remotedisconnected", "the connection was closed by the server"),
    ("connection aborted", "the connection was closed by the server"),
    ("reset by peer", "the connection was reset"),
    ("broken pipe", "the connection was closed by the server"),
    ("incompleteread", "the connection closed in the middle of a response"),
    ("connection broken", "the connection closed in the middle of a response"),
    ("network is unreachable", "network unreachable"),
)


def network_reason(exc: BaseException) -> str:
    """A few words for a network failure (the HTTP libraries' own texts run to several lines)."""
    text = f"{type(exc).__name__}: {exc}".lower()
    for needle, reason in _NETWORK_REASONS:
        if needle in text:
            return reason
    return type(exc).__name__


def parse_crc(value: Any) -> int | None:
    """A CRC-64 header value as an int (None if absent or not a number)."""
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
