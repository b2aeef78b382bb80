"""The queue view: background jobs by state with counts, last errors, retry and delete.

Everything that touches the queue runs off the GUI thread (``run_task``); a timer refreshes the
view every few seconds while it is open, skipping a tick while the previous read is still out.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.queue import DEAD, READY, RUNNING, SCHEDULED, STATES, JobQueue, QueueService, open_queue

from ..tasks import run_task
from .model import JobsModel

REFRESH_MS = 3000
PAGE = 500  # jobs listed per view (the counts are always complete)


class QueueDialog(QDialog):
    """Lists the jobs of ``queue`` (default: the queue the settings choose)."""

    refreshed = Signal()  # the view shows fresh data
    action_failed = Signal(str)

    def __init__(self, ctx, actor: Actor, parent: QWidget | None = None, *,
                 queue: JobQueue | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.actor = actor
        self.setWindowTitle(self.tr("Background jobs"))
        self._own_queue = queue is None
        self.queue = queue if queue is not None else open_queue(ctx)
        self.service = QueueService(self.queue, ctx.db)
        self._loading = self._again = self._read_failed = False

        self.where = QLabel(self)
        self.where.setTextFormat(Qt.TextFormat.PlainText)
        self.where.setWordWrap(True)
        self.counts = QLabel(self)
        self.counts.setTextFormat(Qt.TextFormat.PlainText)
        self.state_filter = QComboBox(self)
        self.state_filter.addItem(self.tr("All jobs"), None)
        self.model = JobsModel(self)
        for state in STATES:
            self.state_filter.addItem(self.model.state_name(state), state)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.message = QLabel(self)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)

        self.retry_button = QPushButton(self.tr("&Retry now"), self)
        self.retry_button.setToolTip(self.tr("Run the selected dead or waiting job again now"))
        self.delete_button = QPushButton(self.tr("&Delete"), self)
        self.requeue_button = QPushButton(self.tr("Re-enqueue &pending media"), self)
        self.requeue_button.setToolTip(self.tr("Add a download job for every pending media file that has none"))
        self.refresh_button = QPushButton(self.tr("Re&fresh"), self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)

        top = QHBoxLayout()
        top.addWidget(self.counts, 1)
        top.addWidget(QLabel(self.tr("Show:"), self))
        top.addWidget(self.state_filter)
        actions = QHBoxLayout()
        for b in (self.retry_button, self.delete_button, self.requeue_button, self.refresh_button):
            actions.addWidget(b)
        actions.addStretch(1)
        actions.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.where)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.message)
        layout.addLayout(actions)
        self.resize(1000, 520)

        self.where.setText(self.tr("Queue: %1").replace("%1", self.queue.description))
        self.counts.setText(self.tr("Loading…"))
        self.timer = QTimer(self, interval=REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.state_filter.currentIndexChanged.connect(self.refresh)
        self.refresh_button.clicked.connect(self.refresh)
        self.retry_button.clicked.connect(self.retry_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.requeue_button.clicked.connect(self.requeue)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.finished.connect(self._closed)
        self._update_buttons()
        self.timer.start()
        self.refresh()

    # ------------------------------------------------------------------ reading
    def refresh(self) -> None:
        if self._loading:
            self._again = True  # read again when the current read is back
            return
        self._loading, self._again = True, False
        service, actor, state = self.service, self.actor, self.state_filter.currentData()

        def load():
            counts = service.counts(actor)
            return counts, service.jobs(actor, state=state, limit=PAGE)

        run_task(self, load, self._show, self._load_failed)

    def _show(self, result) -> None:
        self._loading = False
        counts, jobs = result
        selected = self.selected_job()
        self.model.set_jobs(jobs)
        self.counts.setText(self.tr("Scheduled: %1   Ready: %2   Running: %3   Dead: %4")
                            .replace("%1", str(counts[SCHEDULED])).replace("%2", str(counts[READY]))
                            .replace("%3", str(counts[RUNNING])).replace("%4", str(counts[DEAD])))
        if selected is not None and (row := self.model.row_of(selected.id)) is not None:
            self.view.selectRow(row)
        if self._read_failed:  # the queue is back: drop the message that said it was not
            self._read_failed = False
            self.message.setText("")
        self._update_buttons()
        self.refreshed.emit()
        if self._again:
            self.refresh()

    def _load_failed(self, exc: Exception) -> None:
        self._loading, self._read_failed = False, True
        self.message.setText(self.tr("The job queue cannot be read: %1").replace("%1", str(exc)))
        self.refreshed.emit()
        if self._again:
            self.refresh()

    # ------------------------------------------------------------------ actions
    def selected_job(self):
        rows = self.view.selectionModel().selectedRows()
        return self.model.job(rows[0].row()) if rows else None

    def _update_buttons(self, *_args) -> None:
        job = self.selected_job()
        may = QueueService.may_change(self.actor)  # others may look, not change
        self.retry_button.setEnabled(may and job is not None and job.state in (DEAD, SCHEDULED))
        self.delete_button.setEnabled(may and job is not None)
        self.requeue_button.setEnabled(may)

    def _act(self, fn, done_text) -> None:
        def done(result):
            self.message.setText(done_text(result))
            self.refresh()

        def failed(exc):
            self.message.setText(str(exc))
            self.action_failed.emit(str(exc))

        run_task(self, fn, done, failed)

    def retry_selected(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        service, actor = self.service, self.actor
        self._act(lambda: service.retry(actor, job.id),
                  lambda ok: (self.tr("Job %1 will run again now.") if ok else
                              self.tr("Job %1 cannot be retried now (it is running or gone).")).replace("%1", job.id))

    def delete_selected(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        service, actor = self.service, self.actor
        self._act(lambda: service.delete(actor, job.id),
                  lambda ok: (self.tr("Job %1 deleted.") if ok else self.tr("Job %1 was gone already."))
                  .replace("%1", job.id))

    def requeue(self) -> None:
        service, actor = self.service, self.actor
        self._act(lambda: service.requeue(actor),
                  lambda n: self.tr("%1 job(s) added for pending media.").replace("%1", str(n)))

    def _closed(self, _result=None) -> None:
        self.timer.stop()
        if self._own_queue:
            self.queue.close()
