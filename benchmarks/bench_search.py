"""Search benchmark (run by hand): index build, size, incremental indexing and query latency on
SQLite and MariaDB.

    python benchmarks/bench_search.py [--messages 1000000] [--backends sqlite,mariadb] [--repeat 20]

Messages: texts of the project's corpus generator (a 200k-entry corpus, cached under
~/.cache/wecom-auditor-bench), each message 1-3 of them joined (≈33 characters on average, like
real chat lines), with their senders, recipients, rooms, sessions and msgtypes, spread over a
year. The archive is loaded with the sync writer's bulk insert (as an archive that predates the
index), the index is built with ``reindex``; then 50,000 more messages are written in batches of
1,000 exactly as the sync writes them (messages + journal row in one transaction) and the index
catches up after each batch. Latency is SearchService end to end (index, journal tail, rows from
the database, highlight offsets): p50/p95 over ``--repeat`` runs of each query.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from results import peak_rss_mib, result

from app.core.actor import Actor
from app.core.search import SearchService
from app.core.search.journal import journal_batch
from app.core.store.db import open_database
from app.core.store.models import Message
from app.core.sync.pipeline import ensure_corp
from app.core.sync.writer import insert_many

CACHE = Path.home() / ".cache" / "wecom-auditor-bench"
ACTOR = Actor.local()
T_START = 1_719_792_000_000  # 2024-07-01
YEAR_MS = 365 * 86_400_000


def source_entries() -> list[tuple]:
    """(text, sender, tolist, roomid, session_id, session_type, msgtype, has_media) of a generated corpus."""
    cached = CACHE / "entries-200k.json"
    if cached.exists():
        return [tuple(e) for e in json.loads(cached.read_text(encoding="utf-8"))]
    from app.core.messages import MessageParseError, parse_message
    from native.corpus import generate_corpus, read_entries

    corpus = CACHE / "corpus-200k"
    if not (corpus / "truth.json").exists():
        generate_corpus(corpus, messages=200_000, seed=7, media=False, overwrite=True)
    out = []
    for e in read_entries(corpus):
        raw = e.raw_msg if isinstance(e.raw_msg, bytes) else e.raw_msg.encode("utf-8")
        try:
            p = parse_message(raw)
        except MessageParseError:
            continue
        out.append((p.search_text, p.sender, list(p.tolist), p.roomid, p.session_id, p.session_type, p.msgtype,
                    bool(p.media)))
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    return out


def make_rows(entries, n: int, corp_id: int, ids, seed: int, t_from: int, t_to: int) -> list[dict]:
    rng = random.Random(seed)
    texts = [e[0] for e in entries if e[0]]
    rows = []
    times = sorted(rng.randrange(t_from, t_to) for _ in range(n))
    for k in range(n):
        e = rng.choice(entries)
        text = e[0] and "，".join([e[0]] + [rng.choice(texts) for _ in range(rng.choice((0, 1, 2)))])
        rows.append({"id": ids.next_id(), "corp_id": corp_id, "seq": 0, "msgid": uuid.uuid4().hex, "publickey_ver": 1,
                     "raw_json": b"{}", "raw_sha256": "0" * 64, "action": "send", "sender": e[1][:191],
                     "tolist": json.dumps(e[2], ensure_ascii=False), "roomid": e[3][:191], "msgtime": times[k],
                     "msgtype": e[6], "content_text": text, "session_id": e[4], "session_type": e[5],
                     "supported": True, "has_media": e[7], "recalled_msgid": None, "recalled_at": None,
                     "recall_msgid": None, "sync_run_id": None, "ingested_at": 0})
    return rows


def pick_terms(entries) -> dict[str, str]:
    """High- and low-frequency CJK terms of 1..4 characters, from the texts' own n-gram counts."""
    counts = {k: collections.Counter() for k in (1, 2, 3, 4)}
    for e in entries[:100_000]:
        t = e[0]
        for k in counts:
            counts[k].update({t[i:i + k] for i in range(len(t) - k + 1)
                              if all("\u4e00" <= c <= "\u9fff" for c in t[i:i + k])})
    out = {}
    for k, c in counts.items():
        ranked = [g for g, _n in c.most_common()]
        out[f"cjk{k}-high"] = ranked[0]
        low = [g for g, n in c.items() if 20 <= n <= 60]
        out[f"cjk{k}-low"] = sorted(low)[len(low) // 2]
    return out


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(fn, repeat):
    fn()  # warm
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def run_backend(name: str, url: str, args, entries, terms) -> None:
    print(f"\n=== {name}: {args.messages:,} messages ===", flush=True)
    db = open_database(url)
    corp = ensure_corp(db, "wwbench")
    t = time.perf_counter()
    text_bytes = 0
    step = 10_000
    for start in range(0, args.messages, step):
        n = min(step, args.messages - start)
        rows = make_rows(entries, n, corp, db.ids, seed=start, t_from=T_START + YEAR_MS * start // args.messages,
                         t_to=T_START + YEAR_MS * (start + n) // args.messages)
        text_bytes += sum(len(r["content_text"].encode("utf-8")) for r in rows)
        with db.write() as conn:
            insert_many(conn, Message.__table__, rows)
    print(f"load: {time.perf_counter() - t:.1f}s; text {text_bytes / 2**20:.1f} MiB "
          f"({text_bytes / args.messages:.0f} bytes/message)", flush=True)

    index_dir = Path(tempfile.mkdtemp(prefix=f"bench-index-{name}-"))
    service = SearchService(db, index_dir=index_dir)
    t = time.perf_counter()
    n = service.reindex(Actor.local())
    build = time.perf_counter() - t
    size = service.index.size_bytes()
    result(f"search.{name}.index_size", size / max(text_bytes, 1), "x_text", goal="<=1.5")
    print(f"build: {build:.1f}s for {n:,} messages = {n / build:,.0f} msg/s; index {size / 2**20:.1f} MiB = "
          f"{size / text_bytes:.2f}x the text", flush=True)

    # Incremental: the sync's transaction (messages + journal row) per batch of 1,000; the index
    # catches up after every batch (worst case), then after every 5 batches (as the sync's follower
    # does when batches come faster than it commits).
    for every in (1, 5):
        incremental(db, corp, service, entries, args.incremental // 2, every)
    total = args.messages + args.incremental
    print(f"index after: {service.index.size_bytes() / 2**20:.1f} MiB, {total:,} messages", flush=True)
    query_table(service, terms, args, name)
    db.close()
    shutil.rmtree(index_dir, ignore_errors=True)


def incremental(db, corp, service, entries, inc_n, every) -> None:
    batch = min(1000, max(1, inc_n))
    write_s = journal_s = index_s = 0.0
    batches = max(1, inc_n // batch)
    for b in range(batches):
        rows = make_rows(entries, batch, corp, db.ids, seed=10**9 + b, t_from=T_START + YEAR_MS,
                         t_to=T_START + YEAR_MS + 86_400_000)
        t = time.perf_counter()
        with db.write() as conn:
            insert_many(conn, Message.__table__, rows)
            tj = time.perf_counter()
            journal_batch(conn, corp, [r["id"] for r in rows])
            journal_s += time.perf_counter() - tj
        write_s += time.perf_counter() - t
        if (b + 1) % every == 0 or b + 1 == batches:
            t = time.perf_counter()
            service.index.catch_up(db, blocking=True)
            index_s += time.perf_counter() - t
    print(f"incremental: {inc_n:,} messages written in batches of {batch}, index caught up every {every * batch:,}: "
          f"{inc_n / max(index_s, 1e-9):,.0f} msg/s (incl. commit and merges); the journal row adds "
          f"{journal_s / batches * 1000:.2f} ms per batch to the sync's transaction "
          f"(write {write_s:.1f}s in all)", flush=True)


def query_table(service, terms, args, name: str = "sqlite") -> None:

    month = "date:2024-10-01..2024-10-31"
    queries = {k: v for k, v in terms.items()}
    queries.update({"latin xh": "xh", "latin excel": "excel", "AND": f"{terms['cjk2-high']} {terms['cjk2-low']}",
                    "OR": f"{terms['cjk2-low']} OR {terms['cjk3-low']}", "NOT": f"{terms['cjk1-high']} -{terms['cjk2-high']}"})
    print(f"{'query':<16} {'text':<22} {'hits':>8}  {'page p50':>8} {'p95':>7}  {'count p50':>9} {'p95':>7}   "
          f"{'+date: hits':>11} {'page p95':>8} {'count p95':>9}")
    worst_page = worst_count = 0.0
    for label, q in queries.items():
        cells = []
        for qq in (q, f"{q} {month}"):
            hits = service.query_count(ACTOR, qq)
            page = timed(lambda qq=qq: service.query(ACTOR, qq, limit=50), args.repeat)
            count = timed(lambda qq=qq: service.query_count(ACTOR, qq), args.repeat)
            worst_page, worst_count = max(worst_page, pct(page, 95)), max(worst_count, pct(count, 95))
            cells.append((hits, page, count))
        (h, p, c), (hd, pd, cd) = cells
        print(f"{label:<16} {q[:22]:<22} {h:>8,}  {pct(p, 50):>8.2f} {pct(p, 95):>7.2f}  {pct(c, 50):>9.2f} "
              f"{pct(c, 95):>7.2f}   {hd:>11,} {pct(pd, 95):>8.2f} {pct(cd, 95):>9.2f}", flush=True)
    print(f"worst p95: first page {worst_page:.1f} ms, count {worst_count:.1f} ms (ms, end to end)")
    result(f"search.{name}.first_page_p95", worst_page, "ms", goal="<=100")
    result(f"search.{name}.count_p95", worst_count, "ms", goal="<=200")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--incremental", type=int, default=50_000)
    ap.add_argument("--backends", default="sqlite,mariadb")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    entries = source_entries()
    terms = pick_terms(entries)
    print("terms:", json.dumps(terms, ensure_ascii=False))
    for name in args.backends.split(","):
        if name == "sqlite":
            d = Path(tempfile.mkdtemp(prefix="bench-search-"))
            try:
                run_backend(name, f"sqlite:///{d / 'archive.db'}", args, entries, terms)
            finally:
                shutil.rmtree(d, ignore_errors=True)
        elif name == "mariadb":
            import pymysql

            db_name = f"bench_search_{uuid.uuid4().hex[:8]}"
            admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
            with admin.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{db_name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            try:
                run_backend(name, f"mysql+pymysql://root@127.0.0.1:3306/{db_name}", args, entries, terms)
            finally:
                with admin.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS `{db_name}`")
                admin.close()
    # The whole process: loading, building the index (a rebuild's writer), catching up, the queries.
    result("search.peak_rss", peak_rss_mib(), "MiB", goal="<400")


if __name__ == "__main__":
    main()
