"""The first-run screen (no corp configured yet): open the demo archive, or configure a corp."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.core.actor import Actor
from app.core.config.settings import CorpSettings
from app.core.context import AppContext

BUTTON_WIDTH = 320  # each of the two choices


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

        demo_hint = self.tr("Generated conversations served by the built-in WeCom SDK simulator")
        configure_hint = self.tr("Corp ID, chat-archive secret, private keys and the SDK library")
        self.demo_button = self._big_button(self.tr("Open the demo archive"), demo_hint)
        self.configure_button = self._big_button(self.tr("Configure my corp"), configure_hint)
        self.demo_hint, self.configure_hint = self._hint(demo_hint), self._hint(configure_hint)
        self.demo_button.clicked.connect(self.demo_requested)
        self.configure_button.clicked.connect(self.configure_requested)

        self.not_allowed = QLabel(self.tr(
            "Only an administrator can set up the archive: ask one to open the demo archive or to configure "
            "the corp, then log in again."), self)
        self.not_allowed.setTextFormat(Qt.TextFormat.PlainText)
        self.not_allowed.setWordWrap(True)
        self.not_allowed.setMaximumWidth(640)
        self.not_allowed.hide()
        # What the window is doing for the user meanwhile ("Preparing the demo archive…"): here, where
        # they look, and in full (the status bar beside the account label had room for two words).
        self.busy = QLabel(self)
        self.busy.setTextFormat(Qt.TextFormat.PlainText)
        self.busy.setWordWrap(True)
        self.busy.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.busy.hide()

        # Title, text and the two choices share one centred column; the buttons are equally wide and
        # their explanations wrap under them, so the page is symmetric in every language and width.
        buttons = QHBoxLayout()
        buttons.setSpacing(16)
        for button, hint in ((self.demo_button, self.demo_hint), (self.configure_button, self.configure_hint)):
            choice = QVBoxLayout()
            choice.setSpacing(6)
            choice.addWidget(button)
            choice.addWidget(hint)
            choice.addStretch(1)
            buttons.addLayout(choice, 1)
        self.content = QWidget(self)
        self.content.setFixedWidth(2 * BUTTON_WIDTH + buttons.spacing())
        column = QVBoxLayout(self.content)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(18)
        column.addWidget(title)
        column.addWidget(intro)
        column.addSpacing(8)
        column.addLayout(buttons)
        column.addWidget(self.not_allowed)
        column.addWidget(self.busy)
        intro.setMaximumWidth(16777215)
        self.not_allowed.setMaximumWidth(16777215)
        row = QHBoxLayout()  # stretches, not an alignment flag: wrapped text then gets its height
        row.addStretch(1)
        row.addWidget(self.content)
        row.addStretch(1)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(1)

    def show_busy(self, text: str) -> None:
        """Say what runs for the user (empty: nothing); the buttons wait meanwhile."""
        self.busy.setText(text)
        self.busy.setVisible(bool(text))

    def set_setup_allowed(self, allowed: bool) -> None:
        """Setting up (demo or corp) needs the administrator's permissions; others get a note."""
        self.demo_button.setEnabled(allowed)
        self.configure_button.setEnabled(allowed)
        self.not_allowed.setVisible(not allowed)

    def _big_button(self, text: str, hint: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setToolTip(hint)
        button.setAccessibleDescription(hint)
        button.setFixedSize(BUTTON_WIDTH, 56)
        font = button.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        button.setFont(font)
        return button

    def _hint(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        label.setFixedWidth(BUTTON_WIDTH)
        return label
