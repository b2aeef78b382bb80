"""Calls the app makes to WeCom itself, with full certificate verification.

Tencent's library checks the server's host name but not its certificate chain, and it sends the
corp secret in the ``gettoken`` URL: whoever can intercept the connection gets the chat-archive
secret and can feed the archive made-up entries. So before the secret is handed to the library,
:func:`check_access` calls ``gettoken`` from Python through the corp's proxy, verifying the
certificate against the trusted CAs (certifi's bundle; or the CA file of the corp's settings, or
``SSL_CERT_FILE`` / ``REQUESTS_CA_BUNDLE`` for a company that inspects TLS on purpose). A wrong
secret, corp id or IP is named in seconds, and an intercepted connection stops the sync with a
sentence saying so.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from .errcodes import STOP, TRY_LATER, errcode_info

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
            errmsg = doc.get("errmsg") if isinstance(doc.get("errmsg"), str) else ""
            info = errcode_info(code or -1, "".join(c for c in errmsg[:120] if c.isprintable()))
            if info.kind == STOP or info.kind != TRY_LATER:
                raise WeComAccessError(REFUSED, info.en[0].upper() + info.en[1:] + ".", info.zh + "。", errcode=code)
            last = WeComAccessError(TRY_AGAIN, info.en[0].upper() + info.en[1:] + ".", info.zh + "。", errcode=code)
        if attempt < attempts:
            time.sleep(min(0.5 * 2 ** (attempt - 1), 4.0))
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
    if "corpsecret" in text or "gettoken" in text:  # never echo the URL: it holds the secret
        text = type(inner).__name__
    return text[:200]
