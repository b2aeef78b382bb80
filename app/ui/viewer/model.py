"""The messages of one session as a lazy list model: a window of rows, paged by (msgtime, id).

A session may hold hundreds of thousands of messages. The model never loads them all: it holds a
window of at most ``MAX_ROWS`` rows and extends it a page (``PAGE_SIZE``) at a time, at the top
(older) or the bottom (newer), trimming the far end so the window stays bounded. Opening a session,
a message or a date replaces the window with the rows around the target.

Pages load off the GUI thread (``run_task``): each page fetches its rows through
``ArchiveService.messages``, then the stored raw JSON of its rows (``ArchiveService.raw_json_of``,
one query per page) which it parses, and the media rows of the messages that have media. Results
reach the model on the GUI thread; a page that belongs to a window that was replaced meanwhile is
dropped.

Opening a conversation (``open_latest`` / ``open_at_message`` with ``record_open=True``: the viewer
passes it when a person opens another session) first calls ``ArchiveService.open_session`` in the
same worker task, which records ``session.open`` in the audit trail; page reads are not recorded.
If the core refuses (no ``messages.read``, or a session outside the account's scope) no page is
read: ``access_denied(message)`` is emitted and the window is emptied.

Prefetching: the view asks for the page beyond either end of the window before the user gets
there (``prefetch_older``/``prefetch_newer``); the page is loaded off the GUI thread and *staged*
(``page_staged(direction)``: the view lays its rows out ahead, a few at a time), and shown at once
when the user reaches that end. A window opened at its newest message starts with ``OPEN_ROWS``
rows (what a screen shows, quick to lay out) and the page before them is prefetched at once.

Fetching directions:
    ``canFetchMore``/``fetchMore`` are Qt's hook, and Qt calls them when the *last* row is visible
    (QAbstractItemView fetches whenever the bottom of the list shows): they extend the window at the
    bottom (newer). Mapping them to "older" would make a view opened at the newest message pull
    the whole session, page after page, since its last row never leaves the screen.
    ``can_fetch_older``/``fetch_older`` extend it at the top; the viewer calls them when the user
    scrolls to the top.
Around every change of the window the model emits ``window_about_to_change`` and
``window_changed`` so the view can keep what the user looks at in place.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from functools import partial
from typing import NamedTuple

from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt, Signal

from app.core.actor import Actor
from app.core.archive import ArchiveService, MediaRow, MessageRow, SessionRow
from app.core.auth import PermissionDenied
from app.core.directory import Directory
from app.core.messages import MessageParseError, ParsedMessage, parse_message
from app.core.safe_text import display_name, display_text
from app.ui.language import error_sentence

from ..tasks import interactive_pool, run_task
from .render import format_time, summary_of

log = logging.getLogger(__name__)

PAGE_SIZE = 200
MAX_ROWS = 600    # every change of the window lays all its rows out again (QListView): keep it small
OPEN_ROWS = 40    # a session opened at its newest message starts with these (a screen and more): the rest is prefetched
_EXTERNAL_PREFIXES = ("wo", "wm", "wb")
_ID_PUNCT = str.maketrans("", "", "_-")
_ROOT = QModelIndex()


class Roles(IntEnum):
    MessageRole = Qt.ItemDataRole.UserRole + 1   # MessageRow
    ParsedRole = Qt.ItemDataRole.UserRole + 2    # ParsedMessage (None if the raw JSON did not parse)
    SenderLabelRole = Qt.ItemDataRole.UserRole + 3  # the sender's name, else the id
    TimeRole = Qt.ItemDataRole.UserRole + 4      # msgtime, ms since the epoch (UTC)
    IsDaySeparatorRole = Qt.ItemDataRole.UserRole + 5  # first row of its local day in the window
    MediaRole = Qt.ItemDataRole.UserRole + 6     # list[MediaRow]
    HighlightRole = Qt.ItemDataRole.UserRole + 7  # the search target
    SideRole = Qt.ItemDataRole.UserRole + 8      # Side
    ExpandedRole = Qt.ItemDataRole.UserRole + 9  # chatrecord/mixed shown whole
    MessageIdRole = Qt.ItemDataRole.UserRole + 10


class Side(IntEnum):
    LEFT = 0
    RIGHT = 1


class RowFacts(NamedTuple):
    """What a row's layout depends on, for a row of the window or of a staged page."""

    row: MessageRow
    parsed: ParsedMessage | None
    media: list[MediaRow]
    day: bool  # starts a day
    expanded: bool
    side: Side


def is_external_id(userid: str) -> bool:
    """External contacts (wo/wm) and robots (wb): WeCom's ids of that shape, ~32 chars.

    Judged by shape, as the core's session rules do, so that staff called "wong" or "wmeng" stay staff.
    """
    return (userid[:2] in _EXTERNAL_PREFIXES and 20 <= len(userid) <= 40 and userid.isascii()
            and userid.translate(_ID_PUNCT).isalnum())


def own_side_rule(participants) -> tuple[bool, str | None]:
    """(has_external, first_participant): the inputs of ``side_of``. ``first_participant`` is None
    for a staff-only group: there is no "other side", so everyone reads as a transcript (left)."""
    people = sorted(p for p in participants if p)
    has_external = any(is_external_id(p) for p in people)
    if not has_external and len(people) > 2:
        return False, None
    return has_external, (people[0] if people else "")


def side_of(sender: str, has_external: bool, first_participant: str | None) -> Side:
    """Which side a sender's bubbles sit on.

    With external contacts (or robots) in the session, staff sit on the right ("our side") and
    everyone else on the left. In an internal session the first participant of the sorted
    participant list sits on the left and everyone else on the right, so a one-to-one chat between
    two staff members reads as a conversation and stays the same every time it is opened; in a
    staff-only group everyone sits on the left, like a transcript.
    """
    if has_external:
        return Side.LEFT if is_external_id(sender) else Side.RIGHT
    if first_participant is None:  # a staff-only group
        return Side.LEFT
    return Side.LEFT if sender == first_participant else Side.RIGHT


@dataclass
class Page:
    """Rows loaded by a worker, with everything the delegate needs to draw them."""

    rows: list[MessageRow]
    parsed: dict[int, ParsedMessage | None] = field(default_factory=dict)
    media: dict[int, list[MediaRow]] = field(default_factory=dict)
    more_before: bool = False
    more_after: bool = False
    target_id: int | None = None
    opened: bool = False  # the read began with ArchiveService.open_session (recorded)
    session: SessionRow | None = None  # what open_session returned (None: no such session)


class MessageListModel(QAbstractListModel):
    """A window onto one session's messages (see the module docstring)."""

    window_about_to_change = Signal()
    window_changed = Signal()
    #: a new window is shown; the id of the row to bring into view (-1: the newest, at the bottom)
    window_opened = Signal("qint64")
    loading_changed = Signal(bool)
    load_failed = Signal(str)
    #: the session a person opened (``record_open``), as ArchiveService.open_session returned it
    #: (a SessionRow, or None if the archive has no such session); emitted before window_opened
    session_opened = Signal(object)
    #: the core refused to open the session (the reason, one sentence); the window is now empty
    access_denied = Signal(str)
    #: the media rows of these messages changed (a download finished): their bubbles must be drawn anew
    media_updated = Signal(list)
    #: a prefetched page is staged beyond one end of the window ("older" or "newer"): see staged_facts
    page_staged = Signal(str)

    def __init__(self, archive: ArchiveService, directory: Directory, actor: Actor, parent=None, *,
                 page_size: int = PAGE_SIZE, max_rows: int = MAX_ROWS, open_rows: int = OPEN_ROWS):
        super().__init__(parent)
        self.archive = archive
        self.directory = directory
        self.actor = actor
        self.max_rows = max(max_rows, 3 * page_size)
        self.corp_id: int | None = None
        self.session_id: str | None = None
        self._rows: list[MessageRow] = []
        self._row_of: dict[int, int] = {}
        self._parsed: dict[int, ParsedMessage | None] = {}
        self._media: dict[int, list[MediaRow]] = {}
        self._day: dict[int, int] = {}
        self._labels: dict[str, str] = {}
        self._expanded: set[int] = set()
        self._highlight: int | None = None
        self._more_before = False
        self._more_after = False
        self._generation = 0
        self._loading: set[str] = set()
        self._staged: dict[str, tuple[tuple[int, int], Page]] = {}  # direction → (edge key, page)
        self._prefetching: set[str] = set()
        self._wanted: set[str] = set()  # directions the view asked to extend while their page loaded
        self._has_external = False
        self._first_participant = ""
        self.synchronous = False  # tests and benchmarks may load inline; the GUI never does
        self._loader = PageLoader(archive, directory, actor, page_size, open_rows)

    @property
    def page_size(self) -> int:
        return self._loader.page_size

    @page_size.setter
    def page_size(self, n: int) -> None:
        self._loader.page_size = n

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def roleNames(self):
        names = super().roleNames()
        for role in Roles:
            names[int(role)] = role.name[0].lower().encode() + role.name[1:].encode()
        return names

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.column() != 0 or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.line_of(row)
        if role == Roles.MessageRole:
            return row
        if role == Roles.MessageIdRole:
            return row.id
        if role == Roles.ParsedRole:
            return self.parsed(row)
        if role == Roles.SenderLabelRole:
            return self.label(row.sender)
        if role == Roles.TimeRole:
            return row.msgtime
        if role == Roles.IsDaySeparatorRole:
            i = index.row()
            return i == 0 or self._day_of(row) != self._day_of(self._rows[i - 1])
        if role == Roles.MediaRole:
            return self._media.get(row.id, [])
        if role == Roles.HighlightRole:
            return row.id == self._highlight
        if role == Roles.SideRole:
            return int(side_of(row.sender, self._has_external, self._first_participant))
        if role == Roles.ExpandedRole:
            return row.id in self._expanded
        return None

    def canFetchMore(self, parent=_ROOT) -> bool:
        """Newer rows exist below the window (Qt asks when the last row is visible)."""
        return not parent.isValid() and self.can_fetch_newer()

    def fetchMore(self, parent=_ROOT) -> None:
        if not parent.isValid():
            self.fetch_newer()

    # ------------------------------------------------------------------ reading the window
    def layout_key(self, row: int) -> tuple[int, bool, bool, Side]:
        """(message id, starts a day, expanded, side) of a row: what the delegate's layout depends on,
        in one call (the delegate asks for every row whenever the view lays the window out)."""
        r = self._rows[row]
        day = row == 0 or self._day_of(r) != self._day_of(self._rows[row - 1])
        return r.id, day, r.id in self._expanded, side_of(r.sender, self._has_external, self._first_participant)

    def staged_facts(self, direction: str) -> list[RowFacts]:
        """The rows of the page staged beyond that end of the window, as they will be shown."""
        staged = self._staged.get(direction)
        if staged is None:
            return []
        page, out = staged[1], []
        before = None if direction == "older" or not self._rows else _day_number(self._rows[-1])
        for r in page.rows:  # (days not kept in _day: a staged page may be dropped unseen)
            day = _day_number(r)
            side = side_of(r.sender, self._has_external, self._first_participant)
            out.append(RowFacts(r, page.parsed.get(r.id), page.media.get(r.id, []), day != before,
                                r.id in self._expanded, side))
            before = day
        return out

    def message_at(self, row: int) -> MessageRow:
        return self._rows[row]

    def row_of(self, message_id: int) -> int:
        """The row of a message in the window, or -1."""
        return self._row_of.get(message_id, -1)

    def message_ids(self) -> list[int]:
        return [r.id for r in self._rows]

    @property
    def has_more_before(self) -> bool:
        return self._more_before

    @property
    def has_more_after(self) -> bool:
        return self._more_after

    def is_loading(self) -> bool:
        return bool(self._loading)

    def parsed(self, row: MessageRow) -> ParsedMessage | None:
        """The parsed message (pages parse in their worker; this parses a row that missed it)."""
        if row.id not in self._parsed:
            self._parsed[row.id] = _parse(self.archive, self.actor, row)
        return self._parsed[row.id]

    def media(self, message_id: int) -> list[MediaRow]:
        return self._media.get(message_id, [])

    def label(self, userid: str) -> str:
        if not userid:
            return ""
        name = self._labels.get(userid)
        if name is None:
            name = self._labels[userid] = display_name(self.directory.label(self.actor, self.corp_id, userid)
                                                        if self.corp_id is not None else userid)
        return name

    def corp_tag(self, userid: str) -> str:
        """The tag WeCom's client shows after an external contact's name (``@微信``, ``@蓝鲸科技``), else ""."""
        if not userid or self.corp_id is None:
            return ""
        return self.directory.corp_tag(self.actor, self.corp_id, userid)

    def avatar(self, userid: str) -> bytes | None:
        """The sender's picture as the directory downloaded it (read by the page loader), or None."""
        return self.directory.peek_avatar(self.corp_id, userid) if userid and self.corp_id is not None else None

    @property
    def is_group(self) -> bool:
        """The open session is a group chat (senders are told apart by colour)."""
        return bool(self._rows) and bool(self._rows[0].roomid)

    def line_of(self, row: MessageRow, time_format: str = "HH:mm") -> str:
        """One plain-text line: "2025-01-02 10:00 张伟: 你好" (text in full, other types summarised)."""
        parsed = self.parsed(row)
        if parsed is not None and row.msgtype in ("text", "markdown"):
            body = getattr(parsed.content, "content", None) or summary_of(parsed)
        else:
            body = summary_of(parsed) if parsed is not None else f"[{row.msgtype}]"
        sender = self.label(row.sender)
        body = display_text(body)
        line = f"{format_time(row.msgtime, time_format)} {sender}: {body}" if sender else \
            f"{format_time(row.msgtime, time_format)} {body}"
        if row.recalled_at:
            line += " " + self.tr("[recalled at {time}]").format(time=format_time(row.recalled_at))
        return line

    def _day_of(self, row: MessageRow) -> int:
        day = self._day.get(row.id)
        if day is None:
            day = self._day[row.id] = _day_number(row)
        return day

    # ------------------------------------------------------------------ state the view changes
    def set_highlight(self, message_id: int | None) -> None:
        old, self._highlight = self._highlight, message_id
        for mid in (old, message_id):
            r = self.row_of(mid) if mid is not None else -1
            if r >= 0:
                ix = self.index(r)
                self.dataChanged.emit(ix, ix, [int(Roles.HighlightRole)])

    def highlighted(self) -> int | None:
        return self._highlight

    def toggle_expanded(self, message_id: int) -> bool:
        """Show a chatrecord/mixed message whole or collapsed; returns the new state."""
        if message_id in self._expanded:
            self._expanded.discard(message_id)
        else:
            self._expanded.add(message_id)
        r = self.row_of(message_id)
        if r >= 0:
            ix = self.index(r)
            self.dataChanged.emit(ix, ix, [int(Roles.ExpandedRole)])
        return message_id in self._expanded

    # ------------------------------------------------------------------ opening a window
    def clear(self) -> None:
        self._generation += 1
        self._set_loading(None)
        self.beginResetModel()
        self.corp_id = self.session_id = None
        self._reset_state()
        self.endResetModel()

    def open_latest(self, corp_id: int, session_id: str, *, record_open: bool = False) -> None:
        """Show the newest page of a session; ``window_opened(-1)`` follows. ``record_open``: a
        person opens this conversation now (see the module docstring)."""
        self._open(corp_id, session_id, partial(self._loader.latest, corp_id, session_id), record_open)

    def open_at_message(self, corp_id: int, session_id: str, message_id: int, *, record_open: bool = False) -> None:
        """Show the rows around one message; ``window_opened(message_id)`` follows."""
        self._open(corp_id, session_id, partial(self._loader.around_id, corp_id, session_id, message_id),
                   record_open)

    def open_at_time(self, corp_id: int, session_id: str, start_ms: int) -> None:
        """Show the first message at or after ``start_ms`` (the last message if none is)."""
        self._open(corp_id, session_id, partial(self._loader.at_time, corp_id, session_id, start_ms))

    def _open(self, corp_id: int, session_id: str, loader, record_open: bool = False) -> None:
        self._labels.clear()  # names may have changed since (a directory sync)
        self._generation += 1
        generation = self._generation
        self.corp_id, self.session_id = corp_id, session_id
        self._loading.clear()
        self._set_loading("open")
        if record_open:
            loader = partial(self._loader.opened, corp_id, session_id, loader)
            # A refusal applies to the session, not to one read of it: it is shown even when a later
            # read of the same session (which would find nothing in scope) replaced this one.
            failed = weak_callback(self._open_failed, corp_id, session_id, generation)
            self._run(loader, weak_callback(self._opened, generation), failed)
        else:
            self._run(loader, weak_callback(self._opened, generation))

    def _open_failed(self, corp_id: int, session_id: str, generation: int, exc: Exception) -> None:
        denied = isinstance(exc, PermissionDenied) and (corp_id, session_id) == (self.corp_id, self.session_id)
        if not denied and generation != self._generation:
            return
        # The rows of the session shown before must not stay under the header of this one.
        self.beginResetModel()
        self._reset_state()
        self.endResetModel()
        if denied:
            self._generation += 1  # later pages of this session are not shown either
            self._set_loading(None)
            self.access_denied.emit(error_sentence(exc))
        else:
            self._failed(generation, exc)

    def _opened(self, generation: int, page: Page) -> None:
        if generation != self._generation:
            return
        self._set_loading(None)
        if page.opened:
            self.session_opened.emit(page.session)
        self.beginResetModel()
        self._reset_state()
        self._has_external, self._first_participant = own_side_rule(
            {p for r in page.rows for p in (r.sender, *r.tolist)})
        self._rows = list(page.rows)
        self._absorb(page)
        self._reindex()
        self._more_before, self._more_after = page.more_before, page.more_after
        self.endResetModel()
        self.window_opened.emit(page.target_id if page.target_id is not None else -1)

    def _reset_state(self) -> None:
        self._rows, self._row_of = [], {}
        self._parsed, self._media, self._day = {}, {}, {}
        self._expanded.clear()
        self._highlight = None
        self._more_before = self._more_after = False
        self._staged.clear()
        self._prefetching.clear()
        self._wanted.clear()

    # ------------------------------------------------------------------ extending the window
    def can_fetch_older(self) -> bool:
        return self._more_before and "older" not in self._loading and "open" not in self._loading

    def can_fetch_newer(self) -> bool:
        return self._more_after and "newer" not in self._loading and "open" not in self._loading

    def fetch_older(self) -> None:
        """Show the page before the first row (prepended, the bottom trimmed): at once if it is staged,
        else when it has loaded."""
        if self.can_fetch_older() and self._rows:
            self._fetch("older")

    def fetch_newer(self) -> None:
        """Show the page after the last row (appended, the top trimmed)."""
        if self.can_fetch_newer() and self._rows:
            self._fetch("newer")

    def prefetch_older(self) -> None:
        """Load the page before the window and stage it (``page_staged``), unless it is or loads."""
        self._prefetch("older")

    def prefetch_newer(self) -> None:
        self._prefetch("newer")

    def _edge(self, direction: str) -> tuple[int, int] | None:
        if not self._rows:
            return None
        r = self._rows[0] if direction == "older" else self._rows[-1]
        return r.msgtime, r.id

    def _fetch(self, direction: str) -> None:
        staged = self._staged.pop(direction, None)
        if staged is not None and staged[0] == self._edge(direction):
            self._show(direction, staged[1])
            return
        self._wanted.add(direction)
        self._set_loading(direction)
        self._prefetch(direction)

    def _prefetch(self, direction: str) -> None:
        more = self._more_before if direction == "older" else self._more_after
        edge = self._edge(direction)
        if not more or edge is None or "open" in self._loading or direction in self._prefetching \
                or direction in self._staged:
            return
        corp_id, session_id, generation = self.corp_id, self.session_id, self._generation
        where = {"before": edge} if direction == "older" else {"after": edge}
        self._prefetching.add(direction)
        self._run(partial(self._loader.page, corp_id, session_id, **where),
                  weak_callback(self._prefetched, generation, direction, edge),
                  weak_callback(self._prefetch_failed, generation, direction))

    def _prefetched(self, generation: int, direction: str, edge: tuple[int, int], page: Page) -> None:
        if generation != self._generation:
            return
        self._prefetching.discard(direction)
        if edge != self._edge(direction):  # that end of the window moved meanwhile (trimmed)
            if direction in self._wanted:
                self._prefetch(direction)
            return
        if direction in self._wanted:
            self._show(direction, page)
        else:
            self._staged[direction] = (edge, page)
            self.page_staged.emit(direction)

    def _prefetch_failed(self, generation: int, direction: str, exc: Exception) -> None:
        if generation != self._generation:
            return
        self._prefetching.discard(direction)
        if direction in self._wanted:
            self._wanted.discard(direction)
            self._failed(generation, exc)
        else:  # nobody waits for it: the page is read again when the user gets there
            log.warning("prefetching messages failed: %s", exc)

    def _show(self, direction: str, page: Page) -> None:
        self._wanted.discard(direction)
        if direction == "older":
            self._prepend(self._generation, page)
        else:
            self._append(self._generation, page)

    def _prepend(self, generation: int, page: Page) -> None:
        if generation != self._generation:
            return
        self._loading.discard("older")
        self.window_about_to_change.emit()
        self._more_before = page.more_before
        if page.rows:
            self._absorb(page)
            n = len(page.rows)
            self.beginInsertRows(QModelIndex(), 0, n - 1)
            self._rows[:0] = page.rows
            self._reindex()
            self.endInsertRows()
            if len(self._rows) > n:  # the old first row may no longer start a day
                ix = self.index(n)
                self.dataChanged.emit(ix, ix, [int(Roles.IsDaySeparatorRole)])
            excess = len(self._rows) - self.max_rows
            if excess > 0:
                self.beginRemoveRows(QModelIndex(), len(self._rows) - excess, len(self._rows) - 1)
                self._forget(self._rows[-excess:])
                del self._rows[-excess:]
                self._reindex()
                self.endRemoveRows()
                self._more_after = True
                self._staged.pop("newer", None)
        self.window_changed.emit()
        self.loading_changed.emit(self.is_loading())

    def _append(self, generation: int, page: Page) -> None:
        if generation != self._generation:
            return
        self._loading.discard("newer")
        self.window_about_to_change.emit()
        self._more_after = page.more_after
        if page.rows:
            self._absorb(page)
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(page.rows) - 1)
            self._rows.extend(page.rows)
            self._reindex()
            self.endInsertRows()
            excess = len(self._rows) - self.max_rows
            if excess > 0:
                self.beginRemoveRows(QModelIndex(), 0, excess - 1)
                self._forget(self._rows[:excess])
                del self._rows[:excess]
                self._reindex()
                self.endRemoveRows()
                self._more_before = True
                self._staged.pop("older", None)
                ix = self.index(0)  # the new first row starts the window's first day
                self.dataChanged.emit(ix, ix, [int(Roles.IsDaySeparatorRole)])
        self.window_changed.emit()
        self.loading_changed.emit(self.is_loading())

    # ------------------------------------------------------------------ after a sync
    def refresh(self) -> None:
        """Re-read what a sync or a background job may have changed in the window, off the GUI thread:
        the media rows of its messages whose media are not all stored yet ("Download pending" turns
        into the picture), and newer messages when the window ends at the session's newest one."""
        if self.corp_id is None or not self._rows or "open" in self._loading:
            return
        waiting = [mid for mid, media in self._media.items()
                   if self.row_of(mid) >= 0 and (not media or any(m.status != "stored" for m in media))]
        generation, archive, actor = self._generation, self.archive, self.actor
        if waiting:
            self._run(lambda: _media_rows(archive, actor, waiting), weak_callback(self._media_read, generation))
        if not self._more_after:  # the newest message is shown: the sync may have stored later ones
            self._more_after = True
            self.fetch_newer()

    def _media_read(self, generation: int, media: dict[int, list[MediaRow]]) -> None:
        if generation != self._generation:
            return
        changed = []
        for mid, rows in media.items():
            if self.row_of(mid) >= 0 and rows != self._media.get(mid):
                self._media[mid] = rows
                changed.append(mid)
        if changed:
            self.media_updated.emit(changed)
            for mid in changed:
                ix = self.index(self.row_of(mid))
                self.dataChanged.emit(ix, ix, [int(Roles.MediaRole)])

    def _absorb(self, page: Page) -> None:
        self._parsed.update(page.parsed)
        self._media.update(page.media)

    def _forget(self, rows: list[MessageRow]) -> None:
        for r in rows:
            self._parsed.pop(r.id, None)
            self._media.pop(r.id, None)
            self._day.pop(r.id, None)
            self._expanded.discard(r.id)

    def _reindex(self) -> None:
        self._row_of = {r.id: i for i, r in enumerate(self._rows)}

    # ------------------------------------------------------------------ running loads
    def _set_loading(self, what: str | None) -> None:
        before = self.is_loading()
        if what is None:
            self._loading.clear()
        else:
            self._loading.add(what)
        if before != self.is_loading():
            self.loading_changed.emit(self.is_loading())

    def _run(self, fn, done, failed=None) -> None:
        """``fn`` on a worker (inline when ``synchronous``), then ``done(result)`` here (``failed(exc)``
        if it raised; by default :meth:`_failed` for the current generation)."""
        failed = failed or weak_callback(self._failed, self._generation)
        if self.synchronous:
            try:
                result = fn()
            except Exception as exc:  # reported like a worker's failure
                failed(exc)
                return
            done(result)
        else:
            run_task(self, fn, done, failed, pool=interactive_pool())

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation == self._generation:
            self._set_loading(None)
            log.warning("loading messages failed: %s", exc)
            self.load_failed.emit(str(exc))

class PageLoader:
    """Reads pages for the model on a worker thread. It holds services only, never the model: a
    task must not keep a Qt object alive (its last reference would then go on a worker thread)."""

    def __init__(self, archive: ArchiveService, directory: Directory, actor: Actor, page_size: int,
                 open_rows: int = OPEN_ROWS):
        self.archive = archive
        self.directory = directory
        self.actor = actor
        self.page_size = page_size
        self.open_rows = open_rows

    def opened(self, corp_id: int, session_id: str, load) -> Page:
        """A person opens the session: ``ArchiveService.open_session`` (records ``session.open``;
        PermissionDenied if the account may not read it, and then nothing is read), then ``load()``."""
        session = self.archive.open_session(self.actor, corp_id, session_id)
        page = load()
        page.opened, page.session = True, session
        return page

    def complete(self, rows: list[MessageRow], **kw) -> Page:
        page = Page(rows, **kw)
        raw = self.archive.raw_json_of(self.actor, [r.id for r in rows])  # one query per page
        media = _media_rows(self.archive, self.actor, [r.id for r in rows if r.has_media])
        for r in rows:
            page.parsed[r.id] = _parse_raw(raw.get(r.id))
            if r.has_media:
                page.media[r.id] = media.get(r.id, [])
            if r.sender:  # loads the directory's cache (and the sender's picture) off the GUI thread
                self.directory.label(self.actor, r.corp_id, r.sender)
                self.directory.avatar(self.actor, r.corp_id, r.sender)
        return page

    def latest(self, corp_id: int, session_id: str) -> Page:
        n = min(self.open_rows, self.page_size)
        rows = self.archive.messages(self.actor, corp_id=corp_id, session_id=session_id,
                                     limit=n + 1, newest_first=True)
        return self.complete(list(reversed(rows[:n])), more_before=len(rows) > n, more_after=False)

    def page(self, corp_id: int, session_id: str, *, before=None, after=None) -> Page:
        if before is not None:
            rows = self.archive.messages(self.actor, corp_id=corp_id, session_id=session_id, before=before,
                                         limit=self.page_size + 1, newest_first=True)
            more = len(rows) > self.page_size
            return self.complete(list(reversed(rows[:self.page_size])), more_before=more)
        rows = self.archive.messages(self.actor, corp_id=corp_id, session_id=session_id, after=after,
                                     limit=self.page_size + 1)
        more = len(rows) > self.page_size
        return self.complete(rows[:self.page_size], more_after=more)

    def around(self, corp_id: int, session_id: str, target: MessageRow) -> Page:
        """A page before ``target``, the target, and a page after it."""
        key = (target.msgtime, target.id)
        half = self.page_size
        older = self.archive.messages(self.actor, corp_id=corp_id, session_id=session_id, before=key,
                                      limit=half + 1, newest_first=True)
        newer = self.archive.messages(self.actor, corp_id=corp_id, session_id=session_id, after=key,
                                      limit=half + 1)
        rows = list(reversed(older[:half])) + [target] + newer[:half]
        return self.complete(rows, more_before=len(older) > half, more_after=len(newer) > half,
                             target_id=target.id)

    def around_id(self, corp_id: int, session_id: str, message_id: int) -> Page:
        detail = self.archive.message(self.actor, message_id=message_id, corp_id=corp_id)
        if detail is None or detail.row.session_id != session_id:
            raise LookupError(f"message {message_id} is not in this session")
        return self.around(corp_id, session_id, detail.row)

    def at_time(self, corp_id: int, session_id: str, start_ms: int) -> Page:
        """Around the first message at or after ``start_ms``; the newest page when none is."""
        first = self.archive.messages(self.actor, corp_id=corp_id, session_id=session_id, start_ms=start_ms,
                                      limit=1)
        if not first:
            page = self.latest(corp_id, session_id)
            page.target_id = page.rows[-1].id if page.rows else None
            return page
        return self.around(corp_id, session_id, first[0])


def _day_number(row: MessageRow) -> int:
    """The local day of a message, as a number (days since 0001-01-01)."""
    return datetime.fromtimestamp(row.msgtime / 1000).date().toordinal()


def weak_callback(method, *bound_args):
    """``method(*bound_args, *args)`` while its object lives, without keeping it alive.

    run_task parents its relay to the receiver; a relay holding a strong reference to its own
    parent would release it in the middle of the parent's destruction (a crash in PySide).
    """
    ref = weakref.WeakMethod(method)

    def call(*args):
        target = ref()
        if target is not None:
            target(*bound_args, *args)

    return call


def _parse(archive: ArchiveService, actor: Actor, row: MessageRow) -> ParsedMessage | None:
    return _parse_raw(archive.raw_json_of(actor, [row.id]).get(row.id))


def _parse_raw(raw: bytes | None) -> ParsedMessage | None:
    if raw is None:
        return None
    try:
        return parse_message(raw)
    except MessageParseError:  # stored messages parsed once; a None is shown as unreadable
        return None


_media_failures = 0


def _media_rows(archive: ArchiveService, actor: Actor, message_ids: list[int]) -> dict[int, list[MediaRow]]:
    global _media_failures
    if not message_ids:
        return {}
    try:
        return archive.media_of_messages(actor, message_ids)
    except Exception:  # the conversation stays readable; its media show as "not archived"
        _media_failures += 1
        if _media_failures == 1:  # once: the same fault repeats for every message with media
            log.exception("reading the media rows of messages %s… failed", message_ids[:3])
        return {}


__all__ = ["MessageListModel", "Roles", "Side", "RowFacts", "Page", "PAGE_SIZE", "MAX_ROWS", "OPEN_ROWS", "side_of", "own_side_rule",
           "is_external_id"]
