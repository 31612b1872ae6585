"""Local days and calendar months as UTC intervals (rituals.periods)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rituals.periods import day_start, month_around, month_bounds


def test_month_bounds_in_march_in_berlin_lose_the_hour_clocks_skip() -> None:
    start, end = month_bounds(2024, 3, "Europe/Berlin")
    assert start == datetime(2024, 2, 29, 23, tzinfo=UTC)  # 00:00 CET (+01)
    assert end == datetime(2024, 3, 31, 22, tzinfo=UTC)  # 00:00 CEST (+02) on 1 April
    assert end - start == timedelta(days=31) - timedelta(hours=1)


def test_month_bounds_in_october_in_berlin_gain_the_repeated_hour() -> None:
    start, end = month_bounds(2024, 10, ZoneInfo("Europe/Berlin"))
    assert end - start == timedelta(days=31, hours=1)


def test_month_bounds_wrap_the_year_and_reject_a_bad_month() -> None:
    assert month_bounds(2024, 12, "UTC") == (
        datetime(2024, 12, 1, tzinfo=UTC),
        datetime(2025, 1, 1, tzinfo=UTC),
    )
    with pytest.raises(ValueError):
        month_bounds(2024, 13, "UTC")


ZONES = ["Europe/Berlin", "America/Asuncion", "America/Santiago", "Australia/Lord_Howe", "UTC"]


@settings(max_examples=60, deadline=None)
@given(st.integers(2015, 2030), st.integers(1, 12), st.sampled_from(ZONES))
def test_month_bounds_start_on_the_first_local_instant_of_the_month(
    year: int, month: int, zone: str
) -> None:
    # America/Asuncion skipped midnight on 1 October 2023: the month starts at 01:00 there.
    start, end = month_bounds(year, month, zone)
    tz = ZoneInfo(zone)
    assert (start.astimezone(tz).year, start.astimezone(tz).month) == (year, month)
    assert (start - timedelta(microseconds=1)).astimezone(tz).month != month
    assert (end - timedelta(microseconds=1)).astimezone(tz).month == month
    assert end.astimezone(tz).month != month


def test_the_month_around_an_instant_follows_the_local_calendar() -> None:
    start, end = month_around(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), ZoneInfo("Europe/London"))
    # 23:30 UTC on the 31st is 00:30 BST on 1 April: April in London.
    assert (start, end) == (
        datetime(2026, 3, 31, 23, 0, tzinfo=UTC),
        datetime(2026, 4, 30, 23, 0, tzinfo=UTC),
    )
    start, end = month_around(datetime(2026, 12, 15, tzinfo=UTC), ZoneInfo("UTC"))
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def test_a_day_whose_midnight_is_skipped_starts_at_the_transition() -> None:
    # America/Asuncion went from 23:59:59 (-04) to 01:00 (-03) on 1 October 2023.
    assert day_start(date(2023, 10, 1), ZoneInfo("America/Asuncion")) == datetime(
        2023, 10, 1, 4, tzinfo=UTC
    )


def test_the_month_around_needs_an_aware_instant() -> None:
    with pytest.raises(ValueError):
        month_around(datetime(2026, 3, 1), ZoneInfo("UTC"))
