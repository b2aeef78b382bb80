"""Who is acting. Every core service takes an Actor from the start, so that roles, scopes and the
audit trail (a later issue) are enforced in one place without changing every caller."""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Actor:
    username: str
    roles: frozenset[str] = field(default_factory=lambda: frozenset({"administrator", "reviewer", "exporter",
                                                                      "auditor"}))
    workstation: str = ""

    @classmethod
    def local(cls) -> Actor:
        """The operating-system user of this workstation (until accounts exist)."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return cls(username=f"os:{user}", workstation=socket.gethostname())
