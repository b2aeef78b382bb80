"""SDK-layer benchmark (run by hand: `make bench` or `python benchmarks/bench_sdk.py`).

Prints, in one run on this machine:
  * RSA random-key decrypts per second with 1 and 2 worker processes (and 2 threads, for contrast);
  * DecryptData calls per second through the binding with 1 and 2 threads;
  * media MB/s through iter_media (the simulator reading the corpus' media files).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import os
import tempfile
import threading
import time
from pathlib import Path

from results import result

from app.core.sdk import FinanceSdk, PrivateKeyRing, decrypt_random_key, load_library
from app.core.sdk.binding import decrypt_data
from native.build import build_simulator
from native.corpus import generate_corpus

DURATION = 3.0


def _keys(corpus: Path) -> dict[int, str]:
    import json

    conf = json.loads((corpus / "corpus.json").read_text())
    return {int(v): (corpus / e["private"]).read_text() for v, e in conf["keys"].items() if e.get("install", True)}


_ring = None


def _init(pems):
    global _ring
    _ring = PrivateKeyRing.from_pems(pems)


def _rsa_chunk(items) -> int:
    for it in items:
        decrypt_random_key(it, _ring)
    return len(items)


def rsa_processes(items, pems, workers: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init, initargs=(pems,)) as pool:
        list(pool.map(_rsa_chunk, [items[:50]] * workers))  # warm up
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < DURATION:
            done += sum(pool.map(_rsa_chunk, [items[i::workers * 4] for i in range(workers * 4)]))
        return done / (time.perf_counter() - start)


def threaded(fn, threads: int) -> float:
    counts = [0] * threads
    stop = time.perf_counter() + DURATION

    def loop(i):
        while time.perf_counter() < stop:
            counts[i] += fn()

    ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    start = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=DURATION, help="seconds per measurement")
    args = parser.parse_args()
    globals()["DURATION"] = args.duration
    lib_path = build_simulator()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        print(f"generating a {args.messages}-message corpus…", flush=True)
        generate_corpus(corpus, messages=args.messages, seed=3)
        os.environ["WECOM_SIM_CORPUS"] = str(corpus)
        import json

        conf = json.loads((corpus / "corpus.json").read_text())
        pems = _keys(corpus)
        ring = PrivateKeyRing.from_pems(pems)
        with FinanceSdk(lib_path, conf["corpid"], conf["secret"]) as sdk:
            items = [i for i in sdk.get_chat_data(0, 1000) if i.publickey_ver in ring]
            print(f"machine: {os.cpu_count()} cores; {len(items)} items")
            r1 = rsa_processes(items, pems, 1)
            r2 = rsa_processes(items, pems, 2)
            _init(pems)
            rt = threaded(lambda: _rsa_chunk(items[:20]), 2)
            print(f"RSA random-key decrypts/s: 1 process {r1:,.0f}   2 processes {r2:,.0f}   "
                  f"(2 threads in one process {rt:,.0f})")
            result("sdk.rsa_decrypts_1_process", r1, "1/s")
            result("sdk.rsa_decrypts_2_processes", r2, "1/s")
            keys = [(decrypt_random_key(i, ring), i.encrypt_chat_msg) for i in items[:200]]
            lib = load_library(lib_path)

            def decrypt_some():
                for k, m in keys:
                    decrypt_data(lib, k, m)
                return len(keys)

            d1, d2 = threaded(decrypt_some, 1), threaded(decrypt_some, 2)
            print(f"DecryptData calls/s through the binding: 1 thread {d1:,.0f}   2 threads {d2:,.0f}")
            result("sdk.decryptdata_calls_1_thread", d1, "1/s")
            media = json.loads((corpus / "media.json").read_text())
            sizes = {fid: (corpus / p).stat().st_size for fid, p in media.items()}
            big = sorted(sizes, key=sizes.get, reverse=True)[:5]
            total, start = 0, time.perf_counter()
            while time.perf_counter() - start < DURATION:
                for fid in big:
                    for chunk in sdk.iter_media(fid):
                        total += len(chunk)
            secs = time.perf_counter() - start
            print(f"iter_media: {total / secs / 2**20:,.1f} MB/s ({total / 2**20:,.0f} MB of the 5 largest files "
                  f"in {secs:.1f}s)")
            result("sdk.iter_media", total / secs / 2**20, "MB/s")


if __name__ == "__main__":
    main()
