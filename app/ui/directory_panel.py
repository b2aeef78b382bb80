"""The directory in the window: sync it from WeCom's server API (a LongJob with progress and Cancel),
read the last run's report — every API's calls with their errcodes, the refusals as sentences —,
import a names file for corps that grant no API access, keep the contacts and customer-contact
secrets, and schedule syncs.

Reading the report needs ``archive.status``; syncing ``sync.run``; importing names, the secrets and
the schedule ``settings.change`` (the buttons show only to those who may). Every read and the sync
run off the GUI thread through core services (app/core/directory).
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.auth import SETTINGS_CHANGE, SYNC_RUN, Action, can
from app.core.context import AppContext
from app.core.directory.runs import RunRecord
from app.core.safe_text import display_name, display_text
from app.ui.language import error_sentence, ui_is_chinese

from .long_job import LongJob
from .panels import Navigator
from .sync.panel import fill
from .table_model import RowTableModel
from .tasks import run_task

CALL_ROLE = Qt.ItemDataRole.UserRole + 1
PHASE_ORDER = ("departments", "staff", "externals", "groups", "permits", "consent", "avatars")


def _time(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M") if ms else ""


class ApiCallsModel(RowTableModel[tuple[str, dict]]):
    """One row per API of a run: how often it was called and the errcodes WeCom answered."""

    COLUMNS = ("api", "calls", "errcodes")
    OBJECT_ROLE = CALL_ROLE

    def _header_texts(self):
        return self.tr("API"), self.tr("Calls"), self.tr("Errcodes (count)")

    def _display(self, row: tuple[str, dict], column: str) -> str:
        api, entry = row
        if column == "api":
            return display_name(api)
        if column == "calls":
            return str(entry.get("calls", 0))
        codes = entry.get("errcodes") or {}
        return ", ".join(f"{display_name(code)} ×{n}" for code, n in sorted(codes.items()))

    def _role_data(self, row: tuple[str, dict], column: str, role: int):
        if role == Qt.ItemDataRole.ForegroundRole and column == "errcodes":
            codes = row[1].get("errcodes") or {}
            if any(code != "0" for code in codes):
                from PySide6.QtGui import QColor

                return QColor(176, 0, 32)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == "calls":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class SecretsDialog(QDialog):
    """The contacts and customer-contact secrets of a corp (kept in the OS keyring, never shown)."""

    def __init__(self, corpid: str, sources: dict[str, str | None], parent=None):
        super().__init__(parent)
        self.setWindowTitle(fill(self.tr("Directory secrets of %1"), corpid))
        self.fields: dict[str, QLineEdit] = {}
        form = QFormLayout()
        labels = {"contacts": self.tr("Contacts secret (通讯录 Secret):"),
                  "customer": self.tr("Customer-contact secret (客户联系 Secret):")}
        for kind in ("contacts", "customer"):
            edit = QLineEdit(self)
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setPlaceholderText(self.tr("kept — type to replace") if sources.get(kind) else
                                    self.tr("not set: the chat-archive secret is used"))
            self.fields[kind] = edit
            form.addRow(labels[kind], edit)
        note = QLabel(self.tr("WeCom lets each secret call some APIs only: the contacts secret user/ and "
                              "department/, the customer-contact secret externalcontact/. Without them those calls "
                              "use the chat-archive secret, which WeCom usually refuses (48002)."), self)
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel,
                                   self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def values(self) -> dict[str, str]:
        return {k: e.text().strip() for k, e in self.fields.items() if e.text().strip()}


class DirectoryPanel(QWidget):
    """The directory of one corp (a choice when the archive holds several): the last sync's report,
    Sync now, Import names file…, Secrets…, and the schedule."""

    def __init__(self, ctx: AppContext, actor: Actor, navigator: Navigator, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.actor, self.navigator = ctx, actor, navigator
        self.corp_box = QComboBox(self)
        self.status = QLabel(self)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.counts = QLabel(self)
        self.counts.setTextFormat(Qt.TextFormat.PlainText)
        self.counts.setWordWrap(True)
        self.sync_button = QPushButton(self.tr("Sync from WeCom"), self)
        self.sync_button.setToolTip(self.tr("Staff, departments, external contacts, groups, the permit list and "
                                            "consent from WeCom's server API"))
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.cancel_button.hide()
        self.import_button = QPushButton(self.tr("Import names file…"), self)
        self.secrets_button = QPushButton(self.tr("Secrets…"), self)
        self.interval = QSpinBox(self)
        self.interval.setRange(0, 24 * 31)
        self.interval.setSpecialValueText(self.tr("off"))
        self.interval.setSuffix(self.tr(" h"))
        self.interval.setValue(ctx.settings.directory_interval_hours)
        self.interval.setToolTip(self.tr("Sync the directory every so many hours in the background (0: off)"))
        admin = can(actor, SETTINGS_CHANGE)
        self.sync_button.setVisible(can(actor, SYNC_RUN))
        for w in (self.import_button, self.secrets_button, self.interval):
            w.setVisible(admin)
        self.progress = QProgressBar(self)
        self.progress.hide()
        self.model = ApiCallsModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.problems = QListWidget(self)
        self.problems.setWordWrap(True)
        self.problems.setAccessibleName(self.tr("Problems of the last directory sync"))
        self.result = QLabel(self)
        self.result.setTextFormat(Qt.TextFormat.PlainText)
        self.result.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self.corp_box, 1)
        top.addWidget(self.sync_button)
        top.addWidget(self.cancel_button)
        top.addWidget(self.import_button)
        top.addWidget(self.secrets_button)
        schedule = QLabel(self.tr("Every:"), self)
        schedule.setVisible(admin)
        top.addWidget(schedule)
        top.addWidget(self.interval)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.counts)
        layout.addWidget(self.table, 2)
        layout.addWidget(QLabel(self.tr("Problems:"), self))
        layout.addWidget(self.problems, 1)
        layout.addWidget(self.result)

        self._job = LongJob("directory-sync", self)
        self._job.progressed.connect(self._show_progress)
        self._job.succeeded.connect(self._synced)
        self._job.failed.connect(lambda exc: self._finish(fill(self.tr("The directory sync failed: %1"),
                                                               display_text(error_sentence(exc)))))
        self._job.cancelled.connect(lambda: self._finish(self.tr("The directory sync was cancelled.")))
        self.sync_button.clicked.connect(self.sync)
        self.cancel_button.clicked.connect(self._job.cancel)
        self.import_button.clicked.connect(self.import_names)
        self.secrets_button.clicked.connect(self.edit_secrets)
        self.interval.editingFinished.connect(self._save_interval)
        self.corp_box.currentIndexChanged.connect(self._load_report)
        navigator.archive_changed.connect(self.refresh)
        self.refresh()

    # ------------------------------------------------------------------ reading
    def refresh(self) -> None:
        run_task(self, lambda: self.ctx.archive.corps(self.actor), self._corps_read, self._read_failed)

    def _corps_read(self, corps) -> None:
        current = self.corp_box.currentData()
        self.corp_box.blockSignals(True)
        self.corp_box.clear()
        for c in corps:
            self.corp_box.addItem(display_name(f"{c.name} ({c.corpid})" if c.name else c.corpid), (c.id, c.corpid))
        if not corps:  # a corp configured here but never synced: still its directory can be synced
            for c in self.ctx.settings.corps:
                self.corp_box.addItem(display_name(c.corpid), (None, c.corpid))
        index = max(0, self.corp_box.findData(current)) if current is not None else 0
        self.corp_box.setCurrentIndex(index)
        self.corp_box.blockSignals(False)
        self.corp_box.setVisible(self.corp_box.count() > 1)
        self._load_report()

    def _load_report(self) -> None:
        data = self.corp_box.currentData()
        corp_id = data[0] if data else None
        if corp_id is None:
            self._show_run(None)
            return

        def read():
            from app.core.directory.runs import directory_runs

            self.ctx.archive.corps(self.actor)  # archive.status, recorded if refused
            runs = directory_runs(self.ctx.db, corp_id, limit=1)
            return runs[0] if runs else None

        run_task(self, read, self._show_run, self._read_failed)

    def _show_run(self, run: RunRecord | None) -> None:
        if run is None:
            self.status.setText(self.tr("The directory has not been synced from WeCom yet. Names come from WeCom's "
                                        "server API (Sync from WeCom), or from a names file."))
            self.counts.setText("")
            self.model.set_rows([])
            self.problems.clear()
            return
        outcomes = {"succeeded": self.tr("succeeded"), "partial": self.tr("done with refusals"),
                    "failed": self.tr("failed"), "cancelled": self.tr("cancelled"), "running": self.tr("running")}
        source = self.tr("names file import") if run.source == "import" else self.tr("sync from WeCom")
        self.status.setText(fill(self.tr("Last %1: %2, %3 by %4."), source, _time(run.ended_at or run.started_at),
                                 outcomes.get(run.outcome, display_name(run.outcome)), display_name(run.actor)))
        c = run.counts
        self.counts.setText(fill(self.tr(
            "%1 staff, %2 departments, %3 external contacts, %4 groups, %5 on the permit list, %6 consent states, "
            "%7 avatars; %8 names new, %9 changed."), c.get("staff", 0), c.get("departments", 0),
            c.get("externals", 0), c.get("groups", 0), c.get("permits", 0), c.get("consent", 0), c.get("avatars", 0),
            c.get("names_new", c.get("new", 0)), c.get("names_changed", c.get("renamed", 0)))
            if run.source == "api" else fill(self.tr("%1 names imported."), c.get("names", 0)))
        self.model.set_rows(sorted(run.calls.items()))
        self.problems.clear()
        zh = ui_is_chinese()
        for p in run.problems:
            text = display_text(p.get("zh") if zh else p.get("en") or "", one_line=True)
            ids = ", ".join(display_name(i) for i in p.get("ids") or [])
            count = p.get("count", 1)
            if count > 1 or ids:
                text += " " + fill(self.tr("(%1×: %2)"), count, ids) if ids else " " + fill(self.tr("(%1×)"), count)
            self.problems.addItem(text)
        if run.error:
            self.problems.addItem(display_text(run.error, one_line=True))

    def _read_failed(self, exc: Exception) -> None:
        self.status.setText(fill(self.tr("The directory cannot be read: %1"), display_text(error_sentence(exc))))

    # ------------------------------------------------------------------ sync
    def _corp_settings(self):
        data = self.corp_box.currentData()
        corpid = data[1] if data else (self.ctx.settings.corps[0].corpid if self.ctx.settings.corps else None)
        if corpid is None:
            self._finish(self.tr("No corp is configured on this computer."))
            return None
        try:
            return self.ctx.settings.corp(corpid)
        except Exception as exc:  # noqa: BLE001 - a corp of a shared archive not configured here
            self._finish(fill(self.tr("Corp %1 is not configured on this computer: %2"), corpid,
                              display_text(error_sentence(exc))))
            return None

    def sync(self) -> bool:
        """Start a directory sync of the chosen corp (a LongJob); False if one is running or it cannot."""
        if self._job.is_running():
            return False
        corp = self._corp_settings()
        if corp is None:
            return False
        from app.core.directory.service import sync_directory

        self.sync_button.setEnabled(False)
        self.cancel_button.show()
        self.progress.setRange(0, 0)
        self.progress.show()
        self.result.setText(self.tr("Asking WeCom…"))
        self._job.start(lambda progress, cancelled: sync_directory(
            self.ctx, self.actor, corp, progress=lambda p: progress(p, urgent=p.done == 0), cancel=cancelled))
        return True

    def _show_progress(self, p) -> None:
        phases = {"departments": self.tr("departments"), "staff": self.tr("staff"),
                  "externals": self.tr("external contacts"), "groups": self.tr("groups"),
                  "permits": self.tr("permit list"), "consent": self.tr("consent"), "avatars": self.tr("avatars")}
        if p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(min(p.done, p.total))
        else:
            self.progress.setRange(0, 0)
        step = PHASE_ORDER.index(p.phase) + 1 if p.phase in PHASE_ORDER else 0
        self.result.setText(fill(self.tr("Step %1 of %2: %3…"), step, len(PHASE_ORDER),
                                 phases.get(p.phase, display_name(p.phase))))

    def _synced(self, report) -> None:
        texts = {"succeeded": self.tr("The directory is synced."),
                 "partial": self.tr("The directory is synced; WeCom refused some calls (see Problems)."),
                 "failed": self.tr("The directory sync failed (see Problems)."),
                 "cancelled": self.tr("The directory sync was cancelled.")}
        self._finish(texts.get(report.outcome, ""))
        self.refresh()
        self.navigator.archive_changed.emit()  # names changed: the tree, the viewer and the views reload

    def _finish(self, text: str) -> None:
        self.result.setText(text)
        self.progress.hide()
        self.cancel_button.hide()
        self.sync_button.setEnabled(True)

    # ------------------------------------------------------------------ names file, secrets, schedule
    def import_names(self, path: str | None = None) -> bool:
        """Import a names file (a file dialog when ``path`` is None), off the GUI thread."""
        corp = self._corp_settings()
        if corp is None:
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, self.tr("Import names file"), "",
                                                  self.tr("Names files (*.json);;All files (*)"))
            if not path:
                return False

        def work():
            from pathlib import Path

            from app.core.directory import import_directory
            from app.core.sync.pipeline import ensure_corp

            count = import_directory(self.ctx.db, ensure_corp(self.ctx.db, corp.corpid, corp.name), Path(path),
                                     actor=self.actor)
            self.ctx.directory.refresh()
            return count

        def done(count: int) -> None:
            self.result.setText(fill(self.tr("%1 names imported."), count))
            self.refresh()
            self.navigator.archive_changed.emit()

        run_task(self, work, done, lambda exc: self.result.setText(
            fill(self.tr("The names file was not imported: %1"), display_text(error_sentence(exc)))))
        return True

    def edit_secrets(self) -> None:
        corp = self._corp_settings()
        if corp is None:
            return
        sources = {k: self.ctx.secrets.directory_secret_source(corp, k) for k in ("contacts", "customer")}
        dialog = SecretsDialog(corp.corpid, sources, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.save_secrets(corp, dialog.values())

    def save_secrets(self, corp, values: dict[str, str]) -> None:
        try:
            if values:
                self.ctx.trail.require(self.actor, SETTINGS_CHANGE, action=Action.SETTINGS_CHANGE, object_type="setting",
                                       object=", ".join(f"corps[{corp.corpid}].{k}_secret" for k in values))
            for kind, value in values.items():
                self.ctx.secrets.set_directory_secret(corp.corpid, kind, value)
            if values:
                self.ctx.change_settings(self.actor, secrets_changed=[f"corps[{corp.corpid}].{k}_secret"
                                                                      for k in values])
        except Exception as exc:  # noqa: BLE001 - no keyring, no permission: said in one sentence
            self.result.setText(fill(self.tr("The secrets were not saved: %1"), display_text(error_sentence(exc))))
            return
        self.result.setText(self.tr("The secrets are kept in the OS keyring.") if values else "")

    def _save_interval(self) -> None:
        hours = self.interval.value()
        if hours == self.ctx.settings.directory_interval_hours:
            return
        try:
            self.ctx.change_settings(self.actor, directory_interval_hours=hours)
        except Exception as exc:  # noqa: BLE001
            self.result.setText(fill(self.tr("The schedule was not saved: %1"), display_text(error_sentence(exc))))
            self.interval.setValue(self.ctx.settings.directory_interval_hours)
            return
        self.result.setText(fill(self.tr("The directory is synced every %1 hours while background jobs run."), hours)
                            if hours else self.tr("Scheduled directory syncs are off."))

    def shutdown(self) -> None:
        self._job.shutdown()
