"""Run every benchmark and keep its headline figures in docs/benchmarks.md (`make bench`).

    python benchmarks/run_all.py            # full size (tens of minutes), appends to docs/benchmarks.md
    python benchmarks/run_all.py --tiny     # seconds each: what CI runs (tests/test_benchmarks.py)

Each benchmark prints RESULT lines (benchmarks/results.py). docs/benchmarks.md holds one section
per run, newest first — machine (cores, CPU, disk), date, commit — with each figure beside its goal,
its ratio to its ceiling where it has one, and the figure of the previous run: a history, not a
single number. The raw output of the run goes to docs/benchmarks/<date>-<commit>.txt.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from results import parse

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
DOC = ROOT / "docs" / "benchmarks.md"

# name → (full-size arguments, tiny arguments). The tiny sizes only prove the script still runs.
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "bench_sdk.py": ([], ["--messages", "60", "--duration", "0.3"]),
    "bench_sync.py": (["--messages", "100000"], ["--messages", "300", "--no-mariadb"]),
    "bench_media.py": (["--messages", "5000"], ["--messages", "150", "--threads", "2"]),
    "bench_search.py": (["--messages", "1000000"], ["--messages", "400", "--incremental", "40",
                                                    "--backends", "sqlite", "--repeat", "2"]),
    "bench_viewer.py": (["--messages", "200000"], ["--messages", "400"]),
    "bench_sessions.py": (["--sessions", "100000"], ["--sessions", "300"]),
    "bench_window.py": (["--messages", "1000000", "--sessions", "100000"], ["--messages", "300", "--sessions", "60"]),
    "bench_export.py": (["--messages", "10000", "--media-gb", "0.5"], ["--messages", "200", "--media-gb", "0.005"]),
    "bench_queue.py": (["--jobs", "2000"], ["--jobs", "30", "--backends", "sqlite"]),
    "bench_storage.py": (["--mb", "200"], ["--mb", "2"]),
    "bench_backup.py": (["--messages", "1000000"], ["--messages", "300", "--incremental", "30", "--media-files", "20",
                                                    "--media-mb", "1", "--backends", "sqlite"]),
    "bench_server.py": ([], ["--messages", "200", "--clients", "1,2", "--seconds", "0.5", "--backends", "sqlite"]),
    "bench_policies.py": (["--messages", "1000000"], ["--messages", "1200", "--batch", "500", "--batches", "1",
                                                      "--no-mariadb"]),
}


def run(script: str, args: list[str], timeout: float) -> tuple[int, str, list[dict], float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
           "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
           "WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE": os.environ.get("WECOM_AUDITOR_EXPORT_KEY_PASSPHRASE",
                                                                 "benchmark-only-passphrase")}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(HERE / script), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)
    seconds = time.perf_counter() - start
    out = proc.stdout + ("\n" + proc.stderr if proc.returncode else "")
    figures = [f for f in (parse(line) for line in proc.stdout.splitlines()) if f is not None]
    return proc.returncode, out, figures, seconds


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    disk = shutil.disk_usage(ROOT)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} cores, {cpu}; disk {disk.total / 2**30:.0f} GiB ({disk.free / 2**30:.0f} GiB free); "
            f"load average at start {load:.2f}; {platform.system()} {platform.release()}; Python {platform.python_version()}")


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def previous_figures() -> dict[str, float]:
    """The figures of the newest run already in docs/benchmarks.md."""
    if not DOC.exists():
        return {}
    text = DOC.read_text(encoding="utf-8")
    sections = text.split("\n## ")
    if len(sections) < 2:
        return {}
    found = {}
    for line in sections[1].splitlines():
        m = re.match(r"\| `([^`]+)` \| ([^|]+) \|", line)
        if m:
            with contextlib.suppress(ValueError):
                found[m.group(1)] = float(m.group(2).split()[0].replace(",", ""))
    return found


def section(when: str, rev: str, host: str, results: list[tuple[str, int, float, list[dict]]],
            previous: dict[str, float], left_out: list[str]) -> str:
    lines = [f"## {when} · {rev}", "", host, ""]
    if left_out:
        lines += [f"Not run this time (`--only`/`--skip`): {', '.join(f'`{s}`' for s in left_out)}.", ""]
    lines += ["| figure | value | ratio to ceiling | goal | previous run |", "|---|---|---|---|---|"]
    for script, code, seconds, figures in results:
        if code:
            lines.append(f"| `{script}` | **failed** (exit {code}) after {seconds:.0f} s | | | |")
        for f in figures:
            value = f"{f['value']:,.6g} {f['unit']}".strip()
            ratio = f"{f['ratio']:.2f}" if f["ratio"] is not None else ""
            before = previous.get(f["name"])
            lines.append(f"| `{f['name']}` | {value} | {ratio} | {f['goal']} | "
                         f"{'' if before is None else f'{before:,.6g}'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="tiny sizes (seconds): prove every benchmark runs")
    ap.add_argument("--only", help="comma-separated benchmark scripts to run")
    ap.add_argument("--skip", default="", help="comma-separated benchmark scripts not to run")
    args = ap.parse_args()
    chosen = [s for s in BENCHMARKS if (not args.only or s in args.only.split(",")) and s not in args.skip.split(",")]
    results, raw = [], []
    host = machine()  # before the run: its load average is the one the run started with
    for script in chosen:
        full, tiny = BENCHMARKS[script]
        print(f"== {script} {' '.join(tiny if args.tiny else full)}", flush=True)
        code, out, figures, seconds = run(script, tiny if args.tiny else full, 600 if args.tiny else 4 * 3600)
        print(out.rstrip(), flush=True)
        results.append((script, code, seconds, figures))
        raw.append(f"== {script} ({seconds:.0f} s, exit {code})\n{out}")
    failed = [s for s, code, _, figures in results if code or not figures]
    if not args.tiny:
        when, rev = dt.datetime.now().strftime("%Y-%m-%d %H:%M"), commit()
        (ROOT / "docs" / "benchmarks").mkdir(parents=True, exist_ok=True)
        (ROOT / "docs" / "benchmarks" / f"{when[:10]}-{rev}.txt").write_text("\n".join(raw), encoding="utf-8")
        head = ("# Benchmarks\n\nWritten by `make bench` (benchmarks/run_all.py), newest run first. Figures move "
                "between runs on a shared machine: compare the ratios, measured in the same run.\n")
        old = DOC.read_text(encoding="utf-8").split("\n## ", 1) if DOC.exists() else [head]
        rest = ("\n## " + old[1]) if len(old) > 1 else ""
        DOC.write_text(head + "\n" + section(when, rev, host, results, previous_figures(),
                                                [s for s in BENCHMARKS if s not in chosen]) + rest, encoding="utf-8")
        print(f"wrote {DOC.relative_to(ROOT)}")
    if failed:
        raise SystemExit(f"benchmarks without results: {', '.join(failed)}")


if __name__ == "__main__":
    main()
