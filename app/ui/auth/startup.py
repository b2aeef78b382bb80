"""Who opens the main window: the start-up flow of the desktop app.

    actor = sign_in(ctx)     # None: the user quit

- The archive has no account → the first-run dialog creates the first administrator (optionally
  with every role, and "open without login on this workstation") and logs in as it.
- This workstation's settings ask for "no login" and the archive has a single enabled account →
  that account's actor, without a dialog (the core records the login, method no-login).
- Otherwise → the login dialog. An account whose password an administrator set must choose its
  own before the main window opens.

Cancel anywhere quits (returns None). Dialogs run their own event loops, so this works before
and between ``app.exec()`` calls.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget

from app.core.actor import Actor
from app.core.auth import AccountService, AuthError

from ..archive_text import archive_text
from .login import ChangePasswordDialog, FirstRunDialog, LoginDialog
from .services import (
    account_service,
    error_text,
    no_login_requested,
    no_login_supported,
    set_no_login,
    workstation,
)

log = logging.getLogger(__name__)


def _login_memory(ctx) -> QSettings:
    """Remembers the last user name on this workstation (never a password)."""
    return QSettings(str(ctx.paths.config_dir / "login.ini"), QSettings.Format.IniFormat)


def _archive_text(ctx) -> str:
    try:
        return archive_text(ctx.db)
    except Exception:  # noqa: BLE001 - only a label; the real error comes with the first query
        return ""


def sign_in(ctx, *, accounts: AccountService | None = None, allow_no_login: bool = True, message: str = "",
            parent: QWidget | None = None) -> Actor | None:
    """The actor to open the main window with, or None if the user quit. Raises DatabaseError if
    the archive cannot be opened. ``allow_no_login`` False (after "Log out") always asks."""
    accounts = accounts or account_service(ctx)
    ws = workstation()
    archive = _archive_text(ctx)
    if accounts.needs_first_admin():
        first = FirstRunDialog(accounts, workstation=ws, archive=archive, offer_no_login=no_login_supported(),
                               parent=parent)
        if first.exec() and first.actor is not None:
            actor = first.actor
            _remember(ctx, actor.username)
            if first.no_login:
                try:
                    set_no_login(ctx, actor, True)
                except Exception as exc:  # noqa: BLE001 - the account exists; only the shortcut is lost
                    log.warning("could not turn on 'open without login': %s", exc)
            return actor
        if not first.already_set_up:
            return None
    elif allow_no_login and no_login_requested(ctx) and accounts.no_login_allowed():
        try:
            actor = accounts.no_login_actor(ws)
        except AuthError as exc:  # a second account appeared meanwhile, or the trail cannot be written
            message = message or error_text(exc)
        else:
            if not actor.must_change_password:
                return actor
            change = ChangePasswordDialog(accounts, actor, forced=True, parent=parent)
            if change.exec() and change.actor is not None:
                return change.actor
            accounts.logout(actor)
            return None
    return _login(ctx, accounts, ws, archive, message, parent)


def _login(ctx, accounts: AccountService, ws: str, archive: str, message: str, parent) -> Actor | None:
    memory = _login_memory(ctx)
    dialog = LoginDialog(accounts, workstation=ws, archive=archive, username=str(memory.value("username", "")),
                         message=message, parent=parent)
    if not dialog.exec() or dialog.actor is None:
        return None
    actor = dialog.actor
    _remember(ctx, actor.username)
    if actor.must_change_password:
        change = ChangePasswordDialog(accounts, actor, current_password=dialog.password, forced=True, parent=parent)
        dialog.password = ""
        if not change.exec() or change.actor is None:
            accounts.logout(actor)
            return None
        actor = change.actor
    return actor


def _remember(ctx, username: str) -> None:
    memory = _login_memory(ctx)
    memory.setValue("username", username)
    memory.sync()


__all__ = ["sign_in"]
