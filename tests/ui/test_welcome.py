"""The first-run screen and the demo set-up it leads to."""

from __future__ import annotations

import pytest

from app.core.context import AppContext
from app.ui.welcome import WelcomeWidget, prepare_demo


def test_buttons_emit_their_signals(qtbot):
    w = WelcomeWidget()
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.demo_requested, timeout=1000):
        w.demo_button.click()
    with qtbot.waitSignal(w.configure_requested, timeout=1000):
        w.configure_button.click()
    assert "demo" in w.demo_button.text().lower() and "corp" in w.configure_button.text().lower()


def test_prepare_demo_configures_the_simulator_corp(tmp_path, monkeypatch):
    import native.corpus as corpus_pkg
    from native.corpus import generate_corpus

    # A small corpus in place of the 3,000-message demo, to keep the test quick.
    monkeypatch.setattr(corpus_pkg, "ensure_demo_corpus",
                        lambda path: generate_corpus(path, messages=30, seed=2) and path)
    ctx = AppContext()
    try:
        corp = prepare_demo(ctx)
        assert corp.uses_simulator and corp.key_versions
        assert ctx.settings.corps == [corp]
        assert ctx.secrets.corp_secret(corp)
    finally:
        ctx.close()


pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")
