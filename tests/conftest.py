"""Fixtures shared by the whole suite.

Tests never touch the real user's config, data or keyring: ``isolated_env`` (autouse) points the
app's directories at a temporary folder and installs an in-memory keyring backend.
"""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from corpus_kit import TinyCorpus, make_rsa_keys
from keyring_kit import MemoryKeyring


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """Never touch the real user's data, config or keyring (in this process or its children)."""
    home = tmp_path_factory.mktemp("appdata")
    monkeypatch.setenv("WECOM_AUDITOR_DATA_DIR", str(home))
    # Child processes (CLI runs) get no keyring at all; this process an in-memory one.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def simulator_path() -> Path:
    """The SDK simulator library, built if its sources changed."""
    from native.build import build_simulator

    return Path(build_simulator())


@pytest.fixture(scope="session")
def rsa_keys() -> dict[int, tuple[bytes, bytes]]:
    """Two RSA-2048 key pairs by version: {1: (private_pem, public_pem), 2: (...)}."""
    return make_rsa_keys([1, 2])


@pytest.fixture
def tiny_corpus(tmp_path, rsa_keys, monkeypatch) -> TinyCorpus:
    """A small hand-written corpus served by the simulator (WECOM_SIM_CORPUS points at it)."""
    corpus = TinyCorpus.write(tmp_path / "corpus", rsa_keys)
    monkeypatch.setenv("WECOM_SIM_CORPUS", str(corpus.path))
    return corpus


# ---------------------------------------------------------------- databases

MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"


def _mariadb_admin():
    import pymysql

    return pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", connect_timeout=3)


def mariadb_available() -> bool:
    try:
        _mariadb_admin().close()
        return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mysql)])
def db_url(request, tmp_path):
    """A fresh empty archive database URL on each backend (MariaDB: a throw-away database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.db'}"
        return
    yield from _mariadb_database(request)


def _mariadb_database(request):
    import os
    import uuid

    if not mariadb_available():
        if os.environ.get("CI"):
            pytest.fail("MariaDB on 127.0.0.1:3306 is not reachable (CI must start it)")
        pytest.skip("MariaDB on 127.0.0.1:3306 is not reachable")
    name = f"wa_test_{uuid.uuid4().hex[:12]}"
    admin = _mariadb_admin()
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    try:
        yield MARIADB_URL.format(name=name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()
