"""The export signing key is never a plaintext file: in the OS keyring, or — on a computer without
one — in export-key.enc under a passphrase the user holds (scrypt + AES-256-GCM). Asked for when an
export signs (the CLI prompts, or WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE for headless use); an
earlier version's plaintext export-key.pem is migrated and overwritten before it is deleted."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import keyring
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from keyring.backends import fail

from app.core.config.secrets import SERVICE, SecretStore
from app.core.export import signing
from app.core.export.signing import (
    ENCRYPTED_KEY_FILE_NAME,
    IN_FILE,
    IN_KEYRING,
    KEY_FILE_NAME,
    PASSPHRASE_ENV,
    ExportKeyError,
    ExportKeyPassphraseNeeded,
    WrongExportKeyPassphrase,
    export_key_passphrase,
    load_or_create_export_key,
    passphrase_needed,
)

PASSPHRASE = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch):
    """Cheaper scrypt for speed (the file records its parameters, so reading needs no patch)."""
    monkeypatch.setattr(signing, "_KDF_N", 2**12)
    original = signing.encrypt_private_key
    monkeypatch.setattr(signing, "encrypt_private_key", lambda key, pw, **kw: original(key, pw, n=2**12))


@pytest.fixture
def no_keyring(monkeypatch):
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())


def _pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def _legacy_key(folder: Path) -> tuple[Ed25519PrivateKey, Path]:
    """An earlier version's plaintext key file, and a hard link to the same bytes on disk: after the
    migration the link shows what is left in those blocks."""
    key = Ed25519PrivateKey.generate()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / KEY_FILE_NAME
    path.write_bytes(_pem(key))
    os.chmod(path, 0o600)
    link = folder.parent / f"{folder.name}-inode-view"
    os.link(path, link)
    return key, link


def _no_key_material(folder: Path, key: Ed25519PrivateKey) -> None:
    pem, raw = _pem(key), _raw(key)
    body = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert pem not in data and raw not in data and body not in data, path


def test_with_a_keyring_the_key_lives_there_and_nowhere_on_disk(tmp_path):
    key = load_or_create_export_key(SecretStore(), tmp_path)
    assert key.where == IN_KEYRING and list(tmp_path.iterdir()) == []
    assert load_or_create_export_key(SecretStore(), tmp_path).fingerprint == key.fingerprint
    assert passphrase_needed(SecretStore(), tmp_path) is None
    assert "PRIVATE" not in repr(key)


def test_without_a_keyring_the_key_is_encrypted_under_the_users_passphrase(tmp_path, no_keyring, monkeypatch):
    secrets = SecretStore()
    assert passphrase_needed(secrets, tmp_path) == "new"
    with pytest.raises(ExportKeyPassphraseNeeded, match=PASSPHRASE_ENV):
        load_or_create_export_key(secrets, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing made without a passphrase
    with pytest.raises(ExportKeyError, match="at least 10 characters"), export_key_passphrase("short"):
        load_or_create_export_key(secrets, tmp_path)

    asked = []
    with export_key_passphrase(lambda new: asked.append(new) or PASSPHRASE):
        key = load_or_create_export_key(secrets, tmp_path)
    assert asked == [True] and key.where == IN_FILE
    path = tmp_path / ENCRYPTED_KEY_FILE_NAME
    assert [p.name for p in tmp_path.iterdir()] == [ENCRYPTED_KEY_FILE_NAME]
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    _no_key_material(tmp_path, key.private_key)
    doc = json.loads(path.read_text())
    assert doc["kdf"]["name"] == "scrypt" and doc["cipher"]["name"] == "AES-256-GCM"
    assert passphrase_needed(secrets, tmp_path) == "unlock"

    with pytest.raises(ExportKeyPassphraseNeeded):
        load_or_create_export_key(secrets, tmp_path)
    with pytest.raises(WrongExportKeyPassphrase), export_key_passphrase("wrong passphrase!"):
        load_or_create_export_key(secrets, tmp_path)
    with export_key_passphrase(PASSPHRASE):
        assert load_or_create_export_key(secrets, tmp_path).fingerprint == key.fingerprint
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)  # headless: the environment supplies it
    assert passphrase_needed(secrets, tmp_path) is None
    assert load_or_create_export_key(secrets, tmp_path).fingerprint == key.fingerprint


@pytest.mark.parametrize("tamper", ["kdf-n", "salt", "fingerprint", "ciphertext", "huge-n", "garbage"])
def test_a_changed_key_file_is_refused(tmp_path, no_keyring, tamper):
    with export_key_passphrase(PASSPHRASE):
        load_or_create_export_key(SecretStore(), tmp_path)
    path = tmp_path / ENCRYPTED_KEY_FILE_NAME
    doc = json.loads(path.read_text())
    if tamper == "kdf-n":
        doc["kdf"]["n"] = 2**13
    elif tamper == "salt":
        doc["kdf"]["salt"] = "A" * 24
    elif tamper == "fingerprint":
        doc["public_key_sha256"] = "0" * 64
    elif tamper == "ciphertext":
        doc["ciphertext"] = doc["ciphertext"][:-8] + "AAAAAAA="
    elif tamper == "huge-n":
        doc["kdf"]["n"] = 2**30  # must be refused before scrypt tries to allocate it
    path.write_text("not json" if tamper == "garbage" else json.dumps(doc))
    expected = ExportKeyError if tamper in ("huge-n", "garbage") else WrongExportKeyPassphrase
    with pytest.raises(expected) as err, export_key_passphrase(PASSPHRASE):
        load_or_create_export_key(SecretStore(), tmp_path)
    assert "\n" not in str(err.value)


def test_a_plaintext_key_of_an_earlier_version_moves_into_the_keyring_and_is_overwritten(tmp_path):
    folder = tmp_path / "data"
    old, inode = _legacy_key(folder)
    key = load_or_create_export_key(SecretStore(), folder)
    assert key.where == IN_KEYRING and key.fingerprint == signing.key_fingerprint(old.public_key())
    assert not (folder / KEY_FILE_NAME).exists()
    assert inode.stat().st_size == len(_pem(old)) and inode.read_bytes() != _pem(old)  # overwritten in place
    assert b"PRIVATE KEY" not in inode.read_bytes()
    assert SecretStore().export_key() == _pem(old).decode()


def test_a_plaintext_key_is_migrated_at_start_when_a_keyring_is_there(tmp_path, monkeypatch):
    from app.core.context import AppContext

    data = tmp_path / "data"
    old, _ = _legacy_key(data)
    AppContext(data).close()
    assert not (data / KEY_FILE_NAME).exists()
    assert SecretStore().export_key() == _pem(old).decode()


def test_without_a_keyring_a_plaintext_key_is_encrypted_at_start_with_the_env_passphrase_or_at_the_next_export(
        tmp_path, no_keyring, monkeypatch):
    from app.core.context import AppContext

    data = tmp_path / "data"
    old, inode = _legacy_key(data)
    AppContext(data).close()  # no keyring, no passphrase: it has to wait (a warning in the log)
    assert (data / KEY_FILE_NAME).read_bytes() == _pem(old)
    assert passphrase_needed(SecretStore(), data) == "new"
    with export_key_passphrase(PASSPHRASE):
        key = load_or_create_export_key(SecretStore(), data)
    assert key.where == IN_FILE and key.fingerprint == signing.key_fingerprint(old.public_key())
    assert not (data / KEY_FILE_NAME).exists() and inode.read_bytes() != _pem(old)
    _no_key_material(data, old)

    other = tmp_path / "other"
    old2, _ = _legacy_key(other)
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    AppContext(other).close()
    assert not (other / KEY_FILE_NAME).exists() and (other / ENCRYPTED_KEY_FILE_NAME).is_file()
    monkeypatch.delenv(PASSPHRASE_ENV)
    with export_key_passphrase(PASSPHRASE):
        assert load_or_create_export_key(SecretStore(), other).fingerprint == signing.key_fingerprint(
            old2.public_key())


def test_a_plaintext_key_that_differs_from_the_keyrings_is_kept_as_a_previous_key(tmp_path, isolated_env):
    folder = tmp_path / "data"
    current = load_or_create_export_key(SecretStore(), folder)
    old, _ = _legacy_key(folder)
    assert load_or_create_export_key(SecretStore(), folder).fingerprint == current.fingerprint
    assert not (folder / KEY_FILE_NAME).exists()
    fp = signing.key_fingerprint(old.public_key())
    assert isolated_env.store[(SERVICE, f"export:ed25519:previous:{fp}")] == _pem(old).decode()


def test_an_encrypted_key_moves_into_a_keyring_that_appeared(tmp_path, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(keyring, "get_keyring", lambda: fail.Keyring())
        with export_key_passphrase(PASSPHRASE):
            key = load_or_create_export_key(SecretStore(), tmp_path)
    with export_key_passphrase(PASSPHRASE):
        again = load_or_create_export_key(SecretStore(), tmp_path)
    assert again.where == IN_KEYRING and again.fingerprint == key.fingerprint
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ the command line

@pytest.fixture
def archive_copy(export_archive, tmp_path, monkeypatch):
    """A private copy of the export test archive (exports write to it; this test makes key files)."""
    data = tmp_path / "data"
    shutil.copytree(export_archive[0], data, ignore=shutil.ignore_patterns(ENCRYPTED_KEY_FILE_NAME, KEY_FILE_NAME))
    monkeypatch.setenv("WECOM_AUDITOR_DATA_DIR", str(data))
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    return data, export_archive[2]["session_id"]


def test_the_cli_asks_for_the_passphrase_or_takes_it_from_the_environment(archive_copy, tmp_path, no_keyring,
                                                                         monkeypatch):
    data, session = archive_copy
    runner = CliRunner()

    def export(out: str, *, input=None, env=None):
        return runner.invoke(main_cli(), ["export", "--data-dir", str(data), "--out", str(tmp_path / out),
                                          "--session", session, "--no-pdf"], input=input, env=env)

    result = export("p0")  # no terminal, no variable: one clear sentence, nothing written
    assert result.exit_code == 1 and PASSPHRASE_ENV in result.output, result.output
    assert not (tmp_path / "p0").exists() and not (data / ENCRYPTED_KEY_FILE_NAME).exists()

    result = export("p1", env={PASSPHRASE_ENV: PASSPHRASE})
    assert result.exit_code == 0, result.output
    assert (data / ENCRYPTED_KEY_FILE_NAME).is_file() and not (data / KEY_FILE_NAME).exists()
    fingerprint = [line for line in result.output.splitlines() if line.startswith("Signing key fingerprint")]

    monkeypatch.setattr("app.cli.base.interactive", lambda: True)  # a person at a terminal
    result = export("p2", input="not the passphrase\n")
    assert result.exit_code == 1 and "does not unlock the export signing key" in result.output
    assert not (tmp_path / "p2").exists()
    result = export("p3", input=PASSPHRASE + "\n")
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if line.startswith("Signing key fingerprint")] == fingerprint
    assert PASSPHRASE not in result.output
    result = runner.invoke(main_cli(), ["verify", "--data-dir", str(data), str(tmp_path / "p3")])
    assert result.exit_code == 0, result.output


def test_the_cli_has_a_new_passphrase_chosen_twice(archive_copy, tmp_path, no_keyring, monkeypatch):
    data, session = archive_copy
    monkeypatch.setattr("app.cli.base.interactive", lambda: True)
    result = CliRunner().invoke(main_cli(), ["export", "--data-dir", str(data), "--out", str(tmp_path / "p"),
                                             "--session", session, "--no-pdf"],
                                input=f"short\nshort\n{PASSPHRASE}\n{PASSPHRASE}\n")
    assert result.exit_code == 0, result.output
    assert "at least 10 characters; try again" in result.output
    with export_key_passphrase(PASSPHRASE):
        load_or_create_export_key(SecretStore(), data)


def main_cli():
    from app.cli import main

    return main
