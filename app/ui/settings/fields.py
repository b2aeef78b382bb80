"""Small building blocks of the settings pages: inline error labels and path pickers."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

ERROR_STYLE = "color: #b3261e;"
OK_STYLE = "color: #1e7b34;"
NOTE_STYLE = "color: #5f6368;"


class ErrorLabel(QLabel):
    """Red text under a field; hidden while there is no error."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setStyleSheet(ERROR_STYLE)
        self.hide()

    def set_error(self, message: str | None) -> None:
        self.setText(message or "")
        self.setVisible(bool(message))


def note_label(text: str, parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


class PathField(QWidget):
    """A line edit with a Browse… button. ``mode``: "file", "save" or "folder"."""

    textChanged = Signal(str)

    def __init__(self, mode: str, caption: str, name_filter: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.mode, self.caption, self.name_filter = mode, caption, name_filter
        self.edit = QLineEdit(self)
        self.edit.setClearButtonEnabled(True)
        self.browse_button = QPushButton(self.tr("Browse…"), self)
        self.browse_button.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.browse_button)
        self.edit.textChanged.connect(self.textChanged)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:
        self.edit.setText(text)

    def setPlaceholderText(self, text: str) -> None:
        self.edit.setPlaceholderText(text)

    def _browse(self) -> None:
        start = self.text()
        if self.mode == "folder":
            chosen = QFileDialog.getExistingDirectory(self, self.caption, start)
        elif self.mode == "save":
            chosen, _ = QFileDialog.getSaveFileName(self, self.caption, start, self.name_filter)
        else:
            chosen, _ = QFileDialog.getOpenFileName(self, self.caption, start, self.name_filter)
        if chosen:
            self.edit.setText(chosen)
