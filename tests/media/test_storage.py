"""Media keys and LocalStorage: content addressing, hostile keys, atomic writes, deletes, URLs."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import pytest

from app.core.media import LocalStorage, MediaNotFoundError, StorageError, media_key

SHA = hashlib.sha256(b"hello").hexdigest()
CORP = "wwtinycorp0000001"


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "media")


# --------------------------------------------------------------------------- media_key

def test_media_key_is_content_addressed_with_fan_out():
    assert media_key(CORP, SHA, "jpg") == f"{CORP}/{SHA[:2]}/{SHA[2:4]}/{SHA}.jpg"
    assert media_key(CORP, SHA, None) == f"{CORP}/{SHA[:2]}/{SHA[2:4]}/{SHA}"
    assert media_key(CORP, SHA, ".MP4") == f"{CORP}/{SHA[:2]}/{SHA[2:4]}/{SHA}.mp4"


@pytest.mark.parametrize("ext", [
    "../../etc/passwd", "合同.pdf", "tar.gz", "a b", "toolongext", "", " ", "exe\0", "x/y", "..", "jpg\n",
])
def test_media_key_drops_unsafe_extensions(ext):
    key = media_key(CORP, SHA, ext)
    assert key == f"{CORP}/{SHA[:2]}/{SHA[2:4]}/{SHA}"


def test_media_key_never_contains_a_name_from_a_message():
    filename = "季度合同 (final).docx"  # what a file message carries in file.filename
    key = media_key(CORP, SHA, filename)
    assert "合同" not in key and "final" not in key and " " not in key
    assert key.rsplit("/", 1)[1] == SHA


@pytest.mark.parametrize("corpid", ["", "../x", "a/b", "corp id", "c" * 65, "wx\0", "wx\n", None, "企业"])
def test_media_key_refuses_bad_corpid(corpid):
    with pytest.raises(ValueError, match="corp id"):
        media_key(corpid, SHA, "jpg")


@pytest.mark.parametrize("sha", ["", SHA.upper(), SHA[:-1], SHA + "0", "g" * 64, SHA[:63] + "\n", None,
                                 "../" + SHA[3:]])
def test_media_key_refuses_bad_sha(sha):
    with pytest.raises(ValueError, match="SHA-256"):
        media_key(CORP, sha, "jpg")


# --------------------------------------------------------------------------- hostile keys

HOSTILE = ["../x", "/etc/passwd", "a/../../b", "a\\b", "a\0b", "", "a//b", "a/", "./a", "C:/x", "a/\nb", "..", "x/.."]


@pytest.mark.parametrize("key", HOSTILE)
def test_local_storage_refuses_hostile_keys_everywhere(store, key):
    for call in (lambda: store.put(key, io.BytesIO(b"x")), lambda: store.exists(key),
                 lambda: store.open(key), lambda: store.size(key), lambda: store.signed_url(key)):
        with pytest.raises(StorageError) as info:
            call()
        assert info.value.backend == "local"
        assert "local storage" in str(info.value)
    assert store.delete([key]) == [key]
    assert files_under(store.root) == []
    assert not (store.root.parent / "x").exists()


def test_local_storage_refuses_a_key_resolving_outside_root_through_a_symlink(store, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (store.root / "corp").symlink_to(outside, target_is_directory=True)
    with pytest.raises(StorageError, match="outside the media folder"):
        store.put("corp/evil", io.BytesIO(b"x"))
    assert list(outside.iterdir()) == []


# --------------------------------------------------------------------------- put / open

def test_put_then_open_round_trips_binary_data(store):
    data = bytes(range(256)) * 4097 + b"\0\0\r\n\x1a"
    key = media_key(CORP, hashlib.sha256(data).hexdigest(), "bin")
    store.put(key, io.BytesIO(data), size=len(data), content_type="application/octet-stream")
    assert store.exists(key)
    assert store.size(key) == len(data)
    with store.open(key) as f:
        assert f.read() == data
    assert store.path_for(key) == store.root / key


def test_nul_file_round_trips(store):
    data = b"\0" * (3 * 1024 * 1024 + 5)
    key = media_key(CORP, hashlib.sha256(data).hexdigest(), None)
    store.put(key, io.BytesIO(data))
    with store.open(key) as f:
        assert f.read() == data


def test_objects_are_read_only(store):
    store.put("corp/obj", io.BytesIO(b"evidence"))
    mode = stat.S_IMODE(os.stat(store.root / "corp/obj").st_mode)
    assert mode & 0o222 == 0
    if sys.platform != "win32" and os.geteuid() != 0:  # root ignores file modes
        with pytest.raises(PermissionError):
            open(store.root / "corp/obj", "r+b")  # noqa: SIM115


def test_put_of_an_existing_key_replaces_it(store):
    store.put("corp/obj", io.BytesIO(b"same"))
    store.put("corp/obj", io.BytesIO(b"same"))
    with store.open("corp/obj") as f:
        assert f.read() == b"same"
    assert files_under(store.root) == [store.root / "corp/obj"]


class ExplodingStream(io.RawIOBase):
    """Yields ``good`` bytes, then fails the way a dropped network stream would."""

    def __init__(self, good: bytes, exc: BaseException):
        self.good, self.exc, self.sent = good, exc, False

    def readable(self):
        return True

    def read(self, n=-1):
        if not self.sent:
            self.sent = True
            return self.good
        raise self.exc


@pytest.mark.parametrize("exc", [ConnectionResetError("peer reset"), RuntimeError("boom")])
def test_put_is_atomic_when_the_stream_fails_midway(store, exc):
    with pytest.raises((StorageError, RuntimeError)):
        store.put("corp/ab/cd/obj", ExplodingStream(b"x" * 100_000, exc))
    assert not store.exists("corp/ab/cd/obj")
    assert files_under(store.root) == []  # no partial object, no temp file


def test_failed_overwrite_keeps_the_previous_object(store):
    store.put("corp/obj", io.BytesIO(b"complete"))
    with pytest.raises(RuntimeError):
        store.put("corp/obj", ExplodingStream(b"part", RuntimeError("boom")))
    with store.open("corp/obj") as f:
        assert f.read() == b"complete"
    assert files_under(store.root) == [store.root / "corp/obj"]


def test_put_with_wrong_size_stores_nothing(store):
    with pytest.raises(StorageError, match="expected 10 bytes.*got 3"):
        store.put("corp/obj", io.BytesIO(b"abc"), size=10)
    assert files_under(store.root) == []


def test_put_copies_in_bounded_memory(store):
    class Zeros(io.RawIOBase):
        def __init__(self, total):
            self.left = total

        def readable(self):
            return True

        def readinto(self, b):
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    size = 20 * 1024 * 1024
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        store.put("corp/big", io.BufferedReader(Zeros(size), buffer_size=64 * 1024), size=size)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert store.size("corp/big") == size
    assert peak < 5 * 1024 * 1024


def test_open_missing_raises_not_found(store):
    with pytest.raises(MediaNotFoundError, match="no such object") as info:
        store.open("corp/missing")
    assert info.value.key == "corp/missing"
    (store.root / "corp/dir").mkdir(parents=True)
    with pytest.raises(MediaNotFoundError):
        store.open("corp/dir")
    assert store.exists("corp/dir") is False
    assert store.size("corp/missing") is None
    assert store.size("corp/dir") is None


# --------------------------------------------------------------------------- put_file

def test_put_file_moves_a_file_on_the_same_filesystem(store, tmp_path):
    src = tmp_path / "spool.part"
    src.write_bytes(b"payload")
    store.put_file("corp/obj", src)
    assert not src.exists()
    with store.open("corp/obj") as f:
        assert f.read() == b"payload"
    assert stat.S_IMODE(os.stat(store.root / "corp/obj").st_mode) & 0o222 == 0


def test_put_file_copies_across_filesystems(store, tmp_path, monkeypatch):
    src = tmp_path / "spool.part"
    src.write_bytes(b"payload" * 1000)
    real_rename = os.rename

    def cross_device(a, b, *args, **kwargs):
        if Path(a) == src:
            raise OSError(errno.EXDEV, "Invalid cross-device link", str(a))
        return real_rename(a, b, *args, **kwargs)

    monkeypatch.setattr(os, "rename", cross_device)
    store.put_file("corp/obj", src)
    assert src.read_bytes() == b"payload" * 1000  # copied, the caller still owns its file
    with store.open("corp/obj") as f:
        assert f.read() == b"payload" * 1000
    assert files_under(store.root) == [store.root / "corp/obj"]


def test_put_file_of_a_missing_source_raises(store, tmp_path):
    with pytest.raises(StorageError, match="corp/obj"):
        store.put_file("corp/obj", tmp_path / "nope")
    assert files_under(store.root) == []


# --------------------------------------------------------------------------- delete / signed_url

def test_delete_returns_only_the_keys_it_could_not_delete(store, monkeypatch):
    for k in ("corp/a", "corp/b", "corp/c"):
        store.put(k, io.BytesIO(k.encode()))
    real_unlink = os.unlink

    def stuck(path, *args, **kwargs):
        if Path(path).name == "b":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", stuck)
    failed = store.delete(["corp/a", "corp/b", "corp/missing", "../escape", "corp/c"])
    assert failed == ["corp/b", "../escape"]
    assert not store.exists("corp/a") and not store.exists("corp/c")
    assert store.exists("corp/b")


def test_signed_url_is_a_file_url_of_the_object(store):
    key = media_key(CORP, SHA, "jpg")
    store.put(key, io.BytesIO(b"hello"))
    url = store.signed_url(key, expires_in=60)
    parsed = urlparse(url)
    assert parsed.scheme == "file"
    path = Path(url2pathname(unquote(parsed.path)))
    assert path.read_bytes() == b"hello"
    assert path == store.root / key
    with pytest.raises(ValueError):
        store.signed_url(key, expires_in=0)


def test_signed_url_escapes_the_root_path(tmp_path):
    store = LocalStorage(tmp_path / "媒体 files#1")
    store.put("corp/obj", io.BytesIO(b"x"))
    url = store.signed_url("corp/obj")
    assert " " not in url and "#" not in url
    assert Path(url2pathname(unquote(urlparse(url).path))).read_bytes() == b"x"


# --------------------------------------------------------------------------- concurrency / cleanup

def test_concurrent_puts_of_the_same_key_leave_one_complete_object(store):
    data = os.urandom(256 * 1024)
    errors = []

    def worker():
        try:
            for _ in range(5):
                store.put("corp/same", io.BytesIO(data))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.open("corp/same") as f:
        assert f.read() == data
    assert files_under(store.root) == [store.root / "corp/same"]


def test_remove_stale_partials_sweeps_only_old_temp_files(store):
    store.put("corp/obj", io.BytesIO(b"keep"))
    old = store.root / "corp/.obj2.deadbeef.part"
    fresh = store.root / "corp/.obj3.cafe.part"
    old.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    past = time.time() - 3 * 24 * 3600
    os.utime(old, (past, past))
    assert store.remove_stale_partials() == 1
    assert files_under(store.root) == sorted([store.root / "corp/obj", fresh])
