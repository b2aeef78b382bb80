"""The quarantine in the window: a docked panel (the first registered panel), listing entries with
their reasons and retrying them with the keys installed now."""

from __future__ import annotations

import json

from app.core.actor import Actor
from app.core.context import AppContext
from app.ui.main_window import MainWindow
from app.ui.panels import registered_panels

ACTOR = Actor.local()


def _archive_with_quarantine(tmp_path):
    """A demo archive whose corpus has entries of a key version the demo does not install."""
    from native.corpus import generate_corpus

    corpus = tmp_path / "corpus"
    generate_corpus(corpus, messages=400, seed=4)
    ctx = AppContext(tmp_path / "data")
    corp, _ = ctx.setup_demo(corpus)
    report = ctx.make_syncer(corp, workers=1, media=False).run()
    assert report.quarantined > 0
    return ctx, corp, corpus, report


def test_the_quarantine_panel_lists_entries_and_retries_them_with_a_new_key(qtbot, tmp_path):
    ctx, corp, corpus, report = _archive_with_quarantine(tmp_path)
    w = MainWindow(ctx, ACTOR)
    qtbot.addWidget(w)
    w.show()
    assert [s.key for s in registered_panels()][:1] == ["quarantine"]
    panel = w.panels["quarantine"]
    dock = panel.parentWidget()
    assert not dock.isVisible()
    toggle = dock.toggleViewAction()
    assert toggle in w.view_menu.actions() and toggle.shortcut().toString() == "Ctrl+Shift+Q"
    toggle.trigger()
    assert dock.isVisible()
    qtbot.waitUntil(lambda: panel.model.rowCount() == report.quarantined, timeout=10_000)
    model = panel.model
    stage = model.COLUMNS.index("stage")
    reason = model.COLUMNS.index("reason")
    assert {model.index(r, stage).data() for r in range(model.rowCount())} == {"Key"}
    assert "publickey_ver 3" in model.index(0, reason).data()
    assert str(report.quarantined) in panel.summary.text()

    # The administrator imports the missing key; the retry archives every entry.
    conf = json.loads((corpus / "corpus.json").read_text())
    ctx.secrets.set_private_key(corp.corpid, 3, (corpus / conf["keys"]["3"]["private"]).read_text())
    ctx.settings.corp(corp.corpid).key_versions.append(3)
    assert panel.retry_button.isEnabled()
    assert panel.retry()
    qtbot.waitUntil(lambda: "now archived" in panel.result.text(), timeout=60_000)
    assert panel.result.text() == (f"Retried {report.quarantined}: {report.quarantined} now archived, "
                                   f"0 still in quarantine.")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0, timeout=10_000)
    assert panel.summary.text() == "Nothing is in quarantine."
    w.close()
    ctx.close()
