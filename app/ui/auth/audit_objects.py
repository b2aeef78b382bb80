"""What an audit entry's object is, in words, and where it is in the archive.

The audit trail stores ids: a session's hash, a message's msgid, a media row's number. The audit log
shows beside them the session's title (the group's name, or the people of a private chat) or the
file's name, and "Go to" opens the conversation or the message through the window's Navigator.

Names are read with the archive's unrecorded reads (reading the log is recorded once, as
``audit.view``; looking up its objects' names is part of that) and only for an account that may read
messages, within its scope: an auditor without ``messages.read`` sees the ids, as before, and no
refusal is recorded for names it was never shown. Runs on pool threads (no Qt).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.actor import Actor
from app.core.auth import MESSAGES_READ, can
from app.core.auth.audit import AuditRecord
from app.core.safe_text import display_name


@dataclass(frozen=True)
class AuditObject:
    """An entry's object as the log shows it: ``name`` ("" when unknown) and where to go."""

    name: str
    corp_id: int | None = None
    session_id: str | None = None
    message_id: int | None = None  # a message (or a media file's message): open it there

    @property
    def can_go(self) -> bool:
        return self.corp_id is not None and bool(self.session_id)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class AuditObjectNames:
    """``describe(records)`` -> {entry seq: AuditObject} for the entries whose object it can name."""

    MAX_PEOPLE = 4

    def __init__(self, archive, directory, actor: Actor):
        self.archive = archive
        self.directory = directory
        self.actor = actor
        self._titles: dict[tuple[int, str], str] = {}

    def describe(self, records: list[AuditRecord]) -> dict[int, AuditObject]:
        if not can(self.actor, MESSAGES_READ):
            return {}
        out: dict[int, AuditObject] = {}
        media_ids = {_int(r.object) for r in records if r.object_type == "media"} - {None}
        media = self.archive.media_by_ids(self.actor, media_ids) if media_ids else {}
        places: dict[int, tuple[int, str] | None] = {}  # message id -> (corp, session)
        for r in records:
            detail = r.detail if isinstance(r.detail, dict) else {}
            if r.object_type == "session":
                corp_id = _int(detail.get("corp_id"))
                if corp_id is not None and r.object:
                    title = self._title(corp_id, r.object)
                    if title:
                        out[r.seq] = AuditObject(title, corp_id, r.object)
            elif r.object_type == "message":
                corp_id, session_id = _int(detail.get("corp_id")), detail.get("session_id")
                message_id = _int(detail.get("message_id"))
                if corp_id is not None and isinstance(session_id, str) and session_id:
                    title = self._title(corp_id, session_id)
                    if title:
                        out[r.seq] = AuditObject(title, corp_id, session_id, message_id)
            elif r.object_type == "media":
                m = media.get(_int(r.object) or -1)
                if m is None:
                    continue
                if m.message_id not in places:
                    found = self.archive.message(self.actor, message_id=m.message_id)
                    places[m.message_id] = (found.row.corp_id, found.row.session_id or "") if found else None
                place = places[m.message_id]
                name = display_name(m.filename) if m.filename else ""
                if place is None:
                    if name:
                        out[r.seq] = AuditObject(name)
                    continue
                title = self._title(*place)
                shown = f"{name} · {title}" if name and title else name or title
                out[r.seq] = AuditObject(shown, place[0], place[1], m.message_id)
        return out

    def _title(self, corp_id: int, session_id: str) -> str:
        key = (corp_id, session_id)
        if key not in self._titles:
            self._titles[key] = self._read_title(corp_id, session_id)
        return self._titles[key]

    def _read_title(self, corp_id: int, session_id: str) -> str:
        s = self.archive.session(self.actor, corp_id, session_id)
        if s is None:  # gone, or outside the account's scope: the id only
            return ""
        if s.roomid:
            return display_name(self.directory.label(self.actor, corp_id, s.roomid))
        people = [display_name(n) for n in self.directory.labels(self.actor, corp_id, s.participants[:self.MAX_PEOPLE])]
        return " · ".join(people) + (" …" if len(s.participants) > self.MAX_PEOPLE else "")
