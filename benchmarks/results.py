"""How a benchmark reports its headline figures, so that `make bench` can keep their history.

A benchmark prints what it likes for people, and calls :func:`result` once per headline figure:
a line ``RESULT <name> <value> <unit> <ratio or -> <goal or ->`` that benchmarks/run_all.py collects
into docs/benchmarks.md. ``ratio`` is the figure divided by its ceiling measured in the same run (the
machine's own limit for that work: the RSA ceiling for a sync, sha256sum for an export …), because
absolute figures move between runs on a shared machine; ``goal`` is what the figure should reach
(for a ratio, the ratio), written as text like ">= 0.70" or "< 400 MiB".
"""

from __future__ import annotations

import sys

PREFIX = "RESULT"


def result(name: str, value: float, unit: str = "", *, ratio: float | None = None, goal: str = "") -> None:
    """Print one headline figure (see the module docstring). ``name`` has no spaces."""
    if " " in name or not name:
        raise ValueError(f"a result name has no spaces: {name!r}")
    ratio_text = f"{ratio:.3f}" if ratio is not None else "-"
    goal_text = goal.replace(" ", "") or "-"
    print(f"{PREFIX} {name} {value:.6g} {unit or '-'} {ratio_text} {goal_text}", flush=True)


def parse(line: str) -> dict | None:
    """The figure of a RESULT line, or None for any other line."""
    parts = line.split()
    if len(parts) != 6 or parts[0] != PREFIX:
        return None
    name, value, unit, ratio, goal = parts[1:]
    return {"name": name, "value": float(value), "unit": "" if unit == "-" else unit,
            "ratio": None if ratio == "-" else float(ratio), "goal": "" if goal == "-" else goal}


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB (VmHWM in /proc/self/status; elsewhere
    ru_maxrss). Not ru_maxrss on Linux: a process started with fork and exec keeps its parent's
    figure there, so a measuring process started by one that had built a large archive reported
    the builder's peak (bench_window: 437 MiB where the window itself peaked at 277)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS
