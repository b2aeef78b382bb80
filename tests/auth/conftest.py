"""Fixtures of the auth tests: a fresh archive on each backend, a settable clock, cheap scrypt
parameters, and ready-made accounts."""

from __future__ import annotations

import pytest
from auth_kit import ADMIN_PW, FAST, PASSWORDS, Clock

from app.core.auth import AccountService, AuditTrail
from app.core.store.db import open_database


@pytest.fixture
def db(db_url):
    database = open_database(db_url)
    yield database
    database.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def trail(db, clock):
    return AuditTrail(db, clock=clock)


@pytest.fixture
def accounts(db, trail, clock):
    return AccountService(db, trail, hasher=FAST, clock=clock)


@pytest.fixture
def admin(accounts):
    """The first administrator, logged in."""
    accounts.create_first_admin("admin", ADMIN_PW, workstation="ws-admin")
    return accounts.authenticate("admin", ADMIN_PW, "ws-admin")


@pytest.fixture
def team(accounts, admin):
    """Logged-in actors of one account per role (and the administrator), by role name."""
    actors = {"administrator": admin}
    for role, password in PASSWORDS.items():
        accounts.create_account(admin, role, password, roles=[role], must_change_password=False)
        actors[role] = accounts.authenticate(role, password, f"ws-{role}")
    return actors
