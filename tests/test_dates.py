"""Dates people type → archive times for every year 1–9999, in several time zones, and back to text
for any stored value (app/core/dates.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.core.dates import FIRST_MS, LAST_MS, add_ms, clamp_ms, local_ms, ms_to_local_text


@pytest.fixture(params=["UTC", "Asia/Shanghai", "America/New_York", "Pacific/Kiritimati"])
def local_zone(request, monkeypatch):
    """This process's local time zone set to each of a few (east, west, +14 h)."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield ZoneInfo(request.param)
    monkeypatch.undo()
    time.tzset()


def test_local_dates_of_every_year_convert_without_error(local_zone):
    jan1_2025 = local_ms(datetime(2025, 1, 1))
    assert jan1_2025 == int(datetime(2025, 1, 1, tzinfo=local_zone).timestamp() * 1000)
    first, last = local_ms(datetime(1, 1, 1)), local_ms(datetime(9999, 12, 31, 23, 59, 59))
    assert first < 0 < jan1_2025 < last  # year 1 and 9999 raise in astimezone(); here they are numbers
    assert abs(first - local_ms(datetime(1, 1, 1), UTC)) <= 15 * 3_600_000  # within a zone's offset
    assert abs(last - local_ms(datetime(9999, 12, 31, 23, 59, 59), UTC)) <= 15 * 3_600_000
    assert local_ms(datetime(9999, 12, 31), local_zone) == local_ms(datetime(9999, 12, 31), local_zone)


def test_a_day_after_year_9999_is_no_end_and_clamping_keeps_times_showable():
    assert add_ms(datetime(9999, 12, 31), timedelta(days=1)) is None
    assert add_ms(datetime(2025, 1, 1), timedelta(days=1), UTC) == local_ms(datetime(2025, 1, 2), UTC)
    assert clamp_ms(None) is None
    assert clamp_ms(local_ms(datetime(1, 1, 1))) == FIRST_MS
    assert clamp_ms(local_ms(datetime(9999, 12, 31, 23, 59), ZoneInfo("Pacific/Honolulu"))) == LAST_MS
    datetime.fromtimestamp(LAST_MS / 1000, UTC)  # the largest clamped time is showable


@pytest.mark.parametrize("ms", [1, -1, -62_135_596_800_000, LAST_MS, LAST_MS + 1, 10**20, -(10**20)])
def test_any_stored_time_shows_as_text(ms):
    text = ms_to_local_text(ms)
    assert text and text != "-"
    assert ms_to_local_text(None) == ms_to_local_text(0) == "-"
