"""The same export on SQLite and on MariaDB: a synced archive exported verifies, and every exported
message is the stored JSON byte for byte (MariaDB's LONGBLOB and PyMySQL round-trip it unchanged)."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from app.core.actor import Actor
from app.core.auth.roles import ROLES
from app.core.export import Selection, export_package, known_keys, verify_package
from app.core.store.models import Message

ACTOR = Actor("os:tester", roles=frozenset(ROLES), workstation="test-host")


def test_export_verifies_on_each_backend(db_url, tmp_path, monkeypatch):
    from app.core.context import AppContext
    from native.corpus import generate_corpus

    data = tmp_path / "data"
    monkeypatch.setenv("WECOM_AUDITOR_DATA_DIR", str(data))
    ctx = AppContext(data, db_url)
    try:
        generate_corpus(tmp_path / "corpus", messages=150, seed=3)
        corp, _ = ctx.setup_demo(tmp_path / "corpus")
        ctx.make_syncer(corp, workers=1).run()
        with ctx.db.read() as conn:
            sids = list(conn.execute(select(Message.session_id).where(Message.session_id.is_not(None))
                                     .distinct().limit(3)).scalars())
            stored = {hashlib.sha256(r).hexdigest() for r in conn.execute(
                select(Message.raw_json).where(Message.session_id.in_(sids))).scalars()}
        result = export_package(ctx, ACTOR, Selection(session_ids=tuple(sids)), tmp_path / "pkg.zip", pdf=False)
        report = verify_package(result.path, known_key_fingerprints=known_keys(ctx.db))
        assert report.ok, report.problems
        assert result.counts["messages"] == len(stored) and result.counts["sessions"] == len(sids)
        import zipfile

        with zipfile.ZipFile(result.path) as zf:
            exported = {hashlib.sha256(zf.read(n)).hexdigest() for n in zf.namelist()
                        if n.startswith("pkg/data/messages/")}
        assert exported == stored
    finally:
        ctx.close()
