"""The errors of app/core/auth. Each message is one clear sentence fit to show the user as it is;
none contains a password, a token or a hash."""

from __future__ import annotations

from datetime import datetime

from app.core.errors import SaidInTwoLanguages


def local_time_text(ms: int) -> str:
    """``ms`` since the epoch as local date and time with its UTC offset, e.g. for 'locked until'."""
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


class AuthError(RuntimeError):
    """Base of every error of app/core/auth."""


class AuthenticationError(AuthError):
    """A login failed. The message never says whether the user name exists."""

    def __init__(self, message: str = "wrong user name or password"):
        super().__init__(message)


class AccountLockedError(AuthenticationError):
    """Too many consecutive wrong passwords: the account is locked until ``until_ms``."""

    def __init__(self, until_ms: int, message: str | None = None):
        self.until_ms = until_ms
        super().__init__(message or f"too many wrong passwords: this account is locked until "
                                    f"{local_time_text(until_ms)}; try again then or ask an administrator "
                                    f"to unlock it")


class AccountDisabledError(AuthenticationError):
    """The account exists and the password was right, but an administrator disabled it."""


class TokenError(AuthenticationError):
    """A CLI login token is unknown, expired or revoked (the message says which and what to do)."""


class PasswordPolicyError(AuthError, ValueError):
    """A new password does not meet the policy; the message says what to change."""


class AccountError(SaidInTwoLanguages, AuthError, ValueError):
    """An account operation cannot be done (user name taken, unknown account, the last
    administrator, ...); the message says why (in English and Chinese)."""


class PermissionDenied(SaidInTwoLanguages, AuthError, PermissionError):
    """The actor lacks a permission (or the object is outside its scope). The message names the
    account, the permission and the roles that grant it (in English and Chinese)."""

    def __init__(self, message: str, message_zh: str | None = None, *, username: str = "", permission: str = ""):
        self.username = username
        self.permission = permission
        super().__init__(message, message_zh)


class AuditTrailError(AuthError):
    """The audit trail cannot be written or read (e.g. its head row is missing because the database
    was changed outside the app). Actions that must be audited fail with it: the app fails closed."""
