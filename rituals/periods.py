"""Local days and calendar months as half-open UTC intervals.

The one place that turns a local calendar into instants: a day starts at its
first instant, also where a transition skips or repeats midnight, and a month
runs from the start of its first day to the start of the next month's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) whose local date is `day`, also when midnight is skipped."""
    midnight = datetime.combine(day, time(0))
    guess = midnight.replace(tzinfo=zone).astimezone(UTC)
    if guess.astimezone(zone).replace(tzinfo=None) == midnight:
        return guess
    # Midnight falls in a gap (fold=0 read it with the offset before the
    # transition, an instant after it): the day starts at the transition,
    # found by bisection over whole seconds, as transitions are.
    before = int(guess.timestamp()) - 86_400
    after = int(guess.timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).date() >= day:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def month_bounds(year: int, month: int, tz: str | ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar month as a half-open UTC interval, its days as `tz` counts them."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1..12, got {month}")
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return day_start(date(year, month, 1), zone), day_start(date(next_year, next_month, 1), zone)


def month_around(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local calendar month containing `now`, as in `month_bounds`."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(zone)
    return month_bounds(local.year, local.month, zone)
