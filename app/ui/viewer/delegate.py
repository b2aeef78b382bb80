"""Chat bubbles: one delegate lays out and paints every kind of message.

``_layout(option, index)`` computes every rectangle and text layout of a row once; ``paint`` and
``sizeHint`` both use it, so what is measured is what is drawn. Layouts are cached per (message
id, width), checked against a signature of what else changes them (day separator, expansion,
loaded thumbnails), and dropped when the width changes.

Text is laid out with QTextLayout, which never interprets markup: a message "<b>x</b>" shows those
eight characters. Clicks on interactive parts (expand, open, save, view, raw JSON) arrive through
``editorEvent`` and leave as ``action_requested(action, message_id, payload)``.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QModelIndex,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QPainter,
    QPalette,
    QPen,
    QTextCharFormat,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.core.safe_text import display_name
from app.core.search.text import match_spans

from ..avatars import avatar_pixmap, person_color
from .model import MessageListModel, Roles, RowFacts, Side
from .render import (
    CardBlock,
    MediaBlock,
    MessageRenderer,
    QuoteBlock,
    Rendered,
    SystemBlock,
    TextBlock,
    ToggleBlock,
    UnsupportedBlock,
    day_label,
    format_time,
    zone_label,
)

MARGIN = 12          # between the view's edge and a bubble
ROW_PAD = 4          # above and below each row
BUBBLE_PAD = 9       # inside a bubble
GAP = 6              # between blocks
HEADER_GAP = 3       # between the header line and the bubble
AVATAR = 18          # the sender's picture (or initials) at the start of the header
MAX_BUBBLE = 620     # a bubble's widest, whatever the window
MIN_CARD = 220
ICON = 32
PLACEHOLDER = {"image": QSize(200, 150), "emotion": QSize(120, 120)}
translate = QCoreApplication.translate
_LINE_BREAK = "\u2028"  # QTextLayout breaks lines at U+2028, not at "\n"


# ---------------------------------------------------------------- the layout

@dataclass
class Op:
    """One thing to draw, in row coordinates."""

    kind: str                      # text | bubble | card_rule | quote_bar | thumb | placeholder | icon | day
    rect: QRect
    text: QTextLayout | None = None
    color: str = "text"            # text | muted | link | warning | on_day
    payload: object = None


@dataclass
class Layout:
    size: QSize
    side: Side | None = None
    bubble: QRect | None = None
    ops: list[Op] = field(default_factory=list)
    hotspots: list[tuple[QRect, str, object]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    media_ids: tuple[int, ...] = ()
    signature: tuple = ()

    def text(self) -> str:
        """Every string this row shows, in order (for tests and accessibility)."""
        return "\n".join(self.texts)


class _Fonts:
    def __init__(self, base: QFont):
        self.body = QFont(base)
        self.bold = QFont(base)
        self.bold.setBold(True)
        self.small = QFont(base)
        size = base.pointSizeF()
        if size > 0:
            self.small.setPointSizeF(max(6.0, size * 0.86))
        else:
            self.small.setPixelSize(max(8, int(base.pixelSize() * 0.86)))
        self.small_bold = QFont(self.small)
        self.small_bold.setBold(True)
        self.link = QFont(self.small)
        self.link.setUnderline(True)


_FONTS: dict[str, _Fonts] = {}


def _fonts(base: QFont) -> _Fonts:
    """The fonts derived from ``base`` (made once per base font: a row's layout needs them)."""
    key = base.key()
    fonts = _FONTS.get(key)
    if fonts is None:
        fonts = _FONTS[key] = _Fonts(base)
    return fonts


def _text_layout(text: str, font: QFont, width: int, align=Qt.AlignmentFlag.AlignLeft) -> tuple[QTextLayout, int, int]:
    """A laid-out QTextLayout for plain ``text`` and its (natural width, height) in pixels."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", _LINE_BREAK)
    layout = QTextLayout(text, font)
    option = QTextOption(align)
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(option)
    layout.setCacheEnabled(True)
    y = 0.0
    natural = 0.0
    layout.beginLayout()
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(max(1, width))
        line.setPosition(QPointF(0, y))
        y += line.height()
        natural = max(natural, line.naturalTextWidth())
    layout.endLayout()
    if y == 0:
        y = QFontMetrics(font).height()
    return layout, min(width, math.ceil(natural)), math.ceil(y)


def _mark_terms(layout: QTextLayout, terms: tuple[str, ...]) -> None:
    """Give every occurrence of the search's ``terms`` (normalised, as app.core.search matches
    them) in ``layout``'s text the amber of a search hit, with dark text (readable in dark themes)."""
    spans = match_spans(layout.text(), list(terms))
    if not spans:
        return
    fmt = QTextCharFormat()
    fmt.setBackground(QColor(255, 214, 102))
    fmt.setForeground(QColor(20, 20, 20))
    ranges = []
    for start, end in spans:
        r = QTextLayout.FormatRange()
        r.start, r.length, r.format = start, end - start, fmt
        ranges.append(r)
    layout.setFormats(ranges)


class _Builder:
    """Stacks blocks vertically from (0, 0) within ``width``; ops are later moved into place."""

    def __init__(self, delegate: MessageDelegate, fonts: _Fonts, width: int):
        self.d = delegate
        self.f = fonts
        self.width = width
        self.ops: list[Op] = []
        self.hot: list[tuple[QRect, str, object]] = []
        self.texts: list[str] = []
        self.media_ids: list[int] = []
        self.natural = 0

    def text(self, x: int, y: int, text: str, font: QFont, color: str = "text", width: int | None = None) -> QRect:
        w = self.width - x if width is None else width
        layout, nat, h = _text_layout(text, font, w)
        if self.d.terms:
            _mark_terms(layout, self.d.terms)
        rect = QRect(x, y, nat, h)
        self.ops.append(Op("text", rect, layout, color))
        self.texts.append(text)
        self.natural = max(self.natural, x + nat)
        return rect

    def link(self, x: int, y: int, text: str, action: str, payload=None) -> QRect:
        rect = self.text(x, y, text, self.f.link, "link")
        self.hot.append((rect.adjusted(-2, -2, 2, 2), action, payload))
        return rect

    def links(self, x: int, y: int, items: list[tuple[str, str, object]]) -> int:
        """A row of links; returns the height used."""
        h = 0
        for label, action, payload in items:
            r = self.link(x, y, label, action, payload)
            x = r.right() + 14
            h = max(h, r.height())
        return h

    def blocks(self, blocks: list, x: int, y: int) -> int:
        """Lay out ``blocks`` at (x, y); returns the y below the last one."""
        first = True
        for b in blocks:
            if not first:
                y += GAP
            first = False
            y = self.block(b, x, y)
        return y

    def block(self, b, x: int, y: int) -> int:
        f = self.f
        if isinstance(b, TextBlock):
            font = {"title": f.bold, "muted": f.small, "warning": f.small}.get(b.style, f.body)
            color = {"muted": "muted", "warning": "warning"}.get(b.style, "text")
            return self.text(x, y, b.text, font, color).bottom() + 1
        if isinstance(b, CardBlock):
            top = y
            y = self.text(x, y, b.label, f.small, "muted").bottom() + 1 + 2
            if b.title:
                y = self.text(x, y, b.title, f.bold).bottom() + 1 + 2
            for line in b.lines:
                y = self.text(x, y, line, f.body).bottom() + 1 + 1
            if b.footer:
                y += 3
                self.ops.append(Op("card_rule", QRect(x, y, 0, 1)))  # width set when the bubble is known
                y += 4
                y = self.text(x, y, b.footer, f.small, "muted").bottom() + 1
            self.natural = max(self.natural, x + min(MIN_CARD, self.width - x))
            return max(y, top)
        if isinstance(b, MediaBlock):
            return self.media(b, x, y)
        if isinstance(b, QuoteBlock):
            inner = x + 10
            y0 = y
            y = self.text(inner, y, b.header, f.small, "muted").bottom() + 1 + 2 if b.header else y
            y = self.blocks(list(b.blocks), inner, y)
            self.ops.append(Op("quote_bar", QRect(x + 2, y0, 3, max(1, y - y0))))
            return y
        if isinstance(b, ToggleBlock):
            r = self.link(x, y, b.text + (" ▴" if b.expanded else " ▾"), "toggle")
            return r.bottom() + 1
        if isinstance(b, UnsupportedBlock):
            y = self.text(x, y, b.text, f.body, "muted").bottom() + 1 + 2
            return self.link(x, y, b.link, "raw").bottom() + 1
        if isinstance(b, SystemBlock):
            return self.text(x, y, b.text, f.small, "muted").bottom() + 1
        unknown = translate("MessageDelegate", "[Cannot show this part]")
        return self.text(x, y, unknown, f.small, "muted").bottom() + 1

    def media(self, b: MediaBlock, x: int, y: int) -> int:
        f = self.f
        m = b.media
        if m is not None:
            self.media_ids.append(m.id)
        if b.thumbnail and m is not None and m.status == "stored" and not self.d.thumbnails_failed(m.id):
            size = self.d.thumbnail_size(m.id)
            loaded = size is not None
            if size is None:
                size = PLACEHOLDER.get(b.kind, PLACEHOLDER["image"])
                if b.kind == "emotion":
                    size = QSize(min(size.width(), b.max_side), min(size.height(), b.max_side))
            w = min(size.width(), self.width - x)
            h = size.height() if size.width() <= w else max(1, size.height() * w // max(1, size.width()))
            rect = QRect(x, y, w, h)
            self.ops.append(Op("thumb" if loaded else "placeholder", rect, payload=(m.id, b.max_side)))
            if not loaded:
                self.texts.append(b.name)
            self.hot.append((QRect(rect), "view", m.id))
            self.natural = max(self.natural, rect.right() + 1)
            return rect.bottom() + 1
        # An icon, the name, the detail line, the status or the actions.
        icon = QRect(x, y, ICON, ICON)
        self.ops.append(Op("icon", icon, payload=b.kind))
        tx = x + ICON + 8
        avail = max(60, min(self.width, MAX_BUBBLE) - tx)
        ty = self.text(tx, y, b.name, f.body, width=avail).bottom() + 1
        if b.detail:
            ty = self.text(tx, ty + 1, b.detail, f.small, "muted", width=avail).bottom() + 1
        if b.status:
            ty = self.text(tx, ty + 2, b.status, f.small, "warning", width=avail).bottom() + 1
        actions = []
        for a in b.actions:
            if a == "open":
                actions.append((translate("MessageDelegate", "Open"), "open", m.id))
            elif a == "save":
                label = translate("MessageDelegate", "Save voice…") if b.kind == "voice" \
                    else translate("MessageDelegate", "Save as…")
                actions.append((label, "save", m.id))
            elif a == "view":
                actions.append((translate("MessageDelegate", "View"), "view", m.id))
        if actions:
            ty += 3 + self.links(tx, ty + 3, actions)
        self.natural = max(self.natural, x + min(MIN_CARD + 40, self.width - x))
        return max(icon.bottom() + 1, ty)


# ---------------------------------------------------------------- the delegate

def _bounded(cache: dict, limit: int) -> None:
    """Make room in a cache of at most ``limit`` entries by dropping its oldest quarter. (Clearing it
    whole made the page after every 30th of a long scroll rebuild all the window's 2,000 layouts.)"""
    if len(cache) >= limit:
        for key in list(itertools.islice(cache, limit // 4)):
            del cache[key]


class MessageDelegate(QStyledItemDelegate):
    """Paints a MessageListModel row as a chat bubble (or a centred system line)."""

    action_requested = Signal(str, "qint64", object)  # action, message id, payload (media id...)

    def __init__(self, thumbnails=None, parent=None):
        super().__init__(parent)
        self.thumbnails = thumbnails
        self._view = parent if parent is not None and hasattr(parent, "viewport") else None
        self._viewport = self._view.viewport() if self._view is not None else None
        self._cache: dict[tuple[int, int], Layout] = {}
        self._rendered: dict[tuple[int, bool, str], Rendered] = {}
        self._media_rows: dict[int, int] = {}  # media id → message id, for repaints when a thumbnail lands
        self._width = -1
        self.terms: tuple[str, ...] = ()  # the search's terms, marked wherever they occur in the bubbles
        # Review chips under a bubble (app/ui/review): an object with chips(message_id) -> a tuple of
        # (plain text, "#RRGGBB" or "" for a muted chip); None shows none.
        self.annotations = None
        if thumbnails is not None:
            thumbnails.thumbnail_ready.connect(self._thumbnail_ready)

    # -- what other parts ask
    def thumbnail_size(self, media_id: int) -> QSize | None:
        return self.thumbnails.size_of(media_id) if self.thumbnails is not None else None

    def thumbnails_failed(self, media_id: int) -> bool:
        return self.thumbnails is not None and self.thumbnails.failed(media_id)

    def layout_for(self, option: QStyleOptionViewItem, index: QModelIndex) -> Layout:
        """The row's layout (public for tests and the view's hover handling)."""
        return self._layout(option, index)

    def hotspot_at(self, option: QStyleOptionViewItem, index: QModelIndex, pos: QPoint):
        """(action, payload) of the interactive part under ``pos`` (view coordinates), or None."""
        lay = self._layout(option, index)
        local = pos - option.rect.topLeft()
        for rect, action, payload in lay.hotspots:
            if rect.contains(local):
                return action, payload
        return None

    def set_terms(self, terms) -> None:
        """Mark ``terms`` (normalised search texts, see app.core.search.query.positive_texts) in every
        bubble from now on; () marks nothing."""
        terms = tuple(t for t in terms if t)
        if terms != self.terms:
            self.terms = terms
            self._cache.clear()

    def marked_texts(self, option: QStyleOptionViewItem, index: QModelIndex) -> list[str]:
        """The pieces of text this row shows on the search's amber, in order (for tests)."""
        out = []
        for op in self._layout(option, index).ops:
            if op.kind == "text" and op.text is not None:
                text = op.text.text()
                out += [text[r.start:r.start + r.length] for r in op.text.formats()]
        return out

    def invalidate(self, message_id: int | None = None) -> None:
        """Forget cached layouts (of one message, or all)."""
        if message_id is None:
            self._cache.clear()
            self._rendered.clear()
            return
        for key in [k for k in self._cache if k[0] == message_id]:
            del self._cache[key]
        for key in [k for k in self._rendered if k[0] == message_id]:
            del self._rendered[key]

    # -- Qt API
    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        if not index.isValid():
            return QSize(0, 0)
        return self._layout(option, index).size

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        if not index.isValid():
            return
        lay = self._layout(option, index)
        pal = option.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        origin = option.rect.topLeft()
        row_rect = QRect(option.rect.left(), option.rect.top(), option.rect.width(), lay.size.height())
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            sel = QColor(pal.color(QPalette.ColorRole.Highlight))
            sel.setAlpha(55)
            painter.fillRect(row_rect, sel)
        if index.data(Roles.HighlightRole):  # the search target: amber, distinct from the selection
            if not selected:
                tint = QColor(255, 193, 7)
                tint.setAlpha(55)
                painter.fillRect(row_rect, tint)
            painter.fillRect(QRect(row_rect.left(), row_rect.top(), 4, row_rect.height()), QColor(255, 160, 0))
        if option.state & QStyle.StateFlag.State_HasFocus:  # the current row, where the keys act
            painter.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2, Qt.PenStyle.DotLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(row_rect).adjusted(1, 1, -1, -1))
        painter.translate(origin)
        colors = _Colors(pal)
        for op in lay.ops:
            self._paint_op(painter, op, lay, colors, option)
        painter.restore()

    def editorEvent(self, event, model, option, index) -> bool:
        if event.type() in (QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonPress) \
                and event.button() == Qt.MouseButton.LeftButton and index.isValid():
            hit = self.hotspot_at(option, index, event.position().toPoint())
            if hit is not None:
                if event.type() == QEvent.Type.MouseButtonRelease:
                    self.action_requested.emit(hit[0], int(index.data(Roles.MessageIdRole)), hit[1])
                return True
        return super().editorEvent(event, model, option, index)

    # -- layout
    def _row_width(self, option: QStyleOptionViewItem | None) -> int:
        if self._viewport is not None:
            return max(240, self._viewport.width())
        return max(240, option.rect.width() if option is not None else 0)

    def _render(self, model, facts: RowFacts) -> Rendered:
        language = str(QApplication.instance().property("ui_language") or "")
        key = (facts.row.id, facts.expanded, language)
        rendered = self._rendered.get(key)
        if rendered is None:
            label = model.label if hasattr(model, "label") else (lambda uid: uid)
            rendered = MessageRenderer(label).render(facts.row, facts.parsed, facts.media, facts.expanded)
            _bounded(self._rendered, 8000)
            self._rendered[key] = rendered
        return rendered

    def _layout(self, option: QStyleOptionViewItem, index: QModelIndex) -> Layout:
        width = self._width_now(option)
        model = index.model()
        if isinstance(model, MessageListModel):  # one Python call instead of four role look-ups
            message_id, day, expanded, side = model.layout_key(index.row())
        else:
            message_id = int(index.data(Roles.MessageIdRole))
            expanded = bool(index.data(Roles.ExpandedRole))
            day = bool(index.data(Roles.IsDaySeparatorRole))
            side = Side(index.data(Roles.SideRole) or 0)
        chips = tuple(self.annotations.chips(message_id)) if self.annotations is not None else ()
        cached = self._cached(message_id, width, (day, expanded, side), chips)
        if cached is not None:
            return cached
        facts = RowFacts(index.data(Roles.MessageRole), index.data(Roles.ParsedRole), index.data(Roles.MediaRole) or [],
                         day, expanded, side)
        name = index.data(Roles.SenderLabelRole) or display_name(facts.row.sender)
        return self._make(model, facts, name, chips, width, option.font if option.font is not None else None)

    def warm(self, model: MessageListModel, rows: list[RowFacts], budget: float = 0.008) -> bool:
        """Lay out rows before they are shown (a page the model has staged) for at most ``budget``
        seconds; True when every row is laid out. The view lays out every row of the window whenever
        it changes: rows laid out ahead make showing the page a matter of milliseconds."""
        if self._view is None:
            return True
        deadline = time.perf_counter() + budget
        width = self._width_now(None)
        for facts in rows:
            chips = tuple(self.annotations.chips(facts.row.id)) if self.annotations is not None else ()
            if self._cached(facts.row.id, width, (facts.day, facts.expanded, facts.side), chips) is not None:
                continue
            self._make(model, facts, model.label(facts.row.sender), chips, width, self._view.font())
            if time.perf_counter() > deadline:
                return False
        return True

    def _width_now(self, option: QStyleOptionViewItem | None) -> int:
        width = self._row_width(option)
        if width != self._width:  # a new width invalidates every layout
            self._cache.clear()
            self._width = width
        return width

    def _cached(self, message_id: int, width: int, state: tuple, chips: tuple) -> Layout | None:
        cached = self._cache.get((message_id, width))
        if cached is not None:
            thumbs = tuple(self._thumb_state(m) for m in cached.media_ids) if cached.media_ids else ()
            if cached.signature == (*state, thumbs, chips):
                return cached
        return None

    def _make(self, model, facts: RowFacts, name: str, chips: tuple, width: int, font: QFont | None) -> Layout:
        rendered = self._render(model, facts)
        fonts = _fonts(font if font is not None else QApplication.font())
        lay = self._build(model, facts.row, name, rendered, fonts, width, facts.day, facts.side)
        if chips and lay.bubble is not None:
            self._add_chips(lay, chips, fonts, width)
        lay.signature = (facts.day, facts.expanded, facts.side,
                         tuple(self._thumb_state(m) for m in lay.media_ids), chips)
        for mid in lay.media_ids:
            self._media_rows[mid] = facts.row.id
        _bounded(self._cache, 6000)
        self._cache[(facts.row.id, width)] = lay
        return lay

    def _thumb_state(self, media_id: int):
        size = self.thumbnail_size(media_id)
        return (size.width(), size.height()) if size is not None else self.thumbnails_failed(media_id)

    def _build(self, model, row, name: str, rendered: Rendered, fonts: _Fonts, width: int, day: bool,
               side: Side) -> Layout:
        ops: list[Op] = []
        texts: list[str] = []
        y = ROW_PAD
        if day:  # the day and the time zone of the times under it (the zone may change with summer time)
            text = f"{day_label(row.msgtime)} · {zone_label(row.msgtime)}"
            layout, nat, h = _text_layout(text, fonts.small_bold, width - 2 * MARGIN)
            pill = QRect((width - nat) // 2 - 10, y + 4, nat + 20, h + 6)
            ops.append(Op("day", pill))
            ops.append(Op("text", QRect(pill.left() + 10, pill.top() + 3, nat, h), layout, "muted"))
            texts.append(text)
            y = pill.bottom() + 1 + 8
        if rendered.system:
            body = " ".join(b.text for b in rendered.blocks if isinstance(b, SystemBlock))
            text = f"{format_time(row.msgtime)}  {body}"
            inner = min(width - 2 * MARGIN, int(width * 0.8))
            layout, nat, h = _text_layout(text, fonts.small, inner, Qt.AlignmentFlag.AlignHCenter)
            x = (width - inner) // 2
            ops.append(Op("text", QRect(x, y + 2, inner, h), layout, "muted"))
            texts.append(text)
            y += h + 4 + ROW_PAD
            return Layout(QSize(width, y), None, None, ops, [], texts)

        # Header: sender and time above the bubble, on the bubble's side.
        max_bubble = min(MAX_BUBBLE, int(width * 0.74))
        inner_w = max(120, max_bubble - 2 * BUBBLE_PAD)
        # The sender's picture (or initials in their colour), the name (in that colour in a group, so
        # that speakers are told apart), an external contact's corp tag, the time.
        tag = display_name(model.corp_tag(row.sender)) if hasattr(model, "corp_tag") else ""
        rest = (f" {tag}" if tag else "") + f"  {format_time(row.msgtime)}"
        header = name + rest
        nl, nnat, nh = _text_layout(name, fonts.small_bold, width - 2 * MARGIN - AVATAR - 4)
        rl, rnat, rh = _text_layout(rest, fonts.small, max(1, width - 2 * MARGIN - AVATAR - 4 - nnat))
        line_h = max(AVATAR, nh, rh)
        total = AVATAR + 4 + nnat + rnat
        hx = MARGIN + 2 if side == Side.LEFT else width - MARGIN - 2 - total
        picture = model.avatar(row.sender) if hasattr(model, "avatar") else None
        ops.append(Op("avatar", QRect(hx, y + (line_h - AVATAR) // 2, AVATAR, AVATAR),
                      payload=(row.sender, name, picture)))
        grouped = bool(getattr(model, "is_group", False))
        ops.append(Op("text", QRect(hx + AVATAR + 4, y + (line_h - nh) // 2, nnat, nh), nl,
                      "sender" if grouped else "text", payload=row.sender if grouped else None))
        ops.append(Op("text", QRect(hx + AVATAR + 4 + nnat, y + (line_h - rh) // 2, rnat, rh), rl, "muted"))
        texts.append(header)
        y += line_h + HEADER_GAP
        if row.recalled_at:
            note = self.tr("Recalled at {time}").format(time=format_time(row.recalled_at))
            nl, nnat, nh = _text_layout(note, fonts.small_bold, width - 2 * MARGIN)
            nx = MARGIN + 2 if side == Side.LEFT else width - MARGIN - 2 - nnat
            ops.append(Op("text", QRect(nx, y, nnat, nh), nl, "warning"))
            texts.append(note)
            y += nh + HEADER_GAP

        b = _Builder(self, fonts, inner_w)
        content_h = b.blocks(rendered.blocks, 0, 0)
        content_w = max(24, min(inner_w, b.natural))
        bubble_w = content_w + 2 * BUBBLE_PAD
        bx = MARGIN if side == Side.LEFT else width - MARGIN - bubble_w
        bubble = QRect(bx, y, bubble_w, content_h + 2 * BUBBLE_PAD)
        ops.append(Op("bubble", bubble, payload=bool(row.recalled_at)))
        dx, dy = bx + BUBBLE_PAD, y + BUBBLE_PAD
        # The builder may hand the same QRect to an op and to a hotspot (a picture is both): moving
        # rects in place would move that one twice, so every rect is replaced by a moved copy.
        for op in b.ops:
            op.rect = op.rect.translated(dx, dy)
            if op.kind == "card_rule":
                op.rect.setWidth(content_w - (op.rect.left() - dx))
            ops.append(op)
        hot = [(r.translated(dx, dy), a, p) for r, a, p in b.hot]
        texts.extend(b.texts)
        y = bubble.bottom() + 1 + ROW_PAD
        return Layout(QSize(width, y), side, bubble, ops, hot, texts, tuple(b.media_ids))

    @staticmethod
    def _add_chips(lay: Layout, chips: tuple, fonts: _Fonts, width: int) -> None:
        """A row of chips under the bubble, on its side (wrapping within the bubble's widest)."""
        y = lay.size.height() - ROW_PAD + 2
        limit = max(lay.bubble.width(), min(MAX_BUBBLE, int(width * 0.74)))
        rows: list[list[tuple[QTextLayout, int, int, str, str]]] = [[]]
        used = 0
        for text, colour in chips:
            tl, nat, h = _text_layout(text, fonts.small, limit)
            w = nat + 12
            if rows[-1] and used + w > limit:
                rows.append([])
                used = 0
            rows[-1].append((tl, w, h, colour, text))
            used += w + 4
        for row in rows:
            total = sum(w for _l, w, _h, _c, _t in row) + 4 * (len(row) - 1)
            x = lay.bubble.left() if lay.side != Side.RIGHT else lay.bubble.right() + 1 - total
            h = max(hh for _l, _w, hh, _c, _t in row) + 4
            for tl, w, th, colour, text in row:
                lay.ops.append(Op("chip", QRect(x, y, w, h), payload=colour))
                lay.ops.append(Op("text", QRect(x + 6, y + (h - th) // 2, w - 12, th), tl,
                                  "text" if colour else "muted"))
                lay.texts.append(text)
                x += w + 4
            y += h + 3
        lay.size = QSize(lay.size.width(), y + ROW_PAD - 3)

    # -- painting
    def _paint_op(self, painter: QPainter, op: Op, lay: Layout, c: _Colors, option) -> None:
        if op.kind == "text":
            painter.setPen(person_color(op.payload) if op.color == "sender" and op.payload else c.get(op.color))
            op.text.draw(painter, QPointF(op.rect.topLeft()))
        elif op.kind == "avatar":
            userid, name, picture = op.payload
            dpr = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
            painter.drawPixmap(op.rect.topLeft(), avatar_pixmap(picture, name, userid, op.rect.width(), dpr))
        elif op.kind == "bubble":
            painter.setPen(QPen(c.border, 1, Qt.PenStyle.DashLine if op.payload else Qt.PenStyle.SolidLine))
            painter.setBrush(c.right if lay.side == Side.RIGHT else c.left)
            painter.drawRoundedRect(_crisp(op.rect), 8, 8)
        elif op.kind == "chip":  # a review tag in its colour, or a muted marker ("New", notes)
            colour = QColor(op.payload) if op.payload else c.muted
            fill = _mix(c.left, colour, 0.28) if op.payload else c.day
            painter.setPen(QPen(colour, 1))
            painter.setBrush(fill)
            painter.drawRoundedRect(_crisp(op.rect), op.rect.height() / 2, op.rect.height() / 2)
        elif op.kind == "day":
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(c.day)
            painter.drawRoundedRect(_crisp(op.rect), op.rect.height() / 2, op.rect.height() / 2)
        elif op.kind == "card_rule":
            painter.setPen(QPen(c.border, 1))
            painter.drawLine(op.rect.left(), op.rect.top(), op.rect.right(), op.rect.top())
        elif op.kind == "quote_bar":
            painter.fillRect(op.rect, c.border)
        elif op.kind == "thumb":
            media_id = op.payload[0]
            pm = self.thumbnails.pixmap(media_id) if self.thumbnails is not None else None
            if pm is not None:
                painter.drawPixmap(op.rect, pm)
            else:  # evicted from the cache since the layout was made: load it again
                self._placeholder(painter, op, c)
                self.thumbnails.request(media_id, op.payload[1])
        elif op.kind == "placeholder":
            self._placeholder(painter, op, c)
            if self.thumbnails is not None:
                self.thumbnails.request(op.payload[0], op.payload[1])
        elif op.kind == "icon":
            style = option.widget.style() if option.widget is not None else QApplication.style()
            icon = style.standardIcon(_ICONS.get(op.payload, QStyle.StandardPixmap.SP_FileIcon))
            icon.paint(painter, op.rect)

    def _placeholder(self, painter: QPainter, op: Op, c: _Colors) -> None:
        painter.setPen(QPen(c.border, 1, Qt.PenStyle.DashLine))
        painter.setBrush(c.placeholder)
        painter.drawRoundedRect(_crisp(op.rect.adjusted(0, 0, -1, -1)), 4, 4)
        painter.setPen(c.muted)
        painter.drawText(op.rect, Qt.AlignmentFlag.AlignCenter, self.tr("Loading…"))

    def _thumbnail_ready(self, media_id: int) -> None:
        message_id = self._media_rows.get(media_id)
        if message_id is None or self._view is None:
            return
        model = self._view.model()
        row = model.row_of(message_id) if hasattr(model, "row_of") else -1
        self.invalidate_layout_only(message_id)
        if row >= 0:
            self.sizeHintChanged.emit(model.index(row, 0))

    def invalidate_layout_only(self, message_id: int) -> None:
        for key in [k for k in self._cache if k[0] == message_id]:
            del self._cache[key]


def _crisp(rect: QRect) -> QRectF:  # on pixel centres, so 1 px pens stay crisp
    return QRectF(rect).adjusted(0.5, 0.5, -0.5, -0.5)


_ICONS = {
    "voice": QStyle.StandardPixmap.SP_MediaVolume,
    "recording": QStyle.StandardPixmap.SP_MediaVolume,
    "video": QStyle.StandardPixmap.SP_MediaPlay,
    "file": QStyle.StandardPixmap.SP_FileIcon,
    "image": QStyle.StandardPixmap.SP_FileIcon,
    "emotion": QStyle.StandardPixmap.SP_FileIcon,
}


class _Colors:
    """Bubble and text colours derived from the palette, so light and dark themes both work."""

    def __init__(self, pal: QPalette):
        base = pal.color(QPalette.ColorRole.Base)
        text = pal.color(QPalette.ColorRole.Text)
        highlight = pal.color(QPalette.ColorRole.Highlight)
        dark = base.lightnessF() < 0.5
        self.text = text
        self.muted = _mix(text, base, 0.45)
        self.link = pal.color(QPalette.ColorRole.Link)
        self.warning = QColor("#ef9a9a") if dark else QColor("#c62828")
        self.left = _mix(base, text, 0.07)
        self.right = _mix(base, highlight, 0.22)
        self.border = _mix(base, text, 0.2)
        self.day = _mix(base, text, 0.09)
        self.placeholder = _mix(base, text, 0.04)

    def get(self, name: str) -> QColor:
        return getattr(self, name, self.text)


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor.fromRgbF(a.redF() * (1 - t) + b.redF() * t, a.greenF() * (1 - t) + b.greenF() * t,
                           a.blueF() * (1 - t) + b.blueF() * t)
