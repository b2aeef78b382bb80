"""Who is acting. Every core service takes an Actor first, so that roles, scopes and the audit trail
are enforced in one place (app/core/auth) whatever the caller: GUI, CLI or a future server.

An Actor is made by :class:`app.core.auth.AccountService` (``authenticate``, ``actor_from_token``,
``no_login_actor``), by :meth:`Actor.system` for internal jobs, or — until every entry point logs in
— by :meth:`Actor.local`. It is frozen: a change of roles or scope takes effect at the next login
(or ``AccountService.refresh``).
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

ALL_ROLES = frozenset({"administrator", "reviewer", "exporter", "auditor"})


def _hostname() -> str:
    try:
        return socket.gethostname()
    except OSError:
        return ""


@dataclass(frozen=True)
class Actor:
    """The acting account.

    ``username``: the account's user name (``os:<user>`` for :meth:`local`, ``system:<job>`` for
    :meth:`system`). ``roles``: role names (app/core/auth/roles.py); none by default, so that a
    hand-made Actor may do nothing. ``scope``: the staff userids whose sessions this actor may see,
    or None for every session (app/core/auth/scope.py). ``account_id``: the ``accounts`` row, None
    for the local and system actors. ``login_id``: groups the audit entries of one login
    (``token:<id>`` for a CLI token). ``must_change_password``: set after an administrator's reset;
    such an actor is granted no permission until it changes its password.
    """

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    workstation: str = ""
    account_id: int | None = None
    scope: frozenset[str] | None = None
    login_id: str = ""
    must_change_password: bool = False
    is_system: bool = False

    def __post_init__(self) -> None:
        # Accept any iterable from callers (the fields say frozenset, for readers of an Actor), but keep
        # the frozen dataclass hashable and immutable.
        roles: Iterable[str] = self.roles
        scope: Iterable[str] | None = self.scope
        if not isinstance(roles, frozenset):
            object.__setattr__(self, "roles", frozenset(roles))
        if scope is not None and not isinstance(scope, frozenset):
            object.__setattr__(self, "scope", frozenset(scope))

    @property
    def is_authenticated(self) -> bool:
        """True for an actor of an account in the ``accounts`` table (a login, a token)."""
        return self.account_id is not None

    @classmethod
    def local(cls) -> Actor:
        """The operating-system user of this workstation with every role and no scope limit.

        Kept while the GUI and CLI do not log in yet (issue 8, phase 2 replaces these callers)."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls(username=f"os:{user}", roles=ALL_ROLES, workstation=_hostname())

    @classmethod
    def system(cls, job: str, *, roles: frozenset[str] = frozenset({"administrator"}),
               workstation: str | None = None) -> Actor:
        """An internal job that acts on nobody's behalf (e.g. the headless sync worker):
        ``system:<job>``. By default an administrator (sync, settings), which reads no message
        content; audit entries name it as ``system:<job>``."""
        return cls(username=f"system:{job}", roles=frozenset(roles),
                   workstation=_hostname() if workstation is None else workstation, is_system=True)
