"""Server benchmark (run by hand): requests per second and latency of ``wecom-auditor serve``'s API,
on SQLite and MariaDB, by number of concurrent clients.

    python benchmarks/bench_server.py [--messages 20000] [--clients 1,4,16] [--seconds 10]
                                      [--threads 8] [--backends sqlite,mariadb]

The archive: a generated corpus synced by the app (without media; the API serves no media). The
server runs as the command a team runs (``wecom-auditor serve --no-jobs`` in a fresh process; the
queue's jobs would compete for the same cores), the clients are threads of this process on the same
machine, each with its own HTTP connection, each request signed in by a login token. Timed, for
each number of clients:

1. ``GET /api/v2/sessions?limit=50`` at a random offset — a page of conversations; recorded in the
   audit trail (one write per request, like every v2 read);
2. ``GET /api/v2/sessions/{id}/messages?limit=100`` of a random conversation — it also opens the
   conversation (``session.open``, a second audit entry);
3. ``GET /health`` — no login, no write: the ceiling of the HTTP stack and the server's threads
   doing the least a request can (one ``SELECT 1``, the queue's counts).

The ratio of an audited read is to ``/health`` at the same number of clients. The server's peak
resident memory is sampled throughout.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
from results import result

ROOT = Path(__file__).resolve().parents[1]


def build_archive(data: Path, db_url: str | None, messages: int) -> tuple[str, str, list[str]]:
    """(login token, database URL, session ids) of a synced demo archive of ``messages`` messages."""
    from app.core.context import AppContext
    from native.corpus import generate_corpus

    corpus = data.parent / f"{data.name}-corpus"
    t = time.perf_counter()
    generate_corpus(corpus, messages=messages, seed=17, media=False, overwrite=True)
    (corpus / "truth.json").rename(corpus / "truth.saved.json")  # no directory names needed
    ctx = AppContext(data, db_url)
    try:
        corp, _ = ctx.setup_demo(corpus)
        ctx.make_syncer(corp, workers=1, media=False).run()
        actor = ctx.accounts.no_login_actor("bench-host")
        token = ctx.accounts.issue_token(actor).token
        sessions = [s.session_id for s in ctx.archive.sessions(actor, limit=100_000)]
        print(f"synced {messages:,} messages ({len(sessions):,} conversations) in {time.perf_counter() - t:.1f} s",
              flush=True)
        return token, ctx.db_url, sessions
    finally:
        ctx.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``wecom-auditor serve --no-jobs`` in a child process, with its peak RSS sampled."""

    def __init__(self, data: Path, db_url: str, threads: int):
        self.port = free_port()
        env = {**os.environ, "WECOM_AUDITOR_DATA_DIR": str(data)}
        cmd = [sys.executable, "-m", "app", "serve", "--no-jobs", "--host", "127.0.0.1", "--port", str(self.port),
               "--threads", str(threads), "--data-dir", str(data), "--db", db_url]
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - the server outlives this call; closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, text=True)
        self.peak = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise SystemExit(f"serve exited ({self.proc.returncode}): {self.log.read()[-2000:]}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status in (200, 503):
                    conn.close()
                    return
            time.sleep(0.2)
        raise SystemExit("serve did not answer /health within 60 s")

    def _sample(self) -> None:
        ps = psutil.Process(self.proc.pid)
        while not self._stop.is_set() and self.proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, ps.memory_info().rss)
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def load(port: int, token: str, paths, clients: int, seconds: float) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p95 ms, errors) of ``clients`` threads requesting ``paths()`` for ``seconds``."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(n: int) -> None:
        rng = random.Random(n)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {token}"}
        start.wait()
        while time.perf_counter() < stop_at[0]:
            path = paths(rng)
            t = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != 200:
                    errors[n] += 1
                    if errors[n] == 1:
                        print(f"  {path}: HTTP {resp.status} {body[:200]!r}", flush=True)
            except (OSError, http.client.HTTPException):
                errors[n] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            latencies[n].append(time.perf_counter() - t)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for th in threads:
        th.start()
    t0 = time.perf_counter()
    stop_at[0] = t0 + seconds
    start.wait()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t0
    every = sorted(x for per in latencies for x in per)
    if not every:
        return 0.0, 0.0, 0.0, sum(errors)
    p95 = every[min(len(every) - 1, int(len(every) * 0.95))]
    return len(every) / elapsed, statistics.median(every) * 1000, p95 * 1000, sum(errors)


def run_backend(name: str, db_url: str | None, args, work: Path) -> None:
    print(f"\n=== {name}: {args.messages:,} messages, serve --threads {args.threads} ===", flush=True)
    data = work / f"data-{name}"
    token, url, sessions = build_archive(data, db_url, args.messages)
    server = Server(data, url, args.threads)
    try:
        routes = {
            "health": lambda rng: "/health",
            "sessions": lambda rng: f"/api/v2/sessions?limit=50&offset={rng.randrange(max(1, len(sessions) - 50))}",
            "messages": lambda rng: f"/api/v2/sessions/{rng.choice(sessions)}/messages?limit=100",
        }
        for clients in (int(c) for c in args.clients.split(",")):
            rates: dict[str, float] = {}
            for route, paths in routes.items():
                rate, p50, p95, errors = load(server.port, token, paths, clients, args.seconds)
                rates[route] = rate
                print(f"{route:>9} × {clients:>2} clients: {rate:,.0f} requests/s, p50 {p50:.1f} ms, p95 {p95:.1f} ms"
                      + (f", {errors} errors" if errors else ""), flush=True)
                if errors:
                    raise SystemExit(f"{errors} requests to {route} failed")
                ratio = rate / rates["health"] if route != "health" and rates.get("health") else None
                result(f"server.{name}.{route}_rps_c{clients}", rate, "req/s", ratio=ratio)
                result(f"server.{name}.{route}_p95_ms_c{clients}", p95, "ms")
        print(f"serve's peak RSS: {server.peak / 2**20:.0f} MiB", flush=True)
        result(f"server.{name}.peak_rss", server.peak / 2**20, "MiB")
    finally:
        server.stop()


@contextlib.contextmanager
def mariadb_database():
    import pymysql

    name = f"bench_server_{uuid.uuid4().hex[:8]}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        yield f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def main() -> None:
    # Never the real user's keyring or data: throw-away folders, no keyring at all.
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--clients", default="1,4,16", help="numbers of concurrent clients, comma-separated")
    ap.add_argument("--seconds", type=float, default=10.0, help="per route and number of clients")
    ap.add_argument("--threads", type=int, default=8, help="serve --threads")
    ap.add_argument("--backends", default="sqlite,mariadb")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        work = Path(tmp)
        os.environ["WECOM_AUDITOR_DATA_DIR"] = str(work / "home")
        for backend in args.backends.split(","):
            if backend == "sqlite":
                run_backend("sqlite", None, args, work)
            elif backend == "mariadb":
                with mariadb_database() as url:
                    run_backend("mariadb", url, args, work)
            else:
                raise SystemExit(f"unknown backend {backend!r}: sqlite or mariadb")


if __name__ == "__main__":
    main()
