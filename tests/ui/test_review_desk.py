"""Issue 18: the window as a day of review finds it. One test (or a few) per defect, each failing
before its fix: what a compliance officer clicks, reads and types."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QStyleOptionViewItem

from app.core.actor import Actor
from app.ui.tasks import wait_for_tasks
from app.ui.viewer import MessageViewer

ACTOR = Actor.local()

pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise|grabbing)")


@pytest.fixture
def viewer(app_ctx, qtbot):
    v = MessageViewer(app_ctx, ACTOR)
    qtbot.addWidget(v)
    v.resize(820, 640)
    v.show()
    yield v
    wait_for_tasks()


def _open_at(qtbot, viewer, row):
    with qtbot.waitSignal(viewer.message_shown, timeout=20000):
        viewer.show_message(row.corp_id, row.session_id, row.id)


def _option(viewer, row: int) -> QStyleOptionViewItem:
    option = QStyleOptionViewItem()
    viewer.view.initViewItemOption(option)
    option.rect = viewer.view.visualRect(viewer.model.index(row))
    return option


# ---------------------------------------------------------------- 1. clicks land where things are drawn

def test_clicking_a_drawn_image_or_toggle_hits_it_and_below_it_hits_nothing(viewer, app_ctx, qtbot):
    asked = []
    viewer.delegate.action_requested.disconnect(viewer._on_action)  # no image dialog, no audit entry
    viewer.delegate.action_requested.connect(lambda action, mid, payload: asked.append((action, mid)))
    images = [h.message for h in app_ctx.search.query(ACTOR, "type:image", limit=20)]
    records = [h.message for h in app_ctx.search.query(ACTOR, "type:chatrecord", limit=40)]
    checked = set()
    for rec in images + records:
        _open_at(qtbot, viewer, rec)
        model = viewer.model
        row = model.row_of(rec.id)
        if rec.msgtype == "chatrecord":  # expanded, its items' pictures are hotspots too
            model.toggle_expanded(rec.id)
            viewer.delegate.invalidate(rec.id)
        option = _option(viewer, row)
        layout = viewer.delegate.layout_for(option, model.index(row))
        for rect, action, _payload in layout.hotspots:
            drawn = [op.rect for op in layout.ops if op.kind in ("thumb", "placeholder", "text")
                     and rect.contains(op.rect.center())]
            assert drawn, f"the {action} hotspot {rect} of a {rec.msgtype} covers nothing drawn"
            assert layout.bubble.contains(rect.center()), f"the {action} hotspot lies outside its bubble"
            checked.add(action)
        for rect, action, _payload in layout.hotspots:
            if action not in ("view", "toggle"):
                continue
            viewer.view.scrollTo(model.index(row))
            option = _option(viewer, row)
            drawn = next(op.rect for op in layout.ops if op.kind in ("thumb", "placeholder", "text")
                         and rect.contains(op.rect.center()))
            asked.clear()
            qtbot.mouseClick(viewer.view.viewport(), Qt.MouseButton.LeftButton,
                             pos=drawn.center() + option.rect.topLeft())
            assert asked and asked[0][0] == action
            below = QPoint(drawn.center().x(), layout.bubble.bottom() + 3) + option.rect.topLeft()
            asked.clear()
            if viewer.view.viewport().rect().contains(below):
                qtbot.mouseClick(viewer.view.viewport(), Qt.MouseButton.LeftButton, pos=below)
                assert asked == []
            break
        if {"view", "toggle"} <= checked:
            break
    assert {"view", "toggle"} <= checked


# ---------------------------------------------------------------- helpers: an archive of chosen messages

def _raw(msgid, *, sender="zhangwei", to=("LiNa",), t=1_735_783_200_000, msgtype="text", payload=None, roomid=""):
    import json

    body = {"msgid": msgid, "action": "send", "from": sender, "tolist": list(to), "roomid": roomid, "msgtime": t,
            "msgtype": msgtype}
    body.update(payload if payload is not None else {"text": {"content": f"消息 {msgid}"}})
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


@pytest.fixture
def own_ctx(tmp_path):
    """make(raws) -> (AppContext, corp) on a fresh SQLite archive holding ``raws`` (written as a sync would)."""
    from app.core.context import AppContext
    from app.core.messages import parse_message
    from app.core.sdk import ChatDataItem
    from app.core.sdk.decrypt import Decrypted
    from app.core.sync.pipeline import ensure_corp
    from app.core.sync.writer import write_batch

    made = []

    def make(raws):
        n = len(made)
        ctx = AppContext(tmp_path / f"data{n}", f"sqlite:///{tmp_path / f'archive{n}.db'}")
        corp = ensure_corp(ctx.db, "wwreview", "Review Corp")
        items = []
        for seq, raw in enumerate(raws, 1):
            p = parse_message(raw)
            items.append(Decrypted(ChatDataItem(seq, p.msgid, 1, "k", "m"), raw, p))
        write_batch(ctx.db, corp, 0, len(items), items, None)
        made.append(ctx)
        return ctx, corp

    yield make
    wait_for_tasks()
    for ctx in made:
        ctx.close()


# ---------------------------------------------------------------- 11. counts read as English

def test_the_viewer_header_says_1_participant_and_1_message(own_ctx, qtbot):
    ctx, _corp = own_ctx([_raw("alone-1", to=()), _raw("pair-1", to=("LiNa",), t=1_735_783_300_000)])
    v = MessageViewer(ctx, ACTOR)
    qtbot.addWidget(v)
    v.show()
    by_count = {len(s.participants): s for s in ctx.archive.sessions(ACTOR)}
    alone, pair = by_count[1], by_count[2]
    with qtbot.waitSignal(v.model.window_opened, timeout=20000):
        v.show_session(alone.corp_id, alone.session_id)
    qtbot.waitUntil(lambda: v.session is not None and v.session.session_id == alone.session_id)
    assert v.info_label.text() == "1 participant · 1 message"
    with qtbot.waitSignal(v.model.window_opened, timeout=20000):
        v.show_session(pair.corp_id, pair.session_id)
    qtbot.waitUntil(lambda: v.session is not None and v.session.session_id == pair.session_id)
    assert v.info_label.text() == "2 participants · 1 message"


# ---------------------------------------------------------------- 3 and 15. the status bar and the welcome page

def _window(ctx, qtbot, size=(1024, 700)):
    from app.ui.main_window import MainWindow

    window = MainWindow(ctx, ACTOR)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    return window


def _message_room(window) -> int:
    """Pixels the status bar leaves its message (up to the first visible permanent widget)."""
    bar = window.statusBar()
    permanent = [w for w in (window.progress, window._who_label) if w.isVisible()]
    right = min((w.mapTo(bar, QPoint(0, 0)).x() for w in permanent), default=bar.width())
    return right - 6


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_status_bar_shows_a_message_whole_beside_a_running_sync_that_keeps_rate_and_eta(
        app_ctx, qtbot, qapp, language):
    from app.core.sync.pipeline import SyncProgress
    from app.ui.app import install_translators

    translators = install_translators(qapp, language) if language != "en" else []
    qapp.setProperty("ui_language", language)
    try:
        window = _window(app_ctx, qtbot)
        assert "sqlite" not in window.windowTitle() and "archive.db" in window.windowTitle()
        window.progress.on_started("ww")
        window.progress.on_progress(SyncProgress(phase="messages", seq=123456, fetched=120000, stored=119000,
                                                 quarantined=12, duplicates=3, rate=1850.0, eta_seconds=95))
        qtbot.waitUntil(window.progress.isVisible, timeout=3000)
        message = window.tr("Search index updated: %1 messages").replace("%1", "12,345")
        window.statusBar().showMessage(message)
        qtbot.wait(50)
        shown = window.progress.details_label.shown_text()
        assert "1850" in shown.replace(",", "") and window.progress._duration(95) in shown, shown
        fm = window.statusBar().fontMetrics()
        assert fm.horizontalAdvance(message) <= _message_room(window)
        bar = window.statusBar()
        for child in bar.findChildren(type(window._who_label)):  # nothing drawn under the message
            if child.isVisible() and child.window() is window and not window.progress.isAncestorOf(child) \
                    and child is not window._who_label:
                raise AssertionError(f"{child.text()!r} shows under the status message")
    finally:
        qapp.setProperty("ui_language", "en")
        for t in translators:
            qapp.removeTranslator(t)


@pytest.mark.parametrize("size", [(1024, 700), (1600, 1000)])
@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_welcome_page_is_centred_with_equal_buttons_and_says_what_it_prepares(
        tmp_path, qtbot, qapp, monkeypatch, language, size):
    import threading

    from app.core.context import AppContext
    from app.ui import main_window as main_window_module
    from app.ui.app import install_translators
    from app.ui.auth import startup

    translators = install_translators(qapp, language) if language != "en" else []
    qapp.setProperty("ui_language", language)
    ctx = AppContext(tmp_path / "empty")
    release = threading.Event()

    def prepare_demo(ctx, actor):  # holds the page in its busy state until the test ends
        release.wait(20)
        raise RuntimeError("not in this test")

    monkeypatch.setattr(main_window_module, "prepare_demo", prepare_demo)
    monkeypatch.setattr(main_window_module.QMessageBox, "warning", lambda *a: None)
    try:
        assert "sqlite" not in startup._archive_text(ctx) and startup._archive_text(ctx).endswith("archive.db")
        window = _window(ctx, qtbot, size)
        welcome = window.welcome
        assert window.stack.currentWidget() is welcome
        demo, configure = welcome.demo_button, welcome.configure_button
        assert demo.width() == configure.width()
        left = welcome.content.mapTo(welcome, QPoint(0, 0)).x()
        right = welcome.width() - (left + welcome.content.width())
        assert abs(left - right) <= 2, (left, right)
        assert left >= 0
        window.open_demo()
        qtbot.waitUntil(welcome.busy.isVisible, timeout=3000)
        text = welcome.busy.text()
        assert text.startswith(window.tr("Preparing the demo archive… (about ten seconds the first time)")[:6])
        assert welcome.busy.width() >= min(welcome.busy.fontMetrics().horizontalAdvance(text),
                                           welcome.content.width() - 2)
    finally:
        release.set()
        wait_for_tasks()
        ctx.close()
        qapp.setProperty("ui_language", "en")
        for t in translators:
            qapp.removeTranslator(t)


# ---------------------------------------------------------------- 2. the session tree's names

def _session_rows(tree, model):
    from app.ui.sessions.model import SessionRole

    out = []
    for r in range(model.rowCount()):
        group = model.index(r, 0)
        for c in range(model.rowCount(group)):
            index = model.index(c, 0, group)
            if index.data(SessionRole.SessionIdRole) is not None:
                out.append(index)
    return out


def test_the_session_tree_keeps_room_for_names_and_says_its_groups_count_sessions(app_ctx, qtbot):
    from app.ui.sessions.model import COL_TITLE

    (app_ctx.paths.config_dir / "window.ini").unlink(missing_ok=True)  # other tests' splitter: a user's choice
    window = _window(app_ctx, qtbot, (1024, 700))
    tree, model = window.sessions.tree, window.sessions.model
    qtbot.waitUntil(lambda: len(_session_rows(tree, model)) > 10, timeout=10000)
    assert tree.columnWidth(COL_TITLE) >= 100, tree.columnWidth(COL_TITLE)
    for r in range(model.rowCount()):
        assert tree.isFirstColumnSpanned(r, model.index(r, 0).parent())
        assert "session" in model.index(r, 0).data(), model.index(r, 0).data()

    window.resize(1400, 860)  # the window's first size
    qtbot.waitUntil(lambda: tree.columnWidth(COL_TITLE) > 200, timeout=3000)
    fm = tree.fontMetrics()

    def room_rows():  # each kind's sessions are read on their own: the rooms' may come after the first ten rows
        return [ix for ix in _session_rows(tree, model) if ix.parent().data().startswith("Groups")]

    qtbot.waitUntil(lambda: bool(room_rows()), timeout=10000)
    groups = room_rows()
    for ix in groups:
        room = tree.visualRect(ix).width() - 8
        title = ix.data()
        assert fm.horizontalAdvance(title) <= room, f"{title!r} is cut at the window's first size"


# ---------------------------------------------------------------- 4. search results follow the filters; dates from the archive

@pytest.fixture
def search_panel(app_ctx, qtbot):
    from app.ui.search import SearchPanel

    panel = SearchPanel(app_ctx, ACTOR)
    qtbot.addWidget(panel)
    panel.resize(460, 700)
    panel.show()
    yield panel
    wait_for_tasks()


def _local_date(ms):
    from PySide6.QtCore import QDateTime

    return QDateTime.fromMSecsSinceEpoch(ms).date()


def test_changing_a_filter_after_a_search_runs_it_again(search_panel, qtbot):
    from app.ui.search import SearchRole

    panel = search_panel
    panel.query_edit.setText("type:text OR type:image")
    with qtbot.waitSignal(panel.count_finished, timeout=20000):
        panel.search()
    qtbot.waitUntil(lambda: panel.model.rowCount() > 0, timeout=10000)
    assert {panel.model.index(r).data(SearchRole.MsgTypeRole) for r in range(panel.model.rowCount())} != {"image"}
    with qtbot.waitSignal(panel.count_finished, timeout=20000):
        panel.msgtype_combo.setCurrentIndex(panel.msgtype_combo.findData("image"))
    qtbot.waitUntil(lambda: panel.model.rowCount() > 0, timeout=10000)
    assert {panel.model.index(r).data(SearchRole.MsgTypeRole) for r in range(panel.model.rowCount())} == {"image"}
    assert "type:image" in panel.model.request.text


def test_date_filters_start_at_the_archive_first_and_last_day(search_panel, app_ctx, qtbot):
    panel = search_panel
    first = app_ctx.archive.messages(ACTOR, limit=1)[0].msgtime
    last = app_ctx.archive.messages(ACTOR, limit=1, newest_first=True)[0].msgtime
    qtbot.waitUntil(lambda: panel.from_date.date() == _local_date(first), timeout=10000)
    assert panel.to_date.date() == _local_date(last)
    panel.query_edit.setText("type:text")
    panel.from_check.setChecked(True)
    with qtbot.waitSignal(panel.count_finished, timeout=20000) as counted:
        panel.search()
    assert counted.args[1] > 0  # ticking "From" no longer finds nothing


def test_the_export_dialog_dates_start_at_the_conversation_first_and_last_day(app_ctx, qtbot):
    from app.core.export import Selection
    from app.ui.export_dialog import ExportDialog

    s = max(app_ctx.archive.sessions(ACTOR), key=lambda s: s.message_count)
    dialog = ExportDialog(app_ctx, ACTOR, Selection(session_ids=(s.session_id,), corp_id=s.corp_id), "s", None)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.from_date.date() == _local_date(s.first_msgtime), timeout=10000)
    assert dialog.to_date.date() == _local_date(s.last_msgtime)
    dialog.close()
    wait_for_tasks()


# ---------------------------------------------------------------- 6. media that arrive during a sync show in the open conversation

def test_an_open_conversation_shows_media_stored_after_it_was_opened_and_new_messages(own_ctx, qtbot):
    from sqlalchemy import update

    from app.core.store.models import Media
    from app.ui.main_window import MainWindow

    file_payload = {"file": {"md5sum": "0" * 32, "filename": "合同.pdf", "fileext": "pdf", "sdkfileid": "sdk-1",
                             "filesize": 1234}}
    ctx, _corp = own_ctx([_raw("m-1"), _raw("f-1", msgtype="file", payload=file_payload, t=1_735_783_260_000)])
    window = MainWindow(ctx, ACTOR)
    qtbot.addWidget(window)
    window.resize(1024, 700)
    viewer = window.viewer
    s = ctx.archive.sessions(ACTOR)[0]
    with qtbot.waitSignal(viewer.model.window_opened, timeout=20000):
        viewer.show_session(s.corp_id, s.session_id)
    msg = ctx.archive.messages(ACTOR, limit=10)[1]
    row = viewer.model.row_of(msg.id)

    def shown() -> str:
        return viewer.delegate.layout_for(_option(viewer, viewer.model.row_of(msg.id)),
                                          viewer.model.index(viewer.model.row_of(msg.id))).text()

    assert "Download pending" in shown()
    with ctx.db.write() as conn:  # what the sync's media phase does meanwhile
        conn.execute(update(Media).where(Media.message_id == msg.id)
                     .values(status="stored", stored_size=1234, sha256="a" * 64, md5_matched=True))
    from app.core.messages import parse_message
    from app.core.sdk import ChatDataItem
    from app.core.sdk.decrypt import Decrypted
    from app.core.sync.pipeline import ensure_corp
    from app.core.sync.writer import write_batch

    raw = _raw("m-2", t=1_735_783_900_000)
    corp = ensure_corp(ctx.db, "wwreview", "Review Corp")
    write_batch(ctx.db, corp, 2, 3, [Decrypted(ChatDataItem(3, "m-2", 1, "k", "m"), raw, parse_message(raw))], None)
    window._sync_ended()  # the sync's end, as the window hears it
    qtbot.waitUntil(lambda: "Download pending" not in shown(), timeout=10000)
    assert "Save as…" in shown()
    qtbot.waitUntil(lambda: viewer.model.rowCount() == 3, timeout=10000)
    assert row >= 0
    window.close()
