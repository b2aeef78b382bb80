"""What the review's widgets share: the services of the open archive, the UI's language, flat
lists, and refusals said as sentences."""

from __future__ import annotations

import weakref
from datetime import datetime

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from app.core.auth.errors import PermissionDenied
from app.core.review import Review, ReviewError, TagRow
from app.core.safe_text import display_name, display_text
from app.ui.language import as_sentence, error_sentence, ui_is_chinese

translate = QCoreApplication.translate
_REVIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def review_of(ctx) -> Review:
    """The review services of ``ctx``'s archive (one per AppContext; thread-safe, call them off the
    GUI thread)."""
    review = _REVIEWS.get(ctx)
    if review is None:
        review = _REVIEWS[ctx] = Review(ctx.db, ctx.trail)
    return review


def tag_label(tag: TagRow) -> str:
    """The tag's name in the UI's language, made safe to show."""
    return display_name(tag.label("zh" if ui_is_chinese() else "en"))


def menu_text(text: str) -> str:
    """``text`` for a menu entry: an '&' in it (a tag "R&D") is shown, not taken for a shortcut key."""
    return text.replace("&", "&&")


def when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M") if ms else ""


def tree_widget(parent: QWidget, headers: list[str]) -> QTreeWidget:
    """A flat list with columns, as the review's queues and settings show them."""
    tree = QTreeWidget(parent)
    tree.setHeaderLabels(headers)
    tree.setRootIsDecorated(False)
    tree.setAlternatingRowColors(True)
    tree.setUniformRowHeights(True)
    tree.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
    return tree


def tree_item(values: list[str], data) -> QTreeWidgetItem:
    """A row of ``tree_widget`` (item text is plain text) carrying ``data`` in column 0's UserRole."""
    item = QTreeWidgetItem([str(v) for v in values])
    item.setData(0, Qt.ItemDataRole.UserRole, data)
    return item


def refusal_text(exc: BaseException) -> str:
    """One sentence for the user about a review action the core refused or could not do."""
    if isinstance(exc, PermissionDenied):
        if getattr(exc, "permission", "") == "scope":
            return translate("ReviewText", "Refused: this is outside the scope of your account, so nothing was "
                                           "changed.")
        return translate("ReviewText", "Refused: %1").replace("%1", as_sentence(display_text(error_sentence(exc))))
    if isinstance(exc, ReviewError):
        return as_sentence(display_text(error_sentence(exc)))
    return translate("ReviewText", "This could not be done: %1").replace("%1", as_sentence(display_text(error_sentence(exc))))
