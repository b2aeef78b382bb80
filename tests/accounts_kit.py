"""Accounts for tests outside tests/auth: a logged-in account of the archive, cheaply hashed, and a CLI
token for it (pass it as WECOM_AUDITOR_TOKEN to CLI runs)."""

from __future__ import annotations

from app.core.actor import Actor
from app.core.auth import ADMINISTRATOR, ROLES, AccountService, PasswordHasher, ScopeSpec, ScryptParams
from app.core.store.db import Database

FAST = PasswordHasher(ScryptParams(n=2**10, r=8, p=1))
PASSWORD = "tester-pass-0001"


def login(db: Database, username: str = "tester", roles=ROLES, scope: ScopeSpec | None = None) -> Actor:
    """A logged-in actor of ``username`` with ``roles`` (created if missing; the archive's first
    account is an administrator that then gets ``roles``)."""
    accounts = AccountService(db, hasher=FAST)
    if accounts.needs_first_admin():
        info = accounts.create_first_admin(username, PASSWORD)
        admin = Actor(username=info.username, roles=frozenset({ADMINISTRATOR}), account_id=info.id)
        accounts.set_roles(admin, username, roles)
        if scope is not None:
            accounts.set_scope(admin, username, scope)
    return accounts.authenticate(username, PASSWORD, "test-host")


def cli_token(db: Database, username: str = "tester", roles=ROLES) -> str:
    """A login token of ``username`` (see :func:`login`) for ``WECOM_AUDITOR_TOKEN``."""
    return AccountService(db, hasher=FAST).issue_token(login(db, username, roles)).token
