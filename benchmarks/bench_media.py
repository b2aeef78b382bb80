"""Media phase benchmark: the sync's media downloads (MB/s) beside the local ceiling, by thread count.

    python benchmarks/bench_media.py [--messages 3000] [--threads 1,2,4,8]

The ceiling is the same work done as plainly as this machine allows, in one process with no
pipes: GetMediaData of the simulator in a loop (the binding, in process) → SHA-256 and MD5 → write
the file → fsync-free rename into a folder. The media phase does it as a sync does: every pending
media row of a synced archive, downloaded by N threads, each through an SDK host process of its
own (the chunks cross a pipe), verified (md5 and size) and stored content-addressed in the local
storage, the rows written back in batches. Between runs the rows are made pending again and the
storage emptied.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from results import result

ROOT = Path(__file__).resolve().parents[1]


def pending_fileids(ctx) -> list[str]:
    """The sdkfileids of the media rows a media phase downloads (duplicates included), in its order."""
    from sqlalchemy import select

    from app.core.store.models import Media

    with ctx.db.read() as conn:
        return list(conn.execute(select(Media.sdkfileid).order_by(Media.id)).scalars())


def ceiling(corpus: Path, fids: list[str], out: Path) -> tuple[float, int]:
    """MB/s of the plain loop over the same files (see the module docstring)."""
    from app.core.sdk import FinanceSdk, binding
    from native.build import build_simulator

    binding.ALLOW_QT_PROCESS = True  # a benchmark process without Qt
    os.environ["WECOM_SIM_CORPUS"] = str(corpus)
    conf = json.loads((corpus / "corpus.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    total, start = 0, time.perf_counter()
    with FinanceSdk(build_simulator(), conf["corpid"], conf["secret"]) as sdk:
        for n, fid in enumerate(fids):
            sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
            tmp = out / f".part-{n}"
            with tmp.open("wb") as f:
                for chunk in sdk.iter_media(fid):
                    sha.update(chunk)
                    md5.update(chunk)
                    f.write(chunk)
                    total += len(chunk)
            tmp.rename(out / sha.hexdigest())
    return total / (time.perf_counter() - start) / 2**20, total


def media_phase(ctx, corp, threads: int, downloaded: int) -> tuple[float, int, int]:
    """(MB/s downloaded, files stored, bytes stored) of one media phase with ``threads`` downloads
    in flight. Retries of the corpus's deliberate md5 mismatches do not wait (the backoff is a
    sync's choice, not throughput)."""
    from sqlalchemy import update

    from app.core.store.models import PENDING, Media
    from app.core.sync.media_phase import MediaPhase
    from app.core.sync.pipeline import SyncProgress, ensure_corp

    with ctx.db.write() as conn:
        conn.execute(update(Media).values(status=PENDING, storage_key=None, storage_backend=None, sha256=None,
                                          stored_size=None, stored_at=None, attempts=0, last_error=None))
    root = Path(ctx.storage.root)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    progress = SyncProgress()
    connection = ctx.connection(corp)
    with connection.open(media_hosts=threads, check=False) as sdk:
        phase = MediaPhase(ctx.db, sdk, ctx.storage, corp.corpid, ensure_corp(ctx.db, corp.corpid), ctx.paths.spool_dir,
                           workers=threads, progress=progress, report=lambda force=False: None, retry_wait=0.0)
        start = time.perf_counter()
        phase.run(lambda: False)
        seconds = time.perf_counter() - start
    stored = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return downloaded / seconds / 2**20, progress.media_stored, stored


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--threads", default="1,2,4,8")
    args = ap.parse_args()
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    from app.core.context import AppContext
    from native.corpus import generate_corpus

    with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
        tmp = Path(tmp)
        corpus = tmp / "corpus"
        print(f"generating a {args.messages:,}-message corpus with media…", flush=True)
        generate_corpus(corpus, messages=args.messages, seed=11)
        ctx = AppContext(tmp / "data")
        corp, _ = ctx.setup_demo(corpus)
        report = ctx.make_syncer(corp, media=False, workers=1).run()
        print(f"synced {report.stored:,} messages; media pending: {report.media_pending or 'all'}", flush=True)
        fids = pending_fileids(ctx)
        base, total = ceiling(corpus, fids, tmp / "ceiling")
        print(f"ceiling (GetMediaData in process → hash → file): {base:,.0f} MB/s over {len(fids):,} files, "
              f"{total / 2**20:,.0f} MiB", flush=True)
        result("media.ceiling", base, "MB/s")
        best = (0.0, 0)
        for threads in [int(t) for t in args.threads.split(",")]:
            rate, files, stored = media_phase(ctx, corp, threads, total)
            print(f"media phase, {threads} threads: {rate:,.0f} MB/s downloaded = {rate / base:.2f} of the ceiling "
                  f"({files:,} files stored, {stored / 2**20:,.0f} MiB once each: content-addressed)", flush=True)
            result(f"media.phase_{threads}_threads", rate, "MB/s", ratio=rate / base, goal=">=0.50")
            best = max(best, (rate, threads))
        print(f"best: {best[1]} threads ({best[0]:,.0f} MB/s)")
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
