"""Workspaces, teams, members and partnerships: the organisation Tandem serves."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from rituals.interactions import InterdependenceType
from rituals.roster import Seat, assign_teams
from storage.batching import batches
from storage.models import (
    Member,
    Partnership,
    PartnershipLeader,
    PartnershipTeam,
    Team,
    TeamMembership,
    Workspace,
)
from storage.upsert import insert_for


class NameTaken(Exception):
    """A team or partnership with that name already exists in the workspace."""


class NotFound(Exception):
    """The named team or partnership does not exist."""


class InUse(Exception):
    """A team cannot go while a partnership still uses it."""


@dataclass(frozen=True, slots=True)
class MemberProfile:
    """What Slack tells us about a person, already filtered for eligibility."""

    slack_user_id: str
    display_name: str
    tz: str | None
    is_bot: bool = False
    is_deleted: bool = False
    is_guest: bool = False
    is_workspace_admin: bool = False


@dataclass(frozen=True, slots=True)
class TeamSummary:
    id: int
    name: str
    source_kind: str
    source_id: str
    member_count: int
    last_synced_at: datetime | None


@dataclass(frozen=True, slots=True)
class PartnershipSummary:
    id: int
    name: str
    channel_id: str
    interdependence_type: str
    team_names: tuple[str, ...]
    leader_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RosterEntry:
    member_id: int
    slack_user_id: str
    display_name: str
    tz: str | None
    team_id: int
    away_until: Any
    opted_out: tuple[str, ...]
    active: bool


def ensure_workspace(session: Session, slack_team_id: str, now: datetime, name: str = "") -> int:
    stmt = (
        insert_for(session, Workspace)
        .values(slack_team_id=slack_team_id, name=name, created_at=now)
        .on_conflict_do_nothing(index_elements=["slack_team_id"])
    )
    session.execute(stmt)
    workspace_id = session.scalar(
        select(Workspace.id).where(Workspace.slack_team_id == slack_team_id)
    )
    assert workspace_id is not None
    return workspace_id


def find_team(session: Session, workspace_id: int, name: str) -> Team | None:
    return session.scalar(
        select(Team).where(Team.workspace_id == workspace_id, func.lower(Team.name) == name.lower())
    )


def add_team(
    session: Session, workspace_id: int, name: str, source_kind: str, source_id: str, now: datetime
) -> Team:
    if find_team(session, workspace_id, name) is not None:
        raise NameTaken(name)
    team = Team(
        workspace_id=workspace_id,
        name=name,
        source_kind=source_kind,
        source_id=source_id,
        aliases=[],
        created_at=now,
    )
    session.add(team)
    session.flush()
    return team


def remove_team(session: Session, workspace_id: int, name: str) -> Team:
    team = find_team(session, workspace_id, name)
    if team is None:
        raise NotFound(name)
    used_by = session.scalars(
        select(Partnership.name)
        .join(PartnershipTeam, PartnershipTeam.partnership_id == Partnership.id)
        .where(PartnershipTeam.team_id == team.id)
    ).all()
    if used_by:
        raise InUse(", ".join(used_by))
    session.delete(team)
    session.flush()
    return team


def list_teams(session: Session, workspace_id: int) -> list[TeamSummary]:
    counts = (
        select(TeamMembership.team_id, func.count().label("n"))
        .where(TeamMembership.left_at.is_(None))
        .group_by(TeamMembership.team_id)
        .subquery()
    )
    rows = session.execute(
        select(Team, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.team_id == Team.id)
        .where(Team.workspace_id == workspace_id)
        .order_by(func.lower(Team.name))
    ).all()
    return [
        TeamSummary(t.id, t.name, t.source_kind, t.source_id, int(n), t.last_synced_at)
        for t, n in rows
    ]


def upsert_members(
    session: Session, workspace_id: int, profiles: Iterable[MemberProfile], now: datetime
) -> dict[str, int]:
    """Create or refresh members; returns slack user id -> member id.

    Written in batches (storage.batching): a user group of tens of thousands
    would otherwise bind more parameters than any driver takes.
    """
    by_id: dict[str, dict[str, Any]] = {
        p.slack_user_id: {
            "workspace_id": workspace_id,
            "slack_user_id": p.slack_user_id,
            "display_name": p.display_name,
            "tz": p.tz,
            "is_bot": p.is_bot,
            "is_deleted": p.is_deleted,
            "is_guest": p.is_guest,
            "is_workspace_admin": p.is_workspace_admin,
            "opted_out": [],
            "updated_at": now,
        }
        for p in profiles
    }
    rows = list(by_id.values())
    if not rows:
        return {}
    refreshed = (
        "display_name",
        "tz",
        "is_bot",
        "is_deleted",
        "is_guest",
        "is_workspace_admin",
        "updated_at",
    )
    stmt = insert_for(session, Member)
    stmt = stmt.on_conflict_do_update(
        index_elements=["workspace_id", "slack_user_id"],
        set_={name: stmt.excluded[name] for name in refreshed},
    ).returning(Member.slack_user_id, Member.id)
    found: dict[str, int] = {}
    for batch in batches(rows, per_item=len(rows[0])):
        found.update({slack_id: member_id for slack_id, member_id in session.execute(stmt, batch)})
    return found


_PROFILE = (
    Member.display_name,
    Member.tz,
    Member.is_bot,
    Member.is_deleted,
    Member.is_guest,
    Member.is_workspace_admin,
)


def refresh_members(
    session: Session, workspace_id: int, profiles: Sequence[MemberProfile], now: datetime
) -> dict[str, int]:
    """As `upsert_members`, but writing only people who are new or whose profile changed.

    Team sync re-reads everyone every hour; rewriting each unchanged row would
    cost a write (and on PostgreSQL a dead row version) per person per sync.
    """
    by_id = {p.slack_user_id: p for p in profiles}
    found: dict[str, int] = {}
    for batch in batches(sorted(by_id)):
        rows = session.execute(
            select(Member.id, Member.slack_user_id, *_PROFILE).where(
                Member.workspace_id == workspace_id, Member.slack_user_id.in_(batch)
            )
        )
        for member_id, slack_id, *stored in rows:
            p = by_id[slack_id]
            current = [
                p.display_name,
                p.tz,
                p.is_bot,
                p.is_deleted,
                p.is_guest,
                p.is_workspace_admin,
            ]
            if stored == current:
                found[slack_id] = member_id
    changed = [p for slack_id, p in by_id.items() if slack_id not in found]
    found.update(upsert_members(session, workspace_id, changed, now))
    return found


def set_team_roster(
    session: Session, team_id: int, member_ids: set[int], now: datetime
) -> tuple[int, int]:
    """Open memberships for newcomers, close them for leavers; returns (added, removed)."""
    current = set(
        session.scalars(
            select(TeamMembership.member_id).where(
                TeamMembership.team_id == team_id, TeamMembership.left_at.is_(None)
            )
        )
    )
    joined = sorted(member_ids - current)
    left = sorted(current - member_ids)
    for batch in batches(joined, per_item=3):
        session.execute(
            insert(TeamMembership),
            [{"team_id": team_id, "member_id": m, "joined_at": now} for m in batch],
        )
    for batch in batches(left):
        session.execute(
            update(TeamMembership)
            .where(
                TeamMembership.team_id == team_id,
                TeamMembership.member_id.in_(batch),
                TeamMembership.left_at.is_(None),
            )
            .values(left_at=now)
            .execution_options(synchronize_session=False)
        )
    session.execute(update(Team).where(Team.id == team_id).values(last_synced_at=now))
    return len(joined), len(left)


def current_team_ids(session: Session, member_id: int) -> set[int]:
    """The teams the member is in now."""
    return set(
        session.scalars(
            select(TeamMembership.team_id).where(
                TeamMembership.member_id == member_id, TeamMembership.left_at.is_(None)
            )
        )
    )


def team_names(session: Session, team_ids: Iterable[int]) -> dict[int, str]:
    """Team id -> name for these teams (those that exist)."""
    wanted = sorted(set(team_ids))
    if not wanted:
        return {}
    rows = session.execute(select(Team.id, Team.name).where(Team.id.in_(wanted)))
    return {int(team_id): str(name) for team_id, name in rows}


def partnership_team_names(session: Session, partnership_id: int) -> dict[int, str]:
    """The partnership's teams, id -> name, in the partnership's order."""
    rows = session.execute(
        select(Team.id, Team.name)
        .join(PartnershipTeam, PartnershipTeam.team_id == Team.id)
        .where(PartnershipTeam.partnership_id == partnership_id)
        .order_by(PartnershipTeam.position, Team.id)
    )
    return {int(team_id): str(name) for team_id, name in rows}


def partnerships_of_teams(
    session: Session, workspace_id: int, team_ids: tuple[int, ...]
) -> list[Partnership]:
    """The partnerships any of these teams takes part in, by name."""
    if not team_ids:
        return []
    taking_part = select(PartnershipTeam.partnership_id).where(
        PartnershipTeam.team_id.in_(team_ids)
    )
    return list(
        session.scalars(
            select(Partnership)
            .where(Partnership.workspace_id == workspace_id, Partnership.id.in_(taking_part))
            .order_by(Partnership.name)
        )
    )


def find_partnership(session: Session, workspace_id: int, name: str) -> Partnership | None:
    return session.scalar(
        select(Partnership).where(
            Partnership.workspace_id == workspace_id, func.lower(Partnership.name) == name.lower()
        )
    )


def add_partnership(
    session: Session,
    workspace_id: int,
    name: str,
    team_names: Sequence[str],
    channel_id: str,
    leader_ids: Sequence[str],
    interdependence: InterdependenceType,
    now: datetime,
) -> Partnership:
    if find_partnership(session, workspace_id, name) is not None:
        raise NameTaken(name)
    teams = []
    for team_name in team_names:
        team = find_team(session, workspace_id, team_name)
        if team is None:
            raise NotFound(team_name)
        teams.append(team)
    partnership = Partnership(
        workspace_id=workspace_id,
        name=name,
        channel_id=channel_id,
        interdependence_type=interdependence.value,
        settings={},
        created_at=now,
    )
    partnership.teams = [PartnershipTeam(team_id=t.id, position=i) for i, t in enumerate(teams)]
    partnership.leaders = [PartnershipLeader(slack_user_id=u) for u in leader_ids]
    session.add(partnership)
    session.flush()
    return partnership


def remove_partnership(session: Session, workspace_id: int, name: str) -> Partnership:
    partnership = find_partnership(session, workspace_id, name)
    if partnership is None:
        raise NotFound(name)
    session.execute(delete(Partnership).where(Partnership.id == partnership.id))
    return partnership


def describe_partnership(session: Session, partnership: Partnership) -> PartnershipSummary:
    names = partnership_team_names(session, partnership.id).values()
    return PartnershipSummary(
        partnership.id,
        partnership.name,
        partnership.channel_id,
        partnership.interdependence_type,
        tuple(names),
        tuple(sorted(leader.slack_user_id for leader in partnership.leaders)),
    )


def list_partnerships(session: Session, workspace_id: int) -> list[PartnershipSummary]:
    partnerships = session.scalars(
        select(Partnership)
        .where(Partnership.workspace_id == workspace_id)
        .order_by(func.lower(Partnership.name))
    ).all()
    return [describe_partnership(session, p) for p in partnerships]


def team_positions(session: Session, partnership_id: int) -> dict[int, int]:
    """team id -> its place in the partnership (ties in the one-team rule go to the first)."""
    return {
        team_id: position
        for team_id, position in session.execute(
            select(PartnershipTeam.team_id, PartnershipTeam.position).where(
                PartnershipTeam.partnership_id == partnership_id
            )
        )
    }


def member_teams(
    session: Session, partnership_id: int, member_ids: Collection[int]
) -> dict[int, int]:
    """member id -> the one team of the partnership they count for now (absent if none)."""
    if not member_ids:
        return {}
    positions = team_positions(session, partnership_id)
    seats: list[Seat] = []
    for batch in batches(sorted(set(member_ids))):
        seats.extend(
            Seat(m, t, j)
            for m, t, j in session.execute(
                select(
                    TeamMembership.member_id, TeamMembership.team_id, TeamMembership.joined_at
                ).where(
                    TeamMembership.member_id.in_(batch),
                    TeamMembership.team_id.in_(list(positions)),
                    TeamMembership.left_at.is_(None),
                )
            )
        )
    return assign_teams(seats, positions)


def partnership_roster(
    session: Session, partnership_id: int, *, active_only: bool = False
) -> list[RosterEntry]:
    """Current members of a partnership's teams, each counted for one team only.

    Read as plain columns in one query: standups read it on every answer, for
    thousands of members. `active_only` leaves out deactivated people and bots.
    """
    positions = team_positions(session, partnership_id)
    query = (
        select(
            TeamMembership.member_id,
            TeamMembership.team_id,
            TeamMembership.joined_at,
            Member.slack_user_id,
            Member.display_name,
            Member.tz,
            Member.away_until,
            Member.opted_out,
            Member.is_deleted,
            Member.is_bot,
        )
        .join(Member, Member.id == TeamMembership.member_id)
        .where(TeamMembership.team_id.in_(list(positions)), TeamMembership.left_at.is_(None))
    )
    if active_only:
        query = query.where(Member.is_deleted.is_(False), Member.is_bot.is_(False))
    rows = session.execute(query).all()
    assignment = assign_teams((Seat(row[0], row[1], row[2]) for row in rows), positions)
    entries = {
        member_id: RosterEntry(
            member_id=member_id,
            slack_user_id=slack_id,
            display_name=name,
            tz=tz,
            team_id=assignment[member_id],
            away_until=away_until,
            opted_out=tuple(opted_out or ()),
            active=not (deleted or bot),
        )
        for member_id, _, _, slack_id, name, tz, away_until, opted_out, deleted, bot in rows
    }
    return [entries[member_id] for member_id in sorted(entries)]


def find_member(session: Session, workspace_id: int, slack_user_id: str) -> Member | None:
    return session.scalar(
        select(Member).where(
            Member.workspace_id == workspace_id, Member.slack_user_id == slack_user_id
        )
    )
