"""Issue 15's administrator in the window: File → Review settings… (and the Review panel's button)
manages the tag set, the policies and the sampling rules through the core's services — each change
in the audit trail — and is offered to an administrator only. Also the notes side panel's earlier
versions of an edited note."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog

from app.core.actor import Actor
from app.core.auth import ADMINISTRATOR, AUDITOR, REVIEWER, AccountService, PasswordHasher, ScryptParams
from app.core.auth.audit import DENIED, AuditFilter
from app.core.context import AppContext
from app.core.directory import import_directory
from app.core.review import Review
from app.ui.main_window import MainWindow
from app.ui.review.settings import ReviewSettingsDialog, open_review_settings
from app.ui.review.settings_editors import TagDialog
from app.ui.tasks import wait_for_tasks

FAST = PasswordHasher(ScryptParams(n=2**10, r=8, p=1))
PASSWORD = "review-admin-pass-01"

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise|grabbing)")


class Desk:
    """A copy of the GUI tests' synced archive with root (administrator only), dave (administrator
    and reviewer), alice (reviewer) and carol (auditor)."""

    def __init__(self, ctx: AppContext):
        self.ctx = ctx
        self.review = Review(ctx.db, ctx.trail)
        accounts = AccountService(ctx.db, hasher=FAST)
        if accounts.needs_first_admin():
            accounts.create_first_admin("root", PASSWORD)
            names = (("dave", {ADMINISTRATOR, REVIEWER}), ("alice", {REVIEWER}), ("carol", {AUDITOR}))
        else:  # the demo archive has its account already
            names = (("root", {ADMINISTRATOR}), ("dave", {ADMINISTRATOR, REVIEWER}), ("alice", {REVIEWER}),
                     ("carol", {AUDITOR}))
        for name, roles in names:
            accounts.create_account(Actor.local(), name, PASSWORD, roles=roles, must_change_password=False)
        self.root, self.dave, self.alice, self.carol = (
            accounts.authenticate(n, PASSWORD, "host") for n in ("root", "dave", "alice", "carol"))

    def audit(self, action: str) -> list:
        """The entries of ``action``, oldest first."""
        rows = self.ctx.trail.entries(self.carol, AuditFilter(actions=frozenset({action})), limit=500)
        return list(reversed(rows))


@pytest.fixture
def desk(synced_archive, tmp_path, monkeypatch):
    data, _url = synced_archive
    copy = tmp_path / "archive"
    shutil.copytree(data, copy, ignore=shutil.ignore_patterns("*.lock"))
    monkeypatch.setenv("WECOM_AUDITOR_DATA_DIR", str(copy))
    ctx = AppContext(copy)
    yield Desk(ctx)
    wait_for_tasks()
    ctx.close()


def window(qtbot, desk, actor) -> MainWindow:
    w = MainWindow(desk.ctx, actor)
    qtbot.addWidget(w)
    w.resize(1400, 860)
    w.show()
    return w


def open_settings(qtbot, w, *, from_panel: bool = False) -> ReviewSettingsDialog:
    """File → Review settings… (or the Review panel's button), once its lists are read."""
    assert w.review_settings_action.isVisible()
    if from_panel:
        panel = w.panels["review"]
        panel.parentWidget().show()
        assert panel.settings_button.isVisible()
        panel.settings_button.click()
        dialog = panel.findChild(ReviewSettingsDialog)
    else:
        w.review_settings_action.trigger()
        dialog = w.findChild(ReviewSettingsDialog)
    assert dialog is not None and dialog.isVisible()
    for page in dialog.pages():
        qtbot.waitUntil(lambda page=page: page.loads >= 1, timeout=10000)
    return dialog


def texts(tree, row: int) -> list[str]:
    item = tree.topLevelItem(row)
    return [item.text(c) for c in range(tree.columnCount())]


def swatch_colour(tree, row: int) -> str:
    image = tree.topLevelItem(row).icon(0).pixmap(14, 14).toImage()
    return image.pixelColor(7, 7).name().upper()


def accept(qtbot, page, editor) -> None:
    """OK in an editor, and wait for the page to read its list again."""
    with qtbot.waitSignal(page.loaded, timeout=20000):
        editor.accept()
    assert not editor.isVisible()


# ---------------------------------------------------------------------------- the tag set


def test_an_administrator_adds_recolours_and_retires_a_tag_and_the_window_follows(qtbot, desk, monkeypatch):
    w = window(qtbot, desk, desk.dave)
    dialog = open_settings(qtbot, w)
    w.review_settings_action.trigger()  # asked again: the same dialog
    assert w.findChildren(ReviewSettingsDialog) == [dialog]
    page = dialog.tags_page
    assert page.tree.topLevelItemCount() == 5
    assert texts(page.tree, 1)[:2] == ["违规", "Violation"] and texts(page.tree, 1)[3:] == ["violation", "In use"]
    editor = page.add_tag()
    assert isinstance(editor, TagDialog) and editor.isVisible()
    editor.zh_edit.setText("待复核")
    editor.en_edit.setText("Recheck <b>R&D</b>")
    editor.choose_colour("#1e88e5")
    accept(qtbot, page, editor)
    assert page.message.text() == "Tag “Recheck <b>R&D</b>” added."  # plain text: the markup shows as typed
    assert page.message.textFormat() == Qt.TextFormat.PlainText
    row = page.tree.topLevelItemCount() - 1
    assert texts(page.tree, row)[:3] == ["待复核", "Recheck <b>R&D</b>", "#1E88E5"]
    assert page.tree.currentItem() is page.tree.topLevelItem(row)  # the new tag is chosen
    assert swatch_colour(page.tree, row) == "#1E88E5"
    tag = desk.review.tags.find("待复核")
    assert (tag.label_en, tag.colour, tag.disabled) == ("Recheck <b>R&D</b>", "#1E88E5", False)

    # recolour through the colour picker
    monkeypatch.setattr(QColorDialog, "getColor", staticmethod(lambda *args, **kwargs: QColor("#d81b60")))
    with qtbot.waitSignal(page.loaded, timeout=20000):
        assert page.recolour()
    assert desk.review.tags.find("待复核").colour == "#D81B60"
    assert swatch_colour(page.tree, row) == "#D81B60"
    assert page.message.text() == "“Recheck <b>R&D</b>” is now #D81B60."
    # the window's tag menus offer it (the dialog's change reaches the window)
    qtbot.waitUntil(lambda: "Recheck <b>R&&D</b>" in [a.text() for a in w.review.session_tag_menu.actions()],
                    timeout=10000)  # '&' doubled: shown, not taken for a shortcut key
    # move it up one place
    with qtbot.waitSignal(page.loaded, timeout=20000):
        assert page.move_tag(-1)
    assert [t.key for t in desk.review.tags.tags(desk.dave)][-2] == tag.key
    # retired: stays listed as retired, the window offers it no more
    with qtbot.waitSignal(page.loaded, timeout=20000):
        assert page.toggle_retired()
    assert desk.review.tags.find(tag.key).disabled
    assert texts(page.tree, row - 1)[4] == "Retired" and page.retire_button.text() == "Restore"
    qtbot.waitUntil(lambda: "Recheck <b>R&&D</b>" not in [a.text() for a in w.review.session_tag_menu.actions()],
                    timeout=10000)
    changes = [e.detail for e in desk.audit("review.tagset") if e.object == tag.key]
    assert [e.account for e in desk.audit("review.tagset")] == ["dave"] * 4
    assert changes == [
        {"change": "add", "label_zh": "待复核", "label_en": "Recheck <b>R&D</b>", "colour": "#1E88E5",
         "position": 6},
        {"change": "edit", "colour": "#1E88E5 -> #D81B60"},
        {"change": "edit", "position": "6 -> 5"},
        {"change": "edit", "enabled": "True -> False"}]
    w.close()


# ---------------------------------------------------------------------------- policies


def test_a_policy_with_a_wrong_query_is_refused_inline_then_created_run_and_disabled(qtbot, desk):
    w = window(qtbot, desk, desk.dave)
    dialog = open_settings(qtbot, w, from_panel=True)
    dialog.tabs.setCurrentWidget(dialog.policies_page)
    page = dialog.policies_page
    assert page.tree.topLevelItemCount() == 0
    editor = page.new_policy()
    editor.name_edit.setText("Files shared")
    editor.query_edit.setPlainText('type:file OR "open')
    assert editor.query_error.isVisible()
    assert editor.query_error.text().startswith("The query has a mistake at character 14: ")  # as the search says
    assert not editor.ok_button.isEnabled()
    editor.accept()  # forced: nothing is sent, the form says why
    assert editor.isVisible() and "character" in editor.error.text()
    assert desk.review.policies.policies(desk.dave) == []
    editor.query_edit.setPlainText("reviewed:me")  # parses, but a policy runs for nobody
    assert "reviewed:me" in editor.query_error.text() and not editor.ok_button.isEnabled()
    editor.query_edit.setPlainText("type:file")
    assert not editor.query_error.isVisible() and editor.ok_button.isEnabled()
    editor.assignee_edit.setText("alice")
    accept(qtbot, page, editor)
    policy = desk.review.policies.find("Files shared")
    assert (policy.query, policy.schedule, policy.assignee, policy.enabled) == ("type:file", "sync", "alice", True)
    assert texts(page.tree, 0) == ["Files shared", "type:file", "After every sync", "Enabled", "alice", "0", "never"]

    # run now, looking back over the whole archive (off the GUI thread)
    runner = page.run_policy()
    runner.set_since(date(2000, 1, 1))
    accept(qtbot, page, runner)
    alerts = desk.review.alerts.list(desk.dave, policy=policy.id, limit=1000)
    hits = desk.ctx.search.query_count(desk.dave, "type:file")
    assert alerts and hits
    assert page.message.text().startswith(f"“Files shared” ran on {hits:,} messages: {hits:,} new hits; "
                                           f"{len(alerts)} alerts raised")
    assert texts(page.tree, 0)[5] == f"{len(alerts)} ({len(alerts)} open)" and texts(page.tree, 0)[6] != "never"
    assert {a.assignee for a in alerts} == {"alice"}
    qtbot.waitUntil(lambda: w.review.open_alerts is not None and w.review.open_alerts["open"] == len(alerts),
                    timeout=10000)  # the window's count follows

    # edited: daily; the assignee stays
    editor = page.edit_policy()
    assert (editor.query_edit.toPlainText(), editor.assignee_edit.text()) == ("type:file", "alice")
    assert editor.enabled_check.isVisible() and editor.enabled_check.isChecked()
    editor.schedule_combo.setCurrentIndex(editor.schedule_combo.findData("daily"))
    accept(qtbot, page, editor)
    changed = desk.review.policies.find(policy.id)
    assert (changed.schedule, changed.assignee, changed.enabled) == ("daily", "alice", True)
    assert texts(page.tree, 0)[2:5] == ["Daily", "Enabled", "alice"]
    # disabled: it may not run
    with qtbot.waitSignal(page.loaded, timeout=20000):
        assert page.toggle_enabled()
    assert not desk.review.policies.find(policy.id).enabled
    assert texts(page.tree, 0)[3] == "Disabled" and not page.run_button.isEnabled()
    assert page.enable_button.text() == "Enable"
    entries = desk.audit("review.policy")
    assert [(e.account, e.detail["change"]) for e in entries] == [("dave", "create"), ("dave", "update"),
                                                                  ("dave", "update")]
    assert entries[0].detail["query"] == "type:file"
    assert entries[1].detail == {"change": "update", "schedule": "sync -> daily"}
    assert entries[2].detail == {"change": "update", "enabled": "True -> False"}
    runs = desk.audit("review.policy_run")
    assert len(runs) == 1 and runs[0].account == "dave" and runs[0].detail["look_back"] is True
    w.close()


def test_refusals_are_said_in_the_chinese_window_s_language(qtbot, desk, chinese_window):
    """A duplicate name, an unknown assignee and reviewed:me come back from the core in Chinese in a
    Chinese window (each ReviewError is written in both languages)."""
    desk.review.policies.create(desk.dave, "文件外发", "type:file")
    w = window(qtbot, desk, desk.dave)
    dialog = open_settings(qtbot, w)
    dialog.tabs.setCurrentWidget(dialog.policies_page)
    page = dialog.policies_page
    editor = page.new_policy()
    editor.query_edit.setPlainText("reviewed:me")
    assert editor.query_error.text().startswith("策略不代表任何具体的人运行"), editor.query_error.text()
    editor.query_edit.setPlainText("type:link")
    editor.name_edit.setText("文件外发")
    editor.accept()
    qtbot.waitUntil(lambda: editor.error.text() == "已有名为“文件外发”的策略：请换一个名称。", timeout=20000)
    editor.name_edit.setText("链接")
    editor.assignee_edit.setText("nobody-here")
    editor.accept()
    qtbot.waitUntil(lambda: editor.error.text() == "没有账号“nobody-here”。", timeout=20000)
    assert [p.name for p in desk.review.policies.policies(desk.dave)] == ["文件外发"]
    editor.reject()
    w.close()


# ---------------------------------------------------------------------------- sampling


def test_a_sampling_rule_is_created_edited_and_drawn_showing_the_seed(qtbot, desk, tmp_path):
    sessions = desk.ctx.archive.sessions(desk.dave, desk.ctx.archive.corps(desk.dave)[0].id, "internal", limit=50)
    busy = max(sessions, key=lambda s: s.message_count)
    staff = [p for p in busy.participants if not p.startswith(("wm", "wo", "wb"))][:2]
    first = desk.ctx.archive.messages(desk.dave, corp_id=busy.corp_id, session_id=busy.session_id, limit=1)[0]
    names = tmp_path / "names.json"  # the directory names the two: offered while typing, shown in the list
    names.write_text(json.dumps({"directory": {staff[0]: "陈静", staff[1]: "黄敏"},
                                 "departments": {staff[0]: "销售一部", staff[1]: "销售一部"}}), encoding="utf-8")
    import_directory(desk.ctx.db, busy.corp_id, names, actor=Actor.local())
    w = window(qtbot, desk, desk.dave)
    dialog = open_settings(qtbot, w)
    dialog.tabs.setCurrentWidget(dialog.sampling_page)
    page = dialog.sampling_page
    editor = page.new_rule()
    editor.name_edit.setText("Weekly sales")
    editor.accept()  # no group: said, nothing sent
    assert editor.isVisible() and editor.error.text() == ("Name the staff or the departments whose conversations "
                                                          "are sampled.")
    # typing a name after a comma offers that person; choosing puts their userid in
    completer = editor.staff_edit.completer()
    editor.staff_edit.setText(f"{staff[0]}，黄")
    completer.setCompletionPrefix(completer.splitPath(editor.staff_edit.text())[0])
    assert completer.completionCount() == 1
    assert completer.completionModel().index(0, 0).data() == f"黄敏 ({staff[1]}) — 销售一部"  # what the list shows
    assert completer.currentCompletion() == f"{staff[0]}， {staff[1]}"  # what choosing it makes of the text
    departments = editor.departments_edit.completer()
    departments.setCompletionPrefix("销售")
    assert departments.currentCompletion() == "销售一部"
    editor.staff_edit.setText("，".join(staff))  # a Chinese comma separates too
    editor.sessions_radio.setChecked(True)
    editor.sessions_spin.setValue(2)
    accept(qtbot, page, editor)
    rule = desk.review.sampling.rule(desk.dave, "Weekly sales")
    assert (sorted(rule.userids), rule.sessions, rule.percent) == (sorted(staff), 2, None)
    names_by_id = {staff[0]: "陈静", staff[1]: "黄敏"}
    assert texts(page.tree, 0)[:4] == ["Weekly sales", f"Staff: {', '.join(names_by_id[u] for u in sorted(staff))}",
                                       "2 conversations", "Enabled"]
    # edit: a percentage instead
    editor = page.edit_rule()
    assert editor.sessions_radio.isChecked() and editor.staff_edit.text() == ", ".join(sorted(staff))
    editor.percent_radio.setChecked(True)
    editor.percent_spin.setValue(50)
    accept(qtbot, page, editor)
    assert desk.review.sampling.rule(desk.dave, rule.id).percent == 50
    assert texts(page.tree, 0)[2] == "50 %"
    # draw now: the week of the busy conversation's first message; the seed is shown
    drawer = page.draw()
    drawer.set_week(date.fromtimestamp(first.msgtime / 1000))
    accept(qtbot, page, drawer)
    draw = desk.review.sampling.draws(desk.dave)[0]
    assert draw.rule == "Weekly sales" and draw.drawn_by == "dave" and len(draw.seed) == 32
    assert draw.seed in page.message.text()
    size = "1 conversation" if draw.size == 1 else f"{draw.size} conversations"
    assert page.message.text() == (f"Drew {size} of {draw.candidates} for the week of "
                                   f"{date.fromtimestamp(draw.period_start / 1000).isoformat()}. Seed: {draw.seed} — "
                                   f"an auditor reproduces the draw with it (sample reproduce {draw.id}).")
    assert desk.review.sampling.reproduce(desk.carol, draw.id).same_sample
    assert [(e.account, e.detail["change"]) for e in desk.audit("review.sampling")] == [
        ("dave", "create"), ("dave", "update")]
    sample = [e for e in desk.audit("review.sample") if "seed" in e.detail]
    assert len(sample) == 1 and sample[0].account == "dave" and sample[0].detail["seed"] == draw.seed
    w.close()


# ---------------------------------------------------------------------------- who reaches it


def test_only_an_administrator_is_offered_review_settings(qtbot, desk):
    for actor in (desk.alice, desk.carol):
        w = window(qtbot, desk, actor)
        assert not w.review_settings_action.isVisible()
        panel = w.panels["review"]
        assert panel.settings_button.isHidden() and panel.open_settings() is None
        assert open_review_settings(desk.ctx, actor, w.navigator, w) is None
        assert w.findChild(ReviewSettingsDialog) is None
        w.close()
    # an administrator who does not review: the dialog, but drawing (review work) is not offered
    desk.review.policies.create(desk.root, "Markup", '"<b>回扣</b>" OR 返现')
    w = window(qtbot, desk, desk.root)
    assert w.review is None and "review" not in w.panels
    dialog = open_settings(qtbot, w)
    assert dialog.tags_page.tree.topLevelItemCount() == 5 and not dialog.sampling_page.can_draw
    policy = dialog.policies_page.tree.topLevelItem(0)
    assert policy.text(1) == '"<b>回扣</b>" OR 返现'  # item text is plain text; its tooltip is escaped
    assert policy.toolTip(1) == "<qt>&quot;&lt;b&gt;回扣&lt;/b&gt;&quot; OR 返现</qt>"
    assert dialog.sampling_page.draw_button.toolTip() == "Drawing a sample is review work: it needs the reviewer role."
    w.close()
    # the core refuses a reviewer whatever the window offers, and records the refusal
    w = window(qtbot, desk, desk.alice)
    editor = TagDialog(desk.review, desk.alice, parent=w)
    editor.zh_edit.setText("私自")
    editor.en_edit.setText("Mine")
    editor.show()
    with qtbot.waitSignal(editor.attempt_failed, timeout=10000):
        editor.accept()
    assert editor.error.text().startswith("Refused: Account 'alice' may not manage the tag set")
    assert [t.label_en for t in desk.review.tags.tags(desk.dave)] == [
        "Needs attention", "Violation", "No issue", "Privileged", "Escalated"]
    refused = desk.audit("review.tagset")
    assert len(refused) == 1 and refused[0].outcome == DENIED and refused[0].account == "alice"
    w.close()


# ---------------------------------------------------------------------------- the notes' versions


def test_the_notes_panel_lists_a_note_s_earlier_versions_read_only(qtbot, desk):
    sessions = desk.ctx.archive.sessions(desk.dave, desk.ctx.archive.corps(desk.dave)[0].id, "internal", limit=50)
    session = next(s for s in sessions if 12 <= s.message_count <= 60)
    target = desk.ctx.archive.messages(desk.dave, corp_id=session.corp_id, session_id=session.session_id,
                                       limit=5)[2]
    notes = desk.review.notes
    note = notes.add(desk.alice, session.corp_id, session.session_id, "asks for a <b>kickback</b>",
                     message_id=target.id)
    notes.edit(desk.alice, note.id, "asks for a kickback: follow up")
    notes.edit(desk.alice, note.id, "asks for a kickback: escalated to legal")
    other = notes.add(desk.alice, session.corp_id, session.session_id, "one version only")
    w = window(qtbot, desk, desk.dave)  # another reviewer: reads them, may not change them
    vr = w.review.viewer_review
    with qtbot.waitSignal(vr.loaded, timeout=20000):
        w.sessions.select_session(session.corp_id, session.session_id, emit=True)
    qtbot.waitUntil(lambda: w.viewer.model.row_of(target.id) >= 0, timeout=10000)
    w.review.notes_dock.show()
    pane = w.review.notes
    w.viewer.view.setCurrentIndex(w.viewer.model.index(w.viewer.model.row_of(target.id)))
    qtbot.waitUntil(lambda: pane.list.count() == 2, timeout=10000)
    assert not pane.versions_button.isVisible()  # nothing chosen
    pane.list.setCurrentRow(1)  # the conversation's note: one version, no switch
    assert not pane.versions_button.isVisible()
    pane.list.setCurrentRow(0)
    assert pane.list.item(0).data(Qt.ItemDataRole.UserRole) == note.id
    assert pane.versions_button.isVisible() and pane.versions_button.text() == "edited · 2 earlier versions"
    assert not pane.versions.isVisible()
    with qtbot.waitSignal(pane.versions_shown, timeout=10000):
        pane.versions_button.click()
    assert pane.versions.isVisible() and pane.versions.count() == 2
    newest, oldest = pane.versions.item(0).text(), pane.versions.item(1).text()
    assert newest.startswith("Version 2 · alice · ") and newest.endswith("\nasks for a kickback: follow up")
    assert oldest.startswith("Version 1 · alice · ") and oldest.endswith("\nasks for a <b>kickback</b>")
    assert not pane.edit_button.isEnabled()  # dave's window: alice's note stays hers
    assert pane.versions.selectionMode() == pane.versions.SelectionMode.NoSelection
    # folded again when another note is chosen
    pane.list.setCurrentRow(1)
    assert not pane.versions.isVisible() and not pane.versions_button.isVisible()
    assert other.version == 1
    w.close()
