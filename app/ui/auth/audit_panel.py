"""The audit log for auditors: entries newest first, filtered by account, action, outcome, time
and object text; paged in the background; "Verify chain" and "Export CSV…"; the chain head shown
for copying into a record kept outside the app.

Every read goes through AuditTrail (``audit.read``; the first page of each listing, each verify and
each export leave their own entry). Text from the trail — a user name typed at a failed login is
anyone's — is only ever shown as plain text.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import (
    QCoreApplication,
    QDateTime,
    QModelIndex,
    QStandardPaths,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.auth import DENIED, FAILED, OK, Action, AuditFilter, AuditRecord, AuditTrail, VerifyReport
from app.core.auth.audit import ms_iso
from app.core.safe_text import display_name, display_text, json_line

from ..counts import count_text
from ..table_model import RowTableModel
from ..tasks import run_task
from .audit_objects import AuditObject, AuditObjectNames
from .services import error_text, local_time
from .widgets import MessageLine, plain_label

translate = QCoreApplication.translate

PAGE_SIZE = 200
log = logging.getLogger(__name__)
RECORD_ROLE = Qt.ItemDataRole.UserRole + 1  # the AuditRecord of a row
TARGET_ROLE = Qt.ItemDataRole.UserRole + 2  # the AuditObject of a row (name, where to go), or None
_COLUMNS = ("time", "account", "action", "object", "outcome", "workstation")


def action_labels() -> dict[str, str]:
    """Every audit action with its name for people, in the order an auditor thinks of them."""
    return {
        Action.LOGIN: translate("AuditText", "Login"),
        Action.LOGOUT: translate("AuditText", "Logout"),
        Action.LOGIN_FAILED: translate("AuditText", "Failed login"),
        Action.SESSION_OPEN: translate("AuditText", "Session opened"),
        Action.MESSAGE_VIEW: translate("AuditText", "Message details viewed"),
        Action.MESSAGE_RAW: translate("AuditText", "Raw JSON viewed"),
        Action.MEDIA_OPEN: translate("AuditText", "Media file opened"),
        Action.MEDIA_SAVE: translate("AuditText", "Media file saved"),
        Action.SEARCH: translate("AuditText", "Search"),
        Action.EXPORT_START: translate("AuditText", "Evidence export started"),
        Action.EXPORT: translate("AuditText", "Evidence export"),
        Action.VERIFY: translate("AuditText", "Package verified"),
        Action.SYNC_RUN: translate("AuditText", "Sync run"),
        Action.SETTINGS_CHANGE: translate("AuditText", "Settings changed"),
        Action.ACCOUNT_CREATE: translate("AuditText", "Account created"),
        Action.ACCOUNT_UPDATE: translate("AuditText", "Account changed"),
        Action.ACCOUNT_ROLES: translate("AuditText", "Roles changed"),
        Action.ACCOUNT_SCOPE: translate("AuditText", "Scope changed"),
        Action.ACCOUNT_DISABLE: translate("AuditText", "Account disabled"),
        Action.ACCOUNT_ENABLE: translate("AuditText", "Account enabled"),
        Action.ACCOUNT_UNLOCK: translate("AuditText", "Account unlocked"),
        Action.ACCOUNT_LIST: translate("AuditText", "Accounts listed"),
        Action.PASSWORD_CHANGE: translate("AuditText", "Password changed"),
        Action.PASSWORD_RESET: translate("AuditText", "Password reset"),
        Action.TOKEN_ISSUE: translate("AuditText", "Login token issued"),
        Action.TOKEN_REVOKE: translate("AuditText", "Login token revoked"),
        Action.AUDIT_VIEW: translate("AuditText", "Audit log viewed"),
        Action.AUDIT_EXPORT: translate("AuditText", "Audit log exported"),
        Action.AUDIT_VERIFY: translate("AuditText", "Audit chain verified"),
        Action.ARCHIVE_READ: translate("AuditText", "Archive read"),  # recorded only when refused
        Action.INDEX_REBUILD: translate("AuditText", "Search index rebuilt"),
        Action.DIRECTORY_IMPORT: translate("AuditText", "Directory imported"),
        Action.DIRECTORY_SYNC: translate("AuditText", "Directory synced"),
        Action.BACKUP: translate("AuditText", "Backup made"),
        Action.BACKUP_VERIFY: translate("AuditText", "Backup verified"),
        Action.RESTORE: translate("AuditText", "Archive restored"),
        Action.RETENTION_POLICY: translate("AuditText", "Retention policy changed"),
        Action.RETENTION_PLAN: translate("AuditText", "Deletion proposed"),
        Action.RETENTION_APPROVE: translate("AuditText", "Deletion approved"),
        Action.RETENTION_DELETE: translate("AuditText", "Deleted under retention"),
        Action.HOLD_CREATE: translate("AuditText", "Legal hold placed"),
        Action.HOLD_RELEASE: translate("AuditText", "Legal hold released"),
        Action.API_READ: translate("AuditText", "Read through the API"),
        Action.REVIEW_TAG: translate("AuditText", "Tags changed"),
        Action.REVIEW_STATUS: translate("AuditText", "Review status set"),
        Action.REVIEW_NOTE: translate("AuditText", "Note written"),
        Action.REVIEW_TAGSET: translate("AuditText", "Tag set changed"),
        Action.REVIEW_SEARCH: translate("AuditText", "Saved search changed"),
        Action.REVIEW_POLICY: translate("AuditText", "Policy changed"),
        Action.REVIEW_POLICY_RUN: translate("AuditText", "Policies evaluated"),
        Action.REVIEW_ALERT: translate("AuditText", "Alert handled"),
        Action.REVIEW_SAMPLING: translate("AuditText", "Sampling rule changed"),
        Action.REVIEW_SAMPLE: translate("AuditText", "Sample drawn"),
        Action.REVIEW_READ: translate("AuditText", "Review work read"),
    }


def outcome_labels() -> dict[str, str]:
    return {OK: translate("AuditText", "OK"), DENIED: translate("AuditText", "Denied"),
            FAILED: translate("AuditText", "Failed")}


def problem_kind_label(kind: str) -> str:
    return {"edited": translate("AuditText", "edited"), "deleted": translate("AuditText", "deleted"),
            "reordered": translate("AuditText", "reordered"), "inserted": translate("AuditText", "inserted"),
            "head": translate("AuditText", "chain head")}.get(kind, kind)


def _one_line(text: str) -> str:
    return " ".join(text.split())


class AuditLogModel(RowTableModel[AuditRecord]):
    """Audit entries, paged: the first page when :meth:`load` is called, the next whenever the view
    scrolls near the end (``canFetchMore``/``fetchMore``), each read on a pool thread.
    ``fetch(cursor)`` returns the page after ``cursor`` (None: the first)."""

    page_loaded = Signal(int)  # rows now held
    load_failed = Signal(str)

    COLUMNS = _COLUMNS
    OBJECT_ROLE = RECORD_ROLE

    def __init__(self, parent=None):
        super().__init__(parent)
        self._fetch = None
        self._more = False
        self._loading = False
        self._generation = 0
        self._actions = action_labels()
        self._outcomes = outcome_labels()
        self.broken_seq: int | None = None
        self._describe = None
        self._objects: dict[int, AuditObject] = {}  # entry seq -> its object's name and place

    def _header_texts(self):
        return (self.tr("Time"), self.tr("Account"), self.tr("Action"), self.tr("Object"),
                self.tr("Outcome"), self.tr("Workstation"))

    # -------------------------------------------------------------- paging

    def load(self, fetch, describe=None) -> None:
        """Start a new listing (drops the rows held and any page still on its way). ``describe(rows)``
        (run with each page, off the GUI thread) names the entries' objects: {seq: AuditObject}."""
        with self._resetting():
            self._rows = []
            self._objects = {}
            self._describe = describe
            self._fetch = fetch
            self._more = True
            self._loading = True  # before the reset ends: views ask canFetchMore() as it does
            self._generation += 1
        self._fetch_page()

    def is_loading(self) -> bool:
        return self._loading

    def has_more(self) -> bool:
        """True while older entries remain to be fetched."""
        return self._more

    def canFetchMore(self, parent=None) -> bool:
        return not (parent is not None and parent.isValid()) and self._more and not self._loading and self._fetch is not None

    def fetchMore(self, parent=None) -> None:
        if self.canFetchMore(parent):
            self._fetch_page()

    def _fetch_page(self) -> None:
        self._loading = True
        generation, fetch, describe = self._generation, self._fetch, self._describe
        cursor = self._rows[-1].seq if self._rows else None

        def read():
            rows = fetch(cursor)
            try:
                objects = describe(rows) if describe is not None else {}
            except Exception as exc:  # noqa: BLE001 - names are a help: the entries show without them
                log.warning("the audit log's object names could not be read: %s", exc)
                objects = {}
            return rows, objects

        run_task(self, read, lambda got: self._page(generation, cursor, *got),
                 lambda exc: self._failed(generation, exc))

    def _page(self, generation: int, cursor: int | None, rows: list[AuditRecord], objects=None) -> None:
        if generation != self._generation or cursor != (self._rows[-1].seq if self._rows else None):
            return  # a listing since replaced, or a page that no longer follows the rows held
        self._objects.update(objects or {})
        self._loading = False
        self._more = len(rows) >= PAGE_SIZE
        if rows:
            self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(rows) - 1)
            self._rows.extend(rows)
            self.endInsertRows()
        self.page_loaded.emit(len(self._rows))

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self._more = False
        self.load_failed.emit(error_text(exc))

    # -------------------------------------------------------------- access

    def record(self, row: int) -> AuditRecord:
        return self.row_object(row)

    def row_of_seq(self, seq: int) -> int:
        # Newest first: seq descends down the rows.
        return self._find_row(lambda r: r.seq == seq)

    def set_broken_seq(self, seq: int | None) -> None:
        self.broken_seq = seq
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(_COLUMNS) - 1))

    def target(self, row: int) -> AuditObject | None:
        """The named object of a row, or None."""
        return self._objects.get(self.record(row).seq)

    def _role_data(self, r: AuditRecord, column: str, role: int):
        if role == TARGET_ROLE:
            return self._objects.get(r.seq)
        if role == Qt.ItemDataRole.ToolTipRole and column == "object" and r.seq in self._objects:
            named = self._objects[r.seq]
            if named.can_go:
                return self.tr("%1 — double-click or \"Go to\" to open it").replace("%1", named.name)
        if role == Qt.ItemDataRole.ForegroundRole and column == "outcome" and r.outcome != OK:
            return QColor("#b3261e")
        if role == Qt.ItemDataRole.BackgroundRole and self.broken_seq is not None and r.seq == self.broken_seq:
            return QColor("#f9d6d3")
        return None

    def _display(self, r: AuditRecord, column: str) -> str:
        if column == "time":
            return local_time(r.at)
        if column == "account":
            return display_name(r.account) or "—"
        if column == "action":
            return self._actions.get(r.action, r.action)
        if column == "object":
            shown = _one_line(display_text(r.object, one_line=True))
            named = self._objects.get(r.seq)
            return f"{_one_line(named.name)} — {shown}" if named is not None and named.name else shown
        if column == "outcome":
            return self._outcomes.get(r.outcome, r.outcome)
        if column == "workstation":
            return display_name(r.workstation)
        return ""


class AuditPanel(QDialog):
    """The audit log dialog (``audit.read``)."""

    verify_finished = Signal(object)  # VerifyReport
    export_finished = Signal(int)  # rows written
    head_loaded = Signal(str)
    count_loaded = Signal(int)
    operation_failed = Signal(str)

    def __init__(self, ctx, actor: Actor, trail: AuditTrail, parent: QWidget | None = None, navigator=None):
        super().__init__(parent)
        self.ctx, self.actor, self.trail = ctx, actor, trail
        self.navigator = navigator  # the window's Navigator: "Go to" opens an entry's conversation
        self._names = AuditObjectNames(ctx.archive, ctx.directory, actor)
        self._filters = AuditFilter()
        self._count: int | None = None
        self._count_generation = 0
        self.setWindowTitle(self.tr("Audit log"))

        # -- filters
        self.account_edit = QLineEdit(self)
        self.account_edit.setPlaceholderText(self.tr("Any account (exact user name)"))
        self.account_edit.setClearButtonEnabled(True)
        self.account_edit.setAccessibleName(self.tr("Account"))
        self.action_combo = QComboBox(self)
        self.action_combo.setAccessibleName(self.tr("Action"))
        self.action_combo.addItem(self.tr("Any action"), None)
        for action, label in sorted(action_labels().items(), key=lambda kv: kv[1]):
            self.action_combo.addItem(f"{label} ({action})", action)
        self.outcome_combo = QComboBox(self)
        self.outcome_combo.setAccessibleName(self.tr("Outcome"))
        self.outcome_combo.addItem(self.tr("Any outcome"), None)
        for outcome, label in outcome_labels().items():
            self.outcome_combo.addItem(label, outcome)
        now = QDateTime.currentDateTime()
        self.from_check = QCheckBox(self.tr("From"), self)
        self.from_edit = self._datetime_edit(now.addDays(-7))
        self.to_check = QCheckBox(self.tr("To"), self)
        self.to_edit = self._datetime_edit(now)
        self.object_edit = QLineEdit(self)
        self.object_edit.setPlaceholderText(self.tr("Text in the object (session, query, file, setting…)"))
        self.object_edit.setClearButtonEnabled(True)
        self.object_edit.setAccessibleName(self.tr("Object contains"))
        self.apply_button = QPushButton(self.tr("Apply"), self)
        self.apply_button.setDefault(True)
        self.clear_button = QPushButton(self.tr("Clear filters"), self)
        self.from_check.toggled.connect(self.from_edit.setEnabled)
        self.to_check.toggled.connect(self.to_edit.setEnabled)
        self.from_edit.setEnabled(False)
        self.to_edit.setEnabled(False)

        filters = QGridLayout()
        filters.addWidget(QLabel(self.tr("Account:"), self), 0, 0)
        filters.addWidget(self.account_edit, 0, 1)
        filters.addWidget(QLabel(self.tr("Action:"), self), 0, 2)
        filters.addWidget(self.action_combo, 0, 3)
        filters.addWidget(QLabel(self.tr("Outcome:"), self), 0, 4)
        filters.addWidget(self.outcome_combo, 0, 5)
        filters.addWidget(self.from_check, 1, 0)
        filters.addWidget(self.from_edit, 1, 1)
        filters.addWidget(self.to_check, 1, 2)
        filters.addWidget(self.to_edit, 1, 3)
        filters.addWidget(QLabel(self.tr("Object:"), self), 1, 4)
        filters.addWidget(self.object_edit, 1, 5)
        filters.setColumnStretch(1, 2)
        filters.setColumnStretch(3, 2)
        filters.setColumnStretch(5, 3)
        filter_buttons = QVBoxLayout()
        filter_buttons.addWidget(self.apply_button)
        filter_buttons.addWidget(self.clear_button)
        filter_row = QHBoxLayout()
        filter_row.addLayout(filters, 1)
        filter_row.addLayout(filter_buttons)

        # -- the entries and the selected one's details
        self.model = AuditLogModel(self)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.setAccessibleName(self.tr("Audit entries"))
        self.view.verticalHeader().setDefaultSectionSize(self.view.fontMetrics().height() + 10)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(_COLUMNS.index("object"), QHeaderView.ResizeMode.Stretch)
        for column, width in (("time", 150), ("account", 120), ("action", 170), ("outcome", 80),
                              ("workstation", 130)):
            self.view.setColumnWidth(_COLUMNS.index(column), width)
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setPlaceholderText(self.tr("Select an entry to see all its fields."))
        self.details.setAccessibleName(self.tr("Entry details"))
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.view)
        split.addWidget(self.details)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([380, 240])
        self.status_label = plain_label("", self, wrap=False)

        # -- chain: verify, head, export
        self.verify_button = QPushButton(self.tr("Verify chain"), self)
        self.verify_button.setToolTip(self.tr("Check every entry's hash and link: an edited, deleted, inserted or "
                                              "reordered entry is named"))
        self.export_button = QPushButton(self.tr("Export CSV…"), self)
        self.export_button.setToolTip(self.tr("Write the entries that match the filters, oldest first"))
        self.head_edit = QLineEdit(self)
        self.head_edit.setReadOnly(True)
        self.head_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.head_edit.setAccessibleName(self.tr("Chain head"))
        self.head_edit.setToolTip(self.tr("The last entry's number and hash: keep a copy outside the app to prove "
                                          "later that the log was not rewritten up to here"))
        self.copy_button = QPushButton(self.tr("Copy"), self)
        self.go_button = QPushButton(self.tr("Go to"), self)
        self.go_button.setToolTip(self.tr("Open the conversation or the message of the selected entry "
                                          "(double-click does the same)"))
        self.go_button.setEnabled(False)
        self.go_button.setVisible(navigator is not None)
        self.result = MessageLine(self)
        chain_row = QHBoxLayout()
        chain_row.addWidget(QLabel(self.tr("Chain head:"), self))
        chain_row.addWidget(self.head_edit, 1)
        chain_row.addWidget(self.copy_button)
        chain_row.addSpacing(12)
        chain_row.addWidget(self.go_button)
        chain_row.addWidget(self.verify_button)
        chain_row.addWidget(self.export_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(filter_row)
        layout.addWidget(split, 1)
        layout.addWidget(self.status_label)
        layout.addLayout(chain_row)
        layout.addWidget(self.result)
        layout.addWidget(buttons)

        self.apply_button.clicked.connect(self.apply_filters)
        self.clear_button.clicked.connect(self.clear_filters)
        for edit in (self.account_edit, self.object_edit):
            edit.returnPressed.connect(self.apply_filters)
        self.verify_button.clicked.connect(self.verify)
        self.export_button.clicked.connect(self.ask_export)
        self.copy_button.clicked.connect(self.copy_head)
        self.go_button.clicked.connect(self.go_to_current)
        self.view.doubleClicked.connect(lambda _ix: self.go_to_current())
        self.model.page_loaded.connect(self._on_page)
        self.model.load_failed.connect(self._on_load_failed)
        self.view.selectionModel().currentRowChanged.connect(self._show_details)
        self.resize(1180, 720)
        self.apply_filters()
        self.load_head()

    def _datetime_edit(self, value: QDateTime) -> QDateTimeEdit:
        edit = QDateTimeEdit(value, self)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        return edit

    # -------------------------------------------------------------- filters and listing

    def filters(self) -> AuditFilter:
        """The filter the widgets describe. "To" includes the minute shown."""
        return AuditFilter(
            account=self.account_edit.text().strip() or None,
            actions=frozenset({self.action_combo.currentData()} if self.action_combo.currentData() else ()),
            start_ms=self.from_edit.dateTime().toMSecsSinceEpoch() if self.from_check.isChecked() else None,
            end_ms=self.to_edit.dateTime().toMSecsSinceEpoch() + 60_000 if self.to_check.isChecked() else None,
            object_text=self.object_edit.text().strip() or None,
            outcome=self.outcome_combo.currentData(),
        )

    def apply_filters(self) -> None:
        """List the entries matching the filters, newest first (records one ``audit.view``)."""
        self._filters = filters = self.filters()
        trail, actor = self.trail, self.actor
        self.status_label.setText(self.tr("Loading…"))
        self.details.clear()
        self.model.load(lambda cursor: trail.entries(actor, filters, limit=PAGE_SIZE, cursor=cursor),
                        self._names.describe)
        self._count = None
        self._count_generation += 1
        generation = self._count_generation
        run_task(self, lambda: trail.count(actor, filters), lambda n: self._on_count(generation, n),
                 lambda exc: None)

    def clear_filters(self) -> None:
        self.account_edit.clear()
        self.action_combo.setCurrentIndex(0)
        self.outcome_combo.setCurrentIndex(0)
        self.from_check.setChecked(False)
        self.to_check.setChecked(False)
        self.object_edit.clear()
        self.apply_filters()

    def _on_count(self, generation: int, count: int) -> None:
        if generation != self._count_generation:
            return
        self._count = count
        self._update_status()
        self.count_loaded.emit(count)

    def _on_page(self, _rows: int) -> None:
        self._update_status()
        if self.model.broken_seq is not None:
            self._scroll_to_broken()

    def _update_status(self) -> None:
        if self.model.is_loading():
            return
        shown = self.model.rowCount()
        if shown == 0:
            self.status_label.setText(self.tr("No entry matches the filters."))
        elif self.model.has_more():
            # The count may include entries written since the listing began: never below what is listed.
            count = max(self._count or 0, shown)
            self.status_label.setText(self.tr("%1 entries match; the newest %2 are listed (scroll for more).")
                                      .replace("%1", f"{count:,}").replace("%2", f"{shown:,}"))  # shown > 1
        else:
            self.status_label.setText(count_text(shown, self.tr("1 entry matches."),
                                                 self.tr("%1 entries match, newest first.")))

    def _on_load_failed(self, message: str) -> None:
        self.status_label.setText(self.tr("Cannot read the audit log: %1").replace("%1", message))
        self.operation_failed.emit(message)

    def go_to_current(self) -> bool:
        """Open the selected entry's conversation (at its message, if it names one) in the window;
        False if it names none this account may read."""
        index = self.view.currentIndex()
        target = index.data(TARGET_ROLE) if index.isValid() else None
        if self.navigator is None or target is None or not target.can_go:
            return False
        if target.message_id is not None:
            self.navigator.open_message.emit(target.corp_id, target.session_id, target.message_id)
        else:
            self.navigator.open_session.emit(target.corp_id, target.session_id)
        return True

    def _show_details(self, current: QModelIndex, _previous=None) -> None:
        r = current.data(RECORD_ROLE) if current.isValid() else None
        target = current.data(TARGET_ROLE) if current.isValid() else None
        self.go_button.setEnabled(target is not None and target.can_go)
        if r is None:
            self.details.clear()
            return
        lines = [
            self.tr("Entry #%1").replace("%1", str(r.seq)),
            self.tr("Time: %1 (UTC %2)").replace("%1", local_time(r.at)).replace("%2", ms_iso(r.at)),
            self.tr("Account: %1").replace("%1", display_name(r.account) or "—")
            + (f"  (id {r.account_id})" if r.account_id is not None else ""),
            self.tr("Action: %1 (%2)").replace("%1", action_labels().get(r.action, r.action)).replace("%2", r.action),
            self.tr("Object: %1").replace("%1", display_text(f"[{r.object_type}] {r.object}" if r.object_type
                                                              else r.object)
                                          + (f" ({_one_line(target.name)})" if target is not None and target.name
                                             else "")),
            self.tr("Outcome: %1").replace("%1", outcome_labels().get(r.outcome, r.outcome)),
            self.tr("Workstation: %1").replace("%1", display_name(r.workstation)),
            self.tr("Login: %1").replace("%1", display_name(r.login_id)),
            self.tr("Detail: %1").replace("%1", json_line(r.detail, sort_keys=True)),
            self.tr("Previous hash: %1").replace("%1", r.prev_hash),
            self.tr("Entry hash: %1").replace("%1", r.entry_hash),
        ]
        self.details.setPlainText("\n".join(lines))

    # -------------------------------------------------------------- the chain

    def load_head(self) -> None:
        trail = self.trail
        run_task(self, trail.head, self._on_head, lambda exc: self._on_head_failed(exc))

    def _on_head(self, head) -> None:
        self.head_edit.setText(str(head))
        self.head_loaded.emit(str(head))

    def _on_head_failed(self, exc: Exception) -> None:
        self.head_edit.setText("")
        self.result.show_error(error_text(exc))

    def copy_head(self) -> None:
        if self.head_edit.text():
            QGuiApplication.clipboard().setText(self.head_edit.text())
            self.result.show_note(self.tr("Chain head copied: keep it outside the app (a printout, a note in the "
                                          "case file) to prove later that the log up to it was not rewritten."))

    def verify(self) -> None:
        """Check the whole chain in the background (records ``audit.verify``)."""
        self.verify_button.setEnabled(False)
        self.result.show_note(self.tr("Verifying the chain…"))
        trail, actor = self.trail, self.actor
        run_task(self, lambda: trail.verify(actor), self._on_verified, self._on_verify_failed)

    def _on_verified(self, report: VerifyReport) -> None:
        self.verify_button.setEnabled(True)
        if report.ok:
            self.result.show_ok(self.tr("The chain is intact: %1 entries checked, up to %2.")
                                .replace("%1", f"{report.checked:,}").replace("%2", str(report.head)))
            self.model.set_broken_seq(None)
        else:
            problem = report.problem
            text = (self.tr("The chain is BROKEN at entry #%1 (%2): %3")
                    .replace("%1", str(problem.seq)).replace("%2", problem_kind_label(problem.kind))
                    .replace("%3", problem.message))
            if not report.recorded:
                text += "\n" + self.tr("This check could not be recorded in the audit log, which cannot be "
                                       "appended to in this state.")
            self.result.show_error(text)
            self.model.set_broken_seq(problem.seq)
            self._scroll_to_broken()
        self.load_head()
        self.verify_finished.emit(report)

    def _scroll_to_broken(self) -> None:
        row = self.model.row_of_seq(self.model.broken_seq) if self.model.broken_seq is not None else -1
        if row >= 0:
            self.view.scrollTo(self.model.index(row, 0), QAbstractItemView.ScrollHint.PositionAtCenter)

    def _on_verify_failed(self, exc: Exception) -> None:
        self.verify_button.setEnabled(True)
        self.result.show_error(self.tr("Cannot verify the chain: %1").replace("%1", error_text(exc)))
        self.operation_failed.emit(str(exc))

    # -------------------------------------------------------------- export

    def ask_export(self) -> None:
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
        default = str(Path(folder) / f"audit-log-{datetime.now():%Y%m%d-%H%M}.csv")
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export the audit log"), default,
                                              self.tr("CSV files (*.csv)"))
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path) -> None:
        """Write the entries matching the current filters to ``path`` (CSV) in the background."""
        self.export_button.setEnabled(False)
        self.result.show_note(self.tr("Exporting…"))
        trail, actor, filters = self.trail, self.actor, self.filters()
        target = Path(path)
        run_task(self, lambda: trail.export_csv(actor, target, filters),
                 lambda rows: self._on_exported(rows, target), self._on_export_failed)

    def _on_exported(self, rows: int, path: Path) -> None:
        self.export_button.setEnabled(True)
        self.result.show_note(count_text(rows, self.tr("1 entry written to %2."), self.tr("%1 entries written to %2."))
                              .replace("%2", str(path)))
        self.export_finished.emit(rows)

    def _on_export_failed(self, exc: Exception) -> None:
        self.export_button.setEnabled(True)
        self.result.show_error(self.tr("Cannot export the audit log: %1").replace("%1", error_text(exc)))
        self.operation_failed.emit(str(exc))


__all__ = ["AuditLogModel", "AuditPanel", "action_labels", "outcome_labels"]
