"""A small Aliyun-OSS- or Tencent-COS-compatible object store on 127.0.0.1, for tests and benchmarks.

The real ``oss2`` and ``qcloud_cos`` clients talk to it over real HTTP. It implements the calls the
app makes — PUT / GET (with Range and If-Match) / HEAD / DELETE of an object, batch delete
(``POST ?delete``), multipart initiate / upload part / complete / abort, and pre-signed GET URLs —
and it checks every request's signature with its configured keys the way the service does:

* OSS: V1 (``Authorization: OSS <AccessKeyId>:<base64 HMAC-SHA1>`` over VERB, Content-MD5,
  Content-Type, Date, the x-oss-* headers and the canonical resource with its sub-resources; signed
  URLs with ``OSSAccessKeyId``/``Expires``/``Signature``) and V4 (``OSS4-HMAC-SHA256`` with the
  credential scope ``<date>/<region>/oss/aliyun_v4_request``, the canonical request of method, URI,
  every query parameter, the signed headers and the payload hash; signed URLs with ``x-oss-*``
  query parameters). Request dates more than 15 minutes off and expired URLs are refused.
* COS: ``q-sign-algorithm=sha1`` in the Authorization header or the query: SignKey = HMAC-SHA1(secret,
  KeyTime), HttpString = method, path, the listed parameters and headers, StringToSign =
  ``sha1\\n<KeyTime>\\n<sha1(HttpString)>\\n``; outside q-sign-time the request has expired.

A wrong key, an unknown key id, a tampered request or an expired URL gets HTTP 403 with the
service's XML error body (OSS: ``x-oss-request-id``, and on HEAD the base64 ``x-oss-err`` header;
COS: ``x-cos-request-id``), as the cloud answers. A bucket that does not exist gets 404 NoSuchBucket.

Addressing: OSS buckets are in the path (``/bucket/key``, what oss2 does for an IP endpoint). COS
buckets are in the Host header (``<bucket>.cos.<region>.myqcloud.com``, which qcloud_cos sends when
told to connect to an IP); a request to the bare address (a pre-signed URL made for that address) is
served by ``domain_bucket``, as a custom domain bound to a bucket would be. One deviation: COS signs
the Host header, and the real service is reached on port 443/80 where clients send no port, so a
``:port`` suffix of this server's own port is ignored when checking a signed Host.

Not covered (only a real bucket shows them): TLS and real endpoints/DNS, STS tokens, bucket
policies and RAM/CAM permissions, ACLs, quotas and real throttling limits, versioning, server-side
encryption (whose ETags are not MD5s), lifecycle rules, cross-region behaviour.

Fault switch (``faults``): ``fail_next(count, mode, match)`` makes the next ``count`` matching
requests fail: ``"drop"`` closes the connection without an answer (a network failure), ``"503"``
answers 503 SlowDown, ``"500"`` InternalError, ``"truncate"`` sends a GET's headers and half its body
then closes. Objects are kept in files under ``root`` and streamed in 64 KiB pieces, so the server
itself uses little memory whatever the object size.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import hashlib
import hmac
import os
import re
import shutil
import socket
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.sax.saxutils import escape

CHUNK = 64 * 1024
SKEW = 15 * 60  # seconds a signed request's date may be off

try:  # CRC-64/ECMA as the services compute it; without crcmod's C extension no CRC header is sent
    import crcmod
    from crcmod import _crcfunext  # noqa: F401

    _crc_fun = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)
except ImportError:
    _crc_fun = None


def _crc64(data: bytes, crc: int) -> int:
    return _crc_fun(data, crc) if _crc_fun is not None else 0

# OSS V1 signs these query parameters (the "sub-resources"); the others are not signed.
OSS_SUBRESOURCES = frozenset([
    "acl", "uploadId", "uploads", "partNumber", "group", "link", "delete", "website", "location", "objectInfo",
    "objectMeta", "response-expires", "response-content-disposition", "response-content-type",
    "response-content-language", "response-cache-control", "response-content-encoding", "cors", "lifecycle",
    "restore", "qos", "referer", "stat", "bucketInfo", "append", "position", "security-token", "live", "comp",
    "status", "vod", "startTime", "endTime", "x-oss-process", "symlink", "callback", "callback-var", "tagging",
    "encryption", "versions", "versioning", "versionId", "policy", "requestPayment", "x-oss-traffic-limit",
    "qosInfo", "asyncFetch", "x-oss-request-payer", "sequential", "inventory", "inventoryId",
    "continuation-token", "worm", "wormId", "wormExtend", "replication", "replicationLocation",
    "replicationProgress", "transferAcceleration", "cname", "metaQuery",
])
_COS_VHOST = re.compile(r"(?P<bucket>[a-z0-9-]+-[0-9]+)\.cos\.(?P<region>[a-z0-9-]+)\.myqcloud\.com")


class _Reject(Exception):
    """Answer with the service's error: HTTP status, code, message and extra XML fields."""

    def __init__(self, status: int, code: str, message: str, **extra: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.extra = status, code, message, extra


class _Drop(Exception):
    """Close the connection without an answer."""


@dataclass
class _Object:
    path: Path
    size: int
    etag: str  # without quotes
    crc64: int
    content_type: str
    modified: float


@dataclass
class _Upload:
    bucket: str
    key: str
    content_type: str
    parts: dict[int, _Object] = field(default_factory=dict)


@dataclass
class _Fault:
    mode: str
    count: int
    match: Callable[[str, str, dict], bool] | None


@dataclass
class RequestRecord:
    method: str
    bucket: str
    key: str
    query: dict
    status: int
    auth: str  # "header", "query", "none"


class Faults:
    """Failures to inject into the next matching requests (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._queue: list[_Fault] = []

    def fail_next(self, count: int = 1, mode: str = "drop",
                  match: Callable[[str, str, dict], bool] | None = None) -> None:
        """The next ``count`` requests for which ``match(method, key, query)`` is true (all, if None) fail
        as ``mode`` says: "drop", "503", "500" or "truncate" (GET only)."""
        if mode not in ("drop", "503", "500", "truncate"):
            raise ValueError(mode)
        with self._lock:
            self._queue.append(_Fault(mode, count, match))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def pending(self) -> int:
        with self._lock:
            return sum(f.count for f in self._queue)

    def take(self, method: str, key: str, query: dict) -> str | None:
        with self._lock:
            for f in self._queue:
                if f.count > 0 and (f.match is None or f.match(method, key, query)):
                    f.count -= 1
                    if f.count == 0:
                        self._queue.remove(f)
                    return f.mode
        return None


class ObjectStore:
    """``kind`` "oss" or "cos"; ``buckets`` exist, any other is NoSuchBucket. Use as a context manager
    or call ``start()``/``stop()``. ``clock`` gives the server's time (tests move it to expire URLs)."""

    def __init__(self, kind: str, root: str | os.PathLike[str], *, access_key_id: str, secret: str,
                 region: str, buckets: tuple[str, ...], domain_bucket: str | None = None,
                 min_part_size: int | None = None):
        if kind not in ("oss", "cos"):
            raise ValueError(kind)
        self.kind, self.root = kind, Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.keys = {access_key_id: secret}
        self.region = region
        self.buckets = set(buckets)
        self.domain_bucket = domain_bucket or (buckets[0] if buckets else None)
        # The services refuse parts (but the last) under 100 KB (OSS) or 1 MB (COS).
        self.min_part_size = min_part_size if min_part_size is not None else (100 * 1024 if kind == "oss" else 2**20)
        self.objects: dict[tuple[str, str], _Object] = {}
        self.uploads: dict[str, _Upload] = {}
        self.lock = threading.Lock()
        self.faults = Faults()
        self.log: list[RequestRecord] = []
        self.clock: Callable[[], float] = time.time
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ life cycle
    def start(self) -> ObjectStore:
        store = self

        class Handler(_Handler):
            pass

        Handler.store = store
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"objectstore-{self.kind}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def __enter__(self) -> ObjectStore:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ inspection (tests)
    def keys_in(self, bucket: str) -> list[str]:
        with self.lock:
            return sorted(k for b, k in self.objects if b == bucket)

    def read(self, bucket: str, key: str) -> bytes:
        with self.lock:
            obj = self.objects[(bucket, key)]
        return obj.path.read_bytes()

    def corrupt(self, bucket: str, key: str) -> None:
        """Flip a byte of a stored object (as bit rot would), keeping its recorded ETag and CRC."""
        with self.lock:
            obj = self.objects[(bucket, key)]
        data = bytearray(obj.path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        obj.path.write_bytes(bytes(data))

    def count(self, method: str | None = None, query_key: str | None = None, status: int | None = None) -> int:
        return sum(1 for r in list(self.log) if (method is None or r.method == method)
                   and (query_key is None or query_key in r.query) and (status is None or r.status == status))

    # ------------------------------------------------------------------ helpers
    def _new_file(self) -> Path:
        return self.root / f"{uuid.uuid4().hex}.data"

    def _request_id(self) -> str:
        return uuid.uuid4().hex[:24].upper()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return  # a client that went away (a dropped pooled connection): nothing to report
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store: ObjectStore  # set on the subclass made per server
    server_version = "LoopbackObjectStore/1.0"

    def setup(self) -> None:
        super().setup()
        # Answers go out as headers then body: without this, Nagle's algorithm and the client's delayed
        # ACK add ~40 ms to every request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - quiet: pytest shows failures, not every request
        pass

    # Every verb goes through one dispatcher.
    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    # ------------------------------------------------------------------ request parsing
    def _dispatch(self) -> None:
        s = self.store
        self.request_id = s._request_id()
        self.body_read = False
        parts = urlsplit(self.path)
        self.raw_path = parts.path
        self.query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.auth_kind = "none"
        self.truncate = False
        self.recorded = False
        self.bucket, self.key = "", ""
        try:
            self.bucket, self.key = self._address()
            fault = s.faults.take(self.command, self.key, self.query)
            if fault == "drop":
                raise _Drop()
            if fault in ("503", "500"):
                self._drain()
                if fault == "503":
                    raise _Reject(503, "SlowDown", "Please reduce your request rate.")
                raise _Reject(500, "InternalError", "We encountered an internal error. Please try again.")
            self.truncate = fault == "truncate"
            if self.bucket not in s.buckets:
                raise _Reject(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=self.bucket)
            self._authenticate()
            self._operate()
        except _Drop:
            self._record(-1)  # before the client can notice
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        except _Reject as r:
            self._drain()
            self._error(r)
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True
            if not self.recorded:
                self._record(-1)

    def _record(self, status: int) -> None:
        self.recorded = True
        self.store.log.append(RequestRecord(self.command, self.bucket, self.key, dict(self.query), status,
                                            self.auth_kind))

    def send_response(self, code: int, message: str | None = None) -> None:
        # Logged before the answer leaves, so a test that got its answer always finds the record.
        self._record(code)
        super().send_response(code, message)

    def _address(self) -> tuple[str, str]:
        s = self.store
        if s.kind == "oss":
            path = self.raw_path.lstrip("/")
            bucket, _, key = path.partition("/")
            return unquote(bucket), unquote(key)
        host = (self.headers.get("Host") or "").lower()
        hostname = host.rsplit(":", 1)[0] if ":" in host else host
        m = _COS_VHOST.fullmatch(hostname)
        bucket = m.group("bucket") if m else (s.domain_bucket or "")
        if m and m.group("region") != s.region:
            raise _Reject(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket)
        return bucket, unquote(self.raw_path.lstrip("/"))

    def _drain(self) -> None:
        """Read and discard the request body so the connection stays in step."""
        if self.body_read:
            return
        self.body_read = True
        for _ in self._body_chunks():
            pass

    def _body_chunks(self):
        self.body_read = True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                left = size
                while left:
                    data = self.rfile.read(min(left, CHUNK))
                    if not data:
                        raise ConnectionError("client went away")
                    left -= len(data)
                    yield data
                self.rfile.readline()
            return
        left = int(self.headers.get("Content-Length") or 0)
        while left > 0:
            data = self.rfile.read(min(left, CHUNK))
            if not data:
                raise ConnectionError("client went away")
            left -= len(data)
            yield data

    def _body_bytes(self, limit: int = 4 * 2**20) -> bytes:
        out = bytearray()
        for chunk in self._body_chunks():
            out += chunk
            if len(out) > limit:
                raise _Reject(400, "EntityTooLarge", "Your request body is too large.")
        return bytes(out)

    # ------------------------------------------------------------------ answers
    def _send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.send_response(status)
        rid = "x-oss-request-id" if self.store.kind == "oss" else "x-cos-request-id"
        self.send_header(rid, self.request_id)
        self.send_header("Date", email.utils.formatdate(usegmt=True))
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _xml(self, status: int, root: str, fields: list[tuple[str, str]] | str) -> None:
        inner = fields if isinstance(fields, str) else "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields)
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{inner}</{root}>'.encode()
        self._send(status, {"Content-Type": "application/xml"}, body)

    def _error(self, r: _Reject) -> None:
        s = self.store
        fields = [("Code", r.code), ("Message", r.message), ("RequestId", self.request_id)]
        if s.kind == "oss":
            fields.append(("HostId", f"{self.bucket}.oss-{s.region}.aliyuncs.com"))
        else:
            fields.append(("Resource", f"{self.bucket}.cos.{s.region}.myqcloud.com/{self.key}"))
            fields.append(("TraceId", base64.b64encode(self.request_id.encode()).decode()))
        fields += list(r.extra.items())
        inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields)
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{inner}</Error>'.encode()
        headers = {"Content-Type": "application/xml"}
        if self.command == "HEAD":
            if s.kind == "oss":  # HEAD answers have no body; OSS puts the error in a header
                headers["x-oss-err"] = base64.b64encode(body).decode()
            headers["Content-Length"] = "0"
            body = b""
        self._send(r.status, headers, body)

    # ------------------------------------------------------------------ authentication
    def _authenticate(self) -> None:
        if self.store.kind == "oss":
            self._auth_oss()
        else:
            self._auth_cos()

    def _secret_for(self, key_id: str, invalid_message: str) -> str:
        secret = self.store.keys.get(key_id)
        if secret is None:
            raise _Reject(403, "InvalidAccessKeyId", invalid_message, OSSAccessKeyId=key_id)
        return secret

    def _now(self) -> float:
        return self.store.clock()

    # ---- OSS
    def _auth_oss(self) -> None:
        auth = self.headers.get("Authorization", "")
        q = self.query
        if auth.startswith("OSS4-HMAC-SHA256 "):
            self.auth_kind = "header"
            self._oss_v4(dict(p.strip().split("=", 1) for p in auth[len("OSS4-HMAC-SHA256 "):].split(",")),
                         self.headers.get("x-oss-date", ""), None)
        elif auth.startswith("OSS "):
            self.auth_kind = "header"
            key_id, _, signature = auth[4:].rpartition(":")
            date = self.headers.get("x-oss-date") or self.headers.get("Date") or ""
            try:
                when = email.utils.parsedate_to_datetime(date).timestamp()
            except (TypeError, ValueError):
                raise _Reject(403, "AccessDenied", "OSS authentication requires a valid Date.") from None
            if abs(when - self._now()) > SKEW:
                raise _Reject(403, "RequestTimeTooSkewed",
                              "The difference between the request time and the current time is too large.")
            self._oss_v1(key_id, signature, date)
        elif q.get("x-oss-signature-version") == "OSS4-HMAC-SHA256":
            self.auth_kind = "query"
            fields = {"Credential": q.get("x-oss-credential", ""), "Signature": q.get("x-oss-signature", ""),
                      "AdditionalHeaders": q.get("x-oss-additional-headers", "")}
            self._oss_v4(fields, q.get("x-oss-date", ""), int(q.get("x-oss-expires", "0") or 0))
        elif "OSSAccessKeyId" in q:
            self.auth_kind = "query"
            expires = q.get("Expires", "")
            if not expires.isdigit() or int(expires) < self._now():
                raise _Reject(403, "AccessDenied", "Request has expired.", Expires=expires)
            self._oss_v1(q["OSSAccessKeyId"], q.get("Signature", ""), expires)
        else:
            raise _Reject(403, "AccessDenied", "You have no right to access this object because of bucket acl.")

    def _oss_resource(self) -> str:
        sub = sorted((k, v) for k, v in self.query.items() if k in OSS_SUBRESOURCES)
        resource = f"/{self.bucket}/{self.key}"
        if sub:
            resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in sub)
        return resource

    def _oss_v1(self, key_id: str, signature: str, date: str) -> None:
        secret = self._secret_for(key_id, "The OSS Access Key Id you provided does not exist in our records.")
        oss_headers = sorted((k.lower(), v.strip()) for k, v in self.headers.items() if k.lower().startswith("x-oss-"))
        canonical = "".join(f"{k}:{v}\n" for k, v in oss_headers)
        string_to_sign = "\n".join([self.command, self.headers.get("Content-MD5", ""),
                                    self.headers.get("Content-Type", ""), date, canonical + self._oss_resource()])
        expected = base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()
        if not hmac.compare_digest(expected, signature):
            raise _Reject(403, "SignatureDoesNotMatch",
                          "The request signature we calculated does not match the signature you provided. "
                          "Check your key and signing method.",
                          OSSAccessKeyId=key_id, SignatureProvided=signature, StringToSign=string_to_sign)

    @staticmethod
    def _v4_encode(text: str, keep_slash: bool) -> str:
        return quote(text.encode(), safe="-_.~" + ("/" if keep_slash else ""))

    def _oss_v4(self, fields: dict[str, str], date_time: str, expires: int | None) -> None:
        credential = fields.get("Credential", "")
        try:
            key_id, date, region, product, terminator = credential.split("/")
        except ValueError:
            raise _Reject(400, "InvalidArgument", "Invalid credential in Authorization header.") from None
        secret = self._secret_for(key_id, "The OSS Access Key Id you provided does not exist in our records.")
        if product != "oss" or terminator != "aliyun_v4_request" or region != self.store.region:
            raise _Reject(400, "InvalidArgument", f"Invalid signing region or product in credential: {credential}")
        try:
            when = datetime.strptime(date_time, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            raise _Reject(403, "AccessDenied", "Invalid x-oss-date.") from None
        if date_time[:8] != date:
            raise _Reject(400, "InvalidArgument", "The credential date does not match x-oss-date.")
        if expires is None:
            if abs(when - self._now()) > SKEW:
                raise _Reject(403, "RequestTimeTooSkewed",
                              "The difference between the request time and the current time is too large.")
        elif self._now() > when + expires:
            raise _Reject(403, "AccessDenied", "Request has expired.")
        additional = [h for h in fields.get("AdditionalHeaders", "").split(";") if h]
        canonical_uri = self._v4_encode(f"/{self.bucket}/{self.key}", True)
        params = sorted((self._v4_encode(k, False), self._v4_encode(v, False))
                        for k, v in self.query.items() if k != "x-oss-signature")
        canonical_query = "&".join(f"{k}={v}" if v else k for k, v in params)
        signed = sorted((k.lower(), v.strip()) for k, v in self.headers.items()
                        if k.lower().startswith("x-oss-") or k.lower() in ("content-type", "content-md5")
                        or k.lower() in additional)
        canonical_headers = "".join(f"{k}:{v}\n" for k, v in signed)
        payload = self.headers.get("x-oss-content-sha256", "UNSIGNED-PAYLOAD") if expires is None else "UNSIGNED-PAYLOAD"
        canonical_request = "\n".join([self.command, canonical_uri, canonical_query, canonical_headers,
                                       ";".join(sorted(additional)), payload])
        scope = f"{date}/{region}/oss/aliyun_v4_request"
        string_to_sign = "\n".join(["OSS4-HMAC-SHA256", date_time, scope,
                                    hashlib.sha256(canonical_request.encode()).hexdigest()])
        key = ("aliyun_v4" + secret).encode()
        for part in (date, region, "oss", "aliyun_v4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields.get("Signature", "")):
            raise _Reject(403, "SignatureDoesNotMatch",
                          "The request signature we calculated does not match the signature you provided. "
                          "Check your key and signing method.",
                          OSSAccessKeyId=key_id, StringToSign=string_to_sign, CanonicalRequest=canonical_request)

    # ---- COS
    def _auth_cos(self) -> None:
        header = self.headers.get("Authorization", "")
        if header.startswith("q-sign-algorithm="):
            self.auth_kind = "header"
            fields = dict(p.split("=", 1) for p in header.split("&") if "=" in p)
        elif "q-sign-algorithm" in self.query:
            self.auth_kind = "query"
            fields = {k: v for k, v in self.query.items() if k.startswith("q-")}
        else:
            raise _Reject(403, "AccessDenied", "Access Denied.")
        if fields.get("q-sign-algorithm") != "sha1":
            raise _Reject(400, "InvalidArgument", "q-sign-algorithm must be sha1.")
        key_id = fields.get("q-ak", "")
        secret = self.store.keys.get(key_id)
        if secret is None:
            raise _Reject(403, "InvalidAccessKeyId", "The access key Id format you provided is invalid.")
        sign_time, key_time = fields.get("q-sign-time", ""), fields.get("q-key-time", "")
        try:
            start, end = (int(x) for x in sign_time.split(";"))
        except ValueError:
            raise _Reject(403, "AccessDenied", "Invalid q-sign-time.") from None
        now = self._now()
        if now > end:
            raise _Reject(403, "AccessDenied", "Request has expired")
        if now < start - SKEW:
            raise _Reject(403, "RequestTimeTooSkewed", "The difference between the request time and the "
                                                       "server's time is too large.")

        def enc(text: str) -> str:
            return quote(text.encode(), safe="-_.~")

        query = {enc(k).lower(): enc(v) for k, v in self.query.items()}
        headers: dict[str, str] = {}
        for k, v in self.headers.items():
            headers[enc(k).lower()] = v
        param_list = [p for p in fields.get("q-url-param-list", "").split(";") if p]
        header_list = [h for h in fields.get("q-header-list", "").split(";") if h]
        if any(p not in query for p in param_list) or any(h not in headers for h in header_list):
            self._cos_mismatch(key_id)
        params = "&".join(f"{p}={query[p]}" for p in param_list)
        path = unquote(self.raw_path) or "/"

        def signature(host: str) -> str:
            values = {h: (host if h == "host" else headers[h]) for h in header_list}
            header_text = "&".join(f"{h}={enc(values[h])}" for h in header_list)
            http_string = f"{self.command.lower()}\n{path}\n{params}\n{header_text}\n"
            string_to_sign = f"sha1\n{sign_time}\n{hashlib.sha1(http_string.encode()).hexdigest()}\n"
            sign_key = hmac.new(secret.encode(), key_time.encode(), hashlib.sha1).hexdigest()
            return hmac.new(sign_key.encode(), string_to_sign.encode(), hashlib.sha1).hexdigest()

        given = fields.get("q-signature", "")
        host = headers.get("host", "")
        candidates = [host]
        if host.endswith(f":{self.store.port}"):
            candidates.append(host.rsplit(":", 1)[0])  # see the module docstring: a default port sends none
        if not any(hmac.compare_digest(signature(h), given) for h in candidates):
            self._cos_mismatch(key_id)

    def _cos_mismatch(self, key_id: str) -> None:
        raise _Reject(403, "SignatureDoesNotMatch", "The Signature you specified is invalid.")

    # ------------------------------------------------------------------ operations
    def _operate(self) -> int:
        q, m = self.query, self.command
        if not self.key:
            if m == "POST" and "delete" in q:
                return self._batch_delete()
            raise _Reject(400, "InvalidRequest", f"{m} on a bucket is not implemented by the loopback store.")
        if m == "POST" and "uploads" in q:
            return self._initiate()
        if m == "PUT" and "uploadId" in q:
            return self._upload_part()
        if m == "POST" and "uploadId" in q:
            return self._complete()
        if m == "DELETE" and "uploadId" in q:
            return self._abort()
        if m == "PUT":
            return self._put()
        if m in ("GET", "HEAD"):
            return self._get()
        if m == "DELETE":
            with self.store.lock:
                obj = self.store.objects.pop((self.bucket, self.key), None)
            if obj is not None:
                obj.path.unlink(missing_ok=True)
            self._send(204, {})
            return 204
        raise _Reject(400, "InvalidRequest", f"{m} with {sorted(q)} is not implemented by the loopback store.")

    def _receive(self) -> _Object:
        """The request body into a new file, with its MD5 and CRC-64; checks Content-MD5 if given."""
        path = self.store._new_file()
        md5, crc, size = hashlib.md5(), 0, 0
        try:
            with open(path, "wb") as f:
                for chunk in self._body_chunks():
                    f.write(chunk)
                    md5.update(chunk)
                    crc = _crc64(chunk, crc)
                    size += len(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        given = self.headers.get("Content-MD5")
        if given and given != base64.b64encode(md5.digest()).decode():
            path.unlink(missing_ok=True)
            raise _Reject(400, "BadDigest" if self.store.kind == "cos" else "InvalidDigest",
                          "The Content-MD5 you specified did not match what we received.")
        etag = md5.hexdigest().upper() if self.store.kind == "oss" else md5.hexdigest()
        return _Object(path, size, etag, crc, self.headers.get("Content-Type", "application/octet-stream"),
                       self._now())

    def _crc_fields(self, obj: _Object) -> dict[str, str]:
        if _crc_fun is None:
            return {}
        return {"x-oss-hash-crc64ecma" if self.store.kind == "oss" else "x-cos-hash-crc64ecma": str(obj.crc64)}

    def _install(self, obj: _Object) -> None:
        with self.store.lock:
            old = self.store.objects.get((self.bucket, self.key))
            self.store.objects[(self.bucket, self.key)] = obj
        if old is not None:
            old.path.unlink(missing_ok=True)

    def _put(self) -> int:
        obj = self._receive()
        self._install(obj)
        self._send(200, {"ETag": f'"{obj.etag}"', **self._crc_fields(obj)})
        return 200

    def _get(self) -> int:
        with self.store.lock:
            obj = self.store.objects.get((self.bucket, self.key))
        if obj is None:
            raise _Reject(404, "NoSuchKey", "The specified key does not exist.", Key=self.key)
        if_match = self.headers.get("If-Match")
        if if_match and if_match.strip('"') != obj.etag:
            raise _Reject(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
        start, end, status = 0, obj.size - 1, 200
        rng = self.headers.get("Range", "")
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip()) if rng else None
        if m and (m.group(1) or m.group(2)) and self.command == "GET":
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), obj.size - 1) if m.group(2) else obj.size - 1
            else:
                start = max(obj.size - int(m.group(2)), 0)
            if start >= obj.size or start > end:
                raise _Reject(416, "InvalidRange", "The requested range cannot be satisfied.")
            status = 206
        length = max(end - start + 1, 0)
        headers = {"Content-Length": str(length), "Content-Type": obj.content_type, "ETag": f'"{obj.etag}"',
                   "Last-Modified": email.utils.formatdate(obj.modified, usegmt=True), "Accept-Ranges": "bytes",
                   **self._crc_fields(obj)}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end}/{obj.size}"
        self.send_response(status)
        rid = "x-oss-request-id" if self.store.kind == "oss" else "x-cos-request-id"
        self.send_header(rid, self.request_id)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return status
        limit = length // 2 if self.truncate else length
        with open(obj.path, "rb") as f:
            f.seek(start)
            left = limit
            while left > 0:
                data = f.read(min(CHUNK, left))
                if not data:
                    break
                self.wfile.write(data)
                left -= len(data)
        if self.truncate:
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return -2
        return status

    # ---- multipart
    def _initiate(self) -> int:
        self._drain()
        upload_id = uuid.uuid4().hex.upper()
        with self.store.lock:
            self.store.uploads[upload_id] = _Upload(self.bucket, self.key,
                                                    self.headers.get("Content-Type", "application/octet-stream"))
        self._xml(200, "InitiateMultipartUploadResult",
                  [("Bucket", self.bucket), ("Key", self.key), ("UploadId", upload_id)])
        return 200

    def _upload_of(self) -> _Upload:
        with self.store.lock:
            up = self.store.uploads.get(self.query.get("uploadId", ""))
        if up is None or (up.bucket, up.key) != (self.bucket, self.key):
            raise _Reject(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, "
                                               "or the upload may have been aborted or completed.")
        return up

    def _upload_part(self) -> int:
        up = self._upload_of()
        number = int(self.query.get("partNumber", "0") or 0)
        if not 1 <= number <= 10000:
            raise _Reject(400, "InvalidArgument", "Part number must be an integer between 1 and 10000.")
        obj = self._receive()
        with self.store.lock:
            old = up.parts.get(number)
            up.parts[number] = obj
        if old is not None:
            old.path.unlink(missing_ok=True)
        self._send(200, {"ETag": f'"{obj.etag}"', **self._crc_fields(obj)})
        return 200

    def _complete(self) -> int:
        up = self._upload_of()
        try:
            root = ET.fromstring(self._body_bytes())
        except ET.ParseError:
            raise _Reject(400, "MalformedXML", "The XML you provided was not well-formed.") from None
        listed = [(int(p.findtext("PartNumber") or 0), (p.findtext("ETag") or "").strip('"'))
                  for p in root.findall("Part")]
        if not listed:
            raise _Reject(400, "MalformedXML", "You must specify at least one part.")
        if [n for n, _ in listed] != sorted({n for n, _ in listed}):
            raise _Reject(400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        with self.store.lock:
            parts = []
            for n, etag in listed:
                part = up.parts.get(n)
                if part is None or part.etag.lower() != etag.lower():
                    raise _Reject(400, "InvalidPart", "One or more of the specified parts could not be found.",
                                  PartNumber=str(n))
                parts.append(part)
        for part in parts[:-1]:
            if part.size < self.store.min_part_size:
                raise _Reject(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.")
        path = self.store._new_file()
        crc, size, md5s = 0, 0, b""
        with open(path, "wb") as out:
            for part in parts:
                with open(part.path, "rb") as f:
                    while data := f.read(CHUNK):
                        out.write(data)
                        crc = _crc64(data, crc)
                size += part.size
                md5s += bytes.fromhex(part.etag)
        etag = f"{hashlib.md5(md5s).hexdigest()}-{len(parts)}"
        if self.store.kind == "oss":
            etag = etag.upper()
        obj = _Object(path, size, etag, crc, up.content_type, self._now())
        with self.store.lock:
            if self.store.uploads.pop(self.query["uploadId"], None) is None:  # completed meanwhile
                path.unlink(missing_ok=True)
                raise _Reject(404, "NoSuchUpload", "The specified upload does not exist.")
        self._install(obj)
        for part in up.parts.values():
            part.path.unlink(missing_ok=True)
        self._xml(200, "CompleteMultipartUploadResult",
                  [("Location", f"{self.store.endpoint}/{self.bucket}/{self.key}"), ("Bucket", self.bucket),
                   ("Key", self.key), ("ETag", f'"{etag}"')])
        return 200

    def _abort(self) -> int:
        self._drain()
        up = self._upload_of()
        with self.store.lock:
            self.store.uploads.pop(self.query["uploadId"], None)
        for part in up.parts.values():
            part.path.unlink(missing_ok=True)
        self._send(204, {})
        return 204

    # ---- batch delete
    def _batch_delete(self) -> int:
        body = self._body_bytes()
        given = self.headers.get("Content-MD5")
        if not given:
            raise _Reject(400, "InvalidDigest" if self.store.kind == "oss" else "MissingContentMD5",
                          "Missing required header for this request: Content-MD5.")
        if given != base64.b64encode(hashlib.md5(body).digest()).decode():
            raise _Reject(400, "InvalidDigest" if self.store.kind == "oss" else "BadDigest",
                          "The Content-MD5 you specified did not match what we received.")
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            raise _Reject(400, "MalformedXML", "The XML you provided was not well-formed.") from None
        keys = [o.findtext("Key") or "" for o in root.findall("Object")]
        if len(keys) > 1000:
            raise _Reject(400, "MalformedXML", "Too many objects in one delete (at most 1000).")
        quiet = (root.findtext("Quiet") or "false").lower() == "true"
        url_encode = self.query.get("encoding-type") == "url"
        removed = []
        with self.store.lock:
            for k in keys:
                obj = self.store.objects.pop((self.bucket, k), None)
                if obj is not None:
                    removed.append(obj.path)
        for p in removed:
            p.unlink(missing_ok=True)
        inner = "<EncodingType>url</EncodingType>" if url_encode else ""
        if not quiet:
            inner += "".join(f"<Deleted><Key>{escape(quote(k) if url_encode else k)}</Key></Deleted>" for k in keys)
        self._xml(200, "DeleteResult", inner)
        return 200


def wipe(store: ObjectStore) -> None:
    """Remove every object and upload (between benchmark rounds)."""
    with store.lock:
        paths = [o.path for o in store.objects.values()]
        paths += [p.path for u in store.uploads.values() for p in u.parts.values()]
        store.objects.clear()
        store.uploads.clear()
    for p in paths:
        p.unlink(missing_ok=True)


def remove_root(store: ObjectStore) -> None:
    shutil.rmtree(store.root, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    """Serve a loopback store until interrupted (the storage benchmark runs it in its own process):

        python tests/media/objectstore.py --kind oss --root DIR --key-id ID --secret S --region R --bucket B

    Prints ``ENDPOINT http://127.0.0.1:PORT`` once it listens.
    """
    import argparse
    import signal
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--kind", choices=("oss", "cos"), required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--key-id", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--bucket", required=True)
    args = parser.parse_args(argv)
    store = ObjectStore(args.kind, args.root, access_key_id=args.key_id, secret=args.secret, region=args.region,
                        buckets=(args.bucket,)).start()
    print(f"ENDPOINT {store.endpoint}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    store.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
