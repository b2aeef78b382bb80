"""The first-run screen (no corp configured yet): open the demo archive, or configure a corp."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from app.core.actor import Actor
from app.core.config.settings import CorpSettings
from app.core.context import AppContext


def prepare_demo(ctx: AppContext, actor: Actor | None = None) -> CorpSettings:
    """Configure the demo corp (the SDK simulator serving a generated 3,000-message corpus; ~10 s
    the first time) as ``actor`` (who needs ``settings.change``; None only on an archive without
    accounts, where the core creates its demo account). Blocking: run it off the GUI thread
    (run_task), then start a sync of the result."""
    corp, _where = ctx.setup_demo(actor=actor)
    return corp


class WelcomeWidget(QWidget):
    demo_requested = Signal()
    configure_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        title = QLabel(self.tr("Welcome to WeCom Archive Auditor"), self)
        title.setTextFormat(Qt.TextFormat.PlainText)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        intro = QLabel(self.tr(
            "This app keeps your company's WeCom chat archive (会话内容存档) on your own computer or server, "
            "exactly as WeCom delivered it, and lets compliance officers review, search and export it. "
            "Tencent keeps the archive for only about five days, so sync regularly.\n\n"
            "No corp is configured yet. Try the app with a demo archive of generated conversations, "
            "or enter your corp's ID, chat-archive secret and private keys."), self)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setWordWrap(True)
        intro.setMaximumWidth(640)

        self.demo_button = self._big_button(
            self.tr("Open the demo archive"),
            self.tr("Generated conversations served by the built-in WeCom SDK simulator"))
        self.configure_button = self._big_button(
            self.tr("Configure my corp"),
            self.tr("Corp ID, chat-archive secret, private keys and the SDK library"))
        self.demo_button.clicked.connect(self.demo_requested)
        self.configure_button.clicked.connect(self.configure_requested)

        self.not_allowed = QLabel(self.tr(
            "Only an administrator can set up the archive: ask one to open the demo archive or to configure "
            "the corp, then log in again."), self)
        self.not_allowed.setTextFormat(Qt.TextFormat.PlainText)
        self.not_allowed.setWordWrap(True)
        self.not_allowed.setMaximumWidth(640)
        self.not_allowed.hide()

        buttons = QHBoxLayout()
        buttons.setSpacing(16)
        buttons.addWidget(self.demo_button)
        buttons.addWidget(self.configure_button)
        column = QVBoxLayout()
        column.setSpacing(18)
        column.addStretch(1)
        column.addWidget(title)
        column.addWidget(intro)
        column.addSpacing(8)
        column.addLayout(buttons)
        column.addWidget(self.not_allowed)
        column.addStretch(1)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(column)
        outer.addStretch(1)

    def set_setup_allowed(self, allowed: bool) -> None:
        """Setting up (demo or corp) needs the administrator's permissions; others get a note."""
        self.demo_button.setEnabled(allowed)
        self.configure_button.setEnabled(allowed)
        self.not_allowed.setVisible(not allowed)

    def _big_button(self, text: str, hint: str) -> QPushButton:
        button = QPushButton(f"{text}\n{hint}", self)
        button.setToolTip(hint)
        button.setMinimumSize(300, 84)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        font = button.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        button.setFont(font)
        return button
