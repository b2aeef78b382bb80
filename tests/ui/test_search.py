"""The search panel: exact hits, snippets, paging, supersession, activation, plain text, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, QDateTime, QModelIndex, Qt, QTime
from PySide6.QtWidgets import QStyleOptionViewItem
from sqlalchemy import func, select

from app.core.actor import Actor
from app.core.context import AppContext
from app.core.messages import LABELS, parse_message
from app.core.sdk import ChatDataItem
from app.core.search import SearchQuery
from app.core.store.models import Message
from app.core.sync.decrypt import Decrypted
from app.core.sync.pipeline import ensure_corp
from app.core.sync.writer import write_batch
from app.ui.search import SearchPanel, SearchResultsModel, SearchRole, make_snippet
from app.ui.search.model import PAGE_SIZE

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

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
        panel.keyword_edit.setText(keyword)
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
        model.start(SearchQuery(keyword=keyword))
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
    panel.keyword_edit.setText(first)
    panel.search()
    panel.keyword_edit.setText("合同")
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
    assert panel.query().sender == "wangfang"
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
    panel.keyword_edit.setText("old words")
    panel.sender_edit.setFocus()
    panel.focus_search()
    assert panel.focusWidget() is panel.keyword_edit
    assert panel.keyword_edit.selectedText() == "old words"


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
    if not lupdate:
        pytest.skip("pyside6-lupdate is not installed")
    files = sorted(str(f) for d in ("app/ui/sessions", "app/ui/search") for f in (ROOT / d).glob("*.py"))
    ts = tmp_path / "out.ts"
    subprocess.run([lupdate, *files, "-ts", str(ts)], check=True, capture_output=True)
    found: dict[str, set[str]] = {}
    for context in ET.parse(ts).getroot().iter("context"):
        found.setdefault(context.findtext("name"), set()).update(m.findtext("source") for m in context.iter("message"))
    return found


def test_every_string_is_extracted_and_has_a_chinese_translation(tmp_path):
    from app.ui.search.model import MSGTYPE_LABELS

    assert {k: en for k, (_zh, en) in LABELS.items()} == MSGTYPE_LABELS  # the catalogue's labels, all of them
    table = json.loads((ROOT / "resources/i18n/zh_CN/sessions_search.json").read_text(encoding="utf-8"))
    extracted = _extracted(tmp_path)
    # strings shown through a variable must still be visible to lupdate
    assert set(MSGTYPE_LABELS.values()) <= extracted["SearchPanel"]
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
