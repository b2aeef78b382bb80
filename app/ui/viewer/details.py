"""Everything the archive holds about one message: fields, the raw JSON as received, its SHA-256.

The raw JSON is shown twice: pretty-printed for reading, and as the exact stored text (decoded as
UTF-8; a hex dump below for bytes that do not show as text). Characters that could disguise what a
reader sees (bidi overrides, invisible format characters, controls) are shown as visible escapes in
every tab but the hex dump: ``\u202e`` in the pretty JSON, ``⟨U+202E⟩`` elsewhere; "Copy raw JSON"
copies the stored bytes as they are. "Verify" recomputes the SHA-256 of the stored bytes and
compares it with the digest recorded at ingestion.

Opening the dialog shows a person the raw JSON, so it reads the message through
``ArchiveService.view_message(..., raw=True)``: one ``message.raw`` entry in the audit trail per
dialog. A refusal (outside the account's scope) or a trail that cannot be written shows a notice
instead of the message.
"""

from __future__ import annotations

import hashlib
import json

from PySide6.QtCore import QDateTime, Qt, QTimeZone
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.actor import Actor
from app.core.archive import MediaRow, MessageDetail
from app.core.auth import AuditTrailError, PermissionDenied
from app.core.messages import MessageParseError, parse_message
from app.core.safe_text import display_name, display_text, json_line
from app.ui.language import error_sentence

from .render import format_size

HEX_LIMIT = 256 * 1024  # a hex dump of more than this is cut (the exact text view has everything)


def _plain_label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _mono_view(text: str, parent: QWidget) -> QPlainTextEdit:
    view = QPlainTextEdit(parent)
    view.setReadOnly(True)
    view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
    view.setPlainText(text)
    return view


def exact_text(raw: bytes) -> str:
    """The stored bytes as text, byte for byte (undecodable bytes as U+FFFD; the hex view is exact)."""
    return raw.decode("utf-8", errors="replace")


def shown_text(raw: bytes) -> str:
    """:func:`exact_text` for the screen: line breaks kept, deceptive characters as ``⟨U+XXXX⟩``."""
    return display_text(exact_text(raw))


def pretty_json(raw: bytes) -> str:
    """Indented JSON; the characters display_name escapes are written as JSON escapes (``\u202e``),
    so the text still parses to the same value."""
    try:
        return json_line(json.loads(raw), indent=2)
    except (ValueError, RecursionError):
        return shown_text(raw)


def hex_dump(raw: bytes, limit: int = HEX_LIMIT) -> str:
    lines = []
    for off in range(0, min(len(raw), limit), 16):
        chunk = raw[off:off + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        ascii_ = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hexes:<47}  {ascii_}")
    if len(raw) > limit:
        lines.append(f"… {len(raw) - limit} more bytes")
    return "\n".join(lines)


def format_msgtime(ms: int) -> str:
    """"2025-01-02 10:00:05.123 +08:00 (Asia/Shanghai) · 2025-01-02 02:00:05.123 UTC · 1735783205123 ms"."""
    local = QDateTime.fromMSecsSinceEpoch(ms)
    utc = QDateTime.fromMSecsSinceEpoch(ms, QTimeZone.utc())
    zone = QTimeZone.systemTimeZone()
    offset = zone.offsetFromUtc(local) // 60
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset), 60)
    zone_id = bytes(zone.id().data()).decode("ascii", "replace") if zone.isValid() else ""
    return (f"{local.toString('yyyy-MM-dd HH:mm:ss.zzz')} {sign}{hours:02d}:{minutes:02d}"
            + (f" ({zone_id})" if zone_id else "")
            + f" · {utc.toString('yyyy-MM-dd HH:mm:ss.zzz')} UTC · {ms} ms")


class MessageDetailsDialog(QDialog):
    """The details of one stored message. Loads its data synchronously: one row by primary key, and
    the ``message.raw`` audit entry. ``refusal``: the core's reason when it refused (else None)."""

    def __init__(self, ctx, actor: Actor, message_id: int, parent=None):
        super().__init__(parent)
        self.ctx, self.actor, self.message_id = ctx, actor, message_id
        self.setWindowTitle(self.tr("Message details"))
        self.resize(860, 720)
        self.refusal: str | None = None
        text = self.tr("This message is not in the archive.")
        try:
            self.detail: MessageDetail | None = ctx.archive.view_message(actor, message_id=message_id, raw=True)
        except PermissionDenied as exc:  # nothing of the message is shown
            self.detail, self.refusal = None, error_sentence(exc)
            text = self.tr("This message cannot be shown to your account: {reason}").format(reason=self.refusal)
        except AuditTrailError as exc:  # a view that cannot be recorded does not happen
            self.detail, self.refusal = None, str(exc)
            text = self.tr("This message cannot be shown: {reason}").format(reason=str(exc))
        layout = QVBoxLayout(self)
        if self.detail is None:
            layout.addWidget(_plain_label(text, self))
            self.raw_exact = self.raw_pretty = None
            self.sha_label = self.verify_label = None
            buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
            buttons.rejected.connect(self.reject)
            layout.addWidget(buttons)
            return
        self.media: list[MediaRow] = self._media_rows()
        tabs = QTabWidget(self)
        tabs.addTab(self._fields_tab(), self.tr("Fields"))
        self.raw_pretty = _mono_view(pretty_json(self.detail.raw_json), self)
        self.raw_exact = _mono_view(shown_text(self.detail.raw_json), self)
        self.raw_hex = _mono_view(hex_dump(self.detail.raw_json), self)
        tabs.addTab(self.raw_pretty, self.tr("Raw JSON (formatted)"))
        tabs.addTab(self.raw_exact, self.tr("Raw JSON (exact bytes)"))
        tabs.addTab(self.raw_hex, self.tr("Hex"))
        tabs.addTab(self._media_tab(), self.tr("Media ({n})").format(n=len(self.media)))
        self.tabs = tabs
        layout.addWidget(tabs)

        sha_row = QHBoxLayout()
        sha_row.addWidget(_plain_label(self.tr("SHA-256:"), self))
        self.sha_label = _plain_label(self.detail.raw_sha256, self)
        self.sha_label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        sha_row.addWidget(self.sha_label, 1)
        self.verify_button = QPushButton(self.tr("Verify"), self)
        self.verify_button.clicked.connect(self.verify)
        sha_row.addWidget(self.verify_button)
        layout.addLayout(sha_row)
        self.verify_label = _plain_label("", self)
        layout.addWidget(self.verify_label)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = buttons.addButton(self.tr("Copy raw JSON"), QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_raw)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _media_rows(self) -> list[MediaRow]:
        try:
            return self.ctx.archive.media_of(self.actor, self.message_id)
        except Exception:  # shown as none rather than losing the rest of the details
            return []

    # ------------------------------------------------------------------ tabs
    def _fields_tab(self) -> QWidget:
        d = self.detail
        row = d.row
        directory = self.ctx.directory
        page = QWidget(self)
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        def who(userid: str) -> str:
            name = directory.name(self.actor, row.corp_id, userid) if userid else None
            return f"{display_name(name)} ({display_name(userid)})" if name else display_name(userid)

        def add(label: str, value: str) -> None:
            form.addRow(_plain_label(label, page), _plain_label(value, page))

        add(self.tr("msgid"), display_name(row.msgid))
        add(self.tr("seq"), str(row.seq))
        add(self.tr("Public key version"), str(d.publickey_ver))
        add(self.tr("action"), display_name(row.action))
        add(self.tr("From"), who(row.sender))
        add(self.tr("To"), "\n".join(who(t) for t in row.tolist) or "—")
        add(self.tr("roomid"), (f"{who(row.roomid)}" if row.roomid else "—"))
        add(self.tr("msgtime"), format_msgtime(row.msgtime))
        add(self.tr("msgtype"), display_name(row.msgtype) + ("" if row.supported else " " + self.tr("(not supported)")))
        add(self.tr("Session"), f"{display_name(row.session_id) or '—'} ({row.session_type or '—'})")
        if row.recalled_at:
            add(self.tr("Recalled"), self.tr("Recalled at {time}").format(time=format_msgtime(row.recalled_at)))
        if row.recalled_msgid:
            add(self.tr("Recalls message"), display_name(row.recalled_msgid))
        add(self.tr("Stored size"), self.tr("{n} bytes").format(n=len(d.raw_json)))
        try:
            parsed = parse_message(d.raw_json)
        except MessageParseError as exc:
            parsed = None
            add(self.tr("Parse problems"), display_text(error_sentence(exc)))
        if parsed is not None:
            if parsed.problems:
                add(self.tr("Parse problems"), display_text("\n".join(parsed.problems)))
            text = getattr(parsed.content, "content", None)
            if isinstance(text, str) and text:
                content = QPlainTextEdit(page)  # selectable, and never rich text
                content.setReadOnly(True)
                content.setPlainText(display_text(text))
                content.setMinimumHeight(120)
                form.addRow(_plain_label(self.tr("Content"), page), content)
        return page

    def _media_tab(self) -> QWidget:
        headers = [self.tr("Where"), self.tr("Kind"), self.tr("File name"), self.tr("Status"), self.tr("Size"),
                   self.tr("MD5 matched"), self.tr("SHA-256"), self.tr("Last error")]
        table = QTableWidget(len(self.media), len(headers), self)
        table.setHorizontalHeaderLabels(headers)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        table.horizontalHeader().setStretchLastSection(True)
        yes, no = self.tr("yes"), self.tr("no")
        for r, m in enumerate(self.media):
            size = m.stored_size if m.stored_size is not None else m.declared_size
            values = [display_name(m.ref_path), display_name(m.kind), display_name(m.filename), m.status,
                      format_size(size), "" if m.md5_matched is None else (yes if m.md5_matched else no),
                      m.sha256 or "", display_text(m.last_error, one_line=True)]
            for c, v in enumerate(values):
                item = QTableWidgetItem(v)  # item text is plain; tooltips are not set
                table.setItem(r, c, item)
        table.resizeColumnsToContents()
        self.media_table = table
        return table

    # ------------------------------------------------------------------ actions
    def verify(self) -> bool:
        """Recompute the SHA-256 of the stored bytes; True when it matches the recorded digest."""
        actual = hashlib.sha256(self.detail.raw_json).hexdigest()
        ok = actual == self.detail.raw_sha256
        if ok:
            self.verify_label.setText(self.tr("Match: the stored JSON has the SHA-256 recorded when it was archived."))
        else:
            self.verify_label.setText(self.tr("MISMATCH: the stored JSON now hashes to {sha}").format(sha=actual))
        self.verify_label.setStyleSheet("" if ok else "color: #c62828; font-weight: bold;")
        return ok

    def copy_raw(self) -> None:
        QGuiApplication.clipboard().setText(exact_text(self.detail.raw_json))
