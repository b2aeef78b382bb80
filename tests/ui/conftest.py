"""GUI test fixtures: offscreen Qt, and a demo archive synced once per test session."""

from __future__ import annotations

import os

import pytest

# Before the QApplication exists (pytest-qt creates it lazily in the qapp fixture).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

GUI_MESSAGES = 800


@pytest.fixture(scope="session", autouse=True)
def shipped_fonts(qapp):
    """The app offers Qt its own fonts when it starts (run_gui); so does the tests' QApplication, so
    that on a machine without fonts the bubbles are drawn with glyphs, as a user sees them."""
    from app.ui.app import add_shipped_fonts

    add_shipped_fonts()


@pytest.fixture(scope="session")
def synced_archive(tmp_path_factory):
    """(data_dir, db_url) of a demo archive of GUI_MESSAGES generated messages, synced with media."""
    from app.core.context import AppContext

    data = tmp_path_factory.mktemp("gui-archive")
    ctx = AppContext(data)
    from native.corpus import generate_corpus

    corpus = data / "corpus"
    generate_corpus(corpus, messages=GUI_MESSAGES, seed=21)
    corp, _ = ctx.setup_demo(corpus)
    ctx.make_syncer(corp, workers=1).run()
    url = ctx.db_url
    ctx.close()
    return data, url


@pytest.fixture
def app_ctx(synced_archive, monkeypatch):
    """An AppContext on the synced demo archive (read-mostly: tests must not change it)."""
    from app.core.context import AppContext

    data, url = synced_archive
    monkeypatch.setenv("WECOM_AUDITOR_DATA_DIR", str(data))
    ctx = AppContext(data, url)
    yield ctx
    ctx.close()


@pytest.fixture
def chinese_window(qapp):
    """The window's language is Simplified Chinese for this test: its translators installed and the
    application property the window reads set (app/ui/language.py), both undone afterwards."""
    from app.ui.app import install_translators

    translators = install_translators(qapp, "zh_CN")
    qapp.setProperty("ui_language", "zh_CN")
    yield
    qapp.setProperty("ui_language", "en")
    for t in translators:
        qapp.removeTranslator(t)
