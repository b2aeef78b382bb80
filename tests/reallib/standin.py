"""A loopback stand-in for WeCom's chat-archive servers, for tests of the real Finance SDK.

Tencent's library talks HTTPS to ``qyapi.weixin.qq.com`` through the ``proxy`` argument of
GetChatData / GetMediaData (``http://127.0.0.1:PORT`` → HTTP CONNECT). This stand-in is that proxy:
it accepts ``CONNECT qyapi.weixin.qq.com:443``, terminates TLS itself with a certificate for that
name signed by a CA made at start (``ca_pem``: trust it or not), and answers the three endpoints
the library uses. Every request is recorded. Nothing leaves 127.0.0.1.

In a test (a thread)::

    with StandIn(corpid="ww1", secret="s3cret") as s:
        s.getchatdata.append(Answer.error(45009, "api freq out of limit"))   # the next call
        s.getchatdata.append(Answer.text("Service Unavailable"))            # the one after
        s.getchatdata.default = Answer.chatdata([...])                      # every later call
        ... GetChatData(sdk, 0, 100, s.proxy_url, "", 5, out) ...
        assert s.calls("gettoken")[0].query["corpsecret"] == "s3cret"

Endpoints and their default answers (used when the endpoint's queue is empty):

* ``gettoken``: errcode 40013 if ``corpid`` is set and differs, 40001 if ``secret`` is set and
  differs, else a fresh ``access_token`` with ``expires_in`` = ``token_ttl``.
* ``getchatdata``: 40014 for an unknown token, 42001 for an expired one (:meth:`StandIn.expire_tokens`),
  else the items of ``chat`` (a :class:`ChatItems` or :class:`CorpusSource`) with seq > ``seq``.
* ``getchatmediadata``: ranges of the files in ``media`` (:meth:`StandIn.add_media`) or of the
  corpus, in the real format (see realformat.py); 40007 for an unknown fileid.

As a subprocess: ``python tests/reallib/standin.py [--corpus DIR] [--corpid ..] [--secret ..]``
prints one JSON line ``{"proxy": ..., "ca_pem": ..., "pid": ...}`` and serves until killed or
its stdin closes. Requests to the stand-in itself (origin-form, not proxied) are its control API:
``GET /_standin/requests``, ``POST /_standin/script/<endpoint>`` (body: an answer as JSON,
``{"status":..,"body":..,"headers":{..},"delay":..}``), ``POST /_standin/reset``.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import datetime
import json
import os
import re
import signal
import socket
import socketserver
import ssl
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509.oid import NameOID

if str(Path(__file__).resolve().parent) not in sys.path:  # loaded by path from another test folder
    sys.path.insert(0, str(Path(__file__).resolve().parent))
import realformat  # noqa: E402

WECOM_HOST = "qyapi.weixin.qq.com"
ENDPOINTS = {
    ("GET", "/cgi-bin/gettoken"): "gettoken",
    ("POST", "/cgi-bin/message/getchatdata"): "getchatdata",
    ("POST", "/cgi-bin/message/getchatmediadata"): "getchatmediadata",
}
_REASONS = {200: "OK", 206: "Partial Content", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            407: "Proxy Authentication Required", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout"}


# --------------------------------------------------------------------------- answers and requests

@dataclass
class Answer:
    """One scripted HTTP answer. ``body``: bytes/str as is, dict/list as compact JSON."""

    body: bytes | str | dict | list | None = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0          # seconds to wait before answering (timeouts)
    drop: bool = False          # close the connection without answering

    @classmethod
    def json(cls, obj, **kw) -> Answer:
        return cls(body=obj, **kw)

    @classmethod
    def error(cls, errcode: int, errmsg: str = "", **kw) -> Answer:
        return cls(body={"errcode": errcode, "errmsg": errmsg or f"stand-in error {errcode}"}, **kw)

    @classmethod
    def token(cls, access_token: str, expires_in: int = 7200) -> Answer:
        return cls(body={"errcode": 0, "errmsg": "ok", "access_token": access_token,
                         "expires_in": expires_in})

    @classmethod
    def chatdata(cls, items: Iterable[dict]) -> Answer:
        return cls(body={"errcode": 0, "errmsg": "ok", "chatdata": list(items)})

    @classmethod
    def text(cls, text: str | bytes, status: int = 200) -> Answer:
        return cls(body=text, status=status, headers={"Content-Type": "text/plain"})

    @classmethod
    def http_status(cls, status: int, text: str | None = None) -> Answer:
        return cls.text(text if text is not None else _REASONS.get(status, "error"), status=status)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def to_json(self) -> dict:
        body = self.body
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        return {"status": self.status, "body": body, "headers": self.headers, "delay": self.delay,
                "drop": self.drop}


AnswerLike = Answer | Callable[["Request"], Answer]


@dataclass
class Request:
    """One request the stand-in received (also CONNECTs and refused ones)."""

    endpoint: str                # gettoken / getchatdata / getchatmediadata / connect / refused / unknown
    method: str
    target: str                  # as on the request line
    path: str
    query: dict[str, str]
    headers: list[tuple[str, str]]
    body: bytes
    http_version: str = ""
    tls_error: str | None = None  # CONNECT only: why the TLS handshake failed, if it did
    answer_status: int | None = None
    time: float = field(default_factory=time.time)

    def header(self, name: str, default: str | None = None) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def json(self):
        return json.loads(self.body)

    def to_json(self) -> dict:
        return {"endpoint": self.endpoint, "method": self.method, "target": self.target, "path": self.path,
                "query": self.query, "headers": self.headers, "body": self.body.decode("utf-8", "replace"),
                "http_version": self.http_version, "tls_error": self.tls_error,
                "answer_status": self.answer_status, "time": self.time}


class Script:
    """Answers of one endpoint: a queue consumed one per request, then ``default``."""

    def __init__(self, default: AnswerLike):
        self._queue: collections.deque[AnswerLike] = collections.deque()
        self._lock = threading.Lock()
        self.default: AnswerLike = default

    def append(self, answer: AnswerLike) -> None:
        with self._lock:
            self._queue.append(answer)

    def extend(self, answers: Iterable[AnswerLike]) -> None:
        for a in answers:
            self.append(a)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def __len__(self) -> int:
        return len(self._queue)

    def next(self, request: Request) -> Answer:
        with self._lock:
            answer = self._queue.popleft() if self._queue else self.default
        return answer(request) if callable(answer) else answer


# --------------------------------------------------------------------------- data sources

class ChatItems:
    """Archive items served by getchatdata: dicts with seq/msgid/publickey_ver/encrypt_* keys."""

    def __init__(self, items: Iterable[dict] = ()):
        self._items: list[dict] = []
        self.extend(items)

    def extend(self, items: Iterable[dict]) -> None:
        self._items.extend(items)
        self._items.sort(key=lambda i: i["seq"])

    def items_after(self, seq: int, limit: int) -> list[dict]:
        return [i for i in self._items if i["seq"] > seq][:limit]

    def __len__(self) -> int:
        return len(self._items)


def encrypt_item(seq: int, msgid: str, publickey_ver: int, public_key, plaintext: bytes,
                 *, random_key: bytes | None = None) -> dict:
    """One getchatdata item in the real format (RSA PKCS#1 v1.5 of a real-format random key)."""
    random_key = random_key or realformat.new_random_key()
    encrypted_key = public_key.encrypt(random_key, padding.PKCS1v15())
    return {"seq": seq, "msgid": msgid, "publickey_ver": publickey_ver,
            "encrypt_random_key": base64.b64encode(encrypted_key).decode("ascii"),
            "encrypt_chat_msg": realformat.encrypt_chat_msg(random_key, plaintext)}


# Any depth of JSON-in-JSON: chatrecord items hold mixed items whose content is escaped twice.
SDKFILEID_RE = re.compile(rb'(sdkfileid(?:\\)*"\s*:\s*(?:\\)*")([^"\\]+)')


class CorpusSource:
    """Serves a corpus of ``native.corpus`` (messages.jsonl, corpus.json, media.json) in the real format.

    Each message is encrypted once (on first request) for its ``publickey_ver`` with that version's
    public key. Every ``sdkfileid`` value in a message is replaced by :meth:`real_sdkfileid` (the
    corpus id with an ``aeskey`` field added, which the real GetMediaData needs), so the plaintext
    the real DecryptData returns is :meth:`plaintext` of the entry, not the raw corpus line.
    Faults honoured: ``corrupt_ciphertext``, ``malformed_json``, ``media_expired`` (→ 301048).
    Holds the corpus index in memory: meant for test corpora.
    """

    def __init__(self, corpus_dir: str | os.PathLike, media_secret: bytes = b"stand-in"):
        from native.corpus import read_entries

        self.dir = Path(corpus_dir)
        self.media_secret = media_secret
        cfg = json.loads((self.dir / "corpus.json").read_text(encoding="utf-8"))
        self.corpid, self.secret = cfg.get("corpid"), cfg.get("secret")
        self.public_keys = {}
        for ver, entry in cfg.get("keys", {}).items():
            p = Path(entry["public"])
            pem = (p if p.is_absolute() else self.dir / p).read_bytes()
            try:
                key = serialization.load_pem_public_key(pem)
            except ValueError:  # BEGIN RSA PUBLIC KEY (PKCS#1)
                from cryptography.hazmat.primitives.serialization import load_der_public_key
                der = base64.b64decode(b"".join(ln for ln in pem.splitlines() if not ln.startswith(b"-----")))
                key = load_der_public_key(_pkcs1_to_spki(der))
            self.public_keys[int(ver)] = key
        faults = cfg.get("faults", [])
        self.corrupt = {f["seq"] for f in faults if f.get("kind") == "corrupt_ciphertext"}
        self.malformed = {f["seq"] for f in faults if f.get("kind") == "malformed_json"}
        self.expired = {f["sdkfileid"] for f in faults if f.get("kind") == "media_expired"}
        self.entries = list(read_entries(self.dir))
        self._seqs = [e.seq for e in self.entries]
        self._items: dict[int, dict] = {}
        self._lock = threading.Lock()
        self._media_index: dict[str, str] | None = None
        self._media_cache: collections.OrderedDict[str, bytes] = collections.OrderedDict()

    # -- messages
    def real_sdkfileid(self, corpus_sdkfileid: str) -> str:
        return realformat.add_aeskey(corpus_sdkfileid, realformat.media_key(self.media_secret, corpus_sdkfileid))

    def plaintext(self, raw_msg: bytes, seq: int | None = None) -> bytes:
        """What the real DecryptData returns for this entry (sdkfileids replaced; faults applied)."""
        text = SDKFILEID_RE.sub(lambda m: m.group(1) + self.real_sdkfileid(m.group(2).decode()).encode(), raw_msg)
        if seq is not None and seq in self.malformed:
            cut = len(text) // 2
            while cut and (text[cut] & 0xC0) == 0x80:
                cut -= 1
            text = text[:cut]
        return text

    def item(self, index: int) -> dict:
        e = self.entries[index]
        with self._lock:
            item = self._items.get(e.seq)
        if item is None:
            random_key = realformat.new_random_key()
            item = encrypt_item(e.seq, e.msgid or "", e.publickey_ver, self.public_keys[e.publickey_ver],
                                self.plaintext(e.raw_msg, e.seq), random_key=random_key)
            if e.seq in self.corrupt:  # DecryptData answers 10006, as with the simulator
                item["encrypt_chat_msg"] = realformat.corrupt_chat_msg(random_key, item["encrypt_chat_msg"])
            with self._lock:
                self._items[e.seq] = item
        return item

    def items_after(self, seq: int, limit: int) -> list[dict]:
        import bisect

        start = bisect.bisect_right(self._seqs, seq)
        return [self.item(i) for i in range(start, min(start + limit, len(self.entries)))]

    def __len__(self) -> int:
        return len(self.entries)

    # -- media
    def media(self, fileid: bytes, authkey: bytes) -> tuple[bytes, bytes] | str | None:
        """(plain bytes, aeskey) of the file the library asks for; "expired"; None if unknown."""
        if self._media_index is None:
            p = self.dir / "media.json"
            index = json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}
            with self._lock:
                self._media_index = index
        original = realformat.original_sdkfileid(fileid, authkey)
        if original not in self._media_index:
            original = fileid.decode("utf-8", "replace")  # a non-protobuf id was wrapped whole
        if original in self.expired:
            return "expired"
        rel = self._media_index.get(original)
        if rel is None:
            return None
        with self._lock:
            data = self._media_cache.get(rel)
        if data is None:
            path = Path(rel) if Path(rel).is_absolute() else self.dir / rel
            data = path.read_bytes()
            with self._lock:
                self._media_cache[rel] = data
                while len(self._media_cache) > 8:
                    self._media_cache.popitem(last=False)
        return data, realformat.media_key(self.media_secret, original)


def _pkcs1_to_spki(der: bytes) -> bytes:
    """Wrap a PKCS#1 RSAPublicKey DER in a SubjectPublicKeyInfo."""
    def tlv(tag: int, body: bytes) -> bytes:
        n = len(body)
        if n < 128:
            ln = bytes([n])
        else:
            b = n.to_bytes((n.bit_length() + 7) // 8, "big")
            ln = bytes([0x80 | len(b)]) + b
        return bytes([tag]) + ln + body

    alg = bytes.fromhex("300d06092a864886f70d0101010500")
    return tlv(0x30, alg + tlv(0x03, b"\x00" + der))


# --------------------------------------------------------------------------- certificates

class _Certificates:
    """A CA made at start, and the server certificate for the chosen mode, as PEM files."""

    def __init__(self, directory: Path, mode: str, host: str, extra_hosts: tuple[str, ...] = ()):
        self.dir = directory
        now = datetime.datetime.now(datetime.UTC)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "WeCom stand-in test CA"),
                             x509.NameAttribute(NameOID.COMMON_NAME, "WeCom stand-in test CA")])
        self.ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
                        .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
                        .not_valid_before(now - datetime.timedelta(days=1))
                        .not_valid_after(now + datetime.timedelta(days=30))
                        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                     content_commitment=False, key_encipherment=False,
                                                     data_encipherment=False, key_agreement=False,
                                                     encipher_only=False, decipher_only=False), critical=True)
                        .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()),
                                       critical=False)
                        .sign(self.ca_key, hashes.SHA256()))
        self.ca_pem = directory / "ca.pem"
        self.ca_pem.write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))

        leaf_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
        if mode == "expired":
            start, end = now - datetime.timedelta(days=60), now - datetime.timedelta(days=30)
        else:
            start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
        builder = (x509.CertificateBuilder().subject_name(name).public_key(leaf_key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in (host, *extra_hosts)]),
                                  critical=False)
                   .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                                  critical=False))
        if mode == "self-signed":
            leaf = builder.issuer_name(name).sign(leaf_key, hashes.SHA256())
            chain = [leaf]
        else:
            leaf = (builder.issuer_name(self.ca_cert.subject)
                    .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                                   critical=False)
                    .sign(self.ca_key, hashes.SHA256()))
            chain = [leaf, self.ca_cert]
        self.cert_pem = directory / "server.pem"
        self.cert_pem.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
        self.key_pem = directory / "server.key"
        self.key_pem.write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM,
                                                        serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(self.cert_pem, self.key_pem)


# --------------------------------------------------------------------------- the server

class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


class StandIn:
    """The stand-in: start() / stop(), or use as a context manager.

    ``cert``: ``"ca"`` (default: signed by the stand-in's CA, ``ca_pem``), ``"self-signed"``,
    ``"expired"`` (CA-signed, expired), or ``"wrong-host"`` (CA-signed for ``wrong.example.com``).
    ``proxy_auth``: ("user", "pass") to demand Proxy-Authorization (the SDK's ``passwd``).
    """

    def __init__(self, *, corpid: str | None = None, secret: str | None = None, token_ttl: int = 7200,
                 cert: str = "ca", cert_host: str | None = None, corpus: str | os.PathLike | None = None,
                 proxy_auth: tuple[str, str] | None = None, media_chunk_limit: int | None = None):
        if cert not in ("ca", "self-signed", "expired", "wrong-host"):
            raise ValueError(f"unknown cert mode {cert!r}")
        self.corpid, self.secret, self.token_ttl = corpid, secret, token_ttl
        self.cert_mode = cert
        self.cert_host = cert_host or ("wrong.example.com" if cert == "wrong-host" else WECOM_HOST)
        self.proxy_auth = proxy_auth
        self.media_chunk_limit = media_chunk_limit  # serve at most this many bytes per range answer
        self.requests: list[Request] = []
        self.tokens: dict[str, float] = {}          # token -> expiry (time.time())
        self.media: dict[bytes, tuple[bytes, bytes]] = {}  # fileid -> (plain bytes, aeskey)
        self.chat: ChatItems | CorpusSource = ChatItems()
        if corpus is not None:
            self.serve_corpus(corpus)
        self.gettoken = Script(self._default_gettoken)
        self.getchatdata = Script(self._default_getchatdata)
        self.getchatmediadata = Script(self._default_getchatmediadata)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._token_counter = 0
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.certs: _Certificates | None = None
        self.hosts: tuple[str, ...] = (WECOM_HOST,)  # CONNECT targets served (port 443); a subclass may add

    # -- lifecycle
    def start(self) -> StandIn:
        self._tmp = tempfile.TemporaryDirectory(prefix="wecom-standin-")
        extra = tuple(h for h in self.hosts if h != WECOM_HOST) if self.cert_mode != "wrong-host" else ()
        self.certs = _Certificates(Path(self._tmp.name), self.cert_mode, self.cert_host, extra)
        standin = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                standin._handle(self.request)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="wecom-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the stand-in first"
        return self._server.server_address[1]

    @property
    def proxy_url(self) -> str:
        """What to pass as the SDK's ``proxy`` argument (or to requests as the https proxy)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ca_pem(self) -> Path:
        """The PEM of the CA that signed the server certificate (trust it to verify)."""
        assert self.certs is not None, "start() the stand-in first"
        return self.certs.ca_pem

    # -- helpers for tests
    def calls(self, endpoint: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    def reset(self) -> None:
        """Forget recorded requests and scripted answers (tokens stay valid)."""
        with self._lock:
            self.requests.clear()
        for s in (self.gettoken, self.getchatdata, self.getchatmediadata):
            s.clear()

    def expire_tokens(self) -> None:
        """Make every issued token expired (getchatdata answers 42001 until a new one is fetched)."""
        with self._lock:
            for t in self.tokens:
                self.tokens[t] = 0.0

    def add_media(self, data: bytes, *, fileid: str | None = None, authkey: str = "",
                  aeskey: bytes | None = None) -> str:
        """Serve ``data`` as a media file; returns the real-format sdkfileid to pass to GetMediaData."""
        fileid_b = (fileid or f"standin-file-{len(self.media) + 1}").encode("utf-8")
        aeskey = aeskey or os.urandom(16)
        self.media[fileid_b] = (data, aeskey)
        return realformat.make_sdkfileid(fileid_b, aeskey, authkey)

    def serve_corpus(self, corpus_dir: str | os.PathLike, media_secret: bytes = b"stand-in") -> CorpusSource:
        """Serve a ``native.corpus`` corpus in the real format (also sets corpid/secret if unset)."""
        src = CorpusSource(corpus_dir, media_secret)
        self.chat = src
        self.corpid = self.corpid or src.corpid
        self.secret = self.secret or src.secret
        return src

    # -- default answers
    def _default_gettoken(self, req: Request) -> Answer:
        if self.corpid is not None and req.query.get("corpid") != self.corpid:
            return Answer.error(40013, "invalid corpid")
        if self.secret is not None and req.query.get("corpsecret") != self.secret:
            return Answer.error(40001, "invalid secret")
        with self._lock:
            self._token_counter += 1
            token = f"standin-token-{self._token_counter}-{os.urandom(8).hex()}"
            self.tokens[token] = time.time() + self.token_ttl
        return Answer.token(token, self.token_ttl)

    def _token_error(self, req: Request) -> Answer | None:
        token = req.query.get("access_token", "")
        with self._lock:
            expiry = self.tokens.get(token)
        if expiry is None:
            return Answer.error(40014, "invalid access_token")
        if expiry < time.time():
            return Answer.error(42001, "access_token expired")
        return None

    def _default_getchatdata(self, req: Request) -> Answer:
        err = self._token_error(req)
        if err:
            return err
        try:
            body = req.json()
            seq, limit = int(body.get("seq", 0)), int(body.get("limit", 0))
        except (ValueError, TypeError, AttributeError):
            return Answer.error(44004, "bad request body")
        return Answer.chatdata(self.chat.items_after(seq, limit))

    def _default_getchatmediadata(self, req: Request) -> Answer:
        err = self._token_error(req)
        if err:
            return err
        try:
            body = req.json()
            fileid = str(body.get("fileid", "")).encode("utf-8")
            authkey = str(body.get("authkey", "")).encode("utf-8")
        except (ValueError, AttributeError):
            return Answer.error(44004, "bad request body")
        found = self.media.get(fileid)
        if found is None and isinstance(self.chat, CorpusSource):
            found = self.chat.media(fileid, authkey)
        if found == "expired":
            return Answer.error(301048, "media expired")
        if found is None:
            return Answer.error(40007, "invalid media_id")
        data, aeskey = found
        total = realformat.encrypted_size(len(data))
        rng = realformat.parse_range((req.header("Range") or "").strip() or f"bytes=0-{total - 1}")
        if rng is None or rng[0] % 16 or rng[0] >= total or rng[1] < rng[0]:
            return Answer.http_status(416, "Range Not Satisfiable")
        start, end = rng[0], min(rng[1], total - 1)
        if self.media_chunk_limit:
            end = min(end, start + self.media_chunk_limit - 1)
        chunk = realformat.encrypt_media_range(aeskey, data, start, end)
        name, value = realformat.content_range_header(start, end, total)
        return Answer(body=realformat.media_body(chunk), headers={name: value,
                                                                    "Content-Type": "application/json"})

    # -- connection handling
    def _record(self, req: Request) -> Request:
        with self._lock:
            self.requests.append(req)
        return req

    def _handle(self, sock: socket.socket) -> None:
        sock.settimeout(30)
        try:
            head, rest = _read_head(sock)
        except (OSError, ValueError):
            return
        if head is None:
            return
        method, target, version, headers = head
        if method != "CONNECT" and target.startswith("/"):
            self._control(sock, method, target, headers, rest)
            return
        req = Request(endpoint="connect" if method == "CONNECT" else "refused", method=method, target=target,
                      path="", query={}, headers=headers, body=b"", http_version=version)
        if method != "CONNECT":
            self._record(req)
            _send(sock, 403, b"WeCom stand-in: plain HTTP proxying is refused; only "
                  b"CONNECT qyapi.weixin.qq.com:443 is served\n", {"Content-Type": "text/plain"}, version="HTTP/1.1")
            return
        if self.proxy_auth is not None:
            expected = "Basic " + base64.b64encode(":".join(self.proxy_auth).encode()).decode()
            if req.header("Proxy-Authorization") != expected:
                req.endpoint = "refused"
                self._record(req)
                _send(sock, 407, b"WeCom stand-in: proxy authentication required\n",
                      {"Proxy-Authenticate": 'Basic realm="stand-in"', "Content-Type": "text/plain"})
                return
        host, _, port = target.rpartition(":")
        if host.lower() not in self.hosts or port != "443":
            req.endpoint = "refused"
            self._record(req)
            _send(sock, 403, f"WeCom stand-in: refused CONNECT {target}; only {', '.join(self.hosts)} on port 443 "
                  f"is served\n".encode(), {"Content-Type": "text/plain"})
            return
        self._record(req)
        sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        assert self.certs is not None
        try:
            tls = self.certs.context.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            req.tls_error = f"{type(exc).__name__}: {exc}"
            return
        with contextlib.closing(tls):
            self._serve_tls(tls, req)

    def _serve_tls(self, tls: ssl.SSLSocket, connect: Request) -> None:
        reader = tls.makefile("rb")
        first = True
        while not self._stopping.is_set():
            try:
                line = reader.readline(65537)
            except (OSError, ssl.SSLError) as exc:
                connect.tls_error = connect.tls_error or f"{type(exc).__name__}: {exc}"
                return
            if not line:
                if first:  # e.g. the client refused the certificate after the handshake
                    connect.tls_error = "the client closed the connection without sending a request"
                return
            first = False
            try:
                method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
            except ValueError:
                return
            headers = []
            while True:
                h = reader.readline(65537)
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                headers.append((k.strip(), v.strip()))
            hdict = {k.lower(): v for k, v in headers}
            if hdict.get("expect", "").lower() == "100-continue":
                tls.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = reader.read(int(hdict.get("content-length", "0") or 0))
            parts = urlsplit(target)
            endpoint = ENDPOINTS.get((method, parts.path), "unknown")
            req = self._record(Request(endpoint=endpoint, method=method, target=target, path=parts.path,
                                       query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                                       headers=headers, body=body, http_version=version))
            answer = self._answer(req, connect.target.rpartition(":")[0].lower())
            req.answer_status = answer.status
            if answer.delay and self._stopping.wait(answer.delay):
                return
            if answer.drop:
                return
            try:
                _send(tls, answer.status, answer.encoded(),
                      {"Content-Type": "application/json; charset=UTF-8", **answer.headers})
            except OSError:
                return
            keep_alive = version == "HTTP/1.1" and hdict.get("connection", "").lower() != "close"
            if not keep_alive:
                return

    def _answer(self, req: Request, host: str) -> Answer:
        """The answer to ``req`` received over the tunnel to ``host`` (a subclass serves more)."""
        script = getattr(self, req.endpoint, None) if req.endpoint != "unknown" else None
        return script.next(req) if script is not None else Answer.http_status(404, "stand-in: no such endpoint")

    # -- control API (for the subprocess mode)
    def _control(self, sock, method, target, headers, rest) -> None:
        length = int({k.lower(): v for k, v in headers}.get("content-length", "0") or 0)
        body = rest
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        path = urlsplit(target).path
        if method == "GET" and path == "/_standin/requests":
            with self._lock:
                payload = [r.to_json() for r in self.requests]
            _send(sock, 200, json.dumps(payload).encode(), {"Content-Type": "application/json"})
        elif method == "POST" and path.startswith("/_standin/script/"):
            name = path.rsplit("/", 1)[-1]
            script = getattr(self, name, None)
            if not isinstance(script, Script):
                _send(sock, 404, b"unknown endpoint\n")
                return
            spec = json.loads(body or b"{}")
            script.append(Answer(body=spec.get("body", b""), status=spec.get("status", 200),
                                 headers=spec.get("headers", {}), delay=spec.get("delay", 0.0),
                                 drop=spec.get("drop", False)))
            _send(sock, 204, b"")
        elif method == "POST" and path == "/_standin/reset":
            self.reset()
            _send(sock, 204, b"")
        else:
            _send(sock, 404, b"WeCom stand-in control: GET /_standin/requests, POST /_standin/script/<endpoint>, "
                  b"POST /_standin/reset\n")


def _read_head(sock: socket.socket) -> tuple[tuple[str, str, str, list[tuple[str, str]]] | None, bytes]:
    """Read the request line and headers from the raw socket without reading past them much."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None, b""
        data += chunk
        if len(data) > 65536:
            raise ValueError("header too long")
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = []
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers.append((k.strip(), v.strip()))
    return (method, target, version, headers), rest


def _send(sock, status: int, body: bytes, headers: dict[str, str] | None = None, version: str = "HTTP/1.1") -> None:
    lines = [f"{version} {status} {_REASONS.get(status, 'Status')}"]
    hdrs = {"Content-Length": str(len(body)), "Connection": "close", **(headers or {})}
    if status in (204, 304):
        hdrs.pop("Content-Length")
    lines += [f"{k}: {v}" for k, v in hdrs.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="WeCom stand-in (HTTPS proxy on 127.0.0.1) for the real Finance SDK")
    ap.add_argument("--corpus", help="serve this native.corpus directory in the real format")
    ap.add_argument("--corpid")
    ap.add_argument("--secret")
    ap.add_argument("--cert", default="ca", choices=["ca", "self-signed", "expired", "wrong-host"])
    ap.add_argument("--token-ttl", type=int, default=7200)
    args = ap.parse_args(argv)
    repo = Path(__file__).resolve().parents[2]
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    standin = StandIn(corpid=args.corpid, secret=args.secret, token_ttl=args.token_ttl, cert=args.cert,
                      corpus=args.corpus)
    with standin:
        print(json.dumps({"proxy": standin.proxy_url, "ca_pem": str(standin.ca_pem), "pid": os.getpid()}),
              flush=True)
        done = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        if stat.S_ISFIFO(os.fstat(0).st_mode):  # stdin is a pipe: stop when the parent closes it
            threading.Thread(target=lambda: (sys.stdin.buffer.read(), done.set()), daemon=True).start()
        with contextlib.suppress(KeyboardInterrupt):
            while not done.wait(0.5):
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
