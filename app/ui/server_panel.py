"""The Server panel: what the headless servers (``wecom-auditor serve``) sharing this archive are doing.

A workstation pointed at a team's shared database may leave syncing to the servers; this panel shows
whether they are there and keeping up: each server instance from its heartbeat (host, address,
version, started, last heartbeat; one gone quiet for a minute is "not running", and is listed for a
day), the last sync of each corp (when, its outcome, how many entries it stored, which machine ran
it, its error) and the background-job queue by state. It reads through
:func:`app.core.server_status.server_status` off the GUI thread every few seconds while it is shown,
and at once when a sync in this window ended. No message content is part of it (``archive.status``
suffices). Administrators (``backup.run``) also find "Back up now…" here (app/ui/backup_dialog.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.auth import BACKUP_RUN, can
from app.core.clock import now_ms
from app.core.context import AppContext
from app.core.safe_text import display_name, display_text
from app.core.server_status import InstanceInfo, LastSync, instances, server_status
from app.ui.language import error_sentence

from .panels import Navigator
from .sync.panel import fill
from .table_model import RowTableModel
from .tasks import run_task

REFRESH_MS = 5000  # while the panel is shown
GONE_SHOWN_MS = 24 * 3600 * 1000  # a server not heard from is still listed for a day
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
QUEUE_STATES = ("scheduled", "ready", "running", "dead")


@dataclass(frozen=True)
class CorpSync:
    corpid: str
    name: str
    last: LastSync


@dataclass(frozen=True)
class ServerView:
    """One reading of the servers' state (made off the GUI thread)."""

    servers: list[InstanceInfo]  # running ones first, then those gone quiet in the last day
    syncs: list[CorpSync]
    queue: dict[str, int] | None  # jobs per state; None: the queue does not answer
    read_at: int  # ms


def read_server_view(ctx: AppContext, actor: Actor) -> ServerView:
    """The servers, each corp's last sync and the queue (needs ``archive.status``)."""
    status = server_status(ctx, actor)
    now = now_ms()
    listed = [i for i in instances(ctx.db, include_gone=True) if i["alive"] or now - i["last_seen_at"] < GONE_SHOWN_MS]
    listed.sort(key=lambda i: (not i["alive"], -i["started_at"]))
    names = {c.corpid: c.name for c in ctx.archive.corps(actor)}
    syncs = [CorpSync(corpid, names.get(corpid, ""), last) for corpid, last in sorted(status["last_syncs"].items())]
    return ServerView(listed, syncs, status["queue"], now)


def _time(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


class ServersModel(RowTableModel[InstanceInfo]):
    COLUMNS = ("host", "address", "version", "started", "heartbeat", "state")
    OBJECT_ROLE = ROW_ROLE

    def __init__(self, parent=None):
        super().__init__(parent)
        self.read_at = 0

    def _header_texts(self):
        return (self.tr("Host"), self.tr("Address"), self.tr("Version"), self.tr("Started"),
                self.tr("Last heartbeat"), self.tr("State"))

    def set_view(self, rows: list[InstanceInfo], read_at: int) -> None:
        with self._resetting():
            self._rows, self.read_at = list(rows), read_at

    def ago(self, ms: int) -> str:
        seconds = max(0, (self.read_at - ms) // 1000)
        if seconds < 120:
            return fill(self.tr("%1 s ago"), seconds)
        if seconds < 7200:
            return fill(self.tr("%1 min ago"), seconds // 60)
        return fill(self.tr("%1 h ago"), seconds // 3600)

    def _display(self, i: InstanceInfo, column: str) -> str:
        if column == "heartbeat":
            return f"{_time(i['last_seen_at'])} ({self.ago(i['last_seen_at'])})"
        if column == "state":
            return self.tr("Running") if i["alive"] else self.tr("Not running")
        if column == "started":
            return _time(i["started_at"])
        return display_name(str(i[column]))  # type: ignore[literal-required]

    def _role_data(self, i: InstanceInfo, column: str, role: int):
        if role == Qt.ItemDataRole.ForegroundRole and not i["alive"]:
            return QBrush(Qt.GlobalColor.gray)
        if role == Qt.ItemDataRole.ToolTipRole:
            return fill(self.tr("Instance %1, process %2 on %3"), display_name(i["id"]), i["pid"], display_name(i["host"]))
        return None


class SyncsModel(RowTableModel[CorpSync]):
    COLUMNS = ("corp", "started", "ended", "outcome", "stored", "by", "error")
    OBJECT_ROLE = ROW_ROLE

    def _header_texts(self):
        return (self.tr("Corp"), self.tr("Started"), self.tr("Finished"), self.tr("Outcome"), self.tr("Stored"),
                self.tr("Run by"), self.tr("Error"))

    def outcome_text(self, outcome: str) -> str:
        return {"running": self.tr("Running"), "succeeded": self.tr("Succeeded"), "failed": self.tr("Failed"),
                "cancelled": self.tr("Cancelled")}.get(outcome, display_name(outcome))

    def _display(self, s: CorpSync, column: str) -> str:
        last = s.last
        return {"corp": display_name(f"{s.name} ({s.corpid})" if s.name else s.corpid),
                "started": _time(last["started_at"]), "ended": _time(last["ended_at"]),
                "outcome": self.outcome_text(last["outcome"]), "stored": str(last["stored"]),
                "by": display_name(last["workstation"] or ""), "error": display_text(last["error"] or "")}[column]

    def _role_data(self, s: CorpSync, column: str, role: int):
        if role == Qt.ItemDataRole.ForegroundRole and column == "outcome" and s.last["outcome"] == "failed":
            return QBrush(Qt.GlobalColor.darkRed)
        if role == Qt.ItemDataRole.ToolTipRole and column == "error" and s.last["error"]:
            return display_text(s.last["error"])
        if role == Qt.ItemDataRole.TextAlignmentRole and column == "stored":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _table(model, stretch: str, parent: QWidget) -> QTableView:
    table = QTableView(parent)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(model.COLUMNS.index(stretch), QHeaderView.ResizeMode.Stretch)
    return table


def _label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


class ServerPanel(QWidget):
    """The servers sharing this archive, the last sync of each corp and the queue, kept current."""

    def __init__(self, ctx: AppContext, actor: Actor, navigator: Navigator, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self._reading = False
        self._backup_dialog = None
        self.summary = _label(self)
        self.updated = _label(self)
        self.refresh_button = QPushButton(self.tr("Refresh"), self)
        self.backup_button = QPushButton(self.tr("Back up now…"), self)
        self.backup_button.setVisible(can(actor, BACKUP_RUN))
        self.servers = ServersModel(self)
        self.syncs = SyncsModel(self)
        self.queue_label = _label(self)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.backup_button)
        servers_box = QGroupBox(self.tr("Servers"), self)
        QVBoxLayout(servers_box).addWidget(_table(self.servers, "heartbeat", servers_box))
        syncs_box = QGroupBox(self.tr("Last sync of each corp"), self)
        QVBoxLayout(syncs_box).addWidget(_table(self.syncs, "error", syncs_box))
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(servers_box, 1)
        layout.addWidget(syncs_box, 1)
        layout.addWidget(self.queue_label)
        layout.addWidget(self.updated)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self.refresh_button.clicked.connect(self.refresh)
        self.backup_button.clicked.connect(self.open_backup)
        navigator.archive_changed.connect(self.refresh)
        self.summary.setText(self.tr("Reading…"))

    # ------------------------------------------------------------------ reading
    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.refresh()

    def _tick(self) -> None:
        if self.isVisible():  # a hidden panel costs the database nothing
            self.refresh()

    def refresh(self) -> None:
        """Read the servers' state off the GUI thread (one read at a time)."""
        if self._reading:
            return
        self._reading = True
        run_task(self, lambda: read_server_view(self.ctx, self.actor), self._read, self._read_failed)

    def _read(self, view: ServerView) -> None:
        self._reading = False
        self.servers.set_view(view.servers, view.read_at)
        self.syncs.set_rows(view.syncs)
        running = sum(1 for i in view.servers if i["alive"])
        if running == 1:
            self.summary.setText(self.tr("1 server is running."))
        elif running:
            self.summary.setText(fill(self.tr("%1 servers are running."), running))
        elif view.servers:
            self.summary.setText(self.tr("No server is running: none has sent a heartbeat in the last minute."))
        else:
            self.summary.setText(self.tr("No server (wecom-auditor serve) has reported to this archive: syncs "
                                         "run from workstations."))
        self.queue_label.setText(self.queue_text(view.queue))
        self.updated.setText(fill(self.tr("Updated %1; read again every %2 seconds while shown."),
                                  datetime.fromtimestamp(view.read_at / 1000).strftime("%H:%M:%S"), REFRESH_MS // 1000))

    def queue_text(self, queue: dict[str, int] | None) -> str:
        if queue is None:
            return self.tr("Queue: does not answer (the background jobs cannot run).")
        names = {"scheduled": self.tr("scheduled"), "ready": self.tr("ready"), "running": self.tr("running"),
                 "dead": self.tr("given up")}
        parts = [f"{names[s]} {queue.get(s, 0)}" for s in QUEUE_STATES]
        return fill(self.tr("Queue: %1"), " · ".join(parts))

    def _read_failed(self, exc: Exception) -> None:
        self._reading = False
        self.updated.setText(fill(self.tr("The server status cannot be read: %1"), display_text(error_sentence(exc))))

    # ------------------------------------------------------------------ backup
    def open_backup(self):
        """The "Back up now…" dialog (one at a time)."""
        from .backup_dialog import BackupDialog

        if self._backup_dialog is None:
            self._backup_dialog = BackupDialog(self.ctx, self.actor, self)
            self._backup_dialog.finished.connect(self._backup_closed)
        self._backup_dialog.show()
        self._backup_dialog.raise_()
        return self._backup_dialog

    def _backup_closed(self, _result: int) -> None:
        dialog, self._backup_dialog = self._backup_dialog, None
        if dialog is not None:
            dialog.shutdown()
            dialog.deleteLater()

    def shutdown(self) -> None:
        self.timer.stop()
        if self._backup_dialog is not None:
            self._backup_dialog.shutdown()
