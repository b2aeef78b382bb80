"""The session panel: a participant filter above the session tree."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.ui.sessions.model import COL_LAST, COL_MESSAGES, COL_TITLE, SessionRole, SessionTreeModel

FILTER_DEBOUNCE_MS = 250
# Arrow keys pass through sessions on the way to one: a session becomes the shown (and, in the viewer,
# the opened and recorded) one when the keys rest on it this long; a click or Enter opens it at once.
BROWSE_DELAY_MS = 600
MIN_TITLE_WIDTH = 110  # the names column at its narrowest (a 1024-pixel window)


class SessionPanel(QWidget):
    """Filter box + session tree of one archive (``ctx``: an AppContext, for .archive and .directory).

    ``session_selected`` is emitted when the user makes a session current — at once for a click or
    Enter, and for the arrow keys once they rest on it for BROWSE_DELAY_MS (the sessions passed on the
    way are not opened, hence not recorded as opened) —, not again for the session already shown, and
    not for groups. :meth:`refresh` is cheap and may be
    called for every batch the sync commits.
    """

    # corp_id, session_id, title (plain text). Ids are 64-bit snowflakes: a Signal(int) would cut them.
    session_selected = Signal("qlonglong", str, str)
    filter_applied = Signal(str)  # the tree now shows the sessions matching this text

    def __init__(self, ctx, actor: Actor | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._shown: tuple[int, str] | None = None  # the session last emitted or selected by the caller
        self._expanded: set[tuple] = set()
        self._quiet = False  # set while the selection is moved for the caller, not by the user
        self._after_filter: tuple[int, str, bool] | None = None  # select this once the filter is cleared

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText(self.tr("Filter by participant name or id"))
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAccessibleName(self.tr("Session filter"))
        self.refused_box = QCheckBox(self.tr("Only customers who refused archiving"), self)
        self.refused_box.setToolTip(self.tr("Only chats with customers who refused archiving: their consent as WeCom "
                                            "reported it at the last directory sync, and the archive's disagree "
                                            "entries"))
        # the pane's width is the names' to decide: a narrow one cuts this label (the tooltip says it whole)
        self.refused_box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        # Only the sessions carrying a review tag: filled by app/ui/review (set_tag_choices), hidden until then.
        self.tag_box = QComboBox(self)
        self.tag_box.setAccessibleName(self.tr("Review tag filter"))
        self.tag_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.tag_box.setMinimumContentsLength(8)
        self.tag_box.hide()
        self.notice = QLabel(self)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.notice.hide()

        self.model = SessionTreeModel(ctx.archive, ctx.directory, actor, self)
        self.tree = QTreeView(self)
        self.tree.setModel(self.model)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setEditTriggers(QTreeView.EditTrigger.NoEditTriggers)
        self.tree.setSelectionMode(QTreeView.SelectionMode.SingleSelection)
        # A long group name keeps its start and its end ("【成都天府…沟通群"); the tooltip has it whole.
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.setIndentation(14)  # three levels (corp, type, session) leave the names their room
        self.tree.setAccessibleName(self.tr("Sessions"))
        self.tree.setIconSize(QSize(20, 20))  # avatars, or initials in the person's colour
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_TITLE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_MESSAGES, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_LAST, QHeaderView.ResizeMode.Interactive)
        # Sorting by last activity or by message count (the archive pages in that order); a click on
        # the names column keeps the order it has (names come from the directory, not the archive).
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(COL_LAST, Qt.SortOrder.DescendingOrder)
        header.sortIndicatorChanged.connect(self._sort_changed)
        self._sort = (COL_LAST, Qt.SortOrder.DescendingOrder)
        self._size_columns()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.refused_box)
        layout.addWidget(self.tag_box)
        layout.addWidget(self.notice)
        layout.addWidget(self.tree, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(FILTER_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._apply_filter)
        self.filter_edit.textChanged.connect(self._debounce.start)
        self.filter_edit.returnPressed.connect(self._apply_filter_now)
        self.refused_box.toggled.connect(self.model.set_refused_only)
        self.tag_box.currentIndexChanged.connect(lambda _i: self.model.set_tag_filter(self.tag_box.currentData()))

        self._fetch_timer = QTimer(self)
        self._fetch_timer.setSingleShot(True)
        self._fetch_timer.setInterval(0)
        self._fetch_timer.timeout.connect(self._fetch_visible)
        self.tree.verticalScrollBar().valueChanged.connect(lambda _value: self._fetch_timer.start())
        self.tree.expanded.connect(self._on_expanded)
        self.tree.collapsed.connect(self._on_collapsed)
        self.model.rowsInserted.connect(lambda *_: self._fetch_timer.start())
        self.model.modelReset.connect(self._restore_view)
        # Corp and type rows ("外部联系人 (1,234)") span the whole width instead of the title column.
        self.model.modelReset.connect(lambda: self._span_group_rows())
        self.model.layoutChanged.connect(lambda *_: self._span_group_rows())
        self.model.rowsInserted.connect(self._on_rows_inserted)
        self.model.filter_applied.connect(self._on_filter_applied)
        self.tree.selectionModel().currentChanged.connect(self._on_current_changed)
        self._browse_timer = QTimer(self)
        self._browse_timer.setSingleShot(True)
        self._browse_timer.setInterval(BROWSE_DELAY_MS)
        self._browse_timer.timeout.connect(self._browse_rested)
        self._pointer = False  # the current change about to come is a click's (shown at once)
        self.tree.viewport().installEventFilter(self)
        self.tree.installEventFilter(self)

        self._span_group_rows()  # the first build happened before this view listened for resets
        self._expand_initially()

    # ------------------------------------------------------------------ public

    def refresh(self) -> None:
        """Re-read counts and loaded rows in the background, keeping selection and expansion."""
        self.model.refresh()

    def select_session(self, corp_id: int, session_id: str, *, emit: bool = False) -> None:
        """Make this session current, loading rows and clearing the filter if needed. Emits
        ``session_selected`` only with ``emit=True`` (the caller usually shows it already)."""
        def found(index: QModelIndex) -> None:
            if index.isValid():
                self._make_current(index, emit=emit)
            elif self.model.filter_text:  # the filter hides it: show everything, then try again
                self._after_filter = (corp_id, session_id, emit)
                self.filter_edit.setText("")
                self._apply_filter_now()

        self._after_filter = None
        self.model.locate(corp_id, session_id, found)

    def current_session(self) -> tuple[int, str] | None:
        index = self.tree.currentIndex()
        if not self.model.is_session(index):
            return None
        return index.data(SessionRole.CorpIdRole), index.data(SessionRole.SessionIdRole)

    def set_tag_choices(self, tags: list[tuple[str, str]]) -> None:
        """Offer the review tags (key, label shown) as a filter of the tree; the one chosen stays
        chosen if it is still offered."""
        current = self.tag_box.currentData()
        self.tag_box.blockSignals(True)
        self.tag_box.clear()
        self.tag_box.addItem(self.tr("Any review tag"), None)
        for key, label in tags:
            self.tag_box.addItem(label, key)
        at = self.tag_box.findData(current) if current is not None else 0
        self.tag_box.setCurrentIndex(max(0, at))
        self.tag_box.blockSignals(False)
        self.tag_box.setVisible(bool(tags))
        if current is not None and at < 0:
            self.model.set_tag_filter(None)

    def set_filter_text(self, text: str) -> None:
        """Set the filter box (applied after the debounce, like typing)."""
        self.filter_edit.setText(text)

    # ------------------------------------------------------------------ selection

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if obj is self.tree.viewport() and kind == QEvent.Type.MouseButtonPress:
            self._pointer = True
        elif obj is self.tree.viewport() and kind == QEvent.Type.Resize:
            # the tree's own size, not the panel's: the panel's first resize comes before its layout
            # sized the tree, which left the count column hidden in a pane wide enough for it
            self._fit_columns()
        elif obj is self.tree and kind == QEvent.Type.KeyPress:
            self._pointer = False
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._browse_timer.isActive():
                self._browse_timer.stop()  # explicitly opened: at once
                self._browse_rested()
                return True
        return super().eventFilter(obj, event)

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        pointer, self._pointer = self._pointer, False
        if self._quiet or not self.model.is_session(current):
            self._browse_timer.stop()
            return
        key = (current.data(SessionRole.CorpIdRole), current.data(SessionRole.SessionIdRole))
        if key == self._shown:
            self._browse_timer.stop()
            return
        if not pointer:  # the keys (or a model change) moved it: wait until they rest here
            self._browse_timer.start()
            return
        self._browse_timer.stop()
        self._shown = key
        self.session_selected.emit(key[0], key[1], current.data(SessionRole.TitleRole))

    def _sort_changed(self, column: int, order: Qt.SortOrder) -> None:
        header = self.tree.header()
        if column != self._sort[0]:  # a column's first click: most messages, newest activity first
            order = Qt.SortOrder.DescendingOrder
        if (column, order) not in self.model.SORT_ORDERS:
            column, order = self._sort
        self._sort = (column, order)
        if (header.sortIndicatorSection(), header.sortIndicatorOrder()) != (column, order):
            header.blockSignals(True)
            header.setSortIndicator(column, order)
            header.blockSignals(False)
            header.viewport().update()
        self._size_columns()  # the arrow's room moves to the sorted column
        self.model.sort(column, order)

    def _browse_rested(self) -> None:
        current = self.tree.currentIndex()
        if not self.model.is_session(current):
            return
        key = (current.data(SessionRole.CorpIdRole), current.data(SessionRole.SessionIdRole))
        if key != self._shown:
            self._shown = key
            self.session_selected.emit(key[0], key[1], current.data(SessionRole.TitleRole))

    def _make_current(self, index: QModelIndex, *, emit: bool) -> None:
        parent = index.parent()
        while parent.isValid():
            self.tree.expand(parent)
            parent = parent.parent()
        key = (index.data(SessionRole.CorpIdRole), index.data(SessionRole.SessionIdRole))
        self._quiet = True
        try:
            self.tree.setCurrentIndex(index)
        finally:
            self._quiet = False
        self._browse_timer.stop()
        self._shown = key
        if emit:  # asked for: even when this session was already the current one
            self.session_selected.emit(key[0], key[1], index.data(SessionRole.TitleRole))
        self.tree.scrollTo(index)

    # ------------------------------------------------------------------ filter

    def _apply_filter_now(self) -> None:
        self._debounce.stop()
        self._apply_filter()

    def _apply_filter(self) -> None:
        text = self.filter_edit.text().strip()
        if text != self.model.filter_text:
            self.model.set_filter(text)

    def _on_filter_applied(self, text: str) -> None:
        if self.model.refused_only and not self.model.shown_count():
            self.notice.setText(self.tr("No chat with a customer who refused archiving (as of the last directory "
                                        "sync).") if not text else
                                self.tr("No such chat has a participant matching “{text}”.").format(text=text))
            self.notice.show()
        elif self.model.tag_filter and not self.model.shown_count():
            self.notice.setText(self.tr("No session carries the tag “{tag}”.").format(tag=self.tag_box.currentText())
                                if not text else
                                self.tr("No such session has a participant matching “{text}”.").format(text=text))
            self.notice.show()
        elif text and not self.model.shown_count():
            self.notice.setText(self.tr("No session has a participant matching “{text}”.").format(text=text))
            self.notice.show()
        else:
            self.notice.hide()
        pending, self._after_filter = self._after_filter, None
        if pending is not None:
            self.select_session(pending[0], pending[1], emit=pending[2])
        self.filter_applied.emit(text)

    # ------------------------------------------------------------------ expansion and paging

    def _node_key(self, index: QModelIndex) -> tuple:
        return (index.data(SessionRole.CorpIdRole), index.data(SessionRole.SessionTypeRole))

    def _on_expanded(self, index: QModelIndex) -> None:
        self._expanded.add(self._node_key(index))
        if self.model.canFetchMore(index):
            self.model.fetchMore(index)
        self._fetch_timer.start()

    def _on_collapsed(self, index: QModelIndex) -> None:
        self._expanded.discard(self._node_key(index))

    def _expand_initially(self) -> None:
        """Open what a reviewer looks at first: the type groups (or the corps, when several)."""
        several = any(self.model.index(r, 0).data(SessionRole.SessionTypeRole) is None
                      for r in range(self.model.rowCount()))
        for r in range(self.model.rowCount()):
            index = self.model.index(r, 0)
            if several or self.model.hasChildren(index):
                self.tree.expand(index)

    def _is_session(self, index) -> bool:
        return index.data(SessionRole.SessionIdRole) is not None

    def _span_group_rows(self, parent=None) -> None:
        parent = parent if parent is not None else QModelIndex()
        for r in range(self.model.rowCount(parent)):
            index = self.model.index(r, 0, parent)
            if self._is_session(index):
                return  # sessions come after nothing else under a parent
            self.tree.setFirstColumnSpanned(r, parent, True)
            self._span_group_rows(index)  # types under a corp

    def _on_rows_inserted(self, parent, _first, _last) -> None:
        if not parent.isValid() or not self._is_session(parent):
            self._span_group_rows(parent)

    def _restore_view(self) -> None:
        wanted = set(self._expanded)
        self._expanded.clear()
        for r in range(self.model.rowCount()):
            top = self.model.index(r, 0)
            if self._node_key(top) in wanted:
                self.tree.expand(top)
            for c in range(self.model.rowCount(top)):
                child = self.model.index(c, 0, top)
                if self._node_key(child) in wanted:
                    self.tree.expand(child)
        if self._shown is not None:
            shown = self._shown
            # Deeper than the first page (or hidden by the filter: then nothing is selected).
            self.model.locate(*shown, lambda index: self._make_current(index, emit=False)
                              if index.isValid() and self._shown == shown else None)

    def _fetch_visible(self) -> None:
        """Ask for the next page of every group whose last loaded row is on screen (the model
        only pages on demand; see SessionTreeModel.canFetchMore)."""
        viewport = self.tree.viewport()
        index = self.tree.indexAt(QPoint(1, 1))
        seen = 0
        while index.isValid() and seen < 200:
            if self.tree.visualRect(index).top() > viewport.height():
                break
            parent = index.parent() if self.model.is_session(index) else index
            if self.model.is_session(index):
                if index.row() == self.model.rowCount(parent) - 1 and self.model.has_more(parent):
                    self.model.want_more(parent)
            elif self.tree.isExpanded(index) and self.model.rowCount(index) == 0 \
                    and self.model.canFetchMore(index):
                self.model.fetchMore(index)
            index = self.tree.indexBelow(index)
            seen += 1

    def _size_columns(self) -> None:
        """The count and date columns as narrow as their values (short headers, full ones in their
        tooltips): the names take the rest, and never less than MIN_TITLE_WIDTH."""
        metrics = self.tree.fontMetrics()
        pad = 2 * self.tree.style().pixelMetric(self.tree.style().PixelMetric.PM_FocusFrameHMargin) + 12
        header = self.tree.header()
        header.setMinimumSectionSize(24)
        arrow = header.style().pixelMetric(header.style().PixelMetric.PM_HeaderMarkSize) + 4

        def mark(column: int) -> int:  # room for the sort arrow, in the sorted column only
            return arrow if header.sortIndicatorSection() == column else 0

        self._counts_width = max(metrics.horizontalAdvance("9,999") + pad, metrics.horizontalAdvance(
            self.model.headerData(COL_MESSAGES, Qt.Orientation.Horizontal)) + pad + mark(COL_MESSAGES))
        header.resizeSection(COL_MESSAGES, self._counts_width)
        header.resizeSection(COL_LAST, max(metrics.horizontalAdvance("2024-12-31") + pad,
                                           metrics.horizontalAdvance(self.model.headerData(
                                               COL_LAST, Qt.Orientation.Horizontal)) + pad + mark(COL_LAST)))
        self._fit_columns()

    def _fit_columns(self) -> None:
        """In a narrow pane (a 1024-pixel window) the message counts give way to the names: the
        count column hides while the names would get less than MIN_TITLE_WIDTH (each row's tooltip
        and the header's still say it)."""
        header = self.tree.header()
        # A hidden section's size is 0: the count column's own width decides whether it fits again.
        counts = self._counts_width if self.tree.isColumnHidden(COL_MESSAGES) else header.sectionSize(COL_MESSAGES)
        others = counts + header.sectionSize(COL_LAST)
        names = self.tree.viewport().width() - others - 2 * self.tree.indentation()
        self.tree.setColumnHidden(COL_MESSAGES, names < MIN_TITLE_WIDTH)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit_columns()
