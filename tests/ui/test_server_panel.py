"""The Server panel and "Back up now…" (issue 20): the panel lists the server instances from their
heartbeats (a running one, one gone quiet; one gone for days is not listed), each corp's last sync and
the queue by state; the backup dialog writes a backup that verify_backup accepts, continues the
folder's chain, verifies a backup (naming an altered file), and is cancellable without leaving
anything or touching the backups before it; a non-administrator sees no "Back up now…"; the
scheduled backups are set on the settings' Background jobs page and saved in the audit trail."""

from __future__ import annotations

import hashlib
import threading

import pytest
from archive_kit import make_archive
from sqlalchemy import text, update

from app.core.actor import Actor
from app.core.backup import backup_ids, make_backup, verify_backup
from app.core.backup.repository import MANIFEST, MEDIA_LIST, STAGING_PREFIX, read_media_list
from app.core.queue import open_queue
from app.core.retention.tables import server_instances
from app.core.server_status import beat, register
from app.core.store.db import now_ms
from app.ui.main_window import MainWindow
from app.ui.panels import Navigator
from app.ui.server_panel import ServerPanel
from app.ui.tasks import wait_for_tasks

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints",
                                       "This plugin does not support raise")

DAY_MS = 24 * 3600 * 1000


@pytest.fixture
def archive(tmp_path):
    ctx, actor = make_archive(tmp_path / "data", messages=60)
    yield ctx, actor
    wait_for_tasks()
    ctx.close()


def _panel(qtbot, ctx, actor) -> ServerPanel:
    panel = ServerPanel(ctx, actor, Navigator())
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.summary.text() != "Reading…" and not panel._reading, timeout=20_000)
    return panel


def _rows(model) -> list[list[str]]:
    return [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(model.rowCount())]


def test_the_panel_lists_running_and_gone_servers_the_last_sync_and_the_queue(qtbot, qtmodeltester, archive):
    ctx, actor = archive
    register(ctx.db, "inst-running", "http://10.0.0.5:8080", "1.4.0")
    register(ctx.db, "inst-stopped", "http://10.0.0.6:8080", "1.3.9")
    beat(ctx.db, "inst-stopped", stopped=True)
    register(ctx.db, "inst-silent", "http://10.0.0.8:8080", "1.3.9")
    register(ctx.db, "inst-long-gone", "http://10.0.0.7:8080", "1.0.0")
    with ctx.db.write() as conn:
        # killed without a word: no heartbeat for five minutes, never stopped
        conn.execute(update(server_instances).where(server_instances.c.id == "inst-silent")
                     .values(started_at=now_ms() - 3_600_000, last_seen_at=now_ms() - 300_000))
        # last heard of three days ago: no longer listed
        conn.execute(update(server_instances).where(server_instances.c.id == "inst-long-gone")
                     .values(started_at=now_ms() - 4 * DAY_MS, last_seen_at=now_ms() - 3 * DAY_MS))
    queue = open_queue(ctx)
    try:
        queue.enqueue("test.panel", {"n": 1}, delay=3600)  # scheduled
        queue.enqueue("test.panel", {"n": 2})  # ready
        queue.enqueue("test.panel", {"n": 3})  # ready
        dead = queue.reserve(["test.panel"])
        assert dead is not None and queue.bury(dead, "test: given up")
        counts = queue.counts()
    finally:
        queue.close()
    with ctx.db.read() as conn:
        stored = conn.execute(text("SELECT stored FROM sync_runs ORDER BY started_at DESC LIMIT 1")).scalar_one()
        corpid = conn.execute(text("SELECT corpid FROM corps")).scalar_one()
    assert stored > 0

    panel = _panel(qtbot, ctx, actor)
    qtmodeltester.check(panel.servers)
    qtmodeltester.check(panel.syncs)
    servers = _rows(panel.servers)
    assert [(r[1], r[2], r[5]) for r in servers] == [("http://10.0.0.5:8080", "1.4.0", "Running"),
                                                    ("http://10.0.0.6:8080", "1.3.9", "Not running"),
                                                    ("http://10.0.0.8:8080", "1.3.9", "Not running")]
    assert "s ago" in servers[0][4] and servers[2][4].endswith("(5 min ago)")
    assert panel.summary.text() == "1 server is running."
    (sync,) = _rows(panel.syncs)
    assert corpid in sync[0] and sync[3] == "Succeeded" and sync[4] == str(stored) and sync[6] == ""
    assert counts == {"scheduled": 1, "ready": 1, "running": 0, "dead": 1}
    assert panel.queue_label.text() == "Queue: scheduled 1 · ready 1 · running 0 · given up 1"

    # the running one stops: the panel says so at its next read
    beat(ctx.db, "inst-running", stopped=True)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.summary.text().startswith("No server is running"), timeout=20_000)
    assert [r[5] for r in _rows(panel.servers)] == ["Not running"] * 3


def test_the_panel_is_registered_and_only_administrators_see_back_up_now(qtbot, archive):
    ctx, admin = archive
    window = MainWindow(ctx, admin)
    qtbot.addWidget(window)
    dock = window.panels["server"].parentWidget()
    assert dock.toggleViewAction().shortcut().toString() == "Ctrl+Shift+S"
    dock.toggleViewAction().trigger()
    assert window.panels["server"].backup_button.isVisibleTo(window.panels["server"])
    window.close()

    auditor = Actor(username="auditor-1", roles=frozenset({"auditor"}))
    panel = _panel(qtbot, ctx, auditor)
    assert not panel.backup_button.isVisibleTo(panel)
    assert panel.servers.rowCount() == 0 and panel.summary.text().startswith("No server (wecom-auditor serve)")
    # and the dialog itself refuses to start one
    dialog = panel.open_backup()
    assert not dialog.backup_button.isEnabled() and dialog.start_backup() is False
    dialog.close()


def _manifest_sha(folder) -> str:
    return hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()


def test_a_backup_from_the_dialog_verifies_and_the_next_continues_its_chain(qtbot, archive, tmp_path):
    ctx, actor = archive
    repo = tmp_path / "backups"
    panel = _panel(qtbot, ctx, actor)
    dialog = panel.open_backup()
    dialog.folder_edit.setText(str(repo))
    with qtbot.waitSignal(dialog.folder_read, timeout=10_000):
        pass
    assert dialog.folder_info.text() == "It holds no backup yet: the first one is full."
    with qtbot.waitSignal(dialog.backup_finished, timeout=120_000) as blocker:
        qtbot.mouseClick(dialog.backup_button, qtbot_left())
    first = blocker.args[0]
    assert backup_ids(repo) == [first.backup_id]
    report = verify_backup(repo)
    assert report.ok, report.problems
    assert first.messages == report.messages > 0 and first.media_added == report.media_files > 0
    assert dialog.id_label.text() == first.backup_id
    assert dialog.sha_label.text() == _manifest_sha(repo / first.backup_id)
    assert dialog.kind_label.text() == "Full (the folder held no backup of this archive to continue)"
    assert dialog.counts_label.text().startswith(f"{first.messages} messages; {first.media_added} media files (")
    assert dialog.status_label.text() == "The backup is written and signed."
    qtbot.waitUntil(lambda: dialog.folder_info.text().startswith("It holds 1 backup"), timeout=10_000)

    with qtbot.waitSignal(dialog.backup_finished, timeout=120_000) as blocker:
        assert dialog.start_backup()
    second = blocker.args[0]
    assert second.previous == first.backup_id and second.media_added == 0
    assert dialog.kind_label.text() == f"Incremental, continuing {first.backup_id}"
    audit = ctx.trail.entries(actor, limit=50)
    assert {e.object for e in audit if e.action == "backup"} >= {first.backup_id, second.backup_id}

    # Verify a backup…: the newest of the folder, intact
    with qtbot.waitSignal(dialog.verify_finished, timeout=120_000) as blocker:
        assert dialog.start_verify(repo)
    assert blocker.args[0].ok and blocker.args[0].chain == [first.backup_id, second.backup_id]
    assert dialog.status_label.text().startswith(f"Intact: backup {second.backup_id} and its chain of 2 backups")

    # a media file of the first backup altered: verifying the second (its own folder chosen) names it
    entry = next(iter(read_media_list(repo / first.backup_id / MEDIA_LIST)))
    (repo / first.backup_id / "media" / entry.key).write_bytes(b"altered")
    with qtbot.waitSignal(dialog.verify_finished, timeout=120_000) as blocker:
        assert dialog.start_verify(repo / second.backup_id)
    assert not blocker.args[0].ok
    assert dialog.status_label.text().startswith(f"Backup {second.backup_id} FAILED: 1 problem")
    assert entry.key in dialog.problems.toPlainText() and dialog.problems.isVisible()
    dialog.close()


def qtbot_left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_a_backup_is_cancelled_leaving_nothing_and_the_earlier_backup_valid(qtbot, archive, tmp_path, monkeypatch):
    ctx, actor = archive
    repo = tmp_path / "backups"
    earlier = make_backup(ctx, actor, repo)
    import app.core.backup.backup as backup_module

    copy_object = backup_module._copy_object
    entered, release = threading.Event(), threading.Event()

    def held_copy(*args, **kwargs):  # the first media copy waits until the test has pressed Cancel
        entered.set()
        release.wait(30)
        return copy_object(*args, **kwargs)

    monkeypatch.setattr(backup_module, "_copy_object", held_copy)
    panel = _panel(qtbot, ctx, actor)
    dialog = panel.open_backup()
    dialog.folder_edit.setText(str(repo))
    dialog.full_radio.setChecked(True)  # copies every media file again (an incremental one would copy none)
    assert dialog.start_backup()
    qtbot.waitUntil(entered.is_set, timeout=60_000)
    assert dialog.cancel_button.isVisible() and not dialog.close_button.isEnabled()
    with qtbot.waitSignal(dialog.backup_cancelled, timeout=60_000):
        qtbot.mouseClick(dialog.cancel_button, qtbot_left())
        release.set()
    assert dialog.status_label.text().startswith("The backup was cancelled")
    assert backup_ids(repo) == [earlier.backup_id]
    assert not [p for p in repo.iterdir() if p.name.startswith(STAGING_PREFIX)]
    assert verify_backup(repo).ok
    assert dialog.backup_button.isEnabled() and dialog.close_button.isEnabled()
    dialog.close()


def test_scheduled_backups_are_set_on_the_background_jobs_page(qtbot, archive, tmp_path):
    from app.core.config.settings import load_settings
    from app.ui.settings import SettingsDialog

    ctx, actor = archive
    dialog = SettingsDialog(ctx, actor)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.secrets_loaded, timeout=10_000):
        pass
    page = dialog.queue_page
    page.backup_spin.setValue(24)
    assert not dialog.ok_button().isEnabled()
    assert page.backup_error.text() == "Choose the folder the scheduled backups go into."
    page.backup_folder_edit.setText(str(tmp_path / "nightly"))
    assert dialog.ok_button().isEnabled() and not page.backup_error.text()
    dialog.accept()
    qtbot.waitUntil(lambda: dialog.result() == 1, timeout=10_000)
    saved = load_settings(ctx.paths)
    assert (saved.backup_interval_hours, saved.backup_folder) == (24, str(tmp_path / "nightly"))
    changes = [e.object for e in ctx.trail.entries(actor, limit=20) if e.action == "settings.change"]
    assert any(c.startswith("backup_interval_hours: 0 -> 24") for c in changes), changes
    # the backup dialog shows the schedule, and does not change it
    panel = _panel(qtbot, ctx, actor)
    backup = panel.open_backup()
    assert backup.schedule_label.text() == (f"Every 24 h into {tmp_path / 'nightly'} (this computer; change it in "
                                            f"Settings → Background jobs).")
    assert backup.folder_edit.text() == str(tmp_path / "nightly")
    backup.close()


def test_without_a_keyring_the_backup_asks_for_the_export_keys_passphrase(qtbot, archive, tmp_path, monkeypatch):
    import keyring
    from keyring.backends import fail

    import app.ui.backup_dialog as backup_dialog

    ctx, actor = archive
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    monkeypatch.delenv("WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE", raising=False)
    asked, answers = [], ["a passphrase of mine", "not my passphrase", None]
    monkeypatch.setattr(backup_dialog, "ask_export_key_passphrase",
                        lambda parent, need, show_error: asked.append(need) or answers.pop(0))
    repo = tmp_path / "backups"
    panel = _panel(qtbot, ctx, actor)
    dialog = panel.open_backup()
    dialog.folder_edit.setText(str(repo))
    with qtbot.waitSignal(dialog.backup_finished, timeout=120_000):
        assert dialog.start_backup()
    assert asked == ["new"] and (ctx.paths.data_dir / "export-key.enc").is_file()
    assert verify_backup(repo).ok

    with qtbot.waitSignal(dialog.backup_failed, timeout=120_000) as blocker:
        assert dialog.start_backup()
    assert asked == ["new", "unlock"] and "does not unlock the export signing key" in blocker.args[0]
    assert dialog.status_label.text().startswith("The backup failed: ")
    assert len(backup_ids(repo)) == 1

    assert not dialog.start_backup() and not dialog.is_running()  # the user cancelled the question
    assert asked == ["new", "unlock", "unlock"] and len(backup_ids(repo)) == 1
    dialog.close()


def test_a_failed_backup_is_said_in_the_chinese_window_s_language(qtbot, archive, tmp_path, chinese_window):
    ctx, actor = archive
    (tmp_path / "a-file").write_text("not a folder")
    panel = _panel(qtbot, ctx, actor)
    dialog = panel.open_backup()
    dialog.folder_edit.setText(str(tmp_path / "a-file" / "backups"))
    with qtbot.waitSignal(dialog.backup_failed, timeout=120_000) as blocker:
        assert dialog.start_backup()
    assert blocker.args[0].startswith(f"无法创建备份文件夹 {tmp_path / 'a-file' / 'backups'}："), blocker.args[0]
    assert dialog.status_label.text().startswith("备份失败：无法创建备份文件夹"), dialog.status_label.text()
    dialog.close()
