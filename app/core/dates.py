"""Dates people type → the archive's times (ms since the Unix epoch, UTC), for every year a date
can be written with (1 to 9999), and back to text without failing on any stored value.

``datetime.astimezone()`` and ``fromtimestamp()`` go through the C library's time functions, which
cover only part of that range (year 1 and 9999 raise ValueError/OverflowError, and Windows refuses
negative timestamps); these helpers fall back to plain arithmetic there, so a date filter typed as
``0001-01-01`` or ``9999-12-31`` is a filter, not a crash.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# Wall-clock times the C library surely converts: outside them the nearest one's UTC offset is used
# (a 1-hour daylight-saving error at year 1 or 9999 does not matter).
_SAFE_LOW, _SAFE_HIGH = datetime(1971, 1, 1), datetime(2037, 12, 1)
FIRST_MS = 0  # the archive holds no message before the epoch; earlier dates are clamped to it
LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last instant datetime can show


def local_ms(dt: datetime, tz: tzinfo | None = None) -> int:
    """The naive wall-clock ``dt`` in ``tz`` (default: this computer's zone) as ms since the epoch;
    any year 1–9999 (the result may be negative). ``dt`` may also be aware (``tz`` is ignored)."""
    if dt.tzinfo is None:
        if tz is not None:
            dt = dt.replace(tzinfo=tz)
        else:
            try:
                dt = dt.astimezone()
            except (OverflowError, ValueError, OSError):
                probe = _SAFE_LOW if dt < _SAFE_LOW else _SAFE_HIGH
                offset = probe.astimezone().utcoffset() or timedelta(0)
                dt = dt.replace(tzinfo=timezone(offset))
    return (dt - _EPOCH) // _MS  # aware arithmetic: no year-0/10000 intermediate, unlike .timestamp()


def add_ms(start: datetime, delta: timedelta, tz: tzinfo | None = None) -> int | None:
    """The ms of the wall-clock time ``start + delta`` (so a day across a DST change is right);
    ``None`` when that is past year 9999, i.e. no upper bound."""
    try:
        return local_ms(start + delta, tz)
    except OverflowError:
        return None


def clamp_ms(ms: int | None) -> int | None:
    """``ms`` moved into [:data:`FIRST_MS`, :data:`LAST_MS`] (None stays None): what a date filter
    reaching back before 1970 or past year 9999 means for the archive, and a time every formatter
    can show (``datetime.fromtimestamp`` refuses year 10000)."""
    return None if ms is None else min(max(ms, FIRST_MS), LAST_MS)


def ms_to_local_text(ms: int | None, fmt: str = "%Y-%m-%d %H:%M:%S%z", empty: str = "-") -> str:
    """``ms`` as local time text; ``empty`` for None/0; a value no calendar can show (corrupt or
    far out of range) as ``"<ms> ms"`` rather than an error."""
    if not ms:
        return empty
    try:
        return datetime.fromtimestamp(ms / 1000).astimezone().strftime(fmt)
    except (OverflowError, ValueError, OSError):
        try:
            return (_EPOCH + ms * _MS).strftime(fmt.replace("%z", "+0000"))
        except (OverflowError, ValueError):
            return f"{ms} ms"


__all__ = ["FIRST_MS", "LAST_MS", "add_ms", "clamp_ms", "local_ms", "ms_to_local_text"]
