"""What a new partnership's rituals do next, computed from their schedules with the admin's `now`."""

from __future__ import annotations

from datetime import UTC, datetime

from rituals.interactions import RitualKind
from rituals.schedule import MEMBER_LOCAL, PRESETS
from rituals.upcoming import PlannedRitual, first_firing, next_steps, week_ahead

# Friday 9 January 2026, 12:00 UTC.
FRIDAY_NOON = datetime(2026, 1, 9, 12, tzinfo=UTC)


def starters(fixed_zone: str = "UTC") -> list[PlannedRitual]:
    return [
        PlannedRitual(RitualKind.SHADOWING, PRESETS["weekly_thursday_1500"].schedule(fixed_zone)),
        PlannedRitual(RitualKind.STANDUP, PRESETS["weekdays_0930"].schedule(MEMBER_LOCAL)),
        PlannedRitual(
            RitualKind.KUDOS_PROMPT, PRESETS["weekly_thursday_1500"].schedule(MEMBER_LOCAL)
        ),
        PlannedRitual(
            RitualKind.DIGEST, PRESETS["monthly_first_working_day_0900"].schedule(fixed_zone)
        ),
    ]


def test_next_steps_read_in_the_admins_zone() -> None:
    assert next_steps(starters(), FRIDAY_NOON, "Europe/London") == (
        "First standup prompts: Monday 12 January, 09:30 each person's time; "
        "first shadowing pairings: Thursday 15 January, 15:00 your time; "
        "first kudos prompt: Thursday 15 January, 15:00 each person's time; "
        "first digest (to the leaders by DM): Monday 2 February, 09:00 each leader's time."
    )


def test_a_fixed_time_moves_with_the_admins_zone_and_a_member_local_one_does_not() -> None:
    # In Tokyo (UTC+9) it is already Friday 21:00: the standup is still Monday 09:30 local,
    # while Thursday 15:00 UTC shadowing is Friday 00:00 there.
    tokyo = next_steps(starters(), FRIDAY_NOON, "Asia/Tokyo")
    assert "First standup prompts: Monday 12 January, 09:30 each person's time" in tokyo
    assert "first shadowing pairings: Friday 16 January, 00:00 your time" in tokyo
    # Each leader gets the digest at the schedule's 09:00 in their own zone.
    assert "first digest (to the leaders by DM): Monday 2 February, 09:00 each leader's time" in (
        tokyo
    )
    # An unknown zone falls back to the default one.
    assert next_steps(starters(), FRIDAY_NOON, "Mars/Base", "Europe/London") == next_steps(
        starters(), FRIDAY_NOON, "Europe/London"
    )


def test_the_first_firing_is_strictly_after_now() -> None:
    monday_0930 = datetime(2026, 1, 12, 9, 30, tzinfo=UTC)
    standup = starters()[1]
    first = first_firing(standup, monday_0930, "Europe/London")
    assert first is not None and first.local == datetime(2026, 1, 13, 9, 30)


def test_the_week_ahead_lists_every_firing_in_order_and_leaves_paused_ones_out() -> None:
    week = week_ahead(starters(), FRIDAY_NOON, "Europe/London")
    assert [(f.local.strftime("%a %H:%M"), f.kind) for f in week] == [
        ("Mon 09:30", RitualKind.STANDUP),
        ("Tue 09:30", RitualKind.STANDUP),
        ("Wed 09:30", RitualKind.STANDUP),
        ("Thu 09:30", RitualKind.STANDUP),
        ("Thu 15:00", RitualKind.SHADOWING),
        ("Thu 15:00", RitualKind.KUDOS_PROMPT),
        ("Fri 09:30", RitualKind.STANDUP),
    ]
    assert week[4].when(with_date=False) == "15:00 your time"
    assert week[0].when() == "Monday 12 January, 09:30 each person's time"
    paused = [PlannedRitual(r.kind, r.schedule, paused=True) for r in starters()]
    assert week_ahead(paused, FRIDAY_NOON, "Europe/London") == []
