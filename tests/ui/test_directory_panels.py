"""The directory in the window: the Directory panel syncs (a LongJob) and shows every API's errcodes and
the refusals as sentences (in English and Chinese); the compliance views "Archived staff" and
"Consent" list who is under archiving and customers' consent with their evidence, and open what is
chosen through the Navigator; the session tree shows avatars or initials, corp tags, and filters the
chats with customers who refused. Every model passes qtmodeltester."""

from __future__ import annotations

import pytest

from app.core.context import AppContext
from app.ui.main_window import MainWindow
from app.ui.panels import registered_panels
from native.corpus.directory import LEFT_STAFF, NOT_PERMITTED


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from native.corpus import generate_corpus

    path = tmp_path_factory.mktemp("dircorpus-ui") / "corpus"
    generate_corpus(path, messages=900, seed=1, media=False)
    (path / "truth.json").unlink()  # names from WeCom's API only
    return path


@pytest.fixture
def ctx(corpus, tmp_path):
    c = AppContext(tmp_path / "data")
    corp, _ = c.setup_demo(corpus)
    c.make_syncer(corp, workers=1, media=False).run()
    yield c
    c.close()


@pytest.fixture
def window(qtbot, ctx):
    w = MainWindow(ctx, ctx.accounts.no_login_actor(""))
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def _show(window, key):
    panel = window.panels[key]
    panel.parentWidget().toggleViewAction().trigger()
    return panel


def _sync(qtbot, window):
    panel = _show(window, "directory")
    qtbot.waitUntil(lambda: panel.corp_box.count() > 0 and bool(panel.status.text()), timeout=10_000)
    assert panel.sync()
    qtbot.waitUntil(lambda: not panel._job.is_running() and panel.model.rowCount() > 5, timeout=60_000)
    return panel


def test_the_panels_are_registered_with_shortcuts(window):
    keys = [s.key for s in registered_panels()]
    assert {"directory", "archived-staff", "consent"} <= set(keys)
    shortcuts = {k: window.panels[k].parentWidget().toggleViewAction().shortcut().toString()
                 for k in ("directory", "archived-staff", "consent")}
    assert shortcuts == {"directory": "Ctrl+Shift+D", "archived-staff": "Ctrl+Shift+A", "consent": "Ctrl+Shift+N"}


def test_a_sync_from_the_window_shows_every_apis_errcodes_and_the_refusals(qtbot, qtmodeltester, window):
    panel = _sync(qtbot, window)
    assert panel.result.text() == "The directory is synced; WeCom refused some calls (see Problems)."
    qtmodeltester.check(panel.model)
    rows = {panel.model.index(r, 0).data(): panel.model.index(r, 2).data() for r in range(panel.model.rowCount())}
    assert rows["user/get"] == "0 ×39, 60111 ×1" and rows["gettoken"] == "0 ×1"
    problems = [panel.problems.item(i).text() for i in range(panel.problems.count())]
    assert problems == [f"user/get: WeCom knows no staff member by this userid (errcode 60111; left the corp?). "
                        f"(1×: {LEFT_STAFF})"]
    assert "Last sync from WeCom:" in panel.status.text() and "39 staff" in panel.counts.text()
    # the session tree reloads with names: an external contact shows its corp tag, rows have pictures
    tree = window.sessions.model
    qtbot.waitUntil(lambda: any("@" in (tree.index(r, 0, g).data() or "") for g in _groups(tree)
                                for r in range(tree.rowCount(g))), timeout=20_000)
    row = next(tree.index(r, 0, g) for g in _groups(tree) for r in range(tree.rowCount(g)))
    from PySide6.QtCore import Qt
    assert not row.data(Qt.ItemDataRole.DecorationRole).isNull()


def _groups(model):
    from PySide6.QtCore import QModelIndex

    out = []
    for r in range(model.rowCount(QModelIndex())):
        top = model.index(r, 0)
        out.append(top)
        out.extend(model.index(c, 0, top) for c in range(model.rowCount(top)))
    return out


def test_archived_staff_and_consent_views(qtbot, qtmodeltester, window):
    _sync(qtbot, window)
    staff = _show(window, "archived-staff")
    staff.refresh()
    qtbot.waitUntil(lambda: "38 staff under archiving" in staff.summary.text(), timeout=10_000)
    qtmodeltester.check(staff.model)
    first = [staff.model.row_object(r).userid for r in range(2)]
    assert set(first) == {NOT_PERMITTED, LEFT_STAFF}  # chats archived without being on the list come first
    assert "38 staff under archiving" in staff.summary.text() and "2 with chats archived" in staff.summary.text()
    staff.attention_box.setChecked(True)
    qtbot.waitUntil(lambda: staff.model.rowCount() == 2, timeout=10_000)

    consent = _show(window, "consent")
    consent.refresh()
    qtbot.waitUntil(lambda: consent.model.rowCount() > 10 and "refused" in consent.summary.text(), timeout=10_000)
    qtmodeltester.check(consent.model)
    consent.refused_box.setChecked(True)
    qtbot.waitUntil(lambda: 0 < consent.model.rowCount() < 10, timeout=10_000)
    assert all(consent.model.row_object(r).refused for r in range(consent.model.rowCount()))
    assert consent.model.index(0, 0).data() == "Refused"
    consent.table.setCurrentIndex(consent.proxy.index(0, 0))
    assert consent.evidence.rowCount() >= 1 and consent.evidence.index(0, 0).data() == "Refused archiving"
    qtmodeltester.check(consent.evidence)
    consent.evidence_table.setCurrentIndex(consent.evidence_proxy.index(0, 0))
    evidence = consent.evidence.row_object(0)
    with qtbot.waitSignal(window.navigator.open_message, timeout=5000) as opened:
        consent.open_entry()
    assert opened.args[2] == evidence.message_id


def test_the_tree_filters_the_chats_with_customers_who_refused(qtbot, window):
    _sync(qtbot, window)
    panel = window.sessions
    panel.refused_box.setChecked(True)
    qtbot.waitUntil(lambda: panel.model.refused_only and not panel.model.is_loading(), timeout=20_000)
    shown = panel.model.shown_count()
    refused = window.ctx.directory  # (the service computes them; the tree shows them all at once)
    from app.core.directory.compliance import ComplianceService

    service = ComplianceService(window.ctx.db, refused, window.ctx.trail)
    corp_id = window.ctx.archive.corp_id(window.actor)
    existing = {s for s in service.refused_sessions(window.actor, corp_id)
                if window.ctx.archive.session(window.actor, corp_id, s)}
    assert shown == len(existing) > 0
    panel.refused_box.setChecked(False)
    qtbot.waitUntil(lambda: panel.model.shown_count() > shown, timeout=20_000)


def test_the_views_speak_chinese(qtbot, qapp, window):
    from app.ui.app import install_translators

    translators = install_translators(qapp, "zh_CN")
    qapp.setProperty("ui_language", "zh_CN")
    try:
        w = MainWindow(window.ctx, window.actor)
        qtbot.addWidget(w)
        w.show()
        panel = _sync(qtbot, w)
        assert panel.sync_button.text() == "从企业微信同步"
        assert panel.result.text() == "通讯录已同步；企业微信拒绝了部分调用（见“问题”）。"
        assert panel.problems.item(0).text().startswith("user/get：企业微信中没有此 userid 的成员（错误码 60111")
        titles = {a.text() for a in w.view_menu.actions()}
        assert {"通讯录", "存档成员", "客户同意"} <= titles
        w.close()
    finally:
        qapp.setProperty("ui_language", "en")
        for t in translators:
            qapp.removeTranslator(t)
