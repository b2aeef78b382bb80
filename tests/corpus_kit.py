"""A tiny hand-written corpus for the SDK-layer tests, independent of the corpus generator.

It holds a few entries of two key versions (one with odd whitespace, escapes, emoji and a rare
CJK character, to prove the simulator serves the msg bytes exactly), a seq gap, and media files
including an empty one and a 1.5 MB file full of NUL bytes.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CORPID = "wwtinycorp0000001"
SECRET = "tiny-secret-0123456789abcdefghijklmnopqrstu"
ROOT = Path(__file__).resolve().parents[1]


def make_rsa_keys(versions) -> dict[int, tuple[bytes, bytes]]:
    keys = {}
    for v in versions:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        keys[v] = (private, public)
    return keys


# (line as written in messages.jsonl, its seq, its msgid, its key version)
_RAW_LINES = [
    '{"seq": 1, "publickey_ver": 1, "msg": {"msgid":"m1","action":"send","from":"zhangwei","tolist":["lina"],'
    '"roomid":"","msgtime":1700000000000,"msgtype":"text","text":{"content":"你好，合同今天发"}}}',
    '{"publickey_ver": 1, "msg": {  "msgid" : "m2", "action":"send","from":"lina","tolist":["zhangwei"],\t'
    '"roomid":"","msgtime":1700000001000,"msgtype":"text","text":{"content":"收到\\u3002 😀 𠮷 \\"quoted\\""}}}',
    '{"seq": 7, "msg": {"msgid":"m3","action":"send","from":"zhangwei","tolist":["lina"],"roomid":"",'
    '"msgtime":1700000002000,"msgtype":"image","image":{"md5sum":"@IMG_MD5@","filesize":@IMG_SIZE@,'
    '"sdkfileid":"fid-image"}}}',
    '{"seq": 8, "msg": {"msgid":"m4","action":"send","from":"zhangwei","tolist":["lina"],"roomid":"",'
    '"msgtime":1700000003000,"msgtype":"file","file":{"md5sum":"@NUL_MD5@","filename":"zeros.bin",'
    '"fileext":"bin","filesize":@NUL_SIZE@,"sdkfileid":"fid-nul"}}}',
    '{"seq": 9, "publickey_ver": 2, "msg": {"msgid":"m5","action":"switch","time":1700000004000,'
    '"user":"zhangwei"}}',
    '{"seq": 10, "msg": {"msgid":"m6","action":"send","from":"lina","tolist":["zhangwei"],"roomid":"",'
    '"msgtime":1700000005000,"msgtype":"file","file":{"md5sum":"@EMPTY_MD5@","filename":"empty.txt",'
    '"fileext":"txt","filesize":0,"sdkfileid":"fid-empty"}}}',
]


@dataclass
class TinyCorpus:
    path: Path
    keys: dict[int, tuple[bytes, bytes]]
    media: dict[str, bytes] = field(default_factory=dict)
    entries: list[tuple[int, str, int, bytes]] = field(default_factory=list)  # seq, msgid, ver, raw msg

    corpid = CORPID
    secret = SECRET

    @classmethod
    def write(cls, path: Path, keys, faults=()) -> TinyCorpus:
        (path / "keys").mkdir(parents=True)
        (path / "media").mkdir()
        media = {
            "fid-image": bytes(range(256)) * 1000 + b"\xff\xd9",
            "fid-nul": b"\0" * (1536 * 1024 + 17),
            "fid-empty": b"",
        }
        names = {"fid-image": "media/img.jpg", "fid-nul": "media/zeros.bin", "fid-empty": "media/empty.txt"}
        for fid, data in media.items():
            (path / names[fid]).write_bytes(data)
        (path / "media.json").write_text(json.dumps(names))
        conf = {"corpid": CORPID, "secret": SECRET, "keys": {}, "faults": list(faults)}
        for v, (private, public) in keys.items():
            (path / f"keys/v{v}.pem").write_bytes(private)
            (path / f"keys/v{v}.pub.pem").write_bytes(public)
            conf["keys"][str(v)] = {"public": f"keys/v{v}.pub.pem", "private": f"keys/v{v}.pem"}
        (path / "corpus.json").write_text(json.dumps(conf, indent=1))
        subst = {
            "@IMG_MD5@": hashlib.md5(media["fid-image"]).hexdigest(), "@IMG_SIZE@": str(len(media["fid-image"])),
            "@NUL_MD5@": hashlib.md5(media["fid-nul"]).hexdigest(), "@NUL_SIZE@": str(len(media["fid-nul"])),
            "@EMPTY_MD5@": hashlib.md5(b"").hexdigest(),
        }
        lines = []
        for line in _RAW_LINES:
            for k, v in subst.items():
                line = line.replace(k, v)
            lines.append(line)
        (path / "messages.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        corpus = cls(path, keys, media)
        corpus.entries = list(_entries(lines, max(keys)))
        return corpus

    def set_faults(self, faults) -> None:
        conf = json.loads((self.path / "corpus.json").read_text())
        conf["faults"] = list(faults)
        (self.path / "corpus.json").write_text(json.dumps(conf))


def _entries(lines, highest_version):
    decoder = json.JSONDecoder()
    prev_seq = 0
    for line in lines:
        doc = json.loads(line)
        seq = doc.get("seq", prev_seq + 1)
        prev_seq = seq
        start = line.index('"msg"')
        start = line.index(":", start) + 1
        while line[start] in " \t":
            start += 1
        _, end = decoder.raw_decode(line, start)
        yield seq, doc["msg"]["msgid"], doc.get("publickey_ver", highest_version), line[start:end].encode("utf-8")


def run_isolated(code: str, corpus_path: Path, timeout: float = 120) -> dict:
    """Run ``code`` in a fresh Python process (the simulator's fault counters are per process).

    The code sees ``sim`` (the simulator path), ``corpus`` (its folder), CORPID and SECRET, and must
    set ``result`` to something JSON-serialisable, which is returned.
    """
    from native.build import simulator_path

    prelude = textwrap.dedent(f"""
        import json, os, sys
        sys.path.insert(0, {str(ROOT)!r})
        os.environ["WECOM_SIM_CORPUS"] = {str(corpus_path)!r}
        sim = {str(simulator_path())!r}
        corpus = {str(corpus_path)!r}
        CORPID, SECRET = {CORPID!r}, {SECRET!r}
        result = None
    """)
    script = prelude + textwrap.dedent(code) + "\nprint('@@RESULT@@' + json.dumps(result))\n"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"isolated run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    marker = [line for line in proc.stdout.splitlines() if line.startswith("@@RESULT@@")]
    return json.loads(marker[-1][len("@@RESULT@@"):])
