"""What a new partnership's rituals will do next, in words an admin can check against a calendar.

Computed from the schedules alone (`rituals.schedule`), with the admin's
`now` and zone: the first firing of each ritual, and every firing in the
coming week. A member-local ritual fires at each person's own wall time,
and the digest reaches each leader at the schedule's wall time in the
leader's zone; for those the admin's zone stands in for "a person", so its
first day and wall time are what the admin reads ("Monday 12 January, 09:30
each person's time"). Other rituals fire at one instant, shown in the
admin's zone ("your time").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rituals.interactions import RitualKind
from rituals.schedule import Schedule, next_fire_times, slots_between
from rituals.zones import zone as lookup_zone

WEEK = timedelta(days=7)

# What each kind does when it fires, as the admin reads it.
ACTIONS: dict[RitualKind, str] = {
    RitualKind.STANDUP: "joint standup prompts to every member by DM",
    RitualKind.SHADOWING: "shadowing pairs introduced to each other",
    RitualKind.KUDOS_PROMPT: "kudos prompt to every member by DM",
    RitualKind.DIGEST: "monthly balance digest to the leaders by DM",
    RitualKind.KPI_CHECKIN: "joint KPI check-in prompts to their owners by DM, and the KPI board",
    RitualKind.PULSE: "collaboration pulse question to every member by DM",
}
FIRST_WORDS: dict[RitualKind, str] = {
    RitualKind.STANDUP: "First standup prompts",
    RitualKind.SHADOWING: "first shadowing pairings",
    RitualKind.KUDOS_PROMPT: "first kudos prompt",
    RitualKind.DIGEST: "first digest (to the leaders by DM)",
    RitualKind.KPI_CHECKIN: "first KPI check-in prompts",
    RitualKind.PULSE: "first collaboration pulse",
}


@dataclass(frozen=True, slots=True)
class PlannedRitual:
    kind: RitualKind
    schedule: Schedule
    paused: bool = False


YOUR_TIME = "your time"
EACH_PERSON = "each person's time"
EACH_LEADER = "each leader's time"


@dataclass(frozen=True, slots=True)
class Firing:
    """One firing as the admin sees it: a wall time in their zone, or each person's own."""

    kind: RitualKind
    local: datetime  # naive wall time in the admin's zone (or anyone's, for `whose` people)
    whose: str  # YOUR_TIME, EACH_PERSON or EACH_LEADER

    def when(self, *, with_date: bool = True) -> str:
        day = f"{self.local:%A} {self.local.day} {self.local:%B}, " if with_date else ""
        return f"{day}{self.local:%H:%M} {self.whose}"


def _zone_name(admin_tz: str, default_tz: str) -> str:
    return admin_tz if lookup_zone(admin_tz) is not None else default_tz


def first_firing(
    ritual: PlannedRitual, now: datetime, admin_tz: str, default_tz: str = "UTC"
) -> Firing | None:
    """The ritual's first firing after `now`, seen from the admin's zone; None if never."""
    zone_name = _zone_name(admin_tz, default_tz)
    zone = lookup_zone(zone_name)
    if zone is None:
        return None
    whose = _whose(ritual)
    found = next_fire_times(ritual.schedule, now, 1, tz=None if whose == YOUR_TIME else zone_name)
    if not found:
        return None
    local = found[0].astimezone(zone).replace(tzinfo=None)
    return Firing(ritual.kind, local, whose)


def week_ahead(
    rituals: Sequence[PlannedRitual], now: datetime, admin_tz: str, default_tz: str = "UTC"
) -> list[Firing]:
    """Every firing of the running rituals in the seven days after `now`, in order."""
    zone_name = _zone_name(admin_tz, default_tz)
    zone = lookup_zone(zone_name)
    if zone is None:
        return []
    found: list[Firing] = []
    for ritual in rituals:
        if ritual.paused:
            continue
        whose = _whose(ritual)
        tz = None if whose == YOUR_TIME else zone_name
        for slot in slots_between(ritual.schedule, now, now + WEEK, tz=tz):
            local = slot.fire_at.astimezone(zone).replace(tzinfo=None)
            found.append(Firing(ritual.kind, local, whose))
    return sorted(found, key=lambda f: (f.local, _first_order(f.kind)))


def next_steps(
    rituals: Sequence[PlannedRitual], now: datetime, admin_tz: str, default_tz: str = "UTC"
) -> str:
    """ "First standup prompts: Monday 12 January, 09:30 each person's time; first …"."""
    parts: list[str] = []
    for ritual in sorted(rituals, key=lambda r: _first_order(r.kind)):
        firing = first_firing(ritual, now, admin_tz, default_tz)
        words = FIRST_WORDS[ritual.kind]
        if not parts:
            words = words[0].upper() + words[1:]
        if firing is None:
            parts.append(f"{words}: never, as scheduled")
        else:
            parts.append(f"{words}: {firing.when()}")
    return "; ".join(parts) + "."


_FIRST_ORDER = (
    RitualKind.STANDUP,
    RitualKind.SHADOWING,
    RitualKind.KUDOS_PROMPT,
    RitualKind.DIGEST,
)


def _first_order(kind: RitualKind) -> int:
    return _FIRST_ORDER.index(kind) if kind in _FIRST_ORDER else len(_FIRST_ORDER)


def _whose(ritual: PlannedRitual) -> str:
    if ritual.schedule.is_member_local:
        return EACH_PERSON
    if ritual.kind is RitualKind.DIGEST:
        return EACH_LEADER  # each leader's copy waits for their own wall time
    return YOUR_TIME
