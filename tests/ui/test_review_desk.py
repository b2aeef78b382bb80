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
    from app.core.sync.decrypt import Decrypted
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
