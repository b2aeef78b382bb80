"""Issue 15 in the window: the Review panel (queues: my alerts, my sample, saved searches), tag chips
under the bubbles with keys 1–9, J / K to the next / previous unreviewed message, "Mark reviewed up
to here", the notes side panel, badges and a tag filter in the session tree, tagging a conversation
or every search result, the open-alert count in the status bar; refusals said as sentences."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStyleOptionViewItem

from app.core.actor import Actor
from app.core.auth import (
    ADMINISTRATOR,
    AUDITOR,
    REVIEWER,
    AccountService,
    PasswordHasher,
    ScopeSpec,
    ScryptParams,
)
from app.core.auth.audit import DENIED
from app.core.context import AppContext
from app.core.review import Review
from app.ui.main_window import MainWindow
from app.ui.tasks import wait_for_tasks

FAST = PasswordHasher(ScryptParams(n=2**10, r=8, p=1))
PASSWORD = "review-ui-pass-01"

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise|grabbing)")


class Desk:
    """A copy of the GUI tests' synced archive (these tests change it) with review accounts."""

    def __init__(self, ctx: AppContext):
        self.ctx = ctx
        self.review = Review(ctx.db, ctx.trail)
        accounts = AccountService(ctx.db, hasher=FAST)
        admin = Actor("os:admin", roles=frozenset({ADMINISTRATOR}))
        if accounts.needs_first_admin():
            info = accounts.create_first_admin("root", PASSWORD)
            admin = Actor("root", roles=frozenset({ADMINISTRATOR}), account_id=info.id)
        else:
            admin = Actor.local()
        sessions = ctx.archive.sessions(Actor.local(), ctx.archive.corps(Actor.local())[0].id, "internal", limit=50)
        self.scope_user = sessions[0].participants[0]
        for name, roles, scope in (("alice", {REVIEWER}, None), ("erin", {REVIEWER}, None),
                                   ("bob", {REVIEWER}, ScopeSpec(frozenset({self.scope_user}))),
                                   ("carol", {AUDITOR}, None), ("dave", {ADMINISTRATOR, REVIEWER}, None)):
            accounts.create_account(admin, name, PASSWORD, roles=roles, scope=scope, must_change_password=False)
        self.alice, self.erin, self.bob, self.carol, self.dave = (
            accounts.authenticate(n, PASSWORD, "host") for n in ("alice", "erin", "bob", "carol", "dave"))
        self.corp = ctx.archive.corps(self.dave)[0].id

    def sessions(self, actor=None, stype="internal", limit=50):
        return self.ctx.archive.sessions(actor or self.dave, self.corp, stype, limit=limit)

    def messages(self, session, limit=500):
        return self.ctx.archive.messages(self.dave, corp_id=session.corp_id, session_id=session.session_id,
                                         limit=limit)

    def long_session(self, minimum=12):
        """A private chat with at least ``minimum`` messages, all of them in the viewer's first window."""
        for s in self.sessions():
            if minimum <= s.message_count <= 60:
                return s
        raise AssertionError("the demo archive has no private chat of that length")


@pytest.fixture
def desk(synced_archive, tmp_path, monkeypatch):
    data, _url = synced_archive
    copy = tmp_path / "archive"
    shutil.copytree(data, copy, ignore=shutil.ignore_patterns("*.lock"))
    monkeypatch.setenv("WECOM_AUDITOR_DATA_DIR", str(copy))
    ctx = AppContext(copy)
    assert str(copy) in ctx.db_url or "sqlite" not in ctx.db_url
    yield Desk(ctx)
    wait_for_tasks()
    ctx.close()


def window(qtbot, desk, actor) -> MainWindow:
    w = MainWindow(desk.ctx, actor)
    qtbot.addWidget(w)
    w.resize(1400, 860)
    w.show()
    return w


def open_session(qtbot, w, session):
    vr = w.review.viewer_review
    with qtbot.waitSignal(vr.loaded, timeout=20000):
        w.sessions.select_session(session.corp_id, session.session_id, emit=True)
    qtbot.waitUntil(lambda: w.viewer.model.rowCount() == session.message_count, timeout=10000)
    with qtbot.waitSignal(vr.loaded, timeout=20000):
        vr.reload()
    return vr


def chips_of(w, message_id):
    v = w.viewer
    option = QStyleOptionViewItem()
    v.view.initViewItemOption(option)
    index = v.model.index(v.model.row_of(message_id))
    option.rect = v.view.visualRect(index)
    return v.delegate.layout_for(option, index).text()


# ---------------------------------------------------------------------------- the viewer


def test_pressing_2_tags_the_selected_message_with_the_second_tag_and_its_chip_shows(qtbot, desk):
    w = window(qtbot, desk, desk.alice)
    session = desk.long_session()
    vr = open_session(qtbot, w, session)
    second = vr.enabled_tags()[1]
    assert second.label_en == "Violation"
    target = desk.messages(session)[3]
    w.viewer.view.setCurrentIndex(w.viewer.model.index(w.viewer.model.row_of(target.id)))
    w.viewer.view.setFocus()
    assert "Violation" not in chips_of(w, target.id)
    with qtbot.waitSignal(vr.loaded, timeout=20000):
        qtbot.keyClick(w.viewer.view, Qt.Key.Key_2)
    tags = desk.review.tags.of_messages(desk.dave, session.corp_id, session.session_id, [target.id])
    assert tags[target.id] == [second.id]
    assert "Violation" in chips_of(w, target.id)
    assert "tagged 1 message" in w.statusBar().currentMessage().lower()
    # pressed again: taken off, in the core and under the bubble
    with qtbot.waitSignal(vr.loaded, timeout=20000):
        qtbot.keyClick(w.viewer.view, Qt.Key.Key_2)
    assert desk.review.tags.of_messages(desk.dave, session.corp_id, session.session_id, [target.id])[target.id] == []
    assert "Violation" not in chips_of(w, target.id)
    w.close()


def test_j_and_k_move_to_the_next_and_previous_unreviewed_message(qtbot, desk):
    w = window(qtbot, desk, desk.alice)
    session = desk.long_session()
    msgs = desk.messages(session)
    desk.review.status.mark_reviewed(desk.erin, session.corp_id, session.session_id, upto_message_id=msgs[4].id)
    desk.review.status.set_messages(desk.erin, [msgs[6].id], "reviewed")
    open_session(qtbot, w, session)
    view, model = w.viewer.view, w.viewer.model
    view.setCurrentIndex(model.index(model.row_of(msgs[0].id)))
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_J)
    qtbot.waitUntil(lambda: w.viewer.current_message_id() == msgs[5].id, timeout=10000)
    qtbot.keyClick(view, Qt.Key.Key_J)  # msgs[6] is set reviewed: skipped
    qtbot.waitUntil(lambda: w.viewer.current_message_id() == msgs[7].id, timeout=10000)
    qtbot.keyClick(view, Qt.Key.Key_K)
    qtbot.waitUntil(lambda: w.viewer.current_message_id() == msgs[5].id, timeout=10000)
    qtbot.keyClick(view, Qt.Key.Key_K)  # everything before is reviewed: it stays, and says so
    qtbot.waitUntil(lambda: "No earlier message is unreviewed" in w.statusBar().currentMessage(), timeout=10000)
    assert w.viewer.current_message_id() == msgs[5].id
    w.close()


# ---------------------------------------------------------------------------- the Review panel


def raise_alerts(desk, query="type:file", name="Files shared") -> list:
    desk.review.policies.create(desk.dave, name, query)
    report = desk.review.policies.run(desk.dave, [name], since_ms=0, search=desk.ctx.search)
    assert report.raised
    return desk.review.alerts.list(desk.dave, limit=1000)


def show_panel(qtbot, w):
    panel = w.panels["review"]
    dock = panel.parentWidget()
    assert dock.toggleViewAction().shortcut().toString() == "Ctrl+Shift+R"
    dock.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: panel.loads >= 3 or bool(panel.result.text()), timeout=20000)
    assert panel.result.text() == ""
    return panel


def test_triaging_an_alert_in_the_panel_changes_it_in_the_core_and_the_status_bar_count_drops(qtbot, desk):
    alerts = raise_alerts(desk)
    w = window(qtbot, desk, desk.alice)
    qtbot.waitUntil(lambda: w.review.open_alerts is not None, timeout=10000)
    n = len(alerts)
    assert w.review.alert_label.text() == f"⚑ {n} open alerts"
    panel = show_panel(qtbot, w)
    qtbot.waitUntil(lambda: panel.alert_tree.topLevelItemCount() == n, timeout=10000)
    first = panel.alert_tree.topLevelItem(0)
    assert first.text(0) == "Files shared" and first.text(4) == "Open"
    # the conversation is named by its people, as in the tree
    assert first.text(1) and first.text(1) != alerts[0].session_id
    first.setSelected(True)
    alert_id = first.data(0, Qt.ItemDataRole.UserRole)
    assert panel.dismiss_button.isEnabled()
    assert panel.triage("dismiss", reason="shared the contract template: allowed")
    qtbot.waitUntil(lambda: w.review.alert_label.text() == f"⚑ {n - 1} open alerts", timeout=10000)
    row = desk.review.alerts.get(desk.dave, alert_id)
    assert (row.status, row.triaged_by, row.reason) == ("dismissed", "alice", "shared the contract template: allowed")
    qtbot.waitUntil(lambda: panel.alert_tree.topLevelItemCount() == n - 1, timeout=10000)
    assert panel.result.text() == "Dismissed 1 alert."
    # assigned to me: the status bar says how many are mine; opening one shows its conversation
    panel.alert_tree.topLevelItem(0).setSelected(True)
    other = panel.alert_tree.topLevelItem(0).data(0, Qt.ItemDataRole.UserRole)
    panel.triage("assign", assignee="me")
    qtbot.waitUntil(lambda: "(1 mine)" in w.review.alert_label.text(), timeout=10000)
    assert desk.review.alerts.get(desk.dave, other).assignee == "alice"
    qtbot.waitUntil(lambda: panel.alert_tree.topLevelItemCount() == n - 1, timeout=10000)
    item = next(panel.alert_tree.topLevelItem(i) for i in range(panel.alert_tree.topLevelItemCount())
                if panel.alert_tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) == other)
    panel.alert_tree.clearSelection()
    item.setSelected(True)
    target = desk.review.alerts.get(desk.dave, other)
    with qtbot.waitSignal(w.review.viewer_review.loaded, timeout=20000):
        panel.open_alert()
    assert (w.viewer.corp_id, w.viewer.session_id) == (target.corp_id, target.session_id)
    w.close()


def test_a_reviewer_out_of_scope_is_refused_with_a_sentence_and_nothing_changes(qtbot, desk):
    alerts = raise_alerts(desk)
    bob_sees = {a.id for a in desk.review.alerts.list(desk.bob, limit=1000)}
    outside = next(a for a in alerts if a.id not in bob_sees)
    w = window(qtbot, desk, desk.bob)
    panel = show_panel(qtbot, w)
    assert {panel.alert_tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)
            for i in range(panel.alert_tree.topLevelItemCount())} == bob_sees
    panel.triage("dismiss", reason="not mine to judge", alert_ids=[outside.id])
    qtbot.waitUntil(lambda: panel.result.text() != "", timeout=10000)
    assert panel.result.text() == ("Refused: this is outside the scope of your account, so nothing was changed.")
    assert desk.review.alerts.get(desk.dave, outside.id).status == "open"
    # the refusal is in the audit trail, as the core records it
    refusals = [e for e in desk.ctx.trail.entries(desk.carol, limit=50) if e.action == "review.alert"]
    assert refusals and refusals[0].outcome == DENIED and refusals[0].account == "bob"
    w.close()
