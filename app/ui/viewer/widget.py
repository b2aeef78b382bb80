"""The message viewer: the centre of the main window.

    viewer = MessageViewer(ctx, actor)
    viewer.show_session(corp_id, session_id, title)      # opens at the newest message
    viewer.show_message(corp_id, session_id, message_id) # a search result, centred and highlighted
    viewer.jump_to_date(QDate(2025, 1, 2))               # first message of that day, or the next one

Opening another session (``show_session``, or ``show_message`` in another session) is what a person
does, so it is recorded: the first read calls ``ArchiveService.open_session`` (``session.open`` in
the audit trail), off the GUI thread with that read. Scrolling, "Newest", jumping to a date or to
another message of the same session read pages only and are not recorded. If the core refuses the
session (outside the account's scope), a notice takes the place of the messages.

Scrolling to the top loads older pages (``MessageListModel.fetch_older``); reaching the bottom of a
window that does not end at the newest message loads newer ones (Qt's ``fetchMore``). Whenever the
window changes, the row at the top of the screen is kept where it was. After opening, the view is
"pinned" to the bottom or to the target until the user scrolls, so thumbnails that arrive later
and change row heights do not move what was asked for.

Keyboard: the main window owns the Ctrl+C ("Copy selected messages") and Ctrl+G ("Jump to date")
actions and calls ``copy_selection`` / ``ask_jump_to_date``; the viewer adds no shortcut of its own
(a second one on the same keys would make Qt's shortcuts ambiguous) but handles Ctrl+C in its list
when it has the focus and no window action took the key.
"""

from __future__ import annotations

from PySide6.QtCore import QDate, QDateTime, QEvent, QModelIndex, QPoint, Qt, QTime, QTimer, Signal
from PySide6.QtGui import QCursor, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCalendarWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QSizePolicy,
    QStackedWidget,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.safe_text import display_name, display_text
from app.ui.language import as_sentence

from ..counts import count_text
from ..tasks import run_task
from .delegate import MessageDelegate
from .details import MessageDetailsDialog
from .find import FindBar
from .media_view import ImageViewDialog, MediaActions, ThumbnailCache
from .model import MessageListModel, Roles, weak_callback
from .render import day_label, zone_label


class MessageListView(QListView):
    """The list of bubbles: per-pixel scrolling, Ctrl+C, a hand cursor over links."""

    copy_requested = Signal()
    details_requested = Signal()  # Enter on the current message

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Always on: a scroll bar that comes and goes changes the width, hence every row's height.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setUniformItemSizes(False)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMouseTracking(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.verticalScrollBar().setSingleStep(24)

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_requested.emit()
            event.accept()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.details_requested.emit()  # what a double-click opens, for the keyboard
            event.accept()
            return
        super().keyPressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        super().mouseMoveEvent(event)
        index = self.indexAt(event.position().toPoint())
        delegate = self.itemDelegate()
        hit = None
        if index.isValid() and isinstance(delegate, MessageDelegate):
            option = QStyleOptionViewItem()
            self.initViewItemOption(option)
            option.rect = self.visualRect(index)
            hit = delegate.hotspot_at(option, index, event.position().toPoint())
        if hit is not None:
            self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            self.viewport().unsetCursor()


class _DatePopup(QFrame):
    """A calendar that pops up under the "Jump to date" button."""

    def __init__(self, parent, on_date):
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.calendar = QCalendarWidget(self)
        self.calendar.setGridVisible(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.calendar)
        self.calendar.activated.connect(lambda d: self._pick(d, on_date))  # Enter, or a double-click
        self.calendar.clicked.connect(lambda d: self._pick(d, on_date))
        self.setFocusProxy(self.calendar)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        # Arrow keys move the day, Page Up/Down the month, Enter jumps, Esc closes: the calendar
        # needs the focus for any of it (it stayed where it was, so Ctrl+G wanted the mouse).
        self.calendar.setFocus(Qt.FocusReason.PopupFocusReason)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)

    def _pick(self, date: QDate, on_date) -> None:
        self.close()
        on_date(date)


class MessageViewer(QWidget):
    """Header (title, counts, actions) over the list of messages of one session."""

    #: a message id, on double-click (declared qint64: ids are 64-bit snowflakes, beyond Qt's int)
    message_activated = Signal("qint64")
    #: the target of show_message / jump_to_date is selected and scrolled into view
    message_shown = Signal("qint64")
    export_requested = Signal()  # "Export selected messages…" from the context menu

    def __init__(self, ctx, actor: Actor, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.actor = actor
        self.corp_id: int | None = None
        self.session_id: str | None = None
        self.session = None          # SessionRow once known
        self._title_given = ""
        self._pin: tuple[str, int] | None = None   # ("bottom", -1) | ("center", id) | ("top", id)
        self._anchor: tuple[int, int] | None = None
        self._session_generation = 0
        self._pending_highlight: int | None = None
        self._popup: QWidget | None = None
        self._denied = False  # the core refused the current session: the notice is shown
        # callables (menu, message id) that add to a message's context menu (the review's actions)
        self.menu_extensions: list = []

        self.thumbnails = ThumbnailCache(ctx.media, actor, self)
        self.model = MessageListModel(ctx.archive, ctx.directory, actor, self)
        self.view = MessageListView(self)
        self.delegate = MessageDelegate(self.thumbnails, self.view)
        self.view.setItemDelegate(self.delegate)
        self.view.setModel(self.model)
        self.media_actions = MediaActions(ctx, actor, self)

        self.title_label = QLabel(self)
        self.title_label.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15 if font.pointSizeF() > 0 else 11)
        self.title_label.setFont(font)
        self.title_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.info_label = QLabel(self)
        self.info_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label = QLabel(self)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.jump_button = QToolButton(self)
        self.jump_button.setText(self.tr("Jump to date…"))
        self.jump_button.setToolTip(self.tr("Show the first message of a day (Ctrl+G)"))
        self.jump_button.clicked.connect(self.ask_jump_to_date)
        self.latest_button = QToolButton(self)
        self.latest_button.setText(self.tr("Newest"))
        self.latest_button.setToolTip(self.tr("Go to the newest message"))
        self.latest_button.clicked.connect(self.show_latest)
        self.oldest_button = QToolButton(self)
        self.oldest_button.setText(self.tr("Oldest"))
        self.oldest_button.setToolTip(self.tr("Go to the first message of the conversation"))
        self.oldest_button.clicked.connect(self.show_oldest)
        self.details_button = QToolButton(self)
        self.details_button.setText(self.tr("Details…"))
        self.details_button.setToolTip(self.tr("Fields, raw JSON and SHA-256 of the selected message"))
        self.details_button.clicked.connect(self.show_details_of_current)
        for b in (self.jump_button, self.oldest_button, self.latest_button, self.details_button):
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setAutoRaise(True)

        header = QWidget(self)
        hl = QHBoxLayout(header)
        hl.setContentsMargins(10, 6, 6, 6)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.title_label)
        info_row = QHBoxLayout()
        info_row.addWidget(self.info_label)
        info_row.addWidget(self.status_label)
        info_row.addStretch(1)
        titles.addLayout(info_row)
        hl.addLayout(titles, 1)
        hl.addWidget(self.jump_button)
        hl.addWidget(self.oldest_button)
        hl.addWidget(self.latest_button)
        hl.addWidget(self.details_button)
        self.header = header

        self.placeholder = QLabel(self)
        self.placeholder.setTextFormat(Qt.TextFormat.PlainText)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setText(self.tr("Choose a session to read its messages."))
        self.denied_notice = QLabel(self)  # the core's refusal, in place of the messages
        self.denied_notice.setTextFormat(Qt.TextFormat.PlainText)
        self.denied_notice.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.denied_notice.setWordWrap(True)
        self.denied_notice.setMargin(24)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.denied_notice)

        rule = QFrame(self)
        rule.setFrameShape(QFrame.Shape.HLine)
        rule.setFrameShadow(QFrame.Shadow.Sunken)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        self.find_bar = FindBar(self)  # "find in this conversation", hidden until asked for
        layout.addWidget(self.find_bar)
        layout.addWidget(rule)
        layout.addWidget(self.stack, 1)

        self.model.window_opened.connect(self._window_opened)
        self.model.window_about_to_change.connect(self._capture_anchor)
        self.model.window_changed.connect(self._restore_anchor)
        self.model.loading_changed.connect(self._loading_changed)
        self.model.load_failed.connect(self._load_failed)
        self.model.session_opened.connect(self._session_opened)
        self.model.access_denied.connect(self._access_denied)
        self.model.media_updated.connect(self._media_updated)
        # Pages prefetched beyond the window's ends are laid out ahead, a few rows per turn of the
        # event loop, so that showing one when the user gets there costs milliseconds.
        self._warming = QTimer(self)
        self._warming.setInterval(0)
        self._warming.timeout.connect(self._warm_staged)
        self.model.page_staged.connect(lambda _direction: self._warming.start())
        self.delegate.action_requested.connect(self._on_action)
        self.find_bar.terms_changed.connect(self._mark_terms)
        self.find_bar.hit_found.connect(self.show_message)
        self.view.copy_requested.connect(self.copy_selection)
        self.view.details_requested.connect(self.show_details_of_current)
        self.view.doubleClicked.connect(self._activated)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.selectionModel().selectionChanged.connect(self._update_actions)
        bar = self.view.verticalScrollBar()
        bar.valueChanged.connect(self._scrolled)
        bar.rangeChanged.connect(lambda *_: self._apply_pin())
        bar.actionTriggered.connect(lambda _a: self._unpin())
        self.view.viewport().installEventFilter(self)
        self.view.installEventFilter(self)
        # The day (and time zone) of the messages at the top, kept in sight while scrolling: the
        # separator that names a day scrolls away with its first message.
        self.sticky_day = QLabel(self.view.viewport())
        self.sticky_day.setTextFormat(Qt.TextFormat.PlainText)
        self.sticky_day.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.sticky_day.setStyleSheet("QLabel { background: palette(window); border: 1px solid palette(mid); "
                                      "border-radius: 9px; padding: 1px 10px; }")
        self.sticky_day.hide()
        bar.valueChanged.connect(lambda _v: self._update_sticky_day())
        self.model.window_changed.connect(self._update_sticky_day)
        self.model.window_opened.connect(lambda _t: QTimer.singleShot(0, self._update_sticky_day))
        self._update_header()
        self._update_actions()

    # ------------------------------------------------------------------ public API
    def show_session(self, corp_id: int, session_id: str, title: str = "", session=None) -> None:
        """Open a session at its newest messages (scrolled to the bottom).

        ``session``: its SessionRow when the caller has it (saves looking it up for the header).
        """
        opening = self._start(corp_id, session_id, title, session)
        self.model.open_latest(corp_id, session_id, record_open=opening)

    def show_message(self, corp_id: int, session_id: str, message_id: int) -> None:
        """Open a session with one message centred, highlighted and selected."""
        opening = False
        if (corp_id, session_id) != (self.corp_id, self.session_id) or self._denied:
            opening = self._start(corp_id, session_id, "", None)
        row = self.model.row_of(message_id)
        if row >= 0 and not opening:  # already in the window: no reload
            self._focus_target(message_id, "center", highlight=True)
            return
        self._pending_highlight = message_id
        self.model.open_at_message(corp_id, session_id, message_id, record_open=opening)

    def show_search_hit(self, corp_id: int, session_id: str, message_id: int, query: str) -> None:
        """A search result: its message as ``show_message`` shows it, the query's terms marked in
        the bubbles and the find bar open on the query, so F3 / Shift+F3 go to its next hits here."""
        self.find_bar.open(query, focus=False)
        self.show_message(corp_id, session_id, message_id)

    def find_in_conversation(self) -> None:
        """Open the find bar (Ctrl+Shift+F) with the focus in its query."""
        if self.corp_id is not None and not self._denied:
            self.find_bar.open()

    def next_hit(self) -> None:
        """The next hit of the find bar's query after the current message (F3)."""
        if self.corp_id is not None and not self._denied:
            self.find_bar.step(True)

    def previous_hit(self) -> None:
        """The previous hit of the find bar's query before the current message (Shift+F3)."""
        if self.corp_id is not None and not self._denied:
            self.find_bar.step(False)

    def current_message(self):
        """The MessageRow of the current (else the first selected) message, or None."""
        mid = self.current_message_id()
        row = self.model.row_of(mid) if mid is not None else -1
        return self.model.message_at(row) if row >= 0 else None

    def _mark_terms(self, terms) -> None:
        self.delegate.set_terms(terms)
        self.view.viewport().update()

    def jump_to_date(self, date: QDate) -> None:
        """Show the first message of ``date`` (local time), or the first one after it, at the top;
        the newest message when nothing is that late."""
        if self.corp_id is None or self.session_id is None or self._denied or not date.isValid():
            return
        start = QDateTime(date, QTime(0, 0)).toMSecsSinceEpoch()
        self._pending_highlight = None
        self.model.open_at_time(self.corp_id, self.session_id, start)

    def ask_jump_to_date(self) -> None:
        """Pop up a calendar under the "Jump to date" button."""
        if self.corp_id is None or self._denied:
            return
        popup = _DatePopup(self, self.jump_to_date)
        if self.session is not None:
            popup.calendar.setDateRange(QDateTime.fromMSecsSinceEpoch(self.session.first_msgtime).date(),
                                        QDateTime.fromMSecsSinceEpoch(self.session.last_msgtime).date())
        top = self._top_message()
        if top is not None:
            popup.calendar.setSelectedDate(QDateTime.fromMSecsSinceEpoch(top.msgtime).date())
        popup.move(self.jump_button.mapToGlobal(QPoint(0, self.jump_button.height())))
        popup.show()
        self._popup = popup

    def show_latest(self) -> None:
        if self.corp_id is None or self._denied:
            return
        if self.model.has_more_after:
            self.model.open_latest(self.corp_id, self.session_id)
        else:
            self._pin = ("bottom", -1)
            self._apply_pin()

    def show_oldest(self) -> None:
        """The conversation's first message at the top."""
        if self.corp_id is None or self._denied:
            return
        if self.model.has_more_before or not self.model.rowCount():
            self.model.open_at_time(self.corp_id, self.session_id, 0)  # its first message, at the top
        else:
            self._pin = ("top", int(self.model.index(0).data(Roles.MessageIdRole)))
            self._apply_pin()
        self._pending_highlight = None

    def copy_selection(self) -> str:
        """Copy the selected messages as "2025-01-02 10:00 张伟: 你好" lines; returns the text."""
        rows = sorted({ix.row() for ix in self.view.selectionModel().selectedIndexes()})
        if not rows and self.view.currentIndex().isValid():
            rows = [self.view.currentIndex().row()]
        if not rows:
            return ""
        text = "\n".join(self.model.line_of(self.model.message_at(r), "yyyy-MM-dd HH:mm") for r in rows)
        QGuiApplication.clipboard().setText(text)
        return text

    def refresh(self) -> None:
        """The archive changed (a sync or a media job ended): show media that arrived and newer
        messages, keeping what the user looks at in place. Reads are not recorded."""
        if self.corp_id is not None and not self._denied:
            self.model.refresh()

    def _media_updated(self, message_ids: list) -> None:
        for mid in message_ids:
            self.delegate.invalidate(mid)
            row = self.model.row_of(mid)
            if row >= 0:
                self.delegate.sizeHintChanged.emit(self.model.index(row))

    def clear(self) -> None:
        self._session_generation += 1
        self.corp_id = self.session_id = None
        self.session = None
        self._denied = False
        self._title_given = ""
        self._pin = None
        self.model.clear()
        self.delegate.invalidate()
        self.thumbnails.clear()
        self.stack.setCurrentWidget(self.placeholder)
        self._update_header()
        self._update_actions()

    def current_message_id(self) -> int | None:
        ix = self.view.currentIndex()
        if not ix.isValid():
            rows = self.view.selectionModel().selectedRows()
            ix = rows[0] if rows else QModelIndex()
        return int(ix.data(Roles.MessageIdRole)) if ix.isValid() else None

    def open_details(self, message_id: int) -> MessageDetailsDialog:
        dialog = MessageDetailsDialog(self.ctx, self.actor, message_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_details_of_current(self) -> None:
        mid = self.current_message_id()
        if mid is not None:
            self.open_details(mid)

    # ------------------------------------------------------------------ opening
    def _start(self, corp_id: int, session_id: str, title: str, session) -> bool:
        """Make this session the current one; True if a person opens it now (another session than
        the one shown, or one refused before: that is asked again), so its first read is recorded."""
        same = (corp_id, session_id) == (self.corp_id, self.session_id)
        opening = not same or self._denied
        self._denied = False
        self.corp_id, self.session_id = corp_id, session_id
        self._title_given = title or (self._title_given if same else "")
        if not same:
            self.session = session
            self._session_generation += 1
            self.delegate.invalidate()
            self.find_bar.session_changed()
        elif session is not None:
            self.session = session
        self._pending_highlight = None
        self._pin = None
        self.stack.setCurrentWidget(self.view)
        self._update_header()
        return opening

    def _session_opened(self, session) -> None:
        if session is not None:  # open_session read the row the header needs: no second lookup
            self.session = session
            self._update_header()

    def _access_denied(self, reason: str) -> None:
        """The core refused the session: say so where the messages would be (never its content)."""
        self._denied = True
        self._pin = None
        self._pending_highlight = None
        self.denied_notice.setText(self.tr("This conversation cannot be shown to your account.\n{reason}")
                                   .format(reason=as_sentence(reason)))
        self.stack.setCurrentWidget(self.denied_notice)
        self._update_header()
        self._update_actions()

    def _window_opened(self, target_id: int) -> None:
        self.delegate.invalidate()
        self.view.clearSelection()
        if self.session is None:
            self._lookup_session()
        self._update_header()
        self.view.doItemsLayout()
        if target_id < 0:
            self._pin = ("bottom", -1)
            self._apply_pin()
        else:
            highlight = self._pending_highlight == target_id
            self._focus_target(target_id, "center" if highlight else "top", highlight)
        self._pending_highlight = None
        self._update_actions()
        QTimer.singleShot(0, self._maybe_fetch_older)
        QTimer.singleShot(0, self._prefetch)

    def _focus_target(self, message_id: int, where: str, highlight: bool) -> None:
        if highlight:
            self.model.set_highlight(message_id)
        row = self.model.row_of(message_id)
        if row >= 0:
            ix = self.model.index(row)
            self.view.setCurrentIndex(ix)
        self._pin = (where, message_id)
        self._apply_pin()
        if row >= 0:
            self.message_shown.emit(message_id)

    # ------------------------------------------------------------------ keeping the view in place
    def _apply_pin(self) -> None:
        if self._pin is None:
            return
        where, mid = self._pin
        bar = self.view.verticalScrollBar()
        if where == "bottom":
            bar.setValue(bar.maximum())
            return
        row = self.model.row_of(mid)
        if row < 0:
            return
        hint = QAbstractItemView.ScrollHint.PositionAtCenter if where == "center" \
            else QAbstractItemView.ScrollHint.PositionAtTop
        self.view.scrollTo(self.model.index(row), hint)

    def _unpin(self) -> None:
        self._pin = None

    def eventFilter(self, obj, event) -> bool:
        # The user moving through the list takes over from the pin (wheel, click, keys).
        if (obj is self.view.viewport() and event.type() in (QEvent.Type.Wheel, QEvent.Type.MouseButtonPress)) \
                or (obj is self.view and event.type() == QEvent.Type.KeyPress):
            self._pin = None
        if obj is self.view.viewport() and event.type() == QEvent.Type.Resize:
            QTimer.singleShot(0, self._update_sticky_day)  # centred over the new width
        return super().eventFilter(obj, event)

    def _top_row(self) -> int:
        ix = self.view.indexAt(QPoint(2, 2))
        return ix.row() if ix.isValid() else -1

    def _top_message(self):
        row = self._top_row()
        return self.model.message_at(row) if row >= 0 else None

    def _capture_anchor(self) -> None:
        row = self._top_row()
        if row < 0:
            self._anchor = None
            return
        ix = self.model.index(row)
        self._anchor = (int(ix.data(Roles.MessageIdRole)), self.view.visualRect(ix).top())

    def _restore_anchor(self) -> None:
        self.view.doItemsLayout()
        if self._pin is not None:
            self._apply_pin()
        elif self._anchor is not None:
            mid, top = self._anchor
            row = self.model.row_of(mid)
            if row >= 0:
                bar = self.view.verticalScrollBar()
                now = self.view.visualRect(self.model.index(row)).top()
                bar.setValue(bar.value() + now - top)
        self._anchor = None
        self._update_header()
        QTimer.singleShot(0, self._maybe_fetch_older)
        QTimer.singleShot(0, self._prefetch)

    def _update_sticky_day(self) -> None:
        """Show the top message's day over the list unless its own separator is there in full."""
        row = self._top_row()
        if row < 0 or self.view.verticalScrollBar().value() == 0:
            self.sticky_day.hide()
            return
        ix = self.model.index(row)
        if ix.data(Roles.IsDaySeparatorRole) and self.view.visualRect(ix).top() >= -2:
            self.sticky_day.hide()
            return
        msgtime = self.model.message_at(row).msgtime
        self.sticky_day.setText(f"{day_label(msgtime)} · {zone_label(msgtime)}")
        self.sticky_day.adjustSize()
        self.sticky_day.move((self.view.viewport().width() - self.sticky_day.width()) // 2, 4)
        self.sticky_day.show()
        self.sticky_day.raise_()

    def _scrolled(self, value: int) -> None:
        if value <= self.view.viewport().height() // 2:
            QTimer.singleShot(0, self._maybe_fetch_older)
        self._prefetch()

    def _prefetch(self) -> None:
        """Stage the page beyond an end of the window once the user is within a page of that end."""
        rows = self.model.rowCount()
        if not rows:
            return
        top = self._top_row()
        if 0 <= top < self.model.page_size:
            self.model.prefetch_older()
        bottom = self.view.indexAt(QPoint(2, self.view.viewport().height() - 2))
        if not bottom.isValid() or bottom.row() >= rows - self.model.page_size:
            self.model.prefetch_newer()

    def _warm_staged(self) -> None:
        for direction in ("older", "newer"):
            if not self.delegate.warm(self.model, self.model.staged_facts(direction)):
                return  # more on the next turn of the event loop
        self._warming.stop()

    def _maybe_fetch_older(self) -> None:
        bar = self.view.verticalScrollBar()
        if self.model.can_fetch_older() and bar.value() <= self.view.viewport().height() // 2 \
                and (self._pin is None or self._pin[0] != "bottom" or bar.maximum() == 0):
            self.model.fetch_older()

    # ------------------------------------------------------------------ header
    def _lookup_session(self) -> None:
        """Read the SessionRow (participants, message count) for the header, off the GUI thread."""
        corp_id, session_id = self.corp_id, self.session_id
        if corp_id is None or session_id is None:
            return
        archive, actor = self.ctx.archive, self.actor
        run_task(self, lambda: archive.session(actor, corp_id, session_id),
                 weak_callback(self._session_found, self._session_generation))

    def _session_found(self, generation: int, session) -> None:
        if generation == self._session_generation and session is not None:
            self.session = session
            self._update_header()

    def _title(self) -> str:
        if self._title_given:
            return display_name(self._title_given)
        if self.corp_id is None:
            return ""
        directory = self.ctx.directory
        s = self.session
        if s is not None and s.roomid:
            return display_name(directory.label(self.actor, self.corp_id, s.roomid))
        if s is not None:
            people = s.participants
        elif self.model.rowCount():
            first = self.model.message_at(0)
            if first.roomid:
                return display_name(directory.label(self.actor, self.corp_id, first.roomid))
            people = sorted({first.sender, *first.tolist} - {""})
        else:
            return ""
        return " · ".join(display_name(directory.label(self.actor, self.corp_id, p)) for p in people[:6]) + \
            (" …" if len(people) > 6 else "")

    def _update_header(self) -> None:
        self.title_label.setText(self._title())
        parts = []
        if self.session is not None:
            parts.append(count_text(len(self.session.participants), self.tr("1 participant"),
                                    self.tr("%1 participants")))
            parts.append(count_text(self.session.message_count, self.tr("1 message"), self.tr("%1 messages")))
        self.info_label.setText(" · ".join(parts))
        has_session = self.corp_id is not None and not self._denied
        self.jump_button.setEnabled(has_session)
        self.latest_button.setEnabled(has_session)
        self.oldest_button.setEnabled(has_session)

    def _update_actions(self, *_args) -> None:
        self.details_button.setEnabled(not self._denied and self.current_message_id() is not None)

    def _loading_changed(self, loading: bool) -> None:
        self.status_label.setText(self.tr("Loading…") if loading else "")

    def _load_failed(self, message: str) -> None:
        self.status_label.setText(self.tr("Could not load messages: {error}").format(error=display_text(message)))

    # ------------------------------------------------------------------ interaction
    def _activated(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        mid = int(index.data(Roles.MessageIdRole))
        self.message_activated.emit(mid)
        self.open_details(mid)

    def _media_row(self, message_id: int, media_id):
        for m in self.model.media(message_id):
            if m.id == media_id:
                return m
        return None

    def _on_action(self, action: str, message_id: int, payload) -> None:
        self.view.setCurrentIndex(self.model.index(self.model.row_of(message_id)))
        if action == "toggle":
            self.model.toggle_expanded(message_id)
            self.delegate.invalidate(message_id)
            row = self.model.row_of(message_id)
            if row >= 0:
                self.delegate.sizeHintChanged.emit(self.model.index(row))
            return
        if action == "raw":
            self.open_details(message_id)
            return
        media = self._media_row(message_id, payload)
        if media is None:
            return
        if action == "view":
            ImageViewDialog(self.ctx, self.actor, media, media.filename or "", self).show()
        elif action == "open":
            self.media_actions.open_externally(media)
        elif action == "save":
            self.media_actions.save_as(media)

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        menu = QMenu(self)
        menu.addAction(self.tr("Copy"), self.copy_selection)
        mid = int(index.data(Roles.MessageIdRole))
        menu.addAction(self.tr("Details…"), lambda: self.open_details(mid))
        menu.addSeparator()
        menu.addAction(self.tr("Export selected messages…"), self.export_requested.emit)
        for extend in self.menu_extensions:
            extend(menu, mid)
        menu.popup(QCursor.pos())
