"""The window shows deceptive names, ids, file names and text with visible escapes: the session tree,
the viewer's bubbles (file names, senders, text), the details dialog, search results and the audit
log. Uses the deceptive message of the export fixture archive (tests/export/conftest.py)."""

from __future__ import annotations

import json
import os
import re

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.core.actor import Actor  # noqa: E402
from app.core.auth.roles import ROLES  # noqa: E402

ACTOR = Actor("os:tester", roles=frozenset(ROLES), workstation="test-host")
RAW = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200f\x00-\x08\x0b-\x1f\x7f-\x9f]")


class _Names:
    """A directory whose display names deceive."""

    def labels(self, actor, corp_id, ids):
        return [f"张\u202e伟 {i}" if i.startswith("a") else i for i in ids]

    def label(self, actor, corp_id, userid):
        return self.labels(actor, corp_id, [userid])[0]

    def name(self, actor, corp_id, userid):
        return "项目\u2066群\u2069\n第二行" if userid.startswith("room") else None

    def corp_tag(self, actor, corp_id, userid):
        return "@蓝\u202e鲸" if userid.startswith("a") else ""

    def avatar(self, actor, corp_id, userid):
        return None


def test_session_tree_titles_and_members():
    from app.core.archive import SessionRow
    from app.ui.sessions.model import SessionReader, TitleFormat

    reader = SessionReader(None, _Names(), ACTOR)
    row = SessionRow(1, "s\u202e1", "internal", "", ("alice", "wm\u202eevil\nid"), 0, 0, 3)
    entry = reader.entry(row, TitleFormat())
    assert entry.title == "张⟨U+202E⟩伟 alice @蓝⟨U+202E⟩鲸, wm⟨U+202E⟩evil⟨U+000A⟩id"  # a corp tag too
    assert not RAW.search(entry.title) and not RAW.search(entry.members)
    room = reader.entry(SessionRow(1, "s2", "group", "room1", ("alice",), 0, 0, 1), TitleFormat())
    assert room.title == "项目⟨U+2066⟩群⟨U+2069⟩⟨U+000A⟩第二行"


def test_viewer_blocks_of_the_deceptive_file_message(ctx, info, qapp):
    from app.core.messages import parse_message
    from app.ui.viewer.render import MediaBlock, MessageRenderer

    detail = ctx.archive.message(ACTOR, msgid=info["deceptive_msgid"])
    media = ctx.archive.media_of(ACTOR, detail.row.id)
    rendered = MessageRenderer(label=lambda u: u).render(detail.row, parse_message(detail.raw_json), media)
    (block,) = [b for b in rendered.blocks if isinstance(b, MediaBlock)]
    assert block.name == "⟨U+202E⟩gpj.exe"  # not "exe.jpg"
    assert "open" not in block.offered  # an .exe is only ever saved


def test_viewer_text_keeps_lines_and_emoji(qapp):
    from app.core.messages import parse_message
    from app.ui.viewer.render import MessageRenderer, SystemBlock, TextBlock

    raw = json.dumps({"msgid": "m", "action": "send", "from": "a", "tolist": ["b"], "roomid": "", "msgtime": 1,
                      "msgtype": "text", "text": {"content": "第一行\n\u202e第二行 😀\x1b[2J"}}).encode()
    (block,) = MessageRenderer().blocks_of("text", parse_message(raw).content, "", {}, 0)
    assert isinstance(block, TextBlock) and block.text == "第一行\n⟨U+202E⟩第二行 😀⟨U+001B⟩[2J"
    assert SystemBlock("x\u202ey").text == "x⟨U+202E⟩y"


def test_viewer_sender_labels(ctx, qapp):
    from app.ui.viewer.model import MessageListModel

    model = MessageListModel(ctx.archive, _Names(), ACTOR)
    model.corp_id = 1
    assert model.label("alice") == "张⟨U+202E⟩伟 alice"


def test_details_dialog(ctx, info, qtbot):
    from PySide6.QtWidgets import QLabel

    from app.ui.viewer.details import MessageDetailsDialog

    detail = ctx.archive.message(ACTOR, msgid=info["deceptive_msgid"])
    dialog = MessageDetailsDialog(ctx, ACTOR, detail.row.id)
    qtbot.addWidget(dialog)
    shown = "\n".join(lbl.text() for lbl in dialog.findChildren(QLabel))
    assert "wm⟨U+202E⟩DI-lacigol⟨U+000A⟩fake" in shown
    assert not RAW.search(shown.replace("\n", ""))
    assert not RAW.search(dialog.raw_exact.toPlainText().replace("\n", ""))
    assert not RAW.search(dialog.raw_pretty.toPlainText().replace("\n", ""))
    assert json.loads(dialog.raw_pretty.toPlainText()) == json.loads(detail.raw_json)  # still the same JSON
    table = dialog.media_table
    names = [table.item(r, 2).text() for r in range(table.rowCount())]
    assert names == ["⟨U+202E⟩gpj.exe"]


def test_search_result_rows(ctx, qapp):
    from app.core.archive import MessageRow
    from app.core.search.model import SearchHit
    from app.ui.search.model import SearchReader, shown_snippet

    m = next(iter(ctx.archive.messages(ACTOR, limit=1)))
    text = "前文 \u202eabc HIT\u200b 后文"
    hostile = MessageRow(**{**m.__dict__, "sender": "alice", "roomid": "room1", "content_text": text})
    start = text.index("HIT")
    entry = SearchReader(None, _Names(), ACTOR).entry(SearchHit(hostile, ((start, start + 3),)), "newest", " → ")
    assert entry.header == "张⟨U+202E⟩伟 alice → 项目⟨U+2066⟩群⟨U+2069⟩⟨U+000A⟩第二行"
    a, b = entry.highlight
    assert entry.snippet[a:b] == "HIT" and "⟨U+202E⟩abc" in entry.snippet and "⟨U+200B⟩" in entry.snippet
    assert shown_snippet("x\u202ey", None) == ("x⟨U+202E⟩y", None)


def test_audit_log_rows(qapp):
    from app.core.auth.audit import AuditRecord
    from app.ui.auth.audit_panel import AuditLogModel

    record = AuditRecord(seq=1, at=0, account_id=None, account="os:\u202eevil", action="export.start",
                         object_type="selection", object='{"msgids": ["wm\u202ex\nfake"]}', outcome="ok",
                         workstation="pc\u200b", login_id="", detail={"path": "\u202epkg"}, prev_hash="", entry_hash="")
    model = AuditLogModel()
    assert model._display(record, "account") == "os:⟨U+202E⟩evil"
    assert model._display(record, "object") == '{"msgids": ["wm⟨U+202E⟩x fake"]}'
    assert model._display(record, "workstation") == "pc⟨U+200B⟩"
    assert model._display(record, "action") == "Evidence export started"


@pytest.mark.parametrize("value", ["\u202egpj.exe", "a\nb", "\x1b]0;title\x07", "x\u2066y\u2069"])
def test_media_block_names_are_one_visible_line(value, qapp):
    from app.ui.viewer.render import MediaBlock

    block = MediaBlock("file", "file", None, value, "", "", ())
    assert not RAW.search(block.name) and "\n" not in block.name


def test_a_declared_extension_cannot_hide_an_executable_name(qapp):
    """A message may declare fileext "pdf" for a file named "x.exe": the opened copy is named after
    the file name, so "Open" is offered only when neither extension is one the desktop would run."""
    from app.ui.viewer.render import _file_actions

    assert _file_actions("pdf", "\u202efdp.exe") == ("save",)
    assert _file_actions("html", "invoice.pdf") == ("save",)
    assert _file_actions("", "page.svg") == ("save",)
    assert _file_actions("pdf", "invoice.pdf") == ("open", "save")
