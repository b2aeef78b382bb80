"""Reviewers' notes on a message or a session.

A note has an author and a time and is never editable by anyone else. Editing it adds a version
(the earlier ones stay, with their times); withdrawing it is a last version too, and hides it from
the viewer but not from its history. The audit entry of each version records the SHA-256 of its
text (never the text), so a version changed in the database afterwards no longer matches the trail.

Writing needs ``review.write`` within the actor's scope; reading needs ``review.read`` — an auditor
reads who wrote what when, and the text only if also a reviewer (``messages.read``): a note often
quotes the message it is about.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import Action
from app.core.auth.errors import PermissionDenied
from app.core.store.db import now_ms

from . import tables as T
from .common import CHUNK, Base, ReviewError, check_text, reviewer_key

MAX_NOTE = 10_000


@dataclass(frozen=True)
class NoteVersion:
    version: int
    text: str | None  # None when the reader may not see note text
    at: int
    sha256: str


@dataclass(frozen=True)
class NoteRow:
    id: int
    corp_id: int
    session_id: str
    message_id: int | None  # None: a note on the session
    author: str
    mine: bool
    created_at: int
    updated_at: int
    version: int
    withdrawn: bool
    text: str | None  # the current version's text (None: hidden from this reader)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class NoteService(Base):
    """Notes (see the module docstring). Thread-safe; call off the GUI thread."""

    def add(self, actor: Actor, corp_id: int, session_id: str, text: str, *, message_id: int | None = None) -> NoteRow:
        """A new note on a message of the session, or on the session (``message_id`` None)."""
        self._require(actor, R.REVIEW_WRITE, Action.REVIEW_NOTE, "message" if message_id else "session",
                      str(message_id or session_id))
        text = check_text(text, ("note", "备注"), limit=MAX_NOTE)
        with self._write() as conn:
            if message_id:
                target = self._messages(conn, actor, [message_id], Action.REVIEW_NOTE)[0]
                if (target.corp_id, target.session_id) != (corp_id, session_id):
                    raise ReviewError(f"message #{message_id} is not in session {session_id}",
                                      f"消息 #{message_id} 不在会话 {session_id} 中")
            else:
                self._session(conn, actor, corp_id, session_id, Action.REVIEW_NOTE)
            note_id, now = self.db.ids.next_id(), now_ms()
            conn.execute(insert(T.notes).values(id=note_id, corp_id=corp_id, session_id=session_id,
                                                message_id=message_id or T.SESSION, author_key=reviewer_key(actor),
                                                author=actor.username, created_at=now, updated_at=now, version=1))
            conn.execute(insert(T.note_versions).values(note_id=note_id, version=1, text=text, at=now, sha256=_sha(text)))
            self.trail.record(actor, Action.REVIEW_NOTE, object_type="note", object=str(note_id),
                              detail={"change": "add", "corp_id": corp_id, "session_id": session_id,
                                      "message_id": message_id, "version": 1, "sha256": _sha(text),
                                      "characters": len(text)}, conn=conn)
        return self.get(actor, note_id)

    def edit(self, actor: Actor, note_id: int, text: str) -> NoteRow:
        """A new version of the actor's own note (PermissionDenied, recorded, for anyone else's)."""
        text = check_text(text, ("note", "备注"), limit=MAX_NOTE)
        return self._version(actor, note_id, text, "edit")

    def withdraw(self, actor: Actor, note_id: int) -> NoteRow:
        """Withdraw the actor's own note: a last version; the history keeps every earlier one."""
        return self._version(actor, note_id, "", "withdraw")

    def _version(self, actor: Actor, note_id: int, text: str, change: str) -> NoteRow:
        self._require(actor, R.REVIEW_WRITE, Action.REVIEW_NOTE, "note", str(note_id))
        n = T.notes.c
        with self._write() as conn:
            row = conn.execute(select(T.notes).where(n.id == note_id)).first()
            if row is None:
                raise ReviewError(f"there is no note #{note_id}", f"没有备注 #{note_id}")
            if row.author_key != reviewer_key(actor):
                error = PermissionDenied(f"note #{note_id} is {row.author}'s: only its author may change it",
                                         f"备注 #{note_id} 由 {row.author} 所写：只有作者本人可以修改",
                                         username=actor.username, permission=R.REVIEW_WRITE)
                self._refuse(actor, Action.REVIEW_NOTE, error, "note", str(note_id))
            if not self._sessions_in_scope(conn, actor, [(row.corp_id, row.session_id)]):
                self._deny(actor, Action.REVIEW_NOTE, "session", row.session_id)
            if row.withdrawn_at is not None:
                raise ReviewError(f"note #{note_id} was withdrawn: write a new one", f"备注 #{note_id} 已撤回：请另写一条")
            version, now = row.version + 1, now_ms()
            conn.execute(insert(T.note_versions).values(note_id=note_id, version=version, text=text, at=now,
                                                        sha256=_sha(text)))
            conn.execute(update(T.notes).where(n.id == note_id).values(
                version=version, updated_at=now, withdrawn_at=now if change == "withdraw" else None))
            self.trail.record(actor, Action.REVIEW_NOTE, object_type="note", object=str(note_id),
                              detail={"change": change, "corp_id": row.corp_id, "session_id": row.session_id,
                                      "message_id": row.message_id or None, "version": version,
                                      "sha256": _sha(text), "characters": len(text)}, conn=conn)
        return self.get(actor, note_id)

    # ------------------------------------------------------------------ reading
    def get(self, actor: Actor, note_id: int) -> NoteRow:
        self._read(actor, "note", str(note_id))
        with self._reading() as conn:
            row = conn.execute(select(T.notes).where(T.notes.c.id == note_id)).first()
            if row is None or not self._sessions_in_scope(conn, actor, [(row.corp_id, row.session_id)]):
                raise ReviewError(f"there is no note #{note_id}", f"没有备注 #{note_id}")
            return self._rows(conn, actor, [row])[0]

    def of_session(self, actor: Actor, corp_id: int, session_id: str, *, message_ids: Sequence[int] | None = None,
                   include_withdrawn: bool = False) -> list[NoteRow]:
        """The notes of a session — on it and on its messages (only on ``message_ids`` if given) —
        oldest first (``review.read``; none outside the scope)."""
        self._read(actor, "session", session_id)
        n = T.notes.c
        with self._reading() as conn:
            if not self._sessions_in_scope(conn, actor, [(corp_id, session_id)]):
                return []
            q = select(T.notes).where(n.corp_id == corp_id, n.session_id == session_id)
            if not include_withdrawn:
                q = q.where(n.withdrawn_at.is_(None))
            rows = []
            if message_ids is None:
                rows = conn.execute(q.order_by(n.created_at, n.id)).all()
            else:
                ids = sorted(set(message_ids))
                for i in range(0, len(ids), CHUNK):
                    rows += conn.execute(q.where(n.message_id.in_(ids[i:i + CHUNK]))).all()
                rows.sort(key=lambda r: (r.created_at, r.id))
            return self._rows(conn, actor, rows)

    def history(self, actor: Actor, note_id: int) -> list[NoteVersion]:
        """Every version of a note, oldest first (text only for readers of content)."""
        note = self.get(actor, note_id)
        v = T.note_versions.c
        show = self._content(actor)
        with self._reading() as conn:
            return [NoteVersion(r.version, r.text if show else None, r.at, r.sha256) for r in conn.execute(
                select(T.note_versions).where(v.note_id == note.id).order_by(v.version))]

    def texts(self, conn, note_ids: Sequence[int]) -> dict[int, str]:
        """Unchecked: the current text of each note (exports, which checked already)."""
        n, v = T.notes.c, T.note_versions.c
        out: dict[int, str] = {}
        ids = sorted(set(note_ids))
        for i in range(0, len(ids), CHUNK):
            for r in conn.execute(select(v.note_id, v.text).join(T.notes, n.id == v.note_id).where(
                    v.note_id.in_(ids[i:i + CHUNK]), v.version == n.version)):
                out[r.note_id] = r.text
        return out

    def _rows(self, conn, actor: Actor, rows) -> list[NoteRow]:
        show = self._content(actor)
        texts = self.texts(conn, [r.id for r in rows]) if show else {}
        key = reviewer_key(actor)
        return [NoteRow(r.id, r.corp_id, r.session_id, r.message_id or None, r.author, r.author_key == key,
                        r.created_at, r.updated_at, r.version, r.withdrawn_at is not None,
                        texts.get(r.id) if show else None) for r in rows]
