"""Fixtures shared by the whole suite.

Tests never touch the real user's config, data or keyring: ``isolated_env`` (autouse) points the
app's directories at a temporary folder and installs an in-memory keyring backend.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_kit import TinyCorpus, make_rsa_keys


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
