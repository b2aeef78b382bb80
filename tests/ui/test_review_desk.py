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
