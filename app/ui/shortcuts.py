"""The window's shortcuts before a text field's key bindings.

On X11 desktops Qt's key scheme gives a line edit Emacs-style bindings (Ctrl+E is "end of line",
Ctrl+U, Ctrl+K…): the field claims those keys (it accepts their ShortcutOverride), so Ctrl+E "Export
evidence" did nothing while the search box or the session filter had the focus. This filter, on the
application while a window lives, lets the window's own actions have their keys first, except the
bindings a person expects of any text field (copy, cut, paste, undo, redo, select all), and keys
without Ctrl or Alt (typing).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

_TEXT_FIELDS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit, QComboBox)
_FIELD_KEEPS = (QKeySequence.StandardKey.Copy, QKeySequence.StandardKey.Cut, QKeySequence.StandardKey.Paste,
                QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo, QKeySequence.StandardKey.SelectAll)


def _window_keys(window: QWidget) -> list[QKeySequence]:
    """The keys of the window's enabled actions (menus, panels' toggles), read at each key press:
    panels add and enable actions later, and a Ctrl or Alt key in a text field is rare enough."""
    return [k for action in window.findChildren(QAction) if action.isEnabled()
            for k in action.shortcuts() if not k.isEmpty()]


class WindowShortcutsFirst(QObject):
    """Installed on the QApplication for ``window``; a child of the window, so it goes with it
    (Qt removes a deleted object from the event filters)."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.window = window
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(obj, _TEXT_FIELDS) \
                or obj.window() is not self.window:
            return False
        if not event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return False  # typing, Shift included
        if any(event.matches(k) for k in _FIELD_KEEPS):
            return False
        if QKeySequence(event.keyCombination()) in _window_keys(self.window):
            event.ignore()  # not the field's: the shortcut map gives the key to the window's action
            return True
        return False
