"""Media storage benchmark (run by hand: `python benchmarks/bench_storage.py [--mb 200]`).

Prints MB/s of storing and reading back a set of media files (mostly 1 MiB images, and 20 MiB videos
that go up in multipart) through each backend, with 1 and 4 threads (the default media_workers):

  * local: LocalStorage.put (a copy with fsync; a download moves its spool file instead, a rename);
  * oss / cos: the real oss2 / qcloud_cos clients against the loopback object store of the tests
    (tests/media/objectstore.py), run in its own process so that it does not share our GIL. It
    checks every signature and writes every object to disk, like a server would; the figures say
    what the client side costs on this machine, not what a real bucket over the internet gives.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import result

from app.core.config.paths import AppPaths
from app.core.config.secrets import SecretStore
from app.core.config.settings import Settings, StorageSettings
from app.core.media import LocalStorage, media_key
from app.core.media.backends import open_storage
from app.core.media.cloud import crc64

ROOT = Path(__file__).resolve().parents[1]
KEY_ID, SECRET = "LTAI5tBenchmarkKey01", "benchmark-secret"
REGION = {"oss": "cn-hangzhou", "cos": "ap-guangzhou"}
BUCKET = {"oss": "bench-media", "cos": "bench-media-1250000000"}
MiB = 2**20


def make_files(folder: Path, total_mb: int) -> list[tuple[Path, str, int]]:
    """Files of random bytes: 20 MiB videos for a tenth of the volume, 1 MiB images for the rest."""
    files = []
    sizes = [20 * MiB] * max(1, total_mb // 10 // 20)
    sizes += [MiB] * max(0, total_mb - sum(sizes) // MiB)
    for i, size in enumerate(sizes):
        path = folder / f"f{i:04d}.bin"
        sha = hashlib.sha256()
        with open(path, "wb") as f:
            left = size
            while left:
                block = os.urandom(min(MiB, left))
                f.write(block)
                sha.update(block)
                left -= len(block)
        files.append((path, media_key("wwbenchcorp", sha.hexdigest(), "bin"), size))
    return files


def start_server(kind: str, root: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "media" / "objectstore.py"), "--kind", kind, "--root", str(root),
         "--key-id", KEY_ID, "--secret", SECRET, "--region", REGION[kind], "--bucket", BUCKET[kind]],
        stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("ENDPOINT "):
        proc.kill()
        raise SystemExit(f"the loopback {kind} server did not start: {line!r}")
    return proc, line.split(" ", 1)[1]


def storage_for(kind: str, work: Path, endpoint: str | None):
    if kind == "local":
        return LocalStorage(work / "local-media")
    s = Settings(storage=StorageSettings(backend=kind))
    section = s.storage[kind]
    section.endpoint, section.region, section.bucket = endpoint, REGION[kind], BUCKET[kind]
    setattr(section, "access_key_id" if kind == "oss" else "secret_id", KEY_ID)
    return open_storage(s, AppPaths.resolve(work / "app"), SecretStore(), secret=SECRET)


def run(storage, files, threads: int) -> tuple[float, float]:
    total = sum(size for _, _, size in files) / MiB

    def put(item):
        path, key, size = item
        with open(path, "rb") as f:
            storage.put(key, f, size=size)

    def get(item):
        _, key, size = item
        n = 0
        with storage.open(key) as f:
            while chunk := f.read(MiB):
                n += len(chunk)
        assert n == size

    results = []
    for fn in (put, get):
        started = time.perf_counter()
        with cf.ThreadPoolExecutor(threads) as pool:
            list(pool.map(fn, files))
        results.append(total / (time.perf_counter() - started))
    storage.delete([key for _, key, _ in files])
    return results[0], results[1]



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="MiB of media per run (default 200)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        work = Path(tmp)
        (work / "files").mkdir()
        files = make_files(work / "files", args.mb)
        big = sum(1 for _, _, s in files if s > MiB)
        print(f"{len(files)} files, {sum(s for _, _, s in files) / MiB:.0f} MiB ({big} of 20 MiB, multipart in the "
              f"cloud); CRC-64 checks {'on' if crc64 else 'off (no crcmod C extension)'}; {os.cpu_count()} cores")
        print(f"{'backend':<8} {'threads':>7} {'store MB/s':>11} {'read MB/s':>10}")
        for kind in ("local", "oss", "cos"):
            proc, endpoint = (None, None) if kind == "local" else start_server(kind, work / f"{kind}-server")
            try:
                storage = storage_for(kind, work, endpoint)
                for threads in (1, 4):
                    up, down = run(storage, files, threads)
                    print(f"{kind:<8} {threads:>7} {up:>11.0f} {down:>10.0f}", flush=True)
                    result(f"storage.{kind}.{threads}_threads.store", up, "MB/s")
                    result(f"storage.{kind}.{threads}_threads.read", down, "MB/s")
            finally:
                if proc is not None:
                    proc.terminate()
                    proc.wait(10)


if __name__ == "__main__":
    main()
