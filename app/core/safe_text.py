"""Text from messages, shown to people without letting it deceive them.

Everything a chat participant chose (names, ids, file names, message text) can hold characters that
change what a reader sees without being seen themselves: bidi overrides (``"\\u202Egpj.exe"`` reads
as "exe.jpg"), isolates and marks, zero-width and other invisible format characters, terminal
control sequences (C0/C1), line breaks inside a name. Every place that *shows* such text passes it
through one of the functions here, which replace each such character by a visible escape
``⟨U+202E⟩``. The stored data is never changed: these are for display only.

- :func:`display_name` (strict): ids, names, file names, and problems naming them. One line: line
  breaks, tabs and every other control are escaped, as are invisible spaces and fillers.
- :func:`display_text`: message text. Line breaks and tabs stay (a chat message has them), emoji
  sequences stay whole (ZWJ, variation selectors, flag tags); the dangerous invisible characters
  are escaped as in names. ``one_line=True`` turns line breaks into spaces for lists.
- :func:`json_line`: ``json.dumps`` for output people read in a terminal; the same characters are
  written as JSON ``\\uXXXX`` escapes, so a parser gets the exact value back.
- :func:`spreadsheet_cell`: a text cell that a spreadsheet will not take for a formula.

Pure Python, no Qt; cheap when there is nothing to escape (one regex search).
"""

from __future__ import annotations

import json
import re
from typing import Any

ESCAPE = "⟨U+{:04X}⟩"

# Format characters (Unicode general category Cf, Unicode 14-15): bidi marks, embeddings,
# overrides and isolates, zero-width space/joiners, word joiner, invisible operators, BOM,
# interlinear annotation, soft hyphen, prepended concatenation marks, tags. A test checks this
# list against unicodedata.
_FORMAT = ("\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
           "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
           "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f")
# Invisible characters of other categories, used to blank or pad names: Hangul fillers, braille
# blank, combining grapheme joiner, Khmer inherent vowels, Mongolian variation selectors.
_INVISIBLE = "\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\u180b-\u180d\u180f"
_VARIATION = "\ufe00-\ufe0f\U000e0100-\U000e01ef"
_NONCHAR = "\ufdd0-\ufdef" + "".join(chr(p << 16 | 0xFFFE) + chr(p << 16 | 0xFFFF) for p in range(17))
_SEPARATORS = "\u2028\u2029"  # line and paragraph separator
_ODD_SPACES = "\u00a0\u1680\u2000-\u200a\u202f\u205f"  # spaces other than U+0020 and U+3000
_CONTROLS = "\x00-\x1f\x7f-\x9f"
_CONTROLS_BUT_LAYOUT = "\x00-\x08\x0b-\x1f\x7f-\x9f"  # without tab and line feed
_SURROGATES = "\ud800-\udfff"  # lone surrogates (from JSON "\ud800"); cannot even be printed

_DANGEROUS = _CONTROLS + _FORMAT + _INVISIBLE + _VARIATION + _NONCHAR + _SEPARATORS + _SURROGATES
_STRICT_RE = re.compile(f"[{_DANGEROUS}{_ODD_SPACES}]")
_TEXT_RE = re.compile(f"[{_DANGEROUS}]")
# json.dumps escapes every C0 control inside strings: a raw line break or tab in its output is
# indentation (``indent=2``), and stays.
_JSON_RE = re.compile(f"[{_DANGEROUS.replace(_CONTROLS, _CONTROLS_BUT_LAYOUT)}{_ODD_SPACES}]")

_ZWJ, _ZWNJ = "\u200d", "\u200c"
_BLACK_FLAG, _CANCEL_TAG = "\U0001f3f4", "\U000e007f"
_KEYCAP_BASES = frozenset("0123456789#*")


def _escape(ch: str) -> str:
    return ESCAPE.format(ord(ch))


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    return (0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0x2300 <= cp <= 0x23FF
            or 0x2B00 <= cp <= 0x2BFF or cp in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D))


def _emoji_side(s: str, i: int, step: int) -> bool:
    """Whether the character next to ``s[i]`` (``step`` -1: before, 1: after) belongs to an emoji,
    skipping one variation selector or skin-tone modifier before it."""
    j = i + step
    if 0 <= j < len(s) and s[j] in "\ufe0e\ufe0f" and step < 0:
        j += step
    return 0 <= j < len(s) and _is_emoji(s[j])


def _joining_script_side(s: str, i: int, step: int) -> bool:
    """The character next to ``s[i]`` is a letter or mark of a script whose words use ZWJ/ZWNJ
    (Hebrew and Arabic to Mongolian, Arabic presentation forms); not Latin, Greek, Cyrillic or CJK."""
    j = i + step
    if not 0 <= j < len(s):
        return False
    cp = ord(s[j])
    return (0x0590 <= cp <= 0x1CFF or 0xA800 <= cp <= 0xABFF or 0xFB1D <= cp <= 0xFDFF
            or 0xFE70 <= cp <= 0xFEFC) and not _STRICT_RE.match(s[j])


def _in_flag_tags(s: str, i: int) -> bool:
    """``s[i]`` is a tag character of an emoji flag: black flag, tag letters, cancel tag."""
    j = i
    while j > 0 and "\U000e0020" <= s[j - 1] <= "\U000e007e":
        j -= 1
    if j == 0 or s[j - 1] != _BLACK_FLAG:
        return False
    k = i
    while k < len(s) and "\U000e0020" <= s[k] <= "\U000e007e":
        k += 1
    return k < len(s) and s[k] == _CANCEL_TAG and 2 <= k - j <= 7


def _kept(s: str, i: int, *, text: bool) -> bool:
    """Whether the (otherwise escaped) character ``s[i]`` is harmless where it stands."""
    ch = s[i]
    if text and ch in "\n\t":
        return True
    if ch in "\ufe0e\ufe0f":  # text/emoji presentation: one, right after a visible character
        return i > 0 and not _STRICT_RE.match(s[i - 1]) and (ord(s[i - 1]) > 0x7F or s[i - 1] in _KEYCAP_BASES)
    if ch == _ZWJ and _emoji_side(s, i, -1) and _emoji_side(s, i, 1):  # 👨‍👩‍👧
        return True
    if text and ch in (_ZWJ, _ZWNJ) and _joining_script_side(s, i, -1) and _joining_script_side(s, i, 1):
        return True  # joiners inside words of scripts that need them (Persian, Indic)
    if "\U000e0020" <= ch <= "\U000e007f":  # 🏴 + tag letters + cancel tag: a subdivision flag
        if ch == _CANCEL_TAG:
            return i > 0 and "\U000e0020" <= s[i - 1] <= "\U000e007e" and _in_flag_tags(s, i - 1)
        return _in_flag_tags(s, i)
    if text and "\U000e0100" <= ch <= "\U000e01ef":  # an ideographic variation sequence
        return i > 0 and 0x3400 <= ord(s[i - 1]) <= 0x3FFFF and not ("\U000e0100" <= s[i - 1] <= "\U000e01ef")
    return False


def _neutralise(s: str, pattern: re.Pattern[str], *, text: bool) -> str:
    if pattern.search(s) is None:
        return s
    out: list[str] = []
    pos = 0
    for m in pattern.finditer(s):
        i = m.start()
        out.append(s[pos:i])
        out.append(s[i] if _kept(s, i, text=text) else _escape(s[i]))
        pos = i + 1
    out.append(s[pos:])
    return "".join(out)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value if isinstance(value, str) else str(value)


def display_name(value: Any, *, limit: int | None = None) -> str:
    """``value`` (an id, a name, a file name; None gives "") safe to show on one line: every control
    character (line breaks and tabs too), bidi control, invisible format character or filler and
    every space but U+0020/U+3000 becomes a visible ``⟨U+XXXX⟩``. Emoji sequences stay whole.
    ``limit``: at most that many characters of the result, cut with "…"."""
    out = _neutralise(_as_text(value), _STRICT_RE, text=False)
    if limit is not None and len(out) > limit:
        out = out[: max(limit - 1, 0)] + "…"
    return out


def display_text(value: Any, *, one_line: bool = False) -> str:
    """Message text safe to show: line breaks and tabs kept (``\\r\\n`` becomes ``\\n``; a lone CR
    is escaped, it overwrites lines in a terminal), emoji and the joiners of scripts that need them
    kept, every other control, bidi control and invisible character escaped.
    ``one_line``: line breaks and tabs become spaces (for lists and snippets)."""
    s = _as_text(value)
    if "\r" in s:
        s = s.replace("\r\n", "\n")
    if one_line and ("\n" in s or "\t" in s):
        s = s.replace("\n", " ").replace("\t", " ")
    return _neutralise(s, _TEXT_RE, text=True)


def needs_escape(value: Any) -> bool:
    """Whether :func:`display_name` would change ``value``."""
    return _STRICT_RE.search(_as_text(value)) is not None


def _json_escape(m: re.Match[str]) -> str:
    cp = ord(m.group())
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    cp -= 0x10000
    return f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"


def json_line(obj: Any, **kwargs: Any) -> str:
    """``json.dumps(obj, ensure_ascii=False, **kwargs)`` with every character :func:`display_name`
    would escape written as a JSON escape instead: readable CJK and emoji, nothing that moves or
    hides text in a terminal, and ``json.loads`` gives back exactly ``obj``. Without ``indent``, one
    line."""
    return _JSON_RE.sub(_json_escape, json.dumps(obj, ensure_ascii=False, **kwargs))


_FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")  # and their full-width forms


def spreadsheet_cell(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet would read it as a formula (it starts with
    = + - @, a tab or a line break, or a full-width = + - @); OWASP's advice for CSV files."""
    return "'" + value if value and value[0] in _FORMULA_START else value


__all__ = ["ESCAPE", "display_name", "display_text", "json_line", "needs_escape", "spreadsheet_cell"]
