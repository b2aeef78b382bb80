"""The viewer's layout caches drop their oldest entries when full, never the whole cache: clearing it
made the page after every 30th of a long scroll rebuild all 2,000 layouts of the window (a pause of
seconds on a loaded machine, benchmarks/bench_viewer.py)."""

from __future__ import annotations

from app.ui.viewer.delegate import _bounded


def test_a_full_cache_keeps_its_newest_entries():
    cache = {n: str(n) for n in range(6000)}
    _bounded(cache, 6000)
    assert len(cache) == 4500
    assert min(cache) == 1500 and 5999 in cache  # the oldest quarter went, the rows just laid out stayed
    cache[6000] = "new"
    before = dict(cache)
    _bounded(cache, 6000)  # not full: nothing dropped
    assert cache == before
