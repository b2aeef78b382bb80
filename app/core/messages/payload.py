"""Reading one payload object tolerantly: the toolkit the parsers in ``catalogue.py`` are written with.

A parser gets a :class:`Payload` and asks it for typed fields::

    Image(p.string("sdkfileid", required=True), p.string("md5sum"), p.integer("filesize"))

Each reader returns the value when it has the right type (the fast path), else converts what it can
("12" → 12), gives a default ("" / None / False / ()), and notes what it did in the message's
problems, with the field's dotted path ("image.filesize is a string holding an integer"). Nothing
here raises. ``p.media(...)`` records a media object for GetMediaData; ``p.item(...)`` parses one
chatrecord/mixed item through the registry.

This runs in the sync's hot path: no regex, one method call per field, slow paths out of line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from .records import MediaRef, Unsupported
from .registry import CATALOGUE, inner_msgtype
from .text import clip

MAX_DEPTH = 8          # chatrecord/mixed nesting levels parsed; deeper items stay Unsupported
MAX_PROBLEMS = 50      # a hostile message must not produce an unbounded problem list

MISSING = object()


class Notes:
    """What one parse accumulates besides the records: problems and media references."""

    __slots__ = ("problems", "media")

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.media: list[MediaRef] = []

    def note(self, problem: str) -> None:
        n = len(self.problems)
        if n < MAX_PROBLEMS:
            self.problems.append(problem)
        elif n == MAX_PROBLEMS:
            self.problems.append("more problems not listed")


def at(where: str, key: str) -> str:
    """The dotted path of ``key`` inside the object at ``where`` ("" is the message itself)."""
    return f"{where}.{key}" if where else key


def kind_of(value: object) -> str:
    """How a problem note names a JSON value's type ("a string", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def clean_ext(ext: str) -> str | None:
    """A file extension as media refs keep it: lower-case [a-z0-9]{1,10} without the dot, else None."""
    ext = ext.strip().lstrip(".").lower()
    if 0 < len(ext) <= 10 and ext.isascii() and ext.isalnum():
        return ext
    return None


def ext_from_name(filename: str) -> str | None:
    """The extension of a file name (data, never a path), cleaned as :func:`clean_ext`; else None."""
    base = filename[-64:].replace("\\", "/").rpartition("/")[2]
    stem, dot, ext = base.rpartition(".")
    return clean_ext(ext) if dot and stem else None


class Payload:
    """One JSON object of a message, read field by field with notes on what was odd.

    ``obj`` the object; ``top`` the whole message for top-level payloads (vote, voiceid and voipid
    live there) and ``obj`` itself inside chatrecord/mixed items; ``where`` its dotted path, which
    is also the media path ("image", "mixed.item[1]"); ``kind`` the media kind (the msgtype, or the
    item type as given inside chatrecord/mixed); ``depth`` the chatrecord/mixed nesting level.
    """

    __slots__ = ("notes", "obj", "top", "where", "kind", "depth")

    def __init__(self, notes: Notes, obj: dict[str, Any], top: dict[str, Any], where: str, kind: str, depth: int) -> None:
        self.notes = notes
        self.obj = obj
        self.top = top
        self.where = where
        self.kind = kind
        self.depth = depth

    def note(self, problem: str) -> None:
        self.notes.note(problem)

    def get(self, key: str) -> object:
        """The raw value (None when absent), for fields read without any note."""
        return self.obj.get(key)

    # -- typed fields
    def string(self, key: str, required: bool = False) -> str:
        v = self.obj.get(key, MISSING)
        if type(v) is str:
            return v
        if v is MISSING:
            if required:
                self.notes.note(f"{at(self.where, key)} is missing")
            return ""
        return self._to_str(v, at(self.where, key))

    def _to_str(self, v: object, path: str) -> str:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            self.notes.note(f"{path} is a number, expected a string")
            return str(v)
        self.notes.note(f"{path} is {kind_of(v)}, expected a string")
        return ""

    def integer(self, key: str, required: bool = False) -> int | None:
        v = self.obj.get(key, MISSING)
        if type(v) is int:
            return v
        if v is MISSING:
            if required:
                self.notes.note(f"{at(self.where, key)} is missing")
            return None
        return self._to_int(v, at(self.where, key))

    def _to_int(self, v: object, path: str) -> int | None:
        if type(v) is float and v.is_integer():  # False for inf and nan
            self.notes.note(f"{path} is a float, expected an integer")
            return int(v)
        if type(v) is str:
            t = v.strip()
            if t and len(t) <= 40 and "_" not in t:
                try:
                    n = int(t)
                except ValueError:
                    pass
                else:
                    self.notes.note(f"{path} is a string holding an integer")
                    return n
        self.notes.note(f"{path} is {kind_of(v)}, expected an integer")
        return None

    def number(self, key: str) -> float | None:
        """A finite float (ints converted); None when absent or unusable."""
        v = self.obj.get(key, MISSING)
        if type(v) is float and math.isfinite(v):
            return v
        if v is MISSING:
            return None
        path = at(self.where, key)
        if type(v) is int:
            try:
                return float(v)
            except OverflowError:
                pass
        elif type(v) is str and len(v) <= 40:
            try:
                f = float(v)
            except ValueError:
                pass
            else:
                if math.isfinite(f):
                    self.notes.note(f"{path} is a string holding a number")
                    return f
        self.notes.note(f"{path} is {kind_of(v)}, expected a finite number")
        return None

    def boolean(self, key: str) -> bool:
        v = self.obj.get(key, MISSING)
        if type(v) is bool:
            return v
        if v is MISSING:
            return False
        path = at(self.where, key)
        if type(v) is int and v in (0, 1):
            self.notes.note(f"{path} is a number, expected a boolean")
            return bool(v)
        if type(v) is str and v.lower() in ("true", "false"):
            self.notes.note(f"{path} is a string, expected a boolean")
            return v.lower() == "true"
        self.notes.note(f"{path} is {kind_of(v)}, expected a boolean")
        return False

    def strings(self, key: str, required: bool = False) -> tuple[str, ...]:
        """A list of strings as a tuple (numbers kept as text, other values dropped)."""
        v = self.obj.get(key, MISSING)
        if type(v) is list:
            if all(type(x) is str for x in v):
                return tuple(v)
            out = []
            converted = dropped = 0
            for x in v:
                if type(x) is str:
                    out.append(x)
                elif isinstance(x, (int, float)) and not isinstance(x, bool):
                    out.append(str(x))
                    converted += 1
                else:
                    dropped += 1
            self.notes.note(f"{at(self.where, key)} holds non-strings ({converted} numbers kept as text, "
                            f"{dropped} dropped)")
            return tuple(out)
        if v is MISSING:
            if required:
                self.notes.note(f"{at(self.where, key)} is missing")
            return ()
        if type(v) is str:
            self.notes.note(f"{at(self.where, key)} is a string, not a list")
            return (v,)
        self.notes.note(f"{at(self.where, key)} is {kind_of(v)}, expected a list of strings")
        return ()

    def top_string(self, key: str) -> str:
        """A string field of the whole message (voiceid, voipid); inside an item, of the item."""
        if self.top is self.obj:
            return self.string(key)
        return Payload(self.notes, self.top, self.top, "", self.kind, self.depth).string(key)

    def objects(self, key: str, path: str | None = None) -> list[tuple[int, Payload]]:
        """(index, Payload) of each object in the list ``key``; other values noted and skipped.

        Each one's path is ``path[i]`` (default: this payload's path + ``.key``).
        """
        v = self.obj.get(key, MISSING)
        base = at(self.where, key) if path is None else path
        if type(v) is list:
            out = []
            for i, x in enumerate(v):
                if type(x) is dict:
                    out.append((i, Payload(self.notes, x, self.top, f"{base}[{i}]", self.kind, self.depth)))
                else:
                    self.notes.note(f"{at(self.where, key)}[{i}] is {kind_of(x)}, expected an object")
            return out
        if v is MISSING:
            return []
        if type(v) is dict:
            self.notes.note(f"{at(self.where, key)} is an object, expected a list: taken as one item")
            return [(0, Payload(self.notes, v, self.top, f"{base}[0]", self.kind, self.depth))]
        self.notes.note(f"{at(self.where, key)} is {kind_of(v)}, expected a list")
        return []

    # -- media and nested items
    def media(self, sdkfileid: str, md5sum: str, size: int | None, *, filename: str | None = None,
              ext: str | None = None) -> None:
        """Record the media object this payload names (fetched later with GetMediaData).

        ``size`` as WeCom gives it; ``filename`` the original name or None (data, never a path);
        ``ext`` a clean extension (see :func:`clean_ext`) or None. An empty sdkfileid is noted.
        """
        if sdkfileid:
            self.notes.media.append(MediaRef(sdkfileid, md5sum, size, self.kind, filename, ext, self.where))
        elif "sdkfileid" in self.obj:  # a missing one is already noted as missing
            self.notes.note(f"{at(self.where, 'sdkfileid')} is empty: no media to fetch")

    def items(self, key: str = "item") -> Iterator[tuple[str, str, Payload]]:
        """The chatrecord/mixed items of the list ``key``: (item type as given, msgtype, the item).

        Lazy, so that each item's notes come before the next item's.
        """
        for _i, it in self.objects(key, f"{self.where}.{key}"):
            item_type = it.string("type", required=True)
            yield item_type, inner_msgtype(item_type), it

    def item_content(self, item_type: str, msgtype: str) -> object:
        """The record of a chatrecord/mixed item (this payload) whose ``content`` is a JSON string."""
        notes, loc, depth = self.notes, self.where, self.depth + 1
        content = self.obj.get("content", MISSING)
        label = msgtype or item_type
        if content is MISSING:
            notes.note(f"{loc}.content is missing")
            return Unsupported(label, None)
        if depth > MAX_DEPTH:
            notes.note(f"{loc}: nested deeper than {MAX_DEPTH} levels, not parsed")
            return Unsupported(label, content)
        spec = CATALOGUE.get(msgtype)
        if type(content) is str:
            try:
                obj = json.loads(content)
            except (ValueError, RecursionError):
                if spec is not None and spec.item_from_text is not None:
                    notes.note(f"{loc}.content is not JSON: taken as the text itself")
                    return spec.item_from_text(content)
                notes.note(f"{loc}.content is not valid JSON")
                return Unsupported(label, content)
        elif type(content) is dict:
            notes.note(f"{loc}.content is an object, not a JSON string")
            obj = content
        else:
            notes.note(f"{loc}.content is {kind_of(content)}, expected a JSON string")
            return Unsupported(label, content)
        if type(obj) is not dict:
            notes.note(f"{loc}.content is JSON but not an object")
            return Unsupported(label, obj)
        if spec is None:
            notes.note(f"{loc}: unknown item type {clip(item_type, 40)!r}")
            return Unsupported(item_type, obj)
        where = f"{loc}.{msgtype}" if spec.container else loc
        return spec.parse(Payload(notes, obj, obj, where, item_type, depth))
