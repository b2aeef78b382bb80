"""When messages happen: ~6 months of China working days before an anchor date, volume rising."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "Asia/Shanghai")
ANCHOR_BASE = date(2025, 6, 30)
SPAN_DAYS = 182

# Public holidays (days off) and the weekend days worked in exchange (调休), 2024-2025.
_HOLIDAY_RANGES = (
    ("2024-01-01", "2024-01-01"), ("2024-02-10", "2024-02-17"), ("2024-04-04", "2024-04-06"),
    ("2024-05-01", "2024-05-05"), ("2024-06-10", "2024-06-10"), ("2024-09-15", "2024-09-17"),
    ("2024-10-01", "2024-10-07"), ("2025-01-01", "2025-01-01"), ("2025-01-28", "2025-02-04"),
    ("2025-04-04", "2025-04-06"), ("2025-05-01", "2025-05-05"), ("2025-05-31", "2025-06-02"),
)
_MAKEUP_WORKDAYS = {
    date.fromisoformat(d)
    for d in ("2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14",
              "2024-09-29", "2024-10-12", "2025-01-26", "2025-02-08", "2025-04-27")
}


def _holidays() -> set[date]:
    out = set()
    for a, b in _HOLIDAY_RANGES:
        d, end = date.fromisoformat(a), date.fromisoformat(b)
        while d <= end:
            out.add(d)
            d += timedelta(days=1)
    return out


HOLIDAYS = _holidays()


def anchor_for(seed: int) -> date:
    """The last day of the corpus: 2025-06-30 for seed 1, earlier (by up to ~10 months) for others."""
    return ANCHOR_BASE - timedelta(days=((seed - 1) * 29) % 300)


def is_workday(d: date) -> bool:
    if d in _MAKEUP_WORKDAYS:
        return True
    return d.weekday() < 5 and d not in HOLIDAYS


def day_plan(n: int, seed: int) -> list[tuple[date, int, bool]]:
    """(day, number of entries, workday) for every day of the span, entries summing to n.

    Working days carry most of the volume, growing by ~2.5x over the span; weekends and
    holidays get a trickle."""
    rng = random.Random(f"wecom-corpus/timeline/{seed}")
    anchor = anchor_for(seed)
    days = [anchor - timedelta(days=SPAN_DAYS - i) for i in range(SPAN_DAYS + 1)]
    weights = []
    for i, d in enumerate(days):
        w = (1.0 + 1.5 * i / SPAN_DAYS) * rng.uniform(0.75, 1.25)
        if not is_workday(d):
            w *= 0.07
        weights.append(w)
    total = sum(weights)
    plan = []
    cum = 0.0
    done = 0
    for d, w in zip(days, weights, strict=True):
        cum += w
        upto = round(n * cum / total)
        plan.append((d, upto - done, is_workday(d)))
        done = upto
    return plan


def day_start_ms(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=CST).timestamp()) * 1000


def thread_start_ms(rng: random.Random, d: date, workday: bool) -> int:
    """A time of day at which a conversation starts (China time)."""
    base = day_start_ms(d)
    if not workday:
        minute = rng.uniform(10 * 60, 21 * 60)
    else:
        r = rng.random()
        if r < 0.03:
            minute = rng.uniform(7 * 60 + 30, 9 * 60)
        elif r < 0.08:
            minute = rng.uniform(18 * 60 + 30, 22 * 60 + 30)
        else:
            minute = rng.uniform(9 * 60, 18 * 60 + 30)
            if 12 * 60 <= minute < 13 * 60 + 30 and rng.random() < 0.6:  # lunch
                minute = rng.uniform(9 * 60, 18 * 60 + 30)
    return base + int(minute * 60_000) + rng.randrange(1000)


def reply_gap_ms(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.75:
        return 3000 + int(rng.expovariate(1 / 40) * 1000)
    if r < 0.95:
        return rng.randint(60_000, 600_000)
    return rng.randint(600_000, 3_600_000)
