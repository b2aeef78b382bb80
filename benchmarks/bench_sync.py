"""Sync benchmark (run by hand): messages/second into SQLite and MariaDB, beside the machine's
RSA-decrypt ceiling measured in the same run, and the peak memory of each sync.

    python benchmarks/bench_sync.py [--messages 100000] [--corpus DIR] [--no-mariadb]

Each sync runs as the CLI would (`wecom-auditor sync --json`) in a fresh data folder and database:
first with media off, then with media on. Peak memory is the largest sum of resident memory over
the sync process and its worker processes, sampled every 50 ms.

The ceiling is the RSA step alone (PKCS#1 v1.5 decryption of each entry's random key, 2 processes),
over the corpus' first 1,000 entries; a sync does that step for every entry plus everything else
(DecryptData, parsing, writing, the search index) on the same 2 cores. Every entry has a random key
of its own (WeCom's and the simulator's), so neither side can reuse a decryption. "busy" is the share
of the message phase the decrypt workers had entries in hand (the sync reports it); "load" is the
machine's 1-minute load average before the sync. Other work on the machine changes the ceiling as
it changes the sync, so each sync's ratio is taken against the ceiling measured just before and
just after it. Even so, a loaded machine flatters the ratio: the sync's four busy processes get
more of the CPU than the ceiling's two (the same code measured 0.47 at load average 4.5 and 0.87 at
8.4). "cpu-r" does not depend on the load: the RSA step's CPU seconds per entry (measured beside
the ceiling) over the sync's CPU seconds per entry, all its processes added up: the ratio an idle
machine would show with both cores busy all the time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
from bench_sdk import _keys, rsa_processes
from results import result

from app.core.sdk import FinanceSdk, PrivateKeyRing, decrypt_random_key
from native.build import build_simulator
from native.corpus import generate_corpus

ROOT = Path(__file__).resolve().parents[1]


def rsa_ceiling(corpus: Path) -> tuple[float, float]:
    """The RSA step's rate in 2 processes (entries/s), and its CPU seconds per entry in this one."""
    os.environ["WECOM_SIM_CORPUS"] = str(corpus)
    conf = json.loads((corpus / "corpus.json").read_text())
    pems = _keys(corpus)
    ring = PrivateKeyRing.from_pems(pems)
    with FinanceSdk(build_simulator(), conf["corpid"], conf["secret"]) as sdk:
        items = [i for i in sdk.get_chat_data(0, 1000) if i.publickey_ver in ring]
    start = time.process_time()
    for item in items:
        decrypt_random_key(item, ring)
    cpu = (time.process_time() - start) / len(items)
    return rsa_processes(items, pems, 2), cpu


# the processes of a sync, by the module they run (see app.core.processes.child_command)
KINDS = {"app": "sync", "app.core.sdk.host": "SDK hosts", "app.core.sync.index_process": "index"}


def _kind(proc: psutil.Process) -> str:
    argv = proc.cmdline()
    module = argv[argv.index("-m") + 1] if "-m" in argv[:-1] else ""
    return KINDS.get(module, "other")


def run(args: list[str], data: Path, db_url: str) -> tuple[dict, float, float, dict[str, float]]:
    """Run the CLI; its JSON report, wall seconds, peak memory (MiB, summed over its processes) and
    CPU seconds by kind of process (sync, SDK hosts, index, other), sampled every 50 ms."""
    cmd = [sys.executable, "-m", "app", *args, "--data-dir", str(data), "--db", db_url]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = 0
    ps = psutil.Process(proc.pid)
    cpu: dict[int, tuple[str, float]] = {}  # pid -> (kind, CPU seconds last seen)
    while proc.poll() is None:
        rss = 0
        try:
            procs = [ps, *ps.children(recursive=True)]
        except psutil.Error:
            procs = []
        for p in procs:
            try:
                with p.oneshot():
                    rss += p.memory_info().rss
                    times = p.cpu_times()
                    kind = cpu[p.pid][0] if p.pid in cpu else _kind(p)
                    cpu[p.pid] = (kind, times.user + times.system)
            except psutil.Error:
                pass
        peak = max(peak, rss)
        time.sleep(0.05)
    out = proc.stdout.read()
    if proc.returncode:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{out}")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    by_kind: dict[str, float] = {}
    for kind, seconds in cpu.values():
        by_kind[kind] = by_kind.get(kind, 0.0) + seconds
    return (json.loads(lines[-1]) if lines else {}), time.perf_counter() - start, peak / 2**20, by_kind


def mariadb_url() -> tuple[str, callable]:
    import pymysql

    name = f"wa_bench_{uuid.uuid4().hex[:8]}"
    admin = pymysql.connect(host="127.0.0.1", user="root", password="")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")

    def drop():
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()

    return f"mysql+pymysql://root@127.0.0.1:3306/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--corpus", type=Path, help="use this corpus instead of generating one")
    parser.add_argument("--no-mariadb", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = args.corpus
        if corpus is None:
            corpus = tmp / "corpus"
            print(f"generating a {args.messages:,}-message corpus…", flush=True)
            generate_corpus(corpus, messages=args.messages, seed=5)
        load = os.getloadavg()[0]
        ceiling, rsa_cpu = rsa_ceiling(corpus)
        print(f"RSA-decrypt ceiling, 2 worker processes: {ceiling:,.0f}/s (load average before: {load:.2f})")
        result("sync.rsa_ceiling_2_processes", ceiling, "1/s")
        backends = [("SQLite", lambda d: (f"sqlite:///{d / 'archive.db'}", lambda: None))]
        if not args.no_mariadb:
            backends.append(("MariaDB", lambda d: mariadb_url()))
        print(f"{'backend':<8} {'media':<5} {'entries':>8} {'wall s':>7} {'msgs/s':>7} {'sync s':>7} {'msgs/s':>7} "
              f"{'ceil/s':>7} {'ratio':>6} {'cpu-r':>5} {'busy':>5} {'peak MB':>8} {'load':>5}  CPU s per 1,000 entries")
        before = ceiling, rsa_cpu  # the ceiling measured just before the next sync
        for name, make in backends:
            for media in (False, True):
                data = tmp / f"data-{name}-{media}"
                db_url, drop = make(data)
                try:
                    subprocess.run([sys.executable, "-m", "app", "demo", "--corpus", str(corpus), "--data-dir",
                                    str(data), "--db", db_url], cwd=ROOT, check=True, capture_output=True)
                    load = os.getloadavg()[0]
                    report, wall, peak, cpu = run(["sync", "--json"] + ([] if media else ["--no-media"]), data,
                                                  db_url)
                finally:
                    drop()
                after = rsa_ceiling(corpus)
                beside = (before[0] + after[0]) / 2  # the machine's ceiling around this sync (load changes)
                rsa_cpu = (before[1] + after[1]) / 2
                before = after
                rate = report["fetched"] / wall
                inner = report["fetched"] / report["seconds"]
                per_k = {k: 1000 * v / max(1, report["fetched"]) for k, v in sorted(cpu.items())}
                cpu_text = ", ".join(f"{k} {v:.3f}" for k, v in per_k.items()) + f"; total {sum(per_k.values()):.3f}"
                # what the ratio would be with both cores busy and nothing else running: the RSA
                # step's share of the sync's CPU (both slow down alike when others load the machine)
                cpu_ratio = 1000 * rsa_cpu / sum(per_k.values())
                print(f"{name:<8} {'on' if media else 'off':<5} {report['fetched']:>8,} {wall:>7.1f} {rate:>7,.0f} "
                      f"{report['seconds']:>7.1f} {inner:>7,.0f} {beside:>7,.0f} {inner / beside:>6.3f} "
                      f"{cpu_ratio:>5.3f} {report['decrypt_busy']:>5.2f} {peak:>8.0f} {load:>5.2f}  {cpu_text}",
                      flush=True)
                key = f"sync.{name.lower()}.media_{'on' if media else 'off'}"
                goal = "" if media else (">=0.70" if name == "SQLite" else ">=0.50")
                result(f"{key}.entries_per_s", inner, "1/s", ratio=inner / beside, goal=goal)
                result(f"{key}.peak_rss", peak, "MiB", goal="<400")
                result(f"{key}.decrypt_busy", report["decrypt_busy"], ratio=report["decrypt_busy"],
                       goal="" if media else ">=0.90")
                result(f"{key}.cpu_seconds_per_1000", sum(per_k.values()), "s")
                result(f"{key}.rsa_share_of_cpu", cpu_ratio, ratio=cpu_ratio)
                result(f"{key}.load_average", load)
        print("wall: the whole CLI process (Python start-up and imports included); sync: the run itself as the\n"
              "sync reports it (worker spawn and, with media on, the media phase included); ceil/s: the RSA ceiling\n"
              "measured just before and just after that sync, averaged; ratio: sync msgs/s over it; cpu-r: the RSA\n"
              "step's CPU per entry over the sync's (see the docstring: the ratio without the load); busy: the decrypt\n"
              "workers' share of the message phase; load: the 1-minute load average before the sync; CPU: user+system\n"
              "seconds of each kind of process of the sync (SDK hosts: GetChatData and the decrypt workers).")


if __name__ == "__main__":
    main()
