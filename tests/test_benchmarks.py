"""Every benchmark still runs (at a tiny size, seconds each) and reports its headline figures, so
that an API change that breaks one fails CI instead of rotting until the next `make bench`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from run_all import BENCHMARKS, run  # noqa: E402 - the benchmarks folder is not a package


@pytest.mark.parametrize("script", sorted(BENCHMARKS))
def test_the_benchmark_runs_at_a_tiny_size(script):
    code, out, figures, seconds = run(script, BENCHMARKS[script][1], timeout=600)
    assert code == 0, out[-3000:]
    assert figures, f"{script} printed no RESULT line:\n{out[-2000:]}"
    area = script.removeprefix("bench_").removesuffix(".py")
    assert all(f["name"].startswith(area + ".") for f in figures), [f["name"] for f in figures]
