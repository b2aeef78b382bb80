"""The quarantine: archive entries that could not be decrypted, parsed or stored, with the reason, and
"Retry with the keys installed now" (what ``wecom-auditor quarantine --retry`` does).

An entry in quarantine is kept as WeCom delivered it (encrypted, plus the plaintext when it was
decrypted): nothing is lost, and a retry after a missing private key was imported archives it. The
list holds ids, stages and reasons, never message content (``archive.status`` suffices to see it);
the retry needs ``sync.run`` and runs as a LongJob (Tencent's library in an SDK host process).
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.archive import QuarantineRow
from app.core.auth import SYNC_RUN, can
from app.core.context import AppContext
from app.core.safe_text import display_name, display_text
from app.ui.language import error_sentence

from .long_job import LongJob
from .panels import Navigator
from .sync.panel import fill
from .table_model import RowTableModel
from .tasks import run_task

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1


def _time(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M") if ms else ""


class QuarantineModel(RowTableModel[QuarantineRow]):
    COLUMNS = ("seq", "msgid", "version", "stage", "reason", "tries", "first_seen", "last_tried")
    OBJECT_ROLE = ENTRY_ROLE

    def __init__(self, parent=None):
        super().__init__(parent)
        self._stages = {"key": self.tr("Key"), "decrypt": self.tr("Decrypt"), "parse": self.tr("Parse"),
                        "store": self.tr("Store"), "conflict": self.tr("Conflict")}

    def _header_texts(self):
        return (self.tr("Seq"), self.tr("Msgid"), self.tr("Key version"), self.tr("Stage"), self.tr("Reason"),
                self.tr("Tries"), self.tr("First seen"), self.tr("Last tried"))

    def set_rows(self, rows: list[QuarantineRow]) -> None:
        with self._resetting():
            self._rows = list(rows)

    def _display(self, e: QuarantineRow, column: str) -> str:
        return {"seq": str(e.seq), "msgid": display_name(e.msgid), "version": str(e.publickey_ver),
                "stage": self._stages.get(e.stage, display_name(e.stage)), "reason": display_text(e.error),
                "tries": str(e.attempts), "first_seen": _time(e.first_seen_at),
                "last_tried": _time(e.last_tried_at)}[column]

    def _role_data(self, e: QuarantineRow, column: str, role: int):
        if role == Qt.ItemDataRole.ToolTipRole and column == "reason":
            return display_text(e.error)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in ("seq", "version", "tries"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class QuarantinePanel(QWidget):
    """The quarantine of one corp (a choice when the archive holds several)."""

    def __init__(self, ctx: AppContext, actor: Actor, navigator: Navigator, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.corp_box = QComboBox(self)
        self.summary = QLabel(self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.model = QuarantineModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(self.model.COLUMNS.index("reason"), QHeaderView.ResizeMode.Stretch)
        self.refresh_button = QPushButton(self.tr("Refresh"), self)
        self.retry_button = QPushButton(self.tr("Retry with the keys installed now"), self)
        self.retry_button.setVisible(can(actor, SYNC_RUN))
        self.result = QLabel(self)
        self.result.setTextFormat(Qt.TextFormat.PlainText)
        self.result.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("Corp:"), self))
        top.addWidget(self.corp_box, 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.retry_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.result)
        self._retry = LongJob("quarantine-retry", self)
        self._retry.succeeded.connect(self._retried)
        self._retry.failed.connect(lambda exc: self._show_result(fill(self.tr("The retry failed: %1"),
                                                                      display_text(error_sentence(exc)))))
        self.refresh_button.clicked.connect(self.refresh)
        self.retry_button.clicked.connect(self.retry)
        self.corp_box.currentIndexChanged.connect(self._load_entries)
        navigator.archive_changed.connect(self.refresh)
        self.refresh()

    # ------------------------------------------------------------------ reading
    def refresh(self) -> None:
        """Read the corps (then the current corp's entries) off the GUI thread."""
        run_task(self, lambda: self.ctx.archive.corps(self.actor), self._corps_read, self._read_failed)

    def _corps_read(self, corps) -> None:
        current = self.corp_box.currentData()
        self.corp_box.blockSignals(True)
        self.corp_box.clear()
        for c in corps:
            self.corp_box.addItem(display_name(f"{c.name} ({c.corpid})" if c.name else c.corpid), (c.id, c.corpid))
        index = max(0, self.corp_box.findData(current)) if current is not None else 0
        self.corp_box.setCurrentIndex(index)
        self.corp_box.blockSignals(False)
        self.corp_box.setVisible(self.corp_box.count() > 1)
        self._load_entries()

    def _load_entries(self) -> None:
        data = self.corp_box.currentData()
        if data is None:
            self.model.set_rows([])
            self.summary.setText(self.tr("Nothing is in quarantine."))
            return
        corp_id = data[0]
        run_task(self, lambda: self.ctx.archive.quarantine(self.actor, corp_id), self._entries_read,
                 self._read_failed)

    def _entries_read(self, rows: list[QuarantineRow]) -> None:
        self.model.set_rows(rows)
        self.retry_button.setEnabled(bool(rows) and not self._retry.is_running())
        if not rows:
            self.summary.setText(self.tr("Nothing is in quarantine."))
            return
        self.summary.setText(fill(self.tr(
            "%1 entries are kept here as WeCom delivered them, with the reason they are not in the archive yet. "
            "After importing a missing private key, retry them."), len(rows)) if len(rows) != 1 else self.tr(
            "1 entry is kept here as WeCom delivered it, with the reason it is not in the archive yet. After "
            "importing a missing private key, retry it."))

    def _read_failed(self, exc: Exception) -> None:
        self.summary.setText(fill(self.tr("The quarantine cannot be read: %1"), display_text(error_sentence(exc))))

    # ------------------------------------------------------------------ retry
    def retry(self) -> bool:
        data = self.corp_box.currentData()
        if data is None or self._retry.is_running():
            return False
        corpid = data[1]
        try:
            corp = self.ctx.settings.corp(corpid)
        except Exception as exc:  # noqa: BLE001 - a corp of a shared archive not configured here
            self._show_result(fill(self.tr("Corp %1 is not configured on this computer: %2"), corpid,
                                   display_text(error_sentence(exc))))
            return False
        self.retry_button.setEnabled(False)
        self._show_result(self.tr("Retrying…"))
        self._retry.start(lambda progress, cancelled: self.ctx.retry_quarantine(self.actor, corp))
        return True

    def _retried(self, result) -> None:
        self._show_result(fill(self.tr("Retried %1: %2 now archived, %3 still in quarantine."), result.tried,
                               result.resolved, result.still_failing))
        self.refresh()

    def _show_result(self, text: str) -> None:
        self.result.setText(text)
        if not self._retry.is_running():
            self.retry_button.setEnabled(self.model.rowCount() > 0)

    def shutdown(self) -> None:
        self._retry.shutdown()
