"""A loopback stand-in for WeCom's directory endpoints and avatar servers, over real HTTPS.

The sibling of tests/reallib/standin.py (whose CONNECT proxy, certificates and recording it reuses):
an HTTP proxy on 127.0.0.1 that accepts ``CONNECT`` to ``qyapi.weixin.qq.com``, ``wework.qpic.cn``
and ``wx.qlogo.cn`` (port 443), terminates TLS with a certificate for those names signed by its own
CA (``ca_pem``), and answers what :class:`native.corpus.wecom_api.WeComServer` answers — the
directory API as WeCom documents it, with tokens, paging cursors, permission errors and faults.
The app reaches it exactly as it reaches WeCom: the corp's proxy setting, certificate verification
against the corp's CA file.

    with DirectoryStandIn.for_corpus(corpus_dir) as s:
        corp.proxy, corp.ca_file = s.proxy_url, str(s.ca_pem)
        s.server.fail("user/get", 45009)          # the next user/get answers 45009
        s.server.expire_tokens()                  # every token issued so far answers 42001
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reallib"))
import standin as _reallib  # noqa: E402

from native.corpus.wecom_api import AVATAR_HOSTS, WeComServer  # noqa: E402

WECOM_HOST = _reallib.WECOM_HOST


class DirectoryStandIn(_reallib.StandIn):
    """The stand-in serving ``server`` (a WeComServer). ``cert`` and ``proxy_auth`` as for the reallib
    stand-in (``"self-signed"`` makes every connection fail certificate verification)."""

    def __init__(self, server: WeComServer, **kw):
        super().__init__(**kw)
        self.server = server
        self.hosts = (WECOM_HOST, *sorted(AVATAR_HOSTS))

    @classmethod
    def for_corpus(cls, corpus_dir, *, secrets: dict | None = None, **kw) -> DirectoryStandIn:
        server_kw = {k: kw.pop(k) for k in ("token_ttl", "page_limits", "hidden_users") if k in kw}
        if secrets is not None:
            server_kw["secrets"] = secrets
        return cls(WeComServer.from_corpus(corpus_dir, **server_kw), **kw)

    def _answer(self, req, host: str):
        got = self.server.handle(req.method, f"https://{host}{req.path}", req.query, req.body)
        req.endpoint = req.path.removeprefix("/cgi-bin/") if host == WECOM_HOST else f"{host}{req.path}"
        return _reallib.Answer(body=got.body, status=got.status, headers={"Content-Type": got.content_type})


__all__ = ["DirectoryStandIn", "WECOM_HOST"]
