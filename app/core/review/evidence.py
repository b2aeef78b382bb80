"""The review in evidence packages: what reviewers decided about the exported messages, kept apart
from the messages themselves.

An export (app/core/export/package.py) asks this module, page by page, for the review state of the
messages it writes — tags (their own and their conversation's), status with who and when, the
current text of notes, the alerts they raised — and puts it:

- in ``data/review.jsonl``: one JSON object per message that has any, and one per conversation
  (its tags, status, every reviewer's mark, its notes), each with ``"type"``;
- in the load file's ``review_*`` columns (after the message's own columns);
- in the transcripts, in a box headed "审阅 Review (annotations, not part of the message)";
- in ``custody.json`` under ``review``: when it was read, counts, and the SHA-256 of review.jsonl,
  so the custody record says which review state was exported.

Nothing here checks permissions: the export has checked the actor and its scope for these
messages, and an exporter exports what reviewers wrote about them (notes included). ``--no-review``
leaves it all out, and the custody record says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TextIO

from sqlalchemy import select

from app.core.safe_text import json_line
from app.core.store.db import Database, now_ms

from . import tables as T
from .status import StatusService


def _iso(ms: int | None, tz: tzinfo | None) -> str | None:
    if not ms:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz).isoformat(timespec="seconds")
    except (OverflowError, ValueError, OSError):
        return f"{ms} ms"


@dataclass(frozen=True)
class MessageEvidence:
    tags: tuple[str, ...] = ()  # "违规 Violation", "(会话 session) 需关注 Needs attention"
    status: str = "unreviewed"
    status_by: str | None = None
    status_at: str | None = None
    notes: tuple[tuple[str, str, int, str], ...] = ()  # author, time, version, text
    alerts: tuple[tuple[str, str, str], ...] = ()  # policy, status, day

    def is_empty(self) -> bool:
        return not (self.tags or self.notes or self.alerts) and self.status == "unreviewed"

    def lines(self) -> list[str]:
        """For the transcripts: short bilingual lines."""
        out = []
        if self.tags:
            out.append("标签 Tags: " + "，".join(self.tags))
        status = {"reviewed": "已审阅 reviewed", "in_review": "审阅中 in review", "unreviewed": "未审阅 unreviewed"}
        line = "状态 Status: " + status.get(self.status, self.status)
        if self.status_by:
            line += f" · {self.status_by} {self.status_at or ''}".rstrip()
        out.append(line)
        for policy, state, day in self.alerts:
            out.append(f"警报 Alert: {policy} ({day}, {state})")
        for author, at, version, text in self.notes:
            out.append(f"批注 Note ({author}, {at}" + (f", v{version}" if version > 1 else "") + f"): {text}")
        return out

    def columns(self) -> dict[str, str]:
        """For the load file's review_* columns."""
        return {"review_tags": ";".join(self.tags), "review_status": self.status,
                "reviewed_by": self.status_by or "", "reviewed_at": self.status_at or "",
                "review_notes": "\n".join(f"{a} {t}: {x}" for a, t, _v, x in self.notes),
                "review_alerts": ";".join(f"{p} ({d}, {s})" for p, s, d in self.alerts)}


@dataclass
class ReviewEvidence:
    """Collects the review state of an export's messages (see the module docstring)."""

    db: Database
    tz: tzinfo | None = None
    enabled: bool = True
    sink: TextIO | None = None  # data/review.jsonl while the export writes it
    counts: dict = field(default_factory=lambda: {"messages_with_review": 0, "tagged": 0, "reviewed": 0,
                                                  "in_review": 0, "notes": 0, "alerts": 0, "conversations": 0})
    _digest: object = field(default_factory=hashlib.sha256)
    _as_of: int = field(default_factory=now_ms)
    _sessions: set[tuple[int, str]] | None = None  # see _reviewed

    def _write(self, obj: dict) -> None:
        # json_line: a bidi override or other deceptive character in a note or a label is written
        # as a JSON escape (inert in any viewer; json.loads gives back the exact text)
        line = json_line(obj, sort_keys=True) + "\n"
        self._digest.update(line.encode("utf-8"))  # type: ignore[attr-defined]
        if self.sink is not None:
            self.sink.write(line)

    def _tags(self) -> dict[int, str]:
        if not hasattr(self, "_tag_labels"):
            with self.db.read() as conn:
                self._tag_labels = {r.id: f"{r.label_zh} {r.label_en}" for r in conn.execute(select(T.tags))}
        return self._tag_labels

    def _reviewed(self) -> set[tuple[int, str]]:
        """The conversations (corp id, session id) with any review state — a tag, a status, a mark,
        a note or an alert — read once, when the export starts: the others need no query at all
        (most conversations of a large export; eight queries a page each before)."""
        if self._sessions is None:
            found: set[tuple[int, str]] = set()
            with self.db.read() as conn:
                for table in (T.tag_links, T.states, T.marks, T.notes, T.alerts):
                    found.update((r[0], r[1]) for r in conn.execute(
                        select(table.c.corp_id, table.c.session_id).distinct()))
            self._sessions = found
        return self._sessions

    def of_messages(self, rows: Sequence) -> dict[int, MessageEvidence]:
        """The review state of messages (rows with id, corp_id, session_id, msgid, msgtime), written to
        review.jsonl as it is read; {} when the review is left out. Messages of conversations without
        any review state are left out of the answer."""
        if not self.enabled or not rows:
            return {}
        reviewed = self._reviewed()
        by_session: dict[tuple[int, str], list] = {}
        for r in rows:
            key = (r.corp_id, r.session_id or "")
            if key in reviewed:
                by_session.setdefault(key, []).append(r)
        if not by_session:
            return {}
        labels = self._tags()
        out: dict[int, MessageEvidence] = {}
        tl, n, v = T.tag_links.c, T.notes.c, T.note_versions.c
        with self.db.read() as conn:
            for (corp, sid), msgs in by_session.items():
                ids = [m.id for m in msgs]
                session_tags = set(conn.execute(select(tl.tag_id).where(
                    tl.corp_id == corp, tl.session_id == sid, tl.message_id == T.SESSION)).scalars())
                own: dict[int, set[int]] = {}
                for mid, tag in conn.execute(select(tl.message_id, tl.tag_id).where(
                        tl.corp_id == corp, tl.session_id == sid, tl.message_id.in_(ids))):
                    own.setdefault(mid, set()).add(tag)
                states = StatusService.states(conn, corp, sid, [(m.id, m.msgtime) for m in msgs])
                notes: dict[int, list] = {}
                for r in conn.execute(select(n.id, n.message_id, n.author, n.updated_at, n.version, v.text, v.sha256)
                                      .join(T.note_versions, (v.note_id == n.id) & (v.version == n.version))
                                      .where(n.message_id.in_(ids), n.withdrawn_at.is_(None))
                                      .order_by(n.created_at, n.id)):
                    notes.setdefault(r.message_id, []).append(r)
                alerts: dict[int, list] = {}
                h, a = T.alert_hits.c, T.alerts.c
                for r in conn.execute(select(h.message_id, a.id, a.status, a.day, T.policies.c.name)
                                      .join(T.alerts, a.id == h.alert_id)
                                      .join(T.policies, T.policies.c.id == h.policy_id)
                                      .where(h.message_id.in_(ids))):
                    alerts.setdefault(r.message_id, []).append(r)
                for m in msgs:
                    tags = [labels.get(t, str(t)) for t in sorted(own.get(m.id, ()))]
                    tags += [f"(会话 session) {labels.get(t, str(t))}" for t in sorted(session_tags - own.get(m.id, set()))]
                    st = states[m.id]
                    ev = MessageEvidence(
                        tuple(tags), st.status, st.by, _iso(st.at, self.tz),
                        tuple((x.author, _iso(x.updated_at, self.tz) or "", x.version, x.text) for x in notes.get(m.id, ())),
                        tuple((x.name, x.status, x.day) for x in alerts.get(m.id, ())))
                    out[m.id] = ev
                    if ev.is_empty():
                        continue
                    self.counts["messages_with_review"] += 1
                    self.counts["tagged"] += bool(ev.tags)
                    self.counts[st.status] = self.counts.get(st.status, 0) + (st.status != "unreviewed")
                    self.counts["notes"] += len(ev.notes)
                    self.counts["alerts"] += len(ev.alerts)
                    self._write({"type": "message", "msgid": m.msgid, "conversation_id": sid, "tags": list(ev.tags),
                                 "status": ev.status, "status_by": ev.status_by, "status_at": ev.status_at,
                                 "notes": [{"id": str(x.id), "author": x.author, "time": _iso(x.updated_at, self.tz),
                                            "version": x.version, "text": x.text, "sha256": x.sha256}
                                           for x in notes.get(m.id, ())],
                                 "alerts": [{"id": str(x.id), "policy": x.name, "status": x.status, "day": x.day}
                                            for x in alerts.get(m.id, ())]})
        return out

    def of_session(self, corp_id: int | None, session_id: str | None) -> list[str]:
        """The conversation's own review (tags, status, marks, notes) as transcript lines, written to
        review.jsonl; [] when there is none or the review is left out."""
        if not self.enabled or corp_id is None or not session_id or (corp_id, session_id) not in self._reviewed():
            return []
        labels = self._tags()
        tl, n, v, mk = T.tag_links.c, T.notes.c, T.note_versions.c, T.marks.c
        with self.db.read() as conn:
            tags = [labels.get(t, str(t)) for t in conn.execute(select(tl.tag_id).where(
                tl.corp_id == corp_id, tl.session_id == session_id, tl.message_id == T.SESSION)).scalars()]
            review = StatusService.session_status(conn, corp_id, session_id)
            marks = conn.execute(select(mk.reviewer, mk.upto_msgtime, mk.marked_at).where(
                mk.corp_id == corp_id, mk.session_id == session_id).order_by(mk.marked_at)).all()
            notes = conn.execute(select(n.id, n.author, n.updated_at, n.version, v.text, v.sha256)
                                 .join(T.note_versions, (v.note_id == n.id) & (v.version == n.version))
                                 .where(n.corp_id == corp_id, n.session_id == session_id, n.message_id == T.SESSION,
                                        n.withdrawn_at.is_(None)).order_by(n.created_at, n.id)).all()
        if not (tags or marks or notes or review != "unreviewed"):
            return []
        self.counts["conversations"] += 1
        self._write({"type": "conversation", "conversation_id": session_id, "tags": tags, "status": review,
                     "marks": [{"reviewer": m.reviewer, "reviewed_up_to": _iso(m.upto_msgtime, self.tz),
                                "marked_at": _iso(m.marked_at, self.tz)} for m in marks],
                     "notes": [{"id": str(x.id), "author": x.author, "time": _iso(x.updated_at, self.tz),
                                "version": x.version, "text": x.text, "sha256": x.sha256} for x in notes]})
        status = {"reviewed": "已审阅 reviewed", "in_review": "审阅中 in review", "unreviewed": "未审阅 unreviewed"}
        lines = []
        if tags:
            lines.append("会话标签 Conversation tags: " + "，".join(tags))
        lines.append("会话状态 Conversation status: " + status.get(review, review))
        lines += [f"审阅至 Reviewed up to {_iso(m.upto_msgtime, self.tz)} · {m.reviewer} ({_iso(m.marked_at, self.tz)})"
                  for m in marks]
        lines += [f"会话批注 Conversation note ({x.author}, {_iso(x.updated_at, self.tz)}): {x.text}" for x in notes]
        return lines

    def custody(self) -> dict:
        """The custody record's ``review`` section."""
        if not self.enabled:
            return {"included": False, "note": "left out of this package at the exporter's request (--no-review)"}
        return {"included": True, "as_of": _iso(self._as_of, self.tz), "file": "data/review.jsonl",
                "review_jsonl_sha256": self._digest.hexdigest(),  # type: ignore[attr-defined]
                "counts": dict(self.counts),
                "note": "reviewers' tags, review status, notes and alerts as they were when the package was made; "
                        "annotations kept apart from the original messages (data/messages), in data/review.jsonl, "
                        "the load file's review_* columns and the transcripts' 审阅 Review boxes"}


__all__ = ["MessageEvidence", "ReviewEvidence"]
