"""Delay-queue benchmark (run by hand): jobs per second through each backend, with 1 and 4 consumers.

    python benchmarks/bench_queue.py [--jobs 2000] [--backends redis,sqlite,mariadb]

For each backend (Redis at 127.0.0.1:6379 under a throw-away key prefix; the embedded queue on a
temporary SQLite file and on a throw-away MariaDB database at 127.0.0.1:3306) and each number of
consumers (separate processes, as consumers on several machines would be; each started and
connected before the clock starts):

* enqueue      — one producer enqueues ``--jobs`` jobs one by one (each with its own id);
* enqueue_many — the same in batches (how ``requeue_pending`` enqueues);
* drain        — the consumers reserve and ack a queue pre-filled with ``--jobs`` ready jobs;
* end to end   — the producer enqueues while the consumers reserve and ack (enqueue → deliver → ack),
  from the first enqueue to the last ack.

Every job must be delivered exactly once; the script checks it. Figures are jobs per second.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
import uuid
from pathlib import Path

from results import result

from app.core.queue import JobSpec, open_queue
from app.core.store.db import open_database

REDIS_URL = "redis://127.0.0.1:6379/0"
MARIADB = "mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
TOPIC = "bench"


class Backend:
    def __init__(self, name: str):
        self.name = name
        self.prefix = f"wa-bench-{uuid.uuid4().hex[:10]}:"
        self.db = None
        self._tmp = None
        self._dbname = None
        if name == "sqlite":
            self._tmp = tempfile.TemporaryDirectory()
            self.db = open_database(f"sqlite:///{Path(self._tmp.name) / 'bench.db'}")
        elif name == "mariadb":
            import pymysql

            self._dbname = f"wa_bench_{uuid.uuid4().hex[:10]}"
            admin = pymysql.connect(host="127.0.0.1", user="root", password="")
            with admin.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{self._dbname}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            admin.close()
            self.db = open_database(MARIADB.format(name=self._dbname))

    def queue(self):
        if self.name == "redis":
            return open_queue(f"{REDIS_URL}?prefix={self.prefix}", poll_interval=0.01)
        return open_queue("", self.db, poll_interval=0.01)

    def reset(self) -> None:
        if self.name == "redis":
            import redis

            r = redis.Redis.from_url(REDIS_URL)
            keys = list(r.scan_iter(match=self.prefix + "*", count=1000))
            if keys:
                r.delete(*keys)
        else:
            from sqlalchemy import delete

            from app.core.store.models import QueueJob

            with self.db.write() as conn:
                conn.execute(delete(QueueJob))

    def close(self) -> None:
        self.reset()
        if self.db is not None:
            self.db.close()
        if self._dbname:
            import pymysql

            admin = pymysql.connect(host="127.0.0.1", user="root", password="")
            with admin.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{self._dbname}`")
            admin.close()
        if self._tmp is not None:
            self._tmp.cleanup()


def _consumer(spec: tuple[str, str, str], start, counter, done, out) -> None:
    """A consumer process: reserve and ack until the shared counter says every job is done."""
    name, url, prefix = spec
    if name == "redis":
        queue = open_queue(f"{REDIS_URL}?prefix={prefix}", poll_interval=0.01)
        db = None
    else:
        db = open_database(url)
        queue = open_queue("", db, poll_interval=0.01)
    seen = []
    start.wait()
    while not done.is_set():
        job = queue.reserve([TOPIC], timeout=0.2)
        if job is None:
            continue
        assert queue.ack(job), f"lease lost for {job.id}"
        seen.append(job.id)
        with counter.get_lock():
            counter.value += 1
    out.put(seen)
    queue.close()
    if db is not None:
        db.close()


class Consumers:
    """``n`` consumer processes, connected and waiting for :meth:`go`."""

    def __init__(self, backend: Backend, n: int, total: int):
        ctx = multiprocessing.get_context("spawn")
        self.total = total
        self.start, self.done = ctx.Event(), ctx.Event()
        self.counter = ctx.Value("i", 0)
        self.out = ctx.Queue()
        url = str(backend.db.url.render_as_string(hide_password=False)) if backend.db is not None else ""
        self.procs = [ctx.Process(target=_consumer, args=((backend.name, url, backend.prefix), self.start,
                                                            self.counter, self.done, self.out)) for _ in range(n)]
        for p in self.procs:
            p.start()
        time.sleep(3.0)  # let them import and connect (their start-up is not what we measure)

    def go(self) -> None:
        self.start.set()

    def wait(self) -> list[str]:
        while self.counter.value < self.total:
            time.sleep(0.001)
        self.done.set()
        seen = [i for _ in self.procs for i in self.out.get(timeout=60)]
        for p in self.procs:
            p.join(30)
        return seen


def bench(backend: Backend, n: int, consumers: int) -> dict[str, float]:
    producer = backend.queue()
    out = {}

    backend.reset()
    t0 = time.perf_counter()
    for i in range(n):
        producer.enqueue(TOPIC, {"i": i}, job_id=f"e-{i}", ttr=60)
    out["enqueue"] = n / (time.perf_counter() - t0)

    pool = Consumers(backend, consumers, n)
    t0 = time.perf_counter()
    pool.go()
    seen = pool.wait()
    out["drain"] = n / (time.perf_counter() - t0)
    assert sorted(seen) == sorted(f"e-{i}" for i in range(n)), "a job was lost or delivered twice"

    backend.reset()
    pool = Consumers(backend, consumers, n)
    pool.go()
    t0 = time.perf_counter()
    for i in range(n):
        producer.enqueue(TOPIC, {"i": i}, job_id=f"x-{i}", ttr=60)
    seen = pool.wait()
    out["end to end"] = n / (time.perf_counter() - t0)
    assert sorted(seen) == sorted(f"x-{i}" for i in range(n)), "a job was lost or delivered twice"

    backend.reset()
    t0 = time.perf_counter()
    producer.enqueue_many(JobSpec(TOPIC, {"i": i}, job_id=f"b-{i}") for i in range(n))
    out["enqueue_many"] = n / (time.perf_counter() - t0)
    producer.close()
    return out



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--backends", default="redis,sqlite,mariadb")
    args = ap.parse_args()
    print(f"{args.jobs} jobs per run; figures in jobs/second")
    print(f"{'backend':<9} {'consumers':>9} {'enqueue':>9} {'enqueue_many':>13} {'drain':>9} {'end to end':>11}")
    for name in args.backends.split(","):
        backend = Backend(name)
        try:
            for consumers in (1, 4):
                r = bench(backend, args.jobs, consumers)
                print(f"{name:<9} {consumers:>9} {r['enqueue']:>9.0f} {r['enqueue_many']:>13.0f} {r['drain']:>9.0f} "
                      f"{r['end to end']:>11.0f}", flush=True)
                result(f"queue.{name}.{consumers}_consumers.end_to_end", r["end to end"], "jobs/s")
        finally:
            backend.close()


if __name__ == "__main__":
    main()
