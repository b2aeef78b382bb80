"""Backup → wipe → restore → verify, on SQLite and MariaDB; verification names what was altered or
removed; an incremental backup copies only new media and continues the chain."""

from __future__ import annotations

import json
import shutil

import pytest
from archive_kit import make_archive
from sqlalchemy import text

from app.core.backup import BackupError, make_backup, restore_backup, verify_backup
from app.core.backup.repository import MEDIA_LIST, backup_ids


@pytest.fixture
def archive(tmp_path, db_url):
    ctx, actor = make_archive(tmp_path / "data", db_url if db_url.startswith("mysql") else None, messages=80)
    yield ctx, actor, db_url
    ctx.close()


def _fresh_mariadb_url(db_url: str) -> str:
    """A second throw-away database beside the fixture's (dropped by the caller)."""
    import uuid

    import pymysql

    name = f"wa_restore_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    conn.close()
    return f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4", name


def _drop(name: str) -> None:
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


def test_backup_wipe_restore_verify(archive, tmp_path):
    ctx, actor, db_url = archive
    repo = tmp_path / "backups"
    result = make_backup(ctx, actor, repo)
    assert result.messages > 0 and result.media_added > 0 and not result.media_problems
    with ctx.db.read() as conn:
        msgs = dict(conn.execute(text("SELECT msgid, raw_sha256 FROM messages")).all())
        media = conn.execute(text("SELECT COUNT(*) FROM media WHERE status = 'stored'")).scalar()
    report = verify_backup(repo)
    assert report.ok, report.problems
    assert report.messages == len(msgs) and report.media_files == result.media_added

    # wipe: the data folder and the database are gone
    ctx.close()
    shutil.rmtree(tmp_path / "data")
    target_url, name = (None, None)
    if db_url.startswith("mysql"):
        target_url, name = _fresh_mariadb_url(db_url)
    try:
        restored = restore_backup(repo, data_dir=tmp_path / "restored", db_url=target_url)
        assert restored.messages == len(msgs) and restored.media_files == result.media_added
        from app.core.context import AppContext

        back = AppContext(tmp_path / "restored", target_url)
        try:
            with back.db.read() as conn:
                assert dict(conn.execute(text("SELECT msgid, raw_sha256 FROM messages")).all()) == msgs
                assert conn.execute(text("SELECT COUNT(*) FROM media WHERE status = 'stored'")).scalar() == media
            report = back.trail.check()
            assert report.ok
            last = back.trail.entries(back.accounts.no_login_actor("h"), limit=5)
            assert any(e.action == "restore" and e.object == result.backup_id for e in last)
            # the media are readable from the restored storage
            row = back.archive.media_of_messages(back.accounts.no_login_actor("h"), [
                back.archive.messages(back.accounts.no_login_actor("h"), limit=500)[0].id])
            assert row is not None
        finally:
            back.close()
    finally:
        if name:
            _drop(name)


def test_verify_names_an_altered_or_missing_file(tmp_path):
    ctx, actor = make_archive(tmp_path / "data", messages=60)
    repo = tmp_path / "backups"
    first = make_backup(ctx, actor, repo)
    # new messages' media: a second, incremental backup continues the chain and copies only new files
    ctx.trail.record(actor, "settings.change", object="a change after the first backup")
    second = make_backup(ctx, actor, repo)
    ctx.close()
    assert second.previous == first.backup_id and second.media_added == 0
    assert verify_backup(repo, second.backup_id).ok

    media_list = (repo / first.backup_id / MEDIA_LIST).read_text().splitlines()
    key = media_list[0].split(" ")[2]
    victim = repo / first.backup_id / "media" / key
    data = victim.read_bytes()
    victim.chmod(0o600)
    victim.write_bytes(b"X" + data[1:])
    report = verify_backup(repo, second.backup_id)
    assert not report.ok and any(first.backup_id in p and key in p and "altered" in p for p in report.problems)
    victim.write_bytes(data)
    assert verify_backup(repo, second.backup_id).ok

    # an altered manifest of the earlier backup breaks the chain, named
    manifest = repo / first.backup_id / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["counts"]["messages"] += 1
    original = manifest.read_bytes()
    manifest.write_text(json.dumps(doc))
    report = verify_backup(repo, second.backup_id)
    assert not report.ok and first.backup_id in report.problems[0] and "altered" in report.problems[0]
    manifest.write_bytes(original)

    # a missing earlier backup is named, and restore refuses
    shutil.move(str(repo / first.backup_id), str(tmp_path / "moved"))
    report = verify_backup(repo, second.backup_id)
    assert not report.ok and first.backup_id in report.problems[0] and "missing" in report.problems[0]
    with pytest.raises(BackupError, match="nothing was restored"):
        restore_backup(repo, second.backup_id, data_dir=tmp_path / "restored")
    assert not (tmp_path / "restored" / "archive.db").exists()
    assert backup_ids(repo) == [second.backup_id]


def test_restore_refuses_a_target_that_is_not_empty(tmp_path):
    ctx, actor = make_archive(tmp_path / "data", messages=40)
    repo = tmp_path / "backups"
    make_backup(ctx, actor, repo)
    ctx.close()
    with pytest.raises(BackupError, match="holds settings already"):
        restore_backup(repo, data_dir=tmp_path / "data")


def test_restore_refuses_an_in_memory_database(tmp_path):
    # "sqlite://" has no file: restoring into it raised TypeError from Path(None) (found by mypy).
    ctx, actor = make_archive(tmp_path / "data", messages=10)
    repo = tmp_path / "backups"
    make_backup(ctx, actor, repo)
    ctx.close()
    with pytest.raises(BackupError, match="in-memory database"):
        restore_backup(repo, data_dir=tmp_path / "restored", db_url="sqlite://")


def test_backups_made_in_one_second_keep_their_order_and_chain(archive, tmp_path, monkeypatch):
    """Ids sort by time to the second: backups in the same second (the clock held still here) still
    sort in the order they were made, so the newest is verified and continued (a random suffix made
    the verification of the folder check an older one and could fork the chain)."""
    import app.core.backup.backup as backup_module

    ctx, actor, _ = archive
    frozen = backup_module.now_ms()
    monkeypatch.setattr(backup_module, "now_ms", lambda: frozen)
    repo = tmp_path / "backups"
    made = [make_backup(ctx, actor, repo, full=n == 0) for n in range(4)]
    ids = [r.backup_id for r in made]
    assert len({i[:16] for i in ids}) == 1  # one second
    assert backup_ids(repo) == ids
    assert [r.previous for r in made] == [None, *ids[:-1]]
    report = verify_backup(repo)
    assert report.ok, report.problems
    assert report.backup_id == ids[-1] and report.chain == ids
