"""The main window as a user meets it: welcome on first run, the archive with its panels, shortcuts,
remembered geometry, and both languages."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QSize, Qt
from PySide6.QtWidgets import QApplication

from app.core.actor import Actor
from app.core.context import AppContext
from app.ui.app import install_translators
from app.ui.main_window import MainWindow

ACTOR = Actor.local()  # every role, no scope


@pytest.fixture
def window(qtbot, app_ctx):
    w = MainWindow(app_ctx, ACTOR)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def test_first_run_shows_the_welcome_screen(qtbot, tmp_path):
    ctx = AppContext(tmp_path / "fresh")
    w = MainWindow(ctx, ACTOR)
    qtbot.addWidget(w)
    assert w.stack.currentWidget() is w.welcome
    assert not w.sync_action.isEnabled()
    w.close()
    ctx.close()


def test_selecting_a_session_shows_its_messages(qtbot, window, app_ctx):
    assert window.stack.currentWidget() is window.splitter
    sessions = app_ctx.archive.sessions(window.actor, limit=1)
    s = sessions[0]
    window.sessions.select_session(s.corp_id, s.session_id, emit=True)
    qtbot.waitUntil(lambda: window.viewer.model.rowCount() > 0, timeout=5000)
    newest = app_ctx.archive.messages(window.actor, corp_id=s.corp_id, session_id=s.session_id, limit=1,
                                      newest_first=True)[0]
    assert window.viewer.model.rowCount() <= s.message_count
    last = window.viewer.model.index(window.viewer.model.rowCount() - 1, 0)
    from app.ui.viewer.model import Roles

    assert last.data(Roles.MessageRole).id == newest.id


def test_a_search_result_opens_its_session_at_the_message(qtbot, window, app_ctx):
    from app.core.search import SearchQuery

    hit = app_ctx.search.search(window.actor, SearchQuery(keyword="合同"), limit=1)[0]
    m = hit.message
    window.search.result_activated.emit(m.corp_id, m.session_id, m.id)
    from app.ui.viewer.model import Roles

    def highlighted():
        model = window.viewer.model
        return any(model.index(r, 0).data(Roles.MessageRole).id == m.id
                   and model.index(r, 0).data(Roles.HighlightRole) for r in range(model.rowCount()))

    qtbot.waitUntil(highlighted, timeout=5000)


def test_shortcuts(window):
    assert window.find_action.shortcut().matches(Qt.Modifier.CTRL | Qt.Key.Key_F)
    assert window.sync_action.shortcut().toString() == "Ctrl+R"
    assert window.copy_action.shortcut().matches(Qt.Modifier.CTRL | Qt.Key.Key_C)


def test_geometry_and_splitter_are_remembered(qtbot, app_ctx):
    w = MainWindow(app_ctx, ACTOR)
    qtbot.addWidget(w)
    w.show()
    w.resize(QSize(760, 560))
    w.splitter.setSizes([150, 350, 250])
    sizes = w.splitter.sizes()
    w.close()
    again = MainWindow(app_ctx, ACTOR)
    qtbot.addWidget(again)
    again.show()
    assert again.size() == QSize(760, 560)
    assert again.splitter.sizes() == sizes
    again.close()


def test_chinese_translation_is_complete_and_loads(qtbot, app_ctx):
    from tools.build_translations import build

    assert build(check_only=True) == []
    app = QApplication.instance()
    translators = install_translators(app, "zh_CN")
    try:
        assert QCoreApplication.translate("MainWindow", "WeCom Archive Auditor") == "会话存档审计台"
        w = MainWindow(app_ctx, ACTOR)
        qtbot.addWidget(w)
        assert w.windowTitle().split(" — ")[0] == "会话存档审计台"
        assert [a.text() for a in w.menuBar().actions()][0] == "文件(&F)"
        w.close()
    finally:
        for t in translators:
            app.removeTranslator(t)


def test_first_run_demo_flow_syncs_and_fills_the_tree(qtbot, tmp_path):
    """A newcomer's first click: "Open the demo archive" prepares the demo corpus, syncs it with
    progress in the background, and the session tree fills."""
    ctx = AppContext(tmp_path / "newcomer")
    w = MainWindow(ctx, ACTOR)
    qtbot.addWidget(w)
    w.show()
    assert w.stack.currentWidget() is w.welcome
    with qtbot.waitSignal(w.sync.sync_finished, timeout=180_000) as finished:
        w.welcome.demo_requested.emit()
    report = finished.args[0]
    assert report.outcome == "succeeded" and report.stored > 2900
    assert w.stack.currentWidget() is w.splitter
    counts = ctx.archive.session_counts(w.actor)
    assert sum(counts.values()) > 0
    qtbot.waitUntil(lambda: w.sessions.model.rowCount() >= 3, timeout=10_000)
    w.close()
    ctx.close()


def test_sync_now_syncs_every_corp_and_one_corp_can_be_chosen(qtbot, tmp_path):
    """With several corps, Ctrl+R syncs each of them in turn; Sync > Sync one corp lists every corp
    with when it last synced, and syncs only the one chosen."""
    from native.corpus import generate_corpus

    ctx = AppContext(tmp_path / "two-corps")
    corps = []
    for seed in (1, 2):
        corpus = tmp_path / f"corpus-{seed}"
        generate_corpus(corpus, messages=120, seed=seed, media=False)
        corp, _ = ctx.setup_demo(corpus, actor=ACTOR if corps else None)  # the first makes the demo account
        corps.append(corp)
    assert corps[0].corpid != corps[1].corpid and len(ctx.settings.corps) == 2
    w = MainWindow(ctx, ACTOR)
    qtbot.addWidget(w)
    w.show()
    assert w.sync_one_menu.menuAction().isVisible()
    started = []
    w.sync.sync_started.connect(started.append)
    finished = []
    w.sync.sync_finished.connect(finished.append)
    w.sync_action.trigger()
    qtbot.waitUntil(lambda: len(finished) == 2 and w.sync_action.isEnabled(), timeout=180_000)
    assert started == [c.corpid for c in ctx.settings.corps]
    assert all(r.outcome == "succeeded" for r in finished)

    w.sync_one_menu.aboutToShow.emit()
    entries = w.sync_one_menu.actions()
    assert len(entries) == 2
    qtbot.waitUntil(lambda: all("last synced" in a.text() for a in entries), timeout=10_000)
    assert "(finished)" in entries[0].text()
    entries[1].trigger()
    qtbot.waitUntil(lambda: len(finished) == 3 and w.sync_action.isEnabled(), timeout=120_000)
    assert started[2:] == [ctx.settings.corps[1].corpid]
    w.close()
    ctx.close()
