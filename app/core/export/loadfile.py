"""The CSV load file for review tools: one row per message and one per media file of a message."""

from __future__ import annotations

import csv
from typing import TextIO

COLUMNS = ("record_type", "message_id", "seq", "conversation_id", "conversation_type", "sender",
           "recipients", "roomid", "time", "msgtype", "text", "recalled", "hit", "native_path",
           "native_sha256", "media_ref", "media_kind", "original_filename", "media_status", "wecom_md5sum",
           "md5_matched")


class LoadFileWriter:
    """Writes rows as they come (UTF-8 with BOM so spreadsheet programs read CJK text right).
    Values are written as they are in the archive; recipients are joined with ``;``."""

    def __init__(self, f: TextIO):
        f.write("\ufeff")
        self._w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\r\n")
        self._w.writeheader()
        self.rows = 0

    def message(self, *, msgid: str, seq: int, session_id: str, session_type: str, sender: str,
                recipients: tuple[str, ...], roomid: str, time: str, msgtype: str, text: str, recalled: bool,
                hit: bool, native_path: str, native_sha256: str) -> None:
        self._w.writerow({"record_type": "message", "message_id": msgid, "seq": seq, "conversation_id": session_id,
                          "conversation_type": session_type, "sender": sender, "recipients": ";".join(recipients),
                          "roomid": roomid, "time": time, "msgtype": msgtype, "text": text,
                          "recalled": "yes" if recalled else "no", "hit": "yes" if hit else "no",
                          "native_path": native_path, "native_sha256": native_sha256})
        self.rows += 1

    def media(self, *, msgid: str, seq: int, session_id: str, session_type: str, sender: str,
              recipients: tuple[str, ...], roomid: str, time: str, msgtype: str, native_path: str,
              native_sha256: str, ref: str, kind: str, filename: str | None, status: str, md5sum: str,
              md5_matched: bool | None) -> None:
        self._w.writerow({"record_type": "media", "message_id": msgid, "seq": seq, "conversation_id": session_id,
                          "conversation_type": session_type, "sender": sender, "recipients": ";".join(recipients),
                          "roomid": roomid, "time": time, "msgtype": msgtype, "text": "",
                          "native_path": native_path, "native_sha256": native_sha256, "media_ref": ref,
                          "media_kind": kind, "original_filename": filename or "", "media_status": status,
                          "wecom_md5sum": md5sum,
                          "md5_matched": "" if md5_matched is None else ("yes" if md5_matched else "no")})
        self.rows += 1
