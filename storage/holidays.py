"""Team holidays: days on which a whole team is off and gets no ritual prompts."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import TeamHoliday
from storage.upsert import insert_for, inserted, rowcount


def add(session: Session, team_id: int, day: date) -> bool:
    """Mark a day off for a team; False when it already was."""
    stmt = (
        insert_for(session, TeamHoliday)
        .values(team_id=team_id, day=day)
        .on_conflict_do_nothing(index_elements=["team_id", "day"])
    )
    return bool(inserted(session, stmt, TeamHoliday.team_id))


def remove(session: Session, team_id: int, day: date) -> bool:
    """Forget a day off; False when there was none."""
    done = session.execute(
        delete(TeamHoliday).where(TeamHoliday.team_id == team_id, TeamHoliday.day == day)
    )
    return rowcount(done) == 1


def listed(
    session: Session, team_ids: Collection[int], since: date | None = None
) -> list[tuple[int, date]]:
    """(team id, day) pairs for these teams, by day, from `since` on when given."""
    if not team_ids:
        return []
    query = select(TeamHoliday.team_id, TeamHoliday.day).where(
        TeamHoliday.team_id.in_(list(team_ids))
    )
    if since is not None:
        query = query.where(TeamHoliday.day >= since)
    return [(team_id, day) for team_id, day in session.execute(query.order_by(TeamHoliday.day))]


def by_team(
    session: Session, team_ids: Collection[int], days: Collection[date]
) -> dict[int, frozenset[date]]:
    """Which of `days` each team has off; teams with none are left out."""
    if not team_ids or not days:
        return {}
    found: dict[int, set[date]] = {}
    rows = session.execute(
        select(TeamHoliday.team_id, TeamHoliday.day).where(
            TeamHoliday.team_id.in_(list(team_ids)), TeamHoliday.day.in_(list(days))
        )
    )
    for team_id, day in rows:
        found.setdefault(team_id, set()).add(day)
    return {team_id: frozenset(found_days) for team_id, found_days in found.items()}
