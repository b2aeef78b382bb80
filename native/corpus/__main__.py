"""python -m native.corpus --out DIR --messages N [options]: write a corpus for the SDK simulator."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .generate import clear_corpus_dir, default_media_pool, generate_corpus


def _positive(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return v


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return str(n)


def _disk_usage(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m native.corpus",
        description="Generate a WeCom chat-archive corpus (messages, media, RSA keys) for the SDK simulator.",
    )
    ap.add_argument("--out", required=True, type=Path, help="corpus directory to create (must be empty or missing)")
    ap.add_argument("--messages", required=True, type=_positive, help="number of archive entries")
    ap.add_argument("--seed", type=int, default=1, help="seed: same seed and options give the same messages and media")
    ap.add_argument("--key-versions", type=_positive, default=2, help="installed key versions (rotation at 40%%)")
    ap.add_argument("--no-uninstalled-key", dest="uninstalled_key", action="store_false",
                    help="do not add a key version the app is not given (its entries end in quarantine)")
    ap.add_argument("--media-pool", type=_positive, default=None,
                    help="max distinct media files (default: min(200, messages/15)); sdkfileids share them")
    ap.add_argument("--no-media", dest="media", action="store_false",
                    help="one tiny file per media kind behind every sdkfileid (fast message-path benchmarks)")
    ap.add_argument("--force", action="store_true", help="replace an existing corpus in --out")
    args = ap.parse_args(argv)

    out: Path = args.out
    if out.exists() and not out.is_dir():
        print(f"error: {out} exists and is not a directory", file=sys.stderr)
        return 1
    if out.exists() and any(out.iterdir()):
        if not args.force:
            print(f"error: {out} is not empty (use --force to replace a corpus there)", file=sys.stderr)
            return 1
        try:
            clear_corpus_dir(out)
        except FileExistsError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1

    from tqdm import tqdm

    started = time.monotonic()
    with tqdm(total=args.messages, unit="msg", unit_scale=True, desc="messages", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        truth = generate_corpus(out, args.messages, args.seed, key_versions=args.key_versions,
                                uninstalled_key=args.uninstalled_key, media=args.media,
                                media_pool=args.media_pool, progress=progress)
    elapsed = time.monotonic() - started
    c = truth["counts"]
    pool = args.media_pool or default_media_pool(args.messages)
    print(f"corpus      {out.resolve()}")
    print(f"entries     {c['entries']:,} (last seq {truth['last_seq']:,}, {c['seq_gaps']} seq gaps) in {elapsed:.1f} s")
    print("actions     " + ", ".join(f"{k} {v:,}" for k, v in c["action"].items()))
    print(f"msgtypes    {len(c['msgtype'])}: " + ", ".join(f"{k} {v:,}" for k, v in c["msgtype"].items()))
    print("key versions " + ", ".join(f"v{k}: {v:,}" for k, v in c["publickey_ver"].items())
          + (f" (v{truth['uninstalled_key_version']} not installed)" if truth["uninstalled_key_version"] else ""))
    print(f"media       {c['media_files']} files, {_size(c['media_bytes'])}, {c['media_refs']:,} sdkfileids "
          f"({'pool ' + str(pool) if args.media else 'tiny placeholders'}); "
          f"{len(truth['md5_mismatch_sdkfileids'])} deliberate md5 mismatches")
    print(f"time range  {truth['anchor_date']} back ~6 months; on disk {_size(_disk_usage(out))}")
    if truth["catalogue_msgtypes_missing"]:
        print("note        too few messages for every msgtype; missing: " + ", ".join(truth["catalogue_msgtypes_missing"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
