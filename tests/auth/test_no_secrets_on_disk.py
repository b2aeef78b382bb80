"""After a full demo run through the command line — demo, sync, login, search, export, audit verify —
no secret is on disk: not the corp secret, nor any private key, nor the export signing key, the CLI
login token or the account's password, in any file under the data folder (settings, the SQLite
database and its journal, the search index, media, logs) nor in the evidence package.

The simulator's corpus plays WeCom's side (it holds the corp secret and the key pairs by design), so
it lives outside the data folder here. The keyring is the in-memory one of tests/conftest.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from app.cli import main
from app.core.config.secrets import SERVICE, SecretStore
from native.corpus import generate_corpus


def _needles(name: str, secret: str) -> list[tuple[str, bytes]]:
    """The secret itself and, for a PEM, each line of its body (a leak of part of a key is a leak)."""
    out = [(name, secret.encode())]
    if "-----BEGIN" in secret:
        body = [line.strip() for line in secret.splitlines() if line.strip() and not line.startswith("-----")]
        out += [(f"{name} (line {i + 1})", line.encode()) for i, line in enumerate(body) if len(line) >= 16]
        out.append((f"{name} (body)", "".join(body).encode()))
    return out


def _scan(roots: list[Path], needles: list[tuple[str, bytes]]) -> tuple[list[str], int]:
    found, files = [], 0
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            files += 1
            data = path.read_bytes()
            found += [f"{name} in {path}" for name, needle in needles if needle in data]
    return found, files


def test_a_demo_run_leaves_no_secret_on_disk(tmp_path, monkeypatch, isolated_env):
    monkeypatch.delenv("WECOM_AUDITOR_TOKEN", raising=False)
    corpus = tmp_path / "wecom-side" / "corpus"
    generate_corpus(corpus, messages=200, seed=11)
    monkeypatch.setenv("WECOM_SIM_CORPUS", str(corpus))  # the app sets it for the simulator; restored after
    data, package = tmp_path / "data", tmp_path / "exports" / "package"
    package.parent.mkdir()
    runner = CliRunner()

    def run(*args, input=None):
        result = runner.invoke(main, [*args, "--data-dir", str(data)], input=input)
        assert result.exit_code == 0, f"{args}:\n{result.output}"
        return result

    shown = run("demo", "--corpus", str(corpus)).output
    password = re.search(r"shown once\): (\S+)", shown).group(1)
    assert "the OS keyring" in shown  # the secrets went to the keyring, not to a file
    run("sync", "--workers", "1")
    run("login", "-u", "demo", "--password-stdin", input=password + "\n")
    assert "message(s) match" in run("search", "合同", "--count").output
    run("export", "--out", str(package), "--query", "合同", "--no-pdf")
    assert run("audit", "verify").output.startswith("audit trail intact")

    conf = json.loads((corpus / "corpus.json").read_text(encoding="utf-8"))
    keyring = {name: value for (service, name), value in isolated_env.store.items() if service == SERVICE}
    tokens = [v for k, v in keyring.items() if k.startswith("cli-token:")]
    export_key = SecretStore().export_key()
    assert len(tokens) == 1 and tokens[0].startswith("wat_") and export_key and "PRIVATE KEY" in export_key
    needles = _needles("corp secret", conf["secret"]) + _needles("export signing key", export_key)
    needles += _needles("CLI token", tokens[0]) + _needles("account password", password)
    for version, entry in conf["keys"].items():
        needles += _needles(f"private key v{version}", (corpus / entry["private"]).read_text(encoding="ascii"))
    # every secret the keyring holds, whatever its name
    needles += [n for name, value in keyring.items() for n in _needles(f"keyring {name}", value)]

    assert (data / "settings.json").is_file() and (data / "archive.db").is_file()
    assert any((data / "logs").iterdir()) and (data / "archive.db.search").is_dir()
    found, files = _scan([data, package], needles)
    assert files > 20
    assert found == []
