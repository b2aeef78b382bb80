"""A small synced archive for the backup, retention and server tests: the demo set-up on a generated
corpus (with media), synced in this process; the demo account (every role) acts."""

from __future__ import annotations

from pathlib import Path

from app.core.actor import Actor
from app.core.context import AppContext


def make_archive(data: Path, db_url: str | None = None, *, messages: int = 120, seed: int = 5,
                 corpus: Path | None = None) -> tuple[AppContext, Actor]:
    """(context, demo actor) of a freshly synced archive in ``data`` (and ``db_url``)."""
    from native.corpus import generate_corpus

    corpus = corpus or data.parent / f"{data.name}-corpus"
    if not (corpus / "corpus.json").exists():
        generate_corpus(corpus, messages=messages, seed=seed)
        # Without truth.json the demo imports no names: these tests need none, and the directory's
        # tables are another area's.
        (corpus / "truth.json").rename(corpus / "truth.saved.json")
    ctx = AppContext(data, db_url)
    corp, _ = ctx.setup_demo(corpus)
    actor = demo_actor(ctx)
    ctx.make_syncer(corp, workers=1).run()
    return ctx, actor


def demo_actor(ctx: AppContext) -> Actor:
    """The demo account's actor (no password needed: the archive's one account, no-login)."""
    return ctx.accounts.no_login_actor("test-host")
