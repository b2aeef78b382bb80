"""The search panel: a query box speaking the query language, filters that write the same fields
(date range, sender, message type, session type), syntax help, history, and the hits below."""

from __future__ import annotations

from PySide6.QtCore import (
    QDate,
    QDateTime,
    QEvent,
    QModelIndex,
    QObject,
    QStringListModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFontDatabase, QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.search import QueryError
from app.ui.search.history import SearchHistory
from app.ui.search.model import (
    MSGTYPE_LABELS,
    SearchRequest,
    SearchResultDelegate,
    SearchResultsModel,
    SearchRole,
    msgtype_label,
)
from app.ui.search.syntax import (
    align_columns,
    compose_query,
    error_pointer,
    mistake_text,
    syntax_help,
)
from app.ui.sessions.model import SESSION_TYPES, format_count, plain_tooltip, type_label
from app.ui.tasks import run_task

RERUN_DELAY_MS = 300  # filters changed after a search: the search runs again this long after the last change


def archive_dates(archive, actor, corp_id: int | None = None, session_ids=()) -> tuple[QDate, QDate] | None:
    """The local dates of the first and the last message the actor may read (of ``session_ids`` when
    given), or None for an empty archive. Two indexed reads; run it off the GUI thread."""
    firsts, lasts = [], []
    for sid in session_ids or (None,):
        kw = {"corp_id": corp_id, "session_id": sid} if sid is not None else {"corp_id": corp_id}
        first = archive.messages(actor, limit=1, **kw)
        last = archive.messages(actor, limit=1, newest_first=True, **kw)
        if first and last:
            firsts.append(first[0].msgtime)
            lasts.append(last[0].msgtime)
    if not firsts:
        return None
    return (QDateTime.fromMSecsSinceEpoch(min(firsts)).date(), QDateTime.fromMSecsSinceEpoch(max(lasts)).date())


class FormError(ValueError):
    """The filters cannot make a query (an ambiguous sender, dates the wrong way round); the
    message is shown inline, translated."""


def _fixed_font():
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


class SyntaxHelpDialog(QDialog):
    """The query language's syntax, as plain text in a fixed-width font (copyable; never rich text)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Search syntax"))
        intro = QLabel(self.tr("Type a query in the search box. The filters below it add the same fields "
                               "to the query."), self)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setWordWrap(True)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setFont(_fixed_font())
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        fm = QFontMetrics(self.text.font())
        self.text.setPlainText(align_columns(syntax_help(), fm))
        self.text.setAccessibleName(self.tr("Search syntax"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        # Big enough to need no scrolling: measured by the text's own layout, since lines with
        # Chinese take the taller line height of the CJK fallback font.
        doc = self.text.document()
        layout_ = doc.documentLayout()
        blocks = [doc.findBlockByNumber(i) for i in range(doc.blockCount())]
        text_w = max(fm.horizontalAdvance(b.text()) for b in blocks)
        text_h = sum(layout_.blockBoundingRect(b).height() for b in blocks)
        margins = 2 * (self.text.frameWidth() + int(doc.documentMargin())) + 2 * fm.lineSpacing()  # slack
        self.text.setMinimumSize(min(text_w + margins, 1000), min(int(text_h) + margins, 700))


class SearchPanel(QWidget):
    """Search over the archive's messages (``ctx``: an AppContext, for .search, .directory,
    .archive and .paths).

    The box holds a query in the language of app.core.search.query; the filter widgets add
    fields to it (:meth:`effective_query`), so there is one engine and one language. Searching
    runs off the GUI thread; a new search supersedes the one before (its late pages and count
    are ignored). A malformed query or bad filters show an inline message, never an exception.
    """

    # corp_id, session_id, message_id. Ids are 64-bit snowflakes: a Signal(int) would cut them.
    result_activated = Signal("qlonglong", str, "qlonglong")
    search_started = Signal(int)  # the generation of the results model
    count_finished = Signal(int, int)  # generation, number of hits

    def __init__(self, ctx, actor: Actor, parent: QWidget | None = None):
        super().__init__(parent)
        self._ctx = ctx
        self._actor = actor
        self._count: int | None = None
        self._sender_choices: dict[str, str] | None = None  # completer text -> id
        self._help: SyntaxHelpDialog | None = None
        self.history = SearchHistory.in_config_dir(ctx.paths.config_dir)

        self.query_edit = QLineEdit(self)
        self.query_edit.setPlaceholderText(self.tr("Search, e.g. 合同 OR 发票 -取消"))
        self.query_edit.setClearButtonEnabled(True)
        self.query_edit.setAccessibleName(self.tr("Query"))
        self.query_edit.setToolTip(self.tr("Words, \"phrases\", OR, -exclude, from:, type:, date: …\n"
                                           "F1 or ? for the syntax; ↓ for recent searches."))
        self.help_button = QToolButton(self)
        self.help_button.setText("?")
        self.help_button.setToolTip(self.tr("Search syntax"))
        self.help_button.setAccessibleName(self.tr("Search syntax"))
        self.search_button = QPushButton(self.tr("Search"), self)
        self.search_button.setDefault(True)

        self._history_model = QStringListModel(self.history.queries, self)
        self.history_completer = QCompleter(self._history_model, self)
        self.history_completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.history_completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.history_completer.setMaxVisibleItems(10)
        self.query_edit.setCompleter(self.history_completer)

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
        self.order_combo = QComboBox(self)
        self.order_combo.addItem(self.tr("Newest first"), "newest")
        self.order_combo.addItem(self.tr("Oldest first"), "oldest")
        self.order_combo.addItem(self.tr("By session"), "session")
        self.order_combo.setAccessibleName(self.tr("Order of results"))
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

        # The query the filters make, live: how a user learns that the widgets are fields too.
        self.effective_edit = QLineEdit(self)
        self.effective_edit.setReadOnly(True)
        self.effective_edit.setFrame(False)
        self.effective_edit.setFont(_fixed_font())
        self.effective_edit.setAccessibleName(self.tr("Query with filters"))
        self.effective_edit.setPlaceholderText(self.tr("(empty)"))
        self.effective_edit.setStyleSheet("QLineEdit { background: transparent; }")

        self.message = QLabel(self)  # inline errors
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b3261e;")
        self.message.hide()
        self.error_pointer = QLabel(self)  # the query with a caret under a mistake
        self.error_pointer.setTextFormat(Qt.TextFormat.PlainText)
        self.error_pointer.setFont(_fixed_font())
        self.error_pointer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_pointer.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.error_pointer.hide()
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
        self._update_effective()
        self._read_date_range()

        # A filter changed after a search: the list shows what the form now says, not what it said.
        self._rerun = QTimer(self, singleShot=True, interval=RERUN_DELAY_MS)
        self._rerun.timeout.connect(self._filters_changed)
        for signal in (self.from_check.toggled, self.to_check.toggled, self.from_date.dateChanged,
                       self.to_date.dateChanged, self.msgtype_combo.currentIndexChanged,
                       self.session_type_combo.currentIndexChanged, self.corp_combo.currentIndexChanged):
            signal.connect(self._rerun.start)
        self.sender_edit.editingFinished.connect(self._rerun.start)

        self.query_edit.returnPressed.connect(self._return_pressed)
        self.history_completer.activated[str].connect(self._history_chosen)
        self.query_edit.installEventFilter(self)
        self.sender_edit.returnPressed.connect(self.search)
        self.search_button.clicked.connect(self.search)
        self.help_button.clicked.connect(self.show_syntax_help)
        QShortcut(QKeySequence(Qt.Key.Key_F1), self.query_edit, self.show_syntax_help,
                  context=Qt.ShortcutContext.WidgetShortcut)
        self.from_check.toggled.connect(self.from_date.setEnabled)
        self.to_check.toggled.connect(self.to_date.setEnabled)
        for signal in (self.query_edit.textChanged, self.sender_edit.textChanged, self.from_check.toggled,
                       self.to_check.toggled, self.from_date.dateChanged, self.to_date.dateChanged,
                       self.msgtype_combo.currentIndexChanged, self.session_type_combo.currentIndexChanged):
            signal.connect(self._update_effective)
        self.order_combo.currentIndexChanged.connect(self._order_changed)
        self.results.clicked.connect(self._activate)
        self.results.installEventFilter(self)
        self.model.page_loaded.connect(self._on_page)
        self.model.search_failed.connect(self._on_failed)
        self.model.modelReset.connect(self.delegate.clear_cache)

    # ------------------------------------------------------------------ public

    def focus_search(self) -> None:
        """Put the cursor in the query box, its text selected (the main window's Ctrl+F)."""
        self.query_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.query_edit.selectAll()

    def search(self) -> bool:
        """Start a search with the box and the filters; False (with an inline message, and no
        hits left on screen) if the query is malformed or the filters are bad.

        A person starts it (Enter, the Search button, a recent search, another order), so it is
        recorded once in the audit trail with its query, by its first page; the further pages and
        the count are not."""
        try:
            request = self.request()
        except FormError as exc:
            self._fail(str(exc))
            return False
        except QueryError as exc:
            self._show_query_error(exc)
            return False
        self._show_message("")
        self.history.add(self.query_edit.text())
        self._history_model.setStringList(self.history.queries)
        self.effective_edit.setText(request.text)
        generation = self.model.start(request, record=True)
        self._count = None
        self.status.setText(self.tr("Searching…"))
        self.search_started.emit(generation)
        run_task(self, lambda: self._ctx.search.query_count(self._actor, request.text, corp_id=request.corp_id),
                 lambda n: self._on_count(generation, n),
                 lambda exc: self._on_failed(generation, exc))
        return True

    def request(self) -> SearchRequest:
        """The box and the filters as one query; raises FormError (translated) for bad filters and
        app.core.search.QueryError (its position in :attr:`QueryError.query`) for a bad query."""
        box = self.query_edit.text()
        self._ctx.search.parse(box)  # on its own first: its mistakes are said where the user typed them
        text = self.effective_query(strict=True)
        if not text:
            raise FormError(self.tr("Type a query, or choose a sender, date or type to search."))
        self._ctx.search.parse(text)
        return SearchRequest(text, self.corp_combo.currentData(), self.order_combo.currentData())

    def effective_query(self, strict: bool = False) -> str:
        """The query text the panel runs: ``(<box>) from:ID type:T session:S date:A..B``.

        With ``strict``, raises FormError for dates the wrong way round or a sender name that
        fits several people; without it (the live preview), such filters are left as typed."""
        start = self.from_date.date().toString("yyyy-MM-dd") if self.from_check.isChecked() else None
        end = self.to_date.date().toString("yyyy-MM-dd") if self.to_check.isChecked() else None
        if strict and start and end and self.to_date.date() < self.from_date.date():
            raise FormError(self.tr("The end date is before the start date."))
        return compose_query(self.query_edit.text(), sender=self._sender_id(strict),
                             msgtype=self.msgtype_combo.currentData(),
                             session_type=self.session_type_combo.currentData(), start=start, end=end)

    def show_syntax_help(self) -> SyntaxHelpDialog:
        """Show the syntax help beside the panel (not modal: the user may keep it open while typing)."""
        if self._help is None:
            self._help = SyntaxHelpDialog(self)
        self._help.show()
        self._help.raise_()
        self._help.activateWindow()
        return self._help

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
        top.addWidget(self.query_edit, 1)
        top.addWidget(self.help_button)
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
        effective_label = QLabel(self.tr("Query"), self)
        effective_label.setBuddy(self.effective_edit)
        form.addWidget(effective_label, 4, 0)
        form.addWidget(self.effective_edit, 4, 1, 1, 3)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)

        status_row = QHBoxLayout()
        status_row.setSpacing(6)
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.order_combo)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.error_pointer)
        layout.addLayout(status_row)
        layout.addWidget(self.results, 1)

    def _update_effective(self) -> None:
        text = self.effective_query(strict=False)
        self.effective_edit.setText(text)
        self.effective_edit.setCursorPosition(0)
        self.effective_edit.setToolTip(plain_tooltip(text) if text else "")

    def _order_changed(self) -> None:
        if self.model.request is not None:
            self.search()

    def _filters_changed(self) -> None:
        """Run the shown search again with the filters as they are now (nothing was searched yet: wait
        for Enter)."""
        if self.model.request is None:
            return
        try:
            text = self.request().text
        except (FormError, QueryError):
            text = None
        if text != self.model.request.text or self.corp_combo.currentData() != self.model.request.corp_id:
            self.search()  # shows the form's mistake, and clears the old hits, when it has one

    def _read_date_range(self) -> None:
        """The date filters start at the archive's first and last day (last month may hold nothing:
        ticking "From" then found nothing), unless the user set them meanwhile."""
        defaults = (self.from_date.date(), self.to_date.date())
        archive, actor = self._ctx.archive, self._actor

        def apply(span) -> None:
            if span is None or (self.from_date.date(), self.to_date.date()) != defaults:
                return
            for edit in (self.from_date, self.to_date):
                edit.blockSignals(True)
            self.from_date.setDate(span[0])
            self.to_date.setDate(span[1])
            for edit in (self.from_date, self.to_date):
                edit.blockSignals(False)
            self._update_effective()

        run_task(self, lambda: archive_dates(archive, actor), apply, lambda exc: None)

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
        self._update_effective()

    def _sender_id(self, strict: bool = True) -> str | None:
        """The sender filter as an id. Not ``strict`` (the live preview): never waits for the
        directory and never raises; an ambiguous name stays as typed."""
        text = self.sender_edit.text().strip()
        if not text:
            return None
        if self._sender_choices is None:  # before the background read arrived
            if not strict:
                return text
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
        if len(matches) > 1 and strict:
            raise FormError(self.tr("“{text}” matches {n} people: choose one from the list.")
                            .format(text=text, n=format_count(len(matches))))
        return text  # an id the directory does not know (an external contact, say)

    # ------------------------------------------------------------------ results

    def _show_message(self, text: str, pointer: str = "") -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.error_pointer.setText(pointer)
        self.error_pointer.setVisible(bool(pointer))

    def _fail(self, text: str, pointer: str = "") -> None:
        # Never leave hits on screen that the form no longer describes.
        self.model.clear()
        self._count = None
        self.status.setText("")
        self._show_message(text, pointer)

    def _show_query_error(self, exc: QueryError) -> None:
        """The mistake said in words and pointed at, under the box."""
        query = exc.query
        pointer = error_pointer(query, exc.position, QFontMetrics(self.error_pointer.font()))
        self._fail(mistake_text(exc), pointer.text())
        if query == self.query_edit.text():  # the mistake is in the box: put the cursor on it
            self.query_edit.setCursorPosition(exc.position)

    def _on_page(self, generation: int, rows: int) -> None:
        if generation == self.model.generation:
            self._update_status()

    def _on_count(self, generation: int, n: int) -> None:
        if generation != self.model.generation:
            return  # a newer search has started
        self._count = n
        self._update_status()
        self.count_finished.emit(generation, n)

    def _on_failed(self, generation: int, exc: Exception) -> None:
        if generation != self.model.generation:
            return
        if isinstance(exc, QueryError):
            self._show_query_error(exc)
        else:
            self.status.setText("")
            self._show_message(self.tr("The search failed: {reason}").format(reason=str(exc) or type(exc).__name__))

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

    def _return_pressed(self) -> None:
        popup = self.history_completer.popup()
        if popup.isVisible() and popup.currentIndex().isValid():
            return  # Enter on a recent search: the completer chooses it and _history_chosen searches
        self.search()

    def _history_chosen(self, text: str) -> None:
        self.query_edit.setText(text)
        self.search()

    def _show_history(self) -> None:
        """All recent searches under the box (Down in the box when the list is closed)."""
        if not self.history.queries:
            return
        self.history_completer.setCompletionPrefix("")
        self.history_completer.complete()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress:
            if watched is self.results and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._activate(self.results.currentIndex())
                return True
            if watched is self.query_edit and event.key() == Qt.Key.Key_Down \
                    and not self.history_completer.popup().isVisible():
                QTimer.singleShot(0, self._show_history)
                return True
        return super().eventFilter(watched, event)
