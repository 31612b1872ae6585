"""Joint KPIs: the progress rule, the status bands and the milestones.

A joint KPI is a goal two teams own together: a baseline on the day it was
defined, a target and a target date. Progress is judged against a straight
line from the baseline (on the start date) to the target (on the target
date):

- progress  = (value - baseline) / (target - baseline), so 0.0 at the
  baseline and 1.0 at the target, whichever direction is better;
- expected  = elapsed days / planned days, between 0.0 and 1.0;
- **on track**  when progress >= expected (or the target is reached);
- **at risk**   when progress is short of expected by at most AT_RISK_MARGIN
  (0.15, i.e. 15 points of the way to the target);
- **off track** otherwise, and whenever the target date has passed without
  the target being reached.

Milestones are 25, 50, 75 and 100 % of the way; each is celebrated once,
the first time a check-in reaches it.

A check-in is *due* during its period (ISO week or month) until an owner
enters a value; a period that ended without one is *missed*, and the KPI
shows so until the next check-in (owners get a prompt and one reminder in
each period before that happens).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

AT_RISK_MARGIN = 0.15
MILESTONES: tuple[int, ...] = (25, 50, 75, 100)
MAX_NAME = 60
MAX_NOTE = 300


class Direction(StrEnum):
    HIGHER = "higher"
    LOWER = "lower"


class Cadence(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Gap(StrEnum):
    DUE = "due"
    MISSED = "missed"


class Status(StrEnum):
    ON_TRACK = "on track"
    AT_RISK = "at risk"
    OFF_TRACK = "off track"
    NO_DATA = "no check-in yet"


@dataclass(frozen=True, slots=True)
class Goal:
    baseline: float
    target: float
    start: date
    target_date: date
    direction: Direction


def validate_goal(goal: Goal) -> str | None:
    """A message saying why the goal cannot be tracked, else None."""
    if goal.target == goal.baseline:
        return "The target must differ from the baseline."
    if goal.direction is Direction.HIGHER and goal.target < goal.baseline:
        return "Higher is better, so the target must be above the baseline."
    if goal.direction is Direction.LOWER and goal.target > goal.baseline:
        return "Lower is better, so the target must be below the baseline."
    if goal.target_date <= goal.start:
        return "The target date must be after today."
    return None


def progress(goal: Goal, value: float) -> float:
    """Share of the way from baseline to target (may be < 0 or > 1)."""
    return (value - goal.baseline) / (goal.target - goal.baseline)


def expected(goal: Goal, today: date) -> float:
    planned = (goal.target_date - goal.start).days
    elapsed = (today - goal.start).days
    return min(1.0, max(0.0, elapsed / planned))


def status(goal: Goal, value: float | None, today: date) -> Status:
    if value is None:
        return Status.NO_DATA
    done = progress(goal, value)
    if done >= 1.0:
        return Status.ON_TRACK
    if today > goal.target_date:
        return Status.OFF_TRACK
    gap = expected(goal, today) - done
    if gap <= 0:
        return Status.ON_TRACK
    if gap <= AT_RISK_MARGIN + 1e-9:
        return Status.AT_RISK
    return Status.OFF_TRACK


def reached_milestone(goal: Goal, value: float, celebrated: int) -> int | None:
    """The highest milestone reached by `value` above the last one celebrated."""
    done = progress(goal, value) * 100 + 1e-9
    reached = [m for m in MILESTONES if m > celebrated and done >= m]
    return max(reached) if reached else None


def format_value(value: float, unit: str) -> str:
    text = f"{value:,.0f}" if value == int(value) else f"{value:,.2f}".rstrip("0")
    if unit == "%":
        return f"{text} %"
    return f"{text} {unit}".strip()


def period_of(cadence: Cadence, day: date) -> str:
    """The check-in period a local date falls in: ISO week or calendar month."""
    if cadence is Cadence.WEEKLY:
        year, week, _ = day.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return f"{day.year:04d}-{day.month:02d}"


def previous_period(cadence: Cadence, day: date) -> str:
    """The period before the one `day` falls in."""
    if cadence is Cadence.WEEKLY:
        return period_of(cadence, day - timedelta(days=7))
    return period_of(cadence, day.replace(day=1) - timedelta(days=1))


def checkin_gap(
    cadence: Cadence, latest_period: str | None, start: date, today: date
) -> Gap | None:
    """None when this period has its check-in; DUE while it may still come; MISSED after.

    MISSED when the last whole period ended without a check-in. A KPI with
    none yet counts from the period it was defined in, so one defined
    mid-week is not missed before a whole week has passed. Periods compare
    as text ("2026-W09" < "2026-W10", "2026-02" < "2026-03").
    """
    if latest_period == period_of(cadence, today):
        return None
    reference = latest_period or period_of(cadence, start)
    return Gap.MISSED if reference < previous_period(cadence, today) else Gap.DUE
