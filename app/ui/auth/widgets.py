"""Small pieces the account dialogs share: a red message line, a new-password pair with the
policy shown, and role ticks."""

from __future__ import annotations

import secrets
import string

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.auth import ROLES

from .services import password_policy_text, policy_problem, role_description, role_label

ERROR_STYLE = "color: #b3261e;"
OK_STYLE = "color: #1e7b34;"
HINT_STYLE = "color: #6b6b6b;"


def plain_label(text: str = "", parent: QWidget | None = None, *, wrap: bool = True) -> QLabel:
    """A label that never interprets its text as HTML."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    label.setText(text)
    return label


class MessageLine(QLabel):
    """A plain-text line for errors (red) and notes; hidden while empty."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def show_error(self, text: str) -> None:
        self.setStyleSheet(ERROR_STYLE)
        self.setText(text)
        self.setVisible(bool(text))

    def show_ok(self, text: str) -> None:
        self.setStyleSheet(OK_STYLE)
        self.setText(text)
        self.setVisible(bool(text))

    def show_note(self, text: str) -> None:
        self.setStyleSheet("")
        self.setText(text)
        self.setVisible(bool(text))

    def clear_message(self) -> None:
        self.setText("")
        self.hide()


def password_edit(parent: QWidget | None = None) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setMaxLength(1024)
    return edit


def generated_password(length: int = 16) -> str:
    """A random password of letters and digits that meets the policy (for an administrator to hand
    over; its owner must change it at the next login)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in pw) and any(c.isalpha() for c in pw):
            return pw


class NewPasswordFields(QWidget):
    """"Password" and "Repeat password" with the policy under them (and, optionally, a button that
    generates one and shows it for handing over). :meth:`problem` says what is wrong, if anything."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None, *, labels: tuple[str, str] | None = None,
                 generate: bool = False):
        super().__init__(parent)
        self.password = password_edit(self)
        self.repeat = password_edit(self)
        self.password.setAccessibleName(labels[0] if labels else self.tr("Password"))
        self.repeat.setAccessibleName(labels[1] if labels else self.tr("Repeat password"))
        self.policy = plain_label(password_policy_text(), self)
        self.policy.setStyleSheet(HINT_STYLE)
        self.show_button = QToolButton(self)
        self.show_button.setText(self.tr("Show"))
        self.show_button.setCheckable(True)
        self.show_button.toggled.connect(self._set_visible)
        self.generate_button = QToolButton(self)
        self.generate_button.setText(self.tr("Generate"))
        self.generate_button.setToolTip(self.tr("Fill in a random password and show it, to hand it over"))
        self.generate_button.setVisible(generate)
        self.generate_button.clicked.connect(self.fill_generated)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.password, 1)
        row.addWidget(self.show_button)
        row.addWidget(self.generate_button)
        self.form = form = QFormLayout(self)  # callers may insert rows (a user name) to share its columns
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(labels[0] if labels else self.tr("Password:"), row)
        form.addRow(labels[1] if labels else self.tr("Repeat password:"), self.repeat)
        form.addRow("", self.policy)
        self.password.textChanged.connect(self.changed)
        self.repeat.textChanged.connect(self.changed)

    def _set_visible(self, visible: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if visible else QLineEdit.EchoMode.Password
        self.password.setEchoMode(mode)
        self.repeat.setEchoMode(mode)

    def fill_generated(self) -> None:
        pw = generated_password()
        self.password.setText(pw)
        self.repeat.setText(pw)
        self.show_button.setChecked(True)

    def text(self) -> str:
        return self.password.text()

    def problem(self, username: str) -> str | None:
        """What is wrong (empty, not repeated, against the policy), or None."""
        if not self.password.text():
            return self.tr("Enter the new password.")
        if self.password.text() != self.repeat.text():
            return self.tr("The two passwords differ.")
        return policy_problem(self.password.text(), username)

    def clear(self) -> None:
        self.password.clear()
        self.repeat.clear()


class RoleChecks(QWidget):
    """One tick per role, each with what it allows."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None, *, roles=(), locked=()):
        super().__init__(parent)
        self.boxes: dict[str, QCheckBox] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        for role in ROLES:
            box = QCheckBox(role_label(role), self)
            box.setChecked(role in roles or role in locked)
            box.setEnabled(role not in locked)
            box.toggled.connect(self.changed)
            hint = plain_label(role_description(role), self)
            hint.setStyleSheet(HINT_STYLE)
            hint.setContentsMargins(24, 0, 0, 4)
            layout.addWidget(box)
            layout.addWidget(hint)
            self.boxes[role] = box

    def roles(self) -> frozenset[str]:
        return frozenset(r for r, box in self.boxes.items() if box.isChecked())

    def set_roles(self, roles) -> None:
        for r, box in self.boxes.items():
            box.setChecked(r in roles)


__all__ = ["ERROR_STYLE", "HINT_STYLE", "MessageLine", "NewPasswordFields", "OK_STYLE", "RoleChecks",
           "generated_password", "password_edit", "plain_label"]
