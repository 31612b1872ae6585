"""The joint KPI rules: linear progress, status bands, milestones, periods."""

from __future__ import annotations

from datetime import date

import pytest

from rituals.commands import InvalidCommand
from rituals.kpi import (
    Cadence,
    Direction,
    Gap,
    Goal,
    Status,
    checkin_gap,
    period_of,
    progress,
    reached_milestone,
    status,
    validate_goal,
)
from rituals.kpi_commands import EditKpi, RemoveKpi, RestoreKpi, parse

UP = Goal(10.0, 20.0, date(2026, 1, 1), date(2026, 4, 11), Direction.HIGHER)
DOWN = Goal(100.0, 50.0, date(2026, 1, 1), date(2026, 4, 11), Direction.LOWER)


def test_progress_is_the_share_of_the_way_in_either_direction() -> None:
    assert progress(UP, 15.0) == pytest.approx(0.5)
    assert progress(DOWN, 75.0) == pytest.approx(0.5)
    assert progress(DOWN, 110.0) == pytest.approx(-0.2)


@pytest.mark.parametrize(
    ("value", "today", "expected"),
    [
        (15.0, date(2026, 2, 20), Status.ON_TRACK),  # 50 % done, 50 % of the time gone
        (14.0, date(2026, 2, 20), Status.AT_RISK),  # 10 points short
        (13.5, date(2026, 2, 20), Status.AT_RISK),  # 15 points short: still at risk
        (13.0, date(2026, 2, 20), Status.OFF_TRACK),  # 20 points short
        (20.0, date(2026, 5, 1), Status.ON_TRACK),  # reached, even late
        (19.9, date(2026, 4, 12), Status.OFF_TRACK),  # date passed, not reached
        (10.0, date(2026, 1, 1), Status.ON_TRACK),  # day one
    ],
)
def test_status_follows_the_straight_line(value: float, today: date, expected: Status) -> None:
    assert status(UP, value, today) is expected


def test_lower_is_better_uses_the_same_rule() -> None:
    assert status(DOWN, 75.0, date(2026, 2, 20)) is Status.ON_TRACK
    assert status(DOWN, 85.0, date(2026, 2, 20)) is Status.OFF_TRACK
    assert status(DOWN, None, date(2026, 2, 20)) is Status.NO_DATA


def test_milestones_are_celebrated_once_each_highest_first() -> None:
    assert reached_milestone(UP, 12.4, 0) is None
    assert reached_milestone(UP, 12.5, 0) == 25
    assert reached_milestone(UP, 18.0, 25) == 75  # jumped over 50: celebrate the highest
    assert reached_milestone(UP, 18.0, 75) is None
    assert reached_milestone(UP, 21.0, 75) == 100
    assert reached_milestone(DOWN, 62.5, 50) == 75


def test_goals_that_cannot_be_tracked_are_refused() -> None:
    start, end = date(2026, 1, 1), date(2026, 6, 1)
    assert validate_goal(Goal(1, 1, start, end, Direction.HIGHER))
    assert validate_goal(Goal(5, 1, start, end, Direction.HIGHER))
    assert validate_goal(Goal(1, 5, start, end, Direction.LOWER))
    assert validate_goal(Goal(1, 5, end, start, Direction.HIGHER))
    assert validate_goal(Goal(1, 5, start, end, Direction.HIGHER)) is None


def test_periods() -> None:
    assert period_of(Cadence.WEEKLY, date(2026, 12, 31)) == "2026-W53"
    assert period_of(Cadence.MONTHLY, date(2026, 12, 31)) == "2026-12"


@pytest.mark.parametrize(
    ("cadence", "latest", "start", "today", "expected"),
    [
        (Cadence.WEEKLY, "2026-W10", date(2026, 1, 5), date(2026, 3, 4), None),  # done this week
        (Cadence.WEEKLY, "2026-W09", date(2026, 1, 5), date(2026, 3, 4), Gap.DUE),  # last week's in
        (Cadence.WEEKLY, "2026-W08", date(2026, 1, 5), date(2026, 3, 4), Gap.MISSED),
        (Cadence.WEEKLY, None, date(2026, 3, 2), date(2026, 3, 4), Gap.DUE),  # new this week
        (Cadence.WEEKLY, None, date(2026, 2, 26), date(2026, 3, 4), Gap.DUE),  # part of a week
        (Cadence.WEEKLY, None, date(2026, 2, 20), date(2026, 3, 4), Gap.MISSED),
        (Cadence.WEEKLY, "2025-W52", date(2025, 1, 6), date(2026, 1, 7), Gap.MISSED),  # new year
        (Cadence.WEEKLY, "2026-W01", date(2025, 1, 6), date(2026, 1, 7), Gap.DUE),
        (Cadence.MONTHLY, "2026-02", date(2026, 1, 5), date(2026, 3, 31), Gap.DUE),
        (Cadence.MONTHLY, "2026-01", date(2026, 1, 5), date(2026, 3, 1), Gap.MISSED),
        (Cadence.MONTHLY, "2025-12", date(2025, 1, 5), date(2026, 1, 15), Gap.DUE),
    ],
)
def test_a_check_in_is_due_in_its_period_and_missed_once_a_whole_one_passed(
    cadence: Cadence, latest: str | None, start: date, today: date, expected: Gap | None
) -> None:
    assert checkin_gap(cadence, latest, start, today) is expected


def test_kpi_commands_edit_remove_and_restore() -> None:
    edit = parse('edit "Lead time" target=4 by=2026-09-30 lower monthly unit="" name="Cycle time"')
    assert edit == EditKpi(
        name="Lead time",
        partnership=None,
        new_name="Cycle time",
        target=4.0,
        target_date=date(2026, 9, 30),
        unit="",
        direction=Direction.LOWER,
        cadence=Cadence.MONTHLY,
    )
    owners = parse('edit "Lead time" owners=<@UANA|ana>,<@UIVY> partnership="Mkt + IT"')
    assert isinstance(owners, EditKpi) and owners.owner_ids == ("UANA", "UIVY")
    assert owners.partnership == "Mkt + IT" and owners.target is None
    assert parse('remove "Weekly report"') == RemoveKpi("Weekly report", None)
    assert parse("restore Weekly report partnership=P") == RestoreKpi("Weekly report", "P")
    for bad, why in (
        ('edit "Lead time"', "Say what to change"),
        ('edit "Lead time" target=soon', "must be a number"),
        ('edit "Lead time" by=next-week', "YYYY-MM-DD"),
        ('edit "Lead time" owners=<@UANA>', "at least one from each team"),
        ('edit "Lead time" owners=<!channel>,<@UANA>', "owners="),
        ('edit "Lead time" lower higher', "once"),
        ('edit "Lead time" colour=red', "Unknown option"),
        ('edit "Lead time" name="<script>"', "60 letters"),
        ("remove", "Name the KPI"),
        ('remove "Lead time" target=3', "Unknown option"),
    ):
        found = parse(bad)
        assert isinstance(found, InvalidCommand) and why in found.message, (bad, found)
