"""The session tree: (corps →) session types → sessions, newest activity first, loaded lazily.

The model holds, per type group, only the sessions fetched so far (pages of ``PAGE_SIZE``) and the
group's count. Every database read except the first counts runs on a pool thread (:func:`run_task`
around :func:`app.ui.tasks.run_task`); results are applied on the GUI thread, and a result that
belongs to an older filter (a lower generation) is dropped. A group says it has children as soon
as its count is non-zero, so the view shows an expand arrow before anything is fetched.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from PySide6.QtCore import (
    QAbstractItemModel,
    QCoreApplication,
    QDateTime,
    QLocale,
    QModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFont

from app.core.actor import Actor
from app.core.archive import ArchiveService, CorpRow, SessionRow, session_sort_key
from app.core.directory import Directory
from app.core.messages.session import looks_like_external_userid
from app.core.safe_text import display_name
from app.ui.avatars import avatar_icon
from app.ui.tasks import interactive_pool, run_task

PAGE_SIZE = 500
REFRESH_INTERVAL_MS = 1000  # refreshes start at most this often (the sync commits every ~0.2 s)
REFRESH_CAP = 2000  # a refresh re-reads at most this many rows per group; deeper rows keep their order
LOCATE_STEP = 2000  # rows per query when looking for one session deeper than what is loaded
TITLE_MEMBERS = 4  # a group without a name shows this many members, then "+n"

SESSION_TYPES = ("internal", "external", "group", "updown", "system")
ALWAYS_SHOWN = ("internal", "external", "group")  # the others only when the archive has some

COL_TITLE, COL_MESSAGES, COL_LAST = range(3)
_INVALID = QModelIndex()


class SessionRole(IntEnum):
    """Custom roles, valid on every column of a session row (and CorpId/SessionType on groups)."""

    SessionIdRole = Qt.ItemDataRole.UserRole + 1
    CorpIdRole = Qt.ItemDataRole.UserRole + 2
    SessionTypeRole = Qt.ItemDataRole.UserRole + 3
    MessageCountRole = Qt.ItemDataRole.UserRole + 4
    LastTimeRole = Qt.ItemDataRole.UserRole + 5  # ms since the epoch, UTC
    ParticipantsRole = Qt.ItemDataRole.UserRole + 6  # list of ids, sorted
    TitleRole = Qt.ItemDataRole.UserRole + 7  # what session_selected carries: names or the room name
    AvatarIdRole = Qt.ItemDataRole.UserRole + 8  # whose picture (or initials) the row shows


def type_label(session_type: str) -> str:
    """The translated name of a session type (unknown types show as they are)."""
    # Literal translate() calls, one per string: pyside6-lupdate only extracts those.
    if session_type == "internal":
        return QCoreApplication.translate("SessionTreeModel", "Internal")
    if session_type == "external":
        return QCoreApplication.translate("SessionTreeModel", "External contacts")
    if session_type == "group":
        return QCoreApplication.translate("SessionTreeModel", "Groups")
    if session_type == "updown":
        return QCoreApplication.translate("SessionTreeModel", "Up/downstream")
    if session_type == "system":
        return QCoreApplication.translate("SessionTreeModel", "System records")
    return session_type


def format_count(n: int) -> str:
    return QLocale().toString(int(n))


def format_activity_time(ms: int, now: QDateTime | None = None, locale: QLocale | None = None) -> str:
    """Local time of ``ms``: "10:32" today, "Jan 2" / "1月2日" this year, else "2024-01-02"."""
    when = QDateTime.fromMSecsSinceEpoch(int(ms))
    now = now or QDateTime.currentDateTime()
    locale = locale or QLocale()
    if when.date() == now.date():
        return when.time().toString("HH:mm")
    if when.date().year() == now.date().year():
        chinese = locale.language() == QLocale.Language.Chinese
        return locale.toString(when.date(), "M月d日" if chinese else "MMM d")
    return when.date().toString("yyyy-MM-dd")


def plain_tooltip(text: str) -> str:
    """A tooltip that shows ``text`` literally: Qt guesses rich text in tooltips, so escape it."""
    return "<qt>" + html.escape(text).replace("\n", "<br>") + "</qt>"


# --------------------------------------------------------------------------- Qt-free loading


@dataclass(frozen=True)
class SessionEntry:
    """One session row as shown: the archive's row and its title, both plain text, and whose picture
    (or initials) stands for it: the room for a group, else the customer, else the first person."""

    row: SessionRow
    title: str
    members: str  # one "name (id)" per line, for the tooltip
    avatar_id: str = ""
    avatar_name: str = ""

    @property
    def session_id(self) -> str:
        return self.row.session_id


@dataclass(frozen=True)
class TitleFormat:
    """Strings the GUI thread translates once, so the pool threads need no Qt."""

    separator: str = ", "
    more: str = "{names} +{more}"


@dataclass(frozen=True)
class FilterSpec:
    """The participant filter of one corp, as ArchiveService takes it; with ``refused`` (the session
    ids of chats with a customer who refused archiving) and/or ``tagged`` (the session ids carrying
    the tree's review tag, on the session or on one of its messages) only those sessions."""

    text: str
    ids: frozenset[str]
    refused: frozenset[str] | None = None
    tagged: frozenset[str] | None = None

    @property
    def only(self) -> frozenset[str] | None:
        """The sessions this filter keeps at most (None: no such limit)."""
        if self.refused is not None and self.tagged is not None:
            return self.refused & self.tagged
        return self.refused if self.refused is not None else self.tagged

    def kwargs(self) -> dict:
        return {"participant_text": self.text, "participant_ids": self.ids} if self.text else {}

    def matches(self, row: SessionRow) -> bool:
        if self.only is not None and row.session_id not in self.only:
            return False
        if not self.text:
            return True
        needle = self.text.casefold()
        return (any(p in self.ids or needle in p.casefold() for p in row.participants)
                or (bool(row.roomid) and (row.roomid in self.ids or needle in row.roomid.casefold())))


@dataclass
class TreeSnapshot:
    """What a (re)load read: corps, counts and the first rows of some groups."""

    corps: list[CorpRow]
    totals: dict[int, dict[str, int]]  # unfiltered counts per corp and type
    counts: dict[int, dict[str, int]]  # filtered counts (the totals when no filter)
    filters: dict[int, FilterSpec | None]
    prefixes: dict[tuple[int, str], list[SessionEntry]] = field(default_factory=dict)


class SessionReader:
    """The model's reads, run on pool threads (no Qt here)."""

    def __init__(self, archive: ArchiveService, directory: Directory, actor: Actor):
        self.archive = archive
        self.directory = directory
        self.actor = actor
        # app.core.archive.SESSION_ORDERS; set by the model (GUI thread) before the reads it starts
        self.order = "newest"

    def _label(self, corp_id: int, userid: str) -> str:
        """``name`` (``name @corp`` for an external contact: the tag WeCom's client shows), or the id."""
        name = self.directory.label(self.actor, corp_id, userid)
        tag = self.directory.corp_tag(self.actor, corp_id, userid)
        return f"{name} {tag}" if tag and name != userid else name

    def entry(self, row: SessionRow, fmt: TitleFormat) -> SessionEntry:
        # Names and ids come from messages and the directory: shown through display_name, so that a
        # right-to-left override or a line break in one cannot disguise it (here, once per row).
        raw = [self._label(row.corp_id, p) for p in row.participants]
        names = [display_name(n) for n in raw]
        members = "\n".join(display_name(i) if n == i else f"{display_name(n)} ({display_name(i)})"
                             for n, i in zip(raw, row.participants, strict=True))
        room = self.directory.name(self.actor, row.corp_id, row.roomid) if row.roomid else None
        if row.roomid:
            avatar = row.roomid
        else:
            avatar = next((p for p in row.participants if looks_like_external_userid(p)),
                          row.participants[0] if row.participants else row.session_id)
        avatar_name = self.directory.name(self.actor, row.corp_id, avatar) or ""
        self.directory.avatar(self.actor, row.corp_id, avatar)  # read here, so painting finds it
        if room:
            return SessionEntry(row, display_name(room), members, avatar, avatar_name)
        if not names:
            return SessionEntry(row, display_name(row.roomid or row.session_id), members, avatar, avatar_name)
        shown = fmt.separator.join(names[:TITLE_MEMBERS])
        if len(names) > TITLE_MEMBERS:
            shown = fmt.more.format(names=shown, more=len(names) - TITLE_MEMBERS)
        return SessionEntry(row, shown, members, avatar, avatar_name)

    def filter_for(self, corp_id: int, text: str, refused: bool = False, tag: str | None = None) -> FilterSpec | None:
        if not text and not refused and not tag:
            return None
        refused_ids = None
        if refused:
            from app.core.directory.compliance import ComplianceService

            refused_ids = frozenset(ComplianceService(self.archive.db, self.directory, self.archive.trail)
                                    .refused_sessions(self.actor, corp_id))
        tagged = None
        if tag:
            from app.core.review import Review

            tagged = frozenset(sid for corp, sid in Review(self.archive.db, self.archive.trail).tags
                               .tagged_sessions(self.actor, tag) if corp == corp_id)
        ids = frozenset(self.directory.ids_matching(self.actor, corp_id, text)) if text else frozenset()
        return FilterSpec(text, ids, refused_ids, tagged)

    def _refused_rows(self, corp_id: int, spec: FilterSpec) -> list[SessionRow]:
        """Every session of ``spec.only`` that exists, in scope and matching the text, in the order."""
        rows = [r for r in (self.archive.session(self.actor, corp_id, sid) for sid in sorted(spec.only or ()))
                if r is not None and spec.matches(r)]
        return sorted(rows, key=session_sort_key(self.order))

    def page(self, corp_id: int, session_type: str, spec: FilterSpec | None, offset: int, limit: int,
             fmt: TitleFormat) -> list[SessionEntry]:
        if spec is not None and spec.only is not None:
            rows = [r for r in self._refused_rows(corp_id, spec) if r.session_type == session_type]
            return [self.entry(r, fmt) for r in rows[offset:offset + limit]]
        rows = self.archive.sessions(self.actor, corp_id, session_type, limit=limit, offset=offset,
                                     order=self.order, **(spec.kwargs() if spec else {}))
        return [self.entry(r, fmt) for r in rows]

    def snapshot(self, text: str, prefixes: dict[tuple[int, str], int], fmt: TitleFormat,
                 refused: bool = False, tag: str | None = None) -> TreeSnapshot:
        corps = self.archive.corps(self.actor)
        totals, counts, filters = {}, {}, {}
        for corp in corps:
            totals[corp.id] = self.archive.session_counts(self.actor, corp.id)
            filters[corp.id] = spec = self.filter_for(corp.id, text, refused, tag)
            if spec is not None and spec.only is not None:
                counts[corp.id] = {}
                for r in self._refused_rows(corp.id, spec):
                    counts[corp.id][r.session_type] = counts[corp.id].get(r.session_type, 0) + 1
            else:
                counts[corp.id] = (self.archive.session_counts(self.actor, corp.id, **spec.kwargs()) if spec
                                   else totals[corp.id])
        snap = TreeSnapshot(corps, totals, counts, filters)
        for (corp_id, stype), limit in prefixes.items():
            if corp_id in filters and counts[corp_id].get(stype, 0):
                snap.prefixes[(corp_id, stype)] = self.page(corp_id, stype, filters[corp_id], 0, limit, fmt)
        return snap

    def locate(self, corp_id: int, session_id: str, spec: FilterSpec | None, loaded: dict[str, int],
               fmt: TitleFormat) -> tuple[str, list[SessionEntry]] | None:
        """(type, its group's rows from the ``loaded`` count of that type on, up to and including
        the session), or None when the session does not exist or the filter hides it."""
        row = self.archive.session(self.actor, corp_id, session_id)
        if row is None or (spec is not None and not spec.matches(row)):
            return None
        if spec is not None and spec.only is not None:  # a short list, loaded whole
            rows = [r for r in self._refused_rows(corp_id, spec) if r.session_type == row.session_type]
            return row.session_type, [self.entry(r, fmt) for r in rows[loaded.get(row.session_type, 0):]]
        found: list[SessionEntry] = []
        offset = loaded.get(row.session_type, 0)
        while True:
            rows = self.archive.sessions(self.actor, corp_id, row.session_type, limit=LOCATE_STEP,
                                         offset=offset, order=self.order, **(spec.kwargs() if spec else {}))
            for r in rows:
                found.append(self.entry(r, fmt))
                if r.session_id == session_id:
                    return row.session_type, found
            if len(rows) < LOCATE_STEP:  # moved above what is loaded since: the caller refreshes
                return row.session_type, found
            offset += len(rows)


# --------------------------------------------------------------------------- the model


class _Node:
    """The root, a corp or a type group. Session rows are entries in a group, not nodes."""

    __slots__ = ("id", "kind", "parent", "row", "corp_id", "corp_name", "session_type", "children",
                 "sessions", "positions", "total", "shown", "loading", "exhausted", "wanted")

    def __init__(self, node_id: int, kind: str, parent: _Node | None, row: int, corp_id: int = 0,
                 session_type: str = "", corp_name: str = ""):
        self.id = node_id
        self.kind = kind  # "root", "corp", "group"
        self.parent = parent
        self.row = row
        self.corp_id = corp_id
        self.corp_name = corp_name
        self.session_type = session_type
        self.children: list[_Node] = []
        self.sessions: list[SessionEntry] = []
        self.positions: dict[str, int] = {}
        self.total = 0  # unfiltered
        self.shown = 0  # matching the filter
        self.loading = False
        self.exhausted = False
        self.wanted = False  # a view showed the last loaded row: the next page may be fetched

    def key(self) -> tuple:
        return (self.kind, self.corp_id, self.session_type)

    def set_sessions(self, entries: list[SessionEntry]) -> None:
        self.sessions = entries
        self.positions = {e.session_id: i for i, e in enumerate(entries)}


class SessionTreeModel(QAbstractItemModel):
    """Corps (only when there are several) → session types → sessions, with three columns:
    title, message count, last activity.

    Reads run in the background: :meth:`fetchMore`, :meth:`set_filter`, :meth:`refresh` and
    :meth:`locate` return at once and apply their result later on the GUI thread.
    """

    loading_finished = Signal()  # a background read was applied (or dropped as stale)
    filter_applied = Signal(str)  # the counts and first pages of this filter text are shown

    def __init__(self, archive: ArchiveService, directory: Directory, actor: Actor,
                 parent=None, *, page_size: int = PAGE_SIZE):
        super().__init__(parent)
        self._reader = SessionReader(archive, directory, actor)
        self._page = page_size
        self._filter_text = ""
        self._refused_only = False
        self._tag_filter: str | None = None  # a review tag's key: only the sessions carrying it
        self._directory = directory
        self._generation = 0
        self._pending = 0  # background reads in flight
        self._refreshing = False
        self._refresh_wanted = False
        self._refreshed_at = -1e9  # time.monotonic() of the last refresh started
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self._start_refresh)
        self._next_id = 1
        self._root = _Node(0, "root", None, 0)
        self._nodes: dict[int, _Node] = {0: self._root}
        self._filters: dict[int, FilterSpec | None] = {}
        self._fmt = TitleFormat()
        # Counts only (one grouped query per corp): cheap enough to show the groups at once.
        self._build(self._reader.snapshot("", {}, self._fmt))

    # ------------------------------------------------------------------ public

    @property
    def filter_text(self) -> str:
        return self._filter_text

    def is_loading(self) -> bool:
        return self._pending > 0

    def shown_count(self) -> int:
        """Sessions matching the filter (all sessions without one), over every corp and type."""
        return sum(g.shown for g in self._groups())

    def total_count(self) -> int:
        return sum(g.total for g in self._groups())

    @property
    def refused_only(self) -> bool:
        return self._refused_only

    def set_refused_only(self, on: bool) -> None:
        """Show only the chats with a customer who refused archiving (app/core/directory/compliance.py),
        with the text filter too; applied like :meth:`set_filter`."""
        self._refused_only = bool(on)
        self.set_filter(self._filter_text)

    @property
    def tag_filter(self) -> str | None:
        return self._tag_filter

    def set_tag_filter(self, tag: str | None) -> None:
        """Show only the sessions carrying the review tag ``tag`` (its key; None: every session), on
        the session itself or on one of its messages; applied like :meth:`set_filter`."""
        self._tag_filter = tag or None
        self.set_filter(self._filter_text)

    #: (column, Qt.SortOrder) -> app.core.archive's session order; the names column has none (names
    #: come from the directory, the archive pages by what it stores)
    SORT_ORDERS = {(COL_LAST, Qt.SortOrder.DescendingOrder): "newest", (COL_LAST, Qt.SortOrder.AscendingOrder): "oldest",
                   (COL_MESSAGES, Qt.SortOrder.DescendingOrder): "most",
                   (COL_MESSAGES, Qt.SortOrder.AscendingOrder): "fewest"}

    @property
    def order(self) -> str:
        return self._reader.order

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort every group by last activity or by message count (the view's header); re-reads the
        groups' first pages in that order like a filter change. Other columns are ignored."""
        wanted = self.SORT_ORDERS.get((column, order))
        if wanted is None or wanted == self._reader.order:
            return
        self._reader.order = wanted
        self.set_filter(self._filter_text)

    def set_filter(self, text: str) -> None:
        """Show only sessions with a participant whose name or id contains ``text`` (resets the
        model when the result arrives; groups that had rows get their first page with it)."""
        text = text.strip()
        self._filter_text = text
        self._generation += 1
        refused, tag = self._refused_only, self._tag_filter
        generation = self._generation
        prefixes = {(g.corp_id, g.session_type): self._page for g in self._groups() if g.sessions}

        def done(snap: TreeSnapshot) -> None:
            if generation == self._generation:
                self.beginResetModel()
                self._build(snap)
                self.endResetModel()
                self.filter_applied.emit(text)

        self._start(lambda: self._reader.snapshot(text, prefixes, self._fmt, refused, tag), done)

    def refresh(self) -> None:
        """Re-read counts and the loaded rows (the sync committed): selection, expansion and
        scroll position stay. Cheap to call often: one refresh runs at a time, at most one starts
        per REFRESH_INTERVAL_MS, and the calls meanwhile are merged into the next one."""
        self._refresh_wanted = True
        if self._refreshing or self._refresh_timer.isActive():
            return
        wait = REFRESH_INTERVAL_MS - int((time.monotonic() - self._refreshed_at) * 1000)
        if wait > 0:
            self._refresh_timer.start(wait)
        else:
            self._start_refresh()

    def _start_refresh(self) -> None:
        if self._refreshing or not self._refresh_wanted:
            return
        self._refresh_wanted = False
        self._refreshing = True
        self._refreshed_at = time.monotonic()
        generation = self._generation
        text = self._filter_text
        prefixes = {(g.corp_id, g.session_type): min(max(len(g.sessions), self._page), REFRESH_CAP)
                    for g in self._groups() if g.sessions}

        def done(snap: TreeSnapshot) -> None:
            self._refreshing = False
            if generation == self._generation:
                self._apply_refresh(snap)
            if self._refresh_wanted:
                self.refresh()

        def failed(exc: Exception) -> None:
            self._refreshing = False
            if self._refresh_wanted:
                self.refresh()

        refused, tag = self._refused_only, self._tag_filter
        self._start(lambda: self._reader.snapshot(text, prefixes, self._fmt, refused, tag), done, failed)

    def session_index(self, corp_id: int, session_id: str, column: int = 0) -> QModelIndex:
        """The index of a loaded session row, or an invalid index."""
        for group in self._groups():
            if group.corp_id == corp_id and session_id in group.positions:
                return self.createIndex(group.positions[session_id], column, group.id)
        return QModelIndex()

    def group_index(self, corp_id: int, session_type: str) -> QModelIndex:
        for group in self._groups():
            if group.corp_id == corp_id and group.session_type == session_type:
                return self._node_index(group)
        return QModelIndex()

    def locate(self, corp_id: int, session_id: str, on_done: Callable[[QModelIndex], None]) -> None:
        """Load rows until ``session_id`` is loaded, then call ``on_done`` with its index (invalid
        when it does not exist or the filter hides it)."""
        found = self.session_index(corp_id, session_id)
        if found.isValid():
            on_done(found)
            return
        generation = self._generation
        spec = self._filters.get(corp_id)
        loaded = {g.session_type: len(g.sessions) for g in self._groups() if g.corp_id == corp_id}
        fmt = self._fmt

        def done(result) -> None:
            if generation != self._generation:  # the filter changed meanwhile: look again under it
                self.locate(corp_id, session_id, on_done)
                return
            if result is None:
                on_done(QModelIndex())
                return
            session_type, entries = result
            group = next((g for g in self._groups()
                          if g.corp_id == corp_id and g.session_type == session_type), None)
            if group is not None:
                self._append(group, entries)
            on_done(self.session_index(corp_id, session_id))

        self._start(lambda: self._reader.locate(corp_id, session_id, spec, loaded, fmt), done,
                    lambda exc: on_done(QModelIndex()))

    def is_session(self, index: QModelIndex) -> bool:
        """True for a session row (not a corp or type group)."""
        parent = self._nodes.get(index.internalId()) if index.isValid() else None
        return parent is not None and parent.kind == "group"

    # ------------------------------------------------------------------ building

    def _new_node(self, kind: str, parent: _Node, row: int, **kw) -> _Node:
        node = _Node(self._next_id, kind, parent, row, **kw)
        self._next_id += 1
        self._nodes[node.id] = node
        parent.children.append(node)
        return node

    @staticmethod
    def _visible_types(totals: dict[str, int]) -> list[str]:
        extra = sorted(t for t, n in totals.items() if n and t not in SESSION_TYPES)
        return [t for t in SESSION_TYPES if t in ALWAYS_SHOWN or totals.get(t, 0)] + extra

    def _layout_key(self, snap: TreeSnapshot) -> list[tuple]:
        return [(c.id, tuple(self._visible_types(snap.totals[c.id]))) for c in snap.corps]

    def _current_layout_key(self) -> list[tuple]:
        out = []
        corps = self._root.children if self._root.children and self._root.children[0].kind == "corp" \
            else [self._root]
        for corp in corps:
            if corp.children:
                out.append((corp.children[0].corp_id, tuple(g.session_type for g in corp.children)))
        return out

    def _build(self, snap: TreeSnapshot) -> None:
        """Replace the whole tree (inside a reset, or before the model has a view)."""
        self._fmt = TitleFormat(self.tr(", "), self.tr("{names} +{more}"))
        self._root = _Node(0, "root", None, 0)
        self._nodes = {0: self._root}
        self._filters = dict(snap.filters)
        several = len(snap.corps) > 1
        for corp in snap.corps:
            holder = self._root
            if several:
                holder = self._new_node("corp", self._root, len(self._root.children), corp_id=corp.id,
                                        corp_name=corp.name or corp.corpid)
            for stype in self._visible_types(snap.totals[corp.id]):
                group = self._new_node("group", holder, len(holder.children), corp_id=corp.id,
                                       session_type=stype)
                group.total = snap.totals[corp.id].get(stype, 0)
                group.shown = snap.counts[corp.id].get(stype, 0)
                group.set_sessions(snap.prefixes.get((corp.id, stype), []))
                group.exhausted = len(group.sessions) >= group.shown
            if several:
                holder.total = sum(g.total for g in holder.children)
                holder.shown = sum(g.shown for g in holder.children)

    def _groups(self) -> list[_Node]:
        return [n for n in self._nodes.values() if n.kind == "group"]

    # ------------------------------------------------------------------ background reads

    def _start(self, fn, on_done, on_error=None) -> None:
        self._pending += 1

        def finish(result) -> None:
            self._pending -= 1
            on_done(result)
            self.loading_finished.emit()

        def fail(exc: Exception) -> None:
            self._pending -= 1
            if on_error is not None:
                on_error(exc)
            self.loading_finished.emit()

        run_task(self, fn, finish, fail, pool=interactive_pool())

    def _append(self, group: _Node, entries: list[SessionEntry]) -> None:
        fresh = [e for e in entries if e.session_id not in group.positions]
        if not fresh:
            return
        parent = self._node_index(group)
        first = len(group.sessions)
        self.beginInsertRows(parent, first, first + len(fresh) - 1)
        for i, e in enumerate(fresh, first):
            group.sessions.append(e)
            group.positions[e.session_id] = i
        self.endInsertRows()

    def _apply_refresh(self, snap: TreeSnapshot) -> None:
        if self._layout_key(snap) != self._current_layout_key():  # a corp or a type appeared
            self.beginResetModel()
            self._build(snap)
            self.endResetModel()
            return
        self._filters = dict(snap.filters)
        flipped = False
        for group in self._groups():
            totals, counts = snap.totals[group.corp_id], snap.counts[group.corp_id]
            before = (group.total, group.shown)
            had_children = group.shown > 0
            group.total, group.shown = totals.get(group.session_type, 0), counts.get(group.session_type, 0)
            flipped |= had_children != (group.shown > 0) and not group.sessions
            fresh = snap.prefixes.get((group.corp_id, group.session_type))
            if fresh is not None:
                self._merge(group, fresh)
            group.exhausted = len(group.sessions) >= group.shown
            if before != (group.total, group.shown):
                index = self._node_index(group)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])
        for corp in self._root.children:
            if corp.kind == "corp":
                corp.total = sum(g.total for g in corp.children)
                corp.shown = sum(g.shown for g in corp.children)
                index = self._node_index(corp)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])
        if flipped:  # views cache whether a row has children; make them ask again
            self.layoutAboutToBeChanged.emit()
            self.layoutChanged.emit()

    def _merge(self, group: _Node, fresh: list[SessionEntry]) -> None:
        """Make ``group`` start with ``fresh`` (the newest rows as read now), keeping the other
        loaded rows after them in their order, with row signals views and selections follow."""
        fresh_ids = {e.session_id for e in fresh}
        merged = fresh + [e for e in group.sessions if e.session_id not in fresh_ids]
        parent = self._node_index(group)
        if [e.session_id for e in merged] != [e.session_id for e in group.sessions]:
            self._append(group, [e for e in fresh if e.session_id not in group.positions])
            self.layoutAboutToBeChanged.emit()
            before = [e.session_id for e in group.sessions]
            group.set_sessions(merged)
            moved_from, moved_to = [], []
            for index in self.persistentIndexList():
                if index.isValid() and index.internalId() == group.id:
                    moved_from.append(index)
                    moved_to.append(self.createIndex(group.positions[before[index.row()]], index.column(),
                                                     group.id))
            self.changePersistentIndexList(moved_from, moved_to)
            self.layoutChanged.emit()
        elif merged == group.sessions:
            return
        else:
            group.set_sessions(merged)
        if group.sessions:
            self.dataChanged.emit(self.index(0, 0, parent),
                                  self.index(len(group.sessions) - 1, COL_LAST, parent))

    # ------------------------------------------------------------------ index plumbing

    def _node_index(self, node: _Node, column: int = 0) -> QModelIndex:
        if node.kind == "root":
            return QModelIndex()
        return self.createIndex(node.row, column, node.parent.id)

    def _node_of(self, index: QModelIndex) -> _Node | None:
        """The node ``index`` stands for (the root for an invalid index; None for a session row)."""
        if not index.isValid():
            return self._root
        parent = self._nodes.get(index.internalId())
        if parent is None or parent.kind == "group":
            return None
        return parent.children[index.row()]

    def _entry(self, index: QModelIndex) -> tuple[_Node, SessionEntry] | None:
        parent = self._nodes.get(index.internalId())
        if parent is None or parent.kind != "group" or index.row() >= len(parent.sessions):
            return None
        return parent, parent.sessions[index.row()]

    # ------------------------------------------------------------------ QAbstractItemModel

    def index(self, row: int, column: int, parent: QModelIndex = _INVALID) -> QModelIndex:
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        node = self._node_of(parent)
        return self.createIndex(row, column, node.id) if node is not None else QModelIndex()

    def parent(self, index: QModelIndex | None = None):  # without an index: QObject.parent()
        if index is None:
            return super().parent()
        if not index.isValid():
            return QModelIndex()
        parent = self._nodes.get(index.internalId())
        if parent is None or parent.kind == "root":
            return QModelIndex()
        return self._node_index(parent)

    def rowCount(self, parent: QModelIndex = _INVALID) -> int:
        if parent.column() > 0:
            return 0
        node = self._node_of(parent)
        if node is None:
            return 0
        return len(node.sessions) if node.kind == "group" else len(node.children)

    def columnCount(self, parent: QModelIndex = _INVALID) -> int:
        return 3

    def hasChildren(self, parent: QModelIndex = _INVALID) -> bool:
        if parent.column() > 0:
            return False
        node = self._node_of(parent)
        if node is None:
            return False
        return node.shown > 0 if node.kind == "group" else bool(node.children)

    def canFetchMore(self, parent: QModelIndex) -> bool:
        """True for a group with no rows yet, or one a view asked more of with :meth:`want_more`.

        Deliberately not for every group with rows left: QTreeView calls fetchMore on every expanded
        parent that can fetch, at each relayout, and each page inserted relayouts, so a truthful
        answer would read all 50,000 sessions within seconds of opening."""
        node = self._node_of(parent) if parent.isValid() and parent.column() == 0 else None
        return (node is not None and node.kind == "group" and not node.loading and not node.exhausted
                and len(node.sessions) < node.shown and (not node.sessions or node.wanted))

    def has_more(self, parent: QModelIndex) -> bool:
        """The group has sessions that are not loaded yet."""
        node = self._node_of(parent) if parent.isValid() and parent.column() == 0 else None
        return (node is not None and node.kind == "group" and not node.exhausted
                and len(node.sessions) < node.shown)

    def want_more(self, parent: QModelIndex) -> None:
        """Fetch the next page of this group (a view shows its last loaded row)."""
        node = self._node_of(parent) if parent.isValid() and parent.column() == 0 else None
        if node is not None and node.kind == "group":
            node.wanted = True
            self.fetchMore(parent)

    def fetchMore(self, parent: QModelIndex) -> None:
        if not self.canFetchMore(parent):
            return
        group = self._node_of(parent)
        group.loading = True
        group.wanted = False
        generation, spec, offset = self._generation, self._filters.get(group.corp_id), len(group.sessions)
        corp_id, stype, limit, fmt = group.corp_id, group.session_type, self._page, self._fmt

        def done(entries: list[SessionEntry]) -> None:
            group.loading = False
            if generation != self._generation or self._nodes.get(group.id) is not group:
                return
            if len(entries) < limit:  # fewer than the count said: the count was older
                group.exhausted = True
            self._append(group, entries)
            if len(group.sessions) >= group.shown:
                group.exhausted = True

        def failed(exc: Exception) -> None:
            group.loading = False
            group.exhausted = True  # do not retry in a loop; the next refresh tries again

        self._start(lambda: self._reader.page(corp_id, stype, spec, offset, limit, fmt), done, failed)

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self.is_session(index):
            flags |= Qt.ItemFlag.ItemNeverHasChildren
        return flags

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return (self.tr("Session"), self.tr("Msgs"), self.tr("Last"))[section] if 0 <= section < 3 else None
        if role == Qt.ItemDataRole.ToolTipRole and orientation == Qt.Orientation.Horizontal:
            return (self.tr("Participants or group name"), self.tr("Messages in the session"),
                    self.tr("Last activity"))[section] if 0 <= section < 3 else None
        if role == Qt.ItemDataRole.TextAlignmentRole and section in (COL_MESSAGES, COL_LAST):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def roleNames(self) -> dict[int, bytes]:
        names = super().roleNames()
        names.update({int(r): r.name[0].lower().encode() + r.name[1:-4].encode() for r in SessionRole})
        return names

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        found = self._entry(index)
        if found is None:
            node = self._node_of(index)
            return None if node is None else self._node_data(node, index.column(), role)
        _group, entry = found
        row = entry.row
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == COL_TITLE:
                return entry.title
            if column == COL_MESSAGES:
                return format_count(row.message_count)
            return format_activity_time(row.last_msgtime)
        if role == Qt.ItemDataRole.TextAlignmentRole and column != COL_TITLE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == COL_LAST:
                from app.ui.viewer.render import zone_label  # (the viewer's package imports widgets)

                return plain_tooltip(QDateTime.fromMSecsSinceEpoch(row.last_msgtime).toString("yyyy-MM-dd HH:mm:ss")
                                     + " " + zone_label(row.last_msgtime))
            return plain_tooltip(entry.title + "\n\n" + entry.members if entry.members != entry.title
                                 else entry.title)
        if role == SessionRole.SessionIdRole:
            return row.session_id
        if role == SessionRole.CorpIdRole:
            return row.corp_id
        if role == SessionRole.SessionTypeRole:
            return row.session_type
        if role == SessionRole.MessageCountRole:
            return row.message_count
        if role == SessionRole.LastTimeRole:
            return row.last_msgtime
        if role == SessionRole.ParticipantsRole:
            return list(row.participants)
        if role == SessionRole.TitleRole:
            return entry.title
        if role == SessionRole.AvatarIdRole:
            return entry.avatar_id
        if role == Qt.ItemDataRole.DecorationRole and column == COL_TITLE and entry.avatar_id:
            picture = self._directory.peek_avatar(row.corp_id, entry.avatar_id)
            return avatar_icon(picture, entry.avatar_name or entry.title, entry.avatar_id)
        return None

    def _node_data(self, node: _Node, column: int, role: int):
        if role == SessionRole.CorpIdRole:
            return node.corp_id
        if role == SessionRole.SessionTypeRole and node.kind == "group":
            return node.session_type
        if column != COL_TITLE:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, SessionRole.TitleRole):
            label = type_label(node.session_type) if node.kind == "group" else display_name(node.corp_name)
            if self._filter_text or self._refused_only or self._tag_filter:
                # Sessions, said so: a bare "(1,234)" beside the messages column read as a message count.
                return self.tr("{label} · {shown} of {total} sessions").format(
                    label=label, shown=format_count(node.shown), total=format_count(node.total))
            if node.total == 1:
                return self.tr("{label} · 1 session").format(label=label)
            return self.tr("{label} · {count} sessions").format(label=label, count=format_count(node.total))
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            return font
        return None
