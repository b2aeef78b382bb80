"""The command line: ``wecom-auditor`` (also ``python -m app``).

Every command takes ``--data-dir DIR`` and ``--db URL``. Errors print one clear line and exit 1;
a cancelled sync (Ctrl+C once) exits 3 after the current batch commits. The group and the shared
options live in ``base``; each module registers its commands on it.
"""

from . import (  # noqa: F401,E501  (registers the commands)
    archive,
    auth,
    backup,
    corps,
    directory,
    export,
    media,
    queue,
    retention,
    review,
    search,
    serve,
    store,
)
from .base import main

__all__ = ["main"]
