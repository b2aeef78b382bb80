"""How search sees text: one normalisation for indexed text and query terms, the index's tokens,
and match offsets mapped back to the original text for highlighting.

Matching is defined as: a term matches a message when ``normalise(term)`` is a substring of
``normalise(message.content_text)``. ``normalise`` is NFKC, case folding, NFKC again (so full-width
``ＡＢＣ１２３`` equals ``abc123``, ``ß`` equals ``ss``); nothing else is folded or dropped, so every
character (CJK, emoji, 𠮷, digits, punctuation, ``%``, ``_``, ``\\``, spaces) is searchable.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from operator import add

# Characters tantivy's whitespace tokenizer splits on (ASCII whitespace), and our escape
# character: inside a bigram token they are written as ESC + a letter, so tokens never split
# and the encoding stays injective.
_ESC = "\x01"
_ESCAPES = {"\t": _ESC + "t", "\n": _ESC + "n", "\x0c": _ESC + "f", "\r": _ESC + "r", " ": _ESC + "s",
            _ESC: _ESC + "e"}
_NEEDS_ESCAPE = re.compile("[\t\n\x0c\r \x01]")


def normalise(text: str) -> str:
    """The form both indexed text and query terms are compared in (NFKC + case fold)."""
    if text.isascii():
        return text.lower()  # ASCII: NFKC is the identity and casefold() is lower()
    if not unicodedata.is_normalized("NFKC", text):  # the quick check is much cheaper than normalize
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold()
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def _units(norm: str) -> str | list[str]:
    if _NEEDS_ESCAPE.search(norm) is None:
        return norm
    return [_ESCAPES.get(c, c) for c in norm]


def bigram_text(norm: str) -> str:
    """The bigrams of normalised text as one space-separated string, in order (token i is the
    bigram starting at character i), for the positional bigram field."""
    u = _units(norm)
    return " ".join(map(add, u[:-1], u[1:]))


def bigrams(norm: str) -> list[str]:
    """The bigram tokens of a normalised term (length ≥ 2), in order, as the index spells them."""
    u = _units(norm)
    return list(map(add, u[:-1], u[1:]))


@functools.lru_cache(maxsize=65536)
def _char_norm(c: str) -> str:
    return normalise(c)


def _segments(text: str, norm: str) -> tuple[list[int], list[int]] | None:
    """Matching boundaries of ``text`` and ``norm``: parallel lists of offsets where a segment of
    the original (usually one character; more where NFKC composes, e.g. ``ｶﾞ`` → ``ガ``) and its
    normalised form begin. None if no such alignment is found (then whole text is highlighted)."""
    orig, normed = [0], [0]
    i = pos = 0
    while i < len(text):
        for j in range(i + 1, min(len(text), i + 32) + 1):
            piece = normalise(text[i:j])
            if norm.startswith(piece, pos):
                break
        else:
            return None
        i, pos = j, pos + len(piece)
        orig.append(i)
        normed.append(pos)
    return (orig, normed) if pos == len(norm) else None


def _find_all(hay: str, needle: str) -> list[tuple[int, int]]:
    out, start = [], hay.find(needle)
    while start != -1:
        out.append((start, start + len(needle)))
        start = hay.find(needle, start + 1)
    return out


def _merge(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    spans.sort()
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return tuple((s, e) for s, e in merged)


def match_spans(text: str, needles: list[str]) -> tuple[tuple[int, int], ...]:
    """(start, end) character offsets in the ORIGINAL ``text`` of every occurrence of each
    normalised needle, overlapping ones merged, sorted. A match that starts or ends inside a
    character that normalises to several (``ﬁ`` → ``fi``) covers that whole character."""
    needles = [n for n in needles if n]
    if not text or not needles:
        return ()
    norm = normalise(text)
    found = [span for n in needles for span in _find_all(norm, n)]
    if not found:
        return ()
    if text.isascii():
        return _merge(found)
    pieces = list(map(_char_norm, text))
    if "".join(pieces) == norm:  # each character normalises on its own (nearly all chat text)
        if len(norm) == len(text):
            return _merge(found)
        orig, normed, pos = list(range(len(text) + 1)), [0], 0
        for p in pieces:
            pos += len(p)
            normed.append(pos)
        seg = orig, normed
    else:
        seg = _segments(text, norm)
    if seg is None:
        return ((0, len(text)),)
    orig, normed = seg
    out = []
    for s, e in found:
        a = bisect.bisect_right(normed, s) - 1
        b = bisect.bisect_left(normed, e)
        out.append((orig[a], orig[min(b, len(orig) - 1)]))
    return _merge(out)
