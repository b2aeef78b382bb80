"""What the account dialogs share: the archive's AccountService and AuditTrail, this workstation's
name, the "open without login" setting, and the user-facing text of roles and auth errors.

The core (app/core/auth) decides and records; these helpers only find the services and say the
core's answers in the UI's language.
"""

from __future__ import annotations

import dataclasses
import socket
import weakref
from datetime import datetime

from PySide6.QtCore import QCoreApplication

from app.core.actor import Actor
from app.core.auth import (
    ADMINISTRATOR,
    AUDITOR,
    EXPORTER,
    REVIEWER,
    ROLES,
    AccountDisabledError,
    AccountLockedError,
    AccountService,
    AuditTrail,
    AuthenticationError,
    PasswordPolicyError,
    PermissionDenied,
    check_password_policy,
)
from app.core.auth.passwords import MIN_PASSWORD_LENGTH
from app.core.config.settings import Settings
from app.ui.language import as_sentence, error_sentence

translate = QCoreApplication.translate

NO_LOGIN_SETTING = "no_login"

# Per AppContext, when the context itself does not offer them (ctx.accounts / ctx.audit).
_services: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def use_account_service(ctx, service: AccountService) -> None:
    """Make the GUI use ``service`` for ``ctx`` (tests: one with cheap password hashing)."""
    _services[ctx] = service


def account_service(ctx) -> AccountService:
    """The AccountService of ``ctx``'s archive: one given to :func:`use_account_service`, else
    ``ctx.accounts`` if the context has one, else one made once per context."""
    if ctx not in _services:
        own = getattr(ctx, "accounts", None)
        _services[ctx] = own if isinstance(own, AccountService) else AccountService(ctx.db, _own_trail(ctx))
    return _services[ctx]


def audit_trail(ctx) -> AuditTrail:
    """The AuditTrail of ``ctx``'s archive (the one its AccountService writes to)."""
    return account_service(ctx).trail


def _own_trail(ctx) -> AuditTrail:
    for name in ("audit", "trail", "audit_trail"):
        own = getattr(ctx, name, None)
        if isinstance(own, AuditTrail):
            return own
    return AuditTrail(ctx.db)


def workstation() -> str:
    """This computer's name, as the audit trail records it."""
    try:
        return socket.gethostname()
    except OSError:
        return ""


# ------------------------------------------------------------------ the "no login" setting

def no_login_supported() -> bool:
    """True if the settings declare the per-workstation "open without login" switch."""
    return NO_LOGIN_SETTING in {f.name for f in dataclasses.fields(Settings)}


def no_login_requested(ctx) -> bool:
    """The workstation's "open without login" setting (False where the settings do not have it)."""
    return bool(getattr(ctx.settings, NO_LOGIN_SETTING, False))


def set_no_login(ctx, actor: Actor, value: bool) -> None:
    """Turn "open without login" on or off for this workstation, through the context's audited
    settings change where it has one. PermissionDenied without ``settings.change``; RuntimeError
    if the settings have no such switch."""
    if not no_login_supported():
        raise RuntimeError("this version's settings have no 'open without login' switch")
    change = getattr(ctx, "change_settings", None)
    if callable(change):
        change(actor, **{NO_LOGIN_SETTING: bool(value)})
        return
    from app.core.auth import SETTINGS_CHANGE, require

    require(actor, SETTINGS_CHANGE)
    setattr(ctx.settings, NO_LOGIN_SETTING, bool(value))
    ctx.save()


# ------------------------------------------------------------------ text

def role_label(role: str) -> str:
    return {
        ADMINISTRATOR: translate("AuthText", "Administrator"),
        REVIEWER: translate("AuthText", "Reviewer"),
        EXPORTER: translate("AuthText", "Exporter"),
        AUDITOR: translate("AuthText", "Auditor"),
    }.get(role, role)


def role_description(role: str) -> str:
    return {
        ADMINISTRATOR: translate("AuthText", "settings, sync and accounts; reads no message content unless also "
                                             "a reviewer"),
        REVIEWER: translate("AuthText", "browse sessions, read messages, search, open media (within the "
                                        "account's scope)"),
        EXPORTER: translate("AuthText", "create evidence packages (within the account's scope)"),
        AUDITOR: translate("AuthText", "read the audit log and verify evidence packages; read-only"),
    }.get(role, "")


def list_text(items) -> str:
    """Items joined as the UI language lists them ("a, b" / "甲、乙")."""
    return translate("AuthText", ", ").join(items)


def roles_text(roles) -> str:
    """The roles in the order of ROLES, as labels ("Administrator, Reviewer"); "no role" if none."""
    labels = [role_label(r) for r in ROLES if r in set(roles)]
    return list_text(labels) if labels else translate("AuthText", "no role")


def password_policy_text() -> str:
    return translate("AuthText", "At least %1 characters; not the user name; not one character repeated.") \
        .replace("%1", str(MIN_PASSWORD_LENGTH))


def local_time(ms: int | None) -> str:
    """Local date and time of ``ms`` since the epoch ("" for None)."""
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def locked_text(until_ms: int) -> str:
    return translate("AuthText", "Too many wrong passwords: this account is locked until %1. Try again then, or "
                                 "ask an administrator to unlock it.").replace("%1", local_time(until_ms))


# The core's policy messages (app/core/auth/passwords.py, accounts.py), said in the UI's language.
def _policy_messages() -> dict[str, str]:
    return {
        f"the password must have at least {MIN_PASSWORD_LENGTH} characters":
            translate("AuthText", "The password must have at least %1 characters.").replace(
                "%1", str(MIN_PASSWORD_LENGTH)),
        "the password must not be the user name": translate("AuthText", "The password must not be the user name."),
        "the password must not be one character repeated":
            translate("AuthText", "The password must not be one character repeated."),
        "the new password must differ from the current one":
            translate("AuthText", "The new password must differ from the current one."),
    }


def _username_messages() -> dict[str, str]:
    return {
        "the user name is empty": translate("AuthText", "Enter a user name."),
        "the user name must have at most 64 characters":
            translate("AuthText", "The user name must have at most 64 characters."),
        "the user name must not contain spaces, control characters or ':'":
            translate("AuthText", "The user name must not contain spaces, control characters or ':'."),
    }


def policy_problem(password: str, username: str) -> str | None:
    """What is wrong with ``password`` for ``username`` under the core's policy, in the UI's
    language; None if it is acceptable."""
    try:
        check_password_policy(password, username)
    except PasswordPolicyError as exc:
        return error_text(exc)
    return None


def error_text(exc: BaseException) -> str:
    """One sentence for the user about a failed account operation. Login failures stay generic
    (the core's messages never say whether a user name exists)."""
    message = str(exc)  # the English sentence: what the known ones are matched by
    if isinstance(exc, AccountLockedError):
        return locked_text(exc.until_ms)
    if isinstance(exc, AccountDisabledError):
        return translate("AuthText", "This account is disabled. Ask an administrator to enable it.")
    if isinstance(exc, AuthenticationError):
        if message == "the current password is wrong":
            return translate("AuthText", "The current password is wrong.")
        if message == "wrong user name or password":
            return translate("AuthText", "Wrong user name or password.")
        return _sentence(exc)
    known = {**_policy_messages(), **_username_messages()}
    if message in known:
        return known[message]
    if isinstance(exc, PermissionDenied):
        return translate("AuthText", "Not allowed: %1").replace("%1", _sentence(exc))
    return _sentence(exc)


def _sentence(exc: BaseException) -> str:
    return as_sentence(error_sentence(exc)) or translate("AuthText", "Something went wrong.")
