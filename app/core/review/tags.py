"""The archive's tag set, and tagging messages, selections, whole sessions and search results.

The tag set is one per archive (five defaults in Chinese and English come with migration 0010); an
administrator (``review.manage``) adds, relabels, recolours, reorders and disables tags — a disabled
tag stays on what it tagged (and searchable) but is offered no more. Reviewers (``review.write``)
tag within their scope: a message, several, a whole session (the session's tag: it covers the
messages that arrive later too) or every result of a query. ``tag:违规`` finds a message tagged
itself or through its session.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from app.core.actor import Actor
from app.core.auth import roles as R
from app.core.auth.audit import Action
from app.core.store.db import now_ms

from . import tables as T
from .common import CHUNK, MAX_NAME, MAX_TARGETS, Base, ReviewError, Target, check_text, fold

_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}$")
_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}$")
MAX_TAGS = 64
AUDIT_IDS = 1000  # message ids an audit entry lists; beyond, their count and SHA-256


@dataclass(frozen=True)
class TagRow:
    id: int
    key: str
    label_zh: str
    label_en: str
    colour: str
    position: int
    disabled: bool

    def label(self, language: str = "en") -> str:
        return self.label_zh if language.startswith("zh") else self.label_en

    def names(self) -> set[str]:
        """Every spelling a query may use for it (folded)."""
        return {fold(self.key), fold(self.label_zh), fold(self.label_en)}


def _row(r) -> TagRow:
    return TagRow(r.id, r.key, r.label_zh, r.label_en, r.colour, r.position, r.disabled_at is not None)


def ids_for_audit(ids: Sequence[int]) -> tuple[list[int] | str, dict]:
    """The object and detail an audit entry records for a set of message ids: every id up to
    AUDIT_IDS, and always their count and the SHA-256 of the sorted ids (one decimal a line)."""
    ordered = sorted(set(ids))
    digest = hashlib.sha256("".join(f"{i}\n" for i in ordered).encode("ascii")).hexdigest()
    detail = {"messages": len(ordered), "ids_sha256": digest}
    if len(ordered) <= AUDIT_IDS:
        return ordered, detail
    return f"{len(ordered):,} messages (ids_sha256 {digest})", detail


class TagService(Base):
    """The tag set and tagging (see the module docstring). Thread-safe; call off the GUI thread."""

    # ------------------------------------------------------------------ the tag set
    def tags(self, actor: Actor, *, include_disabled: bool = False) -> list[TagRow]:
        """The tag set in its order (``review.read`` or ``review.manage``)."""
        if not R.can(actor, R.REVIEW_MANAGE):
            self._read(actor, "tags")
        return self.all_tags(include_disabled=include_disabled)

    def all_tags(self, *, include_disabled: bool = True) -> list[TagRow]:
        """The tag set without a permission check (internal: queries, exports)."""
        q = select(T.tags).order_by(T.tags.c.position, T.tags.c.id)
        if not include_disabled:
            q = q.where(T.tags.c.disabled_at.is_(None))
        with self._reading() as conn:
            return [_row(r) for r in conn.execute(q)]

    def find(self, name: str, *, tags: list[TagRow] | None = None) -> TagRow:
        """The tag whose key, Chinese or English label is ``name`` (case- and width-insensitive);
        ReviewError listing the tags otherwise."""
        wanted = fold(name)
        rows = tags if tags is not None else self.all_tags()
        for t in rows:
            if wanted in t.names():
                return t
        known = ", ".join(f"{t.label_zh} {t.label_en}" for t in rows if not t.disabled)
        raise ReviewError(f"there is no tag '{name}': the tags are {known}", f"没有标签“{name}”：现有标签为 {known}")

    def add_tag(self, actor: Actor, label_zh: str, label_en: str, *, colour: str = "#607D8B",
                key: str | None = None) -> TagRow:
        """A new tag at the end of the set (``review.manage``)."""
        label_zh = check_text(label_zh, ("Chinese label", "中文名称"), limit=MAX_NAME)
        label_en = check_text(label_en, ("English label", "英文名称"), limit=MAX_NAME)
        key = key or re.sub(r"[^a-z0-9]+", "_", label_en.lower()).strip("_") or "tag"
        if not key[0].isalpha():
            key = "t_" + key
        key = key[:64]
        self._check(colour, key)
        self._require(actor, R.REVIEW_MANAGE, Action.REVIEW_TAGSET, "tag", key)
        with self._write() as conn:
            rows = [_row(r) for r in conn.execute(select(T.tags))]
            if len(rows) >= MAX_TAGS:
                raise ReviewError(f"the tag set already has {MAX_TAGS} tags: disable or relabel one instead",
                                  f"标签集已有 {MAX_TAGS} 个标签：请停用或改名一个已有标签")
            self._unique(rows, None, key, label_zh, label_en)
            position = max((r.position for r in rows), default=0) + 1
            tag_id = self.db.ids.next_id()
            conn.execute(insert(T.tags).values(id=tag_id, key=key, label_zh=label_zh, label_en=label_en,
                                               colour=colour.upper(), position=position,
                                               created_by=actor.username, created_at=now_ms()))
            self.trail.record(actor, Action.REVIEW_TAGSET, object_type="tag", object=key,
                              detail={"change": "add", "label_zh": label_zh, "label_en": label_en,
                                      "colour": colour.upper(), "position": position}, conn=conn)
        return self.find(key)

    def edit_tag(self, actor: Actor, name: str, *, label_zh: str | None = None, label_en: str | None = None,
                 colour: str | None = None, position: int | None = None, enabled: bool | None = None) -> TagRow:
        """Relabel, recolour, move (``position`` 1 = first) or disable/enable a tag (``review.manage``)."""
        self._require(actor, R.REVIEW_MANAGE, Action.REVIEW_TAGSET, "tag", name)
        if label_zh is not None:
            label_zh = check_text(label_zh, ("Chinese label", "中文名称"), limit=MAX_NAME)
        if label_en is not None:
            label_en = check_text(label_en, ("English label", "英文名称"), limit=MAX_NAME)
        if colour is not None:
            self._check(colour, None)
        with self._write() as conn:
            rows = [_row(r) for r in conn.execute(select(T.tags).order_by(T.tags.c.position, T.tags.c.id))]
            tag = self.find(name, tags=rows)
            self._unique(rows, tag.id, None, label_zh, label_en)
            changes: dict = {}
            values: dict = {}
            for field, value in (("label_zh", label_zh), ("label_en", label_en),
                                 ("colour", colour.upper() if colour else None)):
                if value is not None and value != getattr(tag, field):
                    values[field] = value
                    changes[field] = f"{getattr(tag, field)} -> {value}"
            if enabled is not None and enabled == tag.disabled:
                values["disabled_at"] = None if enabled else now_ms()
                changes["enabled"] = f"{not tag.disabled} -> {enabled}"
            if position is not None:
                order = [r for r in rows if r.id != tag.id]
                position = max(1, min(position, len(order) + 1))
                order.insert(position - 1, tag)
                if [r.id for r in order] != [r.id for r in rows]:
                    for i, r in enumerate(order, 1):
                        conn.execute(update(T.tags).where(T.tags.c.id == r.id).values(position=i))
                    changes["position"] = f"{rows.index(tag) + 1} -> {position}"
            if not changes:
                return tag
            conn.execute(update(T.tags).where(T.tags.c.id == tag.id)
                         .values(updated_by=actor.username, updated_at=now_ms(), **values))
            self.trail.record(actor, Action.REVIEW_TAGSET, object_type="tag", object=tag.key,
                              detail={"change": "edit", **changes}, conn=conn)
        return self.find(tag.key)

    @staticmethod
    def _check(colour: str, key: str | None) -> None:
        if not _COLOUR.match(colour or ""):
            raise ReviewError(f"'{colour}' is not a colour: write it as #RRGGBB, e.g. #D93025",
                              f"“{colour}”不是颜色：请写成 #RRGGBB，例如 #D93025")
        if key is not None and not _KEY.match(key):
            raise ReviewError(f"'{key}' is not a tag key: use lower-case letters, digits and _, starting "
                              f"with a letter", f"“{key}”不是标签键：请使用小写字母、数字和下划线，并以字母开头")

    @staticmethod
    def _unique(rows: list[TagRow], own: int | None, key: str | None, zh: str | None, en: str | None) -> None:
        for r in rows:
            if r.id == own:
                continue
            for value in (key, zh, en):
                if value is not None and fold(value) in r.names():
                    raise ReviewError(f"the tag '{r.label_zh} {r.label_en}' already has the name '{value}'",
                                      f"标签“{r.label_zh} {r.label_en}”已使用名称“{value}”")

    # ------------------------------------------------------------------ tagging
    def tag(self, actor: Actor, name: str, *, message_ids: Sequence[int] = (),
            session: tuple[int, str] | None = None, remove: bool = False, query: str | None = None) -> int:
        """Put the tag ``name`` on messages, or on a whole session (``(corp_id, session_id)``), or
        take it off (``remove``); returns how many messages/sessions changed. ``review.write``,
        within the actor's scope (PermissionDenied, recorded, and nothing changes if any target is
        outside it); ReviewError for an unknown or disabled tag or a message not in the archive.
        ``query`` is only recorded (the search whose results these are)."""
        what = "session" if session is not None else "message"
        self._require(actor, R.REVIEW_WRITE, Action.REVIEW_TAG, what,
                      session[1] if session is not None else list(message_ids)[:AUDIT_IDS])
        tag = self.find(name)
        if tag.disabled and not remove:
            raise ReviewError(f"the tag '{tag.label_zh} {tag.label_en}' is disabled: an administrator can enable it",
                              f"标签“{tag.label_zh} {tag.label_en}”已停用：管理员可以重新启用")
        with self._write() as conn:
            if session is not None:
                targets = [self._session(conn, actor, session[0], session[1], Action.REVIEW_TAG)]
            else:
                targets = self._messages(conn, actor, message_ids, Action.REVIEW_TAG)
            changed = self._apply(conn, actor, tag, targets, remove)
            if session is not None:
                obj: object = session[1]
                detail = {"corp_id": session[0]}
            else:
                obj, detail = ids_for_audit([t.message_id for t in targets])
            detail.update({"tag": tag.key, "change": "remove" if remove else "add", "changed": changed})
            if query:
                detail["query"] = query
            self.trail.record(actor, Action.REVIEW_TAG, object_type=what, object=obj, detail=detail, conn=conn)
        return changed

    def tag_results(self, actor: Actor, name: str, query: str, search, *, remove: bool = False) -> int:
        """Tag every message the query finds in the actor's scope (at most MAX_TARGETS; ReviewError
        beyond, before anything changes). ``search`` is the archive's SearchService."""
        total = search.query_count(actor, query)
        if total > MAX_TARGETS:
            raise ReviewError(f"the query finds {total:,} messages; tag at most {MAX_TARGETS:,} at once (narrow "
                              f"it, e.g. with date:)",
                              f"该查询找到 {total:,} 条消息，一次最多标记 {MAX_TARGETS:,} 条（请缩小范围，例如用 date:）")
        ids: list[int] = []
        before = None
        while True:
            page = search.query(actor, query, limit=5000, before=before)
            ids.extend(h.message.id for h in page)
            if len(page) < 5000:
                break
            before = page[-1].cursor()
        if not ids:
            return 0
        return self.tag(actor, name, message_ids=ids, remove=remove, query=query)

    @staticmethod
    def _apply(conn, actor: Actor, tag: TagRow, targets: list[Target], remove: bool) -> int:
        links = T.tag_links.c
        changed = 0
        by_session: dict[tuple[int, str], list[int]] = {}
        for t in targets:
            by_session.setdefault((t.corp_id, t.session_id), []).append(t.message_id)
        now = now_ms()
        for (corp, sid), mids in by_session.items():
            for i in range(0, len(mids), CHUNK):
                part = mids[i:i + CHUNK]
                where = (links.tag_id == tag.id, links.corp_id == corp, links.session_id == sid,
                         links.message_id.in_(part))
                if remove:
                    changed += conn.execute(delete(T.tag_links).where(*where)).rowcount or 0
                    continue
                have = set(conn.execute(select(links.message_id).where(*where)).scalars())
                rows = [{"tag_id": tag.id, "corp_id": corp, "session_id": sid, "message_id": m,
                         "created_by": actor.username, "created_at": now} for m in part if m not in have]
                if rows:
                    conn.execute(insert(T.tag_links), rows)
                    changed += len(rows)
        return changed

    # ------------------------------------------------------------------ reading
    def of_messages(self, actor: Actor, corp_id: int, session_id: str, message_ids: Sequence[int]
                    ) -> dict[int, list[int]]:
        """The tag ids on each of these messages of one session, in tag-set order, including the
        session's own tags (``review.read``; an out-of-scope session reads as untagged)."""
        self._read(actor, "tags")
        with self._reading() as conn:
            if not self._sessions_in_scope(conn, actor, [(corp_id, session_id)]):
                return {}
            return self.links(conn, corp_id, session_id, message_ids)

    def links(self, conn, corp_id: int, session_id: str, message_ids: Sequence[int]) -> dict[int, list[int]]:
        """Unchecked: tag ids per message (session tags included), for code that checked already."""
        links = T.tag_links.c
        order = {t.id: (t.position, t.id) for t in self.all_tags()}
        session_tags = list(conn.execute(select(links.tag_id).where(
            links.corp_id == corp_id, links.session_id == session_id, links.message_id == T.SESSION)).scalars())
        out: dict[int, set[int]] = {int(m): set(session_tags) for m in message_ids}
        ids = sorted(out)
        for i in range(0, len(ids), CHUNK):
            for m, t in conn.execute(select(links.message_id, links.tag_id).where(
                    links.corp_id == corp_id, links.session_id == session_id,
                    links.message_id.in_(ids[i:i + CHUNK]))):
                out[m].add(t)
        return {m: sorted(ts, key=lambda t: order.get(t, (1 << 30, t))) for m, ts in out.items()}

    def of_session(self, actor: Actor, corp_id: int, session_id: str) -> list[int]:
        """The tags of the session itself (``review.read``)."""
        self._read(actor, "tags")
        links = T.tag_links.c
        with self._reading() as conn:
            if not self._sessions_in_scope(conn, actor, [(corp_id, session_id)]):
                return []
            return list(conn.execute(select(links.tag_id).where(
                links.corp_id == corp_id, links.session_id == session_id, links.message_id == T.SESSION)).scalars())

    def tagged_sessions(self, actor: Actor, name: str) -> set[tuple[int, str]]:
        """The sessions tagged ``name`` themselves or through one of their messages, in scope (the
        session tree's filter; ``review.read``)."""
        self._read(actor, "tags")
        tag = self.find(name)
        links = T.tag_links.c
        with self._reading() as conn:
            keys = [(c, s) for c, s in conn.execute(select(links.corp_id, links.session_id)
                                                    .where(links.tag_id == tag.id).distinct())]
            return self._sessions_in_scope(conn, actor, keys)
