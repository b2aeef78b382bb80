"""The media storage interface (the seed's ``FileStorageInterface``, made Pythonic) and object keys.

A backend stores opaque objects under string keys: :class:`~app.core.media.local.LocalStorage`
(a folder), :class:`~app.core.media.oss.OssStorage` (Aliyun OSS) and
:class:`~app.core.media.cos.CosStorage` (Tencent COS). Every backend must

* make ``put``/``put_file`` atomic: an object is either absent or complete under its key, never
  partial, even after a crash or a failing source stream;
* accept a second ``put`` of an existing key (keys are content-addressed, so it is the same bytes);
* raise :class:`StorageError` (never a bare ``OSError`` or SDK exception) with the backend and key
  in the message, and :class:`MediaNotFoundError` when an object is missing;
* be safe to call from several threads at once.

Keys come from :func:`media_key`: ``{corpid}/{sha[0:2]}/{sha[2:4]}/{sha}[.ext]``. Nothing a chat
message says (a file name, a title) ever becomes part of a key.
"""

from __future__ import annotations

import io
import os
import re
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from app.core.errors import SaidInTwoLanguages

__all__ = [
    "MediaNotFoundError", "MediaStorage", "StorageError", "check_key", "copy_stream", "media_key",
    "validate_corpid",
]

_CORPID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_EXT_RE = re.compile(r"[a-z0-9]{1,8}")
MAX_KEY_LENGTH = 1024

COPY_BUFFER = 1024 * 1024  # bytes per read when copying a stream into a backend


class StorageError(SaidInTwoLanguages):
    """A storage backend could not do what was asked. ``backend`` and ``key`` say where. The
    sentences a person meets on Settings → Media (a refused or unreachable service, a folder that
    cannot be written) are also written in Chinese (``message_zh``); the others fall back to English.

    ``kind`` (cloud backends) says what failed: "auth" (credentials or permissions), "clock",
    "no_bucket", "network", "busy" (throttled or unavailable after retries), "corrupt", "other";
    None when unknown. :attr:`backend_unusable` is true for the kinds that every request would hit.
    """

    code: str  # the service's own error code, when a cloud backend had one (may be unset)

    def __init__(self, message: str, message_zh: str | None = None, *, backend: str, key: str | None = None,
                 kind: str | None = None):
        self.backend = backend
        self.key = key
        self.reason = message
        self.kind = kind
        where = f"{backend} storage" + (f", key {key!r}" if key is not None else "")
        where_zh = f"{backend} 存储" + (f"，键 {key!r}" if key is not None else "")
        super().__init__(f"{where}: {message}", f"{where_zh}：{message_zh}" if message_zh else None)


    @property
    def backend_unusable(self) -> bool:
        return self.kind in ("auth", "clock", "no_bucket", "network", "busy")


class MediaNotFoundError(StorageError):
    """No object is stored under the key."""


def validate_corpid(corpid: str) -> str:
    """``corpid`` if it is a plausible WeCom corp id (``[A-Za-z0-9_-]{1,64}``); else ValueError."""
    if not isinstance(corpid, str) or not _CORPID_RE.fullmatch(corpid):
        raise ValueError(f"invalid corp id for a media key: {corpid!r} (expected [A-Za-z0-9_-], 1-64 chars)")
    return corpid


def media_key(corpid: str, sha256_hex: str, ext: str | None) -> str:
    """The content-addressed key of a media file: ``{corpid}/{sha[0:2]}/{sha[2:4]}/{sha}[.ext]``.

    ``sha256_hex`` is the SHA-256 of the file's bytes as 64 lowercase hex digits. ``ext`` is kept
    (lowercased, one leading dot dropped) only if it is 1-8 characters of ``[a-z0-9]``; anything
    else (a file name from a message, ``"tar.gz"``, ``"../x"``) is dropped and the key has no
    extension. The two fan-out levels keep any one folder below ~65k entries per corp.

    Raises ValueError for a malformed corp id or hash.
    """
    validate_corpid(corpid)
    if not isinstance(sha256_hex, str) or not _SHA256_RE.fullmatch(sha256_hex):
        raise ValueError(f"invalid SHA-256 for a media key: {sha256_hex!r} (expected 64 lowercase hex digits)")
    key = f"{corpid}/{sha256_hex[0:2]}/{sha256_hex[2:4]}/{sha256_hex}"
    if isinstance(ext, str):
        clean = ext.lower()
        if clean.startswith("."):
            clean = clean[1:]
        if _EXT_RE.fullmatch(clean):
            key += "." + clean
    return key


def check_key(key: str, backend: str) -> str:
    """``key`` if it is a safe relative object key; else StorageError.

    Refused: empty or over 1024 characters, absolute (leading ``/``), containing ``..``, a
    backslash, a colon (Windows drive letters and streams), a NUL or other control character, or
    an empty path segment (``a//b``, a trailing ``/``). Every backend calls this, so a key that
    works on one backend works on all.
    """
    if not isinstance(key, str) or not key:
        raise StorageError("empty or non-string key refused", backend=backend, key=repr(key))
    if len(key) > MAX_KEY_LENGTH:
        raise StorageError(f"key longer than {MAX_KEY_LENGTH} characters refused", backend=backend,
                           key=key[:60] + "...")
    reason = None
    if key.startswith("/"):
        reason = "absolute key refused"
    elif ".." in key:
        reason = "key containing '..' refused"
    elif "\\" in key:
        reason = "key containing a backslash refused"
    elif ":" in key:
        reason = "key containing ':' refused"
    elif any(ord(c) < 0x20 or c == "\x7f" for c in key):
        reason = "key containing a NUL or control character refused"
    elif any(part in ("", ".") for part in key.split("/")):
        reason = "key with an empty or '.' path segment refused"
    if reason:
        raise StorageError(reason, backend=backend, key=key)
    return key


class MediaStorage(ABC):
    """Where media objects live. Implementations are thread-safe; all sizes are in bytes."""

    name: str = "abstract"

    @abstractmethod
    def put(self, key: str, stream: BinaryIO, *, size: int | None = None,
            content_type: str | None = None) -> None:
        """Store everything ``stream`` yields (read in chunks, never whole) under ``key``, atomically.

        ``size``, when given, is the number of bytes the stream must yield; a different count
        raises StorageError and stores nothing. ``content_type`` is a hint for cloud backends.
        An existing object under ``key`` is replaced. The stream is read, not closed.
        Raises StorageError; an exception raised by ``stream.read`` other than OSError propagates
        unchanged (and nothing is stored).
        """

    def put_file(self, key: str, path: Path) -> None:
        """Store the file at ``path`` under ``key``.

        The backend may *move* the file instead of copying it (LocalStorage does on the same
        filesystem): the caller hands the file over and must not use ``path`` afterwards, other
        than deleting it if it still exists.
        """
        path = Path(path)
        try:
            f = path.open("rb")
        except OSError as exc:
            raise StorageError(f"cannot read source file {path}: {exc}", backend=self.name, key=key) from exc
        with f:
            self.put(key, f, size=_file_size(f))

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """The object as a binary stream to read (the caller closes it). Raises MediaNotFoundError."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``. Raises StorageError if the backend cannot tell."""

    @abstractmethod
    def delete(self, keys: Iterable[str]) -> list[str]:
        """Delete the objects; return the keys that could NOT be deleted (a missing key counts as deleted)."""

    @abstractmethod
    def signed_url(self, key: str, expires_in: int = 3600) -> str:
        """A URL that reads the object for ``expires_in`` seconds (cloud backends sign it)."""

    @abstractmethod
    def size(self, key: str) -> int | None:
        """The object's size in bytes, or None if it does not exist."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def describe(self) -> str:
        """Where the objects are, for messages (never a secret)."""
        return f"the {self.name} storage"

    def test_connection(self) -> tuple[str, str]:
        """Check that media can be stored here: write, read back and delete a small object; a sentence on
        success (English, Chinese). Raises StorageError saying what is wrong (credentials, bucket,
        network, permissions). Blocking (for a cloud backend, a few requests): call it off the GUI thread."""
        started = time.monotonic()
        key = f".wecom-auditor-probe/{uuid.uuid4().hex}"
        payload = f"wecom-auditor connection test {uuid.uuid4().hex}\n".encode()
        self.put(key, io.BytesIO(payload), size=len(payload), content_type="text/plain")
        try:
            with self.open(key) as f:
                back = f.read(len(payload) + 1)
            if back != payload:
                raise StorageError(f"{self.describe()} returned different bytes for a test object",
                                   f"{self.describe()} 读回的测试对象与写入的不同", backend=self.name, key=key)
        finally:
            failed = self.delete([key])
        if failed:
            raise StorageError(f"{self.describe()}: the test object was written and read but could not "
                               "be deleted (the key may lack delete permission)",
                               f"{self.describe()}：测试对象已写入并读回，但无法删除（密钥可能没有删除权限）",
                               backend=self.name, key=key)
        ms = (time.monotonic() - started) * 1000
        return (f"Connected to {self.describe()}: wrote, read and deleted a test object in {ms:.0f} ms.",
                f"已连接 {self.describe()}：在 {ms:.0f} 毫秒内写入、读回并删除了一个测试对象。")


def _file_size(f: BinaryIO) -> int | None:
    try:
        return os.fstat(f.fileno()).st_size
    except (OSError, AttributeError, ValueError):
        return None


def copy_stream(stream: BinaryIO, out: BinaryIO) -> int:
    """Copy ``stream`` to ``out`` in COPY_BUFFER pieces; the number of bytes copied."""
    total = 0
    while True:
        chunk = stream.read(COPY_BUFFER)
        if not chunk:
            return total
        out.write(chunk)
        total += len(chunk)
