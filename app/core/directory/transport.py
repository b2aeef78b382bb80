"""How a directory sync reaches WeCom: over HTTPS through the corp's proxy with certificate
verification (app.core.wecom.api.HttpsTransport), or — for a demo corp served by the SDK simulator
with no proxy set — the corpus' own WeCom API in process (native/corpus/wecom_api.py), so the demo
works offline and runs the same client code: tokens, paging, errcodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.core.config.settings import CorpSettings
from app.core.wecom.api import DEFAULT_TIMEOUT, MAX_JSON_BYTES, HttpAnswer, HttpsTransport, Transport


class SimulatedTransport:
    """Requests answered by a ``native.corpus.wecom_api.WeComServer`` in this process."""

    def __init__(self, server):
        self.server = server

    def request(self, method: str, url: str, *, params: dict[str, str] | None = None, json_body: Any = None,
                timeout: float = DEFAULT_TIMEOUT, max_bytes: int = MAX_JSON_BYTES) -> HttpAnswer:
        body = b"" if json_body is None else json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        answer = self.server.handle(method, url, {k: str(v) for k, v in (params or {}).items()}, body)
        if len(answer.body) > max_bytes:
            return HttpAnswer(0, answer.body[:max_bytes], answer.content_type)
        return HttpAnswer(answer.status, answer.body, answer.content_type)

    def close(self) -> None:
        pass


def simulated_directory(corp: CorpSettings) -> Path | None:
    """The corpus whose WeCom API answers ``corp``'s directory sync in process: a simulator corp
    without a proxy whose corpus has a directory.json; otherwise None (the network)."""
    if not corp.uses_simulator or corp.proxy or not corp.simulator_corpus:
        return None
    path = Path(corp.simulator_corpus).expanduser()
    return path if (path / "directory.json").is_file() else None


def open_transport(corp: CorpSettings, proxy_passwd: str | None) -> Transport:
    corpus = simulated_directory(corp)
    if corpus is not None:
        from native.corpus.wecom_api import WeComServer

        return SimulatedTransport(WeComServer.from_corpus(corpus))
    return HttpsTransport(proxy=corp.proxy or None, passwd=proxy_passwd, ca_file=corp.ca_file or None)


__all__ = ["SimulatedTransport", "open_transport", "simulated_directory"]
