"""Review badges in the session tree: how many messages are new since my last review of a
conversation, its open alerts, and a tick when it is reviewed — drawn at the right end of the
names column by a delegate the review installs on the tree (the tree's model knows nothing of them)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem, QToolTip

from ..counts import count_text
from ..sessions.model import SessionRole, plain_tooltip

ALERT = QColor("#D93025")
NEW = QColor("#1A73E8")


class SessionBadges(QStyledItemDelegate):
    """Paints a session row's title with its badges (GUI thread only)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._new: dict[tuple[int, str], int] = {}
        self._alerts: dict[tuple[int, str], int] = {}
        self._reviewed: set[tuple[int, str]] = set()

    def set_counts(self, overview: dict, alerts: dict) -> None:
        """``overview``: StatusService.overview (status, new since my mark); ``alerts``: open alerts
        per session (AlertService.session_counts)."""
        self._new = {k: new for k, (_status, new) in overview.items() if new}
        self._reviewed = {k for k, (status, new) in overview.items() if status == "reviewed" and not new}
        self._alerts = {k: n for k, n in alerts.items() if n}

    def badges(self, index: QModelIndex) -> list[tuple[str, QColor | None]]:
        """(text, colour or None for a plain tick) of the row's badges, left to right."""
        sid = index.data(SessionRole.SessionIdRole)
        if sid is None:
            return []
        key = (index.data(SessionRole.CorpIdRole), sid)
        out: list[tuple[str, QColor | None]] = []
        if self._new.get(key):
            out.append((self.tr("%1 new").replace("%1", str(self._new[key])), NEW))
        if self._alerts.get(key):
            out.append(("⚑ " + str(self._alerts[key]), ALERT))
        if key in self._reviewed:
            out.append(("✓", None))
        return out

    def describe(self, index: QModelIndex) -> str:
        """The badges in words (the row's tooltip)."""
        sid = index.data(SessionRole.SessionIdRole)
        key = (index.data(SessionRole.CorpIdRole), sid)
        parts = []
        if self._new.get(key):
            parts.append(count_text(self._new[key], self.tr("1 message new since your last review"),
                                    self.tr("%1 messages new since your last review")))
        if self._alerts.get(key):
            parts.append(count_text(self._alerts[key], self.tr("1 open alert"), self.tr("%1 open alerts")))
        if key in self._reviewed:
            parts.append(self.tr("Reviewed"))
        return "\n".join(parts)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        badges = self.badges(index)
        if not badges:
            super().paint(painter, option, index)
            return
        metrics = option.fontMetrics
        widths = [metrics.horizontalAdvance(text) + 10 for text, _c in badges]
        total = sum(widths) + 4 * len(widths)
        title = QStyleOptionViewItem(option)
        title.rect = option.rect.adjusted(0, 0, -total, 0)
        super().paint(painter, title, index)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        x = option.rect.right() - total + 4
        h = min(option.rect.height() - 4, metrics.height() + 2)
        y = option.rect.top() + (option.rect.height() - h) // 2
        for (text, colour), w in zip(badges, widths, strict=True):
            rect = QRect(x, y, w, h)
            if colour is not None:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(colour)
                painter.drawRoundedRect(QRectF(rect), h / 2, h / 2)
                painter.setPen(QColor("white"))
            else:
                painter.setPen(option.palette.color(QPalette.ColorRole.Text))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
            x += w + 4
        painter.restore()

    def helpEvent(self, event, view, option, index) -> bool:  # noqa: N802 - Qt's name
        words = self.describe(index) if index.isValid() and self.badges(index) else ""
        if words:
            tip = str(index.data(SessionRole.TitleRole) or "")
            QToolTip.showText(event.globalPos(), plain_tooltip((tip + "\n\n" if tip else "") + words), view)
            return True
        return super().helpEvent(event, view, option, index)
