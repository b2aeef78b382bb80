"""The search panel: keyword, date range, sender, message type and session type; hits below."""

from __future__ import annotations

from PySide6.QtCore import QDate, QDateTime, QEvent, QModelIndex, QObject, QStringListModel, Qt, QTime, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.search import SearchQuery
from app.ui.search.model import (
    MSGTYPE_LABELS,
    SearchResultDelegate,
    SearchResultsModel,
    SearchRole,
    msgtype_label,
)
from app.ui.sessions.model import SESSION_TYPES, format_count, type_label
from app.ui.tasks import run_task


class QueryError(ValueError):
    """The form cannot make a query; the message is shown inline, translated."""


class SearchPanel(QWidget):
    """Search over the archive's messages (``ctx``: an AppContext, for .search, .directory, .archive).

    Searching runs off the GUI thread; a new search supersedes the one before (its late pages
    and count are ignored). Bad input shows an inline message, never an exception.
    """

    # corp_id, session_id, message_id. Ids are 64-bit snowflakes: a Signal(int) would cut them.
    result_activated = Signal("qlonglong", str, "qlonglong")
    search_started = Signal(int)  # the generation of the results model
    count_finished = Signal(int, int)  # generation, number of hits

    def __init__(self, ctx, actor: Actor | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._ctx = ctx
        self._actor = actor or Actor.local()
        self._count: int | None = None
        self._sender_choices: dict[str, str] | None = None  # completer text -> id

        self.keyword_edit = QLineEdit(self)
        self.keyword_edit.setPlaceholderText(self.tr("Search messages"))
        self.keyword_edit.setClearButtonEnabled(True)
        self.keyword_edit.setAccessibleName(self.tr("Keyword"))
        self.search_button = QPushButton(self.tr("Search"), self)
        self.search_button.setDefault(True)

        today = QDate.currentDate()
        self.from_check = QCheckBox(self.tr("From"), self)
        self.from_date = self._date_edit(today.addMonths(-1))
        self.to_check = QCheckBox(self.tr("To"), self)
        self.to_date = self._date_edit(today)
        self.sender_edit = QLineEdit(self)
        self.sender_edit.setPlaceholderText(self.tr("Anyone (name or id)"))
        self.sender_edit.setClearButtonEnabled(True)
        self.msgtype_combo = QComboBox(self)
        self.msgtype_combo.addItem(self.tr("Any type"), None)
        for msgtype in MSGTYPE_LABELS:
            self.msgtype_combo.addItem(msgtype_label(msgtype), msgtype)
        self.session_type_combo = QComboBox(self)
        self.session_type_combo.addItem(self.tr("Any session"), None)
        for stype in SESSION_TYPES:
            self.session_type_combo.addItem(type_label(stype), stype)
        for combo in (self.msgtype_combo, self.session_type_combo):
            # the longest label ("Document shared in call") must not set the panel's minimum width
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)
        self.corp_combo = QComboBox(self)
        self.corp_combo.addItem(self.tr("All corps"), None)
        for corp in ctx.archive.corps(self._actor):
            self.corp_combo.addItem(corp.name or corp.corpid, corp.id)
        self._corp_label = QLabel(self.tr("Corp"), self)
        several = self.corp_combo.count() > 2
        self.corp_combo.setVisible(several)
        self._corp_label.setVisible(several)

        self.message = QLabel(self)  # inline errors
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b3261e;")
        self.message.hide()
        self.status = QLabel(self)
        self.status.setTextFormat(Qt.TextFormat.PlainText)

        self.model = SearchResultsModel(ctx.search, ctx.directory, self._actor, self)
        self.delegate = SearchResultDelegate(self)
        self.results = QListView(self)
        self.results.setModel(self.model)
        self.results.setItemDelegate(self.delegate)
        self.results.setUniformItemSizes(True)
        self.results.setAlternatingRowColors(True)
        self.results.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self.results.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.results.setAccessibleName(self.tr("Search results"))
        self.results.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)

        self._build_layout()
        self._fill_sender_completer()

        self.keyword_edit.returnPressed.connect(self.search)
        self.sender_edit.returnPressed.connect(self.search)
        self.search_button.clicked.connect(self.search)
        self.from_check.toggled.connect(self.from_date.setEnabled)
        self.to_check.toggled.connect(self.to_date.setEnabled)
        self.results.clicked.connect(self._activate)
        self.results.installEventFilter(self)
        self.model.page_loaded.connect(self._on_page)
        self.model.search_failed.connect(self._on_failed)
        self.model.modelReset.connect(self.delegate.clear_cache)

    # ------------------------------------------------------------------ public

    def focus_search(self) -> None:
        """Put the cursor in the keyword box, its text selected (the main window's Ctrl+F)."""
        self.keyword_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.keyword_edit.selectAll()

    def search(self) -> bool:
        """Start a search with the form's values; False (with an inline message) if they are bad."""
        try:
            query = self.query()
        except QueryError as exc:
            # Never leave hits on screen that the form no longer describes.
            self.model.clear()
            self._count = None
            self.status.setText("")
            self._show_message(str(exc))
            return False
        self._show_message("")
        generation = self.model.start(query)
        self._count = None
        self.status.setText(self.tr("Searching…"))
        self.search_started.emit(generation)
        run_task(self, lambda: self._ctx.search.count(self._actor, query),
                 lambda n: self._on_count(generation, n),
                 lambda exc: self._on_failed(generation, str(exc) or type(exc).__name__))
        return True

    def query(self) -> SearchQuery:
        """The form as a query; raises QueryError with a translated message."""
        start_ms = end_ms = None
        if self.from_check.isChecked():
            start_ms = QDateTime(self.from_date.date(), QTime(0, 0)).toMSecsSinceEpoch()
        if self.to_check.isChecked():
            end_ms = QDateTime(self.to_date.date().addDays(1), QTime(0, 0)).toMSecsSinceEpoch()
        if start_ms is not None and end_ms is not None and self.to_date.date() < self.from_date.date():
            raise QueryError(self.tr("The end date is before the start date."))
        query = SearchQuery(keyword=self.keyword_edit.text().strip(), start_ms=start_ms, end_ms=end_ms,
                            sender=self._sender_id(), msgtype=self.msgtype_combo.currentData(),
                            session_type=self.session_type_combo.currentData(),
                            corp_id=self.corp_combo.currentData())
        if query.is_empty():
            raise QueryError(self.tr("Type a keyword, or choose a sender, date or type to search."))
        return query

    # ------------------------------------------------------------------ form

    def _date_edit(self, date: QDate) -> QDateEdit:
        edit = QDateEdit(date, self)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setEnabled(False)
        edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        return edit

    def _build_layout(self) -> None:
        top = QHBoxLayout()
        top.setSpacing(4)
        top.addWidget(self.keyword_edit, 1)
        top.addWidget(self.search_button)

        form = QGridLayout()
        form.setHorizontalSpacing(6)
        form.setVerticalSpacing(4)
        form.addWidget(self.from_check, 0, 0)
        form.addWidget(self.from_date, 0, 1)
        form.addWidget(self.to_check, 0, 2)
        form.addWidget(self.to_date, 0, 3)
        sender_label = QLabel(self.tr("Sender"), self)
        sender_label.setBuddy(self.sender_edit)
        form.addWidget(sender_label, 1, 0)
        form.addWidget(self.sender_edit, 1, 1, 1, 3)
        type_label_ = QLabel(self.tr("Type"), self)
        type_label_.setBuddy(self.msgtype_combo)
        form.addWidget(type_label_, 2, 0)
        form.addWidget(self.msgtype_combo, 2, 1)
        session_label = QLabel(self.tr("Session"), self)
        session_label.setBuddy(self.session_type_combo)
        form.addWidget(session_label, 2, 2)
        form.addWidget(self.session_type_combo, 2, 3)
        form.addWidget(self._corp_label, 3, 0)
        form.addWidget(self.corp_combo, 3, 1, 1, 3)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.status)
        layout.addWidget(self.results, 1)

    def _read_senders(self) -> dict[str, str]:
        """Known people as {"name (id)": id} (group rooms are in the directory too, but never send).
        Runs on a pool thread."""
        ctx, actor = self._ctx, self._actor
        choices: dict[str, str] = {}
        for corp in ctx.archive.corps(actor):
            rooms = ctx.archive.room_ids(actor, corp.id)
            for uid in sorted(ctx.directory.ids_matching(actor, corp.id, "") - rooms):
                name = ctx.directory.name(actor, corp.id, uid) or uid
                choices[uid if name == uid else f"{name} ({uid})"] = uid
        return choices

    def _fill_sender_completer(self) -> None:
        self._sender_model = QStringListModel(self)
        completer = QCompleter(self._sender_model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.sender_edit.setCompleter(completer)
        run_task(self, self._read_senders, self._set_senders)

    def _set_senders(self, choices: dict[str, str]) -> None:
        self._sender_choices = choices
        self._sender_model.setStringList(sorted(choices))

    def _sender_id(self) -> str | None:
        text = self.sender_edit.text().strip()
        if not text:
            return None
        if self._sender_choices is None:  # searched before the background read arrived
            self._set_senders(self._read_senders())
        if text in self._sender_choices:
            return self._sender_choices[text]
        if text in self._sender_choices.values():
            return text
        matches = {i for t, i in self._sender_choices.items() if text.casefold() in t.casefold()}
        exact = {i for t, i in self._sender_choices.items() if t.split(" (")[0] == text}
        if len(exact) == 1:
            return exact.pop()
        if len(matches) == 1:
            return matches.pop()
        if len(matches) > 1:
            raise QueryError(self.tr("“{text}” matches {n} people: choose one from the list.")
                             .format(text=text, n=format_count(len(matches))))
        return text  # an id the directory does not know (an external contact, say)

    # ------------------------------------------------------------------ results

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _on_page(self, generation: int, rows: int) -> None:
        if generation == self.model.generation:
            self._update_status()

    def _on_count(self, generation: int, n: int) -> None:
        if generation != self.model.generation:
            return  # a newer search has started
        self._count = n
        self._update_status()
        self.count_finished.emit(generation, n)

    def _on_failed(self, generation: int, reason: str) -> None:
        if generation == self.model.generation:
            self.status.setText("")
            self._show_message(self.tr("The search failed: {reason}").format(reason=reason))

    def _update_status(self) -> None:
        if self._count is None:
            self.status.setText(self.tr("Counting…") if self.model.rowCount() else self.tr("Searching…"))
        elif self._count == 0:
            self.status.setText(self.tr("No messages found."))
        elif self._count == 1:
            self.status.setText(self.tr("1 result"))
        else:
            self.status.setText(self.tr("{count} results").format(count=format_count(self._count)))

    def _activate(self, index: QModelIndex) -> None:
        if index.isValid():
            self.result_activated.emit(index.data(SearchRole.CorpIdRole), index.data(SearchRole.SessionIdRole),
                                       index.data(SearchRole.MessageIdRole))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.results and event.type() == QEvent.Type.KeyPress \
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._activate(self.results.currentIndex())
            return True
        return super().eventFilter(watched, event)
