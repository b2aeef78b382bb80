"""One staff member's timeline: every conversation they took part in, by time, with what they sent in
each, for a date range; and a chart of what they sent per month.

The person is chosen by name or id (type either: the list completes both); the Statistics panel
asks for one through ``Navigator.person_requested``. Double-clicking a conversation opens it through
the Navigator; "Open their first message" opens the first entry they sent in it. Reads run on a pool
thread through app.core.statistics, within the account's scope.
"""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QDockWidget,
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
from app.core.safe_text import display_name, display_text
from app.core.statistics import PersonConversation, PersonTimeline, StatisticsService
from app.ui.language import error_sentence

from .charts import Bar, BarChart
from .counts import count_text
from .insight_common import CorpBox, DateRange, ReadsWhenShown, conversation_title, local_time, name_and_id
from .panels import Navigator
from .sync.panel import fill
from .table_model import RowTableModel
from .tasks import run_task

SORT_ROLE = Qt.ItemDataRole.UserRole + 2


class TimelineRow:
    """A conversation of the timeline with its title (names read off the GUI thread)."""

    __slots__ = ("c", "title")

    def __init__(self, c: PersonConversation, title: str):
        self.c, self.title = c, title


class TimelineModel(RowTableModel[TimelineRow]):
    COLUMNS = ("title", "type", "first", "last", "messages", "sent", "first_sent", "last_sent")
    OBJECT_ROLE = Qt.ItemDataRole.UserRole + 1

    def _header_texts(self):
        return (self.tr("Conversation"), self.tr("Type"), self.tr("First message"), self.tr("Last message"),
                self.tr("Messages"), self.tr("Sent by them"), self.tr("Their first"), self.tr("Their last"))

    def _display(self, r: TimelineRow, column: str) -> str:
        c = r.c
        return {"title": r.title,
                "type": {"group": self.tr("Group"), "external": self.tr("With a customer"),
                         "internal": self.tr("Internal")}.get(c.session_type, display_name(c.session_type)),
                "first": local_time(c.first_msgtime), "last": local_time(c.last_msgtime),
                "messages": str(c.message_count), "sent": str(c.sent),
                "first_sent": local_time(c.first_sent), "last_sent": local_time(c.last_sent)}[column]

    def _role_data(self, r: TimelineRow, column: str, role: int):
        c = r.c
        if role == SORT_ROLE:
            return {"first": c.first_msgtime, "last": c.last_msgtime, "messages": c.message_count, "sent": c.sent,
                    "first_sent": c.first_sent or 0, "last_sent": c.last_sent or 0}.get(column,
                                                                                       self._display(r, column))
        if role == Qt.ItemDataRole.TextAlignmentRole and column in ("messages", "sent"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == "title":
            return display_name(c.session_id)
        return None


class TimelinePanel(ReadsWhenShown, QWidget):
    """All conversations of one staff member by time (see the module docstring)."""

    def __init__(self, ctx: AppContext, actor: Actor, navigator: Navigator, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.actor, self.navigator = ctx, actor, navigator
        self.service = StatisticsService(ctx.db, ctx.directory, ctx.trail)
        self.timeline: PersonTimeline | None = None
        self._generation = 0
        self._wanted: str | None = None  # a person asked for before the list was read
        self.corp_box = CorpBox(ctx, actor, self)
        self.person_box = QComboBox(self)
        self.person_box.setEditable(True)
        self.person_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.person_box.setMinimumContentsLength(18)
        self.person_edit = self.person_box.lineEdit()
        assert self.person_edit is not None  # an editable combo box has one
        self.person_edit.setPlaceholderText(self.tr("Name or userid"))
        completer = QCompleter(self.person_box.model(), self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.person_box.setCompleter(completer)
        self.range = DateRange(self)
        self.show_button = QPushButton(self.tr("Show"), self)
        self.summary = QLabel(self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.chart = BarChart(self, horizontal=False)
        self.chart.setMinimumHeight(140)
        self.model = TimelineModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(TimelineModel.COLUMNS.index("last"), Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.open_button = QPushButton(self.tr("Open conversation"), self)
        self.open_first_button = QPushButton(self.tr("Open their first message"), self)
        for b in (self.open_button, self.open_first_button):
            b.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.corp_box)
        top.addWidget(QLabel(self.tr("Staff member:"), self))
        top.addWidget(self.person_box, 1)
        top.addWidget(self.range)
        top.addWidget(self.show_button)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.open_first_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.chart)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

        self.corp_box.loaded.connect(self._load_people)
        self.corp_box.currentIndexChanged.connect(self._load_people)
        self.show_button.clicked.connect(self.load)
        self.person_box.activated.connect(lambda _i: self.load())
        self.person_edit.returnPressed.connect(self.load)
        self.range.changed.connect(lambda: self.load() if self.timeline is not None else None)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.doubleClicked.connect(lambda _i: self.open_conversation())
        self.open_button.clicked.connect(self.open_conversation)
        self.open_first_button.clicked.connect(self.open_first_message)
        navigator.person_requested.connect(self.show_person)
        navigator.archive_changed.connect(self.archive_changed)
        self.summary.setText(self.tr("Choose a staff member to see their conversations by time."))

    def refresh(self) -> None:
        self.corp_box.reload()

    def _load_people(self) -> None:
        corp_id = self.corp_box.corp_id()
        if corp_id is None:
            return
        run_task(self, lambda: self.service.staff(self.actor, corp_id), self._people_read, self._failed)

    def _people_read(self, people) -> None:
        typed = self.person_box.currentText()
        self.person_box.blockSignals(True)
        self.person_box.clear()
        for p in people:
            label = name_and_id(p.name, p.userid) + (f" · {display_name(p.organisation)}" if p.organisation else "")
            self.person_box.addItem(label, p.userid)
        self.person_box.setCurrentIndex(-1)
        self.person_box.setEditText(typed)
        self.person_box.blockSignals(False)
        if self._wanted is not None:
            wanted, self._wanted = self._wanted, None
            self._select(wanted)
            self.load()
        elif self.timeline is not None:
            self.load()

    def _select(self, userid: str) -> None:
        i = self.person_box.findData(userid)
        if i >= 0:
            self.person_box.setCurrentIndex(i)
        else:
            self.person_box.setEditText(userid)

    def show_person(self, corp_id: int, userid: str) -> None:
        """Show ``userid``'s timeline (and this panel's dock)."""
        dock = self.parentWidget()
        if isinstance(dock, QDockWidget):
            dock.show()
            dock.raise_()
        i = self.corp_box.findData(corp_id)
        if i >= 0 and i != self.corp_box.currentIndex():
            self._wanted = userid
            self.corp_box.setCurrentIndex(i)  # the people are read again, then the timeline
            return
        if self.person_box.count() == 0:
            self._wanted = userid
            return
        self._select(userid)
        self.load()

    def userid(self) -> str:
        """The chosen person's userid: the list's entry, or what was typed — an id, or a name or
        part of one that matches exactly one entry; "" when it matches several (see :meth:`matches`)."""
        text = self.person_box.currentText().strip()
        i = self.person_box.currentIndex()
        if i >= 0 and self.person_box.itemText(i) == self.person_box.currentText():
            return str(self.person_box.itemData(i))
        if self.person_box.findData(text) >= 0:
            return text
        matches = self.matches(text)
        if len(matches) == 1:
            return matches[0]
        return "" if matches else text  # no entry: an id the directory does not know

    def matches(self, text: str) -> list[str]:
        """The userids of the entries whose text (name, id, department) contains ``text``."""
        needle = text.strip().casefold()
        return [str(self.person_box.itemData(j)) for j in range(self.person_box.count())
                if needle and needle in self.person_box.itemText(j).casefold()]

    def load(self) -> None:
        corp_id, userid = self.corp_box.corp_id(), self.userid()
        if corp_id is None:
            return
        if not userid:
            typed = self.person_box.currentText().strip()
            if typed:  # a name several people share: say so rather than pick one
                self.summary.setText(fill(self.tr("%1 staff members match “%2”: choose one in the list."),
                                          len(self.matches(typed)), display_name(typed)))
            return
        self._generation += 1
        generation = self._generation
        start, end = self.range.start_ms(), self.range.end_ms()
        self.summary.setText(self.tr("Reading…"))

        def read():
            timeline = self.service.person_conversations(self.actor, corp_id, userid, start, end)
            per_day = self.service.sent_per_day(self.actor, corp_id, userid, start, end)
            return timeline, [TimelineRow(c, self._title(corp_id, userid, c)) for c in timeline.conversations], per_day

        run_task(self, read, lambda result: self._show(generation, *result), self._failed)

    def _title(self, corp_id: int, userid: str, c: PersonConversation) -> str:
        return conversation_title(self.ctx, self.actor, corp_id, c.roomid, c.participants, exclude=userid)

    def _failed(self, exc: Exception) -> None:
        self.summary.setText(fill(self.tr("The timeline cannot be read: %1"), display_text(error_sentence(exc))))

    def _show(self, generation: int, timeline: PersonTimeline, rows: list[TimelineRow], per_day) -> None:
        if generation != self._generation:
            return
        self.timeline = timeline
        self.model.set_rows(rows)
        if rows:  # the From/To dates start where this person's conversations are (unless the user set them)
            self.range.suggest(min(r.c.first_msgtime for r in rows), max(r.c.last_msgtime for r in rows))
        self._row_changed()
        who = name_and_id(timeline.name, timeline.userid)
        if timeline.department:
            who += f", {display_name(timeline.department)}"
        if not rows:
            self.summary.setText(fill(self.tr("%1: no conversations in this range (or none in your scope)."), who))
        else:
            self.summary.setText(fill(self.tr("%1: %2; sent %3 in them."), who,
                                      count_text(len(rows), self.tr("1 conversation"), self.tr("%1 conversations")),
                                      count_text(timeline.sent, self.tr("1 message"), self.tr("%1 messages"))))
        one, many = self.tr("1 message"), self.tr("%1 messages")
        months: dict[str, int] = {}
        for d in per_day:  # what they sent, per month (a day's column is too thin over a year)
            key = d.day.strftime("%Y-%m")
            months[key] = months.get(key, 0) + d.count
        self.chart.set_bars(self.tr("Messages they sent per month"),
                            [Bar(m, n, f"{m}: {count_text(n, one, many)}")
                             for m, n in sorted(months.items())], self.tr("No messages sent by them"))

    def current(self) -> PersonConversation | None:
        index = self.proxy.mapToSource(self.table.currentIndex())
        return self.model.row_object(index.row()).c if index.isValid() else None

    def _row_changed(self, *_args) -> None:
        c = self.current()
        self.open_button.setEnabled(c is not None)
        self.open_first_button.setEnabled(c is not None and c.sent > 0)

    def open_conversation(self) -> None:
        c = self.current()
        if c is not None:
            self.navigator.open_session.emit(c.corp_id, c.session_id)

    def open_first_message(self) -> None:
        c, timeline = self.current(), self.timeline
        if c is None or timeline is None or not c.sent:
            return
        start, end = self.range.start_ms(), self.range.end_ms()

        def opened(message_id):
            if message_id is not None:
                self.navigator.open_message.emit(c.corp_id, c.session_id, message_id)

        run_task(self, lambda: self.service.first_sent(self.actor, c.corp_id, c.session_id, timeline.userid, start,
                                                       end), opened, self._failed)


__all__ = ["TimelineModel", "TimelinePanel"]
