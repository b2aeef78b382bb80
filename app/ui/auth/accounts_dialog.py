"""Account management for administrators: the accounts with their roles, scope, state and last
login; create one, change its roles or scope, reset its password, disable / enable, unlock.

Every change goes through AccountService (which checks ``accounts.manage`` and writes the audit
entry with the change); calls run off the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.auth import REVIEWER, AccountError, AccountInfo, AccountService, ScopeSpec, canonical_username
from app.core.clock import now_ms
from app.core.directory import StaffMember

from ..table_model import RowTableModel
from ..tasks import run_task
from .login import BackgroundDialog
from .services import error_text, list_text, local_time, roles_text
from .widgets import HINT_STYLE, MessageLine, NewPasswordFields, RoleChecks, plain_label

translate = QCoreApplication.translate

ACCOUNT_ROLE = Qt.ItemDataRole.UserRole + 1  # the AccountInfo of a row

_COLUMNS = ("username", "roles", "scope", "state", "last_login", "created")


def scope_text(spec: ScopeSpec, names: dict[str, str]) -> str:
    """An account's scope for people: "All sessions" or "Staff: 张三, 李四; Departments: Sales"."""
    if spec.unlimited:
        return translate("AccountsModel", "All sessions")
    parts = []
    if spec.userids:
        people = sorted(names.get(u) or u for u in spec.userids)
        parts.append(translate("AccountsModel", "Staff: %1").replace("%1", list_text(people)))
    if spec.departments:
        parts.append(translate("AccountsModel", "Departments: %1").replace("%1", list_text(sorted(spec.departments))))
    return translate("AccountsModel", "; ").join(parts)


class AccountsModel(RowTableModel[AccountInfo]):
    """The archive's accounts (a few dozen: loaded at once, no paging)."""

    COLUMNS = _COLUMNS
    OBJECT_ROLE = ACCOUNT_ROLE

    def __init__(self, parent=None):
        super().__init__(parent)
        self._names: dict[str, str] = {}
        self._now = now_ms()

    def _header_texts(self):
        return (self.tr("User name"), self.tr("Roles"), self.tr("Scope"), self.tr("State"),
                self.tr("Last login"), self.tr("Created"))

    def set_accounts(self, rows: list[AccountInfo], names: dict[str, str] | None = None, now: int | None = None):
        with self._resetting():
            self._rows = list(rows)
            self._names = dict(names or {})
            self._now = now if now is not None else now_ms()

    def account(self, row: int) -> AccountInfo:
        return self.row_object(row)

    def row_of(self, username: str) -> int:
        return self._find_row(lambda a: a.username == username)

    def _role_data(self, info: AccountInfo, column: str, role: int):
        if role == Qt.ItemDataRole.ForegroundRole and column == "state" and (info.disabled or info.locked(self._now)):
            return QColor("#b3261e")
        return None

    def state_text(self, info: AccountInfo) -> str:
        if info.disabled:
            state = self.tr("Disabled")
        elif info.locked(self._now):
            state = self.tr("Locked until %1").replace("%1", local_time(info.locked_until))
        else:
            state = self.tr("Active")
        if info.must_change_password:
            state += self.tr("; must change password")
        return state

    def _display(self, info: AccountInfo, column: str) -> str:
        if column == "username":
            return info.username
        if column == "roles":
            return roles_text(info.roles)
        if column == "scope":
            return scope_text(info.scope, self._names)
        if column == "state":
            return self.state_text(info)
        if column == "last_login":
            return local_time(info.last_login_at) or self.tr("never")
        if column == "created":
            return local_time(info.created_at)
        return ""


# ------------------------------------------------------------------ the scope editor

class ScopeDialog(BackgroundDialog):
    """Which sessions an account may see: all, or those of the ticked staff and departments (names
    from the contacts directory; userids not in it can be typed). With ``account`` the change is
    saved (``set_scope``); without, :attr:`spec` is just returned (for a new account)."""

    def __init__(self, staff: list[StaffMember], spec: ScopeSpec, *, accounts: AccountService | None = None,
                 actor: Actor | None = None, account: AccountInfo | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.accounts, self.actor_in, self.account = accounts, actor, account
        self.spec = spec
        self.setWindowTitle(self.tr("Scope of %1").replace("%1", account.username) if account
                            else self.tr("Scope of the new account"))
        self.all_radio = QRadioButton(self.tr("All sessions"), self)
        self.some_radio = QRadioButton(self.tr("Only sessions with the staff and departments ticked below"), self)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText(self.tr("Filter by name, id or department"))
        self.filter_edit.setClearButtonEnabled(True)
        self.departments = QListWidget(self)
        self.departments.setAccessibleName(self.tr("Departments"))
        self.staff = QListWidget(self)
        self.staff.setAccessibleName(self.tr("Staff"))
        known = {m.userid for m in staff}
        for dept in sorted({m.department for m in staff if m.department} | set(spec.departments)):
            item = QListWidgetItem(dept, self.departments)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if dept in spec.departments else Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, dept)
        for m in staff:
            label = f"{m.name} ({m.userid})" if m.name and m.name != m.userid else m.userid
            if m.department:
                label += f" — {m.department}"
            item = QListWidgetItem(label, self.staff)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if m.userid in spec.userids else Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, m.userid)
        self.other_edit = QLineEdit(self)
        self.other_edit.setText(", ".join(sorted(spec.userids - known)))
        self.other_edit.setPlaceholderText(self.tr("userids not in the directory, separated by commas"))
        self.other_edit.setAccessibleName(self.tr("Other staff userids"))
        note = plain_label(self.tr("A session is in scope if one of these staff took part in it. A change applies "
                                   "at the account's next login."), self)
        note.setStyleSheet(HINT_STYLE)
        if not staff:
            note.setText(note.text() + "\n" + self.tr("The directory has no staff names yet (they come with a sync "
                                                      "or `wecom-auditor import-names`): type userids below."))

        lists = QGridLayout()
        lists.addWidget(plain_label(self.tr("Departments"), self, wrap=False), 0, 0)
        lists.addWidget(plain_label(self.tr("Staff"), self, wrap=False), 0, 1)
        lists.addWidget(self.departments, 1, 0)
        lists.addWidget(self.staff, 1, 1)
        lists.setColumnStretch(0, 2)
        lists.setColumnStretch(1, 3)
        other = QFormLayout()
        other.addRow(self.tr("Other staff userids:"), self.other_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(self.all_radio)
        layout.addWidget(self.some_radio)
        layout.addWidget(self.filter_edit)
        layout.addLayout(lists, 1)
        layout.addLayout(other)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._form_widgets = [self.all_radio, self.some_radio]
        self._limited_widgets = [self.filter_edit, self.departments, self.staff, self.other_edit]
        (self.all_radio if spec.unlimited else self.some_radio).setChecked(True)
        self.all_radio.toggled.connect(self._update_enabled)
        self.filter_edit.textChanged.connect(self._filter)
        self._update_enabled()
        self.resize(760, 560)

    def _update_enabled(self) -> None:
        for w in self._limited_widgets:
            w.setEnabled(self.some_radio.isChecked() and not self._busy)

    def _set_busy(self, busy: bool) -> None:
        super()._set_busy(busy)
        if hasattr(self, "_limited_widgets"):
            self._update_enabled()

    def _filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for lst in (self.departments, self.staff):
            for i in range(lst.count()):
                item = lst.item(i)
                item.setHidden(bool(needle) and needle not in item.text().casefold())

    @staticmethod
    def _checked(lst: QListWidget) -> set[str]:
        return {lst.item(i).data(Qt.ItemDataRole.UserRole) for i in range(lst.count())
                if lst.item(i).checkState() == Qt.CheckState.Checked}

    def chosen(self) -> ScopeSpec:
        if self.all_radio.isChecked():
            return ScopeSpec()
        others = {u.strip() for u in self.other_edit.text().replace("，", ",").replace(" ", ",").split(",")}
        return ScopeSpec(frozenset(self._checked(self.staff) | {u for u in others if u}),
                         frozenset(self._checked(self.departments)))

    def problem(self) -> str | None:
        if self.some_radio.isChecked() and self.chosen().unlimited:
            return self.tr("Tick at least one staff member or department, or choose All sessions.")
        return None

    def work(self):
        spec = self.chosen()
        if self.account is None or self.accounts is None or self.actor_in is None:
            return lambda: spec
        accounts, actor, name = self.accounts, self.actor_in, self.account.username
        return lambda: (accounts.set_scope(actor, name, spec), spec)[1]

    def succeeded(self, spec: ScopeSpec) -> None:
        self.spec = spec


# ------------------------------------------------------------------ the other editors

class NewAccountDialog(BackgroundDialog):
    """User name, an initial password (its owner must change it at the first login, by default),
    roles and scope. ``created`` is the new AccountInfo once accepted."""

    def __init__(self, accounts: AccountService, actor: Actor, staff: list[StaffMember],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.accounts, self.actor_in, self._staff = accounts, actor, staff
        self.created: AccountInfo | None = None
        self.scope = ScopeSpec()
        self._names = {m.userid: m.name for m in staff}
        self.setWindowTitle(self.tr("New account"))
        self.ok_button.setText(self.tr("Create"))
        self.user_edit = QLineEdit(self)
        self.user_edit.setAccessibleName(self.tr("User name"))
        self.user_edit.setMaxLength(64)
        self.passwords = NewPasswordFields(self, labels=(self.tr("Initial password:"), self.tr("Repeat password:")),
                                           generate=True)
        self.must_change = QCheckBox(self.tr("The owner must choose a new password at the first login"), self)
        self.must_change.setChecked(True)
        self.roles = RoleChecks(self, roles={REVIEWER})
        self.scope_label = plain_label(scope_text(self.scope, self._names), self)
        self.scope_button = QPushButton(self.tr("Change…"), self)
        self.scope_button.clicked.connect(self._edit_scope)
        scope_row = QHBoxLayout()
        scope_row.addWidget(self.scope_label, 1)
        scope_row.addWidget(self.scope_button)
        self.passwords.form.insertRow(0, self.tr("User name:"), self.user_edit)
        lower = QFormLayout()
        lower.addRow(self.tr("Roles:"), self.roles)
        lower.addRow(self.tr("Scope:"), scope_row)
        layout = QVBoxLayout(self)
        layout.addWidget(self.passwords)
        layout.addWidget(self.must_change)
        layout.addSpacing(6)
        layout.addLayout(lower)
        layout.addWidget(self.error)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self._form_widgets = [self.user_edit, self.passwords, self.must_change, self.roles, self.scope_button]
        self.setMinimumWidth(620)

    def _edit_scope(self) -> None:
        dialog = ScopeDialog(self._staff, self.scope, parent=self)
        if dialog.exec():
            self.scope = dialog.spec
            self.scope_label.setText(scope_text(self.scope, self._names))

    def problem(self) -> str | None:
        try:
            name = canonical_username(self.user_edit.text())
        except AccountError as exc:
            return error_text(exc)
        if not self.roles.roles():
            return self.tr("Give the account at least one role.")
        return self.passwords.problem(name)

    def busy_text(self) -> str:
        return self.tr("Creating the account…")

    def work(self):
        accounts, actor = self.accounts, self.actor_in
        name, pw, roles, scope = self.user_edit.text().strip(), self.passwords.text(), self.roles.roles(), self.scope
        must = self.must_change.isChecked()
        return lambda: accounts.create_account(actor, name, pw, roles=roles, scope=scope, must_change_password=must)

    def succeeded(self, info: AccountInfo) -> None:
        self.created = info
        self.passwords.clear()


class RolesDialog(BackgroundDialog):
    """Replace an account's roles (the core keeps at least one enabled administrator)."""

    def __init__(self, accounts: AccountService, actor: Actor, account: AccountInfo, parent: QWidget | None = None):
        super().__init__(parent)
        self.accounts, self.actor_in, self.account = accounts, actor, account
        self.setWindowTitle(self.tr("Roles of %1").replace("%1", account.username))
        self.roles = RoleChecks(self, roles=account.roles)
        note = plain_label(self.tr("A change applies at the account's next login."), self)
        note.setStyleSheet(HINT_STYLE)
        layout = QVBoxLayout(self)
        layout.addWidget(self.roles)
        layout.addWidget(note)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._form_widgets = [self.roles]
        self.setMinimumWidth(520)

    def problem(self) -> str | None:
        return None if self.roles.roles() else self.tr("Give the account at least one role (or disable it).")

    def work(self):
        accounts, actor, name, roles = self.accounts, self.actor_in, self.account.username, self.roles.roles()
        return lambda: accounts.set_roles(actor, name, roles)


class ResetPasswordDialog(BackgroundDialog):
    """Set another account's password (also lifts a lockout and revokes its CLI tokens)."""

    def __init__(self, accounts: AccountService, actor: Actor, account: AccountInfo, parent: QWidget | None = None):
        super().__init__(parent)
        self.accounts, self.actor_in, self.account = accounts, actor, account
        self.setWindowTitle(self.tr("Reset the password of %1").replace("%1", account.username))
        self.passwords = NewPasswordFields(self, labels=(self.tr("New password:"), self.tr("Repeat password:")),
                                           generate=True)
        self.must_change = QCheckBox(self.tr("The owner must choose a new password at the next login"), self)
        self.must_change.setChecked(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.passwords)
        layout.addWidget(self.must_change)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._form_widgets = [self.passwords, self.must_change]
        self.setMinimumWidth(520)

    def problem(self) -> str | None:
        return self.passwords.problem(self.account.username)

    def work(self):
        accounts, actor, name = self.accounts, self.actor_in, self.account.username
        pw, must = self.passwords.text(), self.must_change.isChecked()
        return lambda: accounts.reset_password(actor, name, pw, must_change_password=must)

    def succeeded(self, info: AccountInfo) -> None:
        self.actor = None
        self.passwords.clear()


# ------------------------------------------------------------------ the dialog

class AccountsDialog(QDialog):
    """The accounts of the archive, for an actor with ``accounts.manage``."""

    accounts_loaded = Signal(int)
    accounts_changed = Signal()  # something was changed (the main window re-reads its own actor)
    operation_failed = Signal(str)

    def __init__(self, ctx, actor: Actor, accounts: AccountService, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx, self.actor, self.accounts = ctx, actor, accounts
        self.staff: list[StaffMember] = []
        self._select_after_load: str | None = None
        self.setWindowTitle(self.tr("Accounts"))
        self.model = AccountsModel(self)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(_COLUMNS.index("scope"), QHeaderView.ResizeMode.Stretch)  # the longest text
        header.setStretchLastSection(False)
        self.view.setAccessibleName(self.tr("Accounts"))
        self.view.verticalHeader().setDefaultSectionSize(self.view.fontMetrics().height() + 10)

        self.new_button = QPushButton(self.tr("New account…"), self)
        self.roles_button = QPushButton(self.tr("Roles…"), self)
        self.scope_button = QPushButton(self.tr("Scope…"), self)
        self.reset_button = QPushButton(self.tr("Reset password…"), self)
        self.disable_button = QPushButton(self.tr("Disable"), self)
        self.unlock_button = QPushButton(self.tr("Unlock"), self)
        self.refresh_button = QPushButton(self.tr("Refresh"), self)
        side = QVBoxLayout()
        for b in (self.new_button, self.roles_button, self.scope_button, self.reset_button, self.disable_button,
                  self.unlock_button):
            side.addWidget(b)
        side.addStretch(1)
        side.addWidget(self.refresh_button)
        self.message = MessageLine(self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(self.view, 1)
        top.addLayout(side)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

        self.new_button.clicked.connect(self.new_account)
        self.roles_button.clicked.connect(self.edit_roles)
        self.scope_button.clicked.connect(self.edit_scope)
        self.reset_button.clicked.connect(self.reset_password)
        self.disable_button.clicked.connect(self.toggle_disabled)
        self.unlock_button.clicked.connect(self.unlock)
        self.refresh_button.clicked.connect(self.refresh)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.view.doubleClicked.connect(lambda _ix: self.edit_roles())
        self.resize(1060, 460)
        self._update_buttons()
        self.refresh()

    # -------------------------------------------------------------- loading

    def refresh(self) -> None:
        self.refresh_button.setEnabled(False)
        accounts, actor, directory = self.accounts, self.actor, self.ctx.directory

        def load():
            rows = accounts.list_accounts(actor)
            return rows, directory.staff(actor), now_ms()

        run_task(self, load, self._loaded, self._load_failed)

    def _loaded(self, result) -> None:
        rows, staff, now = result
        keep = self._select_after_load or (self.current().username if self.current() else None)
        self._select_after_load = None
        self.staff = staff
        self.model.set_accounts(rows, {m.userid: m.name for m in staff}, now)
        self.view.resizeColumnsToContents()
        self.view.setColumnWidth(1, min(self.view.columnWidth(1), 300))
        row = self.model.row_of(keep) if keep else -1
        if row >= 0:
            self.view.selectRow(row)
        self.refresh_button.setEnabled(True)
        self._update_buttons()
        self.accounts_loaded.emit(len(rows))

    def _load_failed(self, exc: Exception) -> None:
        self.refresh_button.setEnabled(True)
        self._show_error(self.tr("Cannot read the accounts: %1").replace("%1", error_text(exc)))

    def current(self) -> AccountInfo | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.account(rows[0].row()) if rows else None

    def select(self, username: str) -> None:
        row = self.model.row_of(username)
        if row >= 0:
            self.view.selectRow(row)

    def _update_buttons(self, *_args) -> None:
        info = self.current()
        for b in (self.roles_button, self.scope_button, self.reset_button, self.disable_button):
            b.setEnabled(info is not None)
        self.disable_button.setText(self.tr("Enable") if info is not None and info.disabled else self.tr("Disable"))
        self.unlock_button.setEnabled(info is not None and (info.locked(now_ms()) or info.failed_attempts > 0))

    # -------------------------------------------------------------- changes

    def _changed(self, username: str, message: str) -> None:
        self._select_after_load = username
        self.message.show_note(message)
        self.accounts_changed.emit()
        self.refresh()

    def _show_error(self, text: str) -> None:
        self.message.show_error(text)
        self.operation_failed.emit(text)

    def _run(self, fn, username: str, message: str) -> None:
        run_task(self, fn, lambda _result: self._changed(username, message),
                 lambda exc: self._show_error(error_text(exc)))

    def new_account(self) -> NewAccountDialog:
        dialog = NewAccountDialog(self.accounts, self.actor, self.staff, self)
        dialog.accepted.connect(lambda: dialog.created and self._changed(
            dialog.created.username, self.tr("Account %1 created.").replace("%1", dialog.created.username)))
        dialog.open()
        return dialog

    def edit_roles(self) -> RolesDialog | None:
        info = self.current()
        if info is None:
            return None
        dialog = RolesDialog(self.accounts, self.actor, info, self)
        dialog.accepted.connect(lambda: self._changed(
            info.username, self.tr("Roles of %1 changed.").replace("%1", info.username)))
        dialog.open()
        return dialog

    def edit_scope(self) -> ScopeDialog | None:
        info = self.current()
        if info is None:
            return None
        dialog = ScopeDialog(self.staff, info.scope, accounts=self.accounts, actor=self.actor, account=info,
                             parent=self)
        dialog.accepted.connect(lambda: self._changed(
            info.username, self.tr("Scope of %1 changed.").replace("%1", info.username)))
        dialog.open()
        return dialog

    def reset_password(self) -> ResetPasswordDialog | None:
        info = self.current()
        if info is None:
            return None
        dialog = ResetPasswordDialog(self.accounts, self.actor, info, self)
        dialog.accepted.connect(lambda: self._changed(
            info.username, self.tr("Password of %1 reset.").replace("%1", info.username)))
        dialog.open()
        return dialog

    def toggle_disabled(self, *, confirm: bool = True) -> None:
        info = self.current()
        if info is None:
            return
        accounts, actor, name = self.accounts, self.actor, info.username
        if info.disabled:
            self._run(lambda: accounts.enable(actor, name), name, self.tr("Account %1 enabled.").replace("%1", name))
            return
        if confirm:
            box = QMessageBox(QMessageBox.Icon.Question, self.tr("Disable account"),
                              self.tr("Disable the account %1? It can no longer log in, and its command-line "
                                      "tokens stop working. Its audit entries stay.").replace("%1", name),
                              QMessageBox.StandardButton.Cancel, self)
            box.setTextFormat(Qt.TextFormat.PlainText)
            disable = box.addButton(self.tr("Disable"), QMessageBox.ButtonRole.AcceptRole)
            box.exec()
            if box.clickedButton() is not disable:
                return
        self._run(lambda: accounts.disable(actor, name), name, self.tr("Account %1 disabled.").replace("%1", name))

    def unlock(self) -> None:
        info = self.current()
        if info is None:
            return
        accounts, actor, name = self.accounts, self.actor, info.username
        self._run(lambda: accounts.unlock(actor, name), name, self.tr("Account %1 unlocked.").replace("%1", name))


__all__ = ["AccountsDialog", "AccountsModel", "NewAccountDialog", "ResetPasswordDialog", "RolesDialog",
           "ScopeDialog", "scope_text"]
