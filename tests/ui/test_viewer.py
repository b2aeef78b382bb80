"""The message viewer: the lazy model, the bubbles of every msgtype, plain text, copying, details."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, QDateTime, QPoint, QRect, Qt, QTime
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtWidgets import QApplication, QLabel, QStyleOptionViewItem

from app.core.actor import Actor
from app.core.archive import ArchiveService, MessageRow
from app.core.messages import parse_message
from app.ui.tasks import wait_for_tasks
from app.ui.viewer import MessageDelegate, MessageDetailsDialog, MessageListModel, MessageViewer, Roles
from app.ui.viewer.model import MAX_ROWS, OPEN_ROWS, PAGE_SIZE, Side, own_side_rule, side_of

ACTOR = Actor.local()
ROOT = Path(__file__).resolve().parents[2]

# The offscreen platform says "This plugin does not support propagateSizeHints()" whenever a window
# is shown (and raise() / grabbing the keyboard for popups): its limits, not our warnings.
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise|grabbing)")


# ---------------------------------------------------------------- helpers

@pytest.fixture
def viewer(app_ctx, qtbot):
    v = MessageViewer(app_ctx, ACTOR)
    qtbot.addWidget(v)
    v.resize(820, 640)
    v.show()
    yield v
    wait_for_tasks()  # workers still reading must finish before the archive closes


def _open(qtbot, viewer: MessageViewer, call, *args):
    """Call show_session / show_message / jump_to_date and wait until it is on screen."""
    signal = viewer.model.window_opened if call == viewer.show_session else viewer.message_shown
    with qtbot.waitSignal(signal, timeout=20000):
        call(*args)


def _largest_session(ctx):
    return max(ctx.archive.sessions(ACTOR), key=lambda s: s.message_count)


def _session_messages(ctx, s):
    return ctx.archive.messages(ACTOR, corp_id=s.corp_id, session_id=s.session_id, limit=100000)


def _option(width: int = 720) -> QStyleOptionViewItem:
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, width, 100)
    option.font = QApplication.font()
    option.palette = QApplication.palette()
    return option


def _view_option(viewer: MessageViewer, row: int) -> QStyleOptionViewItem:
    option = QStyleOptionViewItem()
    viewer.view.initViewItemOption(option)
    option.rect = viewer.view.visualRect(viewer.model.index(row))
    return option


def _paint(delegate: MessageDelegate, index, width: int = 720) -> tuple[QImage, object]:
    option = _option(width)
    size = delegate.sizeHint(option, index)
    assert size.height() > 0 and size.width() > 0
    option.rect = QRect(0, 0, width, size.height())
    image = QImage(width, size.height(), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    delegate.paint(painter, option, index)
    painter.end()
    return image, delegate.layout_for(option, index)


def _colours_beyond(image: QImage, n: int) -> bool:
    """The image holds more than ``n`` distinct colours."""
    seen: set[int] = set()
    for y in range(image.height()):
        for x in range(image.width()):
            seen.add(image.pixel(x, y))
            if len(seen) > n:
                return True
    return False


def _raw(msgid, *, sender="zhangwei", to=("LiNa",), t=1_735_783_200_000, msgtype="text", payload=None):
    body = {"msgid": msgid, "action": "send", "from": sender, "tolist": list(to), "roomid": "", "msgtime": t,
            "msgtype": msgtype}
    body.update(payload if payload is not None else {"text": {"content": f"消息 {msgid}"}})
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _tiny_archive(tmp_path, raws: list[bytes], batch: int = 1000):
    """An AppContext on a fresh SQLite archive holding ``raws`` (written as a sync would)."""
    from app.core.context import AppContext
    from app.core.sdk import ChatDataItem
    from app.core.sdk.decrypt import Decrypted
    from app.core.sync.pipeline import ensure_corp
    from app.core.sync.writer import write_batch

    ctx = AppContext(tmp_path / "data", f"sqlite:///{tmp_path / 'archive.db'}")
    corp = ensure_corp(ctx.db, "wwviewer", "Viewer Corp")
    seq = 0
    for start in range(0, len(raws), batch):
        items = []
        for raw in raws[start:start + batch]:
            seq += 1
            p = parse_message(raw)
            items.append(Decrypted(ChatDataItem(seq, p.msgid, 1, "k", "m"), raw, p))
        write_batch(ctx.db, corp, seq - len(items), seq, items, None)
    return ctx, corp


@pytest.fixture
def own_ctx(tmp_path):
    made = []

    def make(raws, batch=1000):
        ctx, corp = _tiny_archive(tmp_path, raws, batch)
        made.append(ctx)
        return ctx, corp

    yield make
    wait_for_tasks()
    for ctx in made:
        ctx.close()


# ---------------------------------------------------------------- the model

@pytest.fixture
def small_page_model(app_ctx):
    """A model with 4-row pages. Requested before qtmodeltester, it outlives Qt's model tester, which
    must not see its model destroyed first."""
    model = MessageListModel(app_ctx.archive, app_ctx.directory, ACTOR, page_size=4)
    yield model
    wait_for_tasks()


def test_model_passes_qtmodeltester_while_paging(small_page_model, qtmodeltester, app_ctx, qtbot):
    model = small_page_model
    qtmodeltester.check(model)
    s = _largest_session(app_ctx)
    with qtbot.waitSignal(model.window_opened, timeout=20000):
        model.open_latest(s.corp_id, s.session_id)
    assert model.rowCount() == 4
    with qtbot.waitSignal(model.window_changed, timeout=20000):
        model.fetch_older()
    assert model.rowCount() == 8
    first = model.message_at(0)
    model.set_highlight(first.id)
    model.toggle_expanded(first.id)
    with qtbot.waitSignal(model.window_opened, timeout=20000):
        model.open_at_message(s.corp_id, s.session_id, model.message_at(5).id)
    with qtbot.waitSignal(model.window_changed, timeout=20000):
        model.fetch_older()
    if model.canFetchMore():
        with qtbot.waitSignal(model.window_changed, timeout=20000):
            model.fetchMore()
    for r in range(model.rowCount()):
        index = model.index(r)
        assert isinstance(model.data(index, Qt.ItemDataRole.DisplayRole), str)
        assert model.data(index, Roles.MessageRole).id == model.data(index, Roles.MessageIdRole)
        assert model.data(index, Roles.ParsedRole) is not None
        assert isinstance(model.data(index, Roles.MediaRole), list)
    assert model.data(model.index(0), Qt.ItemDataRole.ToolTipRole) is None  # no guessed-rich-text tooltips
    model.clear()
    assert model.rowCount() == 0


def test_opening_a_session_shows_its_latest_messages_at_the_bottom(viewer, app_ctx, qtbot):
    s = _largest_session(app_ctx)
    _open(qtbot, viewer, viewer.show_session, s.corp_id, s.session_id, "")
    newest = app_ctx.archive.messages(ACTOR, corp_id=s.corp_id, session_id=s.session_id, limit=1,
                                      newest_first=True)[0]
    model = viewer.model
    assert model.message_at(model.rowCount() - 1).id == newest.id
    assert model.rowCount() == min(OPEN_ROWS, s.message_count)
    bar = viewer.view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=5000)
    last_rect = viewer.view.visualRect(model.index(model.rowCount() - 1))
    assert viewer.view.viewport().rect().intersects(last_rect)
    # The header learns the session's participants and size in the background.
    qtbot.waitUntil(lambda: viewer.session is not None, timeout=10000)
    assert str(s.message_count) in viewer.info_label.text()
    assert viewer.title_label.text()


def test_a_conversation_opens_while_the_panels_reads_hold_every_thread_of_the_global_pool(viewer, app_ctx,
                                                                                          qtbot):
    """The pages a person waits for run in a pool of their own (app/ui/tasks.interactive_pool):
    over a large archive the panels' first reads held the global pool's threads for seconds, and a
    conversation opened meanwhile waited for them."""
    import threading

    from PySide6.QtCore import QThreadPool

    from app.ui.tasks import run_task

    pool = QThreadPool.globalInstance()
    release, started = threading.Event(), threading.Semaphore(0)

    def hold():
        started.release()
        release.wait(30)

    try:
        for _ in range(pool.maxThreadCount()):
            run_task(viewer, hold, lambda _r: None)
        for _ in range(pool.maxThreadCount()):
            assert started.acquire(timeout=10)  # every thread of the global pool is busy
        s = _largest_session(app_ctx)
        _open(qtbot, viewer, viewer.show_session, s.corp_id, s.session_id, "")
        assert viewer.model.rowCount() == min(OPEN_ROWS, s.message_count)
        assert pool.activeThreadCount() == pool.maxThreadCount()  # still held: the page did not wait for them
    finally:
        release.set()


def test_fetching_older_pages_extends_the_window_upward_to_the_first_message(app_ctx, qtbot):
    s = _largest_session(app_ctx)
    everything = _session_messages(app_ctx, s)
    model = MessageListModel(app_ctx.archive, app_ctx.directory, ACTOR, page_size=7)
    with qtbot.waitSignal(model.window_opened, timeout=20000):
        model.open_latest(s.corp_id, s.session_id)
    assert [r.id for r in (model.message_at(i) for i in range(7))] == [r.id for r in everything[-7:]]
    assert not model.canFetchMore()  # nothing newer than the newest
    while model.can_fetch_older():
        before = model.message_at(0).id
        with qtbot.waitSignal(model.rowsInserted, timeout=20000) as blocker:
            model.fetch_older()
        assert blocker.args[1] == 0  # prepended at the top
        assert model.message_at(model.row_of(before) - 1).msgtime <= model.message_at(model.row_of(before)).msgtime
    assert model.message_ids() == [r.id for r in everything]
    wait_for_tasks()


def test_scrolling_to_the_top_of_the_viewer_loads_older_messages_and_keeps_the_view_still(viewer, app_ctx, qtbot):
    s = _largest_session(app_ctx)
    viewer.model.page_size = 8
    _open(qtbot, viewer, viewer.show_session, s.corp_id, s.session_id)
    assert viewer.model.rowCount() == 8
    bar = viewer.view.verticalScrollBar()
    bar.triggerAction(bar.SliderAction.SliderToMinimum)  # as the user does; the fetch starts from the event loop
    anchor_id = viewer.model.message_at(viewer._top_row()).id
    anchor_top = viewer.view.visualRect(viewer.model.index(viewer.model.row_of(anchor_id))).top()
    with qtbot.waitSignal(viewer.model.window_changed, timeout=20000):
        pass
    assert viewer.model.rowCount() == 16
    # The message that was at the top of the screen is still where it was: the new rows are above it.
    now = viewer.view.visualRect(viewer.model.index(viewer.model.row_of(anchor_id))).top()
    assert abs(now - anchor_top) <= 1
    assert bar.value() > 0


def test_show_message_centres_highlights_and_selects_the_target(viewer, app_ctx, qtbot):
    s = _largest_session(app_ctx)
    rows = _session_messages(app_ctx, s)
    target = rows[len(rows) // 2]
    _open(qtbot, viewer, viewer.show_message, s.corp_id, s.session_id, target.id)
    model = viewer.model
    row = model.row_of(target.id)
    assert row >= 0
    assert model.data(model.index(row), Roles.HighlightRole) is True
    assert sum(bool(model.data(model.index(r), Roles.HighlightRole)) for r in range(model.rowCount())) == 1
    assert viewer.current_message_id() == target.id
    viewport = viewer.view.viewport().rect()

    def centred():
        rect = viewer.view.visualRect(model.index(row))
        return viewport.contains(rect.center()) and abs(rect.center().y() - viewport.center().y()) <= max(
            40, rect.height() // 2 + 2)

    qtbot.waitUntil(centred, timeout=5000)
    assert model.has_more_before or model.message_at(0).id == rows[0].id


def _local_midnight(ms: int) -> QDate:
    return QDateTime.fromMSecsSinceEpoch(ms).date()


def test_jump_to_date_lands_on_the_first_message_of_that_day_or_the_next_one(viewer, app_ctx, qtbot):
    s = _largest_session(app_ctx)
    rows = _session_messages(app_ctx, s)
    _open(qtbot, viewer, viewer.show_session, s.corp_id, s.session_id)

    def expected(date: QDate):
        start = QDateTime(date, QTime(0, 0)).toMSecsSinceEpoch()
        later = [r for r in rows if r.msgtime >= start]
        return later[0] if later else rows[-1]

    days = sorted({_local_midnight(r.msgtime) for r in rows}, key=lambda d: d.toJulianDay())
    middle_day = days[len(days) // 2]
    gap_day = next((d.addDays(1) for d, e in zip(days, days[1:], strict=False) if d.daysTo(e) > 1), None)
    cases = [middle_day, days[0].addDays(-30), days[-1].addDays(30)] + ([gap_day] if gap_day else [])
    for date in cases:
        _open(qtbot, viewer, viewer.jump_to_date, date)
        target = expected(date)
        assert viewer.current_message_id() == target.id, date.toString(Qt.DateFormat.ISODate)
        rect = viewer.view.visualRect(viewer.model.index(viewer.model.row_of(target.id)))
        assert viewer.view.viewport().rect().intersects(rect)
    first_of_middle = expected(middle_day)
    assert _local_midnight(first_of_middle.msgtime) == middle_day
    earlier = [r for r in rows if r.msgtime < first_of_middle.msgtime]
    assert not earlier or _local_midnight(earlier[-1].msgtime) != middle_day


def test_the_calendar_popup_jumps_to_the_picked_day_and_clear_empties_the_viewer(viewer, app_ctx, qtbot):
    s = _largest_session(app_ctx)
    rows = _session_messages(app_ctx, s)
    _open(qtbot, viewer, viewer.show_session, s.corp_id, s.session_id)
    qtbot.waitUntil(lambda: viewer.session is not None, timeout=10000)  # the popup limits dates to the session's
    viewer.ask_jump_to_date()
    popup = viewer._popup
    assert popup.isVisible()
    day = _local_midnight(rows[0].msgtime)
    assert popup.calendar.minimumDate() == day
    with qtbot.waitSignal(viewer.message_shown, timeout=20000) as blocker:
        popup.calendar.clicked.emit(day)
    assert blocker.args == [rows[0].id] and not popup.isVisible()
    viewer.clear()
    assert viewer.model.rowCount() == 0 and viewer.title_label.text() == ""
    assert viewer.stack.currentWidget() is viewer.placeholder
    assert viewer.copy_selection() == ""


def test_sides_staff_right_external_left_first_participant_left_and_staff_groups_as_transcripts():
    external = "wmkILR0BAAEW3AAhCDcwgGcV5l3O4hwf"
    has_ext, first = own_side_rule({"zhangwei", external})
    assert side_of("zhangwei", has_ext, first) == Side.RIGHT
    assert side_of(external, has_ext, first) == Side.LEFT
    assert side_of("wbkILR0BAAvm6ug_e7dHdKhBcRDPzjfC", has_ext, first) == Side.LEFT  # a robot
    has_ext, first = own_side_rule({"zhangwei", "wong"})  # "wong" is staff, not an external id
    assert not has_ext and first == "wong"
    assert side_of("wong", has_ext, first) == Side.LEFT
    assert side_of("zhangwei", has_ext, first) == Side.RIGHT
    # a staff-only group has no "other side": a transcript, everyone on the left
    has_ext, first = own_side_rule({"zhangwei", "LiNa", "wong"})
    assert not has_ext and first is None
    assert {side_of(p, has_ext, first) for p in ("zhangwei", "LiNa", "wong")} == {Side.LEFT}


# ---------------------------------------------------------------- the delegate

def _one_message_per_msgtype(ctx) -> dict[str, object]:
    seen: dict[str, object] = {}
    after = None
    while True:
        page = ctx.archive.messages(ACTOR, limit=500, after=after)
        if not page:
            return seen
        for r in page:
            seen.setdefault(r.msgtype, r)
        after = (page[-1].msgtime, page[-1].id)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_every_registered_msgtype_has_a_renderer_and_its_labels_in_both_languages(qapp, language):
    """The msgtype registry (app/core/messages/catalogue.py) and the viewer's @renders functions
    stay in step: a msgtype declared without a renderer fails here."""
    from app.core.messages import CATALOGUE, MSGTYPES, Unsupported
    from app.ui.viewer.render import RENDERERS, MessageRenderer, type_label

    declared = {spec.record for spec in MSGTYPES.values()}
    missing = sorted(cls.__name__ for cls in declared - set(RENDERERS))
    assert not missing, f"declared without a @renders(...) function in app/ui/viewer/render.py: {missing}"
    assert set(RENDERERS) - declared == {Unsupported}
    qapp.setProperty("ui_language", language)
    try:
        for name, spec in MSGTYPES.items():
            assert spec.zh.strip() and spec.en.strip(), name
            assert type_label(name) == f"[{spec.zh if language == 'zh_CN' else spec.en}]"
        # each one is drawn, even from an empty payload
        renderer = MessageRenderer()
        for name, spec in CATALOGUE.items():
            body = {"msgid": f"m-{name}", "action": "send", "from": "zhangwei", "tolist": ["LiNa"], "roomid": "",
                    "msgtime": 1_735_783_200_000, "msgtype": name}
            if spec.key is not None:
                body[spec.key] = {}
            parsed = parse_message(json.dumps(body))
            assert type(parsed.content) is spec.record, name
            rendered = renderer.render(_row_of(parsed), parsed, [])
            nested = renderer.blocks_of(name, parsed.content, name, {}, 1)
            if name != "mixed":  # a mixed message without parts has nothing to show
                assert rendered.blocks and nested, name
    finally:
        qapp.setProperty("ui_language", None)


def _row_of(parsed) -> MessageRow:
    """The stored row of a parsed message, for rendering it without an archive."""
    return MessageRow(1, 1, 1, parsed.msgid, parsed.action, parsed.sender, parsed.tolist, parsed.roomid,
                      parsed.msgtime, parsed.msgtype, parsed.session_id, parsed.session_type, parsed.supported,
                      bool(parsed.media), parsed.recalled_msgid, None, parsed.search_text)


def test_sizes_and_times_beyond_64_bits_show_as_unknown(qapp):
    """JSON numbers have no limit: a message with absurd ones is still drawn (Qt's formatters raise)."""
    from app.ui.viewer.render import MediaBlock, MessageRenderer

    huge = 2**70
    shown = []
    for msgtype, payload in [("image", {"image": {"sdkfileid": "f", "filesize": huge}}),
                             ("file", {"file": {"sdkfileid": "f", "filename": "a.pdf", "filesize": -huge}}),
                             ("meeting", {"meeting": {"topic": "季度会", "starttime": huge, "endtime": 2**62}}),
                             ("chatrecord", {"chatrecord": {"title": "记录", "item": [
                                 {"type": "ChatRecordText", "msgtime": huge, "content": json.dumps({"content": "x"})},
                             ]}})]:
        parsed = parse_message(_raw(f"huge-{msgtype}", msgtype=msgtype, payload=payload))
        for expanded in (False, True):
            shown.extend(MessageRenderer().render(_row_of(parsed), parsed, [], expanded).blocks)
    media = [b for b in shown if isinstance(b, MediaBlock)]
    assert [b.detail for b in media] == ["", "", "", ""]  # image and file, collapsed and expanded
    assert any(getattr(b, "title", "") == "季度会" for b in shown)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_every_msgtype_in_the_archive_renders_and_paints(app_ctx, qtbot, language):
    app = QApplication.instance()
    app.setProperty("ui_language", language)
    try:
        samples = _one_message_per_msgtype(app_ctx)
        assert {"text", "image", "voice", "file", "chatrecord", "mixed", "revoke", "agree", "switch"} <= set(samples)
        model = MessageListModel(app_ctx.archive, app_ctx.directory, ACTOR, page_size=3)
        model.synchronous = True
        delegate = MessageDelegate()
        for msgtype, row in sorted(samples.items()):
            model.open_at_message(row.corp_id, row.session_id, row.id)
            index = model.index(model.row_of(row.id))
            image, layout = _paint(delegate, index)
            assert layout.text().strip(), msgtype
            parsed = model.data(index, Roles.ParsedRole)
            assert parsed is not None and parsed.msgtype == msgtype
            if not parsed.supported:
                assert msgtype in layout.text()  # "[Unsupported message type: x]" names the type
                assert any(action == "raw" for _, action, _ in layout.hotspots)
            if msgtype in ("chatrecord", "mixed") and any(a == "toggle" for _, a, _ in layout.hotspots):
                model.toggle_expanded(row.id)
                _, expanded = _paint(delegate, index)
                assert expanded.size.height() > layout.size.height()
            # Something besides the background was drawn (every pixel looked at: a one-line system
            # text in thin glyphs can fall between the points of a sparse grid).
            assert _colours_beyond(image, 2), msgtype
        assert model.rowCount() > 0
    finally:
        app.setProperty("ui_language", None)


def test_recalled_messages_are_marked_and_recalls_are_system_lines(app_ctx, qtbot):
    rows = [r for r in ArchiveService(app_ctx.db).messages(ACTOR, limit=5000) if r.recalled_at]
    assert rows, "the demo archive has recalled messages"
    model = MessageListModel(app_ctx.archive, app_ctx.directory, ACTOR, page_size=3)
    model.synchronous = True
    delegate = MessageDelegate()
    original = rows[0]
    model.open_at_message(original.corp_id, original.session_id, original.id)
    _, layout = _paint(delegate, model.index(model.row_of(original.id)))
    assert "Recalled at" in layout.text()
    recall = next(r for r in (model.message_at(i) for i in range(model.rowCount())) if r.msgtype == "revoke") \
        if any(model.message_at(i).msgtype == "revoke" for i in range(model.rowCount())) else None
    if recall is not None:
        _, line = _paint(delegate, model.index(model.row_of(recall.id)))
        assert line.bubble is None and "recalled a message" in line.text()


def test_media_show_their_status_and_images_load_thumbnails(viewer, app_ctx, qtbot):
    failed = image_row = None
    for r in app_ctx.archive.messages(ACTOR, limit=5000):
        if not r.has_media:
            continue
        media = app_ctx.archive.media_of(ACTOR, r.id)
        if failed is None and any(m.status == "failed" for m in media):
            failed = r
        if image_row is None and r.msgtype == "image" and media and media[0].status == "stored":
            image_row = r
        if failed and image_row:
            break
    assert failed is not None and image_row is not None
    _open(qtbot, viewer, viewer.show_message, failed.corp_id, failed.session_id, failed.id)
    row = viewer.model.row_of(failed.id)
    layout = viewer.delegate.layout_for(_view_option(viewer, row), viewer.model.index(row))
    assert "Download failed: md5 mismatch" in layout.text()

    _open(qtbot, viewer, viewer.show_message, image_row.corp_id, image_row.session_id, image_row.id)
    media_id = viewer.model.media(image_row.id)[0].id
    qtbot.waitUntil(lambda: viewer.thumbnails.pixmap(media_id) is not None, timeout=10000)
    row = viewer.model.row_of(image_row.id)
    layout = viewer.delegate.layout_for(_view_option(viewer, row), viewer.model.index(row))
    thumb = next(op for op in layout.ops if op.kind == "thumb")
    assert 0 < thumb.rect.width() <= 240 and 0 < thumb.rect.height() <= 240


def test_clicking_show_all_expands_a_chat_record(viewer, app_ctx, qtbot):
    # The demo corpus has chat records of several lengths: take the first one long enough to fold.
    records = [h.message for h in app_ctx.search.query(ACTOR, "type:chatrecord", limit=200)]
    assert records, "the demo archive has no chat record"
    for rec in records:
        _open(qtbot, viewer, viewer.show_message, rec.corp_id, rec.session_id, rec.id)
        model, view = viewer.model, viewer.view
        row = model.row_of(rec.id)
        option = _view_option(viewer, row)
        before = viewer.delegate.layout_for(option, model.index(row))
        toggles = [r for r, a, _ in before.hotspots if a == "toggle"]
        if toggles:
            break
    else:
        raise AssertionError(f"none of {len(records)} chat records is long enough to fold")
    point = toggles[0].center() + option.rect.topLeft()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert model.data(model.index(row), Roles.ExpandedRole) is True
    after = viewer.delegate.layout_for(_view_option(viewer, row), model.index(row))
    assert after.size.height() > before.size.height()
    assert view.visualRect(model.index(row)).height() == after.size.height()


def test_markup_in_a_message_is_shown_literally(own_ctx, qtbot):
    hostile = '<b>x</b><img src="http://example.invalid/a.png"><a href="http://example.invalid">link</a>'
    ctx, _corp = own_ctx([_raw("markup-1", payload={"text": {"content": hostile}}),
                          _raw("markup-2", t=1_735_783_260_000, msgtype="markdown",
                               payload={"info": {"content": "**bold** <i>it</i>"}})])
    v = MessageViewer(ctx, ACTOR)
    qtbot.addWidget(v)
    v.resize(700, 500)
    v.show()
    s = ctx.archive.sessions(ACTOR)[0]
    _open(qtbot, v, v.show_session, s.corp_id, s.session_id)
    assert v.model.rowCount() == 2
    texts = [v.delegate.layout_for(_view_option(v, r), v.model.index(r)).text() for r in range(2)]
    assert hostile in texts[0]
    assert "**bold** <i>it</i>" in texts[1]
    assert "<b>x</b>" in v.model.data(v.model.index(0), Qt.ItemDataRole.DisplayRole)
    dialog = v.open_details(v.model.message_at(0).id)
    qtbot.addWidget(dialog)
    for widget in (v, dialog):
        for label in widget.findChildren(QLabel):
            assert label.textFormat() == Qt.TextFormat.PlainText, label.text()
    assert not any(hostile == w.toolTip() for w in v.findChildren(QLabel))
    wait_for_tasks()


# ---------------------------------------------------------------- copying and details

def test_ctrl_c_copies_the_selected_messages_as_text_lines(viewer, app_ctx, qtbot):
    s = _largest_session(app_ctx)
    _open(qtbot, viewer, viewer.show_session, s.corp_id, s.session_id)
    model, view = viewer.model, viewer.view
    texts = [r for r in range(model.rowCount()) if model.message_at(r).msgtype == "text"][-2:]
    assert len(texts) == 2
    view.clearSelection()
    for r in texts:
        view.selectionModel().select(model.index(r), view.selectionModel().SelectionFlag.Select)
    view.setFocus()
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    expected = []
    for r in texts:
        m = model.message_at(r)
        when = QDateTime.fromMSecsSinceEpoch(m.msgtime).toString("yyyy-MM-dd HH:mm")
        name = app_ctx.directory.label(ACTOR, m.corp_id, m.sender)
        content = parse_message(app_ctx.archive.message(ACTOR, message_id=m.id).raw_json).content.content
        expected.append(f"{when} {name}: {content}")
    assert QGuiApplication.clipboard().text() == "\n".join(expected)


def test_details_dialog_shows_the_exact_bytes_and_verifies_the_sha256(app_ctx, qtbot):
    row = next(r for r in app_ctx.archive.messages(ACTOR, limit=200) if r.msgtype == "text")
    detail = app_ctx.archive.message(ACTOR, message_id=row.id)
    dialog = MessageDetailsDialog(app_ctx, ACTOR, row.id)
    qtbot.addWidget(dialog)
    assert dialog.raw_exact.toPlainText() == detail.raw_json.decode("utf-8")
    assert dialog.raw_exact.isReadOnly() and dialog.raw_pretty.isReadOnly()
    assert json.loads(dialog.raw_pretty.toPlainText()) == json.loads(detail.raw_json)
    assert dialog.sha_label.text() == detail.raw_sha256 == hashlib.sha256(detail.raw_json).hexdigest()
    shown = "\n".join(lbl.text() for lbl in dialog.findChildren(QLabel))
    for field in (row.msgid, str(row.seq), row.msgtype, row.session_id):
        assert field in shown
    assert dialog.verify() is True and dialog.verify_label.text().startswith("Match")
    QGuiApplication.clipboard().clear()
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text().encode("utf-8") == detail.raw_json
    dialog.detail = dataclasses.replace(detail, raw_json=detail.raw_json + b" ")  # as if altered in the DB
    assert dialog.verify() is False and "MISMATCH" in dialog.verify_label.text()


def test_double_click_emits_message_activated_and_opens_details(viewer, app_ctx, qtbot):
    s = _largest_session(app_ctx)
    _open(qtbot, viewer, viewer.show_session, s.corp_id, s.session_id)
    row = viewer.model.rowCount() - 1
    rect = viewer.view.visualRect(viewer.model.index(row))
    point = QPoint(rect.left() + 4, rect.center().y())  # beside the bubble: no link there
    with qtbot.waitSignal(viewer.message_activated, timeout=5000) as blocker:
        # QTest's double click has no first press; a user's double click does.
        qtbot.mouseClick(viewer.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
        qtbot.mouseDClick(viewer.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert blocker.args == [viewer.model.message_at(row).id]
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, MessageDetailsDialog) and w.isVisible()]
    assert dialogs and dialogs[-1].message_id == viewer.model.message_at(row).id
    for d in dialogs:
        d.close()


# ---------------------------------------------------------------- a large session

def test_a_5000_message_session_is_windowed_and_scrolls_to_its_first_message(own_ctx, qtbot):
    n = 5000
    base = 1_735_700_000_000
    raws = [_raw(f"big-{i:05d}", sender="zhangwei" if i % 3 else "LiNa", to=("LiNa",) if i % 3 else ("zhangwei",),
                 t=base + i * 61_000) for i in range(n)]
    ctx, _corp = own_ctx(raws)
    v = MessageViewer(ctx, ACTOR)
    qtbot.addWidget(v)
    v.resize(700, 500)
    v.show()
    s = ctx.archive.sessions(ACTOR)[0]
    assert s.message_count == n
    _open(qtbot, v, v.show_session, s.corp_id, s.session_id)
    model = v.model
    assert model.rowCount() == OPEN_ROWS < n
    assert model.message_at(model.rowCount() - 1).msgid == f"big-{n - 1:05d}"
    bar = v.view.verticalScrollBar()
    pages = 0
    while model.has_more_before:
        with qtbot.waitSignal(model.window_changed, timeout=20000):
            bar.triggerAction(bar.SliderAction.SliderToMinimum)
        pages += 1
        assert model.rowCount() <= MAX_ROWS
        assert pages < n // PAGE_SIZE + 5
    assert model.message_at(0).msgid == "big-00000"
    assert model.rowCount() <= MAX_ROWS and model.has_more_after  # the bottom was trimmed
    # Scrolling down again: Qt's fetchMore brings the newer rows back.
    last = model.message_at(model.rowCount() - 1).id
    with qtbot.waitSignal(model.window_changed, timeout=20000):
        bar.triggerAction(bar.SliderAction.SliderToMaximum)
    assert model.row_of(last) >= 0 and model.message_at(model.rowCount() - 1).id != last
    wait_for_tasks()


def _big_session(own_ctx, n: int):
    base = 1_735_700_000_000
    raws = [_raw(f"big-{i:05d}", sender="zhangwei" if i % 3 else "LiNa", to=("LiNa",) if i % 3 else ("zhangwei",),
                 t=base + i * 3_037_000, payload={"text": {"content": f"第 {i} 条" + "消息内容 " * (i % 7)}}) for i in range(n)]
    ctx, _corp = own_ctx(raws)
    return ctx, ctx.archive.sessions(ACTOR)[0]


def test_the_page_before_the_window_is_prefetched_laid_out_ahead_and_shown_without_a_read(own_ctx, qtbot):
    ctx, s = _big_session(own_ctx, 1500)
    v = MessageViewer(ctx, ACTOR)
    qtbot.addWidget(v)
    v.resize(700, 500)
    v.show()
    model, delegate = v.model, v.delegate
    with qtbot.waitSignal(model.page_staged, timeout=20000, check_params_cb=lambda d: d == "older"):
        _open(qtbot, v, v.show_session, s.corp_id, s.session_id)
    staged = model.staged_facts("older")
    assert len(staged) == PAGE_SIZE and staged[-1].row.id != model.message_at(0).id
    assert [f.row.msgid for f in staged] == [f"big-{i:05d}" for i in range(1500 - OPEN_ROWS - PAGE_SIZE,
                                                                              1500 - OPEN_ROWS)]
    qtbot.waitUntil(lambda: not v._warming.isActive(), timeout=20000)
    ahead = {f.row.id: delegate._cache[(f.row.id, delegate._width)] for f in staged}
    assert len(ahead) == PAGE_SIZE
    # Reaching the top shows the staged page at once: no read, no "loading", the laid-out rows used.
    loading = []
    model.loading_changed.connect(loading.append)
    bar = v.view.verticalScrollBar()
    with qtbot.waitSignal(model.window_changed, timeout=5000):
        bar.triggerAction(bar.SliderAction.SliderToMinimum)
    assert loading == [False] or loading == []
    assert model.message_at(0).msgid == f"big-{1500 - OPEN_ROWS - PAGE_SIZE:05d}"
    for row in range(PAGE_SIZE):
        ix = model.index(row)
        assert delegate.layout_for(_view_option(v, row), ix) is ahead[ix.data(Roles.MessageIdRole)]
    # What was laid out ahead is what the view would lay out: same size and text as a fresh layout.
    fresh = MessageDelegate(None, v.view)
    for row in (0, 1, PAGE_SIZE // 2, PAGE_SIZE - 1):
        ix = model.index(row)
        lay = fresh.layout_for(_view_option(v, row), ix)
        old = ahead[ix.data(Roles.MessageIdRole)]
        assert (lay.size, lay.texts) == (old.size, old.texts)
    wait_for_tasks()


def test_a_staged_page_is_dropped_when_its_end_of_the_window_moves_and_no_row_is_skipped(own_ctx, qtbot):
    ctx, s = _big_session(own_ctx, 900)
    model = MessageListModel(ctx.archive, ctx.directory, ACTOR, page_size=50, max_rows=150)
    model.synchronous = True
    ids = [r.id for r in ctx.archive.messages(ACTOR, corp_id=s.corp_id, session_id=s.session_id, limit=100000)]
    model.open_at_message(s.corp_id, s.session_id, ids[450])
    first = model.message_at(0).msgid
    model.prefetch_older()
    assert model.staged_facts("older") and model.message_at(0).msgid == first  # staged, not shown
    model.prefetch_newer()
    for _ in range(3):  # scrolling down trims the top: the staged older page no longer adjoins it
        model.fetch_newer()
    assert model.staged_facts("older") == [] and model.message_at(0).msgid != first
    for _ in range(6):
        model.fetch_older()
        shown = model.message_ids()
        start = ids.index(shown[0])
        assert shown == ids[start:start + len(shown)]  # contiguous: nothing skipped, nothing twice
        model.prefetch_older()
    assert model.rowCount() <= 150


def test_a_failed_prefetch_is_read_again_when_the_user_gets_there(own_ctx, qtbot, monkeypatch):
    ctx, s = _big_session(own_ctx, 400)
    model = MessageListModel(ctx.archive, ctx.directory, ACTOR, page_size=50)
    model.synchronous = True
    model.open_latest(s.corp_id, s.session_id)
    real = model._loader.page
    monkeypatch.setattr(model._loader, "page", lambda *a, **k: (_ for _ in ()).throw(OSError("disk went away")))
    failures = []
    model.load_failed.connect(failures.append)
    model.prefetch_older()
    assert model.staged_facts("older") == [] and failures == []  # nobody waited for it: nothing shown
    monkeypatch.setattr(model._loader, "page", real)
    before = model.rowCount()
    model.fetch_older()
    assert model.rowCount() == before + 50 and not model.is_loading()


# ---------------------------------------------------------------- translations

def test_every_viewer_string_has_a_chinese_translation(tmp_path):
    lupdate = Path(sys.executable).parent / "pyside6-lupdate"
    if not lupdate.exists():
        lupdate = shutil.which("pyside6-lupdate")
        assert lupdate, "pyside6-lupdate ships with PySide6, a dependency: the install is broken"
    sources = sorted(str(p) for p in (ROOT / "app" / "ui" / "viewer").glob("*.py"))
    ts = tmp_path / "viewer.ts"
    subprocess.run([str(lupdate), *sources, "-ts", str(ts)], check=True, capture_output=True)
    catalogue: dict[str, dict[str, str]] = {}  # merged as tools/build_translations.py merges them
    for path in sorted((ROOT / "resources" / "i18n" / "zh_CN").glob("*.json")):
        for context, entries in json.loads(path.read_text(encoding="utf-8")).items():
            catalogue.setdefault(context, {}).update(entries)
    missing = []
    found = 0
    for context in ET.parse(ts).getroot().iter("context"):
        name = context.findtext("name")
        for message in context.iter("message"):
            found += 1
            source = message.findtext("source")
            if not catalogue.get(name, {}).get(source):
                missing.append(f"{name}: {source}")
    assert found > 50
    assert not missing, missing
