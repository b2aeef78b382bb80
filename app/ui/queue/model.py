"""The jobs of the queue view: one row per job (state, job, topic, attempts, when, worker, last error)."""

from __future__ import annotations

import html
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from app.core.queue import DEAD, READY, RUNNING, SCHEDULED, Job

from ..table_model import RowTableModel

JOB_ROLE = Qt.ItemDataRole.UserRole + 1  # the Job of a row

_COLUMNS = ("state", "id", "topic", "attempts", "when", "owner", "error")


def _time(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


class JobsModel(RowTableModel[Job]):
    """A page of jobs (the queue view shows at most a few hundred per state: no paging needed)."""

    COLUMNS = _COLUMNS
    OBJECT_ROLE = JOB_ROLE

    def __init__(self, parent=None):
        super().__init__(parent)
        self._states = {SCHEDULED: self.tr("Scheduled"), READY: self.tr("Ready"), RUNNING: self.tr("Running"),
                        DEAD: self.tr("Dead")}
        self._topics = {"media.download": self.tr("Media download"), "sync.scheduled": self.tr("Scheduled sync")}

    def _header_texts(self):
        return (self.tr("State"), self.tr("Job"), self.tr("Kind"), self.tr("Attempts"), self.tr("When"),
                self.tr("Worker"), self.tr("Last error"))

    def set_jobs(self, jobs: list[Job]) -> None:
        self.set_rows(jobs)

    def job(self, row: int) -> Job:
        return self.row_object(row)

    def row_of(self, job_id: str) -> int | None:
        row = self._find_row(lambda job: job.id == job_id)
        return row if row >= 0 else None

    def state_name(self, state: str) -> str:
        return self._states.get(state, state)

    def _role_data(self, job: Job, column: str, role: int):
        if role == Qt.ItemDataRole.ToolTipRole and column in ("error", "id") and (job.last_error or column == "id"):
            # Qt guesses rich text in tooltips: escape so the text shows as the plain text it is.
            text = job.last_error if column == "error" else f"{job.id}\n{job.payload}"
            return f"<p style='white-space:pre-wrap'>{html.escape(str(text))}</p>"
        if role == Qt.ItemDataRole.TextAlignmentRole and column == "attempts":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == "state" and job.state == DEAD:
            return QColor("#b3261e")
        return None

    def _display(self, job: Job, column: str) -> str:
        if column == "state":
            return self.state_name(job.state)
        if column == "id":
            return job.id
        if column == "topic":
            return self._topics.get(job.topic, job.topic)
        if column == "attempts":
            return f"{job.attempts} / {job.max_attempts}"
        if column == "when":
            if job.state == RUNNING:
                return self.tr("lease until %1").replace("%1", _time(job.lease_until))
            if job.state == DEAD:
                return _time(job.updated_at)
            return _time(job.execute_at)
        if column == "owner":
            return job.owner or ""
        return " ".join((job.last_error or "").split())
