"""Issue 15 in the window: the Review panel (queues: my alerts, my sample, saved searches), tag chips
under the bubbles with keys 1–9, J / K to the next / previous unreviewed message, "Mark reviewed up
to here", the notes side panel, badges and a tag filter in the session tree, tagging a conversation
or every search result, the open-alert count in the status bar; refusals said as sentences."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu, QStyleOptionViewItem

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
from app.core.auth.audit import DENIED, Action
from app.core.context import AppContext
from app.core.review import Review
from app.core.safe_text import display_name
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


def test_mark_reviewed_up_to_here_moves_my_mark_and_the_new_chips_follow(qtbot, desk):
    session = desk.long_session()
    msgs = desk.messages(session)
    desk.review.status.mark_reviewed(desk.alice, session.corp_id, session.session_id, upto_message_id=msgs[1].id)
    w = window(qtbot, desk, desk.alice)
    vr = open_session(qtbot, w, session)
    assert "New" not in chips_of(w, msgs[1].id)
    assert "New" in chips_of(w, msgs[2].id) and "New" in chips_of(w, msgs[8].id)
    w.viewer.view.setCurrentIndex(w.viewer.model.index(w.viewer.model.row_of(msgs[8].id)))
    labels = []
    menu = QMenu()
    w.viewer.menu_extensions[-1](menu, msgs[8].id)  # what the message's context menu adds
    for a in menu.actions():
        labels.append(a.text())
    assert "Mark reviewed up to here" in labels and "Next unreviewed\tJ" in labels
    mark = next(a for a in menu.actions() if a.text() == "Mark reviewed up to here")
    with qtbot.waitSignal(vr.loaded, timeout=20000):
        mark.trigger()
    mine = desk.review.status.session_review(desk.alice, session.corp_id, session.session_id).mine
    assert (mine.upto_id, mine.reviewer) == (msgs[8].id, "alice")
    assert "New" not in chips_of(w, msgs[8].id) and "New" in chips_of(w, msgs[9].id)
    after = len(msgs) - 9
    assert w.statusBar().currentMessage() == (f"Reviewed up to this message. {after} messages after it are not "
                                              "reviewed yet.")
    w.close()


def test_j_and_k_move_to_the_next_and_previous_unreviewed_message(qtbot, desk):
    w = window(qtbot, desk, desk.alice)
    session = desk.long_session()
    msgs = desk.messages(session)
    desk.review.status.mark_reviewed(desk.erin, session.corp_id, session.session_id, upto_message_id=msgs[4].id)
    desk.review.status.set_messages(desk.erin, [msgs[6].id], "reviewed")
    open_session(qtbot, w, session)
    qtbot.waitUntil(lambda: w.review.open_alerts is not None, timeout=10000)
    assert w.review.open_alerts["open"] == 0 and not w.review.alert_label.isVisible()  # the bar's room is kept
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
    assert w.review.alert_label.text() == f"⚑ {n} open alerts" and w.review.alert_label.isVisible()
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
    first_hit = desk.review.alerts.hits(desk.dave, other)[0][0]
    with qtbot.waitSignal(w.viewer.message_shown, timeout=20000):
        panel.open_alert()
    assert (w.viewer.corp_id, w.viewer.session_id) == (target.corp_id, target.session_id)
    assert w.viewer.current_message_id() == first_hit  # at the alert's first hit
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


def test_notes_are_added_edited_as_versions_and_read_only_to_others(qtbot, desk):
    session = desk.long_session()
    target = desk.messages(session)[2]
    w = window(qtbot, desk, desk.alice)
    vr = open_session(qtbot, w, session)
    w.review.notes_dock.toggleViewAction().trigger()
    notes = w.review.notes
    w.viewer.view.setCurrentIndex(w.viewer.model.index(w.viewer.model.row_of(target.id)))
    notes.editor.setPlainText("asks for a <b>kickback</b>: follow up")
    assert notes.add_message_button.isEnabled()
    with qtbot.waitSignal(vr.loaded, timeout=20000):
        notes.add_message_button.click()
    stored = desk.review.notes.of_session(desk.dave, session.corp_id, session.session_id)
    assert [(n.message_id, n.author, n.text, n.version) for n in stored] == [
        (target.id, "alice", "asks for a <b>kickback</b>: follow up", 1)]
    assert notes.list.count() == 1
    shown = notes.list.item(0).text()
    assert shown.startswith("alice · ") and "on the message" in shown and "<b>kickback</b>" in shown
    assert "✎ 1 note" in chips_of(w, target.id)
    # edit: a new version, the first kept
    notes.list.setCurrentRow(0)
    assert notes.edit_button.isEnabled()
    notes.edit_button.click()
    notes.editor.setPlainText("asks for a kickback: escalated to legal")
    with qtbot.waitSignal(vr.loaded, timeout=20000):
        notes.save_button.click()
    assert notes.result.text() == "Saved as version 2; the earlier versions are kept."
    history = desk.review.notes.history(desk.dave, stored[0].id)
    assert [v.text for v in history] == ["asks for a <b>kickback</b>: follow up", "asks for a kickback: escalated to legal"]
    assert "(version 2)" in notes.list.item(0).text()
    w.close()

    # another reviewer reads it and may not change it
    w2 = window(qtbot, desk, desk.erin)
    vr2 = open_session(qtbot, w2, session)
    w2.viewer.view.setCurrentIndex(w2.viewer.model.index(w2.viewer.model.row_of(target.id)))
    pane = w2.review.notes
    qtbot.waitUntil(lambda: pane.list.count() == 1 and "escalated to legal" in pane.list.item(0).text(), timeout=5000)
    pane.list.setCurrentRow(0)
    assert not pane.edit_button.isEnabled()
    assert pane.list.item(0).toolTip() == "Only its author may change a note."
    pane._editing = stored[0].id  # forced past the disabled button: the core refuses, and says why
    pane.editor.setPlainText("mine now")
    pane.save_version()
    qtbot.waitUntil(lambda: pane.result.text().startswith("Refused"), timeout=10000)
    assert "only its author may change it" in pane.result.text()
    assert len(desk.review.notes.history(desk.dave, stored[0].id)) == 2
    assert vr2.notes()[0].text == "asks for a kickback: escalated to legal"
    w2.close()


def test_the_tree_shows_new_since_my_review_and_alert_badges_and_filters_by_tag(qtbot, desk):
    alerts = raise_alerts(desk)
    session = desk.long_session()
    msgs = desk.messages(session)
    desk.review.status.mark_reviewed(desk.alice, session.corp_id, session.session_id, upto_message_id=msgs[4].id)
    alerted = alerts[0]
    w = window(qtbot, desk, desk.alice)
    tree, model = w.sessions.tree, w.sessions.model
    badges = w.review.badges

    def badge_texts(corp, sid):
        index = model.session_index(corp, sid)
        return [t for t, _c in badges.badges(index)] if index.isValid() else None

    for key in ((session.corp_id, session.session_id), (alerted.corp_id, alerted.session_id)):
        w.sessions.select_session(*key)
        qtbot.waitUntil(lambda key=key: model.session_index(*key).isValid(), timeout=10000)
    def own(texts):  # the session's badges but its alerts' (it may have some)
        return [t for t in texts or () if not t.startswith("⚑")]

    qtbot.waitUntil(lambda: own(badge_texts(session.corp_id, session.session_id)) == [f"{len(msgs) - 5} new"],
                    timeout=10000)
    n_alerts = sum(1 for a in alerts if (a.corp_id, a.session_id) == (alerted.corp_id, alerted.session_id))
    assert f"⚑ {n_alerts}" in badge_texts(alerted.corp_id, alerted.session_id)
    assert tree.itemDelegateForColumn(0) is badges
    # marked to its end: the count goes, a tick shows
    desk.review.status.mark_reviewed(desk.alice, session.corp_id, session.session_id)
    w.navigator.review_changed.emit()
    qtbot.waitUntil(lambda: own(badge_texts(session.corp_id, session.session_id)) == ["✓"], timeout=10000)

    # the tag filter: only the conversation tagged "Privileged" (on one of its messages)
    privileged = next(t for t in desk.review.tags.tags(desk.dave) if t.label_en == "Privileged")
    desk.review.tags.tag(desk.dave, privileged.key, message_ids=[msgs[1].id])
    w.review.load_tag_set()
    box = w.sessions.tag_box
    qtbot.waitUntil(lambda: box.isVisible() and box.count() == 6, timeout=10000)
    assert box.itemText(0) == "Any review tag"
    with qtbot.waitSignal(model.filter_applied, timeout=20000):
        box.setCurrentIndex(box.findData(privileged.key))
    assert model.shown_count() == 1
    assert model.session_index(session.corp_id, session.session_id).isValid()
    with qtbot.waitSignal(model.filter_applied, timeout=20000):
        box.setCurrentIndex(0)
    assert model.shown_count() == model.total_count() > 1
    w.close()


def test_tagging_a_whole_conversation_and_every_search_result_from_their_menus(qtbot, desk):
    w = window(qtbot, desk, desk.alice)
    session = desk.long_session()
    open_session(qtbot, w, session)
    qtbot.waitUntil(lambda: w.review.session_tag_menu.actions() != [], timeout=10000)
    assert w.review.session_tag_action in w.sessions.tree.actions()
    labels = [a.text() for a in w.review.session_tag_menu.actions()]
    assert labels == ["Needs attention", "Violation", "No issue", "Privileged", "Escalated"]
    w.review.session_tag_menu.actions()[0].trigger()
    qtbot.waitUntil(lambda: "Tagged the conversation" in w.statusBar().currentMessage(), timeout=10000)
    first = desk.review.tags.tags(desk.dave)[0]
    assert desk.review.tags.of_session(desk.dave, session.corp_id, session.session_id) == [first.id]
    # the session's tag shows under every bubble of it
    qtbot.waitUntil(lambda: "Needs attention" in chips_of(w, desk.messages(session)[-1].id), timeout=10000)

    # every result of a search
    w.search.query_edit.setText("type:file")
    with qtbot.waitSignal(w.search.count_finished, timeout=20000):
        w.search.search()
    expected = desk.ctx.search.query_count(desk.dave, "type:file")
    asked = []
    w.review.confirm = lambda text: asked.append(text) or True
    escalated = next(a for a in w.review.results_tag_menu.actions() if a.text() == "Escalated")
    assert w.review.results_tag_menu.menuAction() in w.search.results.actions()
    escalated.trigger()
    qtbot.waitUntil(lambda: "messages “Escalated”" in w.statusBar().currentMessage(), timeout=20000)
    assert asked == ["Tag every message this search finds “Escalated”?\n\ntype:file"]
    assert w.statusBar().currentMessage() == f"Tagged {expected} messages “Escalated”."
    assert desk.ctx.search.query_count(desk.dave, "tag:Escalated") == expected
    # and off again
    next(a for a in w.review.results_untag_menu.actions() if a.text() == "Escalated").trigger()
    qtbot.waitUntil(lambda: "off" in w.statusBar().currentMessage(), timeout=20000)
    assert desk.ctx.search.query_count(desk.dave, "tag:Escalated") == 0
    w.close()


def test_a_saved_search_is_shared_listed_with_its_counts_and_run_into_the_search_panel(qtbot, desk):
    w = window(qtbot, desk, desk.alice)
    w.search.query_edit.setText("type:file")
    assert w.review.save_search(name="Files")
    qtbot.waitUntil(lambda: w.statusBar().currentMessage() == "Saved the search “Files”.", timeout=10000)
    panel = show_panel(qtbot, w)
    qtbot.waitUntil(lambda: panel.search_tree.topLevelItemCount() == 1, timeout=10000)
    item = panel.search_tree.topLevelItem(0)
    hits = desk.ctx.search.query_count(desk.alice, "type:file")
    assert [item.text(c) for c in range(6)] == ["Files", "alice", "No", str(hits), "", "type:file"]
    item.setSelected(True)
    assert panel.share_button.isEnabled()
    panel.share_button.click()
    qtbot.waitUntil(lambda: panel.result.text() == "“Files” is shared with the other reviewers.", timeout=10000)
    # run: the search panel shows its hits; "new since my last run" is 0 now
    w.search.query_edit.setText("something else")
    qtbot.waitUntil(lambda: panel.search_tree.topLevelItemCount() == 1, timeout=10000)
    panel.search_tree.topLevelItem(0).setSelected(True)
    with qtbot.waitSignal(w.search.count_finished, timeout=20000):
        assert panel.run_search()
    assert w.search.query_edit.text() == "type:file"
    assert panel.result.text() == f"“Files”: {hits} hits."
    qtbot.waitUntil(lambda: panel.search_tree.topLevelItemCount() == 1
                    and panel.search_tree.topLevelItem(0).text(4) == "0", timeout=10000)
    wait_for_tasks()  # the first page's read records the search; the count (awaited above) may finish first
    searches = [e.object for e in desk.ctx.trail.entries(desk.carol, limit=100)
                if e.action == Action.SEARCH and e.account == "alice"]
    assert searches.count("(type:file)") == 1  # the saved search's run is recorded once, as the panel's search
    w.close()
    # erin sees the shared search, and may not change it
    w2 = window(qtbot, desk, desk.erin)
    panel2 = show_panel(qtbot, w2)
    qtbot.waitUntil(lambda: panel2.search_tree.topLevelItemCount() == 1, timeout=10000)
    panel2.search_tree.topLevelItem(0).setSelected(True)
    assert panel2.run_button.isEnabled() and not panel2.share_button.isEnabled()
    assert panel2.search_tree.topLevelItem(0).text(4) == ""  # erin never ran it
    w2.close()


def test_my_sample_is_drawn_worked_through_and_marked_reviewed(qtbot, desk):
    session = desk.long_session()
    staff = next(p for p in session.participants if not p.startswith(("wm", "wo")))
    desk.review.sampling.create_rule(desk.dave, "Weekly", userids=[staff], sessions=2)
    first = desk.messages(session)[0]
    from datetime import date
    week = date.fromtimestamp(first.msgtime / 1000)
    draw = desk.review.sampling.draw(desk.alice, "Weekly", week=week)
    assert draw.size >= 1
    w = window(qtbot, desk, desk.alice)
    panel = show_panel(qtbot, w)
    qtbot.waitUntil(lambda: panel.sample_tree.topLevelItemCount() == draw.size, timeout=10000)
    assert panel.draw_combo.currentText().startswith("Weekly — week of ")
    assert f"0 of {draw.size} conversations reviewed" in panel.sample_info.text()
    item = panel.sample_tree.topLevelItem(0)
    assert item.text(1) == "Not yet"
    item.setSelected(True)
    key = tuple(item.data(0, Qt.ItemDataRole.UserRole))
    with qtbot.waitSignal(w.review.viewer_review.loaded, timeout=20000):
        panel.open_sample()
    assert (w.viewer.corp_id, w.viewer.session_id) == key
    assert panel.mark_sample_reviewed()
    qtbot.waitUntil(lambda: panel.sample_tree.topLevelItemCount() == draw.size
                    and panel.sample_tree.topLevelItem(0).text(1) == "Yes", timeout=10000)
    assert panel.sample_tree.topLevelItem(0).text(2) == "alice"
    assert desk.review.status.session_review(desk.dave, *key).status == "reviewed"
    assert f"1 of {draw.size} conversations reviewed" in panel.sample_info.text()
    w.close()


def test_an_auditor_sees_the_queues_and_counts_but_no_text(qtbot, desk):
    alerts = raise_alerts(desk)
    desk.review.alerts.triage(desk.alice, [alerts[0].id], "dismiss", reason="customer's own file: fine")
    w = window(qtbot, desk, desk.carol)
    assert w.viewer is None and w.review.viewer_review is None
    qtbot.waitUntil(lambda: w.review.open_alerts is not None, timeout=10000)
    assert w.review.alert_label.text() == f"⚑ {len(alerts) - 1} open alerts"
    panel = show_panel(qtbot, w)
    panel.alert_view.setCurrentIndex(panel.alert_view.findData("dismissed"))
    qtbot.waitUntil(lambda: panel.alert_tree.topLevelItemCount() == 1, timeout=10000)
    item = panel.alert_tree.topLevelItem(0)
    assert item.text(4) == "Dismissed" and item.text(1) == display_name(alerts[0].session_id)
    assert item.text(6) == "(hidden)"  # the reason is content: not for an auditor
    assert not panel.dismiss_button.isVisible() and not panel.open_alert_button.isEnabled()
    w.close()
