"""An archive synced from a generated corpus with its directory synced from the corpus' simulated
WeCom (names, external contacts' corps, group members with join times), on SQLite and MariaDB."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def insights_corpus(tmp_path_factory) -> Path:
    from native.corpus import generate_corpus

    path = tmp_path_factory.mktemp("insights") / "corpus"
    generate_corpus(path, messages=700, seed=5, media=False)
    return path


@dataclass
class Archive:
    ctx: object
    corp_id: int
    actor: object  # the demo account: every role
    corpus: Path


@pytest.fixture
def archive(insights_corpus, db_url, tmp_path) -> Archive:
    from app.core.context import AppContext
    from app.core.directory.service import sync_directory

    ctx = AppContext(tmp_path / "data", db_url)
    corp, _ = ctx.setup_demo(insights_corpus)
    ctx.make_syncer(corp, workers=1, media=False).run()
    actor = ctx.accounts.no_login_actor("")
    sync_directory(ctx, actor, corp, avatars=False)
    yield Archive(ctx, ctx.archive.corp_id(actor), actor, insights_corpus)
    ctx.close()
