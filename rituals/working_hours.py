"""When two people in different time zones are both at work on a given date.

Each person's working day is read in their own zone on the same calendar date
(a shadowing round has one date for everybody), so the UTC interval moves with
daylight saving time and a zone far across the date line may share no hours at
all. A working day whose end is not after its start runs past midnight into
the next local day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_START = time(9)
DEFAULT_END = time(17)

# Suggested meeting starts snap to this grid so they read well in every zone
# (every UTC offset in use is a whole number of quarter hours).
_SLOT_GRID = timedelta(minutes=15)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def workday_utc(
    tz: str, day: date, start: time = DEFAULT_START, end: time = DEFAULT_END
) -> tuple[datetime, datetime]:
    """The UTC instants at which a working day in `tz` on `day` starts and ends."""
    zone = ZoneInfo(tz)
    begins = datetime.combine(day, start, tzinfo=zone)
    end_day = day if end > start else day + timedelta(days=1)
    ends = datetime.combine(end_day, end, tzinfo=zone)
    return begins.astimezone(UTC), ends.astimezone(UTC)


@lru_cache(maxsize=16_384)
def _shared_interval(
    tz_a: str, tz_b: str, day: date, start: time, end: time
) -> tuple[datetime, datetime] | None:
    # Cached because a round asks once per pair of zones, and a large
    # organisation has thousands of members but only a few dozen zones.
    a_start, a_end = workday_utc(tz_a, day, start, end)
    b_start, b_end = workday_utc(tz_b, day, start, end)
    begins, ends = max(a_start, b_start), min(a_end, b_end)
    return (begins, ends) if ends > begins else None


def overlap(
    tz_a: str,
    tz_b: str,
    day: date,
    start: time = DEFAULT_START,
    end: time = DEFAULT_END,
) -> timedelta:
    """How long the two working days on `day` run at the same time."""
    shared = _shared_interval(tz_a, tz_b, day, start, end)
    return timedelta(0) if shared is None else shared[1] - shared[0]


def suggest_slots(
    tz_a: str,
    tz_b: str,
    day: date,
    start: time = DEFAULT_START,
    end: time = DEFAULT_END,
    count: int = 3,
    length: timedelta = timedelta(minutes=45),
) -> list[datetime]:
    """Up to `count` UTC meeting starts, spread across the shared hours.

    Every slot of `length` fits inside the overlap; starts sit on a quarter
    hour grid, so fewer than `count` come back when the overlap is short.
    """
    if count < 1 or length <= timedelta(0):
        return []
    shared = _shared_interval(tz_a, tz_b, day, start, end)
    if shared is None:
        return []
    earliest = _ceil_to_grid(shared[0])
    latest = _floor_to_grid(shared[1] - length)
    if latest < earliest:
        return []
    steps = (latest - earliest) // _SLOT_GRID
    if count == 1:
        return [earliest + (steps // 2) * _SLOT_GRID]
    picks = sorted({round(i * steps / (count - 1)) for i in range(count)})
    return [earliest + k * _SLOT_GRID for k in picks]


def _floor_to_grid(instant: datetime) -> datetime:
    return instant - (instant - _EPOCH) % _SLOT_GRID


def _ceil_to_grid(instant: datetime) -> datetime:
    floored = _floor_to_grid(instant)
    return floored if floored == instant else floored + _SLOT_GRID
