"""Joint KPIs: goals, their owners from each team, check-ins and the board's revision.

A removed KPI keeps its rows (`removed_at` is set) so the removal can be
undone and a closed month's digest still shows it; an edit keeps the goal it
replaced (`kpi_version`), so a month's digest reads the goal of that month.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from rituals.kpi import Cadence, Direction, Goal
from storage.models import (
    Kpi,
    KpiBoard,
    KpiCheckin,
    KpiOwner,
    KpiVersion,
    Member,
    Outbox,
    Partnership,
    PartnershipLeader,
)


class KpiNameTaken(Exception):
    """The partnership already has a KPI with that name (`removed`: a removed one)."""

    def __init__(self, name: str, *, removed: bool = False) -> None:
        super().__init__(name)
        self.removed = removed


@dataclass(frozen=True, slots=True)
class Owner:
    member_id: int
    slack_user_id: str
    display_name: str
    team_id: int | None


@dataclass(frozen=True, slots=True)
class NewKpi:
    workspace_id: int
    partnership_id: int
    name: str
    unit: str
    direction: Direction
    baseline: float
    target: float
    start_date: date
    target_date: date
    cadence: Cadence
    created_by: str
    owners: tuple[tuple[int, int | None], ...]  # (member id, team id)


@dataclass(frozen=True, slots=True)
class KpiState:
    """A KPI with its two latest readings and who gave the latest per team."""

    id: int
    partnership_id: int
    name: str
    unit: str
    goal: Goal
    cadence: Cadence
    celebrated: int
    owners: tuple[Owner, ...]
    latest: float | None
    previous: float | None
    latest_period: str | None
    latest_by: tuple[tuple[int | None, str], ...]  # (team id, Slack id) in the latest period


def _check_name_free(
    session: Session, partnership_id: int, name: str, but: int | None = None
) -> None:
    query = select(Kpi.id, Kpi.removed_at).where(
        Kpi.partnership_id == partnership_id, func.lower(Kpi.name) == name.lower()
    )
    if but is not None:
        query = query.where(Kpi.id != but)
    taken = session.execute(query.limit(1)).first()
    if taken is not None:
        raise KpiNameTaken(name, removed=taken[1] is not None)


def add_kpi(session: Session, new: NewKpi, now: datetime) -> int:
    _check_name_free(session, new.partnership_id, new.name)
    kpi = Kpi(
        workspace_id=new.workspace_id,
        partnership_id=new.partnership_id,
        name=new.name,
        unit=new.unit,
        direction=new.direction.value,
        baseline=new.baseline,
        target=new.target,
        start_date=new.start_date,
        target_date=new.target_date,
        cadence=new.cadence.value,
        celebrated=0,
        created_by=new.created_by,
        created_at=now,
    )
    session.add(kpi)
    session.flush()
    session.add_all(KpiOwner(kpi_id=kpi.id, member_id=m, team_id=t) for m, t in new.owners)
    session.flush()
    return kpi.id


def find_id(
    session: Session, partnership_ids: list[int], name: str, *, removed: bool = False
) -> int | None:
    """A KPI by name among these partnerships: a current one, or (`removed`) a removed one."""
    return session.scalar(
        select(Kpi.id)
        .where(
            Kpi.partnership_id.in_(partnership_ids),
            func.lower(Kpi.name) == name.lower(),
            Kpi.removed_at.is_not(None) if removed else Kpi.removed_at.is_(None),
        )
        .order_by(Kpi.id)
        .limit(1)
    )


GOAL_FIELDS = ("name", "unit", "direction", "baseline", "target", "target_date", "cadence")


def edit_kpi(
    session: Session,
    kpi_id: int,
    changes: Mapping[str, object],
    owners: tuple[tuple[int, int | None], ...] | None,
    celebrated: int | None,
    now: datetime,
) -> None:
    """Apply `changes` (GOAL_FIELDS), keeping the goal they replace; owners replaced if given."""
    kpi = session.get(Kpi, kpi_id, with_for_update=True)
    if kpi is None:
        raise LookupError(kpi_id)
    if "name" in changes:
        _check_name_free(session, kpi.partnership_id, str(changes["name"]), but=kpi_id)
    if changes:
        session.add(
            KpiVersion(kpi_id=kpi_id, until=now, **{f: getattr(kpi, f) for f in GOAL_FIELDS})
        )
        for field, value in changes.items():
            if field not in GOAL_FIELDS:
                raise ValueError(f"{field} is not a KPI field that can be edited")
            setattr(kpi, field, value)
    if celebrated is not None:
        kpi.celebrated = celebrated
    if owners is not None:
        session.execute(delete(KpiOwner).where(KpiOwner.kpi_id == kpi_id))
        session.add_all(KpiOwner(kpi_id=kpi_id, member_id=m, team_id=t) for m, t in owners)
    session.flush()


def set_removed(session: Session, kpi_id: int, removed_at: datetime | None) -> bool:
    """Remove (a time) or restore (None) a KPI; False when it already was so."""
    done = session.execute(
        update(Kpi)
        .where(
            Kpi.id == kpi_id,
            Kpi.removed_at.is_(None) if removed_at is not None else Kpi.removed_at.is_not(None),
        )
        .values(removed_at=removed_at)
    )
    return bool(getattr(done, "rowcount", 0))


def add_checkin(
    session: Session,
    kpi_id: int,
    member_id: int,
    team_id: int | None,
    period: str,
    value: float,
    note: str,
    now: datetime,
) -> int:
    row = KpiCheckin(
        kpi_id=kpi_id,
        member_id=member_id,
        team_id=team_id,
        period=period,
        value=value,
        note=note,
        at=now,
    )
    session.add(row)
    session.flush()
    return row.id


def checked_in(session: Session, kpi_id: int, period: str) -> bool:
    found = session.scalar(
        select(KpiCheckin.id)
        .where(KpiCheckin.kpi_id == kpi_id, KpiCheckin.period == period)
        .limit(1)
    )
    return found is not None


def set_celebrated(session: Session, kpi_id: int, milestone: int) -> bool:
    """Record a milestone as celebrated; False when it (or a higher one) already was."""
    done = session.execute(
        update(Kpi).where(Kpi.id == kpi_id, Kpi.celebrated < milestone).values(celebrated=milestone)
    )
    return bool(getattr(done, "rowcount", 0))


def states(
    session: Session,
    *,
    partnership_id: int | None = None,
    member_id: int | None = None,
    kpi_ids: list[int] | None = None,
    as_of: datetime | None = None,
) -> list[KpiState]:
    """KPIs of a partnership, of an owner, or by id; three queries whatever the count.

    Current KPIs as they stand now; with `as_of`, the KPIs that existed then,
    with the goal and the check-ins of then (a fourth query, for the goals).
    """
    query = select(Kpi).order_by(Kpi.partnership_id, Kpi.name)
    if as_of is None:
        query = query.where(Kpi.removed_at.is_(None))
    else:
        query = query.where(
            Kpi.created_at < as_of, or_(Kpi.removed_at.is_(None), Kpi.removed_at >= as_of)
        )
    if partnership_id is not None:
        query = query.where(Kpi.partnership_id == partnership_id)
    if member_id is not None:
        query = query.where(
            Kpi.id.in_(select(KpiOwner.kpi_id).where(KpiOwner.member_id == member_id))
        )
    if kpi_ids is not None:
        query = query.where(Kpi.id.in_(kpi_ids))
    kpis = session.scalars(query).all()
    if not kpis:
        return []
    ids = [k.id for k in kpis]
    owners: dict[int, list[Owner]] = defaultdict(list)
    for kpi_id, member, slack_id, name, team in session.execute(
        select(
            KpiOwner.kpi_id, Member.id, Member.slack_user_id, Member.display_name, KpiOwner.team_id
        )
        .join(Member, Member.id == KpiOwner.member_id)
        .where(KpiOwner.kpi_id.in_(ids))
        .order_by(KpiOwner.kpi_id, KpiOwner.team_id, Member.slack_user_id)
    ):
        owners[kpi_id].append(Owner(member, slack_id, name or "", team))
    rank = (
        func.row_number()
        .over(partition_by=KpiCheckin.kpi_id, order_by=(KpiCheckin.at.desc(), KpiCheckin.id.desc()))
        .label("rank")
    )
    recent = (
        select(
            KpiCheckin.kpi_id,
            KpiCheckin.period,
            KpiCheckin.value,
            KpiCheckin.team_id,
            Member.slack_user_id,
            rank,
        )
        .outerjoin(Member, Member.id == KpiCheckin.member_id)
        .where(
            KpiCheckin.kpi_id.in_(ids),
            *([] if as_of is None else [KpiCheckin.at < as_of]),
        )
        .subquery()
    )
    readings: dict[int, list[tuple[str, float, int | None, str]]] = defaultdict(list)
    for kpi_id, period, value, team, slack_id, _ in session.execute(
        select(recent).where(recent.c.rank <= 20).order_by(recent.c.kpi_id, recent.c.rank)
    ):
        readings[kpi_id].append((period, value, team, slack_id or ""))
    then = _goals_then(session, ids, as_of) if as_of is not None else {}
    return [_state(then.get(k.id, k), owners[k.id], readings[k.id]) for k in kpis]


def _goals_then(session: Session, ids: list[int], as_of: datetime) -> dict[int, _Goal]:
    """The goal each KPI had at `as_of`, for those edited since: the first version after it."""
    first = (
        select(KpiVersion.kpi_id, func.min(KpiVersion.until).label("until"))
        .where(KpiVersion.kpi_id.in_(ids), KpiVersion.until >= as_of)
        .group_by(KpiVersion.kpi_id)
        .subquery()
    )
    rows = session.execute(
        select(Kpi, KpiVersion)
        .join(first, first.c.kpi_id == Kpi.id)
        .join(
            KpiVersion,
            and_(KpiVersion.kpi_id == first.c.kpi_id, KpiVersion.until == first.c.until),
        )
    ).all()
    return {kpi.id: _Goal.of(kpi, version) for kpi, version in rows}


@dataclass(frozen=True, slots=True)
class _Goal:
    """A KPI row with the goal fields of an earlier version."""

    id: int
    partnership_id: int
    name: str
    unit: str
    direction: str
    baseline: float
    target: float
    start_date: date
    target_date: date
    cadence: str
    celebrated: int

    @classmethod
    def of(cls, kpi: Kpi, version: KpiVersion) -> _Goal:
        return cls(
            kpi.id,
            kpi.partnership_id,
            version.name,
            version.unit,
            version.direction,
            version.baseline,
            version.target,
            kpi.start_date,
            version.target_date,
            version.cadence,
            kpi.celebrated,
        )


def _state(
    kpi: Kpi | _Goal, owners: list[Owner], readings: list[tuple[str, float, int | None, str]]
) -> KpiState:
    latest_period = readings[0][0] if readings else None
    earlier = [value for period, value, _, _ in readings if period != latest_period]
    by_team: dict[int | None, str] = {}
    for period, _, team, slack_id in readings:
        if period == latest_period and team not in by_team:
            by_team[team] = slack_id
    return KpiState(
        id=kpi.id,
        partnership_id=kpi.partnership_id,
        name=kpi.name,
        unit=kpi.unit,
        goal=Goal(
            kpi.baseline, kpi.target, kpi.start_date, kpi.target_date, Direction(kpi.direction)
        ),
        cadence=Cadence(kpi.cadence),
        celebrated=kpi.celebrated,
        owners=tuple(owners),
        latest=readings[0][1] if readings else None,
        previous=earlier[0] if earlier else None,
        latest_period=latest_period,
        latest_by=tuple(sorted(by_team.items(), key=lambda item: (item[0] or 0, item[1]))),
    )


def has_board(session: Session, partnership_id: int) -> bool:
    return session.get(KpiBoard, partnership_id) is not None


def next_board_revision(session: Session, partnership_id: int, content_hash: str) -> int | None:
    """The board's next revision, or None when its content has not changed.

    Revision 1 is the post; every later one is an update of that same message.
    """
    board = session.get(KpiBoard, partnership_id, with_for_update=True)
    if board is None:
        session.add(KpiBoard(partnership_id=partnership_id, revision=1, content_hash=content_hash))
        session.flush()
        return 1
    if board.content_hash == content_hash:
        return None
    board.revision += 1
    board.content_hash = content_hash
    session.flush()
    return board.revision


@dataclass(frozen=True, slots=True)
class PartnershipInfo:
    id: int
    name: str
    channel_id: str
    leader_ids: tuple[str, ...]


def partnerships(session: Session, workspace_id: int) -> list[PartnershipInfo]:
    rows = session.execute(
        select(Partnership.id, Partnership.name, Partnership.channel_id)
        .where(Partnership.workspace_id == workspace_id)
        .order_by(Partnership.id)
    ).all()
    leaders: dict[int, list[str]] = defaultdict(list)
    for pid, slack_id in session.execute(
        select(PartnershipLeader.partnership_id, PartnershipLeader.slack_user_id).where(
            PartnershipLeader.partnership_id.in_([r[0] for r in rows])
        )
    ):
        leaders[pid].append(slack_id)
    return [PartnershipInfo(i, n, c, tuple(sorted(leaders[i]))) for i, n, c in rows]


def outbox_keys_since(session: Session, keys: list[str]) -> dict[str, datetime]:
    """Which of these outbox keys were already queued, and when (prompt, then reminder)."""
    if not keys:
        return {}
    return {
        key: at
        for key, at in session.execute(
            select(Outbox.idempotency_key, Outbox.created_at).where(
                Outbox.idempotency_key.in_(keys)
            )
        )
    }
