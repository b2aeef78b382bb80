"""The session tree and panel: groups and counts, order, lazy paging, filter, selection, refresh."""

from __future__ import annotations

import json
import time

import pytest
from PySide6.QtCore import QDate, QDateTime, QLocale, QModelIndex, Qt, QTime
from sqlalchemy import update

from app.core.actor import Actor
from app.core.context import AppContext
from app.core.store.db import now_ms
from app.core.store.models import Contact, Session
from app.core.sync.pipeline import ensure_corp
from app.core.sync.writer import insert_many
from app.ui.sessions import SessionPanel, SessionRole, SessionTreeModel, format_activity_time
from app.ui.sessions.model import PAGE_SIZE, type_label

# The offscreen platform warns when a top-level window is shown; nothing to do with our code.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

ACTOR = Actor.local()
BASE_MS = 1_700_000_000_000


# ----------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _join_background_reads(qtbot):
    """No read outlives its test (and its temporary archive); torn down before qtbot is."""
    yield
    from app.ui.tasks import wait_for_tasks

    assert wait_for_tasks()


def wait_idle(qtbot, model) -> None:
    qtbot.waitUntil(lambda: not model.is_loading(), timeout=15000)


def load_everything(qtbot, model) -> None:
    """Fetch every page of every group (small archives only)."""
    while True:
        fetchable = [g for g in groups(model) if model.has_more(g)]
        if not fetchable:
            return
        for g in fetchable:
            model.want_more(g)
        wait_idle(qtbot, model)


def groups(model, parent=QModelIndex()) -> list[QModelIndex]:  # noqa: B008
    out = []
    for r in range(model.rowCount(parent)):
        index = model.index(r, 0, parent)
        if index.data(SessionRole.SessionTypeRole) is not None:
            out.append(index)
        else:
            out.extend(groups(model, index))
    return out


def children(model, group) -> list[QModelIndex]:
    return [model.index(r, 0, group) for r in range(model.rowCount(group))]


def add_sessions(db, corp_id: int, specs) -> None:
    """specs: (session_id, type, participants, last_msgtime[, roomid[, message_count]])."""
    rows = []
    for s in specs:
        sid, stype, people, last = s[:4]
        rows.append({"id": db.ids.next_id(), "corp_id": corp_id, "session_id": sid, "session_type": stype,
                     "roomid": s[4] if len(s) > 4 else "",
                     "participants": json.dumps(sorted(people), ensure_ascii=False),
                     "first_msgtime": last - 60_000, "last_msgtime": last,
                     "message_count": s[5] if len(s) > 5 else 2})
    with db.write() as conn:
        insert_many(conn, Session.__table__, rows)


def add_contacts(db, corp_id: int, names: dict[str, str]) -> None:
    with db.write() as conn:
        insert_many(conn, Contact.__table__, [
            {"id": db.ids.next_id(), "corp_id": corp_id, "userid": uid, "name": name,
             "kind": "room" if uid.startswith("wr") else "staff", "organisation": "", "updated_at": now_ms()}
            for uid, name in names.items()])


@pytest.fixture
def temp_ctx(tmp_path):
    """A writable, empty archive (the synced demo archive is shared and read-only)."""
    ctx = AppContext(tmp_path / "data")
    yield ctx
    ctx.close()


@pytest.fixture
def small_archive(temp_ctx):
    """One corp: a few named sessions of every type, one name that looks like HTML."""
    db = temp_ctx.db
    corp = ensure_corp(db, "wwsmall", "Small Corp")
    add_contacts(db, corp, {"zhangwei": "张伟", "lina": "李娜", "wangfang": "王芳", "bold": "<b>x</b>",
                            "wrRoomA": "项目群"})
    add_sessions(db, corp, [
        ("i1", "internal", ["zhangwei", "lina"], BASE_MS + 1_000, "", 5),
        ("i2", "internal", ["wangfang", "lina"], BASE_MS + 5_000),
        ("i3", "internal", ["bold", "zhangwei"], BASE_MS + 3_000),
        ("e1", "external", ["zhangwei", "wmCustomer0000000000000000000001"], BASE_MS + 4_000),
        ("e2", "external", ["wangfang", "wmCustomer0000000000000000000002"], BASE_MS + 2_000),
        ("g1", "group", ["zhangwei", "lina", "wangfang"], BASE_MS + 6_000, "wrRoomA", 40),
        ("g2", "group", ["lina", "wangfang", "bold", "zhangwei", "a1", "a2"], BASE_MS + 500, "wrNoName"),
    ])
    return temp_ctx, corp


# ----------------------------------------------------------------------------- the model


def test_model_on_the_demo_archive_passes_the_model_tester(qtbot, qtmodeltester, app_ctx):
    model = SessionTreeModel(app_ctx.archive, app_ctx.directory, ACTOR)
    load_everything(qtbot, model)
    qtmodeltester.check(model)
    wait_idle(qtbot, model)


def test_groups_show_the_archive_counts(qtbot, app_ctx):
    model = SessionTreeModel(app_ctx.archive, app_ctx.directory, ACTOR)
    counts = app_ctx.archive.session_counts(ACTOR)
    shown = {g.data(SessionRole.SessionTypeRole): g for g in groups(model)}
    # the three main types always, the others only when the archive has them
    assert {"internal", "external", "group"} <= set(shown)
    assert set(shown) == {"internal", "external", "group"} | {t for t, n in counts.items() if n}
    for stype, index in shown.items():
        n = counts.get(stype, 0)
        assert index.data() == (f"{type_label(stype)} · 1 session" if n == 1
                                else f"{type_label(stype)} · {QLocale().toString(n)} sessions")
        assert model.hasChildren(index) == (n > 0)
        assert model.rowCount(index) == 0  # nothing is read before a view asks for it


def test_sessions_are_newest_first_with_names(qtbot, app_ctx):
    model = SessionTreeModel(app_ctx.archive, app_ctx.directory, ACTOR)
    load_everything(qtbot, model)
    for group in groups(model):
        rows = children(model, group)
        expected = app_ctx.archive.sessions(ACTOR, None, group.data(SessionRole.SessionTypeRole), limit=10_000)
        assert [r.data(SessionRole.SessionIdRole) for r in rows] == [s.session_id for s in expected]
        times = [r.data(SessionRole.LastTimeRole) for r in rows]
        assert times == sorted(times, reverse=True)
        for index, session in zip(rows, expected, strict=True):
            assert index.data(SessionRole.MessageCountRole) == session.message_count
            assert index.siblingAtColumn(1).data() == QLocale().toString(session.message_count)
            assert index.siblingAtColumn(2).data() == format_activity_time(session.last_msgtime)
            if not session.roomid:  # one-to-one: the names of both sides, where the directory has them
                d = app_ctx.directory
                labels = [d.label(ACTOR, session.corp_id, p) + (f" {d.corp_tag(ACTOR, session.corp_id, p)}"
                                                                if d.corp_tag(ACTOR, session.corp_id, p) else "")
                          for p in session.participants]  # an external contact's corp as WeCom tags it
                assert index.data() == ", ".join(labels)


def test_titles_tooltips_and_groups(qtbot, small_archive):
    ctx, corp = small_archive
    model = SessionTreeModel(ctx.archive, ctx.directory, ACTOR)
    load_everything(qtbot, model)
    rows = {i.data(SessionRole.SessionIdRole): i for g in groups(model) for i in children(model, g)}
    assert rows["i1"].data() == "李娜, 张伟"  # participants in id order
    assert rows["g1"].data() == "项目群"  # the room's name
    assert rows["g2"].data() == "a1, a2, <b>x</b>, 李娜 +2"  # no name: the members, as plain text
    # tooltips are rich text in Qt: a name that looks like HTML must arrive escaped
    tip = rows["i3"].data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;x&lt;/b&gt;" in tip and "<b>" not in tip
    assert rows["g1"].data(SessionRole.ParticipantsRole) == ["lina", "wangfang", "zhangwei"]
    assert rows["g1"].data(SessionRole.CorpIdRole) == corp
    assert rows["g1"].data(SessionRole.MessageCountRole) == 40
    # no up/downstream or system sessions in this archive: no such groups
    assert [g.data(SessionRole.SessionTypeRole) for g in groups(model)] == ["internal", "external", "group"]


def test_two_corps_put_the_corps_on_top(qtbot, qtmodeltester, small_archive):
    ctx, corp = small_archive
    other = ensure_corp(ctx.db, "wwother", "Other Corp")
    add_sessions(ctx.db, other, [("o1", "internal", ["x", "y"], BASE_MS), ("o2", "system", ["x"], BASE_MS),
                                 ("o3", "updown", ["x", "partner"], BASE_MS + 9)])
    model = SessionTreeModel(ctx.archive, ctx.directory, ACTOR)
    assert model.rowCount() == 2
    tops = {model.index(r, 0).data(SessionRole.CorpIdRole): model.index(r, 0) for r in range(2)}
    assert tops[corp].data() == "Small Corp · 7 sessions" and tops[other].data() == "Other Corp · 3 sessions"
    assert tops[corp].data(SessionRole.SessionTypeRole) is None
    other_types = [model.index(r, 0, tops[other]).data(SessionRole.SessionTypeRole)
                   for r in range(model.rowCount(tops[other]))]
    assert other_types == ["internal", "external", "group", "updown", "system"]
    load_everything(qtbot, model)
    qtmodeltester.check(model)
    wait_idle(qtbot, model)


def test_activity_time_format():
    now = QDateTime(QDate(2026, 3, 10), QTime(15, 0))
    english, chinese = QLocale("en_US"), QLocale("zh_CN")

    def ms(y, m, d, h=10, mi=32):
        return QDateTime(QDate(y, m, d), QTime(h, mi)).toMSecsSinceEpoch()

    assert format_activity_time(ms(2026, 3, 10), now, english) == "10:32"
    assert format_activity_time(ms(2026, 1, 2), now, english) == "Jan 2"
    assert format_activity_time(ms(2026, 1, 2), now, chinese) == "1月2日"
    assert format_activity_time(ms(2024, 1, 2), now, english) == "2024-01-02"
    assert format_activity_time(ms(2024, 1, 2), now, chinese) == "2024-01-02"


# ----------------------------------------------------------------------------- 50,000 sessions


@pytest.fixture
def big_archive(temp_ctx):
    db = temp_ctx.db
    corp = ensure_corp(db, "wwbig", "Big Corp")
    types = ("internal", "external", "group")
    add_sessions(db, corp, [(f"{i:032x}", types[i % 3], [f"user{i % 997}", f"peer{i}"], BASE_MS + i * 1000)
                            for i in range(50_000)])
    return temp_ctx, corp


def test_fifty_thousand_sessions_open_with_one_page_per_group(qtbot, big_archive):
    ctx, _corp = big_archive
    started = time.perf_counter()
    panel = SessionPanel(ctx, ACTOR)
    qtbot.addWidget(panel)
    panel.resize(500, 700)
    panel.show()
    qtbot.waitExposed(panel)
    opened = time.perf_counter() - started
    wait_idle(qtbot, panel.model)
    model = panel.model
    loaded = [model.rowCount(g) for g in groups(model)]
    assert [g.data() for g in groups(model)][:1] == [f"Internal · {QLocale().toString(16_667)} sessions"]
    assert all(0 < n <= PAGE_SIZE for n in loaded), loaded
    assert opened < 5, opened  # counts only: a regression that reads every row takes far longer
    # scrolling to the end of the first group fetches its next page, not everything
    first = groups(model)[0]
    panel.tree.scrollTo(model.index(model.rowCount(first) - 1, 0, first))
    qtbot.waitUntil(lambda: model.rowCount(first) == 2 * PAGE_SIZE, timeout=15000)
    wait_idle(qtbot, model)
    assert model.rowCount(first) == 2 * PAGE_SIZE
    times = [i.data(SessionRole.LastTimeRole) for i in children(model, first)]
    assert times == sorted(times, reverse=True) and len(set(times)) == len(times)


def test_select_session_loads_pages_until_it_is_there(qtbot, big_archive):
    ctx, corp = big_archive
    panel = SessionPanel(ctx, ACTOR)
    qtbot.addWidget(panel)
    wait_idle(qtbot, panel.model)
    deep = f"{3:032x}"  # among the oldest internal sessions: far below the first page
    with qtbot.assertNotEmitted(panel.session_selected):
        panel.select_session(corp, deep)
        qtbot.waitUntil(lambda: panel.current_session() == (corp, deep), timeout=15000)
    assert panel.tree.selectionModel().isSelected(panel.tree.currentIndex())


# ----------------------------------------------------------------------------- the panel


def test_filter_narrows_to_sessions_with_a_participant(qtbot, app_ctx):
    panel = SessionPanel(app_ctx, ACTOR)
    qtbot.addWidget(panel)
    wait_idle(qtbot, panel.model)
    corp = app_ctx.archive.corp_id(ACTOR)
    person = app_ctx.archive.sessions(ACTOR, corp, "internal", limit=1)[0].participants[0]
    name = app_ctx.directory.label(ACTOR, corp, person)
    with qtbot.waitSignal(panel.filter_applied, timeout=10000) as applied:
        panel.filter_edit.setText(name)  # QTest types ASCII only
    assert applied.args == [name]
    wait_idle(qtbot, panel.model)
    model = panel.model
    load_everything(qtbot, model)
    ids = app_ctx.directory.ids_matching(ACTOR, corp, name)
    expected = app_ctx.archive.session_counts(ACTOR, corp, participant_ids=ids, participant_text=name)
    totals = app_ctx.archive.session_counts(ACTOR, corp)
    for group in groups(model):
        stype = group.data(SessionRole.SessionTypeRole)
        assert group.data() == (f"{type_label(stype)} · {QLocale().toString(expected.get(stype, 0))} of "
                                f"{QLocale().toString(totals.get(stype, 0))} sessions")
        for row in children(model, group):
            participants = row.data(SessionRole.ParticipantsRole)
            assert any(name in app_ctx.directory.label(ACTOR, corp, p) or name in p for p in participants) \
                or row.data() == app_ctx.directory.label(ACTOR, corp, name)
        assert model.rowCount(group) == expected.get(stype, 0)
    assert 0 < model.shown_count() < model.total_count()
    # clearing the filter shows everything again
    with qtbot.waitSignal(panel.filter_applied, timeout=10000):
        panel.filter_edit.clear()
    assert model.shown_count() == model.total_count() == sum(totals.values())


def test_filter_by_an_id_the_directory_does_not_know_and_debounce(qtbot, small_archive):
    ctx, _corp = small_archive
    panel = SessionPanel(ctx, ACTOR)
    qtbot.addWidget(panel)
    wait_idle(qtbot, panel.model)
    calls = []
    original = panel.model.set_filter
    panel.model.set_filter = lambda text: (calls.append(text), original(text))
    with qtbot.waitSignal(panel.filter_applied, timeout=10000):
        qtbot.keyClicks(panel.filter_edit, "customer0000000000000000000002")
    assert calls == ["customer0000000000000000000002"]  # typed quickly: one query, not one per key
    wait_idle(qtbot, panel.model)
    shown = [i.data(SessionRole.SessionIdRole) for g in groups(panel.model) for i in children(panel.model, g)]
    assert shown == ["e2"]
    assert panel.notice.isHidden()
    with qtbot.waitSignal(panel.filter_applied, timeout=10000):
        panel.set_filter_text("nobody-at-all")
    assert panel.model.shown_count() == 0 and not panel.notice.isHidden()
    assert "nobody-at-all" in panel.notice.text()


def _show(qtbot, panel):
    qtbot.addWidget(panel)
    panel.resize(500, 600)
    panel.show()
    qtbot.waitExposed(panel)
    wait_idle(qtbot, panel.model)


def test_click_and_arrow_keys_emit_session_selected(qtbot, small_archive):
    ctx, corp = small_archive
    panel = SessionPanel(ctx, ACTOR)
    _show(qtbot, panel)
    tree, model = panel.tree, panel.model
    first = model.session_index(corp, "i2")  # newest internal session: first row of the first group
    assert first.row() == 0
    with qtbot.waitSignal(panel.session_selected) as selected:
        qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualRect(first).center())
    assert selected.args == [corp, "i2", "李娜, 王芳"]
    with qtbot.waitSignal(panel.session_selected) as selected:
        qtbot.keyClick(tree, Qt.Key.Key_Down)
    assert selected.args[:2] == [corp, "i3"]
    # the session already shown is not announced again
    with qtbot.assertNotEmitted(panel.session_selected):
        tree.setCurrentIndex(model.session_index(corp, "i3"))
    # a group row is no session
    with qtbot.assertNotEmitted(panel.session_selected):
        tree.setCurrentIndex(groups(model)[1])


def test_refresh_keeps_selection_and_shows_new_activity(qtbot, small_archive):
    ctx, corp = small_archive
    panel = SessionPanel(ctx, ACTOR)
    _show(qtbot, panel)
    model = panel.model
    panel.select_session(corp, "i3")
    qtbot.waitUntil(lambda: panel.current_session() == (corp, "i3"))
    assert model.session_index(corp, "i3").row() == 1
    # the sync commits: a new internal session, and new messages in the oldest one
    add_sessions(ctx.db, corp, [("i4", "internal", ["lina", "newcomer"], BASE_MS + 9_000)])
    with ctx.db.write() as conn:
        conn.execute(update(Session).where(Session.session_id == "i1")
                     .values(last_msgtime=BASE_MS + 8_000, message_count=9))
    with qtbot.assertNotEmitted(panel.session_selected):
        panel.refresh()
        panel.refresh()  # merged into the one running
        qtbot.waitUntil(lambda: model.rowCount(groups(model)[0]) == 4, timeout=10000)
        wait_idle(qtbot, model)
    internal = groups(model)[0]
    assert [i.data(SessionRole.SessionIdRole) for i in children(model, internal)] == ["i4", "i1", "i2", "i3"]
    assert internal.data() == "Internal · 4 sessions"
    assert model.session_index(corp, "i1").data(SessionRole.MessageCountRole) == 9
    assert panel.current_session() == (corp, "i3")
    assert panel.tree.selectionModel().isSelected(model.session_index(corp, "i3"))


def test_refresh_adds_a_new_type_group_and_keeps_expansion(qtbot, small_archive):
    ctx, corp = small_archive
    panel = SessionPanel(ctx, ACTOR)
    _show(qtbot, panel)
    model = panel.model
    panel.select_session(corp, "e1")
    qtbot.waitUntil(lambda: panel.current_session() == (corp, "e1"))
    add_sessions(ctx.db, corp, [("s1", "system", ["zhangwei"], BASE_MS)])
    with qtbot.waitSignal(model.modelReset, timeout=10000):
        panel.refresh()
    wait_idle(qtbot, model)
    assert [g.data(SessionRole.SessionTypeRole) for g in groups(model)][-1] == "system"
    assert panel.tree.isExpanded(model.group_index(corp, "external"))
    assert panel.current_session() == (corp, "e1")


def test_select_session_hidden_by_the_filter_clears_it(qtbot, small_archive):
    ctx, corp = small_archive
    panel = SessionPanel(ctx, ACTOR)
    _show(qtbot, panel)
    with qtbot.waitSignal(panel.filter_applied, timeout=10000):
        panel.set_filter_text("王芳")
    assert not panel.model.session_index(corp, "i1").isValid()
    with qtbot.waitSignal(panel.session_selected, timeout=10000) as selected:
        panel.select_session(corp, "i1", emit=True)
    assert selected.args == [corp, "i1", "李娜, 张伟"]
    assert panel.filter_edit.text() == "" and panel.model.filter_text == ""
    assert panel.current_session() == (corp, "i1")
