"""The listing commands show deceptive ids, names, file names and text with visible escapes: no bidi
control, invisible character or terminal escape reaches the terminal, and --json lines parse back
to the exact values."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from app.cli import main

RAW = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200f\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def cli(ctx):
    data, url = str(ctx.paths.data_dir), ctx.db_url
    runner = CliRunner()

    def run(*args: str) -> str:
        res = runner.invoke(main, ["--data-dir", data, "--db", url, *args])
        assert res.exit_code == 0, res.output
        assert not RAW.search(res.output), (args, RAW.search(res.output), res.output[-2000:])
        return res.output

    return run


@pytest.fixture
def deceptive_quarantine(ctx):
    from sqlalchemy import delete, insert, select

    from app.core.store.db import now_ms
    from app.core.store.models import Corp, QuarantineEntry

    with ctx.db.write() as conn:
        corp_id = conn.execute(select(Corp.id)).scalars().first()
        qid = ctx.db.ids.next_id()
        conn.execute(insert(QuarantineEntry).values(
            id=qid, corp_id=corp_id, seq=99_000_001, msgid="q\u202eevil\nid", publickey_ver=1, encrypted_item="{}",
            stage="parse", error="bad JSON near \x1b[2J\u202etxet", plaintext=None, attempts=1,
            first_seen_at=now_ms(), last_tried_at=now_ms(), resolved_at=None, sync_run_id=None))
    yield
    with ctx.db.write() as conn:
        conn.execute(delete(QuarantineEntry).where(QuarantineEntry.id == qid))


def test_messages_listing(cli, info):
    out = cli("messages", "--session", info["session_id"])
    assert "⟨U+202E⟩gpj.exe" in out  # the file message's summary


def test_messages_json_escapes_and_parses_back(cli, info):
    lines = [json.loads(line) for line in cli("messages", "--session", info["session_id"], "--json").splitlines()]
    (row,) = [r for r in lines if r["msgid"] == info["deceptive_msgid"]]  # the exact value comes back
    assert "\u202e" in row["msgid"]


def test_quarantine_listing(cli, deceptive_quarantine):
    out = cli("quarantine")
    assert "q⟨U+202E⟩evil⟨U+000A⟩id" in out and "⟨U+001B⟩[2J⟨U+202E⟩txet" in out
    rows = [json.loads(line) for line in cli("quarantine", "--json").splitlines()]
    assert any(r["msgid"] == "q\u202eevil\nid" for r in rows)


def test_sessions_runs_and_audit_listings(cli, ctx, info, tmp_path):
    cli("sessions")
    cli("sessions", "--json")
    cli("runs")
    cli("runs", "--json")
    # an export of the deceptive message puts its msgid into the audit trail's selection text
    out = cli("export", "--out", str(tmp_path / "p"), "--msgid", info["deceptive_msgid"], "--context", "0",
              "--no-pdf")
    assert "Package fingerprint" in out
    listing = cli("audit", "list", "--action", "export.start", "--limit", "5")
    assert "⟨U+202E⟩" in listing
    for line in cli("audit", "list", "--action", "export", "--limit", "5", "--json").splitlines():
        json.loads(line)


def test_search_listing(export_archive, tmp_path):
    """On a copy of the archive: the full reindex that puts the deceptive message into the search
    index must not change the shared archive's index (other tests count its hits)."""
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(export_archive[0], copy, ignore=shutil.ignore_patterns("corpus"))
    runner = CliRunner()

    def run(*args: str) -> str:
        res = runner.invoke(main, ["--data-dir", str(copy), *args])
        assert res.exit_code == 0, res.output
        assert not RAW.search(res.output), (args, res.output[-2000:])
        return res.output

    run("reindex")
    out = run("search", "HYPERLINK")
    assert "⟨U+202E⟩txet" in out and "[HYPERLINK]" in out
    for line in run("search", "HYPERLINK", "--json").splitlines():
        assert "\u202e" in json.loads(line)["text"]
