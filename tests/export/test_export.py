"""Evidence packages: export, verify, tampering, the bagit library's validator, hostile names and
text, cancelling, and the record in the archive."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.core.actor import Actor
from app.core.auth.roles import ROLES
from app.core.export import (
    ExportCancelled,
    Selection,
    export_package,
    export_records,
    known_keys,
    verify_package,
)

ACTOR = Actor("os:tester", roles=frozenset(ROLES), workstation="test-host")


@pytest.fixture
def package(ctx, info, tmp_path) -> Path:
    result = export_package(ctx, ACTOR, Selection(session_ids=(info["session_id"],)), tmp_path / "pkg")
    assert result.counts["messages"] > 2
    return result.path


def _problems(path: Path, ctx=None) -> list[str]:
    return verify_package(path, known_key_fingerprints=None if ctx is None else known_keys(ctx.db)).problems


def test_export_then_verify_passes(ctx, package):
    report = verify_package(package, known_key_fingerprints=known_keys(ctx.db))
    assert report.ok, report.problems
    assert report.fingerprint and report.key_fingerprint
    names = {p.name for p in package.iterdir()}
    assert {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "signature-ed25519.sig",
            "export-public-key.pem", "VERIFY.txt", "data"} == names
    custody = json.loads((package / "data" / "custody.json").read_text(encoding="utf-8"))
    assert custody["exported_by"] == "os:tester" and custody["counts"]["messages"] > 2
    assert "password" not in custody["archive"]["database"]
    # the original JSON, byte for byte
    with __import__("sqlite3").connect(ctx.db.url.database) as conn:
        raw = {r[0] for r in conn.execute("select raw_json from messages where session_id = ?",
                                          (custody["selection"]["session_ids"][0],))}
    exported = {p.read_bytes() for p in (package / "data" / "messages").rglob("*.json")}
    assert exported == raw


def test_bagit_library_validates_a_fresh_export(package):
    bagit = pytest.importorskip("bagit")
    bag = bagit.Bag(str(package))
    bag.validate()  # raises BagValidationError if anything is wrong
    assert bag.info["Payload-Oxum"]


@pytest.mark.parametrize("tamper", ["change_byte", "delete", "add", "edit_bag_info", "edit_transcript"])
def test_tampering_is_reported(package, tamper):
    target = next((package / "data" / "messages").rglob("*.json"))
    rel = target.relative_to(package).as_posix()
    if tamper == "change_byte":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0x01
        target.write_bytes(bytes(data))
        expected = f"changed file: {rel}"
    elif tamper == "delete":
        target.unlink()
        expected = f"missing file: {rel}"
    elif tamper == "add":
        (package / "data" / "messages" / "extra.json").write_text("{}")
        expected = "extra file: data/messages/extra.json"
    elif tamper == "edit_bag_info":
        info = package / "bag-info.txt"
        info.write_text(info.read_text(encoding="utf-8").replace("Contact-Name: os:tester", "Contact-Name: x"),
                        encoding="utf-8")
        expected = "changed file: bag-info.txt"
    else:
        html = next((package / "data" / "transcripts").glob("[0-9a-fx]*.html"))
        html.write_text(html.read_text(encoding="utf-8") + " ", encoding="utf-8")
        expected = f"changed file: {html.relative_to(package).as_posix()}"
    problems = _problems(package)
    assert any(p.startswith(expected) for p in problems), problems
    if tamper in ("delete", "add"):
        assert any(p.startswith("bad Payload-Oxum") for p in problems), problems


def test_resigned_manifest_with_another_key_is_reported(ctx, package):
    """Someone rebuilds the manifests after a change and signs with their own key."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.core.export.signing import key_fingerprint, public_pem

    key = Ed25519PrivateKey.generate()
    fp = key_fingerprint(key.public_key())
    info = package / "bag-info.txt"
    info.write_text(re.sub(r"Export-Key-Fingerprint: \w+", f"Export-Key-Fingerprint: {fp}",
                           info.read_text(encoding="utf-8")), encoding="utf-8")
    (package / "export-public-key.pem").write_bytes(public_pem(key.public_key()))
    lines = []
    for name in ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "VERIFY.txt", "export-public-key.pem"):
        lines.append(f"{hashlib.sha256((package / name).read_bytes()).hexdigest()}  {name}\n")
    tag = "".join(lines).encode()
    (package / "tagmanifest-sha256.txt").write_bytes(tag)
    (package / "signature-ed25519.sig").write_bytes(base64.b64encode(key.sign(tag)))
    assert _problems(package) == []  # intact on its own terms...
    problems = _problems(package, ctx)  # ...but not signed by this archive's key
    assert problems == [f"unknown key: {fp} is not the key of any export recorded in this archive"]


def test_bad_signature_is_reported(package):
    sig = package / "signature-ed25519.sig"
    sig.write_bytes(b"AAAA" + sig.read_bytes()[4:])
    assert any(p.startswith("bad signature") for p in _problems(package))


def test_file_names_come_from_ids_and_hashes(ctx, info, tmp_path):
    out = tmp_path / "hostile"
    result = export_package(ctx, ACTOR, Selection(msgids=tuple(info["msgids"]), context_hours=0), out)
    assert result.counts["messages"] == 2 and result.counts["media_files"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile"]  # nothing escaped, no partial left
    allowed = re.compile(r"data/(messages/[0-9a-f]{32}/[0-9a-f]{16}\.json|media/[0-9a-f]{64}\.[A-Za-z0-9]{1,10}"
                         r"|transcripts/([0-9a-f]{32}(-[0-9]+)?\.(html|pdf)|index\.html)|loadfile\.csv|custody\.json|review\.jsonl)")
    payload = [p.relative_to(out).as_posix() for p in (out / "data").rglob("*") if p.is_file()]
    assert payload and all(allowed.fullmatch(p) for p in payload), payload
    assert any(p.endswith(".bin") for p in payload)  # the hostile extension was not used
    # the original names are kept as data
    loadfile = (out / "data" / "loadfile.csv").read_text(encoding="utf-8-sig")
    assert "../../x" in loadfile and ",CON," in loadfile
    assert verify_package(out).ok


def test_transcript_escapes_hostile_text(ctx, info, tmp_path):
    out = tmp_path / "xss"
    export_package(ctx, ACTOR, Selection(msgids=("../../x",), context_hours=0), out)
    (html_file,) = (out / "data" / "transcripts").glob("[0-9a-fx]*.html")
    html = html_file.read_text(encoding="utf-8")
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<img src=x" not in lowered and "onerror=alert" not in lowered.replace("&#x27;", "'").split(
        "&lt;img")[0]
    assert "<a href=javascript" not in lowered and 'href="javascript' not in lowered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&quot;&gt;&lt;a href=javascript:alert(3)&gt;" in html
    assert "中文 😀" in html
    assert "default-src 'none'" in html and "http://" not in lowered and "https://" not in lowered
    assert 'class="msg hit"' in html  # the picked message is marked


def test_query_export_marks_hits_with_context(ctx, tmp_path):
    out = tmp_path / "query"
    result = export_package(ctx, ACTOR, Selection(query="alert", context_hours=1), out)
    assert result.counts["hits"] == 1 and result.counts["messages"] >= 1
    html = next((out / "data" / "transcripts").glob("[0-9a-fx]*.html")).read_text(encoding="utf-8")
    assert "<mark>alert</mark>" in html
    assert verify_package(out).ok


def test_cancelled_export_leaves_nothing(ctx, info, tmp_path):
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 3

    out = tmp_path / "cancelled"
    with pytest.raises(ExportCancelled):
        export_package(ctx, ACTOR, Selection(session_ids=(info["session_id"],)), out, cancel=cancel)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    assert not export_records(ctx.db, limit=1000) or all(r["out_path"] != str(out.absolute())
                                                         for r in export_records(ctx.db, limit=1000))


def test_export_is_recorded(ctx, package):
    report = verify_package(package)
    (record,) = export_records(ctx.db, fingerprint=report.fingerprint)
    assert record["actor"] == "os:tester" and record["workstation"] == "test-host"
    assert record["key_fingerprint"] == report.key_fingerprint
    assert record["out_path"] == str(package)
    assert json.loads(record["counts"])["messages"] > 2
    assert json.loads(record["selection"])["session_ids"]


def test_export_key_is_made_once_and_kept(ctx, tmp_path):
    from app.core.export import load_or_create_export_key

    first = load_or_create_export_key(ctx.secrets, ctx.paths.data_dir)
    again = load_or_create_export_key(ctx.secrets, ctx.paths.data_dir)
    assert first.fingerprint == again.fingerprint and first.where == "keyring"


def test_export_key_file_without_keyring(ctx, tmp_path, monkeypatch):
    import keyring
    from keyring.backends import fail

    from app.core.export import load_or_create_export_key

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    monkeypatch.setenv("WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE", "a passphrase of the user's")
    key = load_or_create_export_key(ctx.secrets, tmp_path)
    assert key.where == "file"  # encrypted under the passphrase (tests/export/test_export_key_at_rest.py)
    assert (tmp_path / "export-key.enc").stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "export-key.pem").exists()
    assert load_or_create_export_key(ctx.secrets, tmp_path).fingerprint == key.fingerprint


def test_cli_export_and_verify(ctx, info, tmp_path):
    from click.testing import CliRunner

    from app.cli import main

    data, url = str(ctx.paths.data_dir), ctx.db_url
    out = tmp_path / "cli-pkg"
    runner = CliRunner()
    res = runner.invoke(main, ["export", "--data-dir", data, "--db", url, "--out", str(out),
                               "--session", info["session_id"]])
    assert res.exit_code == 0, res.output
    assert "Package fingerprint" in res.output and str(out) in res.output
    res = runner.invoke(main, ["verify", "--data-dir", data, "--db", url, str(out)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("Recorded in this archive") and "OK:" in res.output
    next((out / "data" / "messages").rglob("*.json")).write_bytes(b"{}")
    res = runner.invoke(main, ["verify", "--data-dir", data, "--db", url, str(out)])
    assert res.exit_code == 1 and "changed file: data/messages/" in res.output
    res = runner.invoke(main, ["export", "--data-dir", data, "--db", url, "--out", str(tmp_path / "x")])
    assert res.exit_code == 2  # no selection


def test_export_needs_the_exporter_role_and_is_in_the_audit_trail(ctx, info, tmp_path):
    from app.core.auth import AuditTrail, PermissionDenied
    from app.core.auth.audit import AuditFilter

    reviewer = Actor("reviewer-only", roles=frozenset({"reviewer"}), workstation="test-host")
    with pytest.raises(PermissionDenied, match="export.create"):
        export_package(ctx, reviewer, Selection(msgids=("CON",), context_hours=0), tmp_path / "denied")
    assert not (tmp_path / "denied").exists()

    exporter = Actor("exporter-only", roles=frozenset({"exporter"}), workstation="test-host")
    result = export_package(ctx, exporter, Selection(msgids=("CON",), context_hours=0), tmp_path / "ok")
    custody = json.loads((result.path / "data" / "custody.json").read_text(encoding="utf-8"))
    assert custody["exported_by"] == "exporter-only" and custody["roles"] == ["exporter"]
    trail = AuditTrail(ctx.db)
    head_before = custody["audit_chain_head"]
    auditor = Actor("auditor", roles=frozenset({"auditor"}))
    entries = trail.entries(auditor, AuditFilter(actions=("export",)), limit=50)
    mine = [e for e in entries if e.account in ("reviewer-only", "exporter-only")]
    assert [(e.account, e.outcome) for e in mine] == [("exporter-only", "ok"), ("reviewer-only", "denied")]
    assert mine[0].object == result.fingerprint and mine[0].seq == head_before["seq"] + 1
    assert trail.verify(auditor).ok


def test_verify_needs_the_auditor_role_and_is_recorded(ctx, package):
    from app.core.auth import AuditTrail, PermissionDenied
    from app.core.auth.audit import AuditFilter
    from app.core.export import verify_recorded

    with pytest.raises(PermissionDenied, match="export.verify"):
        verify_recorded(ctx.db, Actor("rev", roles=frozenset({"reviewer"})), package)
    auditor = Actor("aud", roles=frozenset({"auditor"}))
    report = verify_recorded(ctx.db, auditor, package)
    assert report.ok, report.problems
    entries = AuditTrail(ctx.db).entries(auditor, AuditFilter(actions=("verify",)), limit=10)
    assert [(e.account, e.outcome, e.object) for e in entries[:2]] == [
        ("aud", "ok", report.fingerprint), ("rev", "denied", str(package))]


def test_a_scoped_exporter_exports_only_sessions_in_scope(ctx, tmp_path):
    from sqlalchemy import select

    from app.core.export import ExportError
    from app.core.store.models import Session

    with ctx.db.read() as conn:
        rows = [(r.session_id, set(json.loads(r.participants))) for r in conn.execute(
            select(Session.session_id, Session.participants).where(Session.session_type == "internal"))]
    (inside, people), outside = rows[0], next(sid for sid, p in rows[1:] if not p & rows[0][1])
    user = sorted(people)[0]
    scoped = Actor("scoped", roles=frozenset({"exporter"}), scope=frozenset({user}), workstation="test-host")
    with pytest.raises(ExportError, match="may export"):
        export_package(ctx, scoped, Selection(session_ids=(outside,)), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    result = export_package(ctx, scoped, Selection(query="type:text", context_hours=0), tmp_path / "q", pdf=False)
    sessions = {p.name for p in (result.path / "data" / "messages").iterdir()}
    with ctx.db.read() as conn:
        allowed = {r.session_id for r in conn.execute(select(Session.session_id, Session.participants))
                   if user in json.loads(r.participants)}
    assert sessions and sessions <= allowed and inside in allowed


def test_a_media_file_that_cannot_be_read_fails_the_export_and_leaves_nothing(ctx, tmp_path, monkeypatch):
    """Media are copied by threads beside the messages (package._BagWriter.copy_later): the error of a
    copy still fails the export, and the copies under way stop before the partial package is removed."""
    import threading

    from app.core.media.storage import MediaNotFoundError

    opened: list[str] = []
    real = ctx.storage_for

    class Failing:
        def __init__(self, storage):
            self.storage = storage

        def open(self, key):
            opened.append(key)
            if len(opened) == 3:
                raise MediaNotFoundError("no such object", backend="local", key=key)
            return self.storage.open(key)

    monkeypatch.setattr(ctx, "storage_for", lambda name: Failing(real(name)))
    sessions = tuple(s.session_id for s in ctx.archive.sessions(ACTOR, limit=1000))
    out = tmp_path / "pkg"
    with pytest.raises(MediaNotFoundError):
        export_package(ctx, ACTOR, Selection(session_ids=sessions), out, pdf=False)
    assert len(opened) >= 3
    assert list(tmp_path.iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("bag-copier")]
