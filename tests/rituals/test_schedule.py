from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rituals.interactions import RitualKind
from rituals.schedule import (
    DEFAULT_GRACE,
    DEFAULT_MAX_CATCH_UP,
    MEMBER_LOCAL,
    PRESETS,
    DueOccurrence,
    OccurrenceStatus,
    Schedule,
    describe,
    due_occurrences,
    fire_times_between,
    fires_in_some_zone,
    first_working_day,
    matches_week_interval,
    next_fire_times,
    slots_between,
    validate_cron,
    validate_schedule,
    validate_timezone,
)
from rituals.zones import known_zones

DUE = OccurrenceStatus.DUE
SKIPPED = OccurrenceStatus.SKIPPED
TICK = timedelta(seconds=30)
TWO_HOURS = timedelta(hours=2)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def local(
    zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A local wall time in `zone` (first occurrence if ambiguous), as UTC."""
    return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def simulate_ticks(
    schedule: Schedule,
    subjects: list[tuple[str, str | None]],
    start: datetime,
    end: datetime,
    grace: timedelta = TWO_HOURS,
) -> list[DueOccurrence]:
    """Every tick from start to end, 30 s apart, each starting where the last ended."""
    found: list[DueOccurrence] = []
    last_tick = start
    while last_tick < end:
        now = last_tick + TICK
        found += due_occurrences(1, schedule, subjects, last_tick, now, grace)
        last_tick = now
    return found


# --- once per local day through DST transitions, tick by tick -------------

# Slots at 01:30, 02:30 and 09:30 local on a transition day: 02:30 falls in
# the gap (spring forward) or happens twice (fall back) in NY/Berlin/Sydney,
# 01:30 does so in New York's fall back. All transition days are Sundays.
TRANSITION_DAYS = [
    pytest.param(
        "America/New_York",
        date(2026, 3, 8),
        {
            "01:30": utc(2026, 3, 8, 6, 30),
            "02:30": utc(2026, 3, 8, 7),
            "09:30": utc(2026, 3, 8, 13, 30),
        },
        id="new-york-spring-forward",
    ),
    pytest.param(
        "America/New_York",
        date(2026, 11, 1),
        {
            "01:30": utc(2026, 11, 1, 5, 30),
            "02:30": utc(2026, 11, 1, 7, 30),
            "09:30": utc(2026, 11, 1, 14, 30),
        },
        id="new-york-fall-back",
    ),
    pytest.param(
        "Europe/Berlin",
        date(2026, 3, 29),
        {
            "01:30": utc(2026, 3, 29, 0, 30),
            "02:30": utc(2026, 3, 29, 1),
            "09:30": utc(2026, 3, 29, 7, 30),
        },
        id="berlin-spring-forward",
    ),
    pytest.param(
        "Europe/Berlin",
        date(2026, 10, 25),
        {
            "01:30": utc(2026, 10, 24, 23, 30),
            "02:30": utc(2026, 10, 25, 0, 30),
            "09:30": utc(2026, 10, 25, 8, 30),
        },
        id="berlin-fall-back",
    ),
    pytest.param(
        "Australia/Sydney",
        date(2026, 4, 5),
        {
            "01:30": utc(2026, 4, 4, 14, 30),
            "02:30": utc(2026, 4, 4, 15, 30),
            "09:30": utc(2026, 4, 4, 23, 30),
        },
        id="sydney-fall-back-april",
    ),
    pytest.param(
        "Australia/Sydney",
        date(2026, 10, 4),
        {
            "01:30": utc(2026, 10, 3, 15, 30),
            "02:30": utc(2026, 10, 3, 16),
            "09:30": utc(2026, 10, 3, 22, 30),
        },
        id="sydney-spring-forward-october",
    ),
    pytest.param(
        "Asia/Kolkata",
        date(2026, 3, 8),
        {
            "01:30": utc(2026, 3, 7, 20),
            "02:30": utc(2026, 3, 7, 21),
            "09:30": utc(2026, 3, 8, 4),
        },
        id="kolkata-no-dst",
    ),
]


def expected_keys(day: date, instants: dict[str, datetime]) -> dict[str, datetime]:
    return {f"{day.isoformat()}T{hhmm}": instant for hhmm, instant in instants.items()}


def local_day_bounds(zone: str, day: date) -> tuple[datetime, datetime]:
    following = day + timedelta(days=1)
    return (
        local(zone, day.year, day.month, day.day),
        local(zone, following.year, following.month, following.day),
    )


@pytest.mark.parametrize(("zone", "day", "instants"), TRANSITION_DAYS)
def test_member_local_daily_fires_once_per_slot_through_the_transition_day(
    zone: str, day: date, instants: dict[str, datetime]
) -> None:
    schedule = Schedule("30 1,2,9 * * *", MEMBER_LOCAL)
    start, end = local_day_bounds(zone, day)

    found = simulate_ticks(schedule, [("member:1", zone)], start, end)

    assert Counter(o.fire_key for o in found) == Counter(expected_keys(day, instants).keys())
    assert {o.fire_key: o.fire_at for o in found} == expected_keys(day, instants)
    assert {o.status for o in found} == {DUE}
    assert {(o.subject, o.tz, o.tz_fallback) for o in found} == {("member:1", zone, False)}


@pytest.mark.parametrize(("zone", "day", "instants"), TRANSITION_DAYS)
def test_weekly_fixed_zone_fires_once_per_slot_through_the_transition_day(
    zone: str, day: date, instants: dict[str, datetime]
) -> None:
    schedule = Schedule("30 1,2,9 * * 0", zone)  # Sundays
    start, end = local_day_bounds(zone, day)

    found = simulate_ticks(schedule, [], start, end)

    assert {o.fire_key: o.fire_at for o in found} == expected_keys(day, instants)
    assert len(found) == 3
    assert {(o.subject, o.status) for o in found} == {("", DUE)}


@pytest.mark.parametrize(
    ("zone", "day", "utc_hours"),
    [
        ("America/New_York", date(2026, 3, 8), (14, 13, 13)),
        ("America/New_York", date(2026, 11, 1), (13, 14, 14)),
        ("Europe/Berlin", date(2026, 3, 29), (8, 7, 7)),
        ("Europe/Berlin", date(2026, 10, 25), (7, 8, 8)),
        ("Australia/Sydney", date(2026, 4, 5), (22, 23, 23)),  # the UTC day before
        ("Australia/Sydney", date(2026, 10, 4), (23, 22, 22)),
        ("Asia/Kolkata", date(2026, 3, 8), (3, 3, 3)),
    ],
)
def test_nine_o_clock_keeps_local_time_across_the_transition(
    zone: str, day: date, utc_hours: tuple[int, int, int]
) -> None:
    start = local(zone, day.year, day.month, day.day) - timedelta(days=1)
    end = start + timedelta(days=3)

    fired = fire_times_between(Schedule("0 9 * * *", zone), start, end)

    assert [moment.astimezone(ZoneInfo(zone)).hour for moment in fired] == [9, 9, 9]
    assert [moment.hour for moment in fired] == list(utc_hours)
    assert [moment.astimezone(ZoneInfo(zone)).date() for moment in fired] == [
        day - timedelta(days=1),
        day,
        day + timedelta(days=1),
    ]


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "Australia/Sydney"])
def test_weekly_slot_stays_at_local_time_for_a_year(zone: str) -> None:
    fired = fire_times_between(
        Schedule("0 15 * * 4", zone), utc(2026, 1, 1), utc(2026, 12, 31, 23, 59)
    )

    local_times = [moment.astimezone(ZoneInfo(zone)) for moment in fired]
    assert len(fired) == 53  # 2026 starts and ends on a Thursday
    assert {(t.weekday(), t.hour, t.minute) for t in local_times} == {(3, 15, 0)}


# --- the gap and the fold, directly ---------------------------------------


def test_gap_time_fires_at_the_end_of_the_gap_under_its_own_key() -> None:
    slots = slots_between(
        Schedule("30 2 * * *", "America/New_York"), utc(2026, 3, 7), utc(2026, 3, 10)
    )

    assert [(s.fire_key, s.fire_at) for s in slots] == [
        ("2026-03-07T02:30", utc(2026, 3, 7, 7, 30)),
        ("2026-03-08T02:30", utc(2026, 3, 8, 7)),  # 03:00 EDT, not 03:30
        ("2026-03-09T02:30", utc(2026, 3, 9, 6, 30)),
    ]


def test_slots_inside_a_gap_collapse_into_the_first_valid_instant() -> None:
    slots = slots_between(
        Schedule("*/15 * * * *", "America/New_York"),
        utc(2026, 3, 8, 6, 30),
        utc(2026, 3, 8, 7, 15),
    )

    assert [(s.fire_key, s.fire_at) for s in slots] == [
        ("2026-03-08T01:45", utc(2026, 3, 8, 6, 45)),
        ("2026-03-08T03:00", utc(2026, 3, 8, 7)),
        ("2026-03-08T03:15", utc(2026, 3, 8, 7, 15)),
    ]


def test_ambiguous_time_fires_once_at_its_first_occurrence() -> None:
    fired = fire_times_between(
        Schedule("30 1 * * *", "America/New_York"), utc(2026, 11, 1), utc(2026, 11, 2)
    )

    assert fired == [utc(2026, 11, 1, 5, 30)]  # 01:30 EDT; 01:30 EST does not fire


def test_half_hourly_cron_does_not_repeat_the_fall_back_hour() -> None:
    slots = slots_between(
        Schedule("*/30 * * * *", "America/New_York"),
        utc(2026, 11, 1, 4, 45),
        utc(2026, 11, 1, 7, 30),
    )

    assert [s.fire_key[-5:] for s in slots] == ["01:00", "01:30", "02:00", "02:30"]
    assert [s.fire_at for s in slots] == [
        utc(2026, 11, 1, 5),
        utc(2026, 11, 1, 5, 30),
        utc(2026, 11, 1, 7),
        utc(2026, 11, 1, 7, 30),
    ]


def test_a_window_inside_the_repeated_hour_finds_nothing_new() -> None:
    # 06:00-07:00 UTC is 01:00-02:00 EST, the second pass through those wall times.
    assert (
        fire_times_between(
            Schedule("30 1 * * *", "America/New_York"), utc(2026, 11, 1, 6), utc(2026, 11, 1, 7)
        )
        == []
    )


# --- crontab weekday numbering --------------------------------------------


@pytest.mark.parametrize(
    ("weekday_field", "expected_weekdays"),
    [
        ("1", {0}),
        ("1-5", {0, 1, 2, 3, 4}),
        ("0", {6}),
        ("7", {6}),
        ("5-7", {4, 5, 6}),
        ("0,6", {5, 6}),
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("sun", {6}),
        ("*/2", {6, 1, 3, 5}),  # Sunday, Tuesday, Thursday, Saturday
        ("1-5/2", {0, 2, 4}),
        ("*", {0, 1, 2, 3, 4, 5, 6}),
    ],
)
def test_weekdays_use_crontab_numbering(weekday_field: str, expected_weekdays: set[int]) -> None:
    fired = fire_times_between(
        Schedule(f"0 9 * * {weekday_field}", "UTC"), utc(2026, 3, 1), utc(2026, 3, 15)
    )

    assert {moment.weekday() for moment in fired} == expected_weekdays
    assert len(fired) == 2 * len(expected_weekdays)


# --- due occurrences: grace, catch-up, fallback ---------------------------


def test_three_hour_outage_runs_the_standup_within_grace_once() -> None:
    berlin = Schedule("30 9 * * 1-5", "Europe/Berlin")
    last_tick = local("Europe/Berlin", 2026, 3, 10, 7, 0)
    now = local("Europe/Berlin", 2026, 3, 10, 10, 0)

    found = due_occurrences(7, berlin, [], last_tick, now, DEFAULT_GRACE[RitualKind.STANDUP])

    assert found == [
        DueOccurrence(7, "", "2026-03-10T09:30", utc(2026, 3, 10, 8, 30), "Europe/Berlin", DUE)
    ]
    assert due_occurrences(7, berlin, [], now, now + TICK, TWO_HOURS) == []


def test_three_hour_outage_skips_a_standup_older_than_grace() -> None:
    early = Schedule("30 6 * * 1-5", "Europe/Berlin")
    last_tick = local("Europe/Berlin", 2026, 3, 10, 6, 0)
    now = local("Europe/Berlin", 2026, 3, 10, 9, 0)

    found = due_occurrences(7, early, [], last_tick, now, TWO_HOURS)

    assert [(o.fire_key, o.status) for o in found] == [("2026-03-10T06:30", SKIPPED)]


def test_several_fire_times_within_grace_run_only_the_newest() -> None:
    hourly = Schedule("0 * * * *", "UTC")

    found = due_occurrences(
        7, hourly, [], utc(2026, 3, 10, 6, 59), utc(2026, 3, 10, 10, 0, 10), TWO_HOURS
    )

    assert [(o.fire_key, o.status) for o in found] == [
        ("2026-03-10T07:00", SKIPPED),  # older than grace
        ("2026-03-10T08:00", SKIPPED),  # 2 h 10 s old: older than grace
        ("2026-03-10T09:00", SKIPPED),  # within grace, but a newer one runs
        ("2026-03-10T10:00", DUE),
    ]


def test_grace_boundary_is_inclusive() -> None:
    daily = Schedule("0 9 * * *", "UTC")

    found = due_occurrences(7, daily, [], utc(2026, 3, 10, 8), utc(2026, 3, 10, 11), TWO_HOURS)

    assert [o.status for o in found] == [DUE]


def test_first_tick_ever_looks_back_one_grace_window() -> None:
    hourly = Schedule("0 * * * *", "UTC")

    found = due_occurrences(7, hourly, [], None, utc(2026, 3, 10, 10, 30), TWO_HOURS)

    assert [(o.fire_key, o.status) for o in found] == [
        ("2026-03-10T09:00", SKIPPED),
        ("2026-03-10T10:00", DUE),
    ]


def test_long_outage_records_missed_days_as_skipped_within_the_cap() -> None:
    daily = Schedule("0 9 * * *", "UTC")
    now = utc(2026, 3, 20, 9, 0, 10)

    found = due_occurrences(7, daily, [], utc(2026, 1, 1), now, TWO_HOURS)

    assert len(found) == 7  # max_catch_up defaults to 7 days
    assert [o.status for o in found] == [SKIPPED] * 6 + [DUE]
    assert found[0].fire_key == "2026-03-14T09:00"


def test_a_restarted_replica_computes_the_same_key_as_a_ticking_one() -> None:
    schedule = Schedule("30 9 * * 1-5", MEMBER_LOCAL)
    subjects: list[tuple[str, str | None]] = [("member:1", "Australia/Sydney")]
    day_start, day_end = local_day_bounds("Australia/Sydney", date(2026, 4, 6))

    ticking = simulate_ticks(schedule, subjects, day_start, day_end)
    restarted = due_occurrences(
        1, schedule, subjects, day_start - timedelta(hours=5), day_end, timedelta(days=1)
    )

    assert [(o.subject, o.fire_key, o.fire_at) for o in ticking] == [
        (o.subject, o.fire_key, o.fire_at) for o in restarted
    ]


def test_members_are_grouped_by_zone_and_share_keys() -> None:
    schedule = Schedule("30 9 * * 1-5", MEMBER_LOCAL)
    subjects: list[tuple[str, str | None]] = [
        ("member:1", "Europe/Berlin"),
        ("member:2", "Asia/Kolkata"),
        ("member:3", "Europe/Berlin"),
    ]
    now = local("Europe/Berlin", 2026, 3, 10, 9, 30, 10)

    found = due_occurrences(1, schedule, subjects, now - TICK, now, TWO_HOURS)

    assert [(o.subject, o.fire_key, o.tz) for o in found] == [
        ("member:1", "2026-03-10T09:30", "Europe/Berlin"),
        ("member:3", "2026-03-10T09:30", "Europe/Berlin"),
    ]


def test_missing_or_unknown_member_zone_falls_back_and_is_flagged() -> None:
    schedule = Schedule("0 9 * * *", MEMBER_LOCAL)
    subjects: list[tuple[str, str | None]] = [
        ("member:1", None),
        ("member:2", "Mars/Olympus_Mons"),
        ("member:3", ""),
        ("member:4", "localtime"),
        ("member:5", "America/New_York"),
        ("member:6", "Europe/Berlin"),
    ]
    now = local("America/New_York", 2026, 3, 10, 9, 0, 10)

    found = due_occurrences(
        1, schedule, subjects, now - TICK, now, TWO_HOURS, default_tz="America/New_York"
    )

    assert {(o.subject, o.tz, o.tz_fallback) for o in found} == {
        ("member:1", "America/New_York", True),
        ("member:2", "America/New_York", True),
        ("member:3", "America/New_York", True),
        ("member:4", "America/New_York", True),
        ("member:5", "America/New_York", False),
    }
    assert {o.fire_key for o in found} == {"2026-03-10T09:00"}


def test_member_local_with_no_subjects_is_empty_and_fixed_zone_ignores_subjects() -> None:
    now = utc(2026, 3, 10, 9, 0, 10)
    members: list[tuple[str, str | None]] = [("member:1", "UTC")]

    assert due_occurrences(1, Schedule("0 9 * * *", MEMBER_LOCAL), [], None, now, TWO_HOURS) == []
    fixed = due_occurrences(1, Schedule("0 9 * * *", "UTC"), members, None, now, TWO_HOURS)
    assert [o.subject for o in fixed] == [""]


def test_time_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        due_occurrences(1, Schedule("0 9 * * *", "UTC"), [], None, datetime(2026, 3, 10), TWO_HOURS)


def test_default_grace_covers_every_ritual_kind() -> None:
    assert set(DEFAULT_GRACE) == set(RitualKind)
    assert DEFAULT_GRACE[RitualKind.STANDUP] == timedelta(hours=2)
    assert DEFAULT_GRACE[RitualKind.SHADOWING] == timedelta(days=1)
    assert DEFAULT_GRACE[RitualKind.KUDOS_PROMPT] == timedelta(hours=6)
    assert DEFAULT_GRACE[RitualKind.DIGEST] == timedelta(days=3)


# --- week intervals and the first working day ----------------------------


def test_week_interval_counts_weeks_from_the_anchor_monday() -> None:
    anchor = date(2026, 3, 5)  # a Thursday; its week is an "on" week
    assert matches_week_interval(date(2026, 3, 2), 2, anchor)
    assert matches_week_interval(date(2026, 3, 8), 2, anchor)
    assert not matches_week_interval(date(2026, 3, 12), 2, anchor)
    assert matches_week_interval(date(2026, 3, 19), 2, anchor)
    assert matches_week_interval(date(2026, 2, 19), 2, anchor)  # before the anchor too
    assert matches_week_interval(date(2026, 3, 26), 3, anchor)
    assert matches_week_interval(date(2026, 3, 12), 1, anchor)


def test_fortnightly_keeps_fourteen_days_across_a_53_week_year() -> None:
    schedule = PRESETS["fortnightly_thursday_1500"].schedule("Europe/Berlin", date(2026, 12, 17))

    fired = fire_times_between(schedule, utc(2026, 12, 1), utc(2027, 2, 1))

    local_days = [moment.astimezone(ZoneInfo("Europe/Berlin")).date() for moment in fired]
    assert local_days == [
        date(2026, 12, 3),
        date(2026, 12, 17),
        date(2026, 12, 31),
        date(2027, 1, 14),
        date(2027, 1, 28),
    ]


def test_fortnightly_ticks_fire_only_in_on_weeks() -> None:
    schedule = Schedule("0 15 * * 4", "UTC", every_n_weeks=2, anchor_date=date(2026, 3, 5))
    on_day = utc(2026, 3, 19, 15, 0, 10)
    off_day = utc(2026, 3, 12, 15, 0, 10)

    assert [o.fire_key for o in due_occurrences(1, schedule, [], None, on_day, TWO_HOURS)] == [
        "2026-03-19T15:00"
    ]
    assert due_occurrences(1, schedule, [], None, off_day, TWO_HOURS) == []


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2026, 2, date(2026, 2, 2)),  # the 1st is a Sunday
        (2026, 8, date(2026, 8, 3)),  # the 1st is a Saturday
        (2026, 10, date(2026, 10, 1)),
        (2027, 5, date(2027, 5, 3)),
    ],
)
def test_first_working_day(year: int, month: int, expected: date) -> None:
    assert first_working_day(year, month) == expected


def test_monthly_first_working_day_preset_fires_once_a_month_on_that_day() -> None:
    schedule = PRESETS["monthly_first_working_day_0900"].schedule("Europe/Berlin")

    fired = fire_times_between(schedule, utc(2026, 1, 1), utc(2027, 1, 1))

    local_times = [moment.astimezone(ZoneInfo("Europe/Berlin")) for moment in fired]
    assert [t.date() for t in local_times] == [
        first_working_day(2026, month) for month in range(1, 13)
    ]
    assert {(t.hour, t.minute) for t in local_times} == {(9, 0)}


def test_next_fire_times_previews_in_order() -> None:
    schedule = PRESETS["monthly_first_working_day_0900"].schedule(MEMBER_LOCAL)

    preview = next_fire_times(schedule, utc(2026, 7, 15), count=3, tz="Asia/Kolkata")

    assert preview == [utc(2026, 8, 3, 3, 30), utc(2026, 9, 1, 3, 30), utc(2026, 10, 1, 3, 30)]
    with pytest.raises(ValueError, match="member"):
        next_fire_times(schedule, utc(2026, 7, 15))


# --- validation -------------------------------------------------------------


@pytest.mark.parametrize(
    "expr", ["30 9 * * 1-5", "0 15 * * 4", "0 9 1-3 * 1-5", "*/15 * * * *", "0 9 * * 7"]
)
def test_valid_cron(expr: str) -> None:
    assert validate_cron(expr) is None


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("30 9 * *", "5 fields"),
        ("0 9 * * * *", "5 fields"),
        ("61 9 * * *", "not valid"),
        ("0 24 * * *", "not valid"),
        ("0 9 * * 8", "Weekday"),
        ("0 9 * * 5-1", "backwards"),
        ("0 9 * * funday", "Weekday"),
        ("0 9 31 2 *", "never fires"),
    ],
)
def test_invalid_cron(expr: str, message: str) -> None:
    problem = validate_cron(expr)
    assert problem is not None
    assert message in problem


def test_validate_timezone() -> None:
    assert validate_timezone("Europe/Berlin") is None
    assert validate_timezone(MEMBER_LOCAL) is None
    assert validate_timezone("UTC") is None
    for bad in ["Europe/Atlantis", "", "localtime", "../etc/passwd"]:
        assert validate_timezone(bad) is not None


def test_validate_schedule() -> None:
    assert validate_schedule(PRESETS["fortnightly_thursday_1500"].schedule(MEMBER_LOCAL)) is None
    assert validate_schedule(Schedule("0 9 * * *", "UTC", every_n_weeks=0)) is not None
    never = Schedule("0 9 10 * *", "UTC", first_working_day_only=True)
    assert "first working day" in (validate_schedule(never) or "")


# --- describe -------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (
            PRESETS["weekdays_0930"].schedule(MEMBER_LOCAL),
            "Weekdays at 09:30, each member's local time",
        ),
        (
            PRESETS["weekly_thursday_1500"].schedule("Europe/Berlin"),
            "Every Thursday at 15:00, Europe/Berlin",
        ),
        (
            PRESETS["fortnightly_thursday_1500"].schedule("Europe/Berlin"),
            "Every other Thursday at 15:00, Europe/Berlin",
        ),
        (
            PRESETS["monthly_first_0900"].schedule("America/New_York"),
            "On the 1st of each month at 09:00, America/New_York",
        ),
        (
            PRESETS["monthly_first_working_day_0900"].schedule("Asia/Kolkata"),
            "On the first working day of each month at 09:00, Asia/Kolkata",
        ),
        (Schedule("0 9 * * *", "UTC"), "Every day at 09:00, UTC"),
        (Schedule("0 10 * * 0,6", "UTC"), "Weekends at 10:00, UTC"),
        (Schedule("0 10 * * 1,3,5", "UTC"), "Every Monday, Wednesday and Friday at 10:00, UTC"),
        (Schedule("0 10 * * 0", "UTC", every_n_weeks=3), "Every 3 weeks on Sunday at 10:00, UTC"),
        (Schedule("0 10 22 * *", "UTC"), "On the 22nd of each month at 10:00, UTC"),
        (Schedule("0 10 11 * *", "UTC"), "On the 11th of each month at 10:00, UTC"),
        (Schedule("*/15 9-17 * * 1-5", "UTC"), "Cron `*/15 9-17 * * 1-5` (UTC)"),
        (Schedule("0 9 1 * 1", MEMBER_LOCAL), "Cron `0 9 1 * 1` (each member's local time)"),
        (
            Schedule("0 9 * * 1", "UTC", first_working_day_only=True),
            "Cron `0 9 * * 1` (UTC), first working day of the month only",
        ),
    ],
)
def test_describe(schedule: Schedule, words: str) -> None:
    assert describe(schedule) == words


# --- properties ---------------------------------------------------------------

ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Sao_Paulo",
]


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    cuts=st.lists(st.integers(1, 20 * 24 * 60), max_size=6),
)
def test_any_split_of_a_window_gives_the_same_daily_slots_once_per_local_day(
    zone: str, hour: int, minute: int, start: datetime, cuts: list[int]
) -> None:
    schedule = Schedule(f"{minute} {hour} * * *", zone)
    begin = start.replace(tzinfo=UTC)
    end = begin + timedelta(days=20)

    whole = slots_between(schedule, begin, end)
    edges = [begin, *sorted(begin + timedelta(minutes=cut) for cut in set(cuts)), end]
    pieces = [slot for a, b in pairwise(edges) for slot in slots_between(schedule, a, b)]

    assert pieces == whole
    local_days = [slot.local.date() for slot in whole]
    assert len(local_days) == len(set(local_days))
    assert all(later - earlier == timedelta(days=1) for earlier, later in pairwise(local_days))
    assert len(whole) in (19, 20, 21)
    assert all(begin < slot.fire_at <= end for slot in whole)


# --- is anything due anywhere ------------------------------------------------

# Instants where zones change offset (US, EU, Lord Howe's half hour, Chatham)
# and plain quarter hours, where fire times of the crons below bunch up.
_AROUND = [
    utc(2026, 3, 8, 7),
    utc(2026, 3, 29, 1),
    utc(2026, 4, 4, 15),
    utc(2026, 4, 5, 14),
    utc(2026, 10, 25, 1),
    utc(2026, 11, 1, 6),
    utc(2026, 1, 13, 9, 30),
    utc(2026, 6, 17, 3, 45),
]
_CRONS = ["30 9 * * 1-5", "30 2 * * *", "45 1 * * 0", "0 */3 * * *", "15 13 1 * *"]


def _fires_somewhere(schedule: Schedule, start: datetime, end: datetime) -> bool:
    return any(slots_between(schedule, start, end, zone) for zone in sorted(known_zones()))


@settings(max_examples=60, deadline=None)
# Slots at the end of a spring-forward gap (02:30 -> 03:00), which only the
# zones changing offset have: Europe at 01:00 UTC, New York at 07:00 UTC.
@example(around=utc(2026, 3, 29, 1), shift=-10, length=30, cron="30 2 * * *")
@example(around=utc(2026, 3, 8, 7), shift=-10, length=30, cron="30 2 * * *")
@given(
    around=st.sampled_from(_AROUND),
    shift=st.integers(min_value=-8 * 3600, max_value=8 * 3600),
    length=st.sampled_from([1, 30, 600, 3 * 3600, 26 * 3600, 8 * 24 * 3600]),
    cron=st.sampled_from(_CRONS),
)
def test_fires_in_some_zone_agrees_with_asking_every_zone(
    around: datetime, shift: int, length: int, cron: str
) -> None:
    schedule = Schedule(cron, MEMBER_LOCAL)
    start = around + timedelta(seconds=shift)
    end = start + timedelta(seconds=length)
    # The catch-up cap bounds the window as due_occurrences does.
    window_start = max(start, end - max(DEFAULT_MAX_CATCH_UP, TWO_HOURS))
    expected = _fires_somewhere(schedule, window_start, end)
    assert fires_in_some_zone(schedule, start, end, TWO_HOURS) == expected


def test_fires_in_some_zone_between_quarter_hours_and_at_them() -> None:
    standup = Schedule("30 9 * * 1-5", MEMBER_LOCAL)
    # 09:30 somewhere at every quarter hour (and at :45 past in Nepal); nowhere in between.
    assert not fires_in_some_zone(
        standup, utc(2026, 1, 13, 10, 5), utc(2026, 1, 13, 10, 5, 30), TICK
    )
    assert fires_in_some_zone(
        standup, utc(2026, 1, 13, 8, 29, 50), utc(2026, 1, 13, 8, 30, 20), TICK
    )
    assert fires_in_some_zone(
        standup, utc(2026, 1, 13, 3, 44, 50), utc(2026, 1, 13, 3, 45, 20), TICK
    )
    # A first tick ever looks back one grace window, like due_occurrences.
    assert fires_in_some_zone(standup, None, utc(2026, 1, 13, 10, 5), TWO_HOURS)
    # Between 12:00 and 18:00 UTC on a Saturday, 09:30 falls on a Saturday everywhere.
    saturday = utc(2026, 1, 17, 12)
    assert not fires_in_some_zone(standup, saturday, saturday + timedelta(hours=6), TICK)
