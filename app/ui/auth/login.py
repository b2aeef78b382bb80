"""The dialogs between start-up and the main window: the first administrator, logging in, and
changing one's password (forced after an administrator's reset).

Password checks cost ~0.3 s of scrypt each, so every call to the AccountService runs off the GUI
thread (run_task); the form is disabled meanwhile and the dialog closes when the answer arrives.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.auth import ADMINISTRATOR, ROLES, AccountError, AccountService, canonical_username

from ..tasks import run_task
from .services import error_text
from .widgets import HINT_STYLE, MessageLine, NewPasswordFields, RoleChecks, password_edit, plain_label


def _title_label(text: str, parent: QWidget):
    label = plain_label(text, parent, wrap=False)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.4)
    font.setBold(True)
    label.setFont(font)
    return label


class BackgroundDialog(QDialog):
    """A dialog whose OK button runs one AccountService call in the background."""

    attempt_failed = Signal(str)  # the message now shown (for tests and screen readers)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.actor: Actor | None = None
        self.error = MessageLine(self)
        self.buttons = QDialogButtonBox(self)
        self.ok_button: QPushButton = self.buttons.addButton(QDialogButtonBox.StandardButton.Ok)
        self.cancel_button: QPushButton = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._busy = False
        self._attempt = 0
        self._form_widgets: list[QWidget] = []

    def accept(self) -> None:  # the OK button: check, then run; the dialog closes when it succeeds
        if self._busy:
            return
        problem = self.problem()
        if problem:
            self._fail(problem)
            return
        self._set_busy(True)
        self._attempt += 1
        attempt = self._attempt
        run_task(self, self.work(), lambda result: self._done(attempt, result),
                 lambda exc: self._failed(attempt, exc))

    def problem(self) -> str | None:
        """What is wrong with the form before anything is sent, or None."""
        return None

    def work(self):
        """The call to run in the background (a no-argument callable returning the result)."""
        raise NotImplementedError

    def succeeded(self, result) -> None:
        self.actor = result

    def _done(self, attempt: int, result) -> None:
        if attempt != self._attempt:  # cancelled meanwhile
            return
        self._set_busy(False)
        self.succeeded(result)
        super().accept()

    def _failed(self, attempt: int, exc: Exception) -> None:
        if attempt != self._attempt:
            return
        self._set_busy(False)
        self.failed(exc)

    def failed(self, exc: Exception) -> None:
        self._fail(error_text(exc))

    def _fail(self, message: str) -> None:
        self.error.show_error(message)
        self.attempt_failed.emit(message)

    def reject(self) -> None:
        self._attempt += 1  # an answer still on its way is dropped
        self._set_busy(False)
        super().reject()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for w in self._form_widgets:
            w.setEnabled(not busy)
        self.ok_button.setEnabled(not busy)
        if busy:
            self.error.show_note(self.busy_text())

    def busy_text(self) -> str:
        return self.tr("Checking…")


class LoginDialog(BackgroundDialog):
    """User name and password. A wrong password or unknown name gets one generic message; a locked
    account says until when (local time). ``actor`` is set when it closes accepted; ``password``
    keeps the password only if the account must change it now (for the change-password dialog)."""

    def __init__(self, accounts: AccountService, *, workstation: str = "", archive: str = "", username: str = "",
                 message: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.accounts = accounts
        self.workstation = workstation
        self.password = ""
        self.setWindowTitle(self.tr("Log in — WeCom Archive Auditor"))
        self.ok_button.setText(self.tr("Log in"))
        self.cancel_button.setText(self.tr("Quit"))
        title = _title_label(self.tr("WeCom Archive Auditor"), self)
        where = plain_label(self.tr("Archive: %1").replace("%1", archive) if archive else "", self)
        where.setStyleSheet(HINT_STYLE)
        where.setVisible(bool(archive))
        self.user_edit = QLineEdit(self)
        self.user_edit.setText(username)
        self.user_edit.setAccessibleName(self.tr("User name"))
        self.user_edit.setMaxLength(64)
        self.password_edit = password_edit(self)
        self.password_edit.setAccessibleName(self.tr("Password"))
        form = QFormLayout()
        form.addRow(self.tr("User name:"), self.user_edit)
        form.addRow(self.tr("Password:"), self.password_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(where)
        layout.addSpacing(8)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self._form_widgets = [self.user_edit, self.password_edit]
        self.setMinimumWidth(440)
        if message:
            self.error.show_note(message)
        (self.password_edit if username else self.user_edit).setFocus()

    def problem(self) -> str | None:
        if not self.user_edit.text().strip():
            return self.tr("Enter your user name.")
        if not self.password_edit.text():
            return self.tr("Enter your password.")
        return None

    def work(self):
        accounts, ws = self.accounts, self.workstation
        name, pw = self.user_edit.text().strip(), self.password_edit.text()
        return lambda: accounts.authenticate(name, pw, ws)

    def succeeded(self, actor: Actor) -> None:
        self.actor = actor
        self.password = self.password_edit.text() if actor.must_change_password else ""
        self.password_edit.clear()

    def failed(self, exc: Exception) -> None:
        super().failed(exc)
        self.password_edit.clear()
        self.password_edit.setFocus()


class FirstRunDialog(BackgroundDialog):
    """The archive has no account yet: create the first administrator (with, for a single-person
    workstation, the other roles too) and log in as it. ``no_login`` says whether the user asked
    to open this workstation without login from now on; ``already_set_up`` is True if another
    workstation created the first account meanwhile (log in instead)."""

    def __init__(self, accounts: AccountService, *, workstation: str = "", archive: str = "",
                 offer_no_login: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.accounts = accounts
        self.workstation = workstation
        self.no_login = False
        self.already_set_up = False
        self.setWindowTitle(self.tr("Create the first administrator — WeCom Archive Auditor"))
        self.ok_button.setText(self.tr("Create and open"))
        self.cancel_button.setText(self.tr("Quit"))
        title = _title_label(self.tr("Welcome to WeCom Archive Auditor"), self)
        intro = plain_label(self.tr(
            "This archive has no accounts yet. Create the first administrator: it manages the settings, "
            "the syncs and the other accounts. Everything done in the app is recorded under an account in "
            "the audit log."), self)
        if archive:
            intro.setText(intro.text() + "\n" + self.tr("Archive: %1").replace("%1", archive))
        self.user_edit = QLineEdit(self)
        self.user_edit.setAccessibleName(self.tr("User name"))
        self.user_edit.setMaxLength(64)
        self.passwords = NewPasswordFields(self)
        self.passwords.form.insertRow(0, self.tr("User name:"), self.user_edit)
        roles_intro = plain_label(self.tr(
            "Roles of this account. On a workstation used by one person, keep them all; in a team, keep only "
            "Administrator and create an account for each reviewer."), self)
        self.roles = RoleChecks(self, roles=ROLES, locked={ADMINISTRATOR})
        self.no_login_check = QCheckBox(self.tr("Open without login on this workstation (only while the archive "
                                                "has this single account)"), self)
        self._offer_no_login = offer_no_login
        self.no_login_check.setVisible(offer_no_login)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addSpacing(6)
        layout.addWidget(self.passwords)
        layout.addSpacing(6)
        layout.addWidget(roles_intro)
        layout.addWidget(self.roles)
        layout.addWidget(self.no_login_check)
        layout.addWidget(self.error)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self._form_widgets = [self.user_edit, self.passwords, self.roles, self.no_login_check]
        self.setMinimumWidth(560)
        self.user_edit.setFocus()

    def problem(self) -> str | None:
        try:
            name = canonical_username(self.user_edit.text())
        except AccountError as exc:
            return error_text(exc)
        return self.passwords.problem(name)

    def busy_text(self) -> str:
        return self.tr("Creating the account…")

    def work(self):
        accounts, ws = self.accounts, self.workstation
        name, pw, roles = self.user_edit.text().strip(), self.passwords.text(), self.roles.roles()

        def create() -> Actor:
            try:
                info = accounts.create_first_admin(name, pw, workstation=ws)
            except AccountError:
                if not accounts.needs_first_admin():
                    raise _AlreadySetUp() from None
                raise
            actor = accounts.authenticate(info.username, pw, ws)
            if roles != {ADMINISTRATOR}:
                accounts.set_roles(actor, info.username, roles)
                actor = accounts.refresh(actor)
            return actor

        return create

    def succeeded(self, actor: Actor) -> None:
        self.actor = actor
        self.no_login = self._offer_no_login and self.no_login_check.isChecked()
        self.passwords.clear()

    def failed(self, exc: Exception) -> None:
        if isinstance(exc, _AlreadySetUp):
            self.already_set_up = True
            self._fail(self.tr("Another workstation has just created the first account of this archive: log in "
                               "with an account an administrator gives you."))
            self.ok_button.setEnabled(False)
            self.cancel_button.setText(self.tr("Log in instead"))
            return
        super().failed(exc)


class _AlreadySetUp(Exception):
    pass


class ChangePasswordDialog(BackgroundDialog):
    """Change the actor's own password. ``forced``: an administrator set the password, and the
    account may do nothing until it has chosen its own; ``current_password`` (just typed at the
    login) spares asking for it again. ``actor`` is the updated actor once accepted."""

    def __init__(self, accounts: AccountService, actor: Actor, *, current_password: str | None = None,
                 forced: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.accounts = accounts
        self._actor_in = actor
        self._current = current_password
        self.setWindowTitle(self.tr("Change password"))
        self.ok_button.setText(self.tr("Change password"))
        if forced:
            self.cancel_button.setText(self.tr("Quit"))
        intro = plain_label(self.tr("Account: %1").replace("%1", actor.username), self)
        if forced:
            intro.setText(self.tr("An administrator set the password of the account %1. Choose your own password "
                                  "before you continue.").replace("%1", actor.username))
        self.current_edit = password_edit(self)
        self.current_edit.setAccessibleName(self.tr("Current password"))
        self.passwords = NewPasswordFields(self, labels=(self.tr("New password:"), self.tr("Repeat new password:")))
        if current_password is None:
            self.passwords.form.insertRow(0, self.tr("Current password:"), self.current_edit)
        else:
            self.current_edit.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.passwords)
        layout.addWidget(self.error)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self._form_widgets = [self.current_edit, self.passwords]
        self.setMinimumWidth(540)
        (self.current_edit if current_password is None else self.passwords.password).setFocus()

    def problem(self) -> str | None:
        if self._current is None and not self.current_edit.text():
            return self.tr("Enter your current password.")
        return self.passwords.problem(self._actor_in.username)

    def work(self):
        accounts, actor = self.accounts, self._actor_in
        old = self._current if self._current is not None else self.current_edit.text()
        new = self.passwords.text()
        return lambda: accounts.change_password(actor, old, new)

    def succeeded(self, actor: Actor) -> None:
        self.actor = actor
        self._current = None
        self.current_edit.clear()
        self.passwords.clear()

    def failed(self, exc: Exception) -> None:
        super().failed(exc)
        self.current_edit.clear()


__all__ = ["BackgroundDialog", "ChangePasswordDialog", "FirstRunDialog", "LoginDialog"]
