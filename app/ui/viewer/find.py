"""Find in this conversation: a bar under the viewer's header.

    bar = FindBar(viewer)           # the viewer makes one; hidden until asked for
    bar.open("合同 OR 发票")         # shows it with a query (a search result's, or the user's)
    bar.step(forward=True)          # the next hit after the current message (F3); Shift+F3 goes back

Hits are the search engine's (app.core.search, the query language of the search panel) restricted
to the open conversation with ``in:<session>``; the terms of the query are marked in every bubble
(``MessageDelegate.set_terms``). A query the user types here is a search they start, so its first
read is recorded (``search`` in the audit trail) as the search panel's is; moving between its hits
and counting them are page reads of the same search and are not. All reads run off the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from app.core.safe_text import display_text
from app.core.search.query import QueryError, parse_query, positive_texts
from app.ui.language import error_sentence
from app.ui.search.syntax import describe_error, mistake_text

from ..counts import count_text
from ..tasks import run_task


def query_terms(text: str) -> tuple[str, ...]:
    """The normalised texts a query's hits are marked with (none for a malformed query)."""
    try:
        return tuple(positive_texts(parse_query(text)))
    except QueryError:
        return ()


def in_session(session_id: str, text: str) -> str:
    """``text`` restricted to one conversation, in the query language."""
    quoted = '"' + session_id.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"in:{quoted} ({text})"


class FindBar(QWidget):
    """The query, previous/next buttons, what was found, and a close button."""

    #: a hit to show: (corp id, session id, message id)
    hit_found = Signal(object, str, object)  # ids are 64-bit snowflakes: Python ints
    #: the terms to mark in the bubbles changed (a tuple of normalised texts; () when closed)
    terms_changed = Signal(object)

    def __init__(self, viewer):
        super().__init__(viewer)
        self.viewer = viewer
        self._query = ""          # the query whose hits F3 walks through
        self._recorded = ""       # the last query recorded as a search the user started
        self._generation = 0      # of the hit being looked for
        self._count_generation = 0
        self._counted = ""        # "2 hits in this conversation"
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText(self.tr("Find in this conversation"))
        self.edit.setClearButtonEnabled(True)
        self.edit.setToolTip(self.tr("Words or a query as in the search panel; Enter: next hit, "
                                     "Shift+Enter: previous hit (F3 / Shift+F3 anywhere in the window)"))
        self.previous_button = QToolButton(self)
        self.previous_button.setText("▲")
        self.previous_button.setToolTip(self.tr("Previous hit (Shift+F3)"))
        self.next_button = QToolButton(self)
        self.next_button.setText("▼")
        self.next_button.setToolTip(self.tr("Next hit (F3)"))
        self.result_label = QLabel(self)
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setToolTip(self.tr("Close (Esc): no more marks"))
        for b in (self.previous_button, self.next_button, self.close_button):
            b.setAutoRaise(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 2, 6, 4)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.previous_button)
        layout.addWidget(self.next_button)
        layout.addWidget(self.result_label)
        layout.addWidget(self.close_button)
        self.edit.installEventFilter(self)
        self.previous_button.clicked.connect(lambda: self.step(False))
        self.next_button.clicked.connect(lambda: self.step(True))
        self.close_button.clicked.connect(self.close_bar)
        self.hide()

    @property
    def query(self) -> str:
        return self._query

    def eventFilter(self, obj, event) -> bool:
        """In the line edit: Enter the next hit, Shift+Enter the previous one, Esc closes the bar."""
        if obj is self.edit and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.step(not event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.close_bar()
                return True
        return super().eventFilter(obj, event)

    def open(self, query: str = "", *, focus: bool = True) -> None:
        """Show the bar; with ``query``, make it the one whose hits are marked and walked through
        (as a search result's query: already recorded by whoever ran it)."""
        if query:
            self.edit.setText(query)
            self._recorded = query  # it comes from a search already recorded
            self._use(query)
        self.show()
        if focus:
            self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.edit.selectAll()

    def close_bar(self) -> None:
        self._generation += 1
        self._count_generation += 1
        self._query = ""
        self._counted = ""
        self.result_label.clear()
        self.terms_changed.emit(())
        self.hide()
        self.viewer.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def session_changed(self) -> None:
        """Another conversation is shown: count its hits of the current query."""
        if self._query and self.isVisible():
            self._count()

    def _use(self, query: str) -> None:
        self._query = query
        self.terms_changed.emit(query_terms(query))
        self._count()

    def _count(self) -> None:
        v = self.viewer
        if v.corp_id is None or v.session_id is None or not self._query:
            return
        self._count_generation += 1
        generation, search, actor = self._count_generation, v.ctx.search, v.actor
        text, corp_id = in_session(v.session_id, self._query), v.corp_id

        def counted(n: int) -> None:
            if generation == self._count_generation:
                self._counted = count_text(n, self.tr("1 hit in this conversation"),
                                           self.tr("%1 hits in this conversation")) if n else \
                    self.tr("No hits in this conversation")
                self.result_label.setText(self._counted)

        run_task(self, lambda: search.query_count(actor, text, corp_id=corp_id), counted, self._failed)

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, QueryError):  # said of the typed text (the count ran it inside in:"…" ( ))
            try:
                parse_query(self._query)
                message = describe_error(exc)
            except QueryError as mistake:
                message = mistake_text(mistake)
        else:
            message = error_sentence(exc)
        self.result_label.setText(display_text(message, one_line=True))

    def step(self, forward: bool) -> None:
        """Show the next (or previous) hit after the current message, wrapping at the end."""
        v = self.viewer
        typed = self.edit.text().strip()
        if typed and typed != self._query:
            self._use(typed)
        if not self._query or v.corp_id is None or v.session_id is None:
            if not self.isVisible():
                self.open()
            return
        record = self._query != self._recorded  # the first read of a query the user typed here
        self._recorded = self._query
        self._generation += 1
        generation, search, actor = self._generation, v.ctx.search, v.actor
        corp_id, session_id = v.corp_id, v.session_id
        text = in_session(session_id, self._query)
        order = "oldest" if forward else "newest"
        current = v.current_message()
        cursor = (current.msgtime, current.id) if current is not None else None

        def read():
            hits = search.query(actor, text, limit=1, before=cursor, order=order, corp_id=corp_id, record=record)
            if hits or cursor is None:
                return hits, False
            return search.query(actor, text, limit=1, order=order, corp_id=corp_id), True

        def found(result) -> None:
            hits, wrapped = result
            if generation != self._generation:
                return
            if not hits:
                self.result_label.setText(self.tr("No hits in this conversation"))
                return
            note = (self.tr("from the first hit again") if forward else self.tr("from the last hit again")) \
                if wrapped else ""
            self.result_label.setText(" · ".join(p for p in (self._counted, note) if p))
            self.hit_found.emit(corp_id, session_id, hits[0].message.id)

        run_task(self, read, found, self._failed)


#: the window's keys for the bar (owned by the main window's actions, see MessageViewer's docstring)
FIND_KEY = QKeySequence("Ctrl+Shift+F")
NEXT_KEY = QKeySequence(Qt.Key.Key_F3)
PREVIOUS_KEY = QKeySequence(Qt.Modifier.SHIFT | Qt.Key.Key_F3)
