"""The storage backends through the real SDKs: the shared contract over local, OSS and COS, and the cloud
backends' multipart uploads, signed URLs, errors and retries against the loopback object store
(tests/media/objectstore.py), which checks every request's signature as the services do."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import time
import tracemalloc
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from objectstore import ObjectStore

from app.core.config.paths import AppPaths
from app.core.config.secrets import SecretMissingError, SecretStore
from app.core.config.settings import Settings, SettingsError, StorageSettings
from app.core.media import LocalStorage, MediaNotFoundError, StorageError, media_key
from app.core.media.backends import open_storage, probe_storage
from app.core.media.cloud import MULTIPART_THRESHOLD, CloudStorage, crc64

KEY_ID = "LTAI5tLoopbackKeyId01"
SECRET = "loopback-secret-Zx9q-0123456789"
REGION = {"oss": "cn-hangzhou", "cos": "ap-guangzhou"}
BUCKET = {"oss": "wecom-media", "cos": "wecom-media-1250000000"}
CORP = "wwtinycorp0000001"
FAST = {"attempts": 3, "backoff": 0.01, "max_backoff": 0.05, "timeout": 10}
MiB = 2**20


def key_of(data: bytes, ext: str | None = "bin") -> str:
    return media_key(CORP, hashlib.sha256(data).hexdigest(), ext)


KEY_ID_FIELD = {"oss": "access_key_id", "cos": "secret_id"}


def cloud_settings(kind: str, endpoint: str, *, bucket: str | None = None, prefix: str = "archive") -> Settings:
    s = Settings(storage=StorageSettings(backend=kind))
    section = s.storage[kind]
    section.endpoint, section.region, section.bucket = endpoint, REGION[kind], bucket or BUCKET[kind]
    section.prefix = prefix
    setattr(section, KEY_ID_FIELD[kind], KEY_ID)
    return s


@dataclass
class Cloud:
    kind: str
    store: ObjectStore
    paths: AppPaths

    @property
    def bucket(self) -> str:
        return BUCKET[self.kind]

    def settings(self, **kw) -> Settings:
        return cloud_settings(self.kind, self.store.endpoint, **kw)

    def storage(self, *, secret: str | None = SECRET, endpoint: str | None = None, bucket: str | None = None,
                **options) -> CloudStorage:
        settings = cloud_settings(self.kind, endpoint or self.store.endpoint, bucket=bucket)
        return open_storage(settings, self.paths, SecretStore(), secret=secret, **{**FAST, **options})

    def object_key(self, key: str) -> str:
        return f"archive/{key}"


def start_store(kind: str, root: Path) -> ObjectStore:
    return ObjectStore(kind, root, access_key_id=KEY_ID, secret=SECRET, region=REGION[kind],
                       buckets=(BUCKET[kind],)).start()


@pytest.fixture(params=["oss", "cos"])
def cloud(request, tmp_path):
    store = start_store(request.param, tmp_path / f"{request.param}-server")
    try:
        yield Cloud(request.param, store, AppPaths.resolve(tmp_path / "app"))
    finally:
        store.stop()


@pytest.fixture(params=["local", "oss", "cos"])
def backend(request, tmp_path):
    """Each backend, ready to use (cloud ones against a fresh loopback store)."""
    if request.param == "local":
        yield LocalStorage(tmp_path / "media")
        return
    store = start_store(request.param, tmp_path / "server")
    try:
        yield Cloud(request.param, store, AppPaths.resolve(tmp_path / "app")).storage()
    finally:
        store.stop()


class Source(io.RawIOBase):
    """A non-seekable stream of ``size`` pseudo-random bytes made on the fly (never held whole);
    raises ``fail`` after ``fail_after`` bytes if given."""

    def __init__(self, size: int, seed: int = 1, fail_after: int | None = None, fail: Exception | None = None):
        self.size, self.pos, self.seed = size, 0, seed
        self.fail_after, self.fail = fail_after, fail
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.fail_after is not None and self.pos >= self.fail_after:
            raise self.fail
        n = min(len(b), self.size - self.pos, 256 * 1024)
        if n <= 0:
            return 0
        block = hashlib.sha256(f"{self.seed}:{self.pos}".encode()).digest() * (n // 32 + 1)
        b[:n] = block[:n]
        self.sha.update(block[:n])
        self.pos += n
        return n


def digest_of(storage, key: str) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    with storage.open(key) as f:
        while chunk := f.read(MiB):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


def write_file(path: Path, size: int, seed: int = 7) -> str:
    src = Source(size, seed)
    with open(path, "wb") as f:
        while chunk := src.read(MiB):
            f.write(chunk)
    return src.sha.hexdigest()


# --------------------------------------------------------------------------- the contract, every backend

def test_put_open_exists_size_round_trip(backend):
    data = bytes(range(256)) * 40 + b"\x00\r\n\x1a end"
    key = key_of(data)
    assert not backend.exists(key) and backend.size(key) is None
    backend.put(key, io.BytesIO(data), size=len(data), content_type="application/octet-stream")
    assert backend.exists(key) and backend.size(key) == len(data)
    with backend.open(key) as f:
        assert f.read() == data
    empty = key_of(b"", None)
    backend.put(empty, io.BytesIO(b""), size=0)
    with backend.open(empty) as f:
        assert f.read() == b""


def test_open_of_a_missing_object_raises_not_found(backend):
    with pytest.raises(MediaNotFoundError):
        backend.open(key_of(b"never stored"))


def test_put_replaces_and_a_wrong_size_stores_nothing(backend):
    key = key_of(b"one")
    backend.put(key, io.BytesIO(b"first version"))
    backend.put(key, io.BytesIO(b"second"))
    with backend.open(key) as f:
        assert f.read() == b"second"
    with pytest.raises(StorageError, match="expected 10 bytes"):
        backend.put(key, io.BytesIO(b"123"), size=10)
    with backend.open(key) as f:
        assert f.read() == b"second"  # the previous object is untouched
    other = key_of(b"two")
    with pytest.raises(StorageError, match="nothing stored"):
        backend.put(other, Source(5000), size=4000)
    assert not backend.exists(other)


def test_a_stream_failing_midway_stores_nothing_and_its_error_propagates(backend):
    key = key_of(b"half")
    with pytest.raises(RuntimeError, match="source broke"):
        backend.put(key, Source(3 * MiB, fail_after=MiB, fail=RuntimeError("source broke")))
    assert not backend.exists(key)


def test_delete_returns_only_the_keys_it_could_not_delete(backend):
    keys = [key_of(bytes([i])) for i in range(3)]
    for i, k in enumerate(keys):
        backend.put(k, io.BytesIO(bytes([i])))
    failed = backend.delete([*keys, key_of(b"absent"), "../escape"])
    assert failed == ["../escape"]
    assert not any(backend.exists(k) for k in keys)


@pytest.mark.parametrize("key", ["/abs", "a/../b", "a\\b", "c:x", "a//b", "x\x00y"])
def test_hostile_keys_are_refused(backend, key):
    with pytest.raises(StorageError):
        backend.put(key, io.BytesIO(b"x"))
    with pytest.raises(StorageError):
        backend.open(key)


def test_signed_url_reads_the_object(backend):
    data = "合同 contract.pdf bytes".encode() * 100
    key = key_of(data, "pdf")
    backend.put(key, io.BytesIO(data))
    url = backend.signed_url(key, expires_in=300)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == data
    with pytest.raises(ValueError):
        backend.signed_url(key, expires_in=0)


# --------------------------------------------------------------------------- cloud: what the cloud adds

def test_signed_url_expires_and_a_tampered_url_is_refused(cloud):
    s = cloud.storage()
    key = key_of(b"evidence")
    s.put(key, io.BytesIO(b"evidence"))
    url = s.signed_url(key, expires_in=60)
    secret_free = SECRET not in url
    cloud.store.clock = lambda: time.time() + 3600  # an hour later
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url, timeout=10)
    assert err.value.code == 403 and b"expired" in err.value.read()
    cloud.store.clock = time.time
    tampered = url.replace(key.rsplit("/", 1)[1], "0" * 64 + ".bin")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(tampered, timeout=10)
    assert err.value.code == 403 and b"SignatureDoesNotMatch" in err.value.read()
    assert secret_free


def test_the_prefix_places_objects_in_a_folder_of_the_bucket(cloud):
    s = cloud.storage()
    key = key_of(b"prefixed")
    s.put(key, io.BytesIO(b"prefixed"))
    assert cloud.store.keys_in(cloud.bucket) == [cloud.object_key(key)]
    assert cloud.store.read(cloud.bucket, cloud.object_key(key)) == b"prefixed"


def test_a_20_mb_file_goes_up_in_parts_in_bounded_memory(cloud, tmp_path):
    path = tmp_path / "video.mp4"
    sha = write_file(path, 20 * MiB)
    key = media_key(CORP, sha, "mp4")
    s = cloud.storage()
    tracemalloc.start()
    try:
        s.put_file(key, path)
        upload_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        assert digest_of(s, key) == (sha, 20 * MiB)
        read_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert cloud.store.count("PUT", "partNumber", status=200) == 3  # 8 + 8 + 4 MiB
    assert cloud.store.count("POST", "uploadId", status=200) == 1
    assert not cloud.store.uploads
    assert upload_peak < 6 * MiB, f"upload peaked at {upload_peak / MiB:.1f} MiB"
    assert read_peak < 6 * MiB, f"read peaked at {read_peak / MiB:.1f} MiB"
    assert path.exists()  # a cloud backend copies; the caller's file stays


def test_a_non_seekable_20_mb_stream_is_spooled_to_disk_not_memory(cloud):
    s = cloud.storage()
    src = Source(20 * MiB, seed=3)
    key = key_of(b"stream", "bin")
    tracemalloc.start()
    try:
        s.put(key, src, size=20 * MiB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * MiB, f"peaked at {peak / MiB:.1f} MiB"
    assert digest_of(s, key) == (src.sha.hexdigest(), 20 * MiB)


def test_small_objects_go_up_in_one_put(cloud):
    s = cloud.storage()
    s.put(key_of(b"small"), Source(MULTIPART_THRESHOLD))
    assert cloud.store.count("PUT", "partNumber") == 0 and cloud.store.count("PUT", status=200) == 1


def test_a_wrong_secret_is_rejected_with_a_clear_message(cloud):
    s = cloud.storage(secret="not-the-secret-key")
    key = key_of(b"x")
    with pytest.raises(StorageError) as err:
        s.put(key, io.BytesIO(b"x"))
    text = str(err.value)
    assert err.value.kind == "auth"
    assert "refused to upload" in text and "secret key does not match" in text and KEY_ID in text
    assert "SignatureDoesNotMatch" in text and "HTTP 403" in text and "Settings" in text
    assert "not-the-secret-key" not in text and SECRET not in text
    with pytest.raises(StorageError, match="secret key does not match"):
        s.exists(key)  # a HEAD has no error body; the message is as clear
    assert cloud.store.count(status=403) >= 2 and cloud.store.count(status=200) == 0
    assert cloud.store.keys_in(cloud.bucket) == []


def test_an_unknown_key_id_is_named(cloud):
    settings = cloud.settings()
    setattr(settings.storage[cloud.kind], KEY_ID_FIELD[cloud.kind],
            "LTAI5tNobodyKnowsThis" if cloud.kind == "oss" else "AKIDNobodyKnowsThis")
    s = open_storage(settings, cloud.paths, SecretStore(), secret=SECRET, **FAST)
    with pytest.raises(StorageError, match="NobodyKnowsThis' is not known to the service"):
        s.put(key_of(b"x"), io.BytesIO(b"x"))


def test_a_missing_bucket_is_named_by_every_call(cloud):
    bucket = "no-such-bucket" if cloud.kind == "oss" else "no-such-bucket-1250000000"
    s = cloud.storage(bucket=bucket)
    key = key_of(b"x")
    for call in (lambda: s.put(key, io.BytesIO(b"x")), lambda: s.exists(key), lambda: s.open(key)):
        with pytest.raises(StorageError) as err:
            call()
        assert err.value.kind == "no_bucket"
        assert f"the bucket {bucket!r} does not exist" in str(err.value) and "NoSuchBucket" in str(err.value)


def test_network_failures_and_throttling_are_retried(cloud):
    s = cloud.storage()
    data = b"retried" * 1000
    key = key_of(data)
    cloud.store.faults.fail_next(2, "drop")
    s.put(key, io.BytesIO(data))
    cloud.store.faults.fail_next(2, "503")
    assert s.exists(key)
    cloud.store.faults.fail_next(1, "500")
    with s.open(key) as f:
        assert f.read() == data
    assert cloud.store.faults.pending() == 0
    assert cloud.store.count(status=-1) == 2 and cloud.store.count(status=503) == 2


def test_retries_give_up_with_a_clear_message(cloud):
    s = cloud.storage()
    key = key_of(b"throttled")
    cloud.store.faults.fail_next(3, "503")
    with pytest.raises(StorageError) as err:
        s.put(key, io.BytesIO(b"throttled"))
    assert err.value.kind == "busy"
    assert "busy or unavailable" in str(err.value) and "SlowDown" in str(err.value)
    assert "after 3 attempts" in str(err.value)
    cloud.store.faults.fail_next(3, "drop")
    with pytest.raises(StorageError, match="cannot reach .* after 3 attempts") as err:
        s.put(key, io.BytesIO(b"throttled"))
    assert err.value.kind == "network"
    assert not s.exists(key)


def test_a_service_that_cannot_be_reached_is_named(cloud):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = cloud.storage(endpoint=f"http://127.0.0.1:{port}")
    with pytest.raises(StorageError) as err:
        s.exists(key_of(b"x"))
    assert err.value.kind == "network"
    assert f"cannot reach {'Aliyun OSS' if cloud.kind == 'oss' else 'Tencent COS'} at http://127.0.0.1:{port}" \
        in str(err.value)
    assert "connection refused" in str(err.value) and "after 3 attempts" in str(err.value)


def test_a_failed_part_is_retried_alone(cloud, tmp_path):
    path = tmp_path / "big.bin"
    sha = write_file(path, 18 * MiB)
    s = cloud.storage()
    cloud.store.faults.fail_next(1, "drop", match=lambda m, k, q: q.get("partNumber") == "2")
    s.put_file(media_key(CORP, sha, "bin"), path)
    assert cloud.store.count("PUT", "partNumber", status=200) == 3  # parts 1, 2 (again) and 3
    assert digest_of(s, media_key(CORP, sha, "bin")) == (sha, 18 * MiB)


def test_a_multipart_upload_that_fails_is_aborted_and_leaves_nothing(cloud, tmp_path):
    path = tmp_path / "big.bin"
    sha = write_file(path, 18 * MiB)
    s = cloud.storage()
    cloud.store.faults.fail_next(3, "503", match=lambda m, k, q: q.get("partNumber") == "3")
    with pytest.raises(StorageError, match="upload part 3"):
        s.put_file(media_key(CORP, sha, "bin"), path)
    assert cloud.store.keys_in(cloud.bucket) == [] and cloud.store.uploads == {}
    assert cloud.store.count("DELETE", "uploadId", status=204) == 1


def test_a_read_that_breaks_resumes_with_a_range_request(cloud, tmp_path):
    path = tmp_path / "clip.mp4"
    sha = write_file(path, 6 * MiB)
    key = media_key(CORP, sha, "mp4")
    s = cloud.storage()
    s.put_file(key, path)
    cloud.store.faults.fail_next(2, "truncate", match=lambda m, k, q: m == "GET")
    assert digest_of(s, key) == (sha, 6 * MiB)
    assert cloud.store.count("GET") == 3


@pytest.mark.skipif(crc64 is None, reason="crcmod was installed without its C extension: no CRC-64 checks")
def test_bytes_changed_at_rest_or_in_transit_are_detected_on_read(cloud):
    s = cloud.storage()
    data = os.urandom(300_000)
    key = key_of(data)
    s.put(key, io.BytesIO(data))
    cloud.store.corrupt(cloud.bucket, cloud.object_key(key))
    with pytest.raises(StorageError, match="CRC-64") as err, s.open(key) as f:
        f.read()
    assert err.value.kind == "corrupt"


def test_a_clock_far_off_is_named(cloud):
    s = cloud.storage()
    cloud.store.clock = lambda: time.time() + 3 * 3600
    with pytest.raises(StorageError, match="clock") as err:
        s.put(key_of(b"x"), io.BytesIO(b"x"))
    assert err.value.kind in ("clock", "auth")


def test_oss_v1_signatures_work_too(tmp_path):
    from app.core.media.oss import OssStorage

    with start_store("oss", tmp_path / "server") as store:
        config = cloud_settings("oss", store.endpoint).storage["oss"].cloud_config()
        s = OssStorage(config, SECRET, auth_version="v1", **FAST)
        key = key_of(b"v1")
        s.put(key, io.BytesIO(b"v1"))
        with urllib.request.urlopen(s.signed_url(key, 60), timeout=10) as r:
            assert r.read() == b"v1"
        assert s.delete([key]) == [] and not s.exists(key)
        bad = OssStorage(config, "wrong", auth_version="v1", **FAST)
        with pytest.raises(StorageError, match="secret key does not match"):
            bad.exists(key)
        assert {r.auth for r in store.log} == {"header", "query"}


def test_test_connection_writes_reads_and_deletes_a_probe(cloud):
    message, message_zh = probe_storage(cloud.settings(), cloud.paths, SecretStore(), secret=SECRET, backoff=0.01)
    assert message.startswith("Connected to") and cloud.bucket in message
    assert message_zh.startswith("已连接 ") and cloud.bucket in message_zh
    assert cloud.store.keys_in(cloud.bucket) == []
    wrong = "not-the-secret-QX7Z"  # distinctive: random keys and request ids cannot contain it
    with pytest.raises(StorageError, match="secret key does not match") as refused:
        probe_storage(cloud.settings(), cloud.paths, SecretStore(), secret=wrong, backoff=0.01)
    assert "拒绝" in refused.value.message_zh and "密钥与" in refused.value.message_zh  # said in both languages
    assert wrong not in refused.value.message_zh and wrong not in str(refused.value)


def test_concurrent_puts_and_reads_share_one_client(cloud):
    import concurrent.futures as cf

    s = cloud.storage()
    blobs = [os.urandom(50_000 + i) for i in range(24)]

    def roundtrip(data: bytes) -> bool:
        key = key_of(data)
        s.put(key, io.BytesIO(data))
        with s.open(key) as f:
            return f.read() == data

    with cf.ThreadPoolExecutor(6) as pool:
        assert all(pool.map(roundtrip, blobs))


# --------------------------------------------------------------------------- settings, secrets, choosing

@pytest.mark.parametrize("kind", ["oss", "cos"])
def test_settings_name_the_missing_field(kind):
    base = cloud_settings(kind, "")
    for field_name in ("bucket", "region", KEY_ID_FIELD[kind]):
        s = cloud_settings(kind, "")
        setattr(s.storage[kind], field_name, "")
        with pytest.raises(SettingsError, match=rf"^storage\.{kind}\.{field_name} is empty"):
            s.validate()
    base.validate()  # complete: the region's endpoint is the default
    bad = cloud_settings(kind, "ftp://x")
    with pytest.raises(SettingsError, match=rf"storage\.{kind}\.endpoint"):
        bad.validate()
    bad = cloud_settings(kind, "", bucket="Bad_Bucket")
    with pytest.raises(SettingsError, match=rf"storage\.{kind}\.bucket"):
        bad.validate()
    bad = cloud_settings(kind, "", prefix="a/../b")
    with pytest.raises(SettingsError, match=rf"storage\.{kind}\.prefix"):
        bad.validate()


def test_oss_region_is_read_from_an_aliyun_endpoint_and_the_endpoint_from_the_region():
    s = cloud_settings("oss", "oss-cn-shanghai-internal.aliyuncs.com")
    s.storage["oss"].region = ""
    c = s.storage["oss"].cloud_config()
    assert c.region == "cn-shanghai" and c.endpoint == "https://oss-cn-shanghai-internal.aliyuncs.com"
    assert cloud_settings("oss", "").storage["oss"].cloud_config().endpoint == "https://oss-cn-hangzhou.aliyuncs.com"
    assert cloud_settings("oss", "", prefix="/a/b/").storage["oss"].cloud_config().prefix == "a/b/"


def test_the_secret_comes_from_the_keyring_or_the_environment(tmp_path, monkeypatch, isolated_env):
    paths = AppPaths.resolve(tmp_path)
    settings = cloud_settings("oss", "http://127.0.0.1:9")
    store = SecretStore()
    with pytest.raises(SecretMissingError, match="WECOM_AUDITOR_STORAGE_SECRET_OSS"):
        open_storage(settings, paths, store)
    monkeypatch.setenv("WECOM_AUDITOR_STORAGE_SECRET_OSS", "from-env")
    assert open_storage(settings, paths, store)._secret == "from-env"
    assert store.storage_secret_source("oss", KEY_ID) == "environment"
    store.set_storage_secret("oss", KEY_ID, "from-keyring")
    assert open_storage(settings, paths, store)._secret == "from-keyring"
    assert store.storage_secret_source("oss", KEY_ID) == "keyring"
    assert ("wecom-archive-auditor", f"storage:oss:{KEY_ID}") in isolated_env.store
    assert "from-keyring" not in json_of(settings)


def json_of(settings: Settings) -> str:
    import dataclasses
    import json

    return json.dumps(dataclasses.asdict(settings))


def test_the_context_opens_the_backend_in_the_settings(tmp_path, monkeypatch):
    from app.core.context import AppContext

    with start_store("cos", tmp_path / "server") as store:
        ctx = AppContext(tmp_path / "data")
        try:
            assert ctx.storage.name == "local"
            ctx.settings = cloud_settings("cos", store.endpoint)
            ctx.save()
            monkeypatch.setenv("WECOM_AUDITOR_STORAGE_SECRET_COS", SECRET)
        finally:
            ctx.close()
        ctx = AppContext(tmp_path / "data")
        try:
            assert ctx.storage.name == "cos" and ctx.storage_for("local").name == "local"
            assert ctx.storage_for("cos") is ctx.storage
            key = key_of(b"via context")
            ctx.storage.put(key, io.BytesIO(b"via context"))
            assert ctx.storage.exists(key)
        finally:
            ctx.close()
