"""LocalStorage: media objects as files in a folder (the single-workstation default).

Layout: ``root/<key>``, e.g. ``root/wwcorp/3f/a9/3fa9...e1.jpg``. Guarantees:

* **Atomic writes.** An object is written to a hidden temp file (``.<name>.<random>.part``) in
  its final folder, flushed and fsync'ed, made read-only, then ``os.replace``'d onto its key; the
  folder is fsync'ed afterwards (POSIX). A crash or a failing source never leaves a partial object
  under a key; at worst a ``.part`` file remains, which :meth:`LocalStorage.remove_stale_partials`
  sweeps.
* **Read-only objects.** Objects are content-addressed and never change, so they are stored with
  mode ``file_mode`` (default ``0o400``: owner read-only). That stops a viewer opened on the
  ``file://`` URL, or any other program, from silently altering archived evidence, and keeps the
  chats private to the account that archives them. Deleting still works (it needs write access
  to the folder, not the file; on Windows the read-only flag is cleared first).
* **Hostile keys are refused** (:func:`~app.core.media.storage.check_key`), and so is any key
  whose real path (symlinks followed) leaves ``root``.

Empty fan-out folders are left in place after deletes: removing them could race with a
concurrent put into the same folder, and at most 65,536 exist per corp.
Thread-safe: the instance holds no mutable state.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.core.config.paths import AppPaths
from app.core.config.settings import StorageSection

from .registry import FormField, StorageBackend, Text, register_backend
from .storage import MediaNotFoundError, MediaStorage, StorageError, check_key, copy_stream

__all__ = ["LOCAL", "LocalSettings", "LocalStorage"]

PARTIAL_SUFFIX = ".part"


class LocalStorage(MediaStorage):
    """Objects as files under ``root`` (created if missing)."""

    name = "local"

    def __init__(self, root: str | os.PathLike[str], *, file_mode: int = 0o400):
        root_path = Path(root).expanduser()
        try:
            root_path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the media folder {root_path}: {exc}",
                               f"无法创建媒体文件夹 {root_path}：{exc}", backend=self.name) from exc
        self.root = root_path.resolve()
        self.file_mode = file_mode

    def __repr__(self) -> str:
        return f"<LocalStorage {self.root}>"

    def describe(self) -> str:
        return f"the media folder {self.root}"

    def test_connection(self) -> tuple[str, str]:
        """Check that the folder can be written (a temp file made and removed): a sentence on success
        (English, Chinese), StorageError saying what is wrong otherwise."""
        started = time.monotonic()
        try:
            fd, probe = tempfile.mkstemp(prefix=".wecom-auditor-probe-", dir=self.root)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise StorageError(f"cannot write in the media folder {self.root}: {exc.strerror or exc}",
                               f"无法在媒体文件夹 {self.root} 中写入：{exc.strerror or exc}", backend=self.name) from exc
        ms = (time.monotonic() - started) * 1000
        return (f"The media folder {self.root} is writable ({ms:.0f} ms).",
                f"媒体文件夹 {self.root} 可以写入（{ms:.0f} 毫秒）。")

    # ----------------------------------------------------------------- paths

    def path_for(self, key: str) -> Path:
        """The absolute file path of ``key`` (whether or not it exists). Raises StorageError for a bad key."""
        check_key(key, self.name)
        path = self.root / key
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(self.root):
            raise StorageError(f"key resolves outside the media folder {self.root}", backend=self.name, key=key)
        return path

    def _error(self, action: str, key: str, exc: OSError) -> StorageError:
        where = f" {exc.filename}" if exc.filename else ""
        return StorageError(f"cannot {action}{where}: {exc.strerror or exc} (errno {exc.errno})",
                            backend=self.name, key=key)

    def _temp_path(self, final: Path) -> Path:
        return final.with_name(f".{final.name}.{uuid.uuid4().hex}{PARTIAL_SUFFIX}")

    # ----------------------------------------------------------------- writes

    def put(self, key: str, stream: BinaryIO, *, size: int | None = None,
            content_type: str | None = None) -> None:
        """Copy ``stream`` (1 MiB at a time) into a temp file, then atomically onto ``key``.

        ``content_type`` is ignored here (files carry no metadata). Raises StorageError.
        """
        final = self.path_for(key)
        tmp = self._temp_path(final)
        try:
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                # mkstemp-like: exclusive create, private until it is complete.
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
            except OSError as exc:
                raise self._error("create a file in", key, exc) from exc
            with os.fdopen(fd, "wb") as out:
                try:
                    written = copy_stream(stream, out)
                    out.flush()
                    os.fsync(out.fileno())
                except OSError as exc:
                    raise self._error("write", key, exc) from exc
            if size is not None and written != size:
                raise StorageError(f"expected {size} bytes from the source, got {written}; nothing stored",
                                   backend=self.name, key=key)
            self._commit(tmp, final, key)
        finally:
            with contextlib.suppress(OSError):
                _unlink(tmp)

    def put_file(self, key: str, path: Path) -> None:
        """Move ``path`` onto ``key`` when it is on the same filesystem (atomic rename), else copy it.

        The file is fsync'ed before the rename. After the call ``path`` no longer exists if it was
        moved; the caller may unlink it with ``missing_ok=True`` either way. Raises StorageError.
        """
        src = Path(path)
        final = self.path_for(key)
        tmp = self._temp_path(final)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            with open(src, "r+b") as f:
                os.fsync(f.fileno())
            # First into a temp name beside the key: it fails with EXDEV across filesystems while
            # ``src`` is still untouched, and the key only ever sees a complete read-only file.
            os.rename(src, tmp)
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.EPERM, errno.EACCES) and src.exists():
                # Another filesystem (or a file we may not move): copy it instead.
                return super().put_file(key, src)
            raise self._error("move a file into", key, exc) from exc
        try:
            self._commit(tmp, final, key)
        finally:
            with contextlib.suppress(OSError):
                _unlink(tmp)

    def _commit(self, tmp: Path, final: Path, key: str) -> None:
        try:
            os.chmod(tmp, self.file_mode)
            try:
                os.replace(tmp, final)
            except PermissionError:
                if sys.platform != "win32" or not final.exists():
                    raise
                # Windows refuses to replace a read-only file; it holds the same bytes (content
                # addressing), but replace anyway so the semantics match other platforms.
                os.chmod(final, stat.S_IWRITE | stat.S_IREAD)
                os.replace(tmp, final)
        except OSError as exc:
            raise self._error("store", key, exc) from exc
        _fsync_dir(final.parent)

    # ----------------------------------------------------------------- reads

    def open(self, key: str) -> BinaryIO:
        path = self.path_for(key)
        try:
            return path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise MediaNotFoundError("no such object", backend=self.name, key=key) from None
        except PermissionError as exc:
            if path.is_dir():  # Windows reports a folder as permission denied
                raise MediaNotFoundError("no such object", backend=self.name, key=key) from None
            raise self._error("open", key, exc) from exc
        except OSError as exc:
            raise self._error("open", key, exc) from exc

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def size(self, key: str) -> int | None:
        path = self.path_for(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise self._error("stat", key, exc) from exc
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    def signed_url(self, key: str, expires_in: int = 3600) -> str:
        """A ``file://`` URL of the object's path.

        ``expires_in`` only has to be positive: a local file URL cannot expire, and access is
        governed by the file's permissions. Like a cloud pre-signed URL, it is returned whether or
        not the object exists.
        """
        if expires_in <= 0:
            raise ValueError(f"expires_in must be a positive number of seconds, not {expires_in}")
        return self.path_for(key).as_uri()

    # ----------------------------------------------------------------- deletes

    def delete(self, keys: Iterable[str]) -> list[str]:
        """Delete the objects; the keys that could not be deleted (refused keys included).

        A missing key counts as deleted. Never raises for a single key.
        """
        failed: list[str] = []
        for key in keys:
            try:
                path = self.path_for(key)
            except StorageError:
                failed.append(key)
                continue
            try:
                _unlink(path)
            except FileNotFoundError:
                pass
            except OSError:
                failed.append(key)
        return failed

    def remove_stale_partials(self, older_than: float = 24 * 3600) -> int:
        """Delete temp files that a crashed put left behind (older than ``older_than`` seconds).

        Walks the whole folder: call it from maintenance, not per download. Returns how many
        files were removed.
        """
        cutoff = time.time() - older_than
        removed = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if not (name.startswith(".") and name.endswith(PARTIAL_SUFFIX)):
                    continue
                path = Path(dirpath, name)
                with contextlib.suppress(OSError):
                    if path.stat().st_mtime < cutoff:
                        _unlink(path)
                        removed += 1
        return removed


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except PermissionError:
        if sys.platform != "win32" or not os.path.isfile(path):
            raise
        os.chmod(path, stat.S_IWRITE | stat.S_IREAD)  # Windows will not delete a read-only file
        os.unlink(path)


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    if sys.platform == "win32":
        return
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------- declaration

@dataclass
class LocalSettings(StorageSection):
    """``storage.local``: the folder (``""``: ``<data dir>/media``)."""

    name = "local"
    folder: str = ""

    def root(self, paths: AppPaths) -> Path:
        return Path(self.folder).expanduser() if self.folder else paths.media_dir

    def describe(self, paths: AppPaths) -> str:
        return f"local folder {self.root(paths)}"


def _open_local(section: LocalSettings, paths: AppPaths, secret: None, **options: object) -> LocalStorage:
    return LocalStorage(section.root(paths))


LOCAL = register_backend(StorageBackend(
    section=LocalSettings,
    title=Text("A folder on this computer", "本机文件夹"),
    open=_open_local,
    fields=(FormField("folder", Text("Local folder:", "本地文件夹："), placeholder=lambda paths: str(paths.media_dir),
                      kind="folder"),),
    note=Text("Leave it empty for the default folder. For a team, use a bucket: every workstation then reads the "
              "same files.", "留空则使用默认文件夹。团队使用时请选择存储桶：各工作站将读取同一份文件。"),
    order=0,
))
