from datetime import UTC, date, datetime, time, timedelta

from rituals.working_hours import overlap, suggest_slots, workday_utc

WINTER_MONDAY = date(2025, 1, 6)


def test_berlin_and_london_share_seven_hours() -> None:
    assert overlap("Europe/Berlin", "Europe/London", WINTER_MONDAY) == timedelta(hours=7)


def test_los_angeles_and_kolkata_share_no_working_hours() -> None:
    assert overlap("America/Los_Angeles", "Asia/Kolkata", WINTER_MONDAY) == timedelta(0)
    assert suggest_slots("America/Los_Angeles", "Asia/Kolkata", WINTER_MONDAY) == []


def test_half_hour_offsets_count() -> None:
    # Kolkata 03:30-11:30 UTC, Berlin 08:00-16:00 UTC.
    assert overlap("Asia/Kolkata", "Europe/Berlin", WINTER_MONDAY) == timedelta(hours=3, minutes=30)


def test_overlap_is_symmetric_and_same_zone_is_whole_day() -> None:
    assert overlap("Asia/Tokyo", "Europe/Berlin", WINTER_MONDAY) == overlap(
        "Europe/Berlin", "Asia/Tokyo", WINTER_MONDAY
    )
    assert overlap("Asia/Tokyo", "Asia/Tokyo", WINTER_MONDAY) == timedelta(hours=8)


def test_us_daylight_saving_start_widens_overlap_with_london() -> None:
    # New York moves to UTC-4 on 2024-03-10; London stays on UTC until 03-31.
    before = overlap("America/New_York", "Europe/London", date(2024, 3, 9))
    after = overlap("America/New_York", "Europe/London", date(2024, 3, 10))
    assert before == timedelta(hours=3)
    assert after == timedelta(hours=4)


def test_european_daylight_saving_start_narrows_overlap_with_new_york() -> None:
    # Berlin moves to UTC+2 on 2024-03-31, three weeks after New York.
    assert overlap("Europe/Berlin", "America/New_York", date(2024, 3, 30)) == timedelta(hours=3)
    assert overlap("Europe/Berlin", "America/New_York", date(2024, 3, 31)) == timedelta(hours=2)


def test_custom_hours_and_a_shift_past_midnight() -> None:
    start, end = workday_utc("Europe/London", WINTER_MONDAY, time(22), time(6))
    assert start == datetime(2025, 1, 6, 22, tzinfo=UTC)
    assert end == datetime(2025, 1, 7, 6, tzinfo=UTC)
    short_day = overlap("Europe/Berlin", "Europe/London", WINTER_MONDAY, time(10), time(12))
    assert short_day == timedelta(hours=1)


def test_slots_are_spread_across_the_overlap() -> None:
    slots = suggest_slots("Europe/Berlin", "Europe/London", WINTER_MONDAY)
    assert slots == [
        datetime(2025, 1, 6, 9, tzinfo=UTC),
        datetime(2025, 1, 6, 12, tzinfo=UTC),
        datetime(2025, 1, 6, 15, 15, tzinfo=UTC),
    ]


def test_slots_fit_inside_the_overlap_on_a_quarter_hour_grid() -> None:
    length = timedelta(minutes=30)
    slots = suggest_slots("Asia/Kolkata", "Europe/Berlin", WINTER_MONDAY, count=5, length=length)
    assert len(slots) == 5
    assert slots == sorted(slots)
    for slot in slots:
        assert slot.tzinfo is UTC
        assert slot.minute % 15 == 0
        assert datetime(2025, 1, 6, 8, tzinfo=UTC) <= slot
        assert slot + length <= datetime(2025, 1, 6, 11, 30, tzinfo=UTC)


def test_short_overlap_gives_fewer_or_no_slots() -> None:
    day = WINTER_MONDAY
    one_hour = suggest_slots("Europe/Berlin", "Europe/London", day, time(9), time(10), count=5)
    assert one_hour == []  # 09:00-10:00 local share no time at all across a one-hour offset
    narrow = suggest_slots(
        "Europe/Berlin", "Europe/London", day, time(9), time(11), length=timedelta(minutes=45)
    )
    # One shared hour (09:00-10:00 UTC) holds a 45-minute slot at two quarter hours.
    assert narrow == [datetime(2025, 1, 6, 9, tzinfo=UTC), datetime(2025, 1, 6, 9, 15, tzinfo=UTC)]
    assert suggest_slots("Europe/Berlin", "Europe/London", day, count=1) == [
        datetime(2025, 1, 6, 12, tzinfo=UTC)
    ]
