"""What App Home reads and remembers: a person's Home revision, their teams, and the admin overview.

Publishing a Home is serialised per person by the `home_view` row: the
publisher locks it first (`lock_home`), builds the view from what the
database says now, and records the new revision and content hash. So of two
replicas publishing for one person, the later one builds from the later
state and gets the higher revision, and an unchanged Home is never queued
twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage import outbox
from storage.models import (
    HomeView,
    Member,
    Partnership,
    PartnershipLeader,
    PartnershipTeam,
    Team,
    TeamMembership,
)
from storage.outbox import OutboxCounts
from storage.upsert import insert_for

HOME_METHOD = "views.publish"


@dataclass(frozen=True, slots=True)
class HomeRevision:
    revision: int  # 0: nothing published yet
    content_hash: str


def lock_home(
    session: Session, workspace_id: int, slack_user_id: str, now: datetime
) -> HomeRevision:
    """Take the person's Home lock (creating its row); make it the transaction's first statement.

    On SQLite the INSERT takes the database's write lock at once, so the
    build that follows never reads a snapshot another writer has moved past.
    """
    session.execute(
        insert_for(session, HomeView)
        .values(
            workspace_id=workspace_id,
            slack_user_id=slack_user_id,
            revision=0,
            content_hash="",
            published_at=now,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "slack_user_id"])
    )
    row = session.execute(
        select(HomeView.revision, HomeView.content_hash)
        .where(HomeView.workspace_id == workspace_id, HomeView.slack_user_id == slack_user_id)
        .with_for_update()
    ).one()
    return HomeRevision(int(row[0]), str(row[1]))


def record_home(
    session: Session,
    workspace_id: int,
    slack_user_id: str,
    revision: int,
    content_hash: str,
    now: datetime,
) -> None:
    session.execute(
        update(HomeView)
        .where(HomeView.workspace_id == workspace_id, HomeView.slack_user_id == slack_user_id)
        .values(revision=revision, content_hash=content_hash, published_at=now)
        .execution_options(synchronize_session=False)
    )


def outbox_counts(session: Session, workspace_id: int) -> OutboxCounts:
    """The workspace's pending, retrying and dead outbox rows, leaving out App Home publishes.

    A Home counting its own publish would differ from the last one every
    time it is opened, so it would never dedupe.
    """
    return outbox.counts(session, workspace_id, except_method=HOME_METHOD)


# --- the member ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberFacts:
    member_id: int
    slack_user_id: str
    tz: str | None
    away_until: date | None
    opted_out: tuple[str, ...]
    team_ids: tuple[int, ...]  # teams the member is in now


def member_facts(session: Session, workspace_id: int, slack_user_id: str) -> MemberFacts | None:
    """The member's own settings and current teams; None for someone Tandem has not seen."""
    row = session.execute(
        select(Member.id, Member.tz, Member.away_until, Member.opted_out).where(
            Member.workspace_id == workspace_id, Member.slack_user_id == slack_user_id
        )
    ).one_or_none()
    if row is None:
        return None
    member_id, tz, away_until, opted_out = row
    teams = session.scalars(
        select(TeamMembership.team_id)
        .where(TeamMembership.member_id == member_id, TeamMembership.left_at.is_(None))
        .order_by(TeamMembership.team_id)
    ).all()
    return MemberFacts(
        member_id=member_id,
        slack_user_id=slack_user_id,
        tz=tz,
        away_until=away_until,
        opted_out=tuple(opted_out or ()),
        team_ids=tuple(dict.fromkeys(teams)),
    )


# --- the admin overview --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamLine:
    id: int
    name: str
    member_count: int
    last_synced_at: datetime | None


@dataclass(frozen=True, slots=True)
class PartnershipLine:
    id: int
    name: str
    channel_id: str
    interdependence_type: str
    settings: dict[str, Any]
    teams: tuple[TeamLine, ...]
    leader_ids: tuple[str, ...]


def partnership_lines(
    session: Session, workspace_id: int, partnership_id: int | None = None
) -> list[PartnershipLine]:
    """The workspace's partnerships (or one) with their teams' sizes and sync times, in four queries."""
    query = select(
        Partnership.id,
        Partnership.name,
        Partnership.channel_id,
        Partnership.interdependence_type,
        Partnership.settings,
    ).where(Partnership.workspace_id == workspace_id)
    if partnership_id is not None:
        query = query.where(Partnership.id == partnership_id)
    heads = session.execute(query.order_by(func.lower(Partnership.name), Partnership.id)).all()
    if not heads:
        return []
    ids = [row[0] for row in heads]
    sizes = (
        select(TeamMembership.team_id, func.count().label("n"))
        .where(TeamMembership.left_at.is_(None))
        .group_by(TeamMembership.team_id)
        .subquery()
    )
    teams: dict[int, list[TeamLine]] = defaultdict(list)
    for pid, team_id, name, count, synced in session.execute(
        select(
            PartnershipTeam.partnership_id,
            Team.id,
            Team.name,
            func.coalesce(sizes.c.n, 0),
            Team.last_synced_at,
        )
        .join(Team, Team.id == PartnershipTeam.team_id)
        .outerjoin(sizes, sizes.c.team_id == Team.id)
        .where(PartnershipTeam.partnership_id.in_(ids))
        .order_by(PartnershipTeam.partnership_id, PartnershipTeam.position)
    ):
        teams[pid].append(TeamLine(team_id, name, int(count), synced))
    leaders: dict[int, list[str]] = defaultdict(list)
    for pid, user_id in session.execute(
        select(PartnershipLeader.partnership_id, PartnershipLeader.slack_user_id)
        .where(PartnershipLeader.partnership_id.in_(ids))
        .order_by(PartnershipLeader.slack_user_id)
    ):
        leaders[pid].append(user_id)
    return [
        PartnershipLine(
            id=pid,
            name=name,
            channel_id=channel,
            interdependence_type=kind,
            settings=dict(settings or {}),
            teams=tuple(teams[pid]),
            leader_ids=tuple(leaders[pid]),
        )
        for pid, name, channel, kind, settings in heads
    ]


def partnership_names(session: Session, partnership_ids: list[int]) -> dict[int, str]:
    if not partnership_ids:
        return {}
    rows = session.execute(
        select(Partnership.id, Partnership.name).where(Partnership.id.in_(partnership_ids))
    )
    return {pid: name for pid, name in rows}


def has_partnership(session: Session, workspace_id: int) -> bool:
    """Whether anyone has set Tandem up in the workspace yet."""
    found = session.scalar(
        select(Partnership.id).where(Partnership.workspace_id == workspace_id).limit(1)
    )
    return found is not None


def find_partnership_id(session: Session, workspace_id: int, name_or_id: str) -> int | None:
    """A partnership of the workspace by id or (case-insensitive) name."""
    text = name_or_id.strip()
    query = select(Partnership.id).where(Partnership.workspace_id == workspace_id)
    if text.isdigit():
        return session.scalar(query.where(Partnership.id == int(text)))
    return session.scalar(query.where(func.lower(Partnership.name) == text.lower()))


# --- partnership settings an edit form also changes ----------------------------


def change_partnership_settings(
    session: Session, partnership_id: int, changes: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Set (or with None, remove) some partnership settings; returns the touched keys before and after."""
    current = session.scalar(
        select(Partnership.settings).where(Partnership.id == partnership_id).with_for_update()
    )
    settings = dict(current or {})
    before = {key: settings.get(key) for key in changes}
    for key, value in changes.items():
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
    session.execute(
        update(Partnership)
        .where(Partnership.id == partnership_id)
        .values(settings=settings)
        .execution_options(synchronize_session=False)
    )
    return before, {key: settings.get(key) for key in changes}


def set_leaders(
    session: Session, partnership_id: int, leader_ids: tuple[str, ...]
) -> tuple[list[str], list[str]]:
    """Replace the partnership's leaders (who get the digest); returns them before and after."""
    before = sorted(
        session.scalars(
            select(PartnershipLeader.slack_user_id).where(
                PartnershipLeader.partnership_id == partnership_id
            )
        )
    )
    after = sorted(set(leader_ids))
    if before == after:
        return before, after
    session.execute(
        delete(PartnershipLeader).where(PartnershipLeader.partnership_id == partnership_id)
    )
    if after:
        session.execute(
            insert_for(session, PartnershipLeader).values(
                [{"partnership_id": partnership_id, "slack_user_id": u} for u in after]
            )
        )
    return before, after
