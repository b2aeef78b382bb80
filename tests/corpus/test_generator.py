"""The corpus generator: what the simulator and the product's tests rely on."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from collections import Counter
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from native.corpus import (
    CATALOGUE_MSGTYPES,
    DEMO_MESSAGES,
    ensure_demo_corpus,
    generate_corpus,
    read_entries,
)
from native.corpus import demo as demo_mod
from native.corpus.__main__ import main as cli_main
from native.corpus.generate import HOSTILE_FILENAMES
from native.corpus.reader import CorpusError

ROOT = Path(__file__).resolve().parents[2]
CST = timezone(timedelta(hours=8))
SIZE_KEYS = ("filesize", "voice_size", "imagesize")
AMR_FRAME_BYTES = {0: 13, 1: 14, 2: 16, 3: 18, 4: 20, 5: 21, 6: 27, 7: 32, 8: 6, 15: 1}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo corpus (3,000 messages, seed 1), parsed once for the module."""
    path = tmp_path_factory.mktemp("corpus") / "demo"
    truth = generate_corpus(path, DEMO_MESSAGES, 1)
    raw_lines = (path / "messages.jsonl").read_bytes().split(b"\n")
    assert raw_lines[-1] == b""
    raw_lines = raw_lines[:-1]
    lines = [json.loads(line) for line in raw_lines]
    media_map = json.loads((path / "media.json").read_text(encoding="utf-8"))
    return SimpleNamespace(path=path, truth=truth, raw_lines=raw_lines, lines=lines,
                           msgs=[e["msg"] for e in lines], media=media_map)


def media_refs(node, top=True, out=None):
    """(sdkfileid, md5sum, size, top_level) for every media reference in a message, including those
    inside the JSON-string contents of chatrecord and mixed items."""
    if out is None:
        out = []
    if isinstance(node, dict):
        if "sdkfileid" in node:
            size = next((node[k] for k in SIZE_KEYS if k in node), None)
            out.append((node["sdkfileid"], node.get("md5sum"), size, top))
        for key, value in node.items():
            if key == "content" and isinstance(value, str) and value.startswith("{"):
                media_refs(json.loads(value), False, out)
            else:
                media_refs(value, top, out)
    elif isinstance(node, list):
        for value in node:
            media_refs(value, top, out)
    return out


def session_key(m):
    if m.get("roomid"):
        return ("room", m["roomid"])
    return ("pair", tuple(sorted({m["from"], *m["tolist"]})))


def amr_frames(data: bytes) -> int:
    assert data.startswith(b"#!AMR\n")
    pos, frames = 6, 0
    while pos < len(data):
        header = data[pos]
        assert header & 0x83 == 0, "F bit and padding bits must be zero"
        pos += AMR_FRAME_BYTES[(header >> 3) & 0x0F]
        frames += 1
    assert pos == len(data), "the last frame is truncated"
    return frames


def top_level_boxes(data: bytes) -> list[tuple[bytes, int]]:
    boxes, pos = [], 0
    while pos < len(data):
        size, typ = struct.unpack(">I4s", data[pos:pos + 8])
        assert size >= 8
        boxes.append((typ, size))
        pos += size
    assert pos == len(data)
    return boxes


# ---- content -----------------------------------------------------------------------------------


def test_every_catalogue_msgtype_appears_several_times(demo):
    counts = Counter(m.get("msgtype") for m in demo.msgs)
    for msgtype in CATALOGUE_MSGTYPES:
        assert counts[msgtype] >= (2 if msgtype == "disagree" else 3), msgtype
    assert counts["text"] > counts["image"] > counts["file"] > counts["vote"]
    assert 0.45 < counts["text"] / len(demo.msgs) < 0.75
    unknown = {t: n for t, n in counts.items() if t is not None and t not in CATALOGUE_MSGTYPES}
    assert 1 <= sum(unknown.values()) <= len(demo.msgs) // 100
    for m in demo.msgs:
        if m.get("msgtype") in unknown:
            assert isinstance(m[m["msgtype"]], dict)
    assert demo.truth["catalogue_msgtypes_missing"] == []
    assert demo.truth["counts"]["msgtype"] == {k: v for k, v in counts.items() if k is not None}


def test_actions_and_entry_shapes(demo):
    actions = Counter(m["action"] for m in demo.msgs)
    assert set(actions) == {"send", "recall", "switch"}
    assert actions["switch"] >= 2
    common = ["msgid", "action", "from", "tolist", "roomid", "msgtime", "msgtype"]
    for m in demo.msgs:
        if m["action"] == "switch":
            assert list(m) == ["msgid", "action", "time", "user"]
            assert m["msgid"].isdigit()
            continue
        if m["msgtype"] in ("meeting_voice_call", "voip_doc_share"):  # WeCom's samples carry no roomid
            assert list(m)[:6] == [k for k in common if k != "roomid"]
            assert m["msgtype"] in m and ("voiceid" in m or "voipid" in m)
        else:
            assert list(m)[:7] == common
        assert isinstance(m["tolist"], list) and m["tolist"] and m["from"] not in m["tolist"] or m["msgtype"] in (
            "agree", "disagree")
        assert (m["action"] == "recall") == (m["msgtype"] == "revoke")


def test_field_shapes_follow_the_catalogue(demo):
    keys = {
        "image": ["md5sum", "filesize", "sdkfileid"],
        "voice": ["md5sum", "voice_size", "play_length", "sdkfileid"],
        "video": ["md5sum", "filesize", "play_length", "sdkfileid"],
        "emotion": ["type", "width", "height", "imagesize", "md5sum", "sdkfileid"],
        "file": ["md5sum", "filename", "fileext", "filesize", "sdkfileid"],
        "card": ["corpname", "userid"],
        "location": ["longitude", "latitude", "address", "title", "zoom"],
        "link": ["title", "description", "link_url", "image_url"],
        "weapp": ["title", "description", "username", "displayname"],
        "todo": ["title", "content"],
        "collect": ["room_name", "creator", "create_time", "title", "details"],
        "meeting": ["topic", "starttime", "endtime", "address", "remarks", "meetingtype", "meetingid", "status"],
        "calendar": ["title", "creatorname", "attendeename", "starttime", "endtime", "place", "remarks"],
        "sphfeed": ["feed_type", "sph_name", "feed_desc"],
        "voip_doc_share": ["filename", "md5sum", "filesize", "sdkfileid"],
    }
    payload_key = {"docmsg": "doc", "markdown": "info", "news": "info", "voiptext": "info", "qydiskfile": "info",
                   "redpacket": "redpacket", "external_redpacket": "redpacket"}
    item_types = Counter()
    for m in demo.msgs:
        t = m.get("msgtype")
        if t in keys:
            assert list(m[t]) == keys[t], t
        elif t in payload_key:
            assert isinstance(m[payload_key[t]], dict), t
        if t in ("agree", "disagree"):
            assert m[t] == {"userid": m["from"], f"{t}_time": m["msgtime"]}
            assert m["from"].startswith(("wm", "wo"))
        elif t == "vote":
            assert m["votetype"] in (101, 102) and m["voteitem"] and m["votetitle"] and m["voteid"]
        elif t == "emotion":
            assert m[t]["type"] in (1, 2)
        elif t == "news":
            assert list(m["info"]["item"][0]) == ["title", "description", "url", "picurl"]
        elif t == "markdown":
            assert isinstance(m["info"]["content"], str)
        elif t == "voiptext":
            assert set(m["info"]) == {"callduration", "invitetype"}
        elif t == "meeting_voice_call":
            assert set(m[t]) == {"endtime", "sdkfileid", "demofiledata", "sharescreendata"}
        elif t == "chatrecord":
            for item in m[t]["item"]:
                assert set(item) == {"type", "msgtime", "content", "from_chatroom"}
                assert isinstance(item["content"], str) and isinstance(json.loads(item["content"]), dict)
                item_types[item["type"]] += 1
        elif t == "mixed":
            types = [i["type"] for i in m[t]["item"]]
            assert "text" in types and "image" in types
            for item in m[t]["item"]:
                assert isinstance(json.loads(item["content"]), dict)
    for needed in ("ChatRecordText", "ChatRecordImage", "ChatRecordFile", "ChatRecordVoice", "ChatRecordVideo",
                   "ChatRecordMixed"):
        assert item_types[needed] >= 1, needed


def test_seqs_rise_with_occasional_gaps(demo):
    seqs = [e["seq"] for e in demo.lines]
    assert all(a < b for a, b in pairwise(seqs))
    gaps = sum(1 for a, b in pairwise(seqs) if b - a > 1)
    assert 3 <= gaps <= 60
    assert all(b - a <= 6 for a, b in pairwise(seqs))
    assert demo.truth["last_seq"] == seqs[-1]


def test_msgids_are_unique_and_shaped_like_wecom(demo):
    ids = [m["msgid"] for m in demo.msgs]
    assert len(set(ids)) == len(ids)
    for m in demo.msgs:
        if m["action"] == "switch":
            continue
        external = m["from"].startswith(("wm", "wo")) or any(u.startswith(("wm", "wo")) for u in m["tolist"])
        assert m["msgid"].endswith("_external") == external, m
        assert re.fullmatch(r"CAQQ[A-Za-z0-9+/]+=*|\d+_\d+(_external)?", m["msgid"])


def test_ids_names_and_groups(demo):
    directory = demo.truth["directory"]
    staff = [u for u in directory if u in demo.truth["departments"]]
    externals = list(demo.truth["external_corps"])
    assert 35 <= len(staff) <= 45 and 140 <= len(externals) <= 160
    assert all(re.fullmatch(r"w[mo][A-Za-z0-9_-]{30}", u) for u in externals)
    assert all(re.fullmatch(r"wb[A-Za-z0-9_-]{30}", u) for u in demo.truth["robots"])
    groups = demo.truth["groups"]
    assert 10 <= len(groups) <= 14
    assert all(re.fullmatch(r"wr[A-Za-z0-9_-]{30}", r) for r in groups)
    assert any(any(u in externals for u in g["members"]) and any(u in staff for u in g["members"])
               for g in groups.values())
    for m in demo.msgs:
        if m["action"] == "switch":
            assert m["user"] in directory
            continue
        assert m["from"] in directory and all(u in directory for u in m["tolist"])
        if m.get("roomid"):
            assert m["from"] in groups[m["roomid"]]["members"] or m["from"] in demo.truth["robots"]
    assert any(m.get("from", "").startswith("wb") for m in demo.msgs)


def test_recalls_name_an_earlier_message_of_the_same_sender_in_the_same_session(demo):
    earlier = {}
    recalls = 0
    for m in demo.msgs:
        if m["action"] == "recall":
            recalls += 1
            target = earlier[m["revoke"]["pre_msgid"]]
            assert target["from"] == m["from"]
            assert session_key(target) == session_key(m)
            assert target["msgtime"] <= m["msgtime"]
        earlier[m["msgid"]] = m
    assert recalls >= 3


def test_new_contacts_agree_before_their_first_one_to_one_message(demo):
    # Contacts whose first consent event in the corpus is an agree are new customers: nothing of
    # theirs is archived before it. (Older customers agreed before the corpus's window.)
    first_event = {}
    chatted_before = set()
    for m in demo.msgs:
        if m["action"] == "switch":
            continue
        if m["msgtype"] in ("agree", "disagree"):
            first_event.setdefault(m["from"], (m["msgtype"], m["from"] in chatted_before))
        elif not m.get("roomid") and m["msgid"].endswith("_external"):
            chatted_before.add(next(u for u in (m["from"], *m["tolist"]) if u.startswith(("wm", "wo"))))
    new = [ext for ext, (kind, before) in first_event.items() if kind == "agree"]
    assert len(new) >= 10
    assert all(not first_event[ext][1] for ext in new)
    assert len(chatted_before) > len(new), "most contacts had agreed before the window"


def test_times_are_working_hours_over_six_rising_months(demo):
    times = [m.get("msgtime", m.get("time")) for m in demo.msgs]
    assert all(a <= b for a, b in pairwise(times))
    first, last = (datetime.fromtimestamp(t / 1000, CST) for t in (times[0], times[-1]))
    assert 170 <= (last - first).days <= 183
    assert last.date().isoformat() <= demo.truth["anchor_date"]
    office = sum(1 for t in times
                 if (d := datetime.fromtimestamp(t / 1000, CST)).weekday() < 5 and 9 <= d.hour + d.minute / 60 < 18.5)
    assert office / len(times) > 0.8
    cut1, cut2 = times[0] + (times[-1] - times[0]) // 3, times[0] + 2 * (times[-1] - times[0]) // 3
    assert sum(t > cut2 for t in times) > 1.3 * sum(t < cut1 for t in times)


def test_text_reads_like_business_chat(demo):
    texts = [m["text"]["content"] for m in demo.msgs if m.get("msgtype") == "text"]
    blob = "\n".join(texts)
    assert re.search(r"1[3-9]\d{9}", blob), "phone numbers"
    assert re.search(r"\d[\d,]*元", blob), "amounts"
    assert "\n" in blob and "𠮷" in blob and "\u2028" in blob
    assert any(e in blob for e in ("😊", "👍", "🙏", "[强]", "[微笑]", "[抱拳]"))
    assert any(w in blob for w in ("OK", "PPT", "ERP", "Excel", "deadline"))
    assert any("<img" in t or "<script>" in t for t in texts)
    assert any(len(t) > 500 for t in texts)
    assert len(set(texts)) > len(texts) // 4, "enough variety"
    assert any("\u2028".encode() in line for line in demo.raw_lines), "written raw, not escaped"


def test_hostile_file_names_appear(demo):
    names = {m["file"]["filename"] for m in demo.msgs if m.get("msgtype") == "file"}
    for name, _ in HOSTILE_FILENAMES:
        assert name in names, name
    assert set(demo.truth["hostile_filenames"]) == {n for n, _ in HOSTILE_FILENAMES}


# ---- media ----------------------------------------------------------------------------------------


def test_every_sdkfileid_is_in_media_json_and_its_file_exists(demo):
    refs = [r for m in demo.msgs for r in media_refs(m)]
    ids = [r[0] for r in refs]
    assert len(set(ids)) == len(ids), "one sdkfileid per media reference"
    assert set(ids) == set(demo.media)
    assert any(not r[3] for r in refs), "some media live inside chatrecord / mixed items"
    for sid, rel in demo.media.items():
        assert 150 <= len(sid) <= 260
        assert not rel.startswith("/") and ".." not in rel
        assert (demo.path / rel).is_file()
    files = {p.relative_to(demo.path).as_posix() for p in (demo.path / "media").iterdir()}
    assert files == set(demo.media.values()), "no unreferenced media files"
    assert len(files) <= 200


def test_md5_and_sizes_match_except_the_deliberate_mismatches(demo):
    md5_of = {}
    bad, empty = set(), set()
    for m in demo.msgs:
        for sid, md5, size, top in media_refs(m):
            rel = demo.media[sid]
            if rel not in md5_of:
                data = (demo.path / rel).read_bytes()
                md5_of[rel] = (hashlib.md5(data).hexdigest(), len(data))
            real_md5, real_size = md5_of[rel]
            if size is not None:
                assert size == real_size, (sid, rel)
            if md5 == "":
                empty.add(sid)
            elif md5 is not None and md5 != real_md5:
                bad.add(sid)
                assert top
    assert bad == set(demo.truth["md5_mismatch_sdkfileids"])
    assert empty == set(demo.truth["md5_empty_sdkfileids"])
    assert len(bad) >= 2 and len(empty) >= 2
    total = sum(size for _, size in md5_of.values())
    assert total == demo.truth["counts"]["media_bytes"]
    assert len(md5_of) == demo.truth["counts"]["media_files"]


def test_media_files_are_valid_files_of_their_kind(demo):
    from PIL import Image

    seen = Counter()
    for rel in sorted(set(demo.media.values())):
        data = (demo.path / rel).read_bytes()
        ext = rel.rsplit(".", 1)[1]
        seen[ext] += 1
        if ext in ("jpg", "png", "gif"):
            with Image.open(io.BytesIO(data)) as im:
                assert im.format == {"jpg": "JPEG", "png": "PNG", "gif": "GIF"}[ext]
                im.verify()
        elif ext == "amr":
            assert amr_frames(data) % 50 == 0
        elif ext == "mp4":
            boxes = top_level_boxes(data)
            assert [b[0] for b in boxes] == [b"ftyp", b"moov", b"mdat"]
            assert data[8:12] == b"mp42"
        elif ext == "pdf":
            assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF")
            xref_at = int(data.rstrip().rsplit(b"startxref", 1)[1].split()[0])
            assert data[xref_at:xref_at + 4] == b"xref"
        elif ext in ("docx", "xlsx"):
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                assert z.testzip() is None
                names = z.namelist()
                assert names[0] == "[Content_Types].xml" and "_rels/.rels" in names
                part = "word/document.xml" if ext == "docx" else "xl/worksheets/sheet1.xml"
                text = "".join(ElementTree.fromstring(z.read(part)).itertext())
                assert re.search(r"[\u4e00-\u9fff]", text)
    for ext in ("jpg", "png", "gif", "amr", "mp4", "pdf", "docx", "xlsx", "txt", "bin"):
        assert seen[ext] >= 1, ext
    if shutil.which("file"):
        mp4 = next(rel for rel in demo.media.values() if rel.endswith(".mp4"))
        out = subprocess.run(["file", "-b", str(demo.path / mp4)], capture_output=True, text=True, check=True).stdout
        assert "MP4" in out


def test_voice_length_matches_play_length(demo):
    checked = 0
    for m in demo.msgs:
        if m.get("msgtype") == "voice":
            data = (demo.path / demo.media[m["voice"]["sdkfileid"]]).read_bytes()
            assert amr_frames(data) == 50 * m["voice"]["play_length"]
            checked += 1
    assert checked > 20


def test_large_files_and_a_file_full_of_nul_bytes(demo):
    sizes = {rel: (demo.path / rel).stat().st_size for rel in set(demo.media.values())}
    large = [rel for rel, size in sizes.items() if size > 5 * 1024 * 1024]
    assert len(large) >= 2
    assert {r.rsplit(".", 1)[1] for r in large} >= {"pdf", "mp4"}
    nul_heavy = [rel for rel, size in sizes.items()
                 if size > 1.5 * 1024 * 1024 and (demo.path / rel).read_bytes().count(0) > 0.9 * size]
    assert nul_heavy
    images = [size for rel, size in sizes.items() if rel.endswith(".jpg")]
    assert min(images) < 200_000 and max(images) > 1_000_000, "photo sizes vary"


def test_demo_corpus_stays_small(demo):
    total = sum(p.stat().st_size for p in demo.path.rglob("*") if p.is_file())
    assert total < 80 * 1024 * 1024


# ---- keys -------------------------------------------------------------------------------------------


def test_keys_rotation_and_the_uninstalled_key(demo):
    from cryptography.hazmat.primitives import serialization

    corpus = json.loads((demo.path / "corpus.json").read_text(encoding="utf-8"))
    assert re.fullmatch(r"ww[0-9a-f]{16}", corpus["corpid"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", corpus["secret"])
    assert corpus["faults"] == []
    assert set(corpus["keys"]) == {"1", "2", "3"}
    assert corpus["keys"]["3"]["install"] is False
    assert "install" not in corpus["keys"]["1"] and "install" not in corpus["keys"]["2"]
    for entry in corpus["keys"].values():
        priv_pem = (demo.path / entry["private"]).read_bytes()
        pub_pem = (demo.path / entry["public"]).read_bytes()
        assert priv_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
        assert pub_pem.startswith(b"-----BEGIN PUBLIC KEY-----")
        priv = serialization.load_pem_private_key(priv_pem, None)
        pub = serialization.load_pem_public_key(pub_pem)
        assert priv.key_size == 2048
        assert priv.public_key().public_numbers() == pub.public_numbers()

    vers = [e["publickey_ver"] for e in demo.lines]
    assert vers == sorted(vers), "a rotation: v1, then v2, then the uninstalled v3"
    assert 0.35 < vers.count(1) / len(vers) < 0.45
    v3 = [e["seq"] for e in demo.lines if e["publickey_ver"] == 3]
    assert v3 == demo.truth["uninstalled_seqs"]
    assert 2 <= len(v3) <= 20
    assert v3 == [e["seq"] for e in demo.lines[-len(v3):]], "the latest entries"
    assert demo.truth["uninstalled_key_version"] == 3


# ---- reading it back -------------------------------------------------------------------------------------


def test_read_entries_returns_the_exact_msg_bytes(demo):
    entries = list(read_entries(demo.path))
    assert len(entries) == len(demo.raw_lines)
    for entry, line, parsed in zip(entries, demo.raw_lines, demo.lines, strict=True):
        prefix = b'{"seq":%d,"publickey_ver":%d,"msg":' % (parsed["seq"], parsed["publickey_ver"])
        assert line.startswith(prefix) and line.endswith(b"}")
        assert entry.raw_msg == line[len(prefix):-1]
        assert (entry.seq, entry.publickey_ver, entry.msgid) == (
            parsed["seq"], parsed["publickey_ver"], parsed["msg"]["msgid"])
        assert entry.raw_msg == json.dumps(parsed["msg"], ensure_ascii=False, separators=(",", ":")).encode()


def _corpus_with_lines(path: Path, text: str, keys=("1", "4")) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "corpus.json").write_text(json.dumps({"corpid": "ww0", "secret": "s", "faults": [],
                                                  "keys": {k: {"public": "p", "private": "q"} for k in keys}}))
    (path / "messages.jsonl").write_bytes(text.encode("utf-8"))
    return path


def test_read_entries_applies_defaults_to_hand_written_lines(tmp_path):
    text = (
        '{"msg": {"msgid":"a","x":"\\u4e2d"}, "seq": 5}\n'
        "\n"
        '{"msg":{"msgid":"b"},"publickey_ver":1}\r\n'
        '  { "seq" : 9 , "msg" : { "msgid" : "c" , "msgid":"d" } , "extra": [1,{"msg":2}] }  \n'
        '{"msg":{"text":"中文 𠮷"}}'
    )
    entries = list(read_entries(_corpus_with_lines(tmp_path, text)))
    assert [(e.seq, e.publickey_ver, e.msgid) for e in entries] == [(5, 4, "a"), (6, 1, "b"), (9, 4, "d"), (10, 4, None)]
    assert entries[0].raw_msg == b'{"msgid":"a","x":"\\u4e2d"}'
    assert entries[2].raw_msg == b'{ "msgid" : "c" , "msgid":"d" }'
    assert entries[3].raw_msg == '{"text":"中文 𠮷"}'.encode()


@pytest.mark.parametrize("text, message", [
    ('{"seq":3,"msg":{}}\n{"seq":3,"msg":{}}\n', "not greater"),
    ('{"seq":1,"msg":[1]}\n', "must be an object"),
    ('{"seq":1,"publickey_ver":2,"msg":{}}\n', "has no key"),
    ('{"seq":0,"msg":{}}\n', "positive integer"),
    ('{"seq":1,"seq":2,"msg":{}}\n', "duplicate"),
    ('{"seq":1}\n', 'missing "msg"'),
    ('{"seq":1,"msg":{}} x\n', "unexpected data"),
    ('{"seq":1,"msg":{"a":}}\n', "line 1"),
])
def test_read_entries_rejects_what_the_simulator_rejects(tmp_path, text, message):
    with pytest.raises(CorpusError, match=message):
        list(read_entries(_corpus_with_lines(tmp_path, text)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(msg=st.dictionaries(st.text(max_size=6), json_values, max_size=4), ascii_only=st.booleans(),
       msg_first=st.booleans(), spaced=st.booleans())
def test_read_entries_round_trips_any_msg_json(tmp_path, msg, ascii_only, msg_first, spaced):
    # whitespace inside the value must survive byte for byte
    raw = json.dumps(msg, ensure_ascii=ascii_only, separators=(" ,\t", " :  ") if spaced else None)
    line = f'{{"msg": {raw}, "seq": 7}}' if msg_first else f'{{"seq":7,"publickey_ver":1,"msg":{raw}}}'
    (entry,) = read_entries(_corpus_with_lines(tmp_path / "c", line + "\n"))
    assert entry.raw_msg == raw.encode("utf-8")
    assert json.loads(entry.raw_msg) == msg


# ---- determinism, options, CLI, demo --------------------------------------------------------------------------


def _tree_digest(path: Path) -> dict[str, str]:
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() and "keys" not in p.parts and p.name != "corpus.json"}


def test_same_seed_gives_identical_bytes_across_processes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    truth = generate_corpus(a, 400, 5, media_pool=20)
    assert truth["counts"]["media_files"] <= 20
    code = ("import sys; sys.path.insert(0, sys.argv[2]); from native.corpus import generate_corpus; "
            "generate_corpus(sys.argv[1], 400, 5, media_pool=20)")
    subprocess.run([sys.executable, "-c", code, str(b), str(ROOT)], check=True,
                   env={**os.environ, "PYTHONHASHSEED": "4242"})
    assert (a / "messages.jsonl").read_bytes() == (b / "messages.jsonl").read_bytes()
    assert _tree_digest(a) == _tree_digest(b)
    ca, cb = (json.loads((p / "corpus.json").read_text()) for p in (a, b))
    assert ca == cb, "same corpid, secret and key layout"
    assert (a / "keys/v1.pem").read_bytes() != (b / "keys/v1.pem").read_bytes(), "RSA keys are fresh each run"
    other = generate_corpus(c, 100, 6, media=False)
    assert set(other["directory"]).isdisjoint(json.loads((a / "truth.json").read_text())["external_corps"])


def test_without_media_every_kind_is_one_tiny_file(tmp_path):
    truth = generate_corpus(tmp_path / "c", 600, 2, media=False)
    media_map = json.loads((tmp_path / "c/media.json").read_text(encoding="utf-8"))
    assert len(media_map) == truth["counts"]["media_refs"] > 50
    files = set(media_map.values())
    assert len(files) == truth["counts"]["media_files"] <= 15
    assert truth["counts"]["media_bytes"] < 100_000
    assert truth["large_media"] == []


def test_key_versions_and_no_uninstalled_key(tmp_path):
    truth = generate_corpus(tmp_path / "c", 500, 3, key_versions=3, uninstalled_key=False, media=False)
    corpus = json.loads((tmp_path / "c/corpus.json").read_text())
    assert set(corpus["keys"]) == {"1", "2", "3"}
    assert all("install" not in k for k in corpus["keys"].values())
    assert truth["uninstalled_seqs"] == [] and truth["uninstalled_key_version"] is None
    assert set(truth["counts"]["publickey_ver"]) == {"1", "2", "3"}


def test_cli_refuses_to_overwrite_and_forces_only_over_a_corpus(tmp_path, capsys):
    out = tmp_path / "c"
    args = ["--out", str(out), "--messages", "150", "--no-media", "--seed", "3"]
    assert cli_main(args) == 0
    summary = capsys.readouterr().out
    assert "entries     150" in summary and "msgtypes" in summary
    first = (out / "messages.jsonl").read_bytes()
    assert cli_main(args) == 1
    assert "not empty" in capsys.readouterr().err
    assert cli_main(args + ["--force"]) == 0
    assert (out / "messages.jsonl").read_bytes() == first
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious")
    assert cli_main(["--out", str(foreign), "--messages", "10", "--force"]) == 1
    assert (foreign / "thesis.docx").read_text() == "precious"
    with pytest.raises(SystemExit):
        cli_main(["--out", str(tmp_path / "x"), "--messages", "0"])


def test_ensure_demo_corpus_reuses_a_complete_one(demo):
    stamp = (demo.path / "truth.json").stat().st_mtime_ns
    assert ensure_demo_corpus(demo.path) == demo.path
    assert (demo.path / "truth.json").stat().st_mtime_ns == stamp


def test_ensure_demo_corpus_never_leaves_a_partial_corpus(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_mod, "DEMO_MESSAGES", 120)
    target = tmp_path / "demo"

    def interrupted(out, *args, **kwargs):
        (Path(out) / "messages.jsonl").write_text("{}\n")
        raise KeyboardInterrupt

    real = demo_mod.generate_corpus
    monkeypatch.setattr(demo_mod, "generate_corpus", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ensure_demo_corpus(target)
    assert not target.exists() and list(tmp_path.iterdir()) == []

    monkeypatch.setattr(demo_mod, "generate_corpus", real)
    assert ensure_demo_corpus(target) == target
    truth = json.loads((target / "truth.json").read_text(encoding="utf-8"))
    assert truth["parameters"]["messages"] == 120 and truth["seed"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]

    (target / "truth.json").unlink()  # looks interrupted now: regenerated in place
    assert ensure_demo_corpus(target) == target and (target / "truth.json").exists()

    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("x")
    with pytest.raises(FileExistsError):
        ensure_demo_corpus(other)


@pytest.mark.slow
def test_200k_messages_in_bounded_memory(tmp_path):
    resource = pytest.importorskip("resource")
    assert resource  # POSIX only: peak RSS of a child process

    def peak_rss_kb(n: int) -> int:
        code = ("import resource, sys; sys.path.insert(0, sys.argv[3]); from native.corpus import generate_corpus; "
                "generate_corpus(sys.argv[1], int(sys.argv[2]), 3, media_pool=16); "
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path / str(n)), str(n), str(ROOT)],
                             check=True, capture_output=True, text=True).stdout
        return int(out.split()[-1])

    small, large = peak_rss_kb(20_000), peak_rss_kb(200_000)
    with open(tmp_path / "200000/messages.jsonl", "rb") as f:
        assert sum(1 for _ in f) == 200_000
    assert large - small < 40 * 1024, f"memory grows with the corpus: {small} KB -> {large} KB"
    assert large < 300 * 1024
