"""Moving media between backends (local → OSS → COS → local) with verification and resumption, re-verifying
stored objects, the ``media`` commands, and media staying pending when the cloud fails during a sync.
The cloud backends are the real SDKs against the loopback object store (tests/media/objectstore.py)."""

from __future__ import annotations

import hashlib
import io
import json
import os

import pytest
from click.testing import CliRunner
from objectstore import ObjectStore
from sqlalchemy import insert, select, update

from app.core.actor import Actor
from app.core.config.paths import AppPaths
from app.core.config.secrets import SecretStore
from app.core.config.settings import Settings
from app.core.media import LocalStorage, StorageError, media_key
from app.core.media.backends import open_storage
from app.core.media.migrate import media_status, migrate_media, verify_media
from app.core.store.db import now_ms, open_database
from app.core.store.models import FAILED, PENDING, STORED, Corp, Media, Message

KEY_ID, SECRET = "LTAI5tMigrationKey01", "migration-secret-value-42"
REGION = {"oss": "cn-hangzhou", "cos": "ap-guangzhou"}
BUCKET = {"oss": "archive-media", "cos": "archive-media-1250000000"}
CORP = "wwmigratecorp0001"
FAST = {"attempts": 3, "backoff": 0.01, "max_backoff": 0.05, "timeout": 10}
ACTOR = Actor.local()


def configure(settings: Settings, kind: str, endpoint: str) -> Settings:
    section = settings.storage[kind]
    section.endpoint, section.region, section.bucket, section.prefix = endpoint, REGION[kind], BUCKET[kind], "wecom"
    setattr(section, "access_key_id" if kind == "oss" else "secret_id", KEY_ID)
    return settings


@pytest.fixture
def stores(tmp_path):
    started = {k: ObjectStore(k, tmp_path / f"{k}-server", access_key_id=KEY_ID, secret=SECRET, region=REGION[k],
                              buckets=(BUCKET[k],)).start() for k in ("oss", "cos")}
    yield started
    for s in started.values():
        s.stop()


@pytest.fixture
def env(tmp_path, stores):
    """Settings naming all three backends, and the backends themselves."""
    paths = AppPaths.resolve(tmp_path / "app")
    settings = Settings()
    for kind, store in stores.items():
        configure(settings, kind, store.endpoint)
    backends = {"local": LocalStorage(tmp_path / "media")}
    for kind in ("oss", "cos"):
        backends[kind] = open_storage(settings, paths, SecretStore(), kind, secret=SECRET, **FAST)
    return settings, paths, backends


class Archive:
    """Media rows in a database, with their objects in a LocalStorage."""

    def __init__(self, db_url: str, local: LocalStorage, n: int = 10):
        self.db = open_database(db_url)
        self.local = local
        self.data: dict[str, bytes] = {}
        now = now_ms()
        with self.db.write() as conn:
            corp_id = self.db.ids.next_id()
            conn.execute(insert(Corp).values(id=corp_id, corpid=CORP, name="", created_at=now))
            self.message_id = self.db.ids.next_id()
            conn.execute(insert(Message).values(
                id=self.message_id, corp_id=corp_id, seq=1, msgid="m1", publickey_ver=1, raw_json=b"{}",
                raw_sha256=hashlib.sha256(b"{}").hexdigest(), action="send", sender="u", tolist="[]", roomid="",
                msgtime=now, msgtype="mixed", content_text="", session_id=None, session_type=None, supported=True,
                has_media=True, recalled_msgid=None, recalled_at=None, recall_msgid=None, sync_run_id=None,
                ingested_at=now))
            self.corp_id = corp_id
        for i in range(n):
            data = os.urandom(1000 + 7919 * i)
            self.add(data, f"item[{i}]")
        first = next(iter(self.data))
        self.add(self.data[first], "dup[1]")  # two more messages' references to the same file
        self.add(self.data[first], "dup[2]")
        self._row(f"pending[{n}]", status=PENDING)
        self._row(f"failed[{n}]", status=FAILED)

    def add(self, data: bytes, ref: str) -> str:
        sha = hashlib.sha256(data).hexdigest()
        key = media_key(CORP, sha, "jpg")
        if key not in self.data:
            self.local.put(key, io.BytesIO(data))
            self.data[key] = data
        self._row(ref, status=STORED, key=key, sha=sha, size=len(data))
        return key

    def _row(self, ref: str, *, status: str, key=None, sha=None, size=None) -> None:
        now = now_ms()
        with self.db.write() as conn:
            conn.execute(insert(Media).values(
                id=self.db.ids.next_id(), corp_id=self.corp_id, message_id=self.message_id, msgid="m1", ref_path=ref,
                kind="image", sdkfileid=f"fid-{ref}", sdkfileid_sha256=hashlib.sha256(ref.encode()).hexdigest(),
                md5sum="", declared_size=size, filename=None, ext="jpg", status=status, attempts=1, last_error=None,
                storage_backend="local" if status == STORED else None, storage_key=key, sha256=sha,
                stored_size=size, md5_matched=None, stored_at=now if status == STORED else None, updated_at=now))

    def backends(self) -> dict[str | None, int]:
        with self.db.read() as conn:
            rows = conn.execute(select(Media.storage_backend, Media.status)).all()
        out: dict[str | None, int] = {}
        for backend, status in rows:
            if status == STORED:
                out[backend] = out.get(backend, 0) + 1
        return out

    def close(self) -> None:
        self.db.close()


@pytest.fixture
def archive(db_url, env):
    a = Archive(db_url, env[2]["local"])
    yield a
    a.close()


def test_media_moves_local_to_oss_to_cos_and_back_verified(archive, env, stores):
    _, _, b = env
    assert archive.backends() == {"local": 12}
    for source, target in (("local", "oss"), ("oss", "cos"), ("cos", "local")):
        assert archive.backends() == {source: 12}
        report = migrate_media(ACTOR, archive.db, b[target], b.__getitem__)
        assert report.complete, report.failures
        assert report.rows_moved == 12 and report.remaining_rows == 0
        assert archive.backends() == {target: 12}
        for key, data in archive.data.items():
            with b[target].open(key) as f:
                assert f.read() == data
        if target != "local":
            assert report.objects_copied == 10 and report.bytes_copied == sum(map(len, archive.data.values()))
            assert len(stores[target].keys_in(BUCKET[target])) == 10  # duplicates stored once
            assert all(k.startswith("wecom/") for k in stores[target].keys_in(BUCKET[target]))
        else:  # the original local copies were left in place: found intact, verified, adopted
            assert report.objects_copied == 0 and report.objects_already == 10
    # the untouched rows are still what they were
    assert {s: n for b_, s, n, _ in media_status(ACTOR, archive.db) if b_ == "-"} == {FAILED: 1, PENDING: 1}
    # source objects are never deleted
    assert len(stores["oss"].keys_in(BUCKET["oss"])) == 10


def test_an_interrupted_migration_resumes_where_it_stopped(archive, env, stores):
    _, _, b = env
    store = stores["oss"]
    # The bucket starts failing after four objects went up.
    puts = {"n": 0}

    def after_four(method, key, query):
        if method == "PUT":
            puts["n"] += 1
            return puts["n"] > 4
        return False

    store.faults.fail_next(1000, "503", match=after_four)
    with pytest.raises(StorageError, match="busy or unavailable") as err:
        migrate_media(ACTOR, archive.db, b["oss"], b.__getitem__)
    assert err.value.backend_unusable
    moved = archive.backends().get("oss", 0)
    assert moved >= 4 and archive.backends()["local"] == 12 - moved  # what was verified is recorded
    store.faults.clear()
    # An object copied by a run that died before recording it is adopted, not copied again.
    pending_key = next(k for k in archive.data if not _on(archive, k, "oss"))
    b["oss"].put(pending_key, io.BytesIO(archive.data[pending_key]))
    report = migrate_media(ACTOR, archive.db, b["oss"], b.__getitem__)
    assert report.complete and archive.backends() == {"oss": 12}
    assert report.objects_already == 1 and report.objects_copied == 10 - 4 - 1
    assert report.rows_moved == 12 - moved


def _on(archive, key: str, backend: str) -> bool:
    with archive.db.read() as conn:
        return conn.execute(select(Media.storage_backend).where(Media.storage_key == key)).first()[0] == backend


def test_a_cancelled_migration_resumes_and_a_dry_run_changes_nothing(archive, env):
    _, _, b = env
    dry = migrate_media(ACTOR, archive.db, b["cos"], b.__getitem__, dry_run=True)
    assert dry.dry_run and dry.total_rows == 12 and dry.by_backend == {"local": 12} and not dry.complete
    assert archive.backends() == {"local": 12}
    seen = []
    report = migrate_media(ACTOR, archive.db, b["cos"], b.__getitem__, progress=lambda p: seen.append(p.done),
                           cancel=lambda: len(seen) >= 3)
    assert report.cancelled and not report.complete and 0 < report.rows_moved < 12
    again = migrate_media(ACTOR, archive.db, b["cos"], b.__getitem__)
    assert again.complete and again.rows_moved == 12 - report.rows_moved
    assert again.objects_copied + report.objects_copied == 10


def test_a_corrupt_source_object_is_not_copied_and_blocks_the_switch(archive, env, stores):
    _, _, b = env
    bad_key = list(archive.data)[3]
    path = b["local"].path_for(bad_key)
    os.chmod(path, 0o600)
    path.write_bytes(b"tampered" + archive.data[bad_key][8:])
    report = migrate_media(ACTOR, archive.db, b["oss"], b.__getitem__)
    assert not report.complete and report.failed_objects == 1
    assert report.failures[0][0] == bad_key and "does not match its recorded SHA-256" in report.failures[0][1]
    assert report.remaining_rows == 1 and archive.backends() == {"oss": 11, "local": 1}
    assert f"wecom/{bad_key}" not in stores["oss"].keys_in(BUCKET["oss"])


def test_verify_finds_missing_and_changed_objects(archive, env, stores):
    _, _, b = env
    assert migrate_media(ACTOR, archive.db, b["cos"], b.__getitem__).complete
    clean = verify_media(ACTOR, archive.db, b.__getitem__)
    assert clean.clean and clean.checked_objects == 10 and clean.ok == 10
    keys = list(archive.data)
    stores["cos"].corrupt(BUCKET["cos"], f"wecom/{keys[0]}")
    b["cos"].delete([keys[1]])
    report = verify_media(ACTOR, archive.db, b.__getitem__, backend="cos")
    assert report.problems == 2 and report.mismatched == [f"cos:{keys[0]}"] and report.missing == [f"cos:{keys[1]}"]
    assert verify_media(ACTOR, archive.db, b.__getitem__, backend="local").checked_objects == 0


def test_the_media_commands_migrate_switch_the_settings_and_verify(tmp_path, stores, monkeypatch):
    from app.cli import main
    from app.core.context import AppContext

    data_dir = tmp_path / "data"
    ctx = AppContext(data_dir)
    archive = Archive(ctx.db_url, ctx.storage, n=4)
    archive.close()
    configure(ctx.settings, "oss", stores["oss"].endpoint)
    ctx.save()
    from accounts_kit import cli_token

    monkeypatch.setenv("WECOM_AUDITOR_TOKEN", cli_token(ctx.db))  # an administrator with every role
    ctx.close()
    monkeypatch.setenv("WECOM_AUDITOR_STORAGE_SECRET_OSS", SECRET)
    runner = CliRunner()

    def run(*args):
        return runner.invoke(main, [*args, "--data-dir", str(data_dir)], catch_exceptions=False)

    result = run("media", "migrate", "--to", "oss", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would move 6 media row(s)" in result.output and "reachable" in result.output
    result = run("media", "migrate", "--to", "oss")
    assert result.exit_code == 0, result.output
    assert "Copied and verified 4 file(s)" in result.output and "the settings now use it" in result.output
    status = json.loads(run("media", "status", "--json").output)
    assert status["backend_in_use"] == "oss"
    assert {(r["backend"], r["status"]): r["count"] for r in status["rows"]} == {
        ("oss", STORED): 6, ("-", PENDING): 1, ("-", FAILED): 1}
    result = run("media", "verify")
    assert result.exit_code == 0 and "Checked 4 file(s): 4 intact, 0 problem(s)." in result.output
    stores["oss"].corrupt(BUCKET["oss"], stores["oss"].keys_in(BUCKET["oss"])[0])
    result = run("media", "verify")
    assert result.exit_code == 1 and "DIFFERENT oss:" in result.output
    monkeypatch.setenv("WECOM_AUDITOR_STORAGE_SECRET_OSS", "wrong")
    result = run("media", "status")
    assert result.exit_code == 0  # status reads the database only
    result = run("media", "verify")
    assert result.exit_code == 1 and "secret key does not match" in result.output
    assert "Traceback" not in result.output


def test_media_stays_pending_when_the_cloud_fails_during_a_sync(tmp_path, tiny_corpus, simulator_path, stores,
                                                                monkeypatch):
    from app.core.context import AppContext

    store = stores["cos"]
    monkeypatch.setenv("WECOM_AUDITOR_STORAGE_SECRET_COS", SECRET)
    ctx = AppContext(tmp_path / "data")
    try:
        configure(ctx.settings, "cos", store.endpoint)
        ctx.settings.storage.backend = "cos"
        ctx.save()
        corp, _ = ctx.setup_demo(tiny_corpus.path)
        ctx.__dict__["storage"] = open_storage(ctx.settings, ctx.paths, ctx.secrets, **FAST)  # quick retries
        store.faults.fail_next(10_000, "503", match=lambda m, k, q: m in ("PUT", "POST"))
        report = ctx.make_syncer(corp, workers=1).run()
        assert report.outcome == "succeeded" and report.media_stored == 0
        with ctx.db.read() as conn:
            rows = conn.execute(select(Media.status, Media.last_error, Media.storage_key)).all()
        assert rows and {r.status for r in rows} == {PENDING}
        assert all("storage error" in r.last_error and "busy or unavailable" in r.last_error for r in rows)
        assert store.keys_in(BUCKET["cos"]) == []
        store.faults.clear()
        again = ctx.make_syncer(corp, workers=1).run()
        assert again.media_stored == len(rows)
        with ctx.db.read() as conn:
            stored = conn.execute(select(Media.storage_backend, Media.storage_key, Media.sha256)).all()
        assert {r.storage_backend for r in stored} == {"cos"}
        for r in stored:
            with ctx.storage.open(r.storage_key) as f:
                assert hashlib.sha256(f.read()).hexdigest() == r.sha256
    finally:
        ctx.close()


def test_the_viewer_service_reads_rows_from_the_backend_they_name(tmp_path, stores, monkeypatch):
    """Rows left on the old backend (or not yet migrated) stay readable after a switch."""
    from app.core.context import AppContext

    ctx = AppContext(tmp_path / "data")
    archive = Archive(ctx.db_url, ctx.storage, n=2)
    try:
        monkeypatch.setenv("WECOM_AUDITOR_STORAGE_SECRET_OSS", SECRET)
        configure(ctx.settings, "oss", stores["oss"].endpoint)
        with archive.db.read() as conn:
            ids = [r.id for r in conn.execute(select(Media.id, Media.storage_key).where(Media.status == STORED))]
        first_key = list(archive.data)[0]
        oss = open_storage(ctx.settings, ctx.paths, ctx.secrets, "oss", **FAST)
        oss.put(first_key, io.BytesIO(archive.data[first_key]))
        with archive.db.write() as conn:
            conn.execute(update(Media).where(Media.storage_key == first_key).values(storage_backend="oss"))
        ctx.settings.storage.backend = "oss"
        ctx.__dict__.pop("storage", None)
        for media_id in ids:
            with ctx.db.read() as conn:
                key = conn.execute(select(Media.storage_key).where(Media.id == media_id)).scalar()
            assert ctx.media.read(ACTOR, media_id) == archive.data[key]
        url = ctx.media.signed_url(ACTOR, ids[0], 60)
        assert url.startswith(stores["oss"].endpoint)
    finally:
        archive.close()
        ctx.close()
