"""`import-names` reads any file without harm: bounded reads (a size cap, even for an endless file),
deep nesting, files that are not UTF-8 JSON, and names of the wrong type — each refused with one
sentence naming the entry by its id, with nothing changed; a name is never stored as "123",
"True" or "None"."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import select

from app.core.directory import importer as directory
from app.core.store.db import open_database
from app.core.store.models import Contact

GOOD = {"directory": {"zhangwei": "张伟", "lina": " 李娜 ", "robot1": "机器人"},
        "departments": {"zhangwei": "销售部", "lina": ""}, "external_corps": {"wmX": "客户公司"},
        "robots": ["robot1"], "groups": {"room-1": {"name": "项目群", "members": ["zhangwei"]}, "room-2": {},
                                         "room-3": "旧格式群名"}}


def _contacts(archive) -> dict[str, tuple[str, str, str]]:
    db = open_database(archive.db_url)
    try:
        with db.read() as conn:
            rows = conn.execute(select(Contact.userid, Contact.name, Contact.kind, Contact.organisation)).all()
    finally:
        db.close()
    return {r.userid: (r.name, r.kind, r.organisation) for r in rows}


def _write(tmp_path, name: str, content) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_a_names_file_of_the_documented_shape(archive, tmp_path):
    result = archive("import-names", _write(tmp_path, "good.json", GOOD))
    assert "5 names imported" in result.output
    assert _contacts(archive) == {"zhangwei": ("张伟", "staff", "销售部"), "lina": ("李娜", "staff", ""),
                                  "robot1": ("机器人", "robot", ""), "room-1": ("项目群", "room", ""),
                                  "room-3": ("旧格式群名", "room", "")}


@pytest.mark.parametrize("doc, words", [
    ({"directory": {"zhangwei": 123}}, '"zhangwei" in "directory" has a number where its name should be text'),
    ({"directory": {"zhangwei": 1.5}}, "has a number"),
    ({"directory": {"zhangwei": True}}, "has true/false"),
    ({"directory": {"zhangwei": None}}, "has null"),
    ({"directory": {"zhangwei": ["张伟"]}}, "has a list"),
    ({"directory": {"zhangwei": {"name": "张伟"}}}, "has an object"),
    ({"directory": {"zhangwei": "  "}}, "has an empty name"),
    ({"directory": {"": "x"}}, 'an id in "directory" is empty'),
    ({"directory": {"x" * 200: "x"}}, "is longer than 191 characters"),
    ({"directory": {"a": "\u0000"}}, "NUL character or invalid UTF-16"),
    ({"directory": ["zhangwei"]}, '"directory" is a list, not an object'),
    ({"directory": "zhangwei"}, '"directory" is text, not an object'),
    ({"departments": {"zhangwei": 7}}, '"zhangwei" in "departments" has a number'),
    ({"external_corps": {"wmX": False}}, '"wmX" in "external_corps" has true/false'),
    ({"robots": "robot1"}, '"robots" is text, not a list'),
    ({"robots": [1]}, 'an id in "robots" is a number, not text'),
    ({"groups": {"room-1": {"name": 5}}}, '"room-1" in "groups" has a number'),
    ({"groups": {"room-1": ["name"]}}, '"room-1" in "groups" has a list'),
    ([{"directory": {}}], "the file holds a list, not an object"),
    ('"just text"', "holds text, not an object"),
    (42, "holds a number, not an object"),
    (None, "holds null, not an object"),
])
def test_a_wrong_shape_is_refused_naming_the_entry_and_nothing_changes(archive, tmp_path, doc, words):
    archive("import-names", _write(tmp_path, "good.json", GOOD))
    before = _contacts(archive)
    path = _write(tmp_path, "bad.json", doc)
    result = archive("import-names", path, code=1)
    assert words in result.output and path in result.output and result.output.count("\n") == 1
    assert "a names file is {" in result.output  # and what the shape should be
    assert _contacts(archive) == before


def test_a_lone_surrogate_in_a_name_is_refused(archive, tmp_path):
    path = _write(tmp_path, "s.json", '{"directory": {"zhangwei": "\\ud800"}}')
    assert "NUL character or invalid UTF-16" in archive("import-names", path, code=1).output


@pytest.mark.parametrize("content, words", [
    ("[" * 10_000 + "]" * 10_000, "nests too deeply"),
    ('{"directory": ' + '{"a": ' * 10_000 + '"x"' + "}" * 10_001, "nests too deeply"),
    ("{directory: 1}", "is not valid JSON (Expecting property name enclosed in double quotes at line 1, column 2)"),
    ("", "is not valid JSON"),
    ('{"directory": {"a": "b"}} trailing', "is not valid JSON (Extra data"),
    ('{"directory": {"a": "é"}}'.encode("latin-1"), "is not UTF-8 text (at byte 21)"),
    (b"\xff\xfe{\x00}\x00", "is not UTF-8 text"),
])
def test_files_that_are_not_json_or_nest_too_deeply(archive, tmp_path, content, words):
    path = _write(tmp_path, "bad.json", content)
    result = archive("import-names", path, code=1)
    assert words in result.output and result.output.count("\n") == 1


def test_a_bom_is_accepted(archive, tmp_path):
    path = _write(tmp_path, "bom.json", "\ufeff" + json.dumps({"directory": {"a": "甲"}}))
    assert "1 names imported" in archive("import-names", path).output


def test_a_huge_file_is_refused_after_reading_no_more_than_the_cap(archive, tmp_path, monkeypatch):
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as f:  # 100 MB, sparse: nothing is written but its size
        f.truncate(100 * 2**20)
    result = archive("import-names", str(huge), code=1)
    assert "is larger than 64 MB" in result.output
    reads = []
    real_open = open

    class Counting:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def read(self, n=-1):
            reads.append(n)
            return self.f.read(n)

    monkeypatch.setattr(directory, "MAX_NAMES_FILE_BYTES", 1000)
    monkeypatch.setattr("builtins.open", lambda p, *a, **k: Counting(real_open(p, *a, **k))
                        if str(p) == str(huge) else real_open(p, *a, **k))
    assert "is larger than" in archive("import-names", str(huge), code=1).output
    assert reads == [1001]  # never the whole file


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_file_is_refused(archive, monkeypatch):
    monkeypatch.setattr(directory, "MAX_NAMES_FILE_BYTES", 2**20)
    assert "is larger than" in archive("import-names", "/dev/zero", code=1).output


def test_an_unreadable_names_file_is_one_sentence(archive, tmp_path, monkeypatch):
    path = _write(tmp_path, "good.json", GOOD)
    real_open = open

    def denied(p, *args, **kwargs):
        if str(p) == path:
            raise PermissionError(13, "Permission denied", path)
        return real_open(p, *args, **kwargs)

    monkeypatch.setattr("builtins.open", denied)
    result = archive("import-names", path, code=1)
    assert result.output.startswith("Error: cannot read the names file: no permission to use") and path in result.output
