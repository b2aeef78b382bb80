"""The compliance views: "Archived staff" (who is under archiving now and since when, and whose chats
are in the archive without being on the permit list) and "Consent" (per customer and staff member or
group: the consent state WeCom reports with the time of the decision, earlier states, and the
agree/disagree entries of the archive as evidence; "Only refusals" lists the chats with customers who
refused).

Both read app.core.directory.compliance on a pool thread; names and ids are shown through
display_name. Double-clicking a row (or "Open conversation" / "Open entry") asks the Navigator to
show it; opening is recorded by the viewer as usual.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QCoreApplication, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
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
from app.core.context import AppContext
from app.core.directory.compliance import ArchivedStaff, ComplianceService, ConsentEvidence, ConsentRow
from app.core.safe_text import display_name, display_text
from app.ui.language import error_sentence

from .avatars import avatar_icon
from .panels import Navigator
from .sync.panel import fill
from .table_model import RowTableModel
from .tasks import run_task

ROW_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
_ATTENTION = QColor(176, 0, 32)


def _time(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M") if ms else ""


def _table(parent: QWidget, model, stretch: str) -> tuple[QTableView, QSortFilterProxyModel]:
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    table = QTableView(parent)
    table.setModel(proxy)
    table.setSortingEnabled(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(model.COLUMNS.index(stretch), QHeaderView.ResizeMode.Stretch)
    return table, proxy


class _CorpPanel(QWidget):
    """A corp choice (shown when the archive holds several) above a view that reloads with the archive."""

    def __init__(self, ctx: AppContext, actor: Actor, navigator: Navigator, parent: QWidget | None):
        super().__init__(parent)
        self.ctx, self.actor, self.navigator = ctx, actor, navigator
        self.service = ComplianceService(ctx.db, ctx.directory, ctx.trail)
        self.corp_box = QComboBox(self)
        self.summary = QLabel(self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.corp_box.currentIndexChanged.connect(self._load)
        navigator.archive_changed.connect(self.refresh)

    def refresh(self) -> None:
        run_task(self, lambda: self.ctx.archive.corps(self.actor), self._corps_read, self._failed)

    def _corps_read(self, corps) -> None:
        current = self.corp_box.currentData()
        self.corp_box.blockSignals(True)
        self.corp_box.clear()
        for c in corps:
            self.corp_box.addItem(display_name(f"{c.name} ({c.corpid})" if c.name else c.corpid), c.id)
        self.corp_box.setCurrentIndex(max(0, self.corp_box.findData(current)) if current is not None else 0)
        self.corp_box.blockSignals(False)
        self.corp_box.setVisible(self.corp_box.count() > 1)
        self._load()

    def corp_id(self) -> int | None:
        return self.corp_box.currentData()

    def _load(self) -> None:
        raise NotImplementedError

    def _failed(self, exc: Exception) -> None:
        text = QCoreApplication.translate("CompliancePanels", "This view cannot be read: %1")
        self.summary.setText(fill(text, display_text(error_sentence(exc))))


# ---------------------------------------------------------------------------------------- archived staff

class ArchivedStaffModel(RowTableModel[ArchivedStaff]):
    COLUMNS = ("state", "name", "userid", "department", "since", "messages", "last")
    OBJECT_ROLE = ROW_ROLE

    def __init__(self, ctx: AppContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.corp_id = 0
        self._states = {"archived": self.tr("Archived"), "on_list_no_chats": self.tr("On the list, no chats"),
                        "not_on_list": self.tr("Chats archived, never on the list"),
                        "taken_off": self.tr("Chats archived, taken off the list")}

    def _header_texts(self):
        return (self.tr("State"), self.tr("Name"), self.tr("Userid"), self.tr("Department"),
                self.tr("On the list"), self.tr("Messages sent"), self.tr("Last message"))

    def _display(self, r: ArchivedStaff, column: str) -> str:
        if column == "since":
            if r.on_list:
                return fill(self.tr("since %1"), _time(r.since))
            return fill(self.tr("off since %1"), _time(r.removed_at)) if r.removed_at else self.tr("never")
        return {"state": self._states.get(r.state, r.state), "name": display_name(r.name),
                "userid": display_name(r.userid), "department": display_name(r.department),
                "messages": str(r.messages), "last": _time(r.last_msgtime)}.get(column, "")

    def _role_data(self, r: ArchivedStaff, column: str, role: int):
        if role == SORT_ROLE:
            return {"messages": r.messages, "since": r.since or r.removed_at or 0,
                    "last": r.last_msgtime or 0}.get(column, self._display(r, column))
        if role == Qt.ItemDataRole.ForegroundRole and column == "state" and r.attention:
            return _ATTENTION
        if role == Qt.ItemDataRole.DecorationRole and column == "name":
            return avatar_icon(self.ctx.directory.peek_avatar(self.corp_id, r.userid), r.name, r.userid, 18)
        if role == Qt.ItemDataRole.ToolTipRole and column == "since" and r.stretches:
            lines = [fill(self.tr("on the list %1 – %2"), _time(s.added_seen_at),
                          _time(s.removed_seen_at) if s.removed_seen_at else self.tr("now")) for s in r.stretches]
            return "\n".join(lines)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == "messages":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class ArchivedStaffPanel(_CorpPanel):
    """Who is under archiving now and since when, and whose chats are archived without being on the
    permit list (first, in red)."""

    def __init__(self, ctx: AppContext, actor: Actor, navigator: Navigator, parent: QWidget | None = None):
        super().__init__(ctx, actor, navigator, parent)
        self.model = ArchivedStaffModel(ctx, self)
        self.table, self.proxy = _table(self, self.model, "name")
        self.attention_box = QCheckBox(self.tr("Only chats archived without being on the list"), self)
        self.attention_box.toggled.connect(self._load)
        self.refresh_button = QPushButton(self.tr("Refresh"), self)
        self.refresh_button.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(self.corp_box, 1)
        top.addWidget(self.attention_box)
        top.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.refresh()

    def _load(self) -> None:
        corp_id = self.corp_id()
        if corp_id is None:
            self.model.set_rows([])
            self.summary.setText(self.tr("The archive holds no corp yet."))
            return

        def read():
            report = self.service.archived_staff(self.actor, corp_id)
            for r in report.rows:  # the pictures, read here so that painting finds them
                self.ctx.directory.avatar(self.actor, corp_id, r.userid)
            return report

        run_task(self, read, lambda report: self._show(corp_id, report), self._failed)

    def _show(self, corp_id: int, report) -> None:
        rows = [r for r in report.rows if r.attention] if self.attention_box.isChecked() else report.rows
        self.model.corp_id = corp_id
        self.model.set_rows(rows)
        on = sum(1 for r in report.rows if r.on_list)
        attention = sum(1 for r in report.rows if r.attention)
        if report.permit_list_seen_at is None:
            self.summary.setText(self.tr("The permit list has not been read from WeCom yet (Directory → Sync from "
                                         "WeCom). Staff who send messages in the archive are listed."))
        else:
            self.summary.setText(fill(self.tr(
                "%1 staff under archiving (permit list read %2); %3 with chats archived without being on the "
                "list."), on, _time(report.permit_list_seen_at), attention))


# ---------------------------------------------------------------------------------------- consent

class ConsentModel(RowTableModel[ConsentRow]):
    COLUMNS = ("status", "customer", "with", "decided", "checked", "evidence")
    OBJECT_ROLE = ROW_ROLE

    def __init__(self, ctx: AppContext, actor: Actor, parent=None):
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self._status = {"agree": self.tr("Agreed"), "disagree": self.tr("Refused"),
                        "default_agree": self.tr("Agreed by default")}

    def _header_texts(self):
        return (self.tr("Consent"), self.tr("Customer"), self.tr("With"), self.tr("Decided"),
                self.tr("Checked with WeCom"), self.tr("Archive entries"))

    def status_text(self, status: str) -> str:
        return self._status.get(status, display_name(status))

    def _name(self, corp_id: int, userid: str) -> str:
        d = self.ctx.directory
        name = d.name(self.actor, corp_id, userid)
        tag = d.corp_tag(self.actor, corp_id, userid)
        shown = display_name(name) if name else display_name(userid)
        return f"{shown} {display_name(tag)}" if tag and name else shown

    def _display(self, r: ConsentRow, column: str) -> str:
        if column == "status":
            return self.status_text(r.status)
        if column == "customer":
            return self._name(r.corp_id, r.external_userid)
        if column == "with":
            if r.roomid:
                return fill(self.tr("group %1"), self._name(r.corp_id, r.roomid))
            return self._name(r.corp_id, r.userid) if r.userid else self.tr("(archive entries only)")
        if column == "decided":
            return _time(r.changed_at)
        if column == "checked":
            return _time(r.checked_at) if r.checked_at else self.tr("not reported by WeCom")
        return str(len(r.evidence))

    def _role_data(self, r: ConsentRow, column: str, role: int):
        if role == SORT_ROLE:
            if column == "status":
                return 0 if r.refused else 1
            return {"decided": r.changed_at or 0, "checked": r.checked_at or 0,
                    "evidence": len(r.evidence)}.get(column, self._display(r, column))
        if role == Qt.ItemDataRole.ForegroundRole and column == "status" and r.refused:
            return _ATTENTION
        if role == Qt.ItemDataRole.DecorationRole and column == "customer":
            name = self.ctx.directory.name(self.actor, r.corp_id, r.external_userid) or ""
            return avatar_icon(self.ctx.directory.peek_avatar(r.corp_id, r.external_userid), name, r.external_userid,
                               18)
        if role == Qt.ItemDataRole.ToolTipRole and column in ("status", "decided") and len(r.history) > 1:
            return "\n".join(fill(self.tr("%1 on %2 (seen %3)"), self.status_text(h.status), _time(h.changed_at),
                                  _time(h.first_seen_at)) for h in r.history)
        if role == Qt.ItemDataRole.ToolTipRole and column == "customer":
            return display_name(r.external_userid)
        return None


class EvidenceModel(RowTableModel[ConsentEvidence]):
    COLUMNS = ("entry", "time", "decided", "msgid")
    OBJECT_ROLE = ROW_ROLE

    def _header_texts(self):
        return self.tr("Entry"), self.tr("Time"), self.tr("Decision time"), self.tr("Msgid")

    def _display(self, e: ConsentEvidence, column: str) -> str:
        return {"entry": self.tr("Agreed to archiving") if e.msgtype == "agree" else self.tr("Refused archiving"),
                "time": _time(e.msgtime), "decided": _time(e.decided_at), "msgid": display_name(e.msgid)}[column]

    def _role_data(self, e: ConsentEvidence, column: str, role: int):
        if role == SORT_ROLE:
            return e.msgtime if column == "time" else self._display(e, column)
        return None


class ConsentPanel(_CorpPanel):
    """Customers' consent to archiving, with the evidence: WeCom's state and decision time per staff
    member or group, earlier states (tooltip), and the archive's agree/disagree entries of the chosen
    customer; "Only refusals" lists the chats with customers who refused."""

    def __init__(self, ctx: AppContext, actor: Actor, navigator: Navigator, parent: QWidget | None = None):
        super().__init__(ctx, actor, navigator, parent)
        self.model = ConsentModel(ctx, actor, self)
        self.table, self.proxy = _table(self, self.model, "customer")
        self.evidence = EvidenceModel(self)
        self.evidence_table, self.evidence_proxy = _table(self, self.evidence, "msgid")
        self.refused_box = QCheckBox(self.tr("Only customers who refused"), self)
        self.refused_box.toggled.connect(self._load)
        self.open_button = QPushButton(self.tr("Open conversation"), self)
        self.open_entry_button = QPushButton(self.tr("Open entry"), self)
        self.open_button.setEnabled(False)
        self.open_entry_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.corp_box, 1)
        top.addWidget(self.refused_box)
        top.addWidget(self.open_button)
        bottom = QHBoxLayout()
        bottom.addWidget(QLabel(self.tr("Agree/disagree entries of this customer in the archive:"), self), 1)
        bottom.addWidget(self.open_entry_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 3)
        layout.addLayout(bottom)
        layout.addWidget(self.evidence_table, 1)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.evidence_table.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: self.open_entry_button.setEnabled(cur.isValid()))
        self.table.doubleClicked.connect(lambda _index: self.open_conversation())
        self.evidence_table.doubleClicked.connect(lambda _index: self.open_entry())
        self.open_button.clicked.connect(self.open_conversation)
        self.open_entry_button.clicked.connect(self.open_entry)
        self.refresh()

    def _load(self) -> None:
        corp_id = self.corp_id()
        if corp_id is None:
            self.model.set_rows([])
            self.summary.setText(self.tr("The archive holds no corp yet."))
            return
        refused = self.refused_box.isChecked()

        def read():
            rows = self.service.consent(self.actor, corp_id)
            for r in rows:
                self.ctx.directory.avatar(self.actor, corp_id, r.external_userid)
            return rows

        run_task(self, read, lambda rows: self._show(rows, refused), self._failed)

    def _show(self, rows: list[ConsentRow], refused: bool) -> None:
        shown = [r for r in rows if r.refused] if refused else rows
        self.model.set_rows(shown)
        self.evidence.set_rows([])
        self.open_button.setEnabled(False)
        customers = {r.external_userid for r in rows}
        refusing = {r.external_userid for r in rows if r.refused}
        if not rows:
            self.summary.setText(self.tr("No consent is known yet: WeCom reports it at a directory sync (Directory → "
                                         "Sync from WeCom), and agree/disagree entries come with the archive."))
        else:
            self.summary.setText(fill(self.tr("%1 customers; %2 refused archiving (%3 chats or groups)."),
                                      len(customers), len(refusing), sum(1 for r in rows if r.refused)))

    def _row_changed(self, current, _previous) -> None:
        row = self.current_row()
        self.evidence.set_rows(list(row.evidence) if row else [])
        self.open_button.setEnabled(bool(row and row.session_id))
        self.open_entry_button.setEnabled(False)

    def current_row(self) -> ConsentRow | None:
        index = self.proxy.mapToSource(self.table.currentIndex())
        return self.model.row_object(index.row()) if index.isValid() else None

    def open_conversation(self) -> None:
        row = self.current_row()
        if row is not None and row.session_id:
            self.navigator.open_session.emit(row.corp_id, row.session_id)

    def open_entry(self) -> None:
        row = self.current_row()
        index = self.evidence_proxy.mapToSource(self.evidence_table.currentIndex())
        if row is None or not index.isValid():
            return
        e = self.evidence.row_object(index.row())
        self.navigator.open_message.emit(row.corp_id, e.session_id or "", e.message_id)


__all__ = ["ArchivedStaffPanel", "ConsentPanel"]
