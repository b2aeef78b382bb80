"""The search query language: text → syntax tree, with errors that say where the query is wrong.

::

    合同 发票              both (terms separated by spaces must all match)
    合同 OR 发票           either                (AND may be written too; operators are upper case)
    -取消   NOT 取消        without
    "退款 申请"             a phrase: matches as written, spaces included; \\" and \\\\ inside quotes
    (合同 OR 协议) 盖章      parentheses group
    from:ID  to:ID  in:SESSION  room:ROOMID  type:image  session:internal|external|group|updown|system
    date:2025-01-01..2025-03-31   date:2025-03   date:2025   date:2025-01-01..   after:D   before:D
    has:media  is:recalled
    type:image,video       a comma (or |) lists alternatives of one field
    tag:违规  status:unreviewed|in_review|reviewed  reviewed:me|ACCOUNT  alert:open|dismissed|escalated|any
    policy:NAME  has:note|tag|alert      the review (app/core/review): resolved when a search runs

A term is any run of characters without spaces, quotes or parentheses: one CJK character, digits,
``5000元``, emoji, 𠮷, punctuation, ``%``, ``_`` and ``\\`` are all plain substrings (see text.py
for how they compare). Dates are local time: ``date:D`` is that whole day (month, year), ``after:D``
starts at D, ``before:D`` ends before D; a date may carry a time (``2025-01-01T09:30``). Any year
1–9999 parses; a date before 1970 means the start of the archive, the end of year 9999 means no end.

Limits (each refused with a QueryError saying so, never a crash): at most MAX_QUERY_CHARS
characters and MAX_DEPTH nested parentheses; lone surrogates (undecodable bytes) are not text.
A run of NOT/- is folded (``NOT NOT x`` is ``x``), so any number of them parses.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from app.core.dates import add_ms, clamp_ms, local_ms

from .text import normalise

MAX_QUERY_CHARS = 2000  # a query is typed (or composed by the search panel), not pasted text
MAX_DEPTH = 32  # nested parentheses

SYNTAX_HELP = """\
合同 发票              both words (every term must match)
合同 OR 发票           either
-取消  or  NOT 取消     without
"退款 申请"             exactly this, spaces included (\\" for a quote inside)
(合同 OR 协议) 盖章      group with parentheses
from:ID  to:ID  in:SESSION  room:ROOMID  type:image  session:internal|external|group
date:2025-01-01..2025-03-31  date:2025-03  after:2025-01-01  before:2025-04-01
has:media  is:recalled  type:image,video (either)
tag:违规  -tag:无问题  status:unreviewed  reviewed:me  alert:open  policy:NAME  has:note
Any text is found as written, case- and width-insensitive: 1 character, digits, emoji, %, _ and \\."""


class QueryError(ValueError):
    """A malformed query. ``position`` is the 0-based character offset where it is wrong."""

    def __init__(self, message: str, position: int, query: str = ""):
        super().__init__(f"{message} (at character {position + 1})")
        self.message = message
        self.position = position
        self.query = query

    def pointer(self) -> str:
        """Two lines: the query and a caret under the offending character (one column per character)."""
        return f"{self.query}\n{' ' * self.position}^"

    def terminal_pointer(self, width: int = 72) -> str:
        """Two lines for a terminal: at most ``width`` columns of the query around the offending
        character (cut with "…"), and a caret under it, counting wide (CJK) characters as two
        columns; invisible and control characters are shown as "?"."""
        q, pos = self.query, min(max(self.position, 0), len(self.query))
        start = max(0, pos - width // 2)
        while start < pos and _columns(q[start:pos]) > width // 2:
            start += 1
        end = pos
        while end < len(q) and _columns(q[start:end + 1]) <= width:
            end += 1
        head = ("…" if start > 0 else "") + _visible(q[start:pos])
        shown = head + _visible(q[pos:end]) + ("…" if end < len(q) else "")
        return f"{shown}\n{' ' * _columns(head)}^"


def _visible(text: str) -> str:
    return "".join(c if c.isprintable() and not "\ud800" <= c <= "\udfff" else "?" for c in text)


def _columns(text: str) -> int:
    """Terminal columns of ``text`` as :func:`_visible` shows it: wide and full-width characters two,
    combining marks none."""
    n = 0
    for c in text:
        if unicodedata.combining(c) and c.isprintable():
            continue
        n += 2 if unicodedata.east_asian_width(c) in "WF" else 1
    return n


# ---------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Text:
    """A substring of the searchable text (a term or a quoted phrase), as the user wrote it."""

    raw: str
    norm: str
    phrase: bool = False


@dataclass(frozen=True)
class Field:
    """An exact-value filter: ``name`` is one of FIELD_NAMES' canonical names. ``pos`` is where the
    value starts in the query (for errors found after parsing, such as an unknown tag)."""

    name: str  # from, to, in, room, type, session, has, is, and the review's (REVIEW_FIELDS)
    value: str
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True)
class DateRange:
    start_ms: int | None  # inclusive
    end_ms: int | None  # exclusive


@dataclass(frozen=True)
class All:
    """Matches every message (the empty query, or what a pure exclusion starts from)."""


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Stretch = tuple[int, str, tuple[int, int] | None, tuple[int, int] | None]


@dataclass(frozen=True, eq=False)
class Resolved:
    """A review term (``tag:``, ``status:`` …) resolved against the archive when a search runs
    (app/core/review/facts.py): the messages in ``ids``, and the messages of each stretch —
    ``(corp_id, session_id, after, upto)``, the session's messages whose (msgtime, id) is above
    ``after`` (exclusive) and at most ``upto`` (inclusive); None leaves that side open — that are
    not in ``except_ids``. The index and the evaluator match it alike, so results stay exact."""

    term: Field
    ids: frozenset[int] = frozenset()
    stretches: tuple[Stretch, ...] = ()
    except_ids: frozenset[int] = frozenset()

    def __post_init__(self):
        by_session: dict[tuple[int, str], list[Stretch]] = {}
        for s in self.stretches:
            by_session.setdefault((s[0], s[1]), []).append(s)
        object.__setattr__(self, "_by_session", by_session)

    def holds(self, corp_id: int, session_id: str, msgtime: int, message_id: int) -> bool:
        if message_id in self.ids:
            return True
        stretches = self._by_session.get((corp_id, session_id))  # type: ignore[attr-defined]
        if not stretches or message_id in self.except_ids:
            return False
        key = (msgtime, message_id)
        return any((after is None or key > after) and (upto is None or key <= upto)
                   for _c, _s, after, upto in stretches)


Node = Text | Field | DateRange | All | And | Or | Not | Resolved

VALUE_FIELDS = {"from": "from", "to": "to", "in": "in", "room": "room", "type": "type", "session": "session",
                "tag": "tag", "status": "status", "reviewed": "reviewed", "alert": "alert", "policy": "policy"}
SESSION_TYPES = ("internal", "external", "group", "updown", "system")
REVIEW_STATUSES = ("unreviewed", "in_review", "reviewed")
ALERT_STATES = ("open", "dismissed", "escalated", "any")
FLAG_FIELDS = {"has": ("media", "note", "tag", "alert"), "is": ("recalled",)}
DATE_FIELDS = ("date", "after", "before")
FIELD_NAMES = (*VALUE_FIELDS, *FLAG_FIELDS, *DATE_FIELDS)
# Terms about the review, not the message: their answer lives in the review tables and changes
# whenever someone tags or reviews, so a search resolves them first (see Resolved).
REVIEW_FIELDS = frozenset({"tag", "status", "reviewed", "alert", "policy"})
REVIEW_FLAGS = frozenset({"note", "tag", "alert"})


def is_review_term(node: Node) -> bool:
    return isinstance(node, Field) and (node.name in REVIEW_FIELDS or (node.name == "has" and node.value in REVIEW_FLAGS))


def has_review_terms(node: Node) -> bool:
    """Whether the tree holds a review term still to resolve."""
    if isinstance(node, Field):
        return is_review_term(node)
    if isinstance(node, And | Or):
        return any(has_review_terms(i) for i in node.items)
    if isinstance(node, Not):
        return has_review_terms(node.item)
    return False


def positive_texts(node: Node) -> list[str]:
    """The normalised texts a hit is highlighted with: every Text not under a Not."""
    if isinstance(node, Text):
        return [node.norm]
    if isinstance(node, And | Or):
        return [t for item in node.items for t in positive_texts(item)]
    return []


# ---------------------------------------------------------------- lexing

_FIELD_RE = re.compile(r"([A-Za-z]+):")
_DATE_RE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?)?)?$")


@dataclass
class _Tok:
    kind: str  # "(", ")", "OR", "AND", "NOT", "-", "text", "field"
    pos: int
    value: str = ""
    phrase: bool = False
    field: str = ""
    values: tuple[tuple[str, int], ...] = ()


def _read_quoted(q: str, i: int) -> tuple[str, int]:
    """The phrase starting at the quote q[i]; returns (text, index after the closing quote)."""
    out, j = [], i + 1
    while j < len(q):
        c = q[j]
        if c == "\\" and j + 1 < len(q) and q[j + 1] in "\"\\":
            out.append(q[j + 1])
            j += 2
            continue
        if c == '"':
            return "".join(out), j + 1
        out.append(c)
        j += 1
    raise QueryError("this quote is never closed: add a closing \" (write \\\" for a quote inside a phrase)",
                     i, q)


def _read_word(q: str, i: int) -> tuple[str, int]:
    j = i
    while j < len(q) and not q[j].isspace() and q[j] not in '"()':
        j += 1
    return q[i:j], j


def _lex(q: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    while i < len(q):
        c = q[i]
        if c.isspace():
            i += 1
            continue
        if c in "()":
            toks.append(_Tok(c, i))
            i += 1
            continue
        if c == '"':
            text, j = _read_quoted(q, i)
            if text == "":
                raise QueryError("empty phrase: put the text to find between the quotes", i, q)
            toks.append(_Tok("text", i, text, phrase=True))
            i = j
            continue
        if c == "-" and i + 1 < len(q) and not q[i + 1].isspace() and q[i + 1] != ")":
            toks.append(_Tok("-", i))
            i += 1
            continue
        m = _FIELD_RE.match(q, i)
        if m:
            name = m.group(1).lower()
            if name not in FIELD_NAMES:
                raise QueryError(f"unknown field '{m.group(1)}:' — fields are {', '.join(FIELD_NAMES)}; "
                                 f"to find the text itself, put it in quotes", i, q)
            j = m.end()
            values: list[tuple[str, int]] = []
            while True:
                if j < len(q) and q[j] == '"':
                    v, k = _read_quoted(q, j)
                    values.append((v, j))
                else:
                    k = j
                    while k < len(q) and not q[k].isspace() and q[k] not in '"(),|':
                        k += 1
                    values.append((q[j:k], j))
                j = k
                if j < len(q) and q[j] in ",|":
                    j += 1
                    continue
                break
            for v, at in values:
                if v == "":
                    raise QueryError(f"'{name}:' needs a value", at, q)
            toks.append(_Tok("field", i, field=name, values=tuple(values)))
            i = j
            continue
        word, j = _read_word(q, i)
        if word in ("OR", "AND", "NOT"):
            toks.append(_Tok(word, i))
        elif word == "-":
            raise QueryError("'-' must be followed by what to exclude (to find a dash, write \"-\")", i, q)
        else:
            toks.append(_Tok("text", i, word))
        i = j
    return toks


# ---------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, q: str, toks: list[_Tok], tz: tzinfo | None):
        self.q, self.toks, self.i, self.tz = q, toks, 0, tz
        self.depth = 0

    def err(self, message: str, pos: int) -> QueryError:
        return QueryError(message, pos, self.q)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def parse(self) -> Node:
        if not self.toks:
            return All()
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:  # only a stray ")" can stop or_expr early
            raise self.err("this ')' closes nothing: remove it or add a '(' before", tok.pos)
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in (")", "OR", "AND"):
                raise self.err("OR needs something to match on both sides", tok.pos)
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items: list[Node] = []
        while (tok := self.peek()) is not None and tok.kind not in (")", "OR"):
            if tok.kind == "AND":
                self.i += 1
                nxt = self.peek()
                if not items or nxt is None or nxt.kind in (")", "OR", "AND"):
                    raise self.err("AND needs something to match on both sides", tok.pos)
                continue
            items.append(self.unary())
        if not items:
            tok = self.peek()
            if tok is not None and tok.kind == "OR":
                raise self.err("OR needs something to match on both sides", tok.pos)
            pos = tok.pos if tok is not None else len(self.q)
            raise self.err("expected a term here", pos)
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Node:
        # A loop, not recursion: a thousand NOTs in a row parse (to one NOT or none).
        negated = False
        while (tok := self.peek()) is not None and tok.kind in ("-", "NOT"):
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in (")", "OR", "AND"):
                raise self.err(f"'{'-' if tok.kind == '-' else 'NOT'}' must be followed by what to exclude",
                               tok.pos)
            negated = not negated
        node = self.primary()
        if not negated:
            return node
        return node.item if isinstance(node, Not) else Not(node)  # -(-x) is x

    def primary(self) -> Node:
        tok = self.peek()
        assert tok is not None
        self.i += 1
        if tok.kind == "(":
            nxt = self.peek()
            if nxt is None:
                raise self.err("this '(' is never closed: add a ')'", tok.pos)
            if nxt.kind == ")":
                raise self.err("empty parentheses", tok.pos)
            if self.depth >= MAX_DEPTH:
                raise self.err(f"parentheses nest more than {MAX_DEPTH} deep here: simplify the query", tok.pos)
            self.depth += 1
            node = self.or_expr()
            self.depth -= 1
            close = self.peek()
            if close is None or close.kind != ")":
                raise self.err("this '(' is never closed: add a ')'", tok.pos)
            self.i += 1
            return node
        if tok.kind == "text":
            return Text(tok.value, normalise(tok.value), tok.phrase)
        if tok.kind == "field":
            alts = [self.field(tok.field, v, at) for v, at in tok.values]
            return alts[0] if len(alts) == 1 else Or(tuple(alts))
        raise self.err(f"unexpected '{tok.kind}'", tok.pos)  # ")" handled by callers

    def field(self, name: str, value: str, at: int) -> Node:
        if name in VALUE_FIELDS:
            if name == "session" and value not in SESSION_TYPES:
                raise self.err(f"session: is one of {', '.join(SESSION_TYPES)}", at)
            if name == "status":
                value = value.lower().replace("-", "_")
                if value not in REVIEW_STATUSES:
                    raise self.err(f"status: is one of {', '.join(REVIEW_STATUSES)}", at)
            if name == "alert":
                value = value.lower()
                if value not in ALERT_STATES:
                    raise self.err(f"alert: is one of {', '.join(ALERT_STATES)}", at)
            return Field(name, value, at)
        if name in FLAG_FIELDS:
            if value.lower() not in FLAG_FIELDS[name]:
                raise self.err(f"{name}: can be {' or '.join(FLAG_FIELDS[name])}", at)
            return Field(name, value.lower(), at)
        if name == "date":
            if ".." in value:
                lo, hi = value.split("..", 1)
                if not lo and not hi:
                    raise self.err("date: needs at least one date around '..'", at)
                start = self.date(lo, at)[0] if lo else None
                end = self.date(hi, at + len(lo) + 2)[1] if hi else None
            else:
                start, end = self.date(value, at)
            if start is not None and end is not None and start >= end:
                raise self.err("this date range is empty: the first date is after the second", at)
            return DateRange(clamp_ms(start), clamp_ms(end))
        if name == "after":
            return DateRange(clamp_ms(self.date(value, at)[0]), None)
        return DateRange(None, clamp_ms(self.date(value, at)[0]))  # before:

    def date(self, text: str, at: int) -> tuple[int, int | None]:
        """[start, end) in ms of the year, month, day or minute/second ``text`` names; end None
        past year 9999. Unclamped (a year-1 date is negative): callers clamp."""
        m = _DATE_RE.match(text)
        if not m:
            raise self.err(f"'{text}' is not a date: write YYYY-MM-DD (or YYYY-MM, YYYY, YYYY-MM-DDTHH:MM)", at)
        y, mo, d, hh, mi, ss = (None if g is None else int(g) for g in m.groups())
        try:
            if mo is None:
                start, step, following = datetime(y, 1, 1), None, (y + 1, 1, 1)
            elif d is None:
                start, step, following = datetime(y, mo, 1), None, (y + (mo == 12), mo % 12 + 1, 1)
            elif hh is None:
                start, step, following = datetime(y, mo, d), timedelta(days=1), None
            else:
                start = datetime(y, mo, d, hh, mi, ss or 0)
                step, following = (timedelta(seconds=1) if ss is not None else timedelta(minutes=1)), None
        except ValueError as exc:
            raise self.err(f"'{text}' is not a valid date ({exc})", at) from None
        if following is not None:
            end = local_ms(datetime(*following), self.tz) if following[0] <= 9999 else None
        else:
            end = add_ms(start, step, self.tz)
        return local_ms(start, self.tz), end


def parse_query(text: str, *, tz: tzinfo | None = None) -> Node:
    """Parse ``text`` into a tree; dates in ``tz`` (default: this computer's local time zone).

    Raises QueryError (with ``position``) for an unbalanced quote or parenthesis, an unknown
    field, a bad value or date, a dangling operator, a query over the limits (see the module
    docstring) or one holding lone surrogates. The empty query is ``All()``."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"this query is {len(text):,} characters long; a query may have at most "
                         f"{MAX_QUERY_CHARS:,}", MAX_QUERY_CHARS, text)
    bad = _NOT_TEXT.search(text)
    if bad is not None:
        raise QueryError("this character is not text (bytes that are not UTF-8?): remove it", bad.start(), text)
    return _Parser(text, _lex(text), tz).parse()


_NOT_TEXT = re.compile("[\ud800-\udfff]")
