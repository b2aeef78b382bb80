"""download_media: streaming, verification, dedup, retries and error outcomes, against a fake SDK."""

from __future__ import annotations

import hashlib
import threading
import tracemalloc
from collections import defaultdict
from pathlib import Path

import pytest

from app.core.media import (
    DownloadCancelled,
    DownloadStatus,
    LocalStorage,
    MediaJob,
    StorageError,
    download_media,
    media_key,
)
from app.core.sdk import SdkConfigError, error_for_code
from app.core.sdk.errors import SdkCrashError

CORP = "wwtinycorp0000001"
CHUNK = 512 * 1024


class FakeSdk:
    """``iter_media`` like FinanceSdk's: chunks of the file, or scripted faults per call.

    ``script[fid]`` lists what the 1st, 2nd, ... call does: ``None`` serves the file, ``bytes``
    serves those bytes instead (a corrupt download), an exception is raised after ``fail_after``
    chunks. Calls beyond the script serve the file.
    """

    def __init__(self, files: dict[str, bytes], script=None, fail_after: int = 1):
        self.files = files
        self.script = script or {}
        self.fail_after = fail_after
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def iter_media(self, sdkfileid, proxy=None, passwd=None, timeout=None):
        with self._lock:
            n = self.calls[sdkfileid]
            self.calls[sdkfileid] += 1
        steps = self.script.get(sdkfileid, [])
        step = steps[n] if n < len(steps) else None
        if step is None:
            if sdkfileid not in self.files:
                raise error_for_code(10005, call="GetMediaData")
            step = self.files[sdkfileid]
        if isinstance(step, BaseException):
            data = self.files.get(sdkfileid, b"")
            for i in range(min(self.fail_after, len(data) // CHUNK)):
                yield data[i * CHUNK:(i + 1) * CHUNK]
            raise step
        for i in range(0, len(step), CHUNK):
            yield step[i:i + CHUNK]


class CountingStorage(LocalStorage):
    def __init__(self, root):
        super().__init__(root)
        self.put_files: list[str] = []

    def put_file(self, key, path):
        self.put_files.append(key)
        super().put_file(key, path)


def job_for(data: bytes, fid: str = "fid-1", *, ext: str | None = "jpg", md5: str | None = None,
            size: int | None | str = "auto") -> MediaJob:
    return MediaJob(sdkfileid=fid, md5sum=hashlib.md5(data).hexdigest() if md5 is None else md5,
                    size=len(data) if size == "auto" else size, ext=ext)


@pytest.fixture
def spool(tmp_path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def storage(tmp_path) -> CountingStorage:
    return CountingStorage(tmp_path / "media")


def stored_files(storage) -> list[Path]:
    return sorted(p for p in storage.root.rglob("*") if p.is_file())


def assert_spool_empty(spool: Path):
    assert not spool.exists() or list(spool.iterdir()) == []


def run(sdk, job, storage, spool, **kw):
    kw.setdefault("backoff", 0)
    return download_media(sdk, job, storage, CORP, spool, **kw)


# --------------------------------------------------------------------------- success

def test_stored_then_same_content_is_deduplicated(storage, spool):
    data = bytes(range(256)) * 5000  # 1.28 MB: three chunks
    sdk = FakeSdk({"fid-1": data, "fid-2": data})
    first = run(sdk, job_for(data, "fid-1"), storage, spool)
    sha = hashlib.sha256(data).hexdigest()
    assert first.status == "stored" == DownloadStatus.STORED
    assert first.storage_key == media_key(CORP, sha, "jpg")
    assert (first.sha256, first.md5, first.size) == (sha, hashlib.md5(data).hexdigest(), len(data))
    assert first.md5_matched is True and first.attempts == 1 and first.error is None

    second = run(sdk, job_for(data, "fid-2"), storage, spool)
    assert second.status == "stored" and second.storage_key == first.storage_key
    assert storage.put_files == [first.storage_key]  # uploaded once
    assert stored_files(storage) == [storage.root / first.storage_key]
    with storage.open(first.storage_key) as f:
        assert f.read() == data
    assert_spool_empty(spool)


def test_md5sum_is_compared_case_insensitively(storage, spool):
    data = b"abc" * 100
    result = run(FakeSdk({"fid-1": data}), job_for(data, md5=hashlib.md5(data).hexdigest().upper()),
                 storage, spool)
    assert result.status == "stored" and result.md5_matched is True


def test_empty_md5sum_is_accepted_unverified(storage, spool):
    data = b"voice bytes"
    result = run(FakeSdk({"fid-1": data}), job_for(data, md5="", ext="amr"), storage, spool)
    assert result.status == "stored"
    assert result.md5_matched is None
    assert result.md5 == hashlib.md5(data).hexdigest()


def test_empty_file_is_stored(storage, spool):
    result = run(FakeSdk({"fid-1": b""}), job_for(b"", ext="txt"), storage, spool)
    assert result.status == "stored" and result.size == 0
    with storage.open(result.storage_key) as f:
        assert f.read() == b""


def test_nul_file_round_trips(storage, spool):
    data = b"\0" * (1536 * 1024 + 17)
    result = run(FakeSdk({"fid-nul": data}), job_for(data, "fid-nul", ext="bin"), storage, spool)
    assert result.status == "stored" and result.size == len(data)
    with storage.open(result.storage_key) as f:
        assert f.read() == data


def test_unsafe_ext_is_left_out_of_the_key(storage, spool):
    data = b"doc"
    result = run(FakeSdk({"fid-1": data}), job_for(data, ext="../../合同.docx"), storage, spool)
    assert result.storage_key == media_key(CORP, hashlib.sha256(data).hexdigest(), None)


# --------------------------------------------------------------------------- verification

def test_md5_mismatch_is_downloaded_again_and_succeeds(storage, spool):
    data = bytes(range(256)) * 3000
    corrupt = data[:-1] + b"\x00"
    sdk = FakeSdk({"fid-1": data}, script={"fid-1": [corrupt]})
    result = run(sdk, job_for(data), storage, spool)
    assert result.status == "stored" and result.attempts == 2 and result.md5_matched is True
    assert sdk.calls["fid-1"] == 2
    with storage.open(result.storage_key) as f:
        assert f.read() == data
    assert stored_files(storage) == [storage.root / result.storage_key]  # the corrupt copy is not kept
    assert_spool_empty(spool)


def test_persistent_md5_mismatch_fails_and_stores_nothing(storage, spool):
    data = b"the real file"
    corrupt = b"the real fil3"
    sdk = FakeSdk({"fid-1": data}, script={"fid-1": [corrupt] * 3})
    result = run(sdk, job_for(data), storage, spool, max_attempts=3)
    assert result.status == "failed"
    assert result.attempts == 3 and sdk.calls["fid-1"] == 3
    assert result.error.startswith(
        f"md5 mismatch: expected {hashlib.md5(data).hexdigest()}, got {hashlib.md5(corrupt).hexdigest()}")
    assert result.storage_key is None and result.md5_matched is False
    assert result.md5 == hashlib.md5(corrupt).hexdigest()
    assert stored_files(storage) == []
    assert_spool_empty(spool)


def test_size_mismatch_fails(storage, spool):
    data = b"twelve bytes"
    sdk = FakeSdk({"fid-1": data})
    result = run(sdk, job_for(data, md5="", size=99), storage, spool, max_attempts=2)
    assert result.status == "failed" and result.attempts == 2
    assert "size mismatch: expected 99 bytes, got 12" in result.error
    assert result.size == 12
    assert stored_files(storage) == []
    assert_spool_empty(spool)


def test_no_size_means_no_size_check(storage, spool):
    data = b"twelve bytes"
    result = run(FakeSdk({"fid-1": data}), job_for(data, size=None), storage, spool)
    assert result.status == "stored"


# --------------------------------------------------------------------------- SDK errors

def test_expired_media_is_not_retried(storage, spool):
    sdk = FakeSdk({"fid-1": b"x" * CHUNK * 2}, script={"fid-1": [error_for_code(10010, call="GetMediaData")]})
    result = run(sdk, job_for(b"x" * CHUNK * 2), storage, spool, max_attempts=5)
    assert result.status == "expired" and result.attempts == 1 and sdk.calls["fid-1"] == 1
    assert "10010" in result.error and "expired" in result.error
    assert result.storage_key is None and result.sha256 is None
    assert_spool_empty(spool)


def test_invalid_fileid_fails_at_once(storage, spool):
    sdk = FakeSdk({})
    result = run(sdk, job_for(b"x", "no-such-fid"), storage, spool, max_attempts=5)
    assert result.status == "failed" and result.attempts == 1 and sdk.calls["no-such-fid"] == 1
    assert "10005" in result.error and "invalid fileid" in result.error
    assert_spool_empty(spool)


def test_retryable_error_mid_stream_then_success(storage, spool):
    data = bytes(range(256)) * 8192  # 2 MB
    sdk = FakeSdk({"fid-1": data}, script={"fid-1": [error_for_code(10001, call="GetMediaData")]}, fail_after=2)
    result = run(sdk, job_for(data), storage, spool)
    assert result.status == "stored" and result.attempts == 2 and result.size == len(data)
    with storage.open(result.storage_key) as f:
        assert f.read() == data  # the partial first download left nothing behind
    assert_spool_empty(spool)


def test_retryable_errors_exhausting_attempts_leave_the_job_pending(storage, spool):
    data = b"y" * (CHUNK * 3)
    errors = [error_for_code(code, call="GetMediaData") for code in (10001, 10002, 10003)]
    sdk = FakeSdk({"fid-1": data}, script={"fid-1": errors})
    result = run(sdk, job_for(data), storage, spool, max_attempts=3)
    assert result.status == "retry" and result.attempts == 3 and sdk.calls["fid-1"] == 3
    assert "10003" in result.error and "3 attempts" in result.error
    assert stored_files(storage) == []
    assert_spool_empty(spool)


def test_retries_back_off_exponentially(storage, spool, monkeypatch):
    import app.core.media.download as dl

    waits = []
    monkeypatch.setattr(dl, "_cancellable_sleep", lambda cancel: waits.append)
    errors = [error_for_code(10001, call="GetMediaData")] * 3
    sdk = FakeSdk({"fid-1": b"z"}, script={"fid-1": errors})
    result = download_media(sdk, job_for(b"z"), storage, CORP, spool, max_attempts=4, backoff=1.0)
    assert result.status == "stored" and result.attempts == 4
    assert len(waits) == 3
    for n, wait in enumerate(waits):
        assert 2**n <= wait <= 2**n + 0.5  # 1, 2, 4 s plus at most backoff/2 jitter


def test_other_sdk_errors_fail(storage, spool):
    from app.core.sdk import SdkResponseError

    err = SdkResponseError(10002, "GetMediaData made no progress", "没有进展", call="GetMediaData")
    sdk = FakeSdk({"fid-1": b"x"}, script={"fid-1": [err]})
    result = run(sdk, job_for(b"x"), storage, spool)
    assert result.status == "failed" and "no progress" in result.error and result.attempts == 1


def test_config_errors_propagate_so_the_caller_stops(storage, spool):
    sdk = FakeSdk({"fid-1": b"x"}, script={"fid-1": [error_for_code(10009, call="GetMediaData")]})
    with pytest.raises(SdkConfigError, match="trusted IP"):
        run(sdk, job_for(b"x"), storage, spool)
    assert sdk.calls["fid-1"] == 1
    assert_spool_empty(spool)


# --------------------------------------------------------------------------- storage errors

def test_storage_error_leaves_the_job_pending(storage, spool, monkeypatch):
    def broken(key, path):
        raise StorageError("bucket unavailable", backend="local", key=key)

    monkeypatch.setattr(storage, "put_file", broken)
    data = b"photo"
    result = run(FakeSdk({"fid-1": data}), job_for(data), storage, spool)
    assert result.status == "retry"
    assert "bucket unavailable" in result.error and result.error.startswith("storage error")
    assert result.storage_key is None and result.sha256 == hashlib.sha256(data).hexdigest()
    assert_spool_empty(spool)


def test_unwritable_spool_leaves_the_job_pending(storage, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    result = run(FakeSdk({"fid-1": b"x"}), job_for(b"x"), storage, blocker / "spool")
    assert result.status == "retry" and "spool" in result.error


def test_bad_corpid_is_refused_before_downloading(storage, spool):
    sdk = FakeSdk({"fid-1": b"x"})
    with pytest.raises(ValueError, match="corp id"):
        download_media(sdk, job_for(b"x"), storage, "../evil", spool)
    assert sdk.calls == {}


# --------------------------------------------------------------------------- cancel, memory, threads

def test_cancel_between_chunks_removes_the_temp_file(storage, spool):
    data = b"c" * (CHUNK * 6)
    sdk = FakeSdk({"fid-1": data})
    seen = []

    def cancel():
        seen.append(1)
        return len(seen) > 3

    with pytest.raises(DownloadCancelled):
        run(sdk, job_for(data), storage, spool, cancel=cancel)
    assert stored_files(storage) == []
    assert_spool_empty(spool)


def test_cancel_during_backoff(storage, spool):
    sdk = FakeSdk({"fid-1": b"x"}, script={"fid-1": [error_for_code(10001, call="GetMediaData")] * 5})
    calls = []

    def cancel():
        calls.append(1)
        return sdk.calls["fid-1"] >= 1 and len(calls) > 2

    with pytest.raises(DownloadCancelled):
        download_media(sdk, job_for(b"x"), storage, CORP, spool, backoff=30, max_attempts=5, cancel=cancel)
    assert sdk.calls["fid-1"] == 1  # it did not wait out 30 s to try again


class StreamingSdk:
    """Serves a large file generated chunk by chunk, never as a whole."""

    def __init__(self, chunks: int):
        self.chunks = chunks

    def iter_media(self, sdkfileid, proxy=None, passwd=None, timeout=None):
        for i in range(self.chunks):
            yield bytes([i % 251]) * CHUNK


def test_20mb_download_in_bounded_memory(storage, spool):
    chunks = 40  # 20 MB
    md5, sha = hashlib.md5(), hashlib.sha256()
    for i in range(chunks):
        block = bytes([i % 251]) * CHUNK
        md5.update(block)
        sha.update(block)
    job = MediaJob("fid-big", md5.hexdigest(), chunks * CHUNK, "mp4")
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = run(StreamingSdk(chunks), job, storage, spool)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.status == "stored", result.error
    assert result.sha256 == sha.hexdigest() and result.size == 20 * 1024 * 1024
    assert storage.size(result.storage_key) == 20 * 1024 * 1024
    assert peak < 5 * 1024 * 1024, f"peak {peak / 2**20:.1f} MB"


def test_parallel_downloads_share_one_sdk(storage, spool):
    files = {f"fid-{i}": bytes([i]) * (CHUNK + i * 1000) for i in range(6)}
    files["fid-dup"] = files["fid-0"]
    sdk = FakeSdk(files, script={"fid-3": [files["fid-3"][:-1]]})  # one corrupt first try
    results = {}

    def worker(fid):
        results[fid] = run(sdk, job_for(files[fid], fid), storage, spool)

    threads = [threading.Thread(target=worker, args=(fid,)) for fid in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status for r in results.values()} == {"stored"}
    assert results["fid-3"].attempts == 2
    assert results["fid-dup"].storage_key == results["fid-0"].storage_key
    assert len(stored_files(storage)) == 6
    for fid, data in files.items():
        with storage.open(results[fid].storage_key) as f:
            assert f.read() == data
    assert_spool_empty(spool)


# --------------------------------------------------------------------------- through the real binding

def test_download_through_the_simulator(tmp_path, request):
    """Through the SDK as the app uses it: GetMediaData in SDK host processes, a file with a NUL
    character in its sdkfileid failed with a reason (never a crash of the others)."""
    tiny_corpus = request.getfixturevalue("tiny_corpus")
    simulator_path = request.getfixturevalue("simulator_path")
    from app.core.sdk.hosted import HostedSdk, LibrarySpec

    tiny_corpus.set_faults([{"kind": "media_expired", "sdkfileid": "fid-empty"}])
    storage = LocalStorage(tmp_path / "media")
    spool = tmp_path / "spool"
    library = LibrarySpec(str(simulator_path), {"WECOM_SIM_CORPUS": str(tiny_corpus.path)})
    with HostedSdk(library, tiny_corpus.corpid, tiny_corpus.secret, timeout=5) as sdk:
        for fid, ext in (("fid-image", "jpg"), ("fid-nul", "bin")):
            data = tiny_corpus.media[fid]
            result = download_media(sdk, job_for(data, fid, ext=ext), storage, tiny_corpus.corpid, spool,
                                    backoff=0)
            assert result.status == "stored", result.error
            with storage.open(result.storage_key) as f:
                assert f.read() == data
        expired = download_media(sdk, job_for(b"", "fid-empty"), storage, tiny_corpus.corpid, spool, backoff=0)
        assert expired.status == "expired" and expired.attempts == 1
        unknown = download_media(sdk, MediaJob("fid-unknown", "", None, None), storage, tiny_corpus.corpid,
                                 spool, backoff=0)
        assert unknown.status == "failed" and "10005" in unknown.error
        for bad in ("fid\x00image", ""):
            refused = download_media(sdk, MediaJob(bad, "", None, None), storage, tiny_corpus.corpid, spool, backoff=0)
            assert refused.status == "failed" and "10005" in refused.error
    assert len(stored_files(storage)) == 2
    assert_spool_empty(spool)


def test_an_sdk_process_that_dies_during_a_file_fails_that_file_only(tmp_path, request):
    """A media download whose SDK host process dies while it owes an answer (as Tencent's library
    can kill it) fails that file with the reason; the next file gets a new host and is stored. A
    host that died while idle is simply started again."""
    import os
    import signal
    import threading
    import time

    from app.core.sdk.hosted import HostedSdk, LibrarySpec

    tiny_corpus = request.getfixturevalue("tiny_corpus")
    simulator_path = request.getfixturevalue("simulator_path")
    library = LibrarySpec(str(simulator_path), {"WECOM_SIM_CORPUS": str(tiny_corpus.path)})
    storage, spool = LocalStorage(tmp_path / "media"), tmp_path / "spool"

    def kill_during_next_request(host) -> None:
        """Freeze the host, and kill it once the next request has been sent to it (deterministic)."""
        pid, sent = host.pid, host._number
        os.kill(pid, signal.SIGSTOP)

        def killer():
            deadline = time.monotonic() + 30
            while host._number == sent and time.monotonic() < deadline:
                time.sleep(0.005)
            os.kill(pid, signal.SIGKILL)

        threading.Thread(target=killer, daemon=True).start()

    with HostedSdk(library, tiny_corpus.corpid, tiny_corpus.secret, timeout=5, media_hosts=1) as sdk:
        chunks = sdk.iter_media("fid-nul")  # 1.5 MB: three chunks
        assert len(next(chunks)) == 524288
        host = sdk._media_all[0]
        kill_during_next_request(host)
        with pytest.raises(SdkCrashError, match="killed by signal 9"):
            next(chunks)
        chunks.close()

        class Crashing:  # the same, inside download_media: the file is failed with the reason
            def iter_media(self, fid):
                for i, chunk in enumerate(sdk.iter_media(fid)):
                    if i == 1:
                        kill_during_next_request(sdk._media_all[0])
                    yield chunk

        data = tiny_corpus.media["fid-nul"]
        failed = download_media(Crashing(), job_for(data, "fid-nul", ext="bin"), storage, tiny_corpus.corpid, spool,
                                backoff=0)
        assert failed.status == "failed" and "crashed" in failed.error
        stored = download_media(sdk, job_for(tiny_corpus.media["fid-image"], "fid-image", ext="jpg"), storage,
                                tiny_corpus.corpid, spool, backoff=0)
        assert stored.status == "stored" and sdk._media_all[0].starts == 3

        os.kill(sdk._media_all[0].pid, signal.SIGKILL)  # dies while idle: the next file starts a new one
        sdk._media_all[0]._proc.wait()
        again = download_media(sdk, job_for(data, "fid-nul", ext="bin"), storage, tiny_corpus.corpid, spool, backoff=0)
        assert again.status == "stored" and sdk._media_all[0].starts == 4
    assert_spool_empty(spool)
