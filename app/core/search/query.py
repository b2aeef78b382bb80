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

A term is any run of characters without spaces, quotes or parentheses: one CJK character, digits,
``5000元``, emoji, 𠮷, punctuation, ``%``, ``_`` and ``\\`` are all plain substrings (see text.py
for how they compare). Dates are local time: ``date:D`` is that whole day (month, year), ``after:D``
starts at D, ``before:D`` ends before D; a date may carry a time (``2025-01-01T09:30``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from .text import normalise

SYNTAX_HELP = """\
合同 发票              both words (every term must match)
合同 OR 发票           either
-取消  or  NOT 取消     without
"退款 申请"             exactly this, spaces included (\\" for a quote inside)
(合同 OR 协议) 盖章      group with parentheses
from:ID  to:ID  in:SESSION  room:ROOMID  type:image  session:internal|external|group
date:2025-01-01..2025-03-31  date:2025-03  after:2025-01-01  before:2025-04-01
has:media  is:recalled  type:image,video (either)
Any text is found as written, case- and width-insensitive: 1 character, digits, emoji, %, _ and \\."""


class QueryError(ValueError):
    """A malformed query. ``position`` is the 0-based character offset where it is wrong."""

    def __init__(self, message: str, position: int, query: str = ""):
        super().__init__(f"{message} (at character {position + 1})")
        self.message = message
        self.position = position
        self.query = query

    def pointer(self) -> str:
        """Two lines for a terminal: the query and a caret under the offending character."""
        return f"{self.query}\n{' ' * self.position}^"


# ---------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Text:
    """A substring of the searchable text (a term or a quoted phrase), as the user wrote it."""

    raw: str
    norm: str
    phrase: bool = False


@dataclass(frozen=True)
class Field:
    """An exact-value filter: ``name`` is one of FIELD_NAMES' canonical names."""

    name: str  # from, to, in, room, type, session, has, is
    value: str


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


Node = Text | Field | DateRange | All | And | Or | Not

VALUE_FIELDS = {"from": "from", "to": "to", "in": "in", "room": "room", "type": "type", "session": "session"}
SESSION_TYPES = ("internal", "external", "group", "updown", "system")
FLAG_FIELDS = {"has": ("media",), "is": ("recalled",)}
DATE_FIELDS = ("date", "after", "before")
FIELD_NAMES = (*VALUE_FIELDS, *FLAG_FIELDS, *DATE_FIELDS)


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
        tok = self.peek()
        assert tok is not None
        if tok.kind in ("-", "NOT"):
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in (")", "OR", "AND"):
                raise self.err(f"'{'-' if tok.kind == '-' else 'NOT'}' must be followed by what to exclude",
                               tok.pos)
            return Not(self.unary())
        return self.primary()

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
            node = self.or_expr()
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
            return Field(name, value)
        if name in FLAG_FIELDS:
            if value.lower() not in FLAG_FIELDS[name]:
                raise self.err(f"{name}: can be {' or '.join(FLAG_FIELDS[name])}", at)
            return Field(name, value.lower())
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
            return DateRange(start, end)
        if name == "after":
            return DateRange(self.date(value, at)[0], None)
        return DateRange(None, self.date(value, at)[0])  # before:

    def date(self, text: str, at: int) -> tuple[int, int]:
        """[start, end) in ms of the year, month, day or minute/second ``text`` names."""
        m = _DATE_RE.match(text)
        if not m:
            raise self.err(f"'{text}' is not a date: write YYYY-MM-DD (or YYYY-MM, YYYY, YYYY-MM-DDTHH:MM)", at)
        y, mo, d, hh, mi, ss = m.groups()
        try:
            if mo is None:
                start, end = datetime(int(y), 1, 1), datetime(int(y) + 1, 1, 1)
            elif d is None:
                start = datetime(int(y), int(mo), 1)
                end = datetime(int(y) + (int(mo) == 12), int(mo) % 12 + 1, 1)
            elif hh is None:
                start = datetime(int(y), int(mo), int(d))
                end = start + timedelta(days=1)
            else:
                start = datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss or 0))
                end = start + (timedelta(seconds=1) if ss else timedelta(minutes=1))
        except ValueError as exc:
            raise self.err(f"'{text}' is not a valid date ({exc})", at) from None
        return _ms(start, self.tz), _ms(end, self.tz)


def _ms(dt: datetime, tz: tzinfo | None) -> int:
    aware = dt.replace(tzinfo=tz) if tz is not None else dt.astimezone()
    return int(aware.timestamp() * 1000)


def parse_query(text: str, *, tz: tzinfo | None = None) -> Node:
    """Parse ``text`` into a tree; dates in ``tz`` (default: this computer's local time zone).

    Raises QueryError (with ``position``) for an unbalanced quote or parenthesis, an unknown
    field, a bad value or date, or a dangling operator. The empty query is ``All()``."""
    return _Parser(text, _lex(text), tz).parse()
