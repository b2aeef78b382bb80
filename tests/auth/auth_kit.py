"""Shared bits of the auth tests (imported by tests/auth/conftest.py and the test modules)."""

from __future__ import annotations

from app.core.auth import PasswordHasher, ScryptParams

FAST = PasswordHasher(ScryptParams(n=2**10, r=8, p=1))  # the default cost is tested once
T0 = 1_800_000_000_000  # 2027-01-15T08:00:00Z

ADMIN_PW = "admin-pass-0001"
PASSWORDS = {"reviewer": "review-pass-0002", "exporter": "export-pass-0003", "auditor": "audit-pass-0004"}


class Clock:
    """Milliseconds since the epoch, moved by hand."""

    def __init__(self, now: int = T0):
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms
