"""The statistics page: entries per day, per message type, per staff member and per external corp,
for a date range and a corp, as charts (people would rather look than read) and a table of every
sender with the exact figures.

Counted by app.core.statistics on a pool thread, within the account's scope (a scoped reviewer sees
the figures of the conversations it may open); names come from the directory beside the ids.
Double-clicking a staff member (bar or row) shows their conversations in the Timeline panel.
"""

from __future__ import annotations

from PySide6.QtCore import QDate, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.context import AppContext
from app.core.messages.registry import label_of
from app.core.safe_text import display_name, display_text
from app.core.statistics import EXTERNAL, STAFF, MessageStatistics, SenderCount, StatisticsService
from app.ui.language import error_sentence, ui_is_chinese

from .charts import Bar, BarChart
from .counts import count_text
from .insight_common import CorpBox, DateRange, ReadsWhenShown, day_start_ms, name_and_id
from .panels import Navigator
from .sync.panel import fill
from .table_model import RowTableModel
from .tasks import run_task

SORT_ROLE = Qt.ItemDataRole.UserRole + 2
TOP = 12  # bars per category chart; the rest are summed in a footnote
MAX_DAYS = 200  # beyond this the first chart counts per month


class SenderModel(RowTableModel[SenderCount]):
    COLUMNS = ("name", "userid", "kind", "organisation", "count")
    OBJECT_ROLE = Qt.ItemDataRole.UserRole + 1

    def _header_texts(self):
        return self.tr("Name"), self.tr("Id"), self.tr("Kind"), self.tr("Department or corp"), self.tr("Messages")

    def _display(self, s: SenderCount, column: str) -> str:
        if column == "kind":
            return {STAFF: self.tr("Staff"), EXTERNAL: self.tr("External contact")}.get(s.kind, self.tr("Other"))
        if column == "count":
            return str(s.count)
        return display_name(getattr(s, column))

    def _role_data(self, s: SenderCount, column: str, role: int):
        if role == SORT_ROLE:
            return s.count if column == "count" else self._display(s, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == "count":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class StatisticsPanel(ReadsWhenShown, QWidget):
    """Charts of the archive's entries for a corp and a date range (see the module docstring)."""

    def __init__(self, ctx: AppContext, actor: Actor, navigator: Navigator, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.actor, self.navigator = ctx, actor, navigator
        self.service = StatisticsService(ctx.db, ctx.directory, ctx.trail)
        self.stats: MessageStatistics | None = None
        self._generation = 0
        self.corp_box = CorpBox(ctx, actor, self)
        self.range = DateRange(self)
        self.refresh_button = QPushButton(self.tr("Refresh"), self)
        self.summary = QLabel(self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.per_day = BarChart(self, horizontal=False)
        self.per_type = BarChart(self)
        self.per_staff = BarChart(self)
        self.per_corp = BarChart(self)
        charts = QWidget(self)
        grid = QGridLayout(charts)
        grid.addWidget(self.per_day, 0, 0, 1, 3)
        grid.addWidget(self.per_type, 1, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.per_staff, 1, 1, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.per_corp, 1, 2, Qt.AlignmentFlag.AlignTop)
        grid.setRowStretch(0, 1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(charts)
        self.model = SenderModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(SenderModel.COLUMNS.index("count"), Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(SenderModel.COLUMNS.index("organisation"), QHeaderView.ResizeMode.Stretch)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(scroll, self.tr("Charts"))
        self.tabs.addTab(self.table, self.tr("Senders"))
        top = QHBoxLayout()
        top.addWidget(self.corp_box)
        top.addWidget(self.range)
        top.addStretch(1)
        top.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)

        self.corp_box.loaded.connect(self.load)
        self.corp_box.currentIndexChanged.connect(self.load)
        self.range.changed.connect(self.load)
        self.refresh_button.clicked.connect(self.refresh)
        self.per_staff.bar_activated.connect(self._person)
        self.table.doubleClicked.connect(self._row_activated)
        navigator.archive_changed.connect(self.archive_changed)

    def refresh(self) -> None:
        self.corp_box.reload()

    def load(self) -> None:
        corp_id = self.corp_box.corp_id()
        self._generation += 1
        generation = self._generation
        if corp_id is None:
            self.summary.setText(self.tr("The archive holds no corp yet."))
            return
        start, end = self.range.start_ms(), self.range.end_ms()
        self.summary.setText(self.tr("Counting…"))
        run_task(self, lambda: self.service.message_statistics(self.actor, corp_id, start, end),
                 lambda stats: self._show(generation, stats), lambda exc: self._failed(generation, exc))

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation == self._generation:
            self.summary.setText(fill(self.tr("The statistics cannot be read: %1"), display_text(error_sentence(exc))))

    def _show(self, generation: int, stats: MessageStatistics) -> None:
        if generation != self._generation:  # a newer request is on its way
            return
        self.stats = stats
        if stats.per_day:
            first, last = stats.per_day[0].day, stats.per_day[-1].day
            self.summary.setText(fill(self.tr("%1 from %2 to %3: %4 staff members sent %5; %6 external contacts "
                                              "of %7 corps sent %8."),
                                      count_text(stats.total, self.tr("1 message"), self.tr("%1 messages")),
                                      first.isoformat(), last.isoformat(), len(stats.per_staff),
                                      sum(s.count for s in stats.per_staff),
                                      sum(c.contacts for c in stats.per_external_corp),
                                      len(stats.per_external_corp), sum(c.count for c in stats.per_external_corp)))
            # the From/To dates start where the data is (unless the user set them)
            self.range.suggest(self._day_ms(first), self._day_ms(last))
        else:
            self.summary.setText(self.tr("No messages in this range (or none in your scope)."))
        empty = self.tr("No messages")
        one, many = self.tr("1 message"), self.tr("%1 messages")
        chinese = ui_is_chinese()
        if len(stats.per_day) <= MAX_DAYS:
            self.per_day.set_bars(self.tr("Messages per day"), [
                Bar(d.day.strftime("%m-%d") if len(stats.per_day) > 1 else d.day.isoformat(), d.count,
                    f"{d.day.isoformat()}: {count_text(d.count, one, many)}")
                for d in stats.per_day], empty)
        else:  # a column per day would be thinner than a pixel: per month
            months: dict[str, int] = {}
            for d in stats.per_day:
                months[d.day.strftime("%Y-%m")] = months.get(d.day.strftime("%Y-%m"), 0) + d.count
            self.per_day.set_bars(self.tr("Messages per month"), [
                Bar(m, n, f"{m}: {count_text(n, one, many)}")
                for m, n in months.items()], empty)
        self._chart(self.per_type, self.tr("Per message type"), [
            Bar(label_of(t.msgtype, chinese), t.count, f"{label_of(t.msgtype, chinese)} ({t.msgtype}): {t.count}")
            for t in stats.per_type])
        self._chart(self.per_staff, self.tr("Sent per staff member"), [
            Bar(display_name(s.name) if s.name else display_name(s.userid), s.count,
                f"{name_and_id(s.name, s.userid)} · {display_name(s.organisation)}: {s.count}", s.userid)
            for s in stats.per_staff])
        unknown = self.tr("(corp not known)")
        self._chart(self.per_corp, self.tr("Sent by external contacts, per their corp"), [
            Bar(display_name(c.corp) if c.corp else unknown, c.count,
                fill(self.tr("%1: %2 sent by %3 contacts"), display_name(c.corp) if c.corp else unknown,
                     count_text(c.count, self.tr("1 message"), self.tr("%1 messages")), c.contacts))
            for c in stats.per_external_corp])
        self.model.set_rows(stats.senders)

    @staticmethod
    def _day_ms(day) -> int:
        return day_start_ms(QDate(day.year, day.month, day.day))

    def _chart(self, chart: BarChart, title: str, bars: list[Bar]) -> None:
        """The first TOP bars, and a footnote for the rest (one bar for them would dwarf the others)."""
        rest = bars[TOP:]
        note = fill(self.tr("and %1 more: %2"), len(rest), sum(b.value for b in rest)) if rest else ""
        chart.set_bars(title, bars[:TOP], self.tr("No messages"), footnote=note)

    def _row_activated(self, index) -> None:
        row = self.model.row_object(self.proxy.mapToSource(index).row())
        if row.kind == STAFF:
            self._person(row.userid)

    def _person(self, userid) -> None:
        corp_id = self.corp_box.corp_id()
        if corp_id is not None and isinstance(userid, str):
            self.navigator.person_requested.emit(corp_id, userid)


__all__ = ["SenderModel", "StatisticsPanel"]
