"""Search results: a lazy list model (pages of 50, each continuing from the last hit's cursor) and
its delegate.

Every read runs on a pool thread (:func:`app.ui.tasks.run_task`). Each
:meth:`SearchResultsModel.start` begins a new generation, and pages of an older generation are
dropped when they arrive. A search a person starts (``start(request, record=True)``) is recorded
once in the audit trail, by its first page (``SearchService.query(..., record=True)``); further
pages are not. The delegate draws message text as plain text with ``QPainter.drawText``:
a message that contains ``<b>x</b>`` shows those characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from PySide6.QtCore import (
    QAbstractListModel,
    QDateTime,
    QModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPalette, QRegion
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.core.actor import Actor
from app.core.archive import MessageRow
from app.core.directory import Directory
from app.core.messages import LABELS, label_of
from app.core.safe_text import display_name, display_text
from app.core.search import ORDERS, SearchHit, SearchService
from app.ui.language import ui_is_chinese
from app.ui.sessions.model import plain_tooltip
from app.ui.tasks import interactive_pool, run_task
from app.ui.viewer.render import zone_label

PAGE_SIZE = 50
SNIPPET_CONTEXT = 30  # characters shown on each side of the first match
TOOLTIP_CHARS = 600
_INVALID = QModelIndex()
_ONE_LINE = str.maketrans({c: " " for c in "\n\r\t\v\f\x85\u2028\u2029"})  # one char for one: offsets hold


class SearchRole(IntEnum):
    MessageIdRole = Qt.ItemDataRole.UserRole + 1
    CorpIdRole = Qt.ItemDataRole.UserRole + 2
    SessionIdRole = Qt.ItemDataRole.UserRole + 3
    SessionTypeRole = Qt.ItemDataRole.UserRole + 4
    MsgTimeRole = Qt.ItemDataRole.UserRole + 5  # ms since the epoch, UTC
    SenderRole = Qt.ItemDataRole.UserRole + 6  # the sender's id
    SenderNameRole = Qt.ItemDataRole.UserRole + 7  # name where known, else the id
    MsgTypeRole = Qt.ItemDataRole.UserRole + 8
    SnippetRole = Qt.ItemDataRole.UserRole + 9  # one line of text around the first match
    HighlightRole = Qt.ItemDataRole.UserRole + 10  # (start, end) of the match in the snippet, or None
    HeaderRole = Qt.ItemDataRole.UserRole + 11  # "sender → room or recipients"
    HighlightsRole = Qt.ItemDataRole.UserRole + 12  # [(start, end), ...] of every match in the snippet


# The msgtypes the type filter offers, in the registry's order (app/core/messages/catalogue.py), which
# also gives their labels in both languages.
MSGTYPE_LABELS = {msgtype: en for msgtype, (_zh, en) in LABELS.items()}


def msgtype_label(msgtype: str) -> str:
    """The label of a msgtype in the UI language ("Text" / "文本"); unknown types show as they are."""
    return label_of(msgtype, ui_is_chinese())


# --------------------------------------------------------------------------- Qt-free


def make_snippet(text: str, offsets: tuple[tuple[int, int], ...], keyword: str = "",
                 context: int = SNIPPET_CONTEXT) -> tuple[str, tuple[int, int] | None]:
    """One line of ``text`` around its first match: (snippet, (start, end) of the match in it).

    ``offsets`` are the search's (start, end) in ``text``; without usable ones, the first
    case-insensitive occurrence of ``keyword``. Line breaks become spaces. Without a match, the
    start of the text and None.
    """
    start, end = offsets[0] if offsets else (-1, -1)
    if not (0 <= start < end <= len(text)) and keyword:
        start = text.casefold().find(keyword.casefold()) if len(text.casefold()) == len(text) \
            else text.find(keyword)
        end = start + len(keyword) if start >= 0 else -1
    if not (0 <= start < end <= len(text)):
        body = text[:2 * context]
        return (body + ("…" if len(text) > len(body) else "")).translate(_ONE_LINE), None
    a, b = max(0, start - context), min(len(text), end + context)
    prefix = "…" if a > 0 else ""
    snippet = (prefix + text[a:b] + ("…" if b < len(text) else "")).translate(_ONE_LINE)
    return snippet, (len(prefix) + start - a, len(prefix) + end - a)


def snippet_marks(text: str, offsets: tuple[tuple[int, int], ...], highlight: tuple[int, int] | None,
                  context: int = SNIPPET_CONTEXT) -> tuple[tuple[int, int], ...]:
    """Every match of ``offsets`` (in ``text``) that :func:`make_snippet` (called with the same
    ``context``, which gave ``highlight``) put in its snippet, as (start, end) in the snippet, cut
    at its edges. Only the first match was marked before: "合同 OR 发票" showed one word highlighted."""
    if highlight is None:
        return ()
    s0, e0 = offsets[0] if offsets else (-1, -1)
    if not (0 <= s0 < e0 <= len(text)):  # make_snippet fell back to the keyword: its one match is known
        return (highlight,)
    a, b = max(0, s0 - context), min(len(text), e0 + context)
    shift = (1 if a > 0 else 0) - a  # text offset → snippet offset (after the leading "…")
    marks = [(max(s, a) + shift, min(e, b) + shift) for s, e in offsets
             if 0 <= s < e <= len(text) and max(s, a) < min(e, b)]
    return tuple(marks) or (highlight,)


def shown_marks(snippet: str, marks: tuple[tuple[int, int], ...]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Like :func:`shown_snippet` for several marks: the snippet neutralised piece by piece, each
    mark's offsets moved with the escapes."""
    cuts = sorted({0, len(snippet), *(x for m in marks for x in m)})
    shown, where = "", {}
    for a, b in zip(cuts, cuts[1:], strict=False):
        where[a] = len(shown)
        shown += display_text(snippet[a:b], one_line=True)
    where[len(snippet)] = len(shown)
    return shown, tuple((where[a], where[b]) for a, b in marks)


def shown_snippet(snippet: str, highlight: tuple[int, int] | None) -> tuple[str, tuple[int, int] | None]:
    """A snippet and its match neutralised for display (app.core.safe_text), the match's offsets moved
    with the escapes."""
    if highlight is None:
        return display_text(snippet, one_line=True), None
    a, b = highlight
    pre, mid, post = (display_text(x, one_line=True) for x in (snippet[:a], snippet[a:b], snippet[b:]))
    return pre + mid + post, (len(pre), len(pre) + len(mid))


@dataclass(frozen=True)
class SearchRequest:
    """What the result list shows: ``text`` in the query language (see app.core.search.query),
    in ``order`` (one of ORDERS), within one corp or all of them."""

    text: str
    corp_id: int | None = None
    order: str = "newest"

    def __post_init__(self):
        if self.order not in ORDERS:
            raise ValueError(f"unknown order {self.order!r}: use one of {', '.join(ORDERS)}")


@dataclass(frozen=True)
class ResultEntry:
    """One hit as shown (plain text everywhere)."""

    message: MessageRow
    cursor: tuple  # where the page after this hit starts, in the request's order
    sender_name: str
    header: str  # "张伟 → 李娜" or "张伟 → 项目群"
    snippet: str
    highlight: tuple[int, int] | None
    marks: tuple[tuple[int, int], ...] = ()  # every match in the snippet (the first is ``highlight``)


class SearchReader:
    """The result list's reads, run on pool threads (no Qt here)."""

    def __init__(self, search: SearchService, directory: Directory, actor: Actor):
        self.search = search
        self.directory = directory
        self.actor = actor

    def entry(self, hit: SearchHit, order: str, arrow: str) -> ResultEntry:
        m = hit.message
        sender = display_name(self.directory.label(self.actor, m.corp_id, m.sender)) if m.sender else ""
        if m.roomid:
            where = display_name(self.directory.name(self.actor, m.corp_id, m.roomid) or m.roomid)
        else:
            where = ", ".join(display_name(n) for n in
                              self.directory.labels(self.actor, m.corp_id, [t for t in m.tolist if t][:4]))
            if len(m.tolist) > 4:
                where += " …"
        header = f"{sender}{arrow}{where}" if where else sender
        raw, first = make_snippet(m.content_text, hit.offsets)
        snippet, marks = shown_marks(raw, snippet_marks(m.content_text, hit.offsets, first))
        highlight = marks[0] if marks else None
        return ResultEntry(m, hit.cursor(order), sender, header, snippet, highlight, marks)

    def page(self, request: SearchRequest, before: tuple | None, limit: int, arrow: str, *,
             record: bool = False) -> list[ResultEntry]:
        """Raises app.core.search.QueryError for a malformed query. ``record``: the first page of a
        search a person started (one ``search`` audit entry with the query)."""
        hits = self.search.query(self.actor, request.text, limit=limit, before=before, order=request.order,
                                 corp_id=request.corp_id, record=record)
        return [self.entry(h, request.order, arrow) for h in hits]


# --------------------------------------------------------------------------- the model


class SearchResultsModel(QAbstractListModel):
    """Hits of the current request, in its order, fetched 50 at a time as the view scrolls."""

    page_loaded = Signal(int, int)  # generation, rows in the page
    search_failed = Signal(int, object)  # generation, the exception (QueryError for a malformed query)

    def __init__(self, search: SearchService, directory: Directory, actor: Actor,
                 parent=None, *, page_size: int = PAGE_SIZE):
        super().__init__(parent)
        self._reader = SearchReader(search, directory, actor)
        self._page = page_size
        self._request: SearchRequest | None = None
        self._entries: list[ResultEntry] = []
        self._generation = 0
        self._loading = False
        self._exhausted = True
        self._pending = 0
        self._record_next = False  # the next page read is the first of a search a person started

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def request(self) -> SearchRequest | None:
        return self._request

    def is_loading(self) -> bool:
        return self._pending > 0

    def start(self, request: SearchRequest, *, record: bool = False) -> int:
        """Show the hits of ``request`` (the first page arrives later); returns its generation.
        ``record``: a person started this search, so its first page records it (once)."""
        self._generation += 1
        self.beginResetModel()
        self._request = request
        self._entries = []
        self._loading = False
        self._exhausted = False
        self._record_next = record
        self.endResetModel()
        self.fetchMore(_INVALID)
        return self._generation

    def clear(self) -> None:
        self._generation += 1
        self.beginResetModel()
        self._request = None
        self._entries = []
        self._loading = False
        self._exhausted = True
        self._record_next = False
        self.endResetModel()

    def entry(self, row: int) -> ResultEntry:
        return self._entries[row]

    # ------------------------------------------------------------------ paging

    def canFetchMore(self, parent: QModelIndex = _INVALID) -> bool:
        return (not parent.isValid() and self._request is not None and not self._loading
                and not self._exhausted)

    def fetchMore(self, parent: QModelIndex = _INVALID) -> None:
        if not self.canFetchMore(parent):
            return
        self._loading = True
        generation, request, limit = self._generation, self._request, self._page
        before = self._entries[-1].cursor if self._entries else None
        arrow = self.tr(" → ")
        record, self._record_next = self._record_next and before is None, False
        self._pending += 1

        def done(entries: list[ResultEntry]) -> None:
            self._pending -= 1
            if generation != self._generation:
                return
            self._loading = False
            self._exhausted = len(entries) < limit
            if entries:
                first = len(self._entries)
                self.beginInsertRows(_INVALID, first, first + len(entries) - 1)
                self._entries.extend(entries)
                self.endInsertRows()
            self.page_loaded.emit(generation, len(entries))

        def failed(exc: Exception) -> None:
            self._pending -= 1
            if generation != self._generation:
                return
            self._loading = False
            self._exhausted = True
            self.search_failed.emit(generation, exc)

        run_task(self, lambda: self._reader.page(request, before, limit, arrow, record=record), done, failed,
                 pool=interactive_pool())

    # ------------------------------------------------------------------ QAbstractListModel

    def rowCount(self, parent: QModelIndex = _INVALID) -> int:
        return 0 if parent.isValid() else len(self._entries)

    def roleNames(self) -> dict[int, bytes]:
        names = super().roleNames()
        names.update({int(r): r.name[0].lower().encode() + r.name[1:-4].encode() for r in SearchRole})
        return names

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._entries) or index.column() != 0:
            return None
        e = self._entries[index.row()]
        m = e.message
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{e.header} · {format_hit_time(m.msgtime)} · {e.snippet}"
        if role == Qt.ItemDataRole.ToolTipRole:
            text = m.content_text
            if len(text) > TOOLTIP_CHARS:
                text = text[:TOOLTIP_CHARS] + "…"
            text = display_text(text)
            return plain_tooltip(f"{e.header}\n{format_hit_time(m.msgtime)} {zone_label(m.msgtime)}\n\n{text}")
        if role == SearchRole.MessageIdRole:
            return m.id
        if role == SearchRole.CorpIdRole:
            return m.corp_id
        if role == SearchRole.SessionIdRole:
            return m.session_id or ""
        if role == SearchRole.SessionTypeRole:
            return m.session_type or ""
        if role == SearchRole.MsgTimeRole:
            return m.msgtime
        if role == SearchRole.SenderRole:
            return m.sender
        if role == SearchRole.SenderNameRole:
            return e.sender_name
        if role == SearchRole.MsgTypeRole:
            return m.msgtype
        if role == SearchRole.SnippetRole:
            return e.snippet
        if role == SearchRole.HighlightRole:
            return list(e.highlight) if e.highlight else None
        if role == SearchRole.HighlightsRole:
            return [list(mark) for mark in e.marks]
        if role == SearchRole.HeaderRole:
            return e.header
        return None


def format_hit_time(ms: int) -> str:
    return QDateTime.fromMSecsSinceEpoch(int(ms)).toString("yyyy-MM-dd HH:mm")


# --------------------------------------------------------------------------- the delegate


def _kept(full: str, shown: str) -> tuple[int, int, int]:
    """Which part of ``full`` an elided ``shown`` keeps: (start in full, length, where it starts in
    shown). Elision cuts on one side with "…" (the kept part is a prefix or a suffix)."""
    if shown == full:
        return 0, len(full), 0
    if shown.startswith("…") and full.endswith(shown[1:]):
        return len(full) - (len(shown) - 1), len(shown) - 1, 1
    if shown.endswith("…") and full.startswith(shown[:-1]):
        return 0, len(shown) - 1, 0
    return 0, 0, 0


def _fit(fm: QFontMetrics, text: str, width: int, mode: Qt.TextElideMode) -> str:
    """``text`` if it fits in ``width`` pixels, else elided (elidedText also cuts a text that
    fits exactly, through rounding)."""
    if not text or fm.horizontalAdvance(text) <= width:
        return text
    return fm.elidedText(text, mode, width)


@dataclass(frozen=True)
class _Layout:
    header: str
    header_rect: QRect
    meta: str
    meta_rect: QRect
    before: str
    match: str
    after: str
    before_rect: QRect
    match_rect: QRect
    after_rect: QRect
    marks: tuple[tuple[QRect, str], ...] = ()  # the other matches shown: where, and their text


class SearchResultDelegate(QStyledItemDelegate):
    """Two plain-text lines per hit: "sender → where" with time and type, then the snippet with
    the match on a highlight background. Layout is computed once per (message, width)."""

    MARGIN = 6
    CACHE_LIMIT = 2000

    def __init__(self, parent=None):
        super().__init__(parent)
        self._cache: dict[tuple[int, int, int], _Layout] = {}

    def clear_cache(self) -> None:
        self._cache.clear()

    @staticmethod
    def _fonts(option: QStyleOptionViewItem) -> tuple[QFont, QFont]:
        bold = QFont(option.font)
        bold.setBold(True)
        return bold, option.font

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        bold, normal = self._fonts(option)
        height = QFontMetrics(bold).height() + QFontMetrics(normal).height() + 3 * self.MARGIN
        return QSize(200, height)

    def layout(self, option: QStyleOptionViewItem, index: QModelIndex) -> _Layout:
        """Where each piece of text goes in ``option.rect`` (cached per message and width)."""
        rect = option.rect
        key = (index.data(SearchRole.MessageIdRole) or 0, rect.width(), option.font.pointSize())
        cached = self._cache.get(key)
        if cached is not None:
            return self._moved(cached, rect)
        bold, normal = self._fonts(option)
        fm_bold, fm = QFontMetrics(bold), QFontMetrics(normal)
        m = self.MARGIN
        inner = rect.adjusted(m, m, -m, -m)
        width = max(inner.width(), 10)
        line1 = fm_bold.height()
        meta = f"{format_hit_time(index.data(SearchRole.MsgTimeRole))} · " \
               f"{msgtype_label(index.data(SearchRole.MsgTypeRole))}"
        meta = _fit(fm, meta, width // 2, Qt.TextElideMode.ElideRight)
        meta_w = fm.horizontalAdvance(meta)
        header_w = max(width - meta_w - m, 10)
        header = _fit(fm_bold, index.data(SearchRole.HeaderRole) or "", header_w, Qt.TextElideMode.ElideRight)
        top2 = inner.top() + line1 + m
        line2 = fm.height() + m // 2  # room for glyphs of fallback fonts that reach below the descent
        snippet = index.data(SearchRole.SnippetRole) or ""
        hl = index.data(SearchRole.HighlightRole)
        full_before = full_after = ""
        if hl:
            before, match, after = snippet[:hl[0]], snippet[hl[0]:hl[1]], snippet[hl[1]:]
            full_before, full_after = before, after
        else:
            before, match, after = snippet, "", ""
        # Keep the match in sight: the text before it gives way first (elided on the left).
        match = _fit(fm, match, width, Qt.TextElideMode.ElideRight)
        room = width - fm.horizontalAdvance(match)
        before_full, after_full = fm.horizontalAdvance(before), fm.horizontalAdvance(after)
        if before_full + after_full > room:
            before_w = min(before_full, max(room - after_full, room // 2))
            after_w = max(room - before_w, 0)
        else:
            before_w, after_w = before_full, after_full
        before = _fit(fm, before, before_w, Qt.TextElideMode.ElideLeft if match else Qt.TextElideMode.ElideRight)
        after = _fit(fm, after, after_w, Qt.TextElideMode.ElideRight)
        before_w, match_w = fm.horizontalAdvance(before), fm.horizontalAdvance(match)
        x = inner.left()
        slack = 2  # drawText clips to its rect; advances are rounded
        # The other matches in the snippet (every term of "合同 OR 发票"), where the elided text shows them.
        marks = []
        if hl:
            line = before + match + after
            pieces = ((0, full_before, before, 0), (hl[1], full_after, after, len(before) + len(match)))
            for s, e in index.data(SearchRole.HighlightsRole) or ():
                if (s, e) == tuple(hl):
                    continue
                for base, full, shown, at in pieces:
                    start, length, offset = _kept(full, shown)
                    a, b = max(s - base, start), min(e - base, start + length)
                    if a < b:
                        a, b = at + offset + a - start, at + offset + b - start
                        left = x + fm.horizontalAdvance(line[:a])
                        marks.append((QRect(left, top2, fm.horizontalAdvance(line[a:b]), line2), line[a:b]))
        layout = _Layout(
            header, QRect(inner.left(), inner.top(), header_w, line1),
            meta, QRect(inner.right() - meta_w - slack + 1, inner.top(), meta_w + slack, line1),
            before, match, after,
            QRect(x, top2, before_w + slack, line2), QRect(x + before_w, top2, match_w, line2),
            QRect(x + before_w + match_w, top2, max(inner.right() - (x + before_w + match_w) + 1, 0), line2),
            tuple(marks),
        )
        if len(self._cache) >= self.CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = self._moved(layout, QRect(0, 0, rect.width(), rect.height()), origin=rect)
        return layout

    @staticmethod
    def _moved(layout: _Layout, rect: QRect, origin: QRect | None = None) -> _Layout:
        """The layout translated from ``origin`` (or from 0,0) to ``rect``'s top-left."""
        dx = rect.left() - (origin.left() if origin else 0)
        dy = rect.top() - (origin.top() if origin else 0)
        if not dx and not dy:
            return layout
        return _Layout(layout.header, layout.header_rect.translated(dx, dy), layout.meta,
                       layout.meta_rect.translated(dx, dy), layout.before, layout.match, layout.after,
                       layout.before_rect.translated(dx, dy), layout.match_rect.translated(dx, dy),
                       layout.after_rect.translated(dx, dy),
                       tuple((r.translated(dx, dy), t) for r, t in layout.marks))

    def display_texts(self, option: QStyleOptionViewItem, index: QModelIndex) -> list[str]:
        """The strings :meth:`paint` draws, in order (for tests and accessibility)."""
        lay = self.layout(option, index)
        return [lay.header, lay.meta, lay.before, lay.match, lay.after]

    def marked_texts(self, option: QStyleOptionViewItem, index: QModelIndex) -> list[str]:
        """Every text :meth:`paint` draws on the match's amber, in order (the first match, then the others)."""
        lay = self.layout(option, index)
        return ([lay.match] if lay.match else []) + [t for _r, t in lay.marks]

    def paint(self, painter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""  # the background and selection from the style, the text from us
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        lay = self.layout(option, index)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        group = QPalette.ColorGroup.Normal if option.state & QStyle.StateFlag.State_Enabled \
            else QPalette.ColorGroup.Disabled
        text = option.palette.color(group, QPalette.ColorRole.HighlightedText if selected
                                    else QPalette.ColorRole.Text)
        muted = QColor(text)
        muted.setAlpha(160)
        bold, normal = self._fonts(option)
        flags = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextSingleLine)
        painter.save()
        painter.setFont(bold)
        painter.setPen(text)
        painter.drawText(lay.header_rect, flags, lay.header)
        painter.setFont(normal)
        painter.setPen(muted)
        painter.drawText(lay.meta_rect, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                                            | Qt.TextFlag.TextSingleLine), lay.meta)
        painter.setPen(text)
        amber = QColor(255, 214, 102)  # readable on light and dark
        for rect, _t in lay.marks:
            painter.fillRect(rect.adjusted(0, 0, 0, -(self.MARGIN // 2)), amber)
        if lay.marks:  # the text under the other matches is drawn dark, on its amber, after
            clip = QRegion(option.rect)
            for rect, _t in lay.marks:
                clip -= QRegion(rect)
            painter.setClipRegion(clip)
        painter.drawText(lay.before_rect, flags, lay.before)
        if lay.match:
            painter.fillRect(lay.match_rect.adjusted(0, 0, 0, -(self.MARGIN // 2)), QColor(255, 214, 102))  # amber: readable on light and dark
            painter.setPen(QColor(20, 20, 20))
            painter.drawText(lay.match_rect, flags, lay.match)
            painter.setPen(text)
        painter.drawText(lay.after_rect, flags, lay.after)
        if lay.marks:
            painter.setClipping(False)
            painter.setPen(QColor(20, 20, 20))
            for rect, shown in lay.marks:
                painter.drawText(rect.adjusted(0, 0, 2, 0), flags, shown)
        painter.restore()
