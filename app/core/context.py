"""Everything a command or the GUI needs to work on one archive: paths, settings, secrets,
the database, media storage, and building a sync for a configured corp."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.actor import Actor
from app.core.config.paths import AppPaths
from app.core.config.secrets import SecretMissingError, SecretStore, keyring_available
from app.core.config.settings import (
    CorpSettings,
    Settings,
    SettingsError,
    load_settings,
    save_settings,
    setting_values,
)
from app.core.logs import configure_logging
from app.core.media.storage import MediaStorage
from app.core.sdk.connection import CorpConnection
from app.core.sdk.hosted import LibrarySpec
from app.core.store.db import Database, open_database
from app.core.sync.pipeline import Syncer, SyncOptions
from app.core.sync.plan import SyncPlan

if TYPE_CHECKING:  # the services are imported when first used (start-up stays quick)
    from app.core.archive import ArchiveService
    from app.core.auth import AccountService, AuditTrail
    from app.core.directory import Directory
    from app.core.media.service import MediaService
    from app.core.search import SearchService
    from app.core.sync.quarantine import RetryResult

SIMULATOR_CORPUS_ENV = "WECOM_SIM_CORPUS"
DEMO_USERNAME = "demo"


@dataclass(frozen=True)
class DemoLogin:
    """The demo account made by :meth:`AppContext.setup_demo`; the password is shown once, never stored."""

    username: str
    password: str

    def __repr__(self) -> str:  # never print the password by accident
        return f"DemoLogin(username={self.username!r})"


def _setting_changes(old: Settings, new: Settings) -> list[tuple[str, object, object]]:
    """(name, old, new) of every setting that differs; a section's fields as ``storage.oss.bucket``, a
    corp's as ``corps[<corpid>].<field>``, an added or removed corp as ``corps[<corpid>]``."""
    a, b = setting_values(old), setting_values(new)
    out: list[tuple[str, object, object]] = [(k, a.get(k), v) for k, v in b.items()
                                             if k != "corps" and a.get(k) != v]
    before = {c["corpid"]: c for c in a.get("corps", [])}
    after = {c["corpid"]: c for c in b.get("corps", [])}
    for corpid in [*before, *(c for c in after if c not in before)]:
        o, n = before.get(corpid), after.get(corpid)
        if o is None or n is None:
            out.append((f"corps[{corpid}]", o if o is not None else "(none)", n if n is not None else "(none)"))
            continue
        out.extend((f"corps[{corpid}].{k}", o.get(k), v) for k, v in n.items() if o.get(k) != v)
    return out


def simulator_library() -> Path:
    """The SDK simulator library, built from native/ if it is missing or stale."""
    from native.build import build_simulator

    return Path(build_simulator())


class AppContext:
    """One archive as a command or the window works on it: its paths, settings and secrets, and the
    core services over it, each opened when first used (typed, so the dependencies show):

    ``db`` (Database: the store; only core services touch it), ``storage`` (MediaStorage in use),
    ``trail`` (AuditTrail), ``accounts`` (AccountService), ``archive`` (ArchiveService: sessions,
    messages, media rows, runs), ``search`` (SearchService), ``media`` (MediaService),
    ``directory`` (Directory: names). Tencent's SDK through one factory: :meth:`connection` (a
    CorpConnection: SDK host processes, never this process), :meth:`sync_plan` /
    :meth:`make_syncer`. Connection tests for the Settings dialog: ``app.core.checks``.
    """

    def __init__(self, data_dir: str | os.PathLike[str] | None = None, db_url: str | None = None):
        self.paths = AppPaths.resolve(data_dir)
        self.paths.ensure()
        configure_logging(self.paths.log_dir)
        self.settings: Settings = load_settings(self.paths)
        self._db_url_override = db_url
        self.secrets = SecretStore()
        self.demo_login: DemoLogin | None = None  # set by setup_demo when it created the demo account
        if (self.paths.data_dir / "export-key.pem").is_file():  # an earlier version's plaintext export key
            self._protect_export_key()

    def _protect_export_key(self) -> None:
        """Move an earlier version's plaintext export key into the keyring (or encrypt it under
        WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE) at once; otherwise it is encrypted at the next export."""
        import logging

        from app.core.export.signing import migrate_plaintext_export_key

        try:
            migrate_plaintext_export_key(self.secrets, self.paths.data_dir, interactive=False)
        except SecretMissingError as exc:
            logging.getLogger(__name__).warning("the plaintext export key was not moved: %s", exc)

    @property
    def db_url(self) -> str:
        """The archive's URL, with its password from the keyring (the settings file holds none)."""
        return self.secrets.database_url(self._db_url_override or self.settings.database(self.paths))

    @cached_property
    def db(self) -> Database:
        db = open_database(self.db_url)
        db.local_dir = self.paths.data_dir
        return db

    @cached_property
    def storage(self) -> MediaStorage:
        """The media backend in use (settings.storage.backend): the local folder, OSS or COS."""
        from app.core.media.backends import open_storage

        return open_storage(self.settings, self.paths, self.secrets)

    def storage_for(self, backend: str | None) -> MediaStorage:
        """The backend a media row names (rows stored before a switch, or not yet migrated)."""
        current: MediaStorage | None = self.__dict__.get("storage")  # opened already (maybe since switched away from)
        if current is not None and (not backend or backend == current.name):
            return current
        if not backend or (current is None and backend == self.settings.storage.backend):
            return self.storage
        others: dict[str, MediaStorage] = self.__dict__.setdefault("_other_storages", {})
        if backend not in others:
            from app.core.media.backends import open_storage

            others[backend] = open_storage(self.settings, self.paths, self.secrets, backend)
        return others[backend]

    @cached_property
    def trail(self) -> AuditTrail:
        """The archive's audit trail (app.core.auth.AuditTrail)."""
        from app.core.auth import AuditTrail

        return AuditTrail(self.db)

    @cached_property
    def accounts(self) -> AccountService:
        """The archive's accounts (app.core.auth.AccountService), writing to :attr:`trail`."""
        from app.core.auth import AccountService

        return AccountService(self.db, self.trail)

    @cached_property
    def archive(self) -> ArchiveService:
        from app.core.archive import ArchiveService

        return ArchiveService(self.db, self.trail)

    @cached_property
    def directory(self) -> Directory:
        from app.core.directory import Directory

        return Directory(self.db)

    @cached_property
    def search(self) -> SearchService:
        from app.core.review.facts import resolve_review_terms
        from app.core.search import SearchService

        return SearchService(self.db, trail=self.trail, review_terms=resolve_review_terms)

    @cached_property
    def media(self) -> MediaService:
        from app.core.media.service import MediaService

        return MediaService(self.db, resolve=self.storage_for, trail=self.trail)  # opens a backend when read

    def save(self) -> None:
        """Write the settings as they are, unchecked and unrecorded: for the app's own bookkeeping.
        A change a person makes goes through :meth:`change_settings`."""
        save_settings(self.settings, self.paths)

    def change_settings(self, actor: Actor, new_settings: Settings | None = None, *,
                        secrets_changed: Iterable[str] = (), **fields: Any) -> list[str]:
        """Apply a person's settings change: needs ``settings.change`` (PermissionDenied, recorded,
        otherwise); records one ``settings.change`` entry per changed setting
        (``"name: old -> new"``, secret values never: :func:`app.core.auth.setting_change_text`),
        in one transaction with writing the file; then ``self.settings`` is the new settings.

        Give the complete ``new_settings`` (may be ``self.settings`` edited in place: the file on
        disk is the "before"), and/or single fields as keywords (``change_settings(actor,
        no_login=True)``). ``secrets_changed``: names of secrets changed in the keyring alongside
        (e.g. ``"corps[ww1].corp_secret"``), recorded as ``[redacted] -> [redacted]``.
        Returns the names of the changed settings. SettingsError for an invalid value (nothing
        recorded or written)."""
        from app.core.auth import SETTINGS_CHANGE, Action, setting_change_text

        new = new_settings if new_settings is not None else self.settings
        if fields:
            new = replace(new, **fields)
        secrets_changed = list(secrets_changed)
        changes = _setting_changes(self._saved_settings(), new)
        names = [name for name, _, _ in changes] + secrets_changed
        self.trail.require(actor, SETTINGS_CHANGE, action=Action.SETTINGS_CHANGE, object_type="settings",
                           object=", ".join(names) or "(no change)")
        new.validate()
        if not names:
            self.settings = new
            return []
        with self.db.write() as conn:
            for name, old, value in changes:
                self.trail.record(actor, Action.SETTINGS_CHANGE, object_type="setting",
                                  object=setting_change_text(name, old, value), detail={"setting": name}, conn=conn)
            for name in secrets_changed:
                self.trail.record(actor, Action.SETTINGS_CHANGE, object_type="setting",
                                  object=setting_change_text(name, "", ""), detail={"setting": name, "secret": True},
                                  conn=conn)
            save_settings(new, self.paths)  # in the transaction: a failed write records nothing
        self.settings = new
        return names

    def _saved_settings(self) -> Settings:
        try:
            return load_settings(self.paths)
        except SettingsError:  # an unreadable file: every setting counts as changed from the defaults
            return Settings()

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()

    # ------------------------------------------------------------------ sync
    def library(self, corp: CorpSettings) -> LibrarySpec:
        """The SDK library of ``corp``: Tencent's file, or the simulator (built if stale) with the
        corpus folder it serves (read from ``WECOM_SIM_CORPUS`` in the SDK host)."""
        if corp.uses_simulator:
            return LibrarySpec(str(simulator_library()),
                               {SIMULATOR_CORPUS_ENV: str(Path(corp.simulator_corpus).resolve())})
        return LibrarySpec(str(Path(corp.sdk_library).expanduser()))

    def connection(self, corp: CorpSettings, *, secret: str | None = None,
                   proxy_passwd: str | None = None) -> CorpConnection:
        """How to reach ``corp``'s archive, with its secrets from the keyring (SecretMissingError), or
        those given (Settings tests a secret before it is stored)."""
        return CorpConnection(self.library(corp), corp.corpid, secret or self.secrets.corp_secret(corp),
                              proxy=corp.proxy or None,
                              proxy_passwd=proxy_passwd or (self.secrets.proxy_password(corp) if corp.proxy else None),
                              timeout=corp.timeout, ca_file=corp.ca_file or None, simulated=corp.uses_simulator)

    def sync_plan(self, corp: CorpSettings, *, media: bool = True, workers: int | None = None,
                  actor: Actor | None = None, niceness: int = 0) -> SyncPlan:
        """Everything a sync of ``corp`` by ``actor`` needs (None: a background job), resolved from
        the settings and the keyring — for this process (:meth:`make_syncer`) or a sync process."""
        from app.core.media.backends import storage_secret

        options = SyncOptions(workers=self.settings.sync_workers if workers is None else workers,
                              media=media, media_workers=self.settings.media_workers, niceness=niceness)
        return SyncPlan(paths=self.paths, db_url=self.db_url, settings=self.settings,
                        connection=self.connection(corp), private_keys=self.secrets.private_keys(corp),
                        options=options, actor=actor, corp_name=corp.name,
                        storage_secret=storage_secret(self.settings, self.secrets))

    def make_syncer(self, corp: CorpSettings, *, media: bool = True, workers: int | None = None,
                    actor: Actor | None = None) -> Syncer:
        """A sync of ``corp`` run in this process by ``actor`` (who needs ``sync.run``); None means
        a background job (``Actor.system("scheduled-sync")``)."""
        return self.sync_plan(corp, media=media, workers=workers, actor=actor).build(db=self.db, storage=self.storage)

    def retry_quarantine(self, actor: Actor, corp: CorpSettings) -> RetryResult:
        """Try the quarantined entries of ``corp`` again with the private keys installed now (needs
        ``sync.run``; recorded). Tencent's library runs in an SDK host process. Returns the
        RetryResult (tried, resolved, still failing)."""
        from app.core.sync.quarantine import retry_quarantine

        return retry_quarantine(actor, self.db, corpid=corp.corpid, private_keys=self.secrets.private_keys(corp),
                                library=self.library(corp))

    # ------------------------------------------------------------------ demo
    def setup_demo(self, corpus_dir: str | os.PathLike[str] | None = None,
                   messages: int | None = None, *, actor: Actor | None = None) -> tuple[CorpSettings, str]:
        """Configure a corp served by the simulator from ``corpus_dir`` (or a generated demo
        corpus), with the corpus' installable private keys. Returns the corp and a note on where
        its secrets live.

        ``actor``: who does it (needs ``settings.change``; the change is recorded). On an archive
        without any account give none: the demo account ``demo`` is created with every role
        (:meth:`ensure_demo_account`), does it, and "open without login" is turned on — so the
        demo works at once without a prompt while it is the only account. Its password is in
        :attr:`demo_login` (shown once by the caller). AccountError if ``actor`` is None and the
        archive has accounts."""
        import json

        from app.core.auth import SETTINGS_CHANGE, AccountError, Action
        from native.corpus import DEMO_MESSAGES, ensure_demo_corpus, generate_corpus

        if actor is not None:
            self.trail.require(actor, SETTINGS_CHANGE, action=Action.SETTINGS_CHANGE, object_type="settings",
                               object="demo corp")
        elif not self.accounts.needs_first_admin():
            raise AccountError("this archive has accounts already: log in as an administrator to set up the demo",
                               "此存档已有账号：请以管理员身份登录后再设置演示")

        if corpus_dir is None:
            target = self.paths.demo_corpus_dir
            if messages and messages != DEMO_MESSAGES:
                target = self.paths.data_dir / f"demo-corpus-{messages}"
                if not (target / "truth.json").exists():  # written last: marks a complete corpus
                    generate_corpus(target, messages=messages, seed=1)
            else:
                ensure_demo_corpus(target)
            corpus = target
        else:
            corpus = Path(corpus_dir).expanduser().resolve()
            if not (corpus / "corpus.json").is_file():
                raise FileNotFoundError(f"{corpus} is not a simulator corpus (it has no corpus.json)")
        conf = json.loads((corpus / "corpus.json").read_text(encoding="utf-8"))
        corp = CorpSettings(corpid=conf["corpid"], name="演示企业 Demo Corp", simulator_corpus=str(corpus))
        installable = {int(v): e for v, e in (conf.get("keys") or {}).items() if e.get("install", True)}
        if actor is None:
            actor = self.ensure_demo_account()
        secrets_changed = []
        if keyring_available():
            try:
                current = self.secrets.corp_secret(corp)
            except SecretMissingError:
                current = None
            if current != conf["secret"]:
                self.secrets.set_corp_secret(corp.corpid, conf["secret"])
                secrets_changed.append(f"corps[{corp.corpid}].corp_secret")
            for version, entry in installable.items():
                pem = (corpus / entry["private"]).read_text(encoding="ascii")
                if self.secrets.private_key(corp, version) != pem:
                    self.secrets.set_private_key(corp.corpid, version, pem)
                    secrets_changed.append(f"corps[{corp.corpid}].private_key_v{version}")
            corp.key_versions = sorted(installable)
            where = "the OS keyring"
        else:
            corp.secrets_in_corpus = True
            where = f"the demo corpus folder {corpus} (this computer has no OS keyring)"
        new = replace(self.settings, corps=list(self.settings.corps))
        new.upsert_corp(corp)
        if self.demo_login is not None:
            new.no_login = True
        self.change_settings(actor, new, secrets_changed=secrets_changed)
        if (corpus / "truth.json").is_file():  # the demo corpus ships a directory of names
            from app.core.directory import import_directory
            from app.core.sync.pipeline import ensure_corp

            import_directory(self.db, ensure_corp(self.db, corp.corpid, corp.name), corpus / "truth.json",
                             actor=actor)
        return corp, where

    def ensure_demo_account(self) -> Actor:
        """Create the demo account on an archive without accounts: user name ``demo``, every role
        (administrator, reviewer, exporter, auditor), a random password kept in
        :attr:`demo_login` only (the caller shows it once). Returns its actor. AccountError if
        the archive has an account already."""
        import secrets

        from app.core.auth import ADMINISTRATOR, ROLES

        password = secrets.token_urlsafe(12)  # 16 characters; a hash of it is all that is stored
        try:
            workstation = socket.gethostname()
        except OSError:
            workstation = ""
        info = self.accounts.create_first_admin(DEMO_USERNAME, password, workstation=workstation)
        self.demo_login = DemoLogin(info.username, password)
        admin = Actor(username=info.username, roles=frozenset({ADMINISTRATOR}), workstation=workstation,
                      account_id=info.id)
        info = self.accounts.set_roles(admin, info.username, ROLES)
        return Actor(username=info.username, roles=frozenset(info.roles), workstation=workstation,
                     account_id=info.id)
