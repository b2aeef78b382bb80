"""Directory test fixtures: a generated corpus (names from WeCom's API only: no truth.json import), an
archive synced from it on SQLite or MariaDB, and the HTTPS stand-in serving the corpus' directory
with three secrets that may each call what WeCom lets that kind of secret call."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

CONTACTS_SECRET = "contacts-secret-0123456789abcdefghijkl"
CUSTOMER_SECRET = "customer-secret-0123456789abcdefghijkl"


@pytest.fixture(scope="session")
def directory_corpus(tmp_path_factory) -> Path:
    """A 900-message corpus (seed 1) without truth.json, so names come only from the directory sync."""
    from native.corpus import generate_corpus

    full = tmp_path_factory.mktemp("dircorpus") / "full"
    generate_corpus(full, messages=900, seed=1, media=False)
    bare = full.parent / "corpus"
    bare.mkdir()
    for p in full.iterdir():
        if p.name != "truth.json":
            os.symlink(p, bare / p.name)
    return bare


@dataclass
class Archive:
    ctx: object
    corp: object
    corp_id: int
    corpus: Path
    secret: str
    actor: object  # the demo account: every role

    def directory_doc(self) -> dict:
        return json.loads((self.corpus / "directory.json").read_text(encoding="utf-8"))


@pytest.fixture
def archive(directory_corpus, db_url, tmp_path) -> Archive:
    """The corpus synced into a fresh archive (``db_url``: SQLite and MariaDB), no names yet."""
    from app.core.context import AppContext

    ctx = AppContext(tmp_path / "data", db_url)
    corp, _ = ctx.setup_demo(directory_corpus)
    ctx.make_syncer(corp, workers=1, media=False).run()
    actor = ctx.accounts.no_login_actor("")
    corp_id = ctx.archive.corp_id(actor)
    secret = json.loads((directory_corpus / "corpus.json").read_text())["secret"]
    yield Archive(ctx, corp, corp_id, directory_corpus, secret, actor)
    ctx.close()


@pytest.fixture
def standin(archive):
    """The stand-in for ``archive``'s corp: the chat-archive secret may call msgaudit/*, the contacts
    secret user/ and department/, the customer-contact secret externalcontact/; small pages so that
    every listing takes several cursors. The corp is pointed at it (proxy, CA file) with both extra
    secrets in the keyring."""
    from directory.standin import DirectoryStandIn

    s = DirectoryStandIn.for_corpus(archive.corpus, secrets={
        archive.secret: {"msgaudit"}, CONTACTS_SECRET: {"contacts"}, CUSTOMER_SECRET: {"externalcontact"}},
        page_limits={"user/list_id": 7, "externalcontact/batch/get_by_user": 9})
    s.start()
    use_standin(archive, s)
    archive.ctx.secrets.set_directory_secret(archive.corp.corpid, "contacts", CONTACTS_SECRET)
    archive.ctx.secrets.set_directory_secret(archive.corp.corpid, "customer", CUSTOMER_SECRET)
    yield s
    s.stop()


def use_standin(archive: Archive, s) -> None:
    corp = replace(archive.corp, proxy=s.proxy_url, ca_file=str(s.ca_pem))
    archive.ctx.settings.upsert_corp(corp)
    archive.ctx.save()
    archive.corp = corp


@pytest.fixture
def no_waiting(monkeypatch):
    """The client's backoff returns at once (the waits are tested in test_wecom_client.py)."""
    from app.core.wecom.api import WeComClient

    monkeypatch.setattr(WeComClient, "_wait", lambda self, attempt: self._check_cancel())
