"""Names from a file, for corps whose administrators grant no API access: ``import-names``.

A names file is a JSON object of the shape the demo corpus' ``truth.json`` has (``directory``
userid → name, ``departments``, ``external_corps``, ``robots``, ``groups`` roomid → {name, ...}),
read with a size cap and checked entry by entry. Importing replaces the corp's current names (ids
not in the file lose theirs) and keeps every earlier name in the history (app/core/directory/store.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from app.core.actor import Actor
from app.core.store.db import Database, now_ms

from .runs import record_run
from .store import ContactFacts, apply_contacts

MAX_NAMES_FILE_BYTES = 64 * 2**20  # a directory of 100,000 people is a few MB
_ID_CHARS = 191  # contacts.userid
_NAME_CHARS = 255  # contacts.name and contacts.organisation


class DirectoryFileError(ValueError):
    """A names file that cannot be imported: too large, not UTF-8 JSON, or not of the documented
    shape. The message is one sentence naming the file and the first offending entry (by its id:
    names are not repeated)."""


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {int: "a number", float: "a number", str: "text", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)


def _not_text(value: str) -> bool:
    return "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value)


class _Reader:
    """Checks each part of a names document as it is read; raises DirectoryFileError."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, problem: str) -> DirectoryFileError:
        return DirectoryFileError(f"{self.path}: {where} {problem}; a names file is {{\"directory\": {{id: name}}, "
                                  f"\"groups\": {{roomid: {{\"name\": name}}}}, \"departments\": {{id: department}}, "
                                  f"\"external_corps\": {{id: corp}}, \"robots\": [id, …]}}")

    def section(self, doc: dict, key: str, kind: type) -> dict | list:
        value = doc.get(key)
        if value is None:
            return kind()
        if not isinstance(value, kind):
            raise self.fail(f'"{key}"', f"is {_kind(value)}, not {_kind(kind())}")
        return value

    def ident(self, key: str, value: object) -> str:
        if not isinstance(value, str):
            raise self.fail(f'an id in "{key}"', f"is {_kind(value)}, not text")
        shown = json.dumps(value[:40])
        if not value.strip():
            raise self.fail(f'an id in "{key}"', "is empty")
        if _not_text(value):
            raise self.fail(f'the id {shown} in "{key}"', "holds a NUL character or invalid UTF-16")
        if len(value) > _ID_CHARS:
            raise self.fail(f'the id {shown}… in "{key}"', f"is longer than {_ID_CHARS} characters")
        return value

    def text(self, key: str, ident: str, value: object, *, empty_ok: bool) -> str:
        where = f'{json.dumps(ident)} in "{key}"'
        if not isinstance(value, str):
            raise self.fail(where, f"has {_kind(value)} where its name should be text")
        if _not_text(value):
            raise self.fail(where, "has a name holding a NUL character or invalid UTF-16")
        value = value.strip()
        if not value and not empty_ok:
            raise self.fail(where, "has an empty name")
        return value[:_NAME_CHARS]


def read_names_file(path: Path) -> dict:
    """The JSON object in ``path``, read with a size cap (MAX_NAMES_FILE_BYTES: the file may be
    anything, even endless). DirectoryFileError if it is too large, not UTF-8, not JSON, nested
    too deeply or not an object; OSError if it cannot be read."""
    with open(path, "rb") as f:
        data = f.read(MAX_NAMES_FILE_BYTES + 1)
    if len(data) > MAX_NAMES_FILE_BYTES:
        raise DirectoryFileError(f"{path} is larger than {MAX_NAMES_FILE_BYTES // 2**20} MB: that is not a names "
                                 f"file (a directory of 100,000 people takes a few MB)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DirectoryFileError(f"{path} is not UTF-8 text (at byte {exc.start})") from None
    try:
        doc = json.loads(text)
    except RecursionError:
        raise DirectoryFileError(f"{path} nests too deeply to be a names file") from None
    except json.JSONDecodeError as exc:
        raise DirectoryFileError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}, column "
                                 f"{exc.colno})") from None
    if not isinstance(doc, dict):
        raise _Reader(path).fail("the file", f"holds {_kind(doc)}, not an object")
    return doc


def parse_names(doc: dict, path: Path) -> dict[str, dict]:
    """The contacts rows (without ids and times) a names document gives, by id. Every name must be
    non-empty text and every id text of at most 191 characters; DirectoryFileError names the first
    entry that is not (a group without a name is skipped: rooms are often unnamed)."""
    r = _Reader(path)
    directory = r.section(doc, "directory", dict)
    departments = r.section(doc, "departments", dict)
    external_corps = r.section(doc, "external_corps", dict)
    groups = r.section(doc, "groups", dict)
    robots = {r.ident("robots", v) for v in r.section(doc, "robots", list)}
    staff_orgs = {k: r.text("departments", r.ident("departments", k), v, empty_ok=True)
                  for k, v in departments.items()}
    orgs = {**{k: r.text("external_corps", r.ident("external_corps", k), v, empty_ok=True)
               for k, v in external_corps.items()}, **{k: v for k, v in staff_orgs.items() if v}}
    rows: dict[str, dict] = {}
    for userid, name in directory.items():
        userid = r.ident("directory", userid)
        kind = "robot" if userid in robots else "external" if userid in external_corps else "staff"
        rows[userid] = {"userid": userid, "name": r.text("directory", userid, name, empty_ok=False), "kind": kind,
                        "organisation": orgs.get(userid, "")}
    for roomid, info in groups.items():
        roomid = r.ident("groups", roomid)
        name = info.get("name") if isinstance(info, dict) else info
        if name is None and isinstance(info, dict):
            continue  # a room without a name
        name = r.text("groups", roomid, name, empty_ok=True)
        if name:
            rows[roomid] = {"userid": roomid, "name": name, "kind": "room", "organisation": ""}
    return rows


def import_directory(db: Database, corp_id: int, path: Path, *, actor: Actor) -> int:
    """Import (replace) the names in ``path``; returns how many ids got a name. The departments
    decide department scopes, so this needs ``settings.change`` (PermissionDenied, recorded,
    otherwise) and records ``directory.import`` in the same transaction, with a directory run
    (source ``import``) that exports cite as the names' provenance.

    Raises DirectoryFileError (nothing changed) for a file that is too large, not JSON or not of the
    documented shape — a name that is not text (a number, true/false, null, a list) is refused, never
    stored as "123" or "None" — and OSError if it cannot be read."""
    from app.core.auth.audit import Action, AuditTrail
    from app.core.auth.roles import SETTINGS_CHANGE

    trail = AuditTrail(db)
    trail.require(actor, SETTINGS_CHANGE, action=Action.DIRECTORY_IMPORT, object_type="file", object=str(path))
    rows = parse_names(read_names_file(Path(path)), Path(path))
    started = now = now_ms()
    with db.write() as conn:
        changes = apply_contacts(conn, db, corp_id, [ContactFacts(r["userid"], r["name"], r["kind"], r["organisation"])
                                                     for r in rows.values()], now=now, source="import", replace=True)
        counts = {"names": len(rows), "new": changes.new, "renamed": changes.renamed, "removed": changes.removed}
        record_run(conn, db, corp_id, source="import", actor=actor, started_at=started, outcome="succeeded",
                   counts=counts, calls={}, problems=[])
        trail.record(actor, Action.DIRECTORY_IMPORT, object_type="file", object=str(path),
                     detail={"corp_id": corp_id, **counts}, conn=conn)
    return len(rows)


__all__ = ["MAX_NAMES_FILE_BYTES", "DirectoryFileError", "import_directory", "parse_names", "read_names_file"]
