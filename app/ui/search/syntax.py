"""The query language on the GUI side: the filters written as query text, the syntax help, and
query errors in the user's language, with a caret under the mistake.

The language itself (and its English messages) is :mod:`app.core.search.query`; this module only
presents it. Everything here is plain text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtGui import QFontMetrics

from app.core.search import QueryError

# --------------------------------------------------------------------------- Qt-free

_NEEDS_QUOTES = re.compile(r'[\s"(),|\\]')


def quote_value(value: str) -> str:
    """``value`` as one field value of the language: as is when it can stand alone, else a
    quoted phrase with ``"`` and ``\\`` escaped (a sender id with a space or a comma, say)."""
    if value and not _NEEDS_QUOTES.search(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def compose_query(box: str, *, sender: str | None = None, msgtype: str | None = None,
                  session_type: str | None = None, start: str | None = None, end: str | None = None) -> str:
    """The query the panel runs: the box's text, parenthesised (it may hold an OR), then the
    filters as the fields a user could have typed: ``(<box>) from:ID type:T session:S date:A..B``.

    ``start``/``end`` are inclusive days as ``YYYY-MM-DD``; either may be missing. The box text
    must parse on its own (see :func:`app.core.search.parse_query`): wrapping a query with an
    unbalanced parenthesis would change its meaning rather than fail."""
    parts = [f"({box.strip()})"] if box.strip() else []
    if sender:
        parts.append("from:" + quote_value(sender))
    if msgtype:
        parts.append("type:" + quote_value(msgtype))
    if session_type:
        parts.append("session:" + quote_value(session_type))
    if start or end:
        parts.append(f"date:{start or ''}..{end or ''}")
    return " ".join(parts)


# --------------------------------------------------------------------------- help

# The core's SYNTAX_HELP, literally, for pyside6-lupdate (which only extracts literal strings); a
# test keeps the two in step.
SYNTAX_HELP_SOURCE = QT_TRANSLATE_NOOP(
    "SearchPanel",
    "合同 发票              both words (every term must match)\n"
    "合同 OR 发票           either\n"
    "-取消  or  NOT 取消     without\n"
    "\"退款 申请\"             exactly this, spaces included (\\\" for a quote inside)\n"
    "(合同 OR 协议) 盖章      group with parentheses\n"
    "from:ID  to:ID  in:SESSION  room:ROOMID  type:image  session:internal|external|group\n"
    "date:2025-01-01..2025-03-31  date:2025-03  after:2025-01-01  before:2025-04-01\n"
    "has:media  is:recalled  type:image,video (either)\n"
    "tag:违规  -tag:无问题  status:unreviewed  reviewed:me  alert:open  policy:NAME  has:note\n"
    "Any text is found as written, case- and width-insensitive: 1 character, digits, emoji, %, _ and \\.")


# What the fields test, which SYNTAX_HELP only names.
FIELD_GLOSSARY_SOURCE = QT_TRANSLATE_NOOP(
    "SearchPanel",
    "from: sender id   to: a recipient's id   in: session id   room: group id\n"
    "type: message type   session: session type   has:media with a file   is:recalled recalled\n"
    "date:A..B both days included   after:D from D on   before:D until D (not included)\n"
    "tag: a review tag (on the message or its session)   status: unreviewed|in_review|reviewed\n"
    "reviewed: me or a user name   alert: open|dismissed|escalated|any   policy: a policy's hits\n"
    "has:note|tag|alert   Dates are in this computer's time zone.")


def syntax_help() -> str:
    """The syntax help in the UI's language, plain text meant for a fixed-width font."""
    return (QCoreApplication.translate("SearchPanel", SYNTAX_HELP_SOURCE) + "\n\n"
            + QCoreApplication.translate("SearchPanel", FIELD_GLOSSARY_SOURCE))


_COLUMN_GAP = re.compile(r"^(\S.*?\S)( {5,})(\S.*)$")  # "example      explanation"


def _advance(metrics: QFontMetrics, char: str) -> float:
    """The width of ``char`` in pixels, measured over 32 of them: in a proportional font a space is
    rarely a whole pixel (Noto Sans SC's ~2.7 px counted as 3 put the columns 6 px apart)."""
    return max(metrics.horizontalAdvance(char * 32), 1) / 32


def align_columns(text: str, metrics: QFontMetrics) -> str:
    """``text`` with its "example      explanation" lines re-padded so the explanations line up in
    ``metrics``' font. The help is written for 2-column CJK characters, but a CJK glyph in a
    fixed-width font is rarely exactly two spaces wide; a pad of spaces and ideographic spaces
    (each measured) can meet any column. Other lines are left as they are."""
    lines = text.split("\n")
    parts = [_COLUMN_GAP.match(line) for line in lines]
    firsts = [metrics.horizontalAdvance(m.group(1)) for m in parts if m]
    if not firsts:
        return text
    space, wide = _advance(metrics, " "), _advance(metrics, "\u3000")

    def pad(gap: int) -> tuple[float, int, int]:
        """(error in px, ideographic spaces, spaces) of the pad closest to ``gap`` pixels."""
        return min((abs(gap - b * wide - max(round((gap - b * wide) / space), 0) * space), b,
                    max(round((gap - b * wide) / space), 0)) for b in range(int(gap // wide) + 1))

    # The nearest column (at least 3 spaces after the longest example) that every pad meets
    # best: pads of two widths meet most gaps exactly, but not every one.
    first = round(max(firsts) + 3 * space)
    column = min(range(first, first + round(2 * wide * space)),
                 key=lambda c: (max(pad(c - f)[0] for f in firsts), c))
    out = []
    for line, m in zip(lines, parts, strict=True):
        if not m:
            out.append(line)
            continue
        _err, wides, spaces = pad(column - metrics.horizontalAdvance(m.group(1)))
        out.append(m.group(1) + "\u3000" * wides + " " * spaces + m.group(3))
    return "\n".join(out)


# --------------------------------------------------------------------------- errors

# The core's English messages (query.py), recognised by pattern and said again in the UI's
# language; named groups fill the placeholders. A message no pattern knows is shown as it is.
_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), t) for p, t in (
    (r"this quote is never closed",
     QT_TRANSLATE_NOOP("SearchPanel", "This quote is never closed: add a closing \" (write \\\" for a quote "
                                      "inside a phrase).")),
    (r"empty phrase",
     QT_TRANSLATE_NOOP("SearchPanel", "Empty phrase: put the text to find between the quotes.")),
    (r"unknown field '(?P<field>[^']*):' — fields are (?P<fields>.*?); ",
     QT_TRANSLATE_NOOP("SearchPanel", "Unknown field “{field}:”. Fields are {fields}; to find the text "
                                      "itself, put it in quotes.")),
    (r"'(?P<field>\w+):' needs a value",
     QT_TRANSLATE_NOOP("SearchPanel", "“{field}:” needs a value.")),
    (r"'-' must be followed by what to exclude \(to find a dash",
     QT_TRANSLATE_NOOP("SearchPanel", "“-” must be followed by what to exclude (to find a dash, write \"-\").")),
    (r"'(?P<op>-|NOT)' must be followed by what to exclude",
     QT_TRANSLATE_NOOP("SearchPanel", "“{op}” must be followed by what to exclude.")),
    (r"this '\)' closes nothing",
     QT_TRANSLATE_NOOP("SearchPanel", "This “)” closes nothing: remove it or add a “(” before it.")),
    (r"this '\(' is never closed",
     QT_TRANSLATE_NOOP("SearchPanel", "This “(” is never closed: add a “)”.")),
    (r"empty parentheses",
     QT_TRANSLATE_NOOP("SearchPanel", "Empty parentheses: put something to find between them.")),
    (r"(?P<op>OR|AND) needs something to match on both sides",
     QT_TRANSLATE_NOOP("SearchPanel", "{op} needs something to match on both sides.")),
    (r"expected a term here",
     QT_TRANSLATE_NOOP("SearchPanel", "Something to find is missing here.")),
    (r"session: is one of (?P<values>.*)",
     QT_TRANSLATE_NOOP("SearchPanel", "session: is one of {values}.")),
    (r"(?P<field>\w+): can be (?P<values>.*)",
     QT_TRANSLATE_NOOP("SearchPanel", "{field}: can only be {values}.")),
    (r"date: needs at least one date around",
     QT_TRANSLATE_NOOP("SearchPanel", "date: needs a date before or after “..”.")),
    (r"this date range is empty",
     QT_TRANSLATE_NOOP("SearchPanel", "This date range is empty: the first date is after the second.")),
    (r"'(?P<text>.*)' is not a date",
     QT_TRANSLATE_NOOP("SearchPanel", "“{text}” is not a date: write YYYY-MM-DD (or YYYY-MM, YYYY, "
                                      "YYYY-MM-DDTHH:MM).")),
    (r"'(?P<text>.*)' is not a valid date",
     QT_TRANSLATE_NOOP("SearchPanel", "“{text}” is not a valid date.")),
))


def describe_error(exc: QueryError) -> str:
    """The error's message in the UI's language (its English text if it is not a known one)."""
    for pattern, template in _ERRORS:
        m = pattern.match(exc.message)
        if m:
            return QCoreApplication.translate("SearchPanel", template).format(**m.groupdict())
    return exc.message


def mistake_text(exc: QueryError) -> str:
    """"The query has a mistake at character 7: …" in the UI's language: how every part of the window
    (the search panel, find in a conversation, a policy's editor, the status bar) says a query mistake."""
    return QCoreApplication.translate("SearchPanel", "The query has a mistake at character {position}: {message}") \
        .format(position=exc.position + 1, message=describe_error(exc))


POINTER_CONTEXT = 40  # characters of the query shown on each side of the mistake


@dataclass(frozen=True)
class ErrorPointer:
    """The part of a query around a mistake, and a caret line under the mistake (plain text)."""

    line: str  # the query (or a window of it, with "…")
    caret: str  # spaces, then "^"
    column: int  # the mistake's character offset in ``line``

    def text(self) -> str:
        return f"{self.line}\n{self.caret}"


def error_pointer(query: str, position: int, metrics: QFontMetrics,
                  context: int = POINTER_CONTEXT) -> ErrorPointer:
    """``query`` (a window of it when long, on one line) with a caret under character ``position``.

    The caret is placed by measuring the text before it in ``metrics``' font, so it stays under
    the mistake after Chinese characters, which are wider than a space even in fixed-width fonts."""
    position = max(0, min(position, len(query)))
    a, b = max(0, position - context), min(len(query), position + context)
    prefix = "…" if a > 0 else ""
    line = (prefix + query[a:b] + ("…" if b < len(query) else "")).replace("\n", " ").replace("\t", " ")
    column = len(prefix) + position - a
    target = metrics.horizontalAdvance(line[:column])
    # Two pads, the closer one wins: the text's own shape (an ideographic space under each wide
    # character: both usually come from the same CJK font), and spaces alone.
    mirrored = "".join("\u3000" if unicodedata.east_asian_width(c) in "WF" else " " for c in line[:column])
    n = round(target / _advance(metrics, " "))
    plain = [" " * k for k in (n - 1, n, n + 1) if k >= 0]
    pad = min((*plain, mirrored), key=lambda p: abs(metrics.horizontalAdvance(p) - target))
    return ErrorPointer(line, pad + "^", column)
