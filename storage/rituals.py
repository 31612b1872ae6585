"""Rituals as rows: admins edit them, every replica's tick re-reads them.

Admin edits bump `version` and are checked against the version the admin
saw (optimistic locking), so two admins editing the same ritual cannot
silently overwrite each other. The tick's own bookkeeping,
`scheduled_through`, is not an edit: it never bumps the version, so a tick
cannot make an admin's save fail.

Schedule extras that cron cannot say live in `settings`: "every_n_weeks",
"anchor_date" (ISO date), "first_working_day_only", and "grace_minutes"
(how late an occurrence may still run; the kind's DEFAULT_GRACE otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, or_, select, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from rituals.interactions import RitualKind
from rituals.schedule import DEFAULT_GRACE, MEMBER_LOCAL, Schedule, validate_schedule
from storage.models import Member, Partnership, PartnershipTeam, Ritual, TeamMembership
from storage.upsert import rowcount

_Columns = TypeVarTuple("_Columns")


class RitualNotFound(LookupError):
    """No ritual with that id."""


class StaleVersion(Exception):
    """Someone saved the ritual since it was read; reload and try again."""

    def __init__(self, ritual_id: int, expected: int, current: int) -> None:
        super().__init__(
            f"ritual {ritual_id} is at version {current}, not {expected}: it was changed meanwhile"
        )
        self.ritual_id = ritual_id
        self.expected = expected
        self.current = current


class InvalidRitual(ValueError):
    """The schedule or settings cannot be saved; str(self) says why."""


class _Keep(Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP


@dataclass(frozen=True, slots=True)
class RitualSnapshot:
    """A ritual as read at one instant, with its partnership's workspace and channel.

    Builders and admin screens get this, never a live ORM row, so nothing
    they do can write to the ritual by accident.
    """

    id: int
    partnership_id: int
    workspace_id: int
    kind: str
    cron: str
    timezone: str
    ritual_channel_id: str | None
    partnership_channel_id: str
    settings: dict[str, Any]
    paused: bool
    version: int
    scheduled_through: datetime | None

    @property
    def channel_id(self) -> str:
        """Where the ritual posts: its own channel, else the partnership's."""
        return self.ritual_channel_id or self.partnership_channel_id

    @property
    def is_member_local(self) -> bool:
        return self.timezone == MEMBER_LOCAL

    @property
    def schedule(self) -> Schedule:
        return schedule_from(self.cron, self.timezone, self.settings)

    @property
    def grace(self) -> timedelta:
        return grace_for(self.kind, self.settings)

    def audit_fields(self) -> dict[str, Any]:
        """What an admin can change, for the audit log's before/after."""
        return {
            "kind": self.kind,
            "cron": self.cron,
            "timezone": self.timezone,
            "channel_id": self.ritual_channel_id,
            "settings": self.settings,
            "paused": self.paused,
            "version": self.version,
        }


def schedule_from(cron: str, timezone: str, settings: dict[str, Any]) -> Schedule:
    anchor = settings.get("anchor_date")
    return Schedule(
        cron=cron,
        timezone=timezone,
        every_n_weeks=int(settings.get("every_n_weeks", 1)),
        anchor_date=date.fromisoformat(anchor) if anchor else None,
        first_working_day_only=bool(settings.get("first_working_day_only", False)),
    )


def grace_for(kind: str, settings: dict[str, Any]) -> timedelta:
    """The ritual's own grace_minutes, else its kind's default."""
    minutes = settings.get("grace_minutes")
    if minutes is not None:
        return timedelta(minutes=float(minutes))
    return DEFAULT_GRACE[RitualKind(kind)]


def validate(kind: str, cron: str, timezone: str, settings: dict[str, Any]) -> str | None:
    """Why this ritual cannot be saved, or None if it can."""
    try:
        RitualKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in RitualKind)
        return f"Unknown ritual kind {kind!r}: use one of {known}"
    grace = settings.get("grace_minutes")
    if grace is not None and (
        isinstance(grace, bool) or not isinstance(grace, int | float) or grace <= 0
    ):
        return "grace_minutes must be a positive number of minutes"
    try:
        schedule = schedule_from(cron, timezone, settings)
    except (TypeError, ValueError) as error:
        return f"Schedule settings are not valid: {error}"
    return validate_schedule(schedule)


def create(
    session: Session,
    *,
    partnership_id: int,
    kind: RitualKind | str,
    cron: str,
    timezone: str,
    now: datetime,
    channel_id: str | None = None,
    settings: dict[str, Any] | None = None,
    paused: bool = False,
) -> RitualSnapshot:
    """A new ritual; it first fires at its first slot after `now`, never for earlier ones."""
    settings = dict(settings or {})
    problem = validate(str(kind), cron, timezone, settings)
    if problem:
        raise InvalidRitual(problem)
    ritual = Ritual(
        partnership_id=partnership_id,
        kind=str(kind),
        cron=cron,
        timezone=timezone,
        channel_id=channel_id,
        settings=settings,
        paused=paused,
        version=1,
        scheduled_through=now,
        created_at=now,
        updated_at=now,
    )
    session.add(ritual)
    session.flush()
    return _require(session, ritual.id)


def get(session: Session, ritual_id: int) -> RitualSnapshot | None:
    row = session.execute(_snapshots().where(Ritual.id == ritual_id)).one_or_none()
    return None if row is None else _snapshot(*row)


def list_active(session: Session) -> list[RitualSnapshot]:
    """Every ritual that is not paused, read fresh: the tick calls this each time."""
    rows = session.execute(_snapshots().where(Ritual.paused.is_(False)).order_by(Ritual.id))
    return [_snapshot(*row) for row in rows]


def list_for_partnership(session: Session, partnership_id: int) -> list[RitualSnapshot]:
    rows = session.execute(
        _snapshots().where(Ritual.partnership_id == partnership_id).order_by(Ritual.id)
    )
    return [_snapshot(*row) for row in rows]


def update_ritual(
    session: Session,
    ritual_id: int,
    *,
    expected_version: int,
    now: datetime,
    cron: str | _Keep = KEEP,
    timezone: str | _Keep = KEEP,
    channel_id: str | _Keep | None = KEEP,
    settings: dict[str, Any] | _Keep = KEEP,
) -> RitualSnapshot:
    """Apply an admin edit if nobody saved since `expected_version`; the next tick uses it.

    Raises RitualNotFound, StaleVersion or InvalidRitual.
    """
    current = _require(session, ritual_id)
    new_cron = current.cron if cron is KEEP else cron
    new_timezone = current.timezone if timezone is KEEP else timezone
    new_settings = current.settings if settings is KEEP else dict(settings)
    problem = validate(current.kind, new_cron, new_timezone, new_settings)
    if problem:
        raise InvalidRitual(problem)
    values: dict[str, Any] = {"cron": new_cron, "timezone": new_timezone, "settings": new_settings}
    if channel_id is not KEEP:
        values["channel_id"] = channel_id
    return _versioned_update(session, ritual_id, expected_version, now, values)


def pause(
    session: Session, ritual_id: int, now: datetime, expected_version: int | None = None
) -> RitualSnapshot:
    """Stop the ritual from the next tick on, on every replica."""
    return _versioned_update(session, ritual_id, expected_version, now, {"paused": True})


def resume(
    session: Session, ritual_id: int, now: datetime, expected_version: int | None = None
) -> RitualSnapshot:
    """Start the ritual again from `now`.

    What it missed while paused is neither run nor recorded as skipped:
    pausing was a decision, not an outage.
    """
    values = {"paused": False, "scheduled_through": now}
    return _versioned_update(session, ritual_id, expected_version, now, values)


def delete(session: Session, ritual_id: int) -> RitualSnapshot:
    """Remove a ritual with its occurrences and rounds; returns what it was. Raises RitualNotFound."""
    current = _require(session, ritual_id)
    session.execute(
        sql_delete(Ritual)
        .where(Ritual.id == ritual_id)
        .execution_options(synchronize_session=False)
    )
    return current


def advance_scheduled_through(session: Session, ritual_ids: Iterable[int], now: datetime) -> int:
    """Record that scheduling is done up to `now`; never moves it backwards. Returns rows moved."""
    ids = sorted(set(ritual_ids))
    if not ids:
        return 0
    result = session.execute(
        update(Ritual)
        .where(
            Ritual.id.in_(ids),
            or_(Ritual.scheduled_through.is_(None), Ritual.scheduled_through < now),
        )
        .values(scheduled_through=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def roster_zones(session: Session, partnership_id: int) -> list[str | None]:
    """The distinct time zones (as Slack gave them) of a partnership's current members."""
    query = select(Member.tz).distinct()
    return list(session.scalars(_roster_filter(query, partnership_id)))


def roster_members(
    session: Session, partnership_id: int, zones: Iterable[str | None]
) -> list[tuple[int, str | None]]:
    """(member id, tz) of the partnership's current members whose tz is in `zones`."""
    wanted = set(zones)
    if not wanted:
        return []
    in_zones: ColumnElement[bool] = Member.tz.in_(sorted(z for z in wanted if z is not None))
    if None in wanted:
        in_zones = or_(in_zones, Member.tz.is_(None))
    query = _roster_filter(select(Member.id, Member.tz).distinct(), partnership_id)
    rows = session.execute(query.where(in_zones).order_by(Member.id))
    return [(member_id, tz) for member_id, tz in rows]


def _roster_filter(query: Select[*_Columns], partnership_id: int) -> Select[*_Columns]:
    # Same people as storage.org.partnership_roster's active entries: current
    # members of the partnership's teams who are neither deleted nor bots.
    return (
        query.join(TeamMembership, TeamMembership.member_id == Member.id)
        .join(PartnershipTeam, PartnershipTeam.team_id == TeamMembership.team_id)
        .where(
            PartnershipTeam.partnership_id == partnership_id,
            TeamMembership.left_at.is_(None),
            Member.is_deleted.is_(False),
            Member.is_bot.is_(False),
        )
    )


def _versioned_update(
    session: Session,
    ritual_id: int,
    expected_version: int | None,
    now: datetime,
    values: dict[str, Any],
) -> RitualSnapshot:
    conditions = [Ritual.id == ritual_id]
    if expected_version is not None:
        conditions.append(Ritual.version == expected_version)
    result = session.execute(
        update(Ritual)
        .where(*conditions)
        .values(**values, version=Ritual.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) == 0:
        current = _require(session, ritual_id)
        raise StaleVersion(ritual_id, expected_version or 0, current.version)
    return _require(session, ritual_id)


def _require(session: Session, ritual_id: int) -> RitualSnapshot:
    found = get(session, ritual_id)
    if found is None:
        raise RitualNotFound(ritual_id)
    return found


_SNAPSHOT_COLUMNS = (
    Ritual.id,
    Ritual.partnership_id,
    Partnership.workspace_id,
    Ritual.kind,
    Ritual.cron,
    Ritual.timezone,
    Ritual.channel_id,
    Partnership.channel_id,
    Ritual.settings,
    Ritual.paused,
    Ritual.version,
    Ritual.scheduled_through,
)


def _snapshots() -> Select[Any]:
    # Columns, not entities: a snapshot never comes from a stale identity map.
    return select(*_SNAPSHOT_COLUMNS).join(Partnership, Partnership.id == Ritual.partnership_id)


def _snapshot(*row: Any) -> RitualSnapshot:
    (
        id_,
        partnership_id,
        workspace_id,
        kind,
        cron,
        timezone,
        channel,
        partnership_channel,
        settings,
        paused,
        version,
        scheduled_through,
    ) = row
    return RitualSnapshot(
        id=id_,
        partnership_id=partnership_id,
        workspace_id=workspace_id,
        kind=kind,
        cron=cron,
        timezone=timezone,
        ritual_channel_id=channel,
        partnership_channel_id=partnership_channel,
        settings=dict(settings or {}),
        paused=paused,
        version=version,
        scheduled_through=scheduled_through,
    )
