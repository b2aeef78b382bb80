from __future__ import annotations

import pytest

from .kit import make_archive


@pytest.fixture
def archive(tmp_path, monkeypatch):
    monkeypatch.delenv("WECOM_AUDITOR_TOKEN", raising=False)
    return make_archive(tmp_path)
