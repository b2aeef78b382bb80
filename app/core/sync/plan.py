"""Everything one sync needs, resolved: a plain value that builds the :class:`Syncer`.

:meth:`app.core.context.AppContext.sync_plan` resolves a corp's settings and secrets into a
:class:`SyncPlan`; :meth:`SyncPlan.build` makes the Syncer — in the same process (the CLI), or in
a sync process after the plan crossed a pipe (the window: :mod:`app.core.sync.process`), which
therefore needs neither the keyring nor the settings file. Secrets never appear in its repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.actor import Actor
from app.core.config.paths import AppPaths
from app.core.config.settings import Settings
from app.core.sdk.connection import CorpConnection

from .pipeline import Syncer, SyncOptions

if TYPE_CHECKING:
    from app.core.media.storage import MediaStorage
    from app.core.store.db import Database


@dataclass(frozen=True)
class SyncPlan:
    paths: AppPaths
    db_url: str = field(repr=False)  # with the password from the keyring
    settings: Settings  # the media backend's settings
    connection: CorpConnection
    private_keys: dict[int, str] = field(repr=False)
    options: SyncOptions
    actor: Actor | None = None  # None: a background job ("system:scheduled-sync")
    corp_name: str = ""
    storage_secret: str | None = field(default=None, repr=False)  # the cloud backend's secret key

    @property
    def corpid(self) -> str:
        return self.connection.corpid

    def build(self, *, db: Database | None = None, storage: MediaStorage | None = None) -> Syncer:
        """The Syncer of this plan, on ``db`` and ``storage`` if given (already open in this
        process), else opening the database and the media storage the plan names."""
        if db is None:
            from app.core.store.db import open_database

            db = open_database(self.db_url)
            db.local_dir = self.paths.data_dir
        if storage is None:
            from app.core.config.secrets import SecretStore
            from app.core.media.backends import open_storage

            storage = open_storage(self.settings, self.paths, SecretStore(), secret=self.storage_secret)
        return Syncer(db, connection=self.connection, private_keys=self.private_keys, storage=storage,
                      spool_dir=Path(self.paths.spool_dir), options=self.options, corp_name=self.corp_name,
                      actor=self.actor, log_dir=Path(self.paths.log_dir))
