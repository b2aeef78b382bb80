"""The review desk's views (issue 18): the Statistics page (charts per day, type, staff member and external
corp, a senders table), a person's Timeline, a group's member list and printing a conversation through
the PDF transcript of an evidence package. Each is a registered panel reading off the GUI thread; what
they show is checked against the archive, and what they open goes through the Navigator."""

from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtCore import QDateTime
from PySide6.QtGui import QKeySequence

from app.core.actor import Actor
from app.core.context import AppContext
from app.ui.main_window import MainWindow
from app.ui.panels import registered_panels

KEYS = {"statistics": "Ctrl+Shift+C", "timeline": "Ctrl+Shift+T", "group-members": "Ctrl+Shift+G",
        "print": "Ctrl+Shift+P"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """An archive of a 500-message corpus, its directory synced from the corpus' simulated WeCom."""
    from app.core.directory.service import sync_directory
    from native.corpus import generate_corpus

    root = tmp_path_factory.mktemp("insights-ui")
    generate_corpus(root / "corpus", messages=500, seed=9, media=False)
    ctx = AppContext(root / "data")
    corp, _ = ctx.setup_demo(root / "corpus")
    ctx.make_syncer(corp, workers=1, media=False).run()
    sync_directory(ctx, ctx.accounts.no_login_actor(""), corp, avatars=False)
    ctx.close()
    return root / "data"


@pytest.fixture
def ctx(data_dir):
    c = AppContext(data_dir)
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


def _corp(ctx):
    return ctx.archive.corp_id(ctx.accounts.no_login_actor(""))


def test_the_views_are_registered_panels_with_shortcuts_and_permissions(window):
    assert set(KEYS) <= {s.key for s in registered_panels()}
    assert {k: window.panels[k].parentWidget().toggleViewAction().shortcut().toString() for k in KEYS} == KEYS
    # an auditor reads no messages: no statistics, timeline, members or printing
    auditor = MainWindow(window.ctx, Actor("aud", roles=frozenset({"auditor"})))
    try:
        assert not set(KEYS) & set(auditor.panels)
    finally:
        auditor.close()


def test_the_statistics_page_shows_the_archives_figures(qtbot, qtmodeltester, window, ctx):
    panel = _show(window, "statistics")
    qtbot.waitUntil(lambda: panel.stats is not None, timeout=20_000)
    actor = window.actor
    messages = ctx.archive.messages(actor, corp_id=_corp(ctx), limit=100_000)
    stats = panel.stats
    assert stats.total == len(messages)
    assert sum(b.value for b in panel.per_day.bars) == len(messages)  # the chart draws every message
    types = Counter(m.msgtype for m in messages)
    shown_types = {b.tooltip.split("(")[1].split(")")[0]: b.value for b in panel.per_type.bars}
    assert shown_types == dict(types.most_common(len(panel.per_type.bars)))
    assert panel.per_type.footnote.startswith(f"and {len(types) - 12} more: ")
    # staff bars carry names (from the directory) and their ids in the tooltip
    top = panel.per_staff.bars[0]
    assert top.label == ctx.directory.name(actor, _corp(ctx), top.key) and f"({top.key})" in top.tooltip
    assert top.value == sum(1 for m in messages if m.sender == top.key)
    qtmodeltester.check(panel.model)
    assert panel.model.rowCount() == len({m.sender for m in messages})
    assert panel.summary.text().startswith(f"{len(messages)} messages from ")
    # the dates start where the archive's messages are; a range counts what is in it
    first = panel.range.from_date.date()
    assert first.toString("yyyy-MM-dd") == stats.per_day[0].day.isoformat()
    panel.range.to_box.setChecked(True)
    panel.range.to_date.setDate(first.addDays(20))
    qtbot.waitUntil(lambda: panel.stats.end_ms is not None, timeout=20_000)
    end = panel.range.end_ms()
    assert panel.stats.total == sum(1 for m in messages if m.msgtime < end) < len(messages)


def test_a_staff_member_chosen_in_the_statistics_opens_their_timeline(qtbot, qtmodeltester, window, ctx):
    stats = _show(window, "statistics")
    qtbot.waitUntil(lambda: stats.stats is not None, timeout=20_000)
    timeline = window.panels["timeline"]
    assert not timeline.parentWidget().isVisible()
    person = stats.per_staff.bars[0].key
    stats._person(person)  # as a double-click on their bar does
    qtbot.waitUntil(lambda: timeline.timeline is not None and timeline.timeline.userid == person, timeout=20_000)
    assert timeline.parentWidget().isVisible()
    actor = window.actor
    theirs = [s for s in ctx.archive.sessions(actor, _corp(ctx), limit=100_000) if person in s.participants]
    assert timeline.model.rowCount() == len(theirs) > 0
    qtmodeltester.check(timeline.model)
    sent = sum(1 for m in ctx.archive.messages(actor, corp_id=_corp(ctx), limit=100_000) if m.sender == person)
    assert sum(b.value for b in timeline.chart.bars) == sent
    assert timeline.person_box.currentData() == person
    assert ctx.directory.name(actor, _corp(ctx), person) in timeline.summary.text()
    # the newest conversation first; double-click opens it in the window
    row = timeline.model.row_object(timeline.proxy.mapToSource(timeline.proxy.index(0, 0)).row()).c
    assert row.last_msgtime == max(s.last_msgtime for s in theirs)
    timeline.table.setCurrentIndex(timeline.proxy.index(0, 0))
    with qtbot.waitSignal(window.navigator.open_session) as opened:
        timeline.table.doubleClicked.emit(timeline.proxy.index(0, 0))
    assert opened.args == [row.corp_id, row.session_id]
    qtbot.waitUntil(lambda: window.viewer.model.session_id == row.session_id, timeout=20_000)


def test_the_timeline_takes_a_typed_name_and_opens_their_first_message(qtbot, window, ctx):
    timeline = _show(window, "timeline")
    qtbot.waitUntil(lambda: timeline.person_box.count() > 10, timeout=20_000)
    actor = window.actor
    messages = ctx.archive.messages(actor, corp_id=_corp(ctx), limit=100_000)
    staff = [p for p in ctx.directory.people(actor, _corp(ctx)) if p.kind == "staff"]
    shared = Counter(p.name for p in staff)
    # a name two people share (the corpus has two 王芳) is not guessed
    twice = next(name for name, n in shared.items() if n > 1)
    timeline.person_box.setEditText(twice)
    timeline.show_button.click()
    assert timeline.summary.text() == f"2 staff members match “{twice}”: choose one in the list."
    assert timeline.timeline is None
    unique = {p.userid for p in staff if shared[p.name] == 1}
    person = Counter(m.sender for m in messages if m.sender in unique).most_common(1)[0][0]
    timeline.person_box.setEditText(ctx.directory.name(actor, _corp(ctx), person))
    timeline.show_button.click()
    qtbot.waitUntil(lambda: timeline.timeline is not None, timeout=20_000)
    assert timeline.timeline.userid == person
    row = next(r for r in range(timeline.proxy.rowCount())
               if timeline.model.row_object(timeline.proxy.mapToSource(timeline.proxy.index(r, 0)).row()).c.sent)
    timeline.table.setCurrentIndex(timeline.proxy.index(row, 0))
    c = timeline.current()
    assert timeline.open_first_button.isEnabled()
    with qtbot.waitSignal(window.navigator.open_message, timeout=20_000) as opened:
        timeline.open_first_button.click()
    first = min((m for m in messages if m.sender == person and m.session_id == c.session_id),
                key=lambda m: (m.msgtime, m.id))
    assert opened.args == [c.corp_id, c.session_id, first.id]


def test_the_member_list_follows_the_group_open_in_the_window(qtbot, qtmodeltester, window, ctx):
    panel = _show(window, "group-members")
    qtbot.waitUntil(lambda: panel.group_box.count() > 0 and panel.group is not None, timeout=20_000)
    actor = window.actor
    groups = ctx.archive.sessions(actor, _corp(ctx), "group", limit=100)
    assert panel.group_box.count() == len(groups)
    group = max(groups, key=lambda s: s.message_count)
    window.sessions.select_session(group.corp_id, group.session_id, emit=True)
    qtbot.waitUntil(lambda: panel.group is not None and panel.group.session_id == group.session_id, timeout=20_000)
    qtmodeltester.check(panel.model)
    shown = {panel.model.index(r, 1).data() for r in range(panel.model.rowCount())}
    assert {p for p in group.participants if p != group.roomid} <= shown
    names = {panel.model.index(r, 0).data().removesuffix(" (owner)") for r in range(panel.model.rowCount())}
    assert {ctx.directory.name(actor, _corp(ctx), p) for p in group.participants} - {None} <= names
    joined = [panel.model.index(r, 3).data() for r in range(panel.model.rowCount()) if panel.group.members[r].listed]
    assert joined and all(joined)  # WeCom's join time for every listed member
    assert "(owner)" in panel.model.index(0, 0).data()
    assert panel.group.name and panel.group.name in panel.summary.text()
    with qtbot.waitSignal(window.navigator.open_session) as opened:
        panel.open_button.click()
    assert opened.args == [group.corp_id, group.session_id]


def test_printing_makes_the_conversations_pdf_transcript_and_opens_it(qtbot, window, ctx, monkeypatch):
    import app.ui.print_panel as print_panel

    opened = []
    monkeypatch.setattr(print_panel, "has_program_for", lambda name: name.endswith(".pdf"))
    monkeypatch.setattr(print_panel, "open_file", lambda path: opened.append(path) or True)
    panel = _show(window, "print")
    session = ctx.archive.sessions(window.actor, _corp(ctx), "group", limit=1)[0]
    window.sessions.select_session(session.corp_id, session.session_id, emit=True)
    qtbot.waitUntil(lambda: panel.session_box.currentData() == session.session_id, timeout=20_000)
    # the dates start at the conversation's first and last day
    assert panel.range.from_date.date() == QDateTime.fromMSecsSinceEpoch(session.first_msgtime).date()
    assert panel.range.to_date.date() == QDateTime.fromMSecsSinceEpoch(session.last_msgtime).date()
    assert panel.make()
    qtbot.waitUntil(lambda: not panel._job.is_running() and panel.result is not None and bool(opened), timeout=120_000)
    assert len(opened) == 1 and opened[0].suffix == ".pdf" and opened[0].read_bytes().startswith(b"%PDF")
    assert panel.result.counts["messages"] == session.message_count and panel.result.counts["sessions"] == 1
    folder = panel._folder
    assert folder.is_dir() and oct(folder.stat().st_mode)[-3:] == "700"
    # recorded as an export like any other
    exports = [e for e in ctx.trail.entries(window.actor, limit=50) if e.action == "export"]
    assert exports and exports[0].object == panel.result.fingerprint
    panel.shutdown()  # the window closes: the temporary package is removed
    assert not folder.exists()


@pytest.mark.parametrize("xdg_knows", [False, None], ids=["xdg-mime-names-none", "the-desktop-refuses"])
def test_printing_says_so_when_no_program_opens_pdfs(qtbot, window, ctx, monkeypatch, xdg_knows):
    import app.ui.print_panel as print_panel

    handed = []
    monkeypatch.setattr(print_panel, "has_program_for", lambda name: xdg_knows)
    monkeypatch.setattr(print_panel, "open_file", lambda path: handed.append(path) and False)
    panel = _show(window, "print")
    qtbot.waitUntil(lambda: panel.session_box.count() > 0, timeout=20_000)
    panel.session_box.setCurrentIndex(panel.session_box.count() - 1)
    assert panel.make()
    qtbot.waitUntil(lambda: not panel._job.is_running() and panel.status.text().startswith("No program"),
                    timeout=120_000)
    assert panel.status.text().startswith("No program on this computer opens PDF files; the transcript is at ")
    assert len(handed) == (0 if xdg_knows is False else 1)  # xdg-open is not even asked when nothing takes PDFs
    assert str(panel.pdfs[0]) in panel.status.text()
    panel.shutdown()


def test_file_print_makes_and_opens_the_open_conversations_transcript(qtbot, window, ctx, monkeypatch):
    import app.ui.print_panel as print_panel

    opened = []
    monkeypatch.setattr(print_panel, "has_program_for", lambda name: True)
    monkeypatch.setattr(print_panel, "open_file", lambda path: opened.append(path) or True)
    assert window.print_action.shortcut().matches(QKeySequence(QKeySequence.StandardKey.Print)) \
        == QKeySequence.SequenceMatch.ExactMatch
    assert not window.print_current_session()  # nothing open yet: a note in the status bar
    assert window.statusBar().currentMessage() == "Open a conversation to print."
    session = ctx.archive.sessions(window.actor, _corp(ctx), "internal", limit=1)[0]
    window.sessions.select_session(session.corp_id, session.session_id, emit=True)
    qtbot.waitUntil(lambda: window.viewer.model.session_id == session.session_id, timeout=20_000)
    panel = window.panels["print"]
    panel.parentWidget().hide()  # (a window state saved by an earlier test may have shown it)
    assert window.print_current_session()
    assert panel.parentWidget().isVisible()
    qtbot.waitUntil(lambda: panel.result is not None and not panel._job.is_running() and bool(opened), timeout=120_000)
    assert panel.session_box.currentData() == session.session_id
    assert panel.result.counts["messages"] == session.message_count
    assert len(opened) == 1 and opened[0].read_bytes().startswith(b"%PDF")
    panel.shutdown()


def test_hidden_panels_read_nothing_until_shown(qtbot, ctx):
    from PySide6.QtCore import QCoreApplication

    from app.ui.panels import Navigator
    from app.ui.tasks import wait_for_tasks

    navigator = Navigator()
    actor = ctx.accounts.no_login_actor("")
    specs = {s.key: s for s in registered_panels()}
    panels = {key: specs[key].create(ctx, actor, navigator, None) for key in KEYS}
    for p in panels.values():
        qtbot.addWidget(p)
    navigator.archive_changed.emit()  # a sync ended while the panels are hidden
    assert wait_for_tasks()
    QCoreApplication.processEvents()
    for key, p in panels.items():  # nothing was read: not even the corps
        assert p.corp_box.count() == 0, key
    panel = panels["statistics"]
    panel.show()
    qtbot.waitUntil(lambda: panel.stats is not None, timeout=20_000)
    before = panel.stats
    navigator.archive_changed.emit()  # shown: read again
    qtbot.waitUntil(lambda: panel.stats is not before, timeout=20_000)
    assert wait_for_tasks()


def test_printing_needs_an_account_that_may_read_the_conversation(qtbot, ctx):
    from app.ui.panels import Navigator
    from app.ui.print_panel import PrintPanel

    exporter = Actor("exp", roles=frozenset({"exporter"}))
    panel = PrintPanel(ctx, exporter, Navigator())
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.corp_box.count() > 0, timeout=20_000)
    assert not panel.make_button.isEnabled() and not panel.make()
    assert panel.status.text().startswith("Printing a conversation needs an account that may read it")
    assert panel.session_box.count() == 0
