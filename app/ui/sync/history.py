"""The sync history: one row per run (start, end, outcome, seq range, counts, error)."""

from __future__ import annotations

import html
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.archive import SyncRunRow
from app.core.context import AppContext

from ..counts import count_text
from ..table_model import RowTableModel
from ..tasks import run_task
from .panel import fill

RUN_ROLE = Qt.ItemDataRole.UserRole + 1  # the SyncRunRow of a row
SORT_ROLE = Qt.ItemDataRole.UserRole + 2  # a sortable value of the cell (numbers as numbers)

_COLUMNS = ("corp", "started", "ended", "outcome", "seq", "fetched", "stored", "duplicates", "quarantined",
            "media", "retries", "error")
_NUMERIC = {"fetched", "stored", "duplicates", "quarantined", "retries"}


def _time(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


class SyncRunsModel(RowTableModel[SyncRunRow]):
    """Sync runs, newest first (a few hundred at most: the history is short, so no paging)."""

    COLUMNS = _COLUMNS
    OBJECT_ROLE = RUN_ROLE

    def __init__(self, parent=None):
        super().__init__(parent)
        self._corps: dict[int, str] = {}
        self._outcomes = {"succeeded": self.tr("Succeeded"), "failed": self.tr("Failed"),
                          "cancelled": self.tr("Cancelled"), "running": self.tr("Running"),
                          "interrupted": self.tr("Interrupted")}

    def _header_texts(self):
        return (self.tr("Corp"), self.tr("Started"), self.tr("Ended"), self.tr("Outcome"),
                self.tr("Seq range"), self.tr("Fetched"), self.tr("Stored"), self.tr("Duplicates"),
                self.tr("Quarantined"), self.tr("Media stored / failed / expired"), self.tr("Retries"),
                self.tr("Error"))

    def set_runs(self, runs: list[SyncRunRow], corps: dict[int, str] | None = None) -> None:
        with self._resetting():
            self._rows = list(runs)
            self._corps = dict(corps or {})

    def run(self, row: int) -> SyncRunRow:
        return self.row_object(row)

    def _role_data(self, run: SyncRunRow, column: str, role: int):
        if role == SORT_ROLE:
            return getattr(run, column) if column in _NUMERIC else self._display(run, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC | {"seq", "media"}:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == "error" and run.error:
                # Qt guesses rich text in tooltips: escape so the error shows as the plain text it is.
                return f"<p style='white-space:pre-wrap'>{html.escape(run.error)}</p>"
            if column in ("corp", "started"):
                return html.escape(fill(self.tr("Workstation: %1"), run.workstation))
        if role == Qt.ItemDataRole.ForegroundRole and column == "outcome" and run.outcome == "failed":
            return QColor("#b3261e")
        return None

    def _display(self, run: SyncRunRow, column: str) -> str:
        if column == "corp":
            return self._corps.get(run.corp_id, str(run.corp_id))
        if column == "started":
            return _time(run.started_at)
        if column == "ended":
            return _time(run.ended_at)
        if column == "outcome":
            return self._outcomes.get(run.outcome, run.outcome)
        if column == "seq":
            return f"{run.start_seq} – {run.last_seq}"
        if column == "media":
            return f"{run.media_stored} / {run.media_failed} / {run.media_expired}"
        if column == "error":
            return (run.error or "").replace("\n", " ")
        return str(getattr(run, column))


class SyncHistoryDialog(QDialog):
    """The sync runs of every configured corp, newest first, read off the GUI thread."""

    runs_loaded = Signal(int)  # number of runs shown
    load_failed = Signal(str)

    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.actor = actor
        self.setWindowTitle(self.tr("Sync history"))
        self.model = SyncRunsModel(self)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.setWordWrap(False)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.status_label = QLabel(self)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.refresh_button = QPushButton(self.tr("Refresh"), self)
        buttons.addButton(self.refresh_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.refresh_button.clicked.connect(self.refresh)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(buttons)
        self.resize(1100, 420)
        self.refresh()

    def refresh(self) -> None:
        self.refresh_button.setEnabled(False)
        self.status_label.setText(self.tr("Loading…"))
        ctx, actor = self.ctx, self.actor

        def load():  # on a pool thread; ctx.archive may open the database the first time
            archive = ctx.archive
            corps = {c.id: c.corpid for c in archive.corps(actor)}
            return archive.sync_runs(actor), corps

        run_task(self, load, self._on_loaded, self._on_failed)

    def _on_loaded(self, result) -> None:
        runs, corps = result
        self.model.set_runs(runs, corps)
        self.refresh_button.setEnabled(True)
        self.status_label.setText(self.tr("No sync has run yet.") if not runs
                                  else count_text(len(runs), self.tr("1 run."), self.tr("%1 runs, newest first.")))
        self.runs_loaded.emit(len(runs))

    def _on_failed(self, exc: Exception) -> None:
        self.refresh_button.setEnabled(True)
        self.status_label.setText(fill(self.tr("Cannot read the sync history: %1"), exc))
        self.load_failed.emit(str(exc))
