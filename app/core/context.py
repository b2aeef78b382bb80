"""Everything a command or the GUI needs to work on one archive: paths, settings, secrets,
the database, media storage, and building a sync for a configured corp."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from app.core.config.paths import AppPaths
from app.core.config.secrets import SecretStore, keyring_available
from app.core.config.settings import CorpSettings, Settings, load_settings, save_settings
from app.core.logs import configure_logging
from app.core.media.local import LocalStorage
from app.core.store.db import Database, open_database
from app.core.sync.pipeline import Syncer, SyncOptions

SIMULATOR_CORPUS_ENV = "WECOM_SIM_CORPUS"


def simulator_library() -> Path:
    """The SDK simulator library, built from native/ if it is missing or stale."""
    from native.build import build_simulator

    return Path(build_simulator())


class AppContext:
    def __init__(self, data_dir: str | os.PathLike[str] | None = None, db_url: str | None = None):
        self.paths = AppPaths.resolve(data_dir)
        self.paths.ensure()
        configure_logging(self.paths.log_dir)
        self.settings: Settings = load_settings(self.paths)
        self._db_url_override = db_url
        self.secrets = SecretStore()

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
    def storage(self) -> LocalStorage:
        return LocalStorage(self.settings.media_root(self.paths))

    @cached_property
    def archive(self):
        from app.core.archive import ArchiveService

        return ArchiveService(self.db)

    @cached_property
    def directory(self):
        from app.core.directory import Directory

        return Directory(self.db)

    @cached_property
    def search(self):
        from app.core.search import SearchService

        return SearchService(self.db)

    @cached_property
    def media(self):
        from app.core.media.service import MediaService

        return MediaService(self.db, self.storage)

    def save(self) -> None:
        save_settings(self.settings, self.paths)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()

    # ------------------------------------------------------------------ sync
    def library_path(self, corp: CorpSettings) -> Path:
        if corp.uses_simulator:
            # The simulator finds its corpus through this variable, read in Init.
            os.environ[SIMULATOR_CORPUS_ENV] = str(Path(corp.simulator_corpus).resolve())
            return simulator_library()
        return Path(corp.sdk_library).expanduser()

    def make_syncer(self, corp: CorpSettings, *, media: bool = True, workers: int | None = None) -> Syncer:
        options = SyncOptions(workers=self.settings.sync_workers if workers is None else workers,
                              media=media, media_workers=self.settings.media_workers)
        return Syncer(self.db, corpid=corp.corpid, corp_name=corp.name, secret=self.secrets.corp_secret(corp),
                      private_keys=self.secrets.private_keys(corp), library_path=self.library_path(corp),
                      storage=self.storage, spool_dir=self.paths.spool_dir, proxy=corp.proxy or None,
                      proxy_passwd=self.secrets.proxy_password(corp) if corp.proxy else None,
                      timeout=corp.timeout, options=options)

    # ------------------------------------------------------------------ demo
    def setup_demo(self, corpus_dir: str | os.PathLike[str] | None = None,
                   messages: int | None = None) -> tuple[CorpSettings, str]:
        """Configure a corp served by the simulator from ``corpus_dir`` (or a generated demo
        corpus), with the corpus' installable private keys. Returns the corp and a note on where
        its secrets live."""
        import json

        from native.corpus import DEMO_MESSAGES, ensure_demo_corpus, generate_corpus

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
        if keyring_available():
            self.secrets.set_corp_secret(corp.corpid, conf["secret"])
            for version, entry in installable.items():
                self.secrets.set_private_key(corp.corpid, version,
                                             (corpus / entry["private"]).read_text(encoding="ascii"))
            corp.key_versions = sorted(installable)
            where = "the OS keyring"
        else:
            corp.secrets_in_corpus = True
            where = f"the demo corpus folder {corpus} (this computer has no OS keyring)"
        self.settings.upsert_corp(corp)
        self.save()
        if (corpus / "truth.json").is_file():  # the demo corpus ships a directory of names
            from app.core.directory import import_directory
            from app.core.sync.pipeline import ensure_corp

            import_directory(self.db, ensure_corp(self.db, corp.corpid, corp.name), corpus / "truth.json")
        return corp, where
