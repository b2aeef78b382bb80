"""Calls the app makes to WeCom itself, with full certificate verification.

Tencent's library checks the server's host name but not its certificate chain, and it sends the
corp secret in the ``gettoken`` URL: whoever can intercept the connection gets the chat-archive
secret and can feed the archive made-up entries. So before the secret is handed to the library,
:func:`check_access` calls ``gettoken`` from Python through the corp's proxy, verifying the
certificate against the trusted CAs (certifi's bundle; or the CA file of the corp's settings, or
``SSL_CERT_FILE`` / ``REQUESTS_CA_BUNDLE`` for a company that inspects TLS on purpose). A wrong
secret, corp id or IP is named in seconds, and an intercepted connection stops the sync with a
sentence saying so.

The second half is the client of WeCom's server API for the directory sync (:class:`WeComClient`:
tokens per secret, refreshed and retried as WeCom documents, errcodes as sentences naming the API
and the secret), over a :class:`Transport`: :class:`HttpsTransport` (the same proxy and certificate
verification) or a simulator's in-process answers for the demo corp.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

from .errcodes import ARCHIVE, ITEM_CODES, NEW_TOKEN, STOP, TRY_LATER, api_errcode_info, errcode_info

log = logging.getLogger(__name__)

WECOM_API = "https://qyapi.weixin.qq.com"
DEFAULT_TIMEOUT = 10.0  # seconds for the whole gettoken call

INTERCEPTED, UNREACHABLE, REFUSED, TRY_AGAIN = "intercepted", "unreachable", "refused", "try_again"


class WeComAccessError(RuntimeError):
    """``gettoken`` did not give a token. ``kind``: intercepted (certificate verification failed),
    unreachable (network, proxy, timeout), refused (an errcode that needs the administrator:
    ``errcode`` is set), try_again (WeCom is busy). ``message_en``/``message_zh`` are one sentence
    each saying what to do."""

    def __init__(self, kind: str, message_en: str, message_zh: str, errcode: int | None = None):
        super().__init__(message_en)
        self.kind, self.message_en, self.message_zh, self.errcode = kind, message_en, message_zh, errcode


@dataclass(frozen=True)
class Access:
    """What a successful ``gettoken`` said (the token itself is not kept)."""

    expires_in: int
    seconds: float


def proxy_url(proxy: str | None, passwd: str | None) -> str | None:
    """The SDK's proxy settings (``http://host:port`` or ``socks5://host:port`` and ``user:pass``)
    as one proxy URL for ``requests`` (socks5 resolves host names at the proxy, as the SDK's does)."""
    if not proxy:
        return None
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    scheme = "socks5h" if parts.scheme in ("socks5", "socks5h") else parts.scheme
    netloc = parts.netloc
    if passwd and "@" not in netloc:
        user, _, pw = passwd.partition(":")
        netloc = f"{quote(user, safe='')}:{quote(pw, safe='')}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path, "", ""))


def trusted_cas(ca_file: str | None) -> str | bool:
    """The CA bundle to verify WeCom's certificate with: the corp's CA file, else
    ``SSL_CERT_FILE`` / ``REQUESTS_CA_BUNDLE``, else certifi's bundle (requests' default)."""
    for candidate in (ca_file, os.environ.get("SSL_CERT_FILE"), os.environ.get("REQUESTS_CA_BUNDLE")):
        if candidate:
            return candidate
    return True


def _where(proxy: str | None) -> str:
    if not proxy:
        return ""
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return f" through the proxy {parts.scheme}://{parts.hostname}:{parts.port}" if parts.hostname else ""


def check_access(corpid: str, secret: str, *, proxy: str | None = None, passwd: str | None = None,
                 ca_file: str | None = None, timeout: float = DEFAULT_TIMEOUT, base_url: str = WECOM_API,
                 attempts: int = 3) -> Access:
    """Call ``gettoken`` with ``corpid`` and ``secret`` through the proxy, verifying the certificate.

    Returns :class:`Access` when WeCom gives a token; raises :class:`WeComAccessError` otherwise
    (see its kinds). "Try later" answers (busy, frequency limits, HTTP 5xx) are tried ``attempts``
    times with a short backoff before raising ``try_again``. Blocking: at most about ``timeout``
    seconds per attempt."""
    import requests

    session = requests.Session()
    session.trust_env = False  # the proxy is the corp's setting, not the environment's
    purl = proxy_url(proxy, passwd)
    if purl:
        session.proxies = {"https": purl, "http": purl}
    verify = trusted_cas(ca_file)
    host = urlsplit(base_url).hostname or base_url
    where = _where(proxy)
    last: WeComAccessError | None = None
    for attempt in range(1, max(1, attempts) + 1):
        started = time.monotonic()
        try:
            resp = session.get(f"{base_url}/cgi-bin/gettoken", params={"corpid": corpid, "corpsecret": secret},
                               timeout=timeout, verify=verify, allow_redirects=False)
        except requests.exceptions.SSLError as exc:
            raise WeComAccessError(
                INTERCEPTED,
                f"The connection to WeCom ({host}){where} failed certificate verification "
                f"({_reason(exc)}): something between this computer and WeCom is intercepting it, so the "
                f"sync stops before the chat-archive secret is sent over it. If your company inspects TLS "
                f"on purpose, set its CA certificate file in the corp's settings (or SSL_CERT_FILE).",
                f"与企业微信（{host}）的连接{_where_zh(proxy)}未通过证书验证（{_reason(exc)}）：连接可能被拦截，"
                f"为避免泄露会话存档 Secret，同步已停止。如贵公司有意对 TLS 进行检查，请在企业设置中指定其 CA 证书文件（或设置 SSL_CERT_FILE）。"
            ) from None
        except (requests.exceptions.ProxyError, requests.exceptions.ConnectionError,
                requests.exceptions.Timeout, requests.exceptions.InvalidProxyURL,
                requests.exceptions.InvalidSchema, OSError) as exc:
            raise WeComAccessError(
                UNREACHABLE,
                f"Cannot reach WeCom ({host}){where}: {_reason(exc)}. Check the network and the proxy in "
                f"the corp's settings.",
                f"无法连接企业微信（{host}）{_where_zh(proxy)}：{_reason(exc)}。请检查网络及企业设置中的代理。"
            ) from None
        seconds = time.monotonic() - started
        try:
            doc = resp.json() if resp.status_code == 200 else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            last = WeComAccessError(
                TRY_AGAIN, f"WeCom ({host}) answered gettoken with HTTP {resp.status_code} and no JSON; try again later.",
                f"企业微信（{host}）对 gettoken 返回 HTTP {resp.status_code}，内容不是 JSON；请稍后重试。")
        else:
            code = doc.get("errcode", 0)
            code = code if isinstance(code, int) and not isinstance(code, bool) else -1
            if code == 0 and isinstance(doc.get("access_token"), str) and doc["access_token"]:
                expires = doc.get("expires_in")
                return Access(expires if isinstance(expires, int) else 0, seconds)
            errmsg = doc.get("errmsg")
            errmsg = errmsg if isinstance(errmsg, str) else ""
            info = errcode_info(code or -1, "".join(c for c in errmsg[:120] if c.isprintable()))
            if info.kind == STOP or info.kind != TRY_LATER:
                raise WeComAccessError(REFUSED, info.en[0].upper() + info.en[1:] + ".", info.zh + "。", errcode=code)
            last = WeComAccessError(TRY_AGAIN, info.en[0].upper() + info.en[1:] + ".", info.zh + "。", errcode=code)
        if attempt < attempts:
            time.sleep(min(0.5 * 2 ** (attempt - 1), 4.0))
    assert last is not None  # the loop ran at least once and every pass that did not return set it
    raise last


def _where_zh(proxy: str | None) -> str:
    w = _where(proxy)
    return f"（经代理 {w.split('proxy ', 1)[1]}）" if w else ""


def _reason(exc: BaseException) -> str:
    """A short reason from a requests/urllib3 exception (its innermost cause), without URLs (the
    gettoken URL holds the secret)."""
    inner: BaseException = exc
    seen = 0
    while seen < 10:
        nxt = getattr(inner, "reason", None) or inner.__cause__ or inner.__context__
        if not isinstance(nxt, BaseException) or nxt is inner:
            break
        inner, seen = nxt, seen + 1
    text = str(inner) or type(inner).__name__
    if "corpsecret" in text or "gettoken" in text or "access_token" in text:  # never echo a URL: secret or token
        text = type(inner).__name__
    return text[:200]


# ---------------------------------------------------------------------------------------------- server API
# The directory sync (app/core/directory) calls WeCom's server API: contacts, external contacts,
# groups, the permit list and consent. One client per run: it gets an access token per secret with
# gettoken (kept in memory only, never logged), refreshes it when it expires or WeCom says it is
# invalid (42001 / 40014 / 41001), waits and tries again on frequency limits and busy answers, and
# turns every other errcode into a WeComApiError that names the API and the secret.

MAX_JSON_BYTES = 16 * 2**20  # one answer of WeCom's API (10,000 userids of user/list_id are ~0.5 MB)


class HttpAnswer(NamedTuple):
    status: int
    body: bytes
    content_type: str = ""


class Transport(Protocol):
    """How requests reach WeCom: :class:`HttpsTransport` (the network, through the corp's proxy,
    certificate verified), or a simulator's in-process answers (the demo corp). ``request`` raises
    :class:`WeComAccessError` (intercepted / unreachable) when no answer came; an answer larger than
    ``max_bytes`` is cut there and flagged by ``status`` 0."""

    def request(self, method: str, url: str, *, params: dict[str, str] | None = None,
                json_body: Any = None, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = MAX_JSON_BYTES
                ) -> HttpAnswer: ...

    def close(self) -> None: ...


class HttpsTransport:
    """WeCom over HTTPS with ``requests``: the corp's proxy (not the environment's), its CA file or the
    usual trusted CAs (:func:`trusted_cas`), no redirects, answers read up to ``max_bytes``."""

    def __init__(self, *, proxy: str | None = None, passwd: str | None = None, ca_file: str | None = None):
        import requests

        self._session = requests.Session()
        self._session.trust_env = False
        purl = proxy_url(proxy, passwd)
        if purl:
            self._session.proxies = {"https": purl, "http": purl}
        self._verify = trusted_cas(ca_file)
        self._proxy = proxy

    def request(self, method: str, url: str, *, params: dict[str, str] | None = None, json_body: Any = None,
                timeout: float = DEFAULT_TIMEOUT, max_bytes: int = MAX_JSON_BYTES) -> HttpAnswer:
        import requests

        host = urlsplit(url).hostname or url
        where = _where(self._proxy)
        try:
            with self._session.request(method, url, params=params, json=json_body, timeout=timeout,
                                       verify=self._verify, allow_redirects=False, stream=True) as resp:
                body = resp.raw.read(max_bytes + 1, decode_content=True)
                status = resp.status_code if len(body) <= max_bytes else 0
                return HttpAnswer(status, body[:max_bytes], resp.headers.get("Content-Type", ""))
        except requests.exceptions.SSLError as exc:
            raise WeComAccessError(
                INTERCEPTED,
                f"The connection to {host}{where} failed certificate verification ({_reason(exc)}): something "
                f"between this computer and WeCom is intercepting it, so no secret or token is sent over it. If "
                f"your company inspects TLS on purpose, set its CA certificate file in the corp's settings.",
                f"与 {host} 的连接{_where_zh(self._proxy)}未通过证书验证（{_reason(exc)}）：连接可能被拦截，"
                f"因此不会通过它发送任何 Secret 或令牌。如贵公司有意对 TLS 进行检查，请在企业设置中指定其 CA 证书文件。"
            ) from None
        except (requests.exceptions.RequestException, OSError) as exc:
            raise WeComAccessError(
                UNREACHABLE, f"Cannot reach {host}{where}: {_reason(exc)}. Check the network and the proxy in the "
                             f"corp's settings.",
                f"无法连接 {host}{_where_zh(self._proxy)}：{_reason(exc)}。请检查网络及企业设置中的代理。") from None

    def close(self) -> None:
        self._session.close()


class WeComApiError(WeComAccessError):
    """WeCom answered ``api`` with a non-zero errcode (``errcode``), or not with JSON (``errcode``
    None, ``http_status`` set). ``kind`` as for :class:`WeComAccessError` (refused / try_again);
    ``credential``: which secret was used (archive / contacts / customer); ``item``: True when the
    errcode concerns the one object asked about (a userid, a room), not the API as a whole."""

    def __init__(self, api: str, kind: str, message_en: str, message_zh: str, *, errcode: int | None = None,
                 credential: str = ARCHIVE, http_status: int | None = None, item: bool = False):
        super().__init__(kind, message_en, message_zh, errcode=errcode)
        self.api, self.credential, self.http_status, self.item = api, credential, http_status, item


class WeComCancelled(RuntimeError):
    """The caller's ``cancelled()`` said stop while the client waited or between attempts."""


class CallRecord(NamedTuple):
    """One HTTP exchange with WeCom's API: its errcode (0 for success, None when the answer was not
    WeCom's JSON), HTTP status (0: no answer) and seconds. Tokens and parameters are not kept."""

    api: str
    errcode: int | None
    http_status: int
    seconds: float


def _sentence(text: str) -> str:
    """``text`` as a sentence: capitalised (unless it starts with an API's name) and with a full stop."""
    if text[:1].islower() and "/" not in text.split(" ", 1)[0]:
        text = text[0].upper() + text[1:]
    return text + ("" if text.endswith(".") else ".")


def _printable(text: object, limit: int = 120) -> str:
    return "".join(c for c in str(text)[:limit] if c.isprintable()) if isinstance(text, str) else ""


class WeComClient:
    """WeCom's server API for one corp, with the secrets given by credential name (``archive``,
    ``contacts``, ``customer``; a missing one is simply absent).

    :meth:`call` returns the answer's JSON object (errcode 0) or raises :class:`WeComApiError`
    (also for gettoken's refusals), :class:`WeComAccessError` (intercepted / unreachable) or
    :class:`WeComCancelled`. Every HTTP exchange is reported to ``on_call`` (a :class:`CallRecord`).
    Not thread-safe: one client per thread. Blocking; ``sleep`` and ``clock`` are replaceable for tests.
    """

    TOKEN_MARGIN = 300.0  # seconds before expires_in runs out that a token is replaced
    MAX_REFRESHES = 2  # new tokens per call when WeCom says the token is invalid or expired

    def __init__(self, corpid: str, secrets: dict[str, str], transport: Transport, *, base_url: str = WECOM_API,
                 attempts: int = 5, timeout: float = DEFAULT_TIMEOUT, max_wait: float = 60.0,
                 on_call: Callable[[CallRecord], None] | None = None, cancelled: Callable[[], bool] | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.corpid = corpid
        self._secrets = {k: v for k, v in secrets.items() if v}
        self.transport = transport
        self.base_url = base_url.rstrip("/")
        self.attempts, self.timeout, self.max_wait = max(1, attempts), timeout, max_wait
        self.on_call, self.cancelled = on_call, cancelled
        self._sleep, self._clock = sleep, clock
        self._tokens: dict[str, tuple[str, float]] = {}  # credential -> (token, expires at on clock())

    def has(self, credential: str) -> bool:
        return credential in self._secrets

    def close(self) -> None:
        self._tokens.clear()
        self.transport.close()

    # -- plumbing
    def _check_cancel(self) -> None:
        if self.cancelled is not None and self.cancelled():
            raise WeComCancelled("the directory sync was cancelled")

    def _wait(self, attempt: int) -> None:
        delay = min(self.max_wait, 1.0 * 2 ** (attempt - 1))
        end = self._clock() + delay
        while True:
            self._check_cancel()
            left = end - self._clock()
            if left <= 0:
                return
            self._sleep(min(left, 0.5))

    def _exchange(self, api: str, method: str, path: str, params: dict[str, str] | None,
                  body: Any) -> tuple[HttpAnswer, dict[str, Any] | None]:
        started = time.monotonic()
        try:
            answer = self.transport.request(method, f"{self.base_url}/cgi-bin/{path}", params=params, json_body=body,
                                            timeout=self.timeout)
        except WeComAccessError:
            self._report(CallRecord(api, None, 0, time.monotonic() - started))
            raise
        doc = None
        if answer.status == 200:
            try:
                parsed = json.loads(answer.body.decode("utf-8"))
                doc = parsed if isinstance(parsed, dict) else None
            except (UnicodeDecodeError, ValueError, RecursionError):
                doc = None
        code = _errcode(doc) if doc is not None else None
        self._report(CallRecord(api, code, answer.status, time.monotonic() - started))
        return answer, doc

    def _report(self, record: CallRecord) -> None:
        log.debug("WeCom %s: errcode %s, HTTP %s, %.2f s", record.api, record.errcode, record.http_status,
                  record.seconds)
        if self.on_call is not None:
            self.on_call(record)

    def _not_json(self, api: str, answer: HttpAnswer, credential: str) -> WeComApiError:
        if answer.status == 0:
            what_en, what_zh = "an answer too large to be WeCom's", "过大的应答"
        else:
            what_en, what_zh = f"HTTP {answer.status} without WeCom's JSON", f"HTTP {answer.status}，内容不是企业微信的 JSON"
        retry = answer.status >= 500 or answer.status == 200
        return WeComApiError(api, TRY_AGAIN if retry else REFUSED,
                             f"WeCom answered {api} with {what_en}" + ("; try again later." if retry else "."),
                             f"企业微信对 {api} 返回{what_zh}" + ("；请稍后重试。" if retry else "。"),
                             credential=credential, http_status=answer.status)

    def _token(self, credential: str) -> str:
        cached = self._tokens.get(credential)
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        secret = self._secrets.get(credential)
        if secret is None:
            raise KeyError(credential)
        last: WeComApiError | None = None
        for attempt in range(1, self.attempts + 1):
            self._check_cancel()
            answer, doc = self._exchange("gettoken", "GET", "gettoken", {"corpid": self.corpid, "corpsecret": secret},
                                         None)
            if doc is None:
                last = self._not_json("gettoken", answer, credential)
            else:
                code = _errcode(doc)
                token, expires = doc.get("access_token"), doc.get("expires_in")
                if code == 0 and isinstance(token, str) and token:
                    ttl = expires if isinstance(expires, int) and not isinstance(expires, bool) and expires > 0 else 7200
                    self._tokens[credential] = (token, self._clock() + max(1.0, ttl - self.TOKEN_MARGIN
                                                                           if ttl > 2 * self.TOKEN_MARGIN else ttl / 2))
                    return token
                info = api_errcode_info(code if code else -1, "gettoken", credential, _printable(doc.get("errmsg")))
                last = WeComApiError("gettoken", TRY_AGAIN if info.kind == TRY_LATER else REFUSED, _sentence(info.en),
                                     info.zh + "。", errcode=code, credential=credential)
                if info.kind != TRY_LATER:
                    raise last
            if last.kind != TRY_AGAIN or attempt == self.attempts:
                raise last
            self._wait(attempt)
        assert last is not None  # pragma: no cover - the loop always returns or raises
        raise last  # pragma: no cover

    def call(self, api: str, *, credential: str, method: str = "GET", params: dict[str, str] | None = None,
             body: Any = None) -> dict[str, Any]:
        """``api`` (``"user/list_id"``: the path after /cgi-bin/) with ``credential``'s token; the answer's
        JSON object when its errcode is 0. KeyError if that secret was not given."""
        refreshes = 0
        attempt = 0
        while True:
            attempt += 1
            self._check_cancel()
            token = self._token(credential)
            answer, doc = self._exchange(api, method, api, {**(params or {}), "access_token": token}, body)
            if doc is None:
                error = self._not_json(api, answer, credential)
                if error.kind != TRY_AGAIN or attempt >= self.attempts:
                    raise error
                self._wait(attempt)
                continue
            code = _errcode(doc)
            if code == 0:
                return doc
            info = api_errcode_info(code, api, credential, _printable(doc.get("errmsg")))
            if info.kind == NEW_TOKEN and refreshes < self.MAX_REFRESHES:
                refreshes += 1
                attempt -= 1  # a refreshed token is not a failed attempt
                self._tokens.pop(credential, None)
                continue
            error = WeComApiError(api, TRY_AGAIN if info.kind == TRY_LATER else REFUSED, _sentence(info.en),
                                  info.zh + "。", errcode=code, credential=credential, item=code in ITEM_CODES)
            if info.kind != TRY_LATER or attempt >= self.attempts:
                raise error
            self._wait(attempt)

    def download(self, url: str, *, max_bytes: int, what: str = "avatar") -> bytes:
        """The bytes at ``url`` (an https URL of WeCom's image servers, no token sent), at most
        ``max_bytes``. WeComApiError when the server refuses or sends more; WeComAccessError as for call."""
        self._check_cancel()
        started = time.monotonic()
        try:
            answer = self.transport.request("GET", url, timeout=self.timeout, max_bytes=max_bytes)
        except WeComAccessError:
            self._report(CallRecord(what, None, 0, time.monotonic() - started))
            raise
        self._report(CallRecord(what, 0 if answer.status == 200 else None, answer.status, time.monotonic() - started))
        if answer.status != 200:
            raise self._not_json(what, answer, ARCHIVE)
        return answer.body


def _errcode(doc: dict[str, Any]) -> int:
    """The answer's errcode; a missing one is 0 (WeCom omits it on some successes), a malformed one -1."""
    code = doc.get("errcode", 0)
    return code if isinstance(code, int) and not isinstance(code, bool) else -1
