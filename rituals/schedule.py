"""When a ritual fires, computed the same way on every replica.

Every replica ticks every ~30 s and asks which occurrences became due since
its last tick; storage inserts each one on its natural key
(ritual, subject, fire_key) with ON CONFLICT DO NOTHING, so the key must be
identical wherever and whenever it is computed.

Cron expressions are standard 5-field crontab ("minute hour day month
weekday") with crontab weekday numbers: 0 or 7 is Sunday, 1 is Monday.
APScheduler 3.x reads weekday 0 as Monday, so the weekday field is rewritten
into day names before it reaches `CronTrigger`. When both the day of month
and the weekday are restricted, both must match (APScheduler's rule; classic
cron fires when either matches), so "0 9 1-3 * 1-5" means "a weekday among
the 1st-3rd".

Wall-clock rules (APScheduler alone fires an ambiguous fall-back time twice
and a spring-forward gap time an hour late, at 03:30 for 02:30):
- the cron is evaluated on the local wall clock, so 09:00 fires once per
  local calendar day whatever the UTC offset;
- a wall time that happens twice (fall-back) fires once, at its first
  occurrence;
- a wall time that does not exist (spring-forward gap) fires once, at the
  first instant after the gap (02:30 -> 03:00 in America/New_York); slots
  that land on the same instant collapse into one, keeping the latest slot.

The fire key is the slot's local wall time, "YYYY-MM-DDTHH:MM" (e.g.
"2026-03-08T02:30" even when that slot fired at 03:00). It depends only on
the cron and the local calendar, not on UTC offsets or tz database versions,
and a member who moves to another zone does not get the same local slot
twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from rituals.interactions import RitualKind
from rituals.zones import known_zones
from rituals.zones import zone as lookup_zone

MEMBER_LOCAL = "member-local"
FIRE_KEY_FORMAT = "%Y-%m-%dT%H:%M"

DEFAULT_GRACE: dict[RitualKind, timedelta] = {
    RitualKind.STANDUP: timedelta(hours=2),
    RitualKind.SHADOWING: timedelta(days=1),
    RitualKind.KUDOS_PROMPT: timedelta(hours=6),
    RitualKind.DIGEST: timedelta(days=3),
    RitualKind.KPI_CHECKIN: timedelta(days=1),
    RitualKind.PULSE: timedelta(days=1),
}

# Bounds the rows one tick can create after a very long outage (a restored
# backup, a paused cluster); older fire times are simply not recorded.
DEFAULT_MAX_CATCH_UP = timedelta(days=7)

# Week parity for every_n_weeks when no anchor is set: a fixed Monday, so
# every replica agrees without configuration.
EPOCH_MONDAY = date(1970, 1, 5)

_PREVIEW_HORIZON = timedelta(days=366 * 30)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_QUARTER_DAY = timedelta(hours=6)
_CRON_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_APSCHEDULER_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_WORDS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_WEEKDAY_PART = re.compile(r"^(?P<body>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>[0-9]+))?$")


@dataclass(frozen=True, slots=True)
class Schedule:
    """A ritual's schedule as admins edit it.

    `timezone` is an IANA name or MEMBER_LOCAL (each member at their own local
    time). Cron cannot say "every other week" or "first working day", so:
    - `every_n_weeks` > 1 fires only in weeks whose Monday is a multiple of n
      weeks from the Monday of `anchor_date` (EPOCH_MONDAY when unset);
    - `first_working_day_only` fires only on the month's first Monday-Friday,
      used with a cron such as "0 9 1-3 * 1-5" (that day is always a
      weekday among the 1st-3rd).
    """

    cron: str
    timezone: str
    every_n_weeks: int = 1
    anchor_date: date | None = None
    first_working_day_only: bool = False

    @property
    def is_member_local(self) -> bool:
        return self.timezone == MEMBER_LOCAL


@dataclass(frozen=True, slots=True)
class Preset:
    """A named schedule shape that admins pick instead of writing cron."""

    cron: str
    every_n_weeks: int = 1
    first_working_day_only: bool = False

    def schedule(self, timezone: str, anchor_date: date | None = None) -> Schedule:
        return Schedule(
            cron=self.cron,
            timezone=timezone,
            every_n_weeks=self.every_n_weeks,
            anchor_date=anchor_date,
            first_working_day_only=self.first_working_day_only,
        )


PRESETS: dict[str, Preset] = {
    "weekdays_0930": Preset("30 9 * * 1-5"),
    "weekly_thursday_1500": Preset("0 15 * * 4"),
    "fortnightly_thursday_1500": Preset("0 15 * * 4", every_n_weeks=2),
    "monthly_first_0900": Preset("0 9 1 * *"),
    "monthly_first_working_day_0900": Preset("0 9 1-3 * 1-5", first_working_day_only=True),
    # KPI check-ins: prompts on Monday, the one reminder on Thursday (bot/kpi/checkins.py).
    "monday_thursday_1000": Preset("0 10 * * 1,4"),
    # The pulse fires on the last working days; its builder keeps only the second-to-last
    # (rituals.pulse.second_to_last_working_day) in each member's own calendar.
    "monthly_late_weekdays_1500": Preset("0 15 20-31 * 1-5"),
}


@dataclass(frozen=True, slots=True)
class Slot:
    """One firing: the local wall-clock slot and the instant it fires."""

    local: datetime  # naive local wall time of the cron slot
    fire_at: datetime  # aware UTC

    @property
    def fire_key(self) -> str:
        return self.local.strftime(FIRE_KEY_FORMAT)


class OccurrenceStatus(StrEnum):
    DUE = "due"
    SKIPPED = "skipped"  # recorded and shown to admins, never sent


@dataclass(frozen=True, slots=True)
class DueOccurrence:
    """One row for the occurrence table; (ritual_id, subject, fire_key) is its key."""

    ritual_id: int
    subject: str  # "" for the whole ritual, e.g. "member:42" for member-local
    fire_key: str
    fire_at: datetime
    tz: str
    status: OccurrenceStatus
    tz_fallback: bool = False


# --- validation ------------------------------------------------------------


def validate_cron(expr: str) -> str | None:
    """Why `expr` is not a usable crontab expression, or None if it is."""
    try:
        never = _never_fires(expr)
    except ValueError as error:
        return str(error)
    if never:
        return f"Cron `{expr}` never fires (for example the 31st of February)"
    return None


def validate_timezone(name: str) -> str | None:
    """Why `name` is not a usable schedule time zone, or None if it is."""
    if name == MEMBER_LOCAL or lookup_zone(name) is not None:
        return None
    return f"Unknown time zone {name!r}: use an IANA name such as Europe/Berlin, or {MEMBER_LOCAL}"


def validate_schedule(schedule: Schedule) -> str | None:
    """Why `schedule` cannot be saved, or None if it can."""
    problem = validate_cron(schedule.cron) or validate_timezone(schedule.timezone)
    if problem:
        return problem
    if schedule.every_n_weeks < 1:
        return "every_n_weeks must be 1 or more"
    if schedule.first_working_day_only and not next_fire_times(
        schedule, datetime(2000, 1, 1, tzinfo=UTC), count=1, tz="UTC"
    ):
        return f"Cron `{schedule.cron}` never falls on the first working day of a month"
    return None


# --- calendar rules --------------------------------------------------------


def first_working_day(year: int, month: int) -> date:
    """The month's first Monday-Friday (no holiday calendar)."""
    day = date(year, month, 1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def matches_week_interval(local_date: date, every_n_weeks: int, anchor_date: date) -> bool:
    """Whether `local_date` falls in an "on" week; the anchor's week is one.

    Weeks are counted Monday to Monday, not by ISO week number, so the rhythm
    survives years with 53 ISO weeks.
    """
    if every_n_weeks < 1:
        raise ValueError("every_n_weeks must be 1 or more")
    weeks = (_monday(local_date) - _monday(anchor_date)).days // 7
    return weeks % every_n_weeks == 0


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _date_filter(schedule: Schedule) -> Callable[[date], bool] | None:
    if schedule.every_n_weeks == 1 and not schedule.first_working_day_only:
        return None
    anchor = schedule.anchor_date or EPOCH_MONDAY

    def accepts(day: date) -> bool:
        if schedule.first_working_day_only and day != first_working_day(day.year, day.month):
            return False
        return matches_week_interval(day, schedule.every_n_weeks, anchor)

    return accepts


# --- fire times ------------------------------------------------------------


def fire_times_between(
    schedule: Schedule, start: datetime, end: datetime, tz: str | None = None
) -> list[datetime]:
    """Fire instants (aware UTC) in (start, end]: start excluded, end included."""
    return [slot.fire_at for slot in slots_between(schedule, start, end, tz)]


def next_fire_times(
    schedule: Schedule, after: datetime, count: int = 5, tz: str | None = None
) -> list[datetime]:
    """The next `count` fire instants strictly after `after`, for admin previews.

    Member-local schedules need `tz` (a sample member's zone). Fewer are
    returned if the schedule fires less often than that within 30 years.
    """
    zone = _schedule_zone(schedule, tz)
    after = _as_utc(after, "after")
    wall_after = _wall(after, zone)
    slots = _slots(schedule, zone, wall_after, wall_after + _PREVIEW_HORIZON)
    found: list[datetime] = []
    for slot in slots:
        if slot.fire_at > after:
            found.append(slot.fire_at)
            if len(found) == count:
                break
    return found


def slots_between(
    schedule: Schedule, start: datetime, end: datetime, tz: str | None = None
) -> list[Slot]:
    """Slots firing in (start, end], oldest first, in the schedule's zone or `tz`."""
    zone = _schedule_zone(schedule, tz)
    return _slots_between(schedule, zone, _as_utc(start, "start"), _as_utc(end, "end"))


def _slots_between(
    schedule: Schedule, zone: ZoneInfo, start: datetime, end: datetime
) -> list[Slot]:
    if end <= start:
        return []
    # A slot before wall(start) fires at or before start. A slot after wall(end)
    # can still fire by `end` if `end` is in a fall-back repeat, hence the
    # largest offset seen in the window.
    wall_from = _wall(start, zone)
    wall_until = (end + _largest_offset(zone, start, end)).replace(tzinfo=None)
    return [
        slot
        for slot in _slots(schedule, zone, wall_from, wall_until)
        if start < slot.fire_at <= end
    ]


def _slots(
    schedule: Schedule, zone: ZoneInfo, wall_from: datetime, wall_until: datetime
) -> Iterator[Slot]:
    """Slots whose wall time is in [wall_from, wall_until], collapsing shared instants."""
    pending: Slot | None = None
    for wall in _wall_slots(schedule, wall_from, wall_until):
        slot = Slot(local=wall, fire_at=_instant(wall, zone))
        if pending is not None and pending.fire_at != slot.fire_at:
            yield pending
        pending = slot
    if pending is not None:
        yield pending


def _wall_slots(
    schedule: Schedule, wall_from: datetime, wall_until: datetime
) -> Iterator[datetime]:
    if _never_fires(schedule.cron):
        return
    # The trigger runs in UTC, which has no DST, so it walks the wall clock.
    trigger = _wall_trigger(schedule.cron)
    accepts = _date_filter(schedule)
    cursor = wall_from.replace(tzinfo=UTC)
    until = wall_until.replace(tzinfo=UTC)
    while True:
        found: datetime | None = trigger.get_next_fire_time(None, cursor)
        if found is None or found > until:
            return
        if accepts is not None and not accepts(found.date()):
            cursor = datetime.combine(found.date() + timedelta(days=1), datetime.min.time(), UTC)
            continue
        yield found.replace(tzinfo=None)
        cursor = found + timedelta(seconds=1)


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant a wall time fires: first occurrence, or the end of a gap."""
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall(instant, zone) == wall:
        return instant
    # In a gap, fold=1 reads the wall time with the offset after the
    # transition (an instant before it) and fold=0 with the offset before it
    # (an instant after it); the transition lies between.
    before = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    after = int(instant.timestamp())
    offset_before = _offset_at(before, zone)
    while after - before > 1:
        middle = (before + after) // 2
        if _offset_at(middle, zone) == offset_before:
            before = middle
        else:
            after = middle
    return datetime.fromtimestamp(after, UTC)


def _offset_at(timestamp: int, zone: ZoneInfo) -> timedelta | None:
    return datetime.fromtimestamp(timestamp, UTC).astimezone(zone).utcoffset()


def _largest_offset(zone: ZoneInfo, start: datetime, end: datetime) -> timedelta:
    # Offsets change at most a few times a year; sampling every 6 hours sees
    # every offset in effect during the window.
    step = timedelta(hours=6)
    offsets: list[timedelta] = []
    moment = start
    while True:
        offset = moment.astimezone(zone).utcoffset()
        if offset is not None:
            offsets.append(offset)
        if moment >= end:
            break
        moment = min(moment + step, end)
    return max(offsets, default=timedelta(0))


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None, fold=0)


@lru_cache(maxsize=256)
def _never_fires(expr: str) -> bool:
    # Searching for a time that never comes walks to the year 9999 (~0.1 s),
    # so the answer is remembered.
    return _wall_trigger(expr).get_next_fire_time(None, datetime(2000, 1, 1, tzinfo=UTC)) is None


@lru_cache(maxsize=256)
def _wall_trigger(expr: str) -> CronTrigger:
    """A CronTrigger in UTC for a crontab expression, with crontab weekdays."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(
            f"Cron `{expr}` needs 5 fields (minute hour day month weekday), got {len(fields)}"
        )
    minute, hour, day, month, weekday = fields
    days = _cron_weekdays(weekday)
    try:
        return CronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week="*" if days is None else _apscheduler_weekdays(days),
            timezone=UTC,
        )
    except ValueError as error:
        raise ValueError(f"Cron `{expr}` is not valid: {error}") from None


def _cron_weekdays(field: str) -> frozenset[int] | None:
    """Crontab weekday numbers (0 = Sunday) in the field, None for "*"."""
    if field == "*":
        return None
    days: set[int] = set()
    for part in field.lower().split(","):
        match = _WEEKDAY_PART.match(part)
        if match is None:
            raise ValueError(f"Weekday `{part}` is not valid: use 0-7 (0 or 7 = Sunday) or sun-sat")
        body, step_text = match["body"], match["step"]
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"Weekday `{part}` has a step of 0")
        if body == "*":
            first, last = 0, 6
        elif "-" in body:
            first_text, last_text = body.split("-")
            first, last = _cron_weekday(first_text), _cron_weekday(last_text)
            if first > last:
                raise ValueError(f"Weekday range `{part}` runs backwards")
        elif step_text:
            raise ValueError(f"Weekday `{part}`: a step needs a range, such as 1-5/2")
        else:
            first = last = _cron_weekday(body)
        days.update(number % 7 for number in range(first, last + 1, step))
    return frozenset(days)


def _cron_weekday(text: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text)
    if text in _CRON_DAY_NAMES:
        return _CRON_DAY_NAMES.index(text)
    raise ValueError(f"Weekday `{text}` is not valid: use 0-7 (0 or 7 = Sunday) or sun-sat")


def _apscheduler_weekdays(days: frozenset[int]) -> str:
    return ",".join(
        _APSCHEDULER_DAY_NAMES[(day - 1) % 7] for day in sorted(days, key=_monday_first)
    )


def _monday_first(cron_day: int) -> int:
    return (cron_day - 1) % 7


# --- zones -----------------------------------------------------------------


def _schedule_zone(schedule: Schedule, tz: str | None) -> ZoneInfo:
    name = tz if tz is not None else schedule.timezone
    if name == MEMBER_LOCAL:
        raise ValueError("A member-local schedule needs the member's time zone")
    zone = lookup_zone(name)
    if zone is None:
        raise ValueError(f"Unknown time zone {name!r}")
    return zone


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


# --- the tick --------------------------------------------------------------


def due_occurrences(
    ritual_id: int,
    schedule: Schedule,
    subjects: Iterable[tuple[str, str | None]],
    last_tick: datetime | None,
    now: datetime,
    grace: timedelta,
    *,
    default_tz: str = "UTC",
    max_catch_up: timedelta = DEFAULT_MAX_CATCH_UP,
) -> list[DueOccurrence]:
    """Occurrences whose fire time is in (last_tick, now], with their status.

    `subjects` are (subject_key, tz_name) pairs for a member-local schedule; a
    fixed-zone schedule has one subject, "" (the whole ritual). A missing or
    unknown zone falls back to `default_tz` and is flagged `tz_fallback`.

    Catch-up: last_tick None (first tick ever) looks back one grace window;
    nothing older than max(max_catch_up, grace) is returned. A fire time older
    than `grace` at `now` is SKIPPED. Of several fire times within grace for
    one subject only the newest is DUE and the others are SKIPPED, so an
    outage never ends in a burst of messages.
    """
    now = _as_utc(now, "now")
    start = _window_start(last_tick, now, grace, max_catch_up)
    if start >= now:
        return []
    fallback_zone = lookup_zone(default_tz)
    if fallback_zone is None:
        raise ValueError(f"Unknown default time zone {default_tz!r}")

    if schedule.is_member_local:
        by_tz: dict[str | None, list[str]] = {}
        for subject, tz_name in subjects:
            by_tz.setdefault(tz_name, []).append(subject)
    else:
        by_tz = {schedule.timezone: [""]}

    slots_by_zone: dict[str, list[tuple[Slot, OccurrenceStatus]]] = {}
    occurrences: list[DueOccurrence] = []
    for requested_tz, subject_keys in by_tz.items():
        zone = lookup_zone(requested_tz)
        fallback = zone is None
        tz_used = default_tz if zone is None or requested_tz is None else requested_tz
        if tz_used not in slots_by_zone:
            slots = _slots_between(schedule, zone or fallback_zone, start, now)
            slots_by_zone[tz_used] = list(zip(slots, _statuses(slots, now, grace), strict=True))
        for slot, status in slots_by_zone[tz_used]:
            key = slot.fire_key
            occurrences.extend(
                DueOccurrence(ritual_id, subject, key, slot.fire_at, tz_used, status, fallback)
                for subject in subject_keys
            )
    return occurrences


def _statuses(slots: list[Slot], now: datetime, grace: timedelta) -> list[OccurrenceStatus]:
    """Only the newest slot within grace is DUE (slots are oldest first)."""
    statuses = [OccurrenceStatus.SKIPPED] * len(slots)
    if slots and now - slots[-1].fire_at <= grace:
        statuses[-1] = OccurrenceStatus.DUE
    return statuses


# --- words for admins ------------------------------------------------------


def describe(schedule: Schedule) -> str:
    """The schedule in plain words, falling back to the cron text when unusual."""
    where = "each member's local time" if schedule.is_member_local else schedule.timezone
    words = _describe_when(schedule)
    if words is None:
        extras = []
        if schedule.every_n_weeks > 1:
            extras.append(f"every {schedule.every_n_weeks} weeks")
        if schedule.first_working_day_only:
            extras.append("first working day of the month only")
        extra = "".join(f", {text}" for text in extras)
        return f"Cron `{schedule.cron}` ({where}){extra}"
    return f"{words}, {where}"


def _describe_when(schedule: Schedule) -> str | None:
    fields = schedule.cron.split()
    if len(fields) != 5 or validate_cron(schedule.cron) is not None:
        return None
    minute, hour, day, month, weekday = fields
    if not (minute.isdigit() and hour.isdigit()) or month != "*":
        return None
    at = f"at {int(hour):02d}:{int(minute):02d}"
    days = _cron_weekdays(weekday)
    every_n = schedule.every_n_weeks

    if schedule.first_working_day_only:
        if every_n > 1 or not _covers_first_working_days(day, days):
            return None
        return f"On the first working day of each month {at}"
    if day != "*":
        if not day.isdigit() or days is not None or every_n > 1:
            return None
        return f"On the {_ordinal(int(day))} of each month {at}"
    if days is None or len(days) == 7:
        phrase = "Every day"
    elif days == frozenset({1, 2, 3, 4, 5}):
        phrase = "Weekdays"
    elif days == frozenset({0, 6}):
        phrase = "Weekends"
    elif len(days) == 1:
        (only,) = days
        if every_n == 2:
            return f"Every other {_DAY_WORDS[only]} {at}"
        if every_n > 2:
            return f"Every {every_n} weeks on {_DAY_WORDS[only]} {at}"
        return f"Every {_DAY_WORDS[only]} {at}"
    else:
        names = [_DAY_WORDS[day_number] for day_number in sorted(days, key=_monday_first)]
        phrase = "Every " + ", ".join(names[:-1]) + " and " + names[-1]
    if every_n == 2:
        return f"{phrase} {at}, every other week"
    if every_n > 2:
        return f"{phrase} {at}, every {every_n} weeks"
    return f"{phrase} {at}"


def _covers_first_working_days(day: str, days: frozenset[int] | None) -> bool:
    """Whether the cron allows every possible first working day (a weekday, 1st-3rd)."""
    if days is not None and not {1, 2, 3, 4, 5} <= days:
        return False
    if day == "*":
        return True
    wanted = {1, 2, 3}
    allowed: set[int] = set()
    for part in day.split(","):
        first, _, last = part.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            return False
        allowed.update(range(int(first), int(last or first) + 1))
    return wanted <= allowed


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def fires_in_some_zone(
    schedule: Schedule,
    last_tick: datetime | None,
    now: datetime,
    grace: timedelta,
    *,
    max_catch_up: timedelta = DEFAULT_MAX_CATCH_UP,
) -> bool:
    """Whether `due_occurrences` could return anything for some zone, any zone at all.

    Almost every tick falls between fire times everywhere on Earth; a
    member-local ritual then needs no member's zone, nor any query for them.
    Zones that keep one UTC offset through the window fire alike, so one of
    each offset is asked, plus every zone whose offset changes in it.
    """
    now = _as_utc(now, "now")
    start = _window_start(last_tick, now, grace, max_catch_up)
    if start >= now:
        return False
    # Classes over the window widened to 6-hour marks: the same few hundred
    # zones are sorted once per quarter day, not at every tick. A zone that
    # changes offset in the wider window is simply asked on its own.
    classes = _zone_classes(_six_hour_mark(start), _six_hour_mark(now, up=True))
    return any(_slots_between(schedule, zone, start, now) for zone in classes)


def _six_hour_mark(moment: datetime, *, up: bool = False) -> datetime:
    marks, rest = divmod(moment - _EPOCH, _QUARTER_DAY)
    return _EPOCH + (marks + (1 if up and rest else 0)) * _QUARTER_DAY


def _window_start(
    last_tick: datetime | None, now: datetime, grace: timedelta, max_catch_up: timedelta
) -> datetime:
    start = now - grace if last_tick is None else _as_utc(last_tick, "last_tick")
    return max(start, now - max(max_catch_up, grace))


@lru_cache(maxsize=16)
def _zone_classes(start: datetime, end: datetime) -> tuple[ZoneInfo, ...]:
    """One zone per UTC offset held through [start, end], and each zone whose offset changes."""
    steady: dict[timedelta | None, ZoneInfo] = {}
    changing: list[ZoneInfo] = []
    for name in sorted(known_zones()):
        zone = lookup_zone(name)
        if zone is None:
            continue
        offsets = set(_offsets(zone, start, end))
        if len(offsets) == 1:
            steady.setdefault(offsets.pop(), zone)
        else:
            changing.append(zone)
    return (*steady.values(), *changing)


def _offsets(zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[timedelta | None]:
    # As in _largest_offset: every 6 hours sees each offset in effect, and
    # no zone changes its offset twice within 6 hours.
    step = timedelta(hours=6)
    moment = start
    while True:
        yield moment.astimezone(zone).utcoffset()
        if moment >= end:
            return
        moment = min(moment + step, end)
