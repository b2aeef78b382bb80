"""Helpers for sync tests: corpora with faults, running the CLI in a fresh process, and the truth."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]


def corpus_with_faults(base: Path, target: Path, faults=(), *, drop_keys=()) -> Path:
    """A corpus at ``target`` sharing ``base``'s files, with its own corpus.json (faults)."""
    target.mkdir(parents=True)
    for name in ("messages.jsonl", "media.json", "media", "keys", "truth.json"):
        if (base / name).exists():
            (target / name).symlink_to((base / name).resolve())
    conf = json.loads((base / "corpus.json").read_text())
    conf["faults"] = list(faults)
    for v in drop_keys:
        conf["keys"][str(v)]["install"] = False
    (target / "corpus.json").write_text(json.dumps(conf))
    return target


def run_cli(*args: str, data_dir: Path, db_url: str, env: dict | None = None, timeout: float = 600,
            check: bool = True) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    cmd = [sys.executable, "-m", "app", *args, "--data-dir", str(data_dir), "--db", db_url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env, cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def sync_json(data_dir: Path, db_url: str, *extra: str, env=None, check=True) -> dict:
    proc = run_cli("sync", "--json", *extra, data_dir=data_dir, db_url=db_url, env=env, check=check)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON summary:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[-1])


class Truth:
    """What the archive must hold after syncing a generated corpus."""

    def __init__(self, corpus: Path, uninstalled_versions=()):
        from native.corpus import read_entries

        self.corpus = corpus
        self.entries = list(read_entries(corpus))
        self.truth = json.loads((corpus / "truth.json").read_text())
        conf = json.loads((corpus / "corpus.json").read_text())
        self.uninstalled = {int(v) for v, e in conf["keys"].items() if e.get("install", True) is False}
        self.uninstalled |= set(uninstalled_versions)

    def archived(self, exclude_seqs=()) -> dict[str, str]:
        """msgid → sha256 of the raw JSON, for entries the app can decrypt."""
        return {e.msgid: hashlib.sha256(e.raw_msg).hexdigest() for e in self.entries
                if e.publickey_ver not in self.uninstalled and e.seq not in set(exclude_seqs)}

    def quarantined_seqs(self) -> set[int]:
        return {e.seq for e in self.entries if e.publickey_ver in self.uninstalled}


def archive_state(db_url: str) -> dict:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        msgs = {r.msgid: r.raw_sha256 for r in conn.execute(text("SELECT msgid, raw_sha256 FROM messages"))}
        raw_ok = all(hashlib.sha256(bytes(r.raw_json)).hexdigest() == r.raw_sha256
                     for r in conn.execute(text("SELECT raw_json, raw_sha256 FROM messages")))
        quarantine = {r.seq: (r.stage, r.error) for r in conn.execute(
            text("SELECT seq, stage, error FROM quarantine WHERE resolved_at IS NULL"))}
        media = [dict(r._mapping) for r in conn.execute(text(
            "SELECT sdkfileid, status, sha256, storage_key, md5_matched, last_error, attempts FROM media"))]
        checkpoint = conn.execute(text("SELECT last_seq FROM sync_checkpoints")).scalar()
        sessions = conn.execute(text("SELECT COALESCE(SUM(message_count), 0) FROM sessions")).scalar()
        in_sessions = conn.execute(text("SELECT COUNT(*) FROM messages WHERE session_id IS NOT NULL")).scalar()
    engine.dispose()
    return {"messages": msgs, "raw_ok": raw_ok, "quarantine": quarantine, "media": media,
            "checkpoint": checkpoint, "session_total": int(sessions), "in_sessions": in_sessions}
