"""Small bar charts painted with QPainter, for the statistics page and the timeline.

Why not Qt Charts: it ships in PySide6-Addons, which the app does not depend on (PySide6-Essentials
only, about a third of the size, and what the bundle carries), and matplotlib is kept out of the
bundle (packaging/wecom-auditor.spec). Two kinds of chart are needed — counts per category as
horizontal bars, counts per day as columns — and both are a hundred lines of painting that follow
the palette (dark themes, selection colours) and draw every label as plain text.

Labels are drawn with ``drawText`` (never rich text); hovering a bar shows its tooltip, escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QLocale, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget


def plain_tooltip(text: str) -> str:
    """A tooltip that shows ``text`` literally (Qt guesses rich text in tooltips)."""
    return "<qt>" + html.escape(text).replace("\n", "<br>") + "</qt>"


@dataclass(frozen=True)
class Bar:
    label: str  # plain text, already made safe (display_name)
    value: int
    tooltip: str = ""  # plain text
    key: object = None  # what ``bar_activated`` carries (e.g. a userid)


class BarChart(QWidget):
    """Counts as bars: ``horizontal`` (a label, a bar and the figure per row, for categories) or
    columns along a time axis (``horizontal=False``; labels under some columns). GUI thread only."""

    bar_activated = Signal(object)  # the key of a bar double-clicked

    ROW = 20  # height of a horizontal bar's row
    MARGIN = 6

    def __init__(self, parent: QWidget | None = None, *, horizontal: bool = True):
        super().__init__(parent)
        self.horizontal = horizontal
        self.title = ""
        self.empty_text = ""
        self.bars: list[Bar] = []
        self.footnote = ""  # a line under the bars, e.g. "and 23 others: 179"
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding,
                           QSizePolicy.Policy.Preferred if horizontal else QSizePolicy.Policy.Expanding)

    def set_bars(self, title: str, bars: list[Bar], empty_text: str = "", *, footnote: str = "") -> None:
        self.title, self.bars, self.empty_text, self.footnote = title, list(bars), empty_text, footnote
        self.updateGeometry()
        self.update()

    # ------------------------------------------------------------------ geometry
    def _title_height(self) -> int:
        return QFontMetrics(self._title_font()).height() + self.MARGIN

    def _title_font(self) -> QFont:
        font = QFont(self.font())
        font.setBold(True)
        return font

    def sizeHint(self) -> QSize:
        if self.horizontal:
            rows = max(1, len(self.bars)) + (1 if self.footnote else 0)
            return QSize(360, self._title_height() + rows * self.ROW + 2 * self.MARGIN)
        return QSize(600, 220)

    def minimumSizeHint(self) -> QSize:
        return QSize(200, self.sizeHint().height() if self.horizontal else 150)

    def _plot(self) -> QRect:
        r = self.rect().adjusted(self.MARGIN, self.MARGIN + self._title_height(), -self.MARGIN, -self.MARGIN)
        if not self.horizontal:  # room for the figures on the left and the day labels below
            fm = QFontMetrics(self.font())
            r.adjust(fm.horizontalAdvance(self._number(self._top())) + 6, 0, 0, -(fm.height() + 4))
        return r

    def _top(self) -> int:
        return max((b.value for b in self.bars), default=0)

    def _number(self, n: int) -> str:
        return QLocale().toString(int(n))

    def bar_rect(self, i: int) -> QRect:
        """Where bar ``i`` is hit (its row, or its column, whole height)."""
        plot = self._plot()
        if self.horizontal:
            return QRect(plot.left(), plot.top() + i * self.ROW, plot.width(), self.ROW)
        n = max(1, len(self.bars))
        left = plot.left() + (plot.width() * i) // n
        right = plot.left() + (plot.width() * (i + 1)) // n
        return QRect(left, plot.top(), max(1, right - left), plot.height())

    def bar_at(self, pos: QPoint) -> int:
        for i in range(len(self.bars)):
            if self.bar_rect(i).contains(pos):
                return i
        return -1

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        p.setPen(text)
        p.setFont(self._title_font())
        p.drawText(QRect(self.MARGIN, self.MARGIN, self.width() - 2 * self.MARGIN, self._title_height()),
                   int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop), self.title)
        p.setFont(self.font())
        if not self.bars:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(self._plot(), int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self.empty_text)
            return
        if self.horizontal:
            self._paint_rows(p, pal)
        else:
            self._paint_columns(p, pal)

    def _paint_rows(self, p: QPainter, pal: QPalette) -> None:
        fm = QFontMetrics(self.font())
        plot = self._plot()
        top = max(1, self._top())
        label_w = min(max(fm.horizontalAdvance(b.label) for b in self.bars) + 10, int(plot.width() * 0.45))
        value_w = fm.horizontalAdvance(self._number(top)) + 8
        span = max(1, plot.width() - label_w - value_w)
        bar_colour = pal.color(QPalette.ColorRole.Highlight)
        for i, b in enumerate(self.bars):
            row = self.bar_rect(i)
            p.setPen(pal.color(QPalette.ColorRole.WindowText))
            p.drawText(QRect(row.left(), row.top(), label_w - 8, row.height()),
                       int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                       fm.elidedText(b.label, Qt.TextElideMode.ElideMiddle, label_w - 8))
            width = max(1 if b.value else 0, round(span * b.value / top))
            p.fillRect(QRect(row.left() + label_w, row.top() + 3, width, row.height() - 6), bar_colour)
            p.drawText(QRect(row.left() + label_w + width + 4, row.top(), value_w, row.height()),
                       int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), self._number(b.value))
        if self.footnote:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            below = self.bar_rect(len(self.bars))
            p.drawText(below.adjusted(label_w, 0, 0, 0), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                       fm.elidedText(self.footnote, Qt.TextElideMode.ElideRight, below.width() - label_w))

    def _paint_columns(self, p: QPainter, pal: QPalette) -> None:
        fm = QFontMetrics(self.font())
        plot = self._plot()
        top = max(1, self._top())
        grid = QColor(pal.color(QPalette.ColorRole.Mid))
        p.setPen(grid)
        p.drawLine(plot.bottomLeft(), plot.bottomRight())
        p.drawLine(plot.topLeft(), plot.bottomLeft())
        p.setPen(pal.color(QPalette.ColorRole.WindowText))
        for value, y in ((top, plot.top()), (0, plot.bottom())):
            p.drawText(QRect(0, y - fm.height() // 2, plot.left() - 4, fm.height()),
                       int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), self._number(value))
        bar_colour = pal.color(QPalette.ColorRole.Highlight)
        for i, b in enumerate(self.bars):
            col = self.bar_rect(i)
            h = round((plot.height() - 1) * b.value / top)
            if b.value and h < 1:
                h = 1
            gap = 1 if col.width() > 3 else 0
            p.fillRect(QRect(col.left() + gap, plot.bottom() - h, max(1, col.width() - 2 * gap), h), bar_colour)
        # labels under the columns: as many as fit without touching, evenly spread, the last one always
        spans = []
        for i, b in enumerate(self.bars):
            w = fm.horizontalAdvance(b.label)
            x = min(max(plot.left(), self.bar_rect(i).center().x() - w // 2), plot.right() - w)
            spans.append((x, w))
        gap = fm.horizontalAdvance("  ")
        widest = max(w for _, w in spans) + gap
        every = max(1, -(-widest * len(self.bars) // max(1, plot.width())))
        last = len(self.bars) - 1
        shown: list[int] = []
        for i in [*range(0, last, every), last]:  # evenly spread, the last always; none touching
            if shown and spans[i][0] < spans[shown[-1]][0] + spans[shown[-1]][1] + gap:
                if i != last:
                    continue
                shown.pop()  # the last label takes the place of the one too close to it
            shown.append(i)
        for i in shown:
            x, w = spans[i]
            p.drawText(QRect(x, plot.bottom() + 2, w + 2, fm.height()),
                       int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop), self.bars[i].label)

    # ------------------------------------------------------------------ interaction
    def event(self, e) -> bool:
        if e.type() == QEvent.Type.ToolTip:
            i = self.bar_at(e.pos())
            if i >= 0:
                b = self.bars[i]
                QToolTip.showText(e.globalPos(), plain_tooltip(b.tooltip or f"{b.label}: {self._number(b.value)}"),
                                  self)
            else:
                QToolTip.hideText()
                e.ignore()
            return True
        return super().event(e)

    def mouseDoubleClickEvent(self, e) -> None:
        i = self.bar_at(e.position().toPoint())
        if i >= 0 and self.bars[i].key is not None:
            self.bar_activated.emit(self.bars[i].key)
        super().mouseDoubleClickEvent(e)


__all__ = ["Bar", "BarChart", "plain_tooltip"]
