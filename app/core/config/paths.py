"""Where the app keeps its files, and keeping them private to the user.

Default: the platform's user directories (platformdirs). ``--data-dir DIR`` or the environment
variable ``WECOM_AUDITOR_DATA_DIR`` puts everything (settings, archive, media, logs) under DIR.

On POSIX everything the app writes is private to the user who runs it: :meth:`AppPaths.ensure`
sets the process umask to 077 (so every file and folder made later by this process and its
children — the archive and its -wal/-shm, media, the spool, logs, the search index, exports — is
0600/0700 at most) and takes the group and other bits off what is already there.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "wecom-auditor"
DATA_DIR_ENV = "WECOM_AUDITOR_DATA_DIR"
PRIVATE_UMASK = 0o077
PRIVATE_DIR_MODE = 0o700
# Written once the whole tree under the data folder has been made private (see AppPaths.ensure).
PRIVATE_MARKER = ".private-v1"

log = logging.getLogger(__name__)


def is_posix() -> bool:
    return os.name == "posix"


def make_process_private() -> None:
    """Set the umask to 077 on POSIX: files and folders created from now on by this process (and the
    processes it starts) are readable by their owner only. No-op elsewhere."""
    if is_posix():
        os.umask(PRIVATE_UMASK)


def make_private(path: Path) -> None:
    """Take the group and other permission bits off ``path`` (a file or folder; not following a
    symlink). A folder becomes 0700, a file keeps its owner bits (0644 → 0600, a read-only 0444 →
    0400). Missing paths, symlinks and paths owned by someone else are left alone. No-op off POSIX."""
    if not is_posix():
        return
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid():
        return
    mode = stat.S_IMODE(st.st_mode)
    wanted = PRIVATE_DIR_MODE if stat.S_ISDIR(st.st_mode) else mode & 0o700
    if mode != wanted:
        try:
            os.chmod(path, wanted)
        except OSError as exc:  # e.g. a read-only file system: say so, do not stop the app
            log.warning("cannot make %s private: %s", path, exc)


def make_tree_private(root: Path) -> None:
    """:func:`make_private` on ``root`` and everything below it (symlinks are not followed)."""
    if not is_posix() or not root.is_dir():
        return
    make_private(root)
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        for name in (*dirs, *files):
            make_private(base / name)


def private_mkdir(path: Path) -> None:
    """Create ``path`` (and missing parents) as 0700 folders; an existing one is made private."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    make_private(path)


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path

    @classmethod
    def resolve(cls, data_dir: str | os.PathLike[str] | None = None) -> AppPaths:
        root = data_dir or os.environ.get(DATA_DIR_ENV)
        if root:
            base = Path(root).expanduser().resolve()
            return cls(base, base, base / "cache", base / "logs")
        return cls(Path(platformdirs.user_config_dir(APP_NAME)), Path(platformdirs.user_data_dir(APP_NAME)),
                   Path(platformdirs.user_cache_dir(APP_NAME)), Path(platformdirs.user_log_dir(APP_NAME)))

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def default_database(self) -> Path:
        return self.data_dir / "archive.db"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def spool_dir(self) -> Path:
        return self.cache_dir / "spool"

    @property
    def exports_dir(self) -> Path:
        """The default folder of evidence packages (the export dialog offers it)."""
        return self.data_dir / "exports"

    @property
    def demo_corpus_dir(self) -> Path:
        return self.data_dir / "demo-corpus"

    def _folders(self) -> list[Path]:
        seen: list[Path] = []
        for d in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir):
            if d not in seen:
                seen.append(d)
        return seen

    def _app_entries(self, folder: Path) -> list[Path]:
        """What in ``folder`` is the app's: everything in a folder of its own (the platform's
        folders, cache/, logs/), only the app's own names in a ``--data-dir`` folder, which the
        user chose and which may hold other files."""
        entries = _children(folder)
        if folder != self.data_dir or self.data_dir != self.config_dir:
            return entries
        return [p for p in entries if any(fnmatch.fnmatchcase(p.name, pat) for pat in _DATA_DIR_ENTRIES)]

    def ensure(self) -> None:
        """Create the app's folders, private to the user (see the module docstring): sets the
        process umask to 077, makes the folders 0700 and takes group/other bits off the app's files
        in them. The first time, everything of the app's below them is fixed (files from a version
        that did not do this); later runs fix the folders and their direct contents (settings, the
        archive and its -wal/-shm, logs, media/, exports/, the spool): what is created inside them
        since is private through the umask."""
        make_process_private()
        folders = self._folders()
        for d in folders:
            private_mkdir(d)
        if not is_posix():
            return
        marker = self.data_dir / PRIVATE_MARKER
        first = not marker.exists()
        for d in folders:
            for entry in self._app_entries(d):
                if first and entry.is_dir() and not entry.is_symlink():
                    make_tree_private(entry)
                else:
                    make_private(entry)
        for d in (self.spool_dir, self.media_dir, self.exports_dir):
            make_private(d)
        if first:
            try:
                os.close(os.open(marker, os.O_WRONLY | os.O_CREAT, 0o600))
            except OSError as exc:
                log.warning("cannot write %s: %s", marker, exc)


# The app's names at the top of a --data-dir folder (everything else there is left alone).
_DATA_DIR_ENTRIES = ("settings.json", ".settings-*", "archive.db*", "*.db", "*.db-wal", "*.db-shm",
                     "*.db-journal", "export-key*", "cache", "logs", "media", "exports", "demo-corpus*",
                     PRIVATE_MARKER)


def _children(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []
