"""What the main window shows instead of sessions, messages and search to an account that may not
read message content (an administrator who is not also a reviewer, an auditor, an exporter): who
is logged in, why there is no content, and buttons for what this account may do."""

from __future__ import annotations

import re

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from app.core.actor import Actor

from .services import roles_text
from .widgets import plain_label


def _without_mnemonic(text: str) -> str:
    """A menu text without its keyboard mnemonic: "&Sync now" → "Sync now", "同步(&S)" → "同步"."""
    return re.sub(r"\(&\w\)", "", text).replace("&&", "\0").replace("&", "").replace("\0", "&")


class ContentNotice(QWidget):
    """A page with a clear notice and one button per action given (only the visible ones)."""

    def __init__(self, actor: Actor, actions: list[QAction], parent: QWidget | None = None):
        super().__init__(parent)
        title = plain_label(self.tr("Message content is not available to this account"), self)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        title.setFont(font)
        body = plain_label(self.tr(
            "You are logged in as %1 with the roles: %2. Reading sessions, messages, media and search results "
            "needs the Reviewer role; administrators read no message content unless they are also reviewers. "
            "Ask an administrator to give you the Reviewer role if your work needs it.")
            .replace("%1", actor.username).replace("%2", roles_text(actor.roles)), self)
        body.setFixedWidth(600)  # a wrapped label in a centred column would otherwise shrink to its minimum
        self.buttons: list[QPushButton] = []
        row = QHBoxLayout()
        row.setSpacing(12)
        for action in actions:
            if not action.isVisible():
                continue
            button = QPushButton(_without_mnemonic(action.text()), self)
            button.setMinimumHeight(40)
            button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            button.setEnabled(action.isEnabled())
            action.enabledChanged.connect(button.setEnabled)
            button.clicked.connect(action.trigger)
            row.addWidget(button)
            self.buttons.append(button)
        row.addStretch(1)
        column = QVBoxLayout()
        column.setSpacing(16)
        column.addStretch(1)
        column.addWidget(title)
        column.addWidget(body)
        column.addLayout(row)
        column.addStretch(2)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(column)
        outer.addStretch(1)


__all__ = ["ContentNotice"]
