"""The CSV load file for review tools: one row per message and one per media file of a message.

Values are shown as a person should see them, not byte for byte (the exact values are in each
message's JSON, ``native_path``): ids, names and file names pass through
:func:`app.core.safe_text.display_name` (a right-to-left override or a line break becomes a visible
``⟨U+202E⟩``), message text through :func:`display_text` (line breaks kept), and a cell that a
spreadsheet would take for a formula (= + - @ tab CR at its start) gets a leading ``'``.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from typing import TextIO

from app.core.safe_text import display_name, display_text, spreadsheet_cell

# Reviewers' annotations (app/core/review/evidence.py), after the message's own columns and apart
# from them: tags (";"-joined, "(会话 session)" when the conversation carries it), status, who set
# it or marked it reviewed and when, notes ("author time: text", one a line), alerts.
REVIEW_COLUMNS = ("review_tags", "review_status", "reviewed_by", "reviewed_at", "review_notes", "review_alerts")
COLUMNS = ("record_type", "message_id", "seq", "conversation_id", "conversation_type", "sender", "sender_name",
           "sender_name_now", "sender_corp", "recipients", "recipient_names", "recipient_corps", "roomid",
           "group_name", "time", "msgtype", "text", "recalled", "hit", "native_path", "native_sha256", "media_ref",
           "media_kind", "original_filename", "media_status", "wecom_md5sum", "md5_matched",
           *REVIEW_COLUMNS)
# Names are those held at the message's time (app/core/directory/names.py); ``sender_name_now`` is
# today's name where it differs; the *_corps columns hold an external contact's corp ("微信" for a
# WeChat user), "" for staff; lists are joined with ";" in the order of ``recipients``.


_TEXT_COLUMNS = frozenset({"text", "review_notes"})
_OUR_COLUMNS = frozenset({"record_type", "seq", "time", "recalled", "hit", "native_path", "native_sha256",
                   "md5_matched", "media_status"})  # written by us from hashes and flags


def _cell(column: str, value: object) -> object:
    if value is None or isinstance(value, int) or column in _OUR_COLUMNS:
        return value
    if column in _TEXT_COLUMNS:
        return spreadsheet_cell(display_text(value))
    return _name_cell(value) if isinstance(value, str) else spreadsheet_cell(display_name(value))


@lru_cache(maxsize=8192)
def _name_cell(value: str) -> str:
    # ids, names, types and times repeat on every row (most of the load file's time)
    return spreadsheet_cell(display_name(value))


_shown = lru_cache(maxsize=8192)(display_name)


def _names(names: dict | None) -> dict:
    if not names:
        return {}
    out = {k: names.get(k, "") for k in ("sender_name", "sender_name_now", "sender_corp", "group_name")}
    for k in ("recipient_names", "recipient_corps"):
        out[k] = ";".join(_shown(v) for v in names.get(k, ()))
    return out


_POSITION = {column: i for i, column in enumerate(COLUMNS)}


class LoadFileWriter:
    """Writes rows as they come (UTF-8 with BOM so spreadsheet programs read CJK text right).
    Values are neutralised for display (see the module docstring); recipients are joined with ``;``."""

    def __init__(self, f: TextIO):
        f.write("\ufeff")
        self._w = csv.writer(f, lineterminator="\r\n")
        self._w.writerow(COLUMNS)
        self.rows = 0

    def _row(self, values: dict) -> None:
        """One row: ``values`` by column name, each made safe (_cell), the columns not given empty."""
        row: list[object] = [""] * len(COLUMNS)
        for column, value in values.items():
            row[_POSITION[column]] = _cell(column, value)
        self._w.writerow(row)
        self.rows += 1

    def message(self, *, msgid: str, seq: int, session_id: str, session_type: str, sender: str,
                recipients: tuple[str, ...], roomid: str, time: str, msgtype: str, text: str, recalled: bool,
                hit: bool, native_path: str, native_sha256: str, names: dict | None = None,
                review: dict | None = None) -> None:
        """``names``: sender_name, sender_name_now, sender_corp, recipient_names, recipient_corps (lists
        aligned with ``recipients``) and group_name, as :func:`name_columns` makes them; ``review``:
        the REVIEW_COLUMNS (MessageEvidence.columns())."""
        self._row({"record_type": "message", "message_id": msgid, "seq": seq, "conversation_id": session_id,
                   "conversation_type": session_type, "sender": sender, "recipients": ";".join(_shown(r) for r in recipients),
                   **_names(names), "roomid": roomid, "time": time, "msgtype": msgtype, "text": text,
                   "recalled": "yes" if recalled else "no", "hit": "yes" if hit else "no",
                   "native_path": native_path, "native_sha256": native_sha256, **(review or {})})

    def media(self, *, msgid: str, seq: int, session_id: str, session_type: str, sender: str,
              recipients: tuple[str, ...], roomid: str, time: str, msgtype: str, native_path: str,
              native_sha256: str, ref: str, kind: str, filename: str | None, status: str, md5sum: str,
              md5_matched: bool | None, names: dict | None = None) -> None:
        self._row({"record_type": "media", "message_id": msgid, "seq": seq, "conversation_id": session_id,
                   "conversation_type": session_type, "sender": sender, "recipients": ";".join(_shown(r) for r in recipients),
                   **_names(names),
                   "roomid": roomid, "time": time, "msgtype": msgtype, "text": "",
                   "native_path": native_path, "native_sha256": native_sha256, "media_ref": ref,
                   "media_kind": kind, "original_filename": filename or "", "media_status": status,
                   "wecom_md5sum": md5sum,
                   "md5_matched": "" if md5_matched is None else ("yes" if md5_matched else "no")})
