"""Read a corpus's messages.jsonl the way the simulator does, keeping each msg value's raw bytes.

Tests of the whole product compare the archive against these entries: ``raw_msg`` is exactly the
plaintext the simulator serves for that seq (the bytes between the msg value's braces, inclusive).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from json.decoder import scanstring
from pathlib import Path
from typing import NamedTuple

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_MAX_VER = 0xFFFFFFFF


class Entry(NamedTuple):
    seq: int
    publickey_ver: int
    msgid: str | None  # the msg's top-level "msgid" (the last one if repeated), None if absent
    raw_msg: bytes


class CorpusError(ValueError):
    """messages.jsonl or corpus.json breaks the corpus rules (the simulator would refuse it too)."""


def _top_level_members(text: str) -> list[tuple[str, object, int, int]]:
    """(key, value, start, end) of each member of the one JSON object in ``text``."""
    ws = _WS.match
    pos = ws(text, 0).end()
    if pos >= len(text) or text[pos] != "{":
        raise CorpusError("a line must hold one JSON object")
    pos = ws(text, pos + 1).end()
    members: list[tuple[str, object, int, int]] = []
    if pos < len(text) and text[pos] == "}":
        pos += 1
    else:
        while True:
            if pos >= len(text) or text[pos] != '"':
                raise CorpusError(f"expected a member name at column {pos + 1}")
            key, pos = scanstring(text, pos + 1)
            pos = ws(text, pos).end()
            if pos >= len(text) or text[pos] != ":":
                raise CorpusError(f"expected ':' at column {pos + 1}")
            pos = ws(text, pos + 1).end()
            value, end = _DECODER.raw_decode(text, pos)
            members.append((key, value, pos, end))
            pos = ws(text, end).end()
            if pos < len(text) and text[pos] == ",":
                pos = ws(text, pos + 1).end()
                continue
            if pos < len(text) and text[pos] == "}":
                pos += 1
                break
            raise CorpusError(f"expected ',' or '}}' at column {pos + 1}")
    if ws(text, pos).end() != len(text):
        raise CorpusError(f"unexpected data after the object at column {pos + 1}")
    return members


def _positive_int(v: object, name: str, limit: int | None = None) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0 or (limit is not None and v > limit):
        raise CorpusError(f'"{name}" must be a positive integer')
    return v


def read_entries(corpus_dir: str | os.PathLike) -> Iterator[Entry]:
    """Yield the archive entries of a corpus in file order.

    Applies the simulator's rules: ``seq`` defaults to the previous seq + 1 (1 for the first line)
    and must rise; ``publickey_ver`` defaults to the highest key version in corpus.json and must
    name a key there; ``msg`` must be an object; blank lines are skipped. Raises CorpusError
    (a ValueError) naming the line on any violation. Streams: memory does not grow with the file.
    """
    root = Path(corpus_dir)
    with open(root / "corpus.json", encoding="utf-8") as f:
        keys = {int(v) for v in (json.load(f).get("keys") or {})}
    highest = max(keys) if keys else None
    prev_seq = 0
    with open(root / "messages.jsonl", "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.endswith(b"\n"):
                line = line[:-1]
            if not line.strip(b" \t\r"):
                continue
            try:
                text = line.decode("utf-8")
                members = _top_level_members(text)
                seen: dict[str, tuple[object, int, int]] = {}
                for key, value, start, end in members:
                    if key in ("seq", "publickey_ver", "msg") and key in seen:
                        raise CorpusError(f'duplicate "{key}"')
                    seen[key] = (value, start, end)
                if "msg" not in seen:
                    raise CorpusError('missing "msg" object')
                msg, start, end = seen["msg"]
                if not isinstance(msg, dict):
                    raise CorpusError('"msg" must be an object')
                seq = _positive_int(seen["seq"][0], "seq") if "seq" in seen else prev_seq + 1
                if seq <= prev_seq:
                    raise CorpusError(f"seq {seq} is not greater than the previous seq {prev_seq}")
                if "publickey_ver" in seen:
                    ver = _positive_int(seen["publickey_ver"][0], "publickey_ver", _MAX_VER)
                elif highest is None:
                    raise CorpusError("no publickey_ver, and corpus.json has no keys")
                else:
                    ver = highest
                if ver not in keys:
                    raise CorpusError(f"publickey_ver {ver} has no key in corpus.json")
            except (UnicodeDecodeError, json.JSONDecodeError, CorpusError) as e:
                raise CorpusError(f"messages.jsonl line {lineno}: {e}") from e
            msgid = msg.get("msgid")
            prev_seq = seq
            yield Entry(seq, ver, msgid if isinstance(msgid, str) else None, text[start:end].encode("utf-8"))
