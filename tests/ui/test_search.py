"""The search panel: exact hits, snippets, paging, supersession, activation, plain text, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, QDateTime, QEvent, QModelIndex, Qt, QTime, QTranslator
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem
from sqlalchemy import func, select

from app.core.actor import Actor
from app.core.context import AppContext
from app.core.messages import LABELS, parse_message
from app.core.sdk import ChatDataItem
from app.core.sdk.decrypt import Decrypted
from app.core.search import SYNTAX_HELP, QueryError
from app.core.store.models import Message
from app.core.sync.pipeline import ensure_corp
from app.core.sync.writer import write_batch
from app.ui.search import (
    SearchHistory,
    SearchPanel,
    SearchRequest,
    SearchResultsModel,
    SearchRole,
    make_snippet,
)
from app.ui.search.model import PAGE_SIZE

# The offscreen platform cannot size, raise or grab for a window (the help popup, the history list).
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support (propagateSizeHints|raise|grabbing)")

ACTOR = Actor.local()
ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _join_background_reads(qtbot):
    """No read outlives its test (and its temporary archive); torn down before qtbot is."""
    yield
    from app.ui.tasks import wait_for_tasks

    assert wait_for_tasks()


def wait_idle(qtbot, model) -> None:
    qtbot.waitUntil(lambda: not model.is_loading(), timeout=15000)


def load_all(qtbot, model) -> None:
    wait_idle(qtbot, model)
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
        wait_idle(qtbot, model)


def run_search(qtbot, panel, keyword: str | None = None) -> int:
    """Search and wait for both the first page and the count; returns the count."""
    if keyword is not None:
        panel.query_edit.setText(keyword)
    with qtbot.waitSignal(panel.count_finished, timeout=15000) as counted:
        assert panel.search()
    wait_idle(qtbot, panel.model)
    return counted.args[1]


def direct_ids(ctx, keyword: str) -> set[int]:
    """Ids of the messages whose searchable text contains ``keyword`` (any case), read directly."""
    with ctx.db.read() as conn:
        rows = conn.execute(select(Message.id, Message.content_text)).all()
    return {r.id for r in rows if keyword.lower() in r.content_text.lower()}


def common_keyword(ctx) -> str:
    """A two-character word with more than two pages of hits in the demo archive."""
    with ctx.db.read() as conn:
        texts = conn.execute(select(Message.content_text).where(Message.msgtype == "text")).scalars().all()
    counts: dict[str, int] = {}
    for t in texts:
        for bigram in {t[i:i + 2] for i in range(len(t) - 1)}:
            if all("\u4e00" <= ch <= "\u9fff" for ch in bigram):
                counts[bigram] = counts.get(bigram, 0) + 1
    word = max(counts, key=counts.get)
    assert counts[word] > 2 * PAGE_SIZE // 2  # enough to page at least once
    return word


def _message(msgid: str, text: str, msgtime: int, sender="zhangwei", to="lina", roomid=""):
    body = {"msgid": msgid, "action": "send", "from": sender, "tolist": [to], "roomid": roomid,
            "msgtime": msgtime, "msgtype": "text", "text": {"content": text}}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def local_ms(y, m, d, h=0, mi=0) -> int:
    return QDateTime(QDate(y, m, d), QTime(h, mi)).toMSecsSinceEpoch()


@pytest.fixture
def crafted(tmp_path):
    """A writable archive with hand-written messages (the demo archive is shared and read-only)."""
    ctx, corp = make_crafted(tmp_path)
    yield ctx, corp
    ctx.close()


def make_crafted(tmp_path):
    ctx = AppContext(tmp_path / "data")
    corp = ensure_corp(ctx.db, "wwcrafted", "Crafted")
    texts = [
        ("m1", "<b>x</b> 合同 <img src=http://example.invalid/a.png>", local_ms(2024, 1, 1, 10)),
        ("m2", "第一行\n合同第二行", local_ms(2024, 1, 2, 23, 59)),
        ("m3", "午夜的合同", local_ms(2024, 1, 3, 0, 0)),
        ("m4", "王芳发的合同", local_ms(2024, 1, 4)),
        ("m5", "前文" * 40 + "关键字" + "后文" * 40, local_ms(2024, 1, 5)),
    ]
    outcomes = []
    for seq, (msgid, text, t) in enumerate(texts, 1):
        sender = "wangfang" if msgid == "m4" else "zhangwei"
        raw = _message(msgid, text, t, sender=sender)
        p = parse_message(raw)
        outcomes.append(Decrypted(ChatDataItem(seq, p.msgid, 1, "k", "m"), raw, p))
    write_batch(ctx.db, corp, 0, len(texts), outcomes, None)
    from app.core.store.db import now_ms
    from app.core.store.models import Contact
    from app.core.sync.writer import insert_many

    with ctx.db.write() as conn:
        insert_many(conn, Contact.__table__, [
            {"id": ctx.db.ids.next_id(), "corp_id": corp, "userid": uid, "name": name, "kind": "staff",
             "organisation": "", "updated_at": now_ms()}
            for uid, name in {"zhangwei": "张伟", "wangfang": "王芳", "wangqiang": "王强", "lina": "李娜"}.items()])
    return ctx, corp


def make_panel(qtbot, ctx, show=False) -> SearchPanel:
    panel = SearchPanel(ctx, ACTOR)
    qtbot.addWidget(panel)
    if show:
        panel.resize(520, 600)
        panel.show()
        qtbot.waitExposed(panel)
    return panel


# ----------------------------------------------------------------------------- snippets


def test_snippet_is_one_line_around_the_first_match():
    text = "a" * 100 + "合同" + "b" * 100 + "合同"
    snippet, (start, end) = make_snippet(text, ((100, 102), (202, 204)))
    assert snippet == "…" + "a" * 30 + "合同" + "b" * 30 + "…"
    assert snippet[start:end] == "合同"
    snippet, (start, end) = make_snippet("第一行\n合同", ((4, 6),))
    assert snippet == "第一行 合同" and snippet[start:end] == "合同"
    assert make_snippet("short", ()) == ("short", None)
    # offsets outside the text (a stale hit) fall back to finding the keyword
    snippet, (start, end) = make_snippet("İİİ keyword", ((60, 67),), "keyword")
    assert snippet[start:end] == "keyword"


# ----------------------------------------------------------------------------- the model


def test_results_model_passes_the_model_tester(qtbot, qtmodeltester, app_ctx):
    model = SearchResultsModel(app_ctx.search, app_ctx.directory, ACTOR)
    keyword = common_keyword(app_ctx)
    with qtbot.waitSignal(model.page_loaded, timeout=15000):
        model.start(SearchRequest(keyword))
    assert model.rowCount() == PAGE_SIZE
    qtmodeltester.check(model)
    load_all(qtbot, model)
    assert model.rowCount() == len(direct_ids(app_ctx, keyword))


def test_keyword_finds_exactly_the_messages_that_contain_it(qtbot, app_ctx):
    panel = make_panel(qtbot, app_ctx)
    keyword = common_keyword(app_ctx)
    expected = direct_ids(app_ctx, keyword)
    count = run_search(qtbot, panel, keyword)
    assert count == len(expected)
    assert panel.status.text() == f"{count:,} results"
    assert panel.model.rowCount() == PAGE_SIZE  # one page until the view scrolls
    load_all(qtbot, panel.model)
    model = panel.model
    rows = [model.index(r, 0) for r in range(model.rowCount())]
    assert {i.data(SearchRole.MessageIdRole) for i in rows} == expected
    assert len(rows) == len(expected)  # no page twice
    times = [i.data(SearchRole.MsgTimeRole) for i in rows]
    assert times == sorted(times, reverse=True)
    for index in rows:
        snippet, (start, end) = index.data(SearchRole.SnippetRole), index.data(SearchRole.HighlightRole)
        assert snippet[start:end].lower() == keyword.lower()
        assert len(snippet) <= len(keyword) + 2 * 30 + 2


def test_a_new_search_supersedes_the_one_running(qtbot, app_ctx):
    panel = make_panel(qtbot, app_ctx)
    first = common_keyword(app_ctx)
    panel.query_edit.setText(first)
    panel.search()
    panel.query_edit.setText("合同")
    with qtbot.waitSignal(panel.count_finished, timeout=15000,
                          check_params_cb=lambda generation, n: generation == panel.model.generation) as done:
        panel.search()
    wait_idle(qtbot, panel.model)
    assert done.args[1] == len(direct_ids(app_ctx, "合同"))
    rows = [panel.model.index(r, 0) for r in range(panel.model.rowCount())]
    assert rows and all("合同" in i.data(SearchRole.SnippetRole) for i in rows)
    assert panel.status.text() in (f"{done.args[1]:,} results", "1 result")


def test_filters_by_type_session_type_and_sender(qtbot, app_ctx):
    panel = make_panel(qtbot, app_ctx)
    panel.msgtype_combo.setCurrentIndex(panel.msgtype_combo.findData("file"))
    panel.session_type_combo.setCurrentIndex(panel.session_type_combo.findData("external"))
    count = run_search(qtbot, panel, "")
    with app_ctx.db.read() as conn:
        expected = conn.execute(select(func.count()).select_from(Message).where(
            Message.msgtype == "file", Message.session_type == "external")).scalar()
    assert count == expected > 0
    rows = [panel.model.index(r, 0) for r in range(panel.model.rowCount())]
    assert all(i.data(SearchRole.MsgTypeRole) == "file" and i.data(SearchRole.SessionTypeRole) == "external"
               for i in rows)
    # the type combo shows labels, not msgtypes
    assert panel.msgtype_combo.currentText() == LABELS["file"][1]


def test_sender_by_name_or_id(qtbot, crafted):
    ctx, _corp = crafted
    panel = make_panel(qtbot, ctx)
    panel.sender_edit.setText("王芳")  # a name: resolved to the id through the directory
    assert run_search(qtbot, panel, "合同") == 1
    assert panel.model.index(0, 0).data(SearchRole.SenderRole) == "wangfang"
    panel.sender_edit.setText("王芳 (wangfang)")  # what the completer inserts
    assert panel.request().text == "(合同) from:wangfang"
    panel.sender_edit.setText("zhangwei")
    assert run_search(qtbot, panel) == 3
    panel.sender_edit.setText("王")  # 王芳 and 王强: ambiguous, said inline
    with qtbot.assertNotEmitted(panel.search_started):
        assert not panel.search()
    assert panel.message.isVisible() or not panel.message.isHidden()
    assert "王" in panel.message.text() and "2" in panel.message.text()


def test_date_range_includes_both_whole_days(qtbot, crafted):
    ctx, _corp = crafted
    panel = make_panel(qtbot, ctx)
    panel.from_check.setChecked(True)
    panel.to_check.setChecked(True)
    panel.from_date.setDate(QDate(2024, 1, 1))
    panel.to_date.setDate(QDate(2024, 1, 2))
    assert run_search(qtbot, panel, "合同") == 2
    texts = {panel.model.index(r, 0).data(SearchRole.SnippetRole) for r in range(2)}
    assert any("第二行" in t for t in texts) and not any("午夜" in t for t in texts)


def test_end_date_before_start_date_is_said_inline(qtbot, crafted):
    ctx, _corp = crafted
    panel = make_panel(qtbot, ctx, show=True)
    run_search(qtbot, panel, "合同")
    assert panel.model.rowCount() == 4
    panel.from_check.setChecked(True)
    panel.to_check.setChecked(True)
    panel.from_date.setDate(QDate(2024, 1, 3))
    panel.to_date.setDate(QDate(2024, 1, 2))
    with qtbot.assertNotEmitted(panel.search_started):
        qtbot.mouseClick(panel.search_button, Qt.MouseButton.LeftButton)
    assert panel.message.isVisible()
    assert panel.message.text() == "The end date is before the start date."
    assert panel.model.rowCount() == 0 and panel.status.text() == ""  # no hits the form no longer describes
    # fixing the dates searches again and hides the message
    panel.to_date.setDate(QDate(2024, 1, 5))
    run_search(qtbot, panel)
    assert panel.message.isHidden() and panel.model.rowCount() == 2


def test_an_empty_form_is_said_inline(qtbot, crafted):
    ctx, _corp = crafted
    panel = make_panel(qtbot, ctx)
    with qtbot.assertNotEmitted(panel.search_started):
        assert not panel.search()
    assert panel.message.text() and not panel.message.isHidden()


def test_html_in_a_message_shows_literally(qtbot, crafted):
    ctx, _corp = crafted
    panel = make_panel(qtbot, ctx, show=True)
    run_search(qtbot, panel, "<b>x</b>")
    index = panel.model.index(0, 0)
    option = QStyleOptionViewItem()
    option.initFrom(panel.results)
    option.rect = panel.results.visualRect(index)
    drawn = "".join(panel.delegate.display_texts(option, index)[2:])
    assert drawn.startswith("<b>x</b> 合同 <img")
    assert panel.delegate.display_texts(option, index)[3] == "<b>x</b>"  # the highlighted part
    tip = index.data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;x&lt;/b&gt;" in tip and "<img" not in tip
    panel.results.grab()  # paints through the delegate without errors


def test_a_narrow_row_keeps_the_match_in_sight(qtbot, crafted):
    ctx, _corp = crafted
    panel = make_panel(qtbot, ctx, show=True)
    run_search(qtbot, panel, "关键字")
    index = panel.model.index(0, 0)
    assert index.data(SearchRole.SnippetRole) == "…" + "前文" * 15 + "关键字" + "后文" * 15 + "…"
    option = QStyleOptionViewItem()
    option.initFrom(panel.results)
    option.rect = panel.results.visualRect(index)
    option.rect.setWidth(160)
    header, meta, before, match, after = panel.delegate.display_texts(option, index)
    assert match == "关键字"
    assert before.startswith("…") and before.endswith("前文") and after.startswith("后文") and after.endswith("…")
    metrics = panel.results.fontMetrics()
    assert metrics.horizontalAdvance(before + match + after) <= 160


def test_click_and_enter_emit_result_activated(qtbot, crafted):
    ctx, corp = crafted
    panel = make_panel(qtbot, ctx, show=True)
    run_search(qtbot, panel, "合同")
    view, model = panel.results, panel.model
    first = model.index(0, 0)
    with qtbot.waitSignal(panel.result_activated) as activated:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(first).center())
    assert activated.args == [corp, first.data(SearchRole.SessionIdRole), first.data(SearchRole.MessageIdRole)]
    assert activated.args[2] > 2**32  # snowflake ids survive the signal
    second = model.index(1, 0)
    view.setCurrentIndex(second)
    with qtbot.waitSignal(panel.result_activated) as activated:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert activated.args[2] == second.data(SearchRole.MessageIdRole)


def test_focus_search_puts_the_cursor_in_the_keyword_box(qtbot, crafted):
    ctx, _corp = crafted
    panel = make_panel(qtbot, ctx, show=True)
    panel.query_edit.setText("old words")
    panel.sender_edit.setFocus()
    panel.focus_search()
    assert panel.focusWidget() is panel.query_edit
    assert panel.query_edit.selectedText() == "old words"


# ----------------------------------------------------------------------------- the query language


def engine_ids(ctx, text: str) -> set[int]:
    """Every hit of ``text`` as SearchService.query returns them (the engine's own answer)."""
    hits = ctx.search.query(ACTOR, text, limit=1_000_000)
    return {h.message.id for h in hits}


def shown_ids(qtbot, panel) -> list[int]:
    load_all(qtbot, panel.model)
    return [panel.model.index(r, 0).data(SearchRole.MessageIdRole) for r in range(panel.model.rowCount())]


def test_or_and_a_field_find_exactly_what_the_engine_finds(qtbot, app_ctx):
    panel = make_panel(qtbot, app_ctx)
    word = common_keyword(app_ctx)
    text = f"{word} OR 合同 type:text"
    count = run_search(qtbot, panel, text)
    ids = shown_ids(qtbot, panel)
    expected = engine_ids(app_ctx, text)
    with app_ctx.db.read() as conn:
        rows = conn.execute(select(Message.id, Message.content_text, Message.msgtype)).all()
    truth = {r.id for r in rows if r.msgtype == "text" and (word in r.content_text or "合同" in r.content_text)}
    assert set(ids) == expected == truth and len(ids) == len(truth) == count
    assert truth - direct_ids(app_ctx, word)  # the OR added hits of its second term
    assert panel.effective_edit.text() == f"({text})"
    # every shown hit highlights one of the two terms
    for r in range(panel.model.rowCount()):
        index = panel.model.index(r, 0)
        snippet, (start, end) = index.data(SearchRole.SnippetRole), index.data(SearchRole.HighlightRole)
        assert snippet[start:end] in (word, "合同")


def _filter_case(ctx):
    """(keyword, sender, session type, first day, last day) with hits in the demo archive."""
    word = common_keyword(ctx)
    with ctx.db.read() as conn:
        rows = conn.execute(select(Message.sender, Message.session_type, Message.msgtime, Message.content_text)
                            .where(Message.msgtype == "text")).all()
    rows = [r for r in rows if word in r.content_text]
    pairs: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        pairs.setdefault((r.sender, r.session_type), []).append(r.msgtime)
    (sender, stype), times = max(pairs.items(), key=lambda kv: len(kv[1]))
    times.sort()
    first = QDateTime.fromMSecsSinceEpoch(times[0]).date()
    last = QDateTime.fromMSecsSinceEpoch(times[len(times) // 2]).date()
    return word, sender, stype, first, last


def test_filters_write_the_same_fields_a_user_would_type(qtbot, app_ctx):
    word, sender, stype, first, last = _filter_case(app_ctx)
    days = f"date:{first.toString('yyyy-MM-dd')}..{last.toString('yyyy-MM-dd')}"
    panel = make_panel(qtbot, app_ctx)
    panel.query_edit.setText(word)
    panel.sender_edit.setText(sender)
    panel.msgtype_combo.setCurrentIndex(panel.msgtype_combo.findData("text"))
    panel.session_type_combo.setCurrentIndex(panel.session_type_combo.findData(stype))
    panel.from_check.setChecked(True)
    panel.to_check.setChecked(True)
    panel.from_date.setDate(first)
    panel.to_date.setDate(last)
    # the query the widgets make is shown as they change, before any search
    assert panel.effective_edit.text() == f"({word}) from:{sender} type:text session:{stype} {days}"
    by_widgets = run_search(qtbot, panel)
    widget_ids = shown_ids(qtbot, panel)

    typed = make_panel(qtbot, app_ctx)
    count = run_search(qtbot, typed, f"{word} from:{sender} type:text session:{stype} {days}")
    typed_ids = shown_ids(qtbot, typed)
    assert 0 < by_widgets == count == len(widget_ids)
    assert widget_ids == typed_ids  # the same hits, in the same order
    with app_ctx.db.read() as conn:
        filtered_out = conn.execute(select(func.count()).select_from(Message).where(
            Message.msgtype == "text", Message.sender != sender)).scalar()
    assert filtered_out  # the sender filter did narrow the search
    assert set(typed_ids) < direct_ids(app_ctx, word)


def test_a_filter_value_the_language_would_split_is_quoted(qtbot, crafted):
    ctx, _corp = crafted
    from app.core.search.query import Field
    from app.ui.search.syntax import compose_query

    odd = 'ext user,"1"|(x)\\'
    text = compose_query("合同 OR 发票", sender=odd, start="2024-01-01")
    assert text == '(合同 OR 发票) from:"ext user,\\"1\\"|(x)\\\\" date:2024-01-01..'
    assert Field("from", odd) in ctx.search.parse(text).items
    panel = make_panel(qtbot, ctx)
    panel.sender_edit.setText("someone unknown")  # not in the directory: searched as an id
    assert run_search(qtbot, panel, "合同") == 0
    assert panel.effective_edit.text() == '(合同) from:"someone unknown"'
    assert panel.message.isHidden() and panel.status.text() == "No messages found."


@pytest.mark.parametrize(("query", "position"), [
    ('合同 "退款', 3),  # an unclosed quote
    ("foo:bar", 0),  # an unknown field
    ("date:2025-13-01", 5),  # no month 13
    ("(合同 OR", 4),  # a dangling OR
])
def test_a_malformed_query_is_pointed_at_inline_and_shows_no_hits(qtbot, crafted, query, position):
    ctx, _corp = crafted
    panel = make_panel(qtbot, ctx, show=True)
    run_search(qtbot, panel, "合同")
    assert panel.model.rowCount() == 4
    panel.query_edit.setText(query)
    with qtbot.assertNotEmitted(panel.search_started):
        qtbot.keyClick(panel.query_edit, Qt.Key.Key_Return)
    assert panel.model.rowCount() == 0 and panel.status.text() == ""  # no stale hits, no "0 results"
    assert panel.message.isVisible() and panel.error_pointer.isVisible()
    assert f"at character {position + 1}:" in panel.message.text()
    line, caret = panel.error_pointer.text().split("\n")
    assert line == query and caret.strip(" \u3000") == "^"
    metrics = QFontMetrics(panel.error_pointer.font())
    caret_x, char_x = metrics.horizontalAdvance(caret[:-1]), metrics.horizontalAdvance(query[:position])
    assert abs(caret_x - char_x) <= metrics.horizontalAdvance(" ") / 2  # under the mistake, after CJK too
    assert panel.error_pointer.textFormat() == Qt.TextFormat.PlainText
    assert panel.query_edit.cursorPosition() == position
    assert query not in panel.history.queries
    # a good query again clears the error
    run_search(qtbot, panel, "合同")
    assert panel.message.isHidden() and panel.error_pointer.isHidden() and panel.model.rowCount() == 4


MALFORMED = ['合同 "退款', 'a ""', "foo:bar", "from:", "a -", "合同)", "(合同", "()", "OR 合同", "合同 AND",
             "NOT", "a - b", "session:private", "has:nothing", "is:read", "date:..", "date:2025-03-01..2025-01-01",
             "after:yesterday", "date:2025-13-01", "before:2025-02-30"]


def test_every_query_error_is_said_in_the_ui_language(crafted):
    ctx, _corp = crafted
    from app.ui.search.syntax import describe_error

    for query in MALFORMED:
        with pytest.raises(QueryError) as raised:
            ctx.search.parse(query)
        said = describe_error(raised.value)
        assert said != raised.value.message, f"no UI wording for {raised.value.message!r} ({query!r})"
        assert "{" not in said


def test_an_error_pointer_keeps_a_long_query_on_one_short_line(qtbot):
    from app.ui.search.syntax import error_pointer

    query = "合同 " * 60 + '"未闭合'
    metrics = QFontMetrics(QFont())
    pointer = error_pointer(query, len(query) - 4, metrics)
    assert pointer.line.startswith("…") and len(pointer.line) <= 2 * 40 + 2
    assert pointer.line[pointer.column] == '"'


def test_history_keeps_twenty_distinct_queries_across_restarts(qtbot, crafted):
    ctx, _corp = crafted
    panel = make_panel(qtbot, ctx, show=True)
    for text in ("合同", "午夜", "合同 OR 午夜", "合同"):
        run_search(qtbot, panel, text)
    panel.query_edit.setText('合同 "')  # malformed: not remembered
    assert not panel.search()
    panel.query_edit.clear()
    panel.sender_edit.setText("zhangwei")  # filters alone: nothing typed to remember
    run_search(qtbot, panel)
    assert panel.history.queries == ["合同", "合同 OR 午夜", "午夜"]
    path = ctx.paths.config_dir / "search_history.json"
    assert json.loads(path.read_text(encoding="utf-8"))["queries"] == ["合同", "合同 OR 午夜", "午夜"]

    panel.close()
    again = make_panel(qtbot, ctx, show=True)  # as after a restart
    assert again.history_completer.model().stringList() == ["合同", "合同 OR 午夜", "午夜"]
    # Down in the box lists them all; typing filters them
    again.activateWindow()
    qtbot.waitActive(again)
    again.query_edit.setFocus()
    qtbot.keyClick(again.query_edit, Qt.Key.Key_Down)
    popup = again.history_completer.popup()
    qtbot.waitUntil(popup.isVisible)
    assert popup.model().rowCount() == 3
    # choosing one with Enter puts it in the box and searches it, once
    popup.setCurrentIndex(popup.model().index(1, 0))
    started: list[int] = []
    again.search_started.connect(started.append)
    with qtbot.waitSignal(again.count_finished, timeout=15000):
        qtbot.keyClick(again.windowHandle(), Qt.Key.Key_Return)  # routed to the popup, as real keys are
    assert again.query_edit.text() == "合同 OR 午夜" and again.model.request.text == "(合同 OR 午夜)"
    assert len(started) == 1 and again.history.queries[0] == "合同 OR 午夜"
    assert not popup.isVisible()
    # typing filters the list
    again.query_edit.clear()
    # typed as an input method would deliver it (QTest's keyClicks only knows ASCII)
    QApplication.sendEvent(again.query_edit, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_unknown,
                                                       Qt.KeyboardModifier.NoModifier, "午"))
    qtbot.waitUntil(popup.isVisible)
    assert {popup.model().index(r, 0).data() for r in range(popup.model().rowCount())} == {"午夜", "合同 OR 午夜"}
    qtbot.keyClick(again.windowHandle(), Qt.Key.Key_Escape)
    assert not popup.isVisible()
    wait_idle(qtbot, again.model)

    history = SearchHistory(path)
    for i in range(25):
        history.add(f"q{i}")
    assert SearchHistory(path).queries == [f"q{i}" for i in range(24, 4, -1)]


def test_an_unreadable_history_file_starts_empty(qtbot, crafted):
    ctx, _corp = crafted
    (ctx.paths.config_dir / "search_history.json").write_text("{not json", encoding="utf-8")
    panel = make_panel(qtbot, ctx)
    assert panel.history.queries == []
    run_search(qtbot, panel, "合同")
    assert SearchHistory.in_config_dir(ctx.paths.config_dir).queries == ["合同"]


def collapse_spaces(text: str) -> str:
    return re.sub(r"[ \u3000]+", " ", text)


def assert_explanations_line_up(help_text: str, metrics: QFontMetrics) -> None:
    """The "example      explanation" lines start their explanations at one x (the help is
    written for CJK two columns wide, which no font quite is)."""
    starts = []
    for line in help_text.splitlines()[:5]:  # 合同 发票 … (合同 OR 协议) 盖章
        gap = list(re.finditer(r"[ \u3000]{2,}", line))[-1]
        starts.append(metrics.horizontalAdvance(line[:gap.end()]))
    assert max(starts) - min(starts) <= metrics.horizontalAdvance(" ") / 2, starts


def test_syntax_help_is_the_engines_help_as_plain_text(qtbot, crafted):
    ctx, _corp = crafted
    from PySide6.QtWidgets import QPlainTextEdit

    from app.ui.search.syntax import SYNTAX_HELP_SOURCE

    assert SYNTAX_HELP_SOURCE == SYNTAX_HELP  # the UI's literal copy is the engine's help
    panel = make_panel(qtbot, ctx, show=True)
    qtbot.mouseClick(panel.help_button, Qt.MouseButton.LeftButton)
    dialog = panel._help
    qtbot.waitExposed(dialog)
    assert isinstance(dialog.text, QPlainTextEdit) and dialog.text.isReadOnly()  # never rendered as HTML
    shown = dialog.text.toPlainText()
    assert collapse_spaces(shown).startswith(collapse_spaces(SYNTAX_HELP))
    assert '"退款 申请"' in shown and "from:ID  to:ID" in shown
    assert_explanations_line_up(shown, QFontMetrics(dialog.text.font()))
    assert panel.show_syntax_help() is dialog  # one popup, reused
    dialog.close()


def test_in_chinese_the_help_errors_and_labels_are_translated(qtbot, crafted, zh_translator):
    ctx, _corp = crafted
    panel = make_panel(qtbot, ctx, show=True)
    assert panel.order_combo.itemText(0) == "最新在前"
    dialog = panel.show_syntax_help()
    assert collapse_spaces(dialog.text.toPlainText()).startswith("合同 发票 两个词都要有")
    assert_explanations_line_up(dialog.text.toPlainText(), QFontMetrics(dialog.text.font()))
    dialog.close()
    panel.query_edit.setText("foo:bar")
    assert not panel.search()
    assert panel.message.text().startswith("查询第 1 个字符处有误：未知字段“foo:”")


class _TableTranslator(QTranslator):
    """Translations straight from the zh_CN JSON catalogue (no .qm build needed)."""

    def __init__(self, table: dict[str, dict[str, str]]):
        super().__init__()
        self.table = table

    def translate(self, context, source, disambiguation=None, n=-1):
        # Unknown: the source itself, as a .qm's fallback gives (an empty string would show empty:
        # PySide's tr() asks every base class's context in turn for a text that differs).
        return self.table.get(context, {}).get(source, source)

    def isEmpty(self):
        return False


@pytest.fixture
def zh_translator(qapp):
    table: dict[str, dict[str, str]] = {}
    for path in (ROOT / "resources/i18n/zh_CN").glob("*.json"):
        for context, entries in json.loads(path.read_text(encoding="utf-8")).items():
            table.setdefault(context, {}).update(entries)
    translator = _TableTranslator(table)
    qapp.installTranslator(translator)
    yield translator
    qapp.removeTranslator(translator)


def test_changing_the_order_pages_through_every_hit_in_that_order(qtbot, app_ctx):
    panel = make_panel(qtbot, app_ctx)
    word = common_keyword(app_ctx)
    expected = direct_ids(app_ctx, word)
    run_search(qtbot, panel, word)
    with qtbot.waitSignal(panel.count_finished, timeout=15000):
        panel.order_combo.setCurrentIndex(panel.order_combo.findData("oldest"))  # searches again
    ids = shown_ids(qtbot, panel)
    assert len(ids) == len(set(ids)) and set(ids) == expected
    rows = [panel.model.index(r, 0) for r in range(panel.model.rowCount())]
    keys = [(i.data(SearchRole.MsgTimeRole), i.data(SearchRole.MessageIdRole)) for i in rows]
    assert keys == sorted(keys)

    with qtbot.waitSignal(panel.count_finished, timeout=15000):
        panel.order_combo.setCurrentIndex(panel.order_combo.findData("session"))
    ids = shown_ids(qtbot, panel)
    assert len(ids) == len(set(ids)) and set(ids) == expected
    rows = [panel.model.index(r, 0) for r in range(panel.model.rowCount())]
    sessions = [i.data(SearchRole.SessionIdRole) for i in rows]
    runs = [s for k, s in enumerate(sessions) if k == 0 or sessions[k - 1] != s]
    assert len(runs) == len(set(runs)) > 1  # each conversation's hits together
    for sid in set(sessions):
        times = [i.data(SearchRole.MsgTimeRole) for i in rows if i.data(SearchRole.SessionIdRole) == sid]
        assert times == sorted(times, reverse=True)


# ----------------------------------------------------------------------------- translations


def _extracted(tmp_path) -> dict[str, set[str]]:
    """{context: sources} as pyside6-lupdate extracts them from the session and search packages
    (what the translation build turns into the .qm: a string it cannot see is never translated)."""
    import shutil
    import subprocess
    import sys
    import xml.etree.ElementTree as ET

    exe = Path(sys.executable).parent / "pyside6-lupdate"
    lupdate = str(exe) if exe.exists() else shutil.which("pyside6-lupdate")
    assert lupdate, "pyside6-lupdate ships with PySide6, a dependency: the install is broken"
    files = sorted(str(f) for d in ("app/ui/sessions", "app/ui/search") for f in (ROOT / d).glob("*.py"))
    ts = tmp_path / "out.ts"
    subprocess.run([lupdate, *files, "-ts", str(ts)], check=True, capture_output=True)
    found: dict[str, set[str]] = {}
    for context in ET.parse(ts).getroot().iter("context"):
        found.setdefault(context.findtext("name"), set()).update(m.findtext("source") for m in context.iter("message"))
    return found


def test_every_string_is_extracted_and_has_a_chinese_translation(tmp_path):
    from app.ui.search.model import MSGTYPE_LABELS, msgtype_label

    assert {k: en for k, (_zh, en) in LABELS.items()} == MSGTYPE_LABELS  # the catalogue's labels, all of them
    table = json.loads((ROOT / "resources/i18n/zh_CN/sessions_search.json").read_text(encoding="utf-8"))
    extracted = _extracted(tmp_path)
    # msgtype labels come from the registry in both languages, not through Qt's translation
    app = QApplication.instance()
    app.setProperty("ui_language", "zh_CN")
    try:
        assert [msgtype_label(t) for t in MSGTYPE_LABELS] == [zh for zh, _en in LABELS.values()]
    finally:
        app.setProperty("ui_language", None)
    assert [msgtype_label(t) for t in MSGTYPE_LABELS] == [en for _zh, en in LABELS.values()]
    assert SYNTAX_HELP in extracted["SearchPanel"]  # lupdate reads the multi-line literal as Python does
    assert {"Internal", "External contacts", "Groups", "Up/downstream", "System records", ", "} \
        <= extracted["SessionTreeModel"]
    for context, sources in extracted.items():
        missing = sources - set(table.get(context, {}))
        assert not missing, f"{context}: no translation for {sorted(missing)}"
        for source in sources:
            placeholders = set(re.findall(r"\{\w+\}", source))
            assert set(re.findall(r"\{\w+\}", table[context][source])) == placeholders, source
    unused = {(c, s) for c, entries in table.items() for s in entries if s not in extracted.get(c, set())}
    assert not unused, f"translations no code uses: {sorted(unused)}"
