"""Two `wecom-auditor serve` processes share one MariaDB archive and one Redis queue: an HMAC-signed
msg-server request sequence spread over both gets msg-server-shaped answers, each sees the other's
heartbeat, and both stop cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sync_kit import run_cli

from app.server import signing

ROOT = Path(__file__).resolve().parents[2]
APP_CODE = "two-instances-app-code"


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping())
    except Exception:
        return False


def _start(data: Path, db_url: str, env: dict) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", "0", "--data-dir", str(data),
                             "--db", db_url], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}")
        if line.startswith("Serving "):
            return proc, line.split()[1]
    proc.kill()
    raise AssertionError("serve did not start within 60 s")


def _get(base: str, path: str, params: dict | None = None) -> dict:
    url = base + path + ("?" + urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


def _post(base: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.loads(r.read())


def _signed(fields, params):
    params = {k: str(v) for k, v in params.items()}
    params["signature"] = signing.sign(APP_CODE, signing.canonical(fields, params))
    return params


def test_two_servers_share_mariadb_and_redis(tmp_path, db_url):
    if not db_url.startswith("mysql"):
        pytest.skip("the team set-up is MySQL/MariaDB + Redis")
    if not _redis_up():
        if os.environ.get("CI"):
            pytest.fail("Redis on 127.0.0.1:6379 is not reachable (CI must start it)")
        pytest.skip("Redis on 127.0.0.1:6379 is not reachable")
    from native.corpus import generate_corpus

    corpus = tmp_path / "corpus"
    generate_corpus(corpus, messages=60, seed=11)
    a, b = tmp_path / "a", tmp_path / "b"
    run_cli("demo", "--corpus", str(corpus), data_dir=a, db_url=db_url)  # no keyring: secrets from the corpus
    settings = json.loads((a / "settings.json").read_text())
    settings["queue_url"] = f"redis://127.0.0.1:6379/0?prefix=wa-test-{uuid.uuid4().hex[:8]}"
    settings["database_url"] = db_url
    for d in (a, b):
        d.mkdir(exist_ok=True)
        (d / "settings.json").write_text(json.dumps(settings))
    from app.core.context import AppContext

    ctx = AppContext(a, db_url)
    try:
        actor = ctx.accounts.no_login_actor("test")
        token = ctx.accounts.issue_token(actor).token
        corpid = ctx.settings.corps[0].corpid
    finally:
        ctx.close()
    env = {**os.environ, "WECOM_AUDITOR_INNER_APP_CODE": APP_CODE, "WECOM_AUDITOR_V1_TOKEN": token}
    procs = []
    try:
        pa, url_a = _start(a, db_url, env)
        procs.append(pa)
        pb, url_b = _start(b, db_url, env)
        procs.append(pb)
        # sync through A
        r = _post(url_a, "/api/v1/chat-msg/sync", {"ext_corp_id": corpid,
                                                   "signature": signing.sign(APP_CODE, corpid.encode())})
        assert r == {"code": 0, "message": "ok", "data": None}
        # a staff member of an external conversation, through B
        v2 = urllib.request.Request(url_b + "/api/v2/sessions?type=external&limit=100",
                                    headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(v2, timeout=60) as resp:
            sessions = json.loads(resp.read())["items"]
        s = next(x for x in sessions if len(x["participants"]) == 2)
        staff = next(p for p in s["participants"] if not p.startswith(("wm", "wo")))
        peer = next(p for p in s["participants"] if p != staff)
        body = _get(url_b, "/api/v1/chat-msg/sessions", _signed(signing.SESSIONS_FIELDS, {
            "ext_corp_id": corpid, "ext_staff_id": staff, "session_type": "external", "name": "", "sort_field": "",
            "sort_type": "", "page": 1, "page_size": 50}))
        assert body["code"] == 0 and any(i["session_id"] == s["session_id"] for i in body["data"]["items"])
        assert body["data"]["pager"]["total_rows"] >= 1
        body = _get(url_a, "/api/v1/chat-msg/session-msgs", _signed(signing.MSGS_FIELDS, {
            "ext_corp_id": corpid, "ext_staff_id": staff, "receiver_id": peer, "msg_type": "", "sort_field": "",
            "sort_type": "", "page": 1, "page_size": 100, "send_at_start": "", "send_at_end": "", "min_id": "",
            "max_id": "", "limit": ""}))
        assert body["code"] == 0 and body["data"]["total"] == s["message_count"] == len(body["data"]["items"])
        text = next((i["content_text"] for i in body["data"]["items"] if len(i["content_text"]) >= 2), None)
        if text:
            body = _get(url_b, "/api/v1/chat-msg/search", _signed(signing.SEARCH_FIELDS, {
                "ext_corp_id": corpid, "keyword": text[:2], "ext_staff_id": staff, "ext_peer_id": peer, "page": 1,
                "page_size": 10}))
            assert body["code"] == 0 and body["data"]["total"] >= 1
            assert all(text[:2] in i["content_text"] for i in body["data"]["items"])
        for url in (url_a, url_b):
            health = _get(url, "/health")
            assert health["status"] == "ok" and health["instances_alive"] == 2
        assert "wecom_auditor_servers_alive 2" in urllib.request.urlopen(url_a + "/metrics", timeout=30).read().decode()
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                assert p.wait(60) == 0
            except subprocess.TimeoutExpired:
                p.kill()
                raise
