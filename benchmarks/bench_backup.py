"""Backup benchmark (run by hand): backup, incremental backup, verify and restore of a large archive,
on SQLite and MariaDB, with each command's peak memory.

    python benchmarks/bench_backup.py [--messages 1000000] [--incremental 10000] [--media-files 20000]
                                      [--media-mb 1000] [--backends sqlite,mariadb] [--work DIR]

The archive: a generated corpus of up to 2,000 messages synced (without media) by the app, then
cloned up to ``--messages`` with the sync writer's bulk insert — every clone is a real message of
the corpus with a new msgid and time, its stored JSON re-serialised and hashed as the sync does, its
media rows cloned with it — and ``--media-files`` media rows given a distinct random file (sizes
from 4 KiB to ~1 MiB, ``--media-mb`` in all) stored through the media storage. So every message's
SHA-256 and every media file is checked by the backup, its verification and the restore.

Timed, each as the command a user runs (`wecom-auditor ...` in a fresh process whose resident
memory is sampled every 50 ms):

1. ``backup --to B --full`` (the database copy, every media file, the signed manifest);
2. ``--incremental`` more messages with 1 % of the media files are added, then ``backup --to B``
   (the database again, only the new media);
3. ``backup verify B`` (both backups of the chain: signatures, files, media, every message, the
   audit chain);
4. ``restore B --data-dir NEW [--db URL]`` into an empty folder / empty database, with its full
   verification of the restored archive.

The ceiling for MB/s is this disk and CPU doing the least a backup must: copying the full backup's
files (``cp -r``) and hashing them once (``sha256sum``), measured in the same run. The issue's
target for memory: under 400 MB whatever the archive's size (everything streams).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
from results import result

ROOT = Path(__file__).resolve().parents[1]
T_START = 1_719_792_000_000  # 2024-07-01
YEAR_MS = 365 * 86_400_000
TEMPLATES = 2000  # messages synced by the app; the rest are clones of them
RSS_GOAL_MIB = 400


# ---------------------------------------------------------------- building the archive

def build_archive(data: Path, db_url: str | None, args) -> dict:
    """Sync a small corpus, clone it up to ``args.messages``, store ``args.media_files`` media files.
    Returns the token of the demo account and what was built."""
    from app.core.context import AppContext
    from native.corpus import generate_corpus

    corpus = data.parent / f"{data.name}-corpus"
    synced = min(args.messages, TEMPLATES)
    t = time.perf_counter()
    generate_corpus(corpus, messages=synced, seed=13, media=False, overwrite=True)
    (corpus / "truth.json").rename(corpus / "truth.saved.json")  # no directory names: another area's tables
    ctx = AppContext(data, db_url)
    try:
        corp, _ = ctx.setup_demo(corpus)
        ctx.make_syncer(corp, workers=1, media=False).run()
        actor = ctx.accounts.no_login_actor("bench-host")
        token = ctx.accounts.issue_token(actor).token
        print(f"synced {synced:,} messages in {time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        templates = _templates(ctx)
        have = _count(ctx, "messages")
        cloned = add_messages(ctx, templates, args.messages - have, seed=1, t_from=T_START, t_to=T_START + YEAR_MS)
        print(f"cloned {cloned:,} messages in {time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        files, size = store_media(ctx, args.media_files, int(args.media_mb * 2**20), seed=2)
        print(f"stored {files:,} media files ({size / 2**20:,.0f} MiB) in {time.perf_counter() - t:.1f} s", flush=True)
        return {"token": token, "url": ctx.db_url, "templates": templates,
                "file": ctx.db.url.database if ctx.db.is_sqlite else None}
    finally:
        ctx.close()


def _count(ctx, table: str) -> int:
    from sqlalchemy import text

    with ctx.db.read() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def _templates(ctx) -> list[tuple[dict, list[dict]]]:
    """The synced messages (rows as dicts) with their media rows."""
    from sqlalchemy import select

    from app.core.store.models import Media, Message

    with ctx.db.read() as conn:
        messages = [dict(r._mapping) for r in conn.execute(select(Message.__table__).order_by(Message.id))]
        media: dict[int, list[dict]] = {}
        for r in conn.execute(select(Media.__table__).order_by(Media.id)):
            media.setdefault(r.message_id, []).append(dict(r._mapping))
    return [(m, media.get(m["id"], [])) for m in messages]


def add_messages(ctx, templates, n: int, *, seed: int, t_from: int, t_to: int, step: int = 5000) -> int:
    """``n`` clones of the template messages (new msgid, time and id; JSON re-serialised and hashed)
    in batches of ``step``, one transaction each, with their media rows (not downloaded)."""
    from app.core.store.models import PENDING, Media, Message
    from app.core.sync.writer import insert_many

    rng = random.Random(seed)
    ids = ctx.db.ids
    done = 0
    while done < n:
        k = min(step, n - done)
        times = sorted(rng.randrange(t_from, t_to) for _ in range(k))
        rows, media_rows = [], []
        for i in range(k):
            tpl, tpl_media = templates[rng.randrange(len(templates))]
            msgid = f"{uuid.UUID(int=rng.getrandbits(128)).hex}_{times[i]}_external"
            raw = json.loads(tpl["raw_json"])
            raw["msgid"] = msgid
            raw["msgtime"] = times[i]
            data = json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            row = {**tpl, "id": ids.next_id(), "msgid": msgid, "seq": 0, "msgtime": times[i], "raw_json": data,
                   "raw_sha256": hashlib.sha256(data).hexdigest(), "recalled_msgid": None, "recalled_at": None,
                   "recall_msgid": None, "sync_run_id": None}
            rows.append(row)
            for m in tpl_media:
                media_rows.append({**m, "id": ids.next_id(), "message_id": row["id"], "msgid": msgid,
                                   "status": PENDING, "attempts": 0, "last_error": None, "storage_backend": None,
                                   "storage_key": None, "sha256": None, "stored_size": None, "md5_matched": None,
                                   "stored_at": None})
        with ctx.db.write() as conn:
            insert_many(conn, Message.__table__, rows)
            if media_rows:
                insert_many(conn, Media.__table__, media_rows)
        done += k
        if n >= 100_000 and (done // step) % 20 == 0:
            print(f"  {done:,}/{n:,}", flush=True)
    return done


def store_media(ctx, files: int, total_bytes: int, *, seed: int, newest: bool = False) -> tuple[int, int]:
    """Give ``files`` media rows not stored yet (the oldest, or the newest) a distinct random file of
    ``total_bytes`` in all (sizes spread from 4 KiB up), stored through the media storage."""
    from sqlalchemy import bindparam, select, update

    from app.core.media.storage import media_key
    from app.core.store.db import now_ms
    from app.core.store.models import STORED, Corp, Media

    rng = random.Random(seed)
    with ctx.db.read() as conn:
        corpid = conn.execute(select(Corp.corpid)).scalar_one()
        order = Media.id.desc() if newest else Media.id
        rows = conn.execute(select(Media.id, Media.ext).where(Media.status != STORED).order_by(order)
                            .limit(files)).all()
    if not rows:
        return 0, 0
    weights = [rng.paretovariate(1.5) for _ in rows]
    scale = max(0, total_bytes - 4096 * len(rows)) / sum(weights)
    sizes = [4096 + int(w * scale) for w in weights]
    spool = Path(tempfile.mkdtemp(prefix="bench-backup-spool-"))
    total, updates = 0, []
    try:
        for n, ((mid, ext), size) in enumerate(zip(rows, sizes, strict=True)):
            blob = rng.randbytes(size)
            sha = hashlib.sha256(blob).hexdigest()
            key = media_key(corpid, sha, ext)
            tmp = spool / "m"
            tmp.write_bytes(blob)
            ctx.storage.put_file(key, tmp)
            updates.append({"mid": mid, "key": key, "sha": sha, "size": size})
            total += size
            if len(updates) == 2000 or n == len(rows) - 1:
                with ctx.db.write() as conn:
                    conn.execute(update(Media).where(Media.id == bindparam("mid")).values(
                        status=STORED, storage_backend=ctx.storage.name, storage_key=bindparam("key"),
                        sha256=bindparam("sha"), stored_size=bindparam("size"), md5_matched=True,
                        stored_at=now_ms(), updated_at=now_ms()), updates)
                updates = []
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    return len(rows), total


# ---------------------------------------------------------------- timing the commands

def cli(*args: str, env: dict) -> tuple[float, float, dict]:
    """(seconds, peak RSS in MiB, its --json output) of one command in a fresh process."""
    cmd = [sys.executable, "-m", "app", *args, "--json"]
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
        ps = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True)))
            time.sleep(0.05)
        seconds = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        raise SystemExit(f"{' '.join(args[:2])} failed (exit {proc.returncode}): {(stderr or stdout)[-3000:]}")
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    return seconds, peak / 2**20, json.loads(lines[-1]) if lines else {}


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def ceiling(folder: Path, scratch: Path) -> tuple[float, int]:
    """(MB/s, bytes) of copying ``folder`` with ``cp -r`` and hashing the copy with ``sha256sum``."""
    size = folder_bytes(folder)
    target = scratch / "ceiling-copy"
    t = time.perf_counter()
    subprocess.run(["cp", "-r", str(folder), str(target)], check=True)
    subprocess.run(["sync"], check=False)
    files = [str(p) for p in target.rglob("*") if p.is_file()]
    for i in range(0, len(files), 500):
        subprocess.run(["sha256sum", *files[i:i + 500]], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t
    shutil.rmtree(target, ignore_errors=True)
    return size / 2**20 / seconds, size


def run_backend(name: str, db_url: str | None, restore_url: str | None, args, work: Path) -> None:
    from app.core.context import AppContext

    print(f"\n=== {name}: {args.messages:,} messages, {args.media_files:,} media files ({args.media_mb:,.0f} MiB) ===",
          flush=True)
    data = work / f"data-{name}"
    built = build_archive(data, db_url, args)
    db_args = ["--db", built["url"]] if db_url else []
    env = {**os.environ, "WECOM_AUDITOR_TOKEN": built["token"], "WECOM_AUDITOR_DATA_DIR": str(data)}
    repo = work / f"backups-{name}"
    db_size = Path(built["file"]).stat().st_size if built["file"] else 0
    if db_size:
        print(f"archive database: {db_size / 2**20:,.0f} MiB", flush=True)
    rss: dict[str, float] = {}

    seconds, rss["backup"], out = cli("backup", "--to", str(repo), "--full", "--data-dir", str(data), *db_args, env=env)
    full = repo / out["backup_id"]
    full_bytes = folder_bytes(full)
    messages = out["messages"]
    print(f"backup --full: {seconds:.1f} s, {messages:,} messages, {out['media_added']:,} media files, "
          f"{full_bytes / 2**20:,.0f} MiB written = {messages / seconds:,.0f} messages/s, "
          f"{full_bytes / 2**20 / seconds:,.1f} MiB/s; peak RSS {rss['backup']:.0f} MiB", flush=True)
    mbps_ceiling, _ = ceiling(full, work)
    print(f"ceiling (cp -r + sha256sum of the same files): {mbps_ceiling:,.1f} MiB/s", flush=True)
    result(f"backup.{name}.full_messages_per_s", messages / seconds, "msg/s")
    result(f"backup.{name}.full_mb_per_s", full_bytes / 2**20 / seconds, "MiB/s", ratio=full_bytes / 2**20 / seconds
           / mbps_ceiling)

    # an incremental backup after new messages and media
    ctx = AppContext(data, db_url and built["url"])
    try:
        t = time.perf_counter()
        add_messages(ctx, built["templates"], args.incremental, seed=3, t_from=T_START + YEAR_MS,
                     t_to=T_START + YEAR_MS + 86_400_000)
        new_files = max(1, args.media_files // 100)
        store_media(ctx, new_files, max(4096 * new_files, int(args.media_mb * 2**20) // 100), seed=4, newest=True)
        print(f"added {args.incremental:,} messages and {new_files:,} media files in {time.perf_counter() - t:.1f} s",
              flush=True)
    finally:
        ctx.close()
    seconds, rss["incremental"], out = cli("backup", "--to", str(repo), "--data-dir", str(data), *db_args, env=env)
    assert out["previous"], out
    inc_bytes = folder_bytes(repo / out["backup_id"])
    messages = out["messages"]
    print(f"backup (incremental): {seconds:.1f} s, {out['media_added']:,} new media files, "
          f"{inc_bytes / 2**20:,.0f} MiB written; peak RSS {rss['incremental']:.0f} MiB", flush=True)
    result(f"backup.{name}.incremental_s", seconds, "s")

    seconds, rss["verify"], out = cli("backup", "verify", str(repo), "--data-dir", str(data), env=env)
    assert out["ok"], out["problems"][:5]
    chain_bytes = folder_bytes(repo)
    print(f"backup verify: {seconds:.1f} s for {out['messages']:,} messages, {out['media_files']:,} media files, "
          f"{chain_bytes / 2**20:,.0f} MiB = {out['messages'] / seconds:,.0f} messages/s, "
          f"{chain_bytes / 2**20 / seconds:,.1f} MiB/s; peak RSS {rss['verify']:.0f} MiB", flush=True)
    result(f"backup.{name}.verify_messages_per_s", out["messages"] / seconds, "msg/s")
    result(f"backup.{name}.verify_mb_per_s", chain_bytes / 2**20 / seconds, "MiB/s",
           ratio=chain_bytes / 2**20 / seconds / mbps_ceiling)

    target = work / f"restored-{name}"
    restore_args = ["--db", restore_url] if restore_url else []
    seconds, rss["restore"], out = cli("restore", str(repo), "--data-dir", str(target), *restore_args,
                                       env={**env, "WECOM_AUDITOR_DATA_DIR": str(target)})
    assert out["messages"] == messages, out
    print(f"restore (with its full verification): {seconds:.1f} s for {out['messages']:,} messages, "
          f"{out['media_files']:,} media files, {chain_bytes / 2**20:,.0f} MiB = {out['messages'] / seconds:,.0f} "
          f"messages/s, {chain_bytes / 2**20 / seconds:,.1f} MiB/s; peak RSS {rss['restore']:.0f} MiB", flush=True)
    result(f"backup.{name}.restore_s", seconds, "s")
    result(f"backup.{name}.restore_messages_per_s", out["messages"] / seconds, "msg/s")
    result(f"backup.{name}.restore_mb_per_s", chain_bytes / 2**20 / seconds, "MiB/s",
           ratio=chain_bytes / 2**20 / seconds / mbps_ceiling)
    peak = max(rss.values())
    print("peak RSS: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in rss.items()), flush=True)
    result(f"backup.{name}.peak_rss", peak, "MiB", goal=f"< {RSS_GOAL_MIB} MiB")
    if not args.keep:
        for p in (data, target, repo, work / f"data-{name}-corpus"):
            shutil.rmtree(p, ignore_errors=True)


@contextlib.contextmanager
def mariadb_databases(count: int):
    import pymysql

    names = [f"bench_backup_{uuid.uuid4().hex[:8]}" for _ in range(count)]
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
    try:
        with admin.cursor() as cur:
            for db_name in names:
                cur.execute(f"CREATE DATABASE `{db_name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        yield [f"mysql+pymysql://root@127.0.0.1:3306/{n}?charset=utf8mb4" for n in names]
    finally:
        with admin.cursor() as cur:
            for db_name in names:
                cur.execute(f"DROP DATABASE IF EXISTS `{db_name}`")
        admin.close()


def main() -> None:
    # Never the real user's keyring or data: the signing key under a passphrase, throw-away folders.
    os.environ.setdefault("WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE", "benchmark-only-passphrase")
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--incremental", type=int, default=10_000, help="messages added before the incremental backup")
    ap.add_argument("--media-files", type=int, default=20_000)
    ap.add_argument("--media-mb", type=float, default=1000.0)
    ap.add_argument("--backends", default="sqlite,mariadb")
    ap.add_argument("--work", type=Path, help="work here (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the archives and backups")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-backup-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["WECOM_AUDITOR_DATA_DIR"] = str(work / "unused-data")
    try:
        for name in args.backends.split(","):
            if name == "sqlite":
                run_backend(name, None, None, args, work)
            elif name == "mariadb":
                with mariadb_databases(2) as (source, target):
                    run_backend(name, source, target, args, work)
            else:
                raise SystemExit(f"unknown backend {name!r} (sqlite, mariadb)")
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
