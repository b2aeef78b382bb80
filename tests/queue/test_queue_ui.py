"""The GUI's queue view and runner (offscreen), on the embedded queue."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.core.actor import Actor  # noqa: E402
from app.core.queue import DEAD, READY, RUNNING, SCHEDULED, Job, open_queue  # noqa: E402
from app.core.store.models import STORED, Media  # noqa: E402


@pytest.fixture(autouse=True)
def _no_task_left_behind(qapp):
    """Reads of the queue view run on the pool: let them end before the test does."""
    yield
    from app.ui.tasks import wait_for_tasks

    assert wait_for_tasks(30000)


@pytest.fixture
def ctx(tmp_path):
    from app.core.context import AppContext

    c = AppContext(tmp_path / "data")
    yield c
    c.close()


def _job(i: int, state: str, error: str | None = None) -> Job:
    return Job(id=f"job-{i}", topic="media.download", payload={"media_id": i}, execute_at=1_700_000_000_000 + i,
               ttr=60, attempts=1, max_attempts=5, state=state, last_error=error, updated_at=1_700_000_000_000,
               lease_until=1_700_000_060_000 if state == RUNNING else None)


def test_the_jobs_model_passes_the_model_tester(qtmodeltester):
    from app.ui.queue import JobsModel

    model = JobsModel()
    model.set_jobs([_job(1, SCHEDULED), _job(2, RUNNING), _job(3, DEAD, "boom")])
    qtmodeltester.check(model)


def test_the_queue_view_counts_lists_retries_and_deletes(qtbot, ctx):
    from PySide6.QtCore import Qt

    from app.ui.queue import JOB_ROLE, QueueDialog

    queue = open_queue(ctx)
    now = queue.now_ms()
    queue.enqueue("media.download", {"media_id": 1}, execute_at=now + 3_600_000, job_id="media:1")
    queue.enqueue("media.download", {"media_id": 2}, execute_at=now + 7_200_000, job_id="media:2")
    queue.enqueue("sync.scheduled", {"corpid": "c"}, job_id="sync:c")
    queue.enqueue("media.download", {"media_id": 3}, job_id="media:3")
    dead = queue.reserve(["media.download"], timeout=1)
    queue.bury(dead, '<img src=x onerror="alert(1)"> md5 mismatch')

    dialog = QueueDialog(ctx, Actor.local(), parent=None)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 4)
    assert dialog.counts.text() == "Scheduled: 2   Ready: 1   Running: 0   Dead: 1"
    assert "archive database" in dialog.where.text()

    dialog.state_filter.setCurrentIndex(dialog.state_filter.findData(DEAD))
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1)
    index = dialog.model.index(0, 6)
    assert index.data() == '<img src=x onerror="alert(1)"> md5 mismatch'  # shown as the plain text it is
    assert "&lt;img" in index.data(Qt.ItemDataRole.ToolTipRole)
    assert index.data(JOB_ROLE).id == "media:3"
    assert not dialog.retry_button.isEnabled()
    dialog.view.selectRow(0)
    assert dialog.retry_button.isEnabled() and dialog.delete_button.isEnabled()
    dialog.retry_button.click()
    qtbot.waitUntil(lambda: queue.get("media:3").state == READY)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 0)
    assert "will run again now" in dialog.message.text()

    dialog.state_filter.setCurrentIndex(dialog.state_filter.findData(SCHEDULED))
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2)
    dialog.view.selectRow(0)
    dialog.delete_button.click()
    qtbot.waitUntil(lambda: queue.get("media:1") is None)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1)
    dialog.reject()
    assert not dialog.timer.isActive()


def test_the_runner_downloads_pending_media_in_the_background(qtbot, ctx, tiny_corpus, simulator_path):
    from sqlalchemy import select

    from app.ui.queue import QueueRunner

    corp, _ = ctx.setup_demo(tiny_corpus.path)
    assert ctx.make_syncer(corp, media=False, workers=1).run().outcome == "succeeded"
    runner = QueueRunner(ctx, topics=("media.download",), concurrency=2)
    finished = []
    runner.job_finished.connect(lambda topic, job_id, kind: finished.append((topic, kind)))
    runner.start()

    def all_stored():
        with ctx.db.read() as conn:
            return set(conn.execute(select(Media.status)).scalars()) == {STORED}

    qtbot.waitUntil(all_stored, timeout=30000)
    qtbot.waitUntil(lambda: len(finished) == 3, timeout=10000)
    assert finished == [("media.download", "succeeded")] * 3
    assert runner.running
    assert runner.shutdown(timeout=10)
    assert not runner.running


def test_the_main_window_has_the_menu_entry_and_stops_the_runner(qtbot, ctx, monkeypatch):
    from app.ui.main_window import MainWindow
    from app.ui.queue import QueueDialog

    opened = []
    monkeypatch.setattr(QueueDialog, "exec", lambda self: opened.append(self) or 0)
    window = MainWindow(ctx, Actor.local())
    qtbot.addWidget(window)
    assert window.jobs_action.text() == "Background &jobs…"
    window.jobs_action.trigger()
    assert len(opened) == 1
    qtbot.waitUntil(lambda: opened[0].counts.text().startswith("Scheduled: 0"))
    opened[0].reject()
    window.queue_runner.start()
    window.close()
    assert not window.queue_runner.running
