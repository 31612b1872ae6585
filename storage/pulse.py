"""The collaboration pulse: rounds, anonymous answers, and who answered (until close).

An answer row holds its round (partnership + month), team, score and
comment: never the member. `pulse_respondent` links a member to their
answer so they can edit it and are not reminded; `close` deletes those
links, after which no row ties an answer to a person. A round closes when
its month is over (`closes_at`, the job queued when it opened); `close`
also writes the results leaders and members may read (`results`: per team,
score counts and the comments that may be shown), so a closed month never
changes and reading it costs one row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from storage.models import (
    Member,
    Partnership,
    PartnershipTeam,
    PulseAnswer,
    PulseRespondent,
    PulseRound,
    TeamMembership,
)


class PulseClosed(Exception):
    """The round is closed: answers can no longer be given or changed."""


@dataclass(frozen=True, slots=True)
class TeamCounts:
    """Score -> count and the comments of one team in one round; no member in sight."""

    team_id: int
    counts: dict[int, int]
    comments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Round:
    id: int
    partnership_id: int
    month: str
    asked: dict[int, int]  # team id -> members asked
    closed: bool
    closes_at: datetime | None = None
    results: tuple[TeamCounts, ...] | None = None  # written at close

    def is_over(self, now: datetime) -> bool:
        """No answer may be given or changed any more."""
        return self.closed or (self.closes_at is not None and now >= self.closes_at)


def _results_json(results: list[TeamCounts]) -> dict[str, Any]:
    return {
        str(r.team_id): {
            "counts": {str(score): n for score, n in sorted(r.counts.items())},
            "comments": list(r.comments),
        }
        for r in results
    }


def _results_of(raw: dict[str, Any] | None) -> tuple[TeamCounts, ...] | None:
    if raw is None:
        return None
    return tuple(
        TeamCounts(
            int(team),
            {int(score): int(n) for score, n in (entry.get("counts") or {}).items()},
            tuple(str(c) for c in entry.get("comments") or ()),
        )
        for team, entry in sorted(raw.items(), key=lambda item: int(item[0]))
    )


def _round(row: PulseRound) -> Round:
    asked = {int(team): int(n) for team, n in (row.asked or {}).items()}
    return Round(
        row.id,
        row.partnership_id,
        row.month,
        asked,
        row.closed_at is not None,
        row.closes_at,
        _results_of(row.results),
    )


def open_round(
    session: Session,
    partnership_id: int,
    month: str,
    asked: dict[int, int],
    closes_at: datetime | None = None,
) -> Round:
    """The month's round, created on first ask; later asks add to `asked`."""
    row = session.scalar(
        select(PulseRound)
        .where(PulseRound.partnership_id == partnership_id, PulseRound.month == month)
        .with_for_update()
    )
    if row is None:
        row = PulseRound(
            partnership_id=partnership_id,
            month=month,
            asked={},
            closed_at=None,
            closes_at=closes_at,
        )
        session.add(row)
    elif row.closes_at is None:
        row.closes_at = closes_at
    merged = {str(team): n for team, n in (row.asked or {}).items()}
    for team, n in asked.items():
        merged[str(team)] = merged.get(str(team), 0) + n
    row.asked = merged
    session.flush()
    return _round(row)


def get_round(session: Session, round_id: int) -> Round | None:
    row = session.get(PulseRound, round_id)
    return _round(row) if row is not None else None


def find_round(session: Session, partnership_id: int, month: str) -> Round | None:
    row = session.scalar(
        select(PulseRound).where(
            PulseRound.partnership_id == partnership_id, PulseRound.month == month
        )
    )
    return _round(row) if row is not None else None


def answer(
    session: Session,
    round_id: int,
    member_id: int,
    team_id: int | None,
    score: int,
    comment: str | None,
) -> bool:
    """Record or replace the member's answer; True when it is their first this round."""
    row = session.get(PulseRound, round_id, with_for_update=True)
    if row is None or row.closed_at is not None:
        raise PulseClosed(round_id)
    link = session.get(PulseRespondent, (round_id, member_id))
    if link is not None:
        earlier = session.get(PulseAnswer, link.answer_id)
        if earlier is not None:
            earlier.score = score
            earlier.comment = comment
            session.flush()
            return False
    new = PulseAnswer(round_id=round_id, team_id=team_id, score=score, comment=comment)
    session.add(new)
    session.flush()
    if link is None:
        session.add(PulseRespondent(round_id=round_id, member_id=member_id, answer_id=new.id))
    else:
        link.answer_id = new.id
    session.flush()
    return True


def respondents(session: Session, round_id: int) -> set[int]:
    """Member ids who answered; empty once the round is closed."""
    return set(
        session.scalars(
            select(PulseRespondent.member_id).where(PulseRespondent.round_id == round_id)
        )
    )


def lock_open(session: Session, round_id: int) -> Round | None:
    """The round, locked for closing; None when it is gone or already closed."""
    row = session.get(PulseRound, round_id, with_for_update=True)
    if row is None or row.closed_at is not None:
        return None
    return _round(row)


def close(
    session: Session, round_id: int, now: datetime, results: list[TeamCounts] | None = None
) -> bool:
    """Close the round, forget who answered, keep `results`; False when it was already closed."""
    row = session.get(PulseRound, round_id, with_for_update=True)
    if row is None or row.closed_at is not None:
        return False
    session.execute(delete(PulseRespondent).where(PulseRespondent.round_id == round_id))
    row.closed_at = now
    if results is not None:
        row.results = _results_json(results)
    session.flush()
    return True


def due_to_close(
    session: Session, partnership_id: int, now: datetime, month: str | None = None
) -> list[int]:
    """Open rounds of the partnership that are over (at `now`, or up to `month`), oldest first."""
    over = PulseRound.closes_at <= now
    if month is not None:
        over = or_(over, PulseRound.month <= month)
    return list(
        session.scalars(
            select(PulseRound.id)
            .where(
                PulseRound.partnership_id == partnership_id,
                PulseRound.closed_at.is_(None),
                over,
            )
            .order_by(PulseRound.month)
        )
    )


def team_counts(session: Session, round_id: int, *, with_comments: bool = True) -> list[TeamCounts]:
    """Per team: score counts (one GROUP BY) and, if asked for, the comments."""
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    for team, score, n in session.execute(
        select(PulseAnswer.team_id, PulseAnswer.score, func.count())
        .where(PulseAnswer.round_id == round_id, PulseAnswer.team_id.is_not(None))
        .group_by(PulseAnswer.team_id, PulseAnswer.score)
    ):
        counts[int(team or 0)][int(score)] = int(n)
    comments: dict[int, list[str]] = defaultdict(list)
    if with_comments:
        for team, text in session.execute(
            select(PulseAnswer.team_id, PulseAnswer.comment).where(
                PulseAnswer.round_id == round_id,
                PulseAnswer.team_id.is_not(None),
                PulseAnswer.comment.is_not(None),
                PulseAnswer.comment != "",
            )
        ):
            comments[int(team or 0)].append(str(text))
    return [
        TeamCounts(team, counts[team], tuple(comments.get(team, ())))
        for team in sorted(set(counts) | set(comments))
    ]


def latest_closed(session: Session, partnership_id: int, limit: int = 2) -> list[Round]:
    rows = session.scalars(
        select(PulseRound)
        .where(PulseRound.partnership_id == partnership_id, PulseRound.closed_at.is_not(None))
        .order_by(PulseRound.month.desc())
        .limit(limit)
    ).all()
    return [_round(r) for r in rows]


def closed_rounds(
    session: Session, partnership_id: int, through: str, limit: int = 2
) -> list[Round]:
    """The latest closed rounds up to `through`, newest first (this month, then the one before)."""
    rows = session.scalars(
        select(PulseRound)
        .where(
            PulseRound.partnership_id == partnership_id,
            PulseRound.closed_at.is_not(None),
            PulseRound.month <= through,
        )
        .order_by(PulseRound.month.desc())
        .limit(limit)
    ).all()
    return [_round(r) for r in rows]


def joint_channel(session: Session, partnership_id: int) -> str | None:
    return session.scalar(select(Partnership.channel_id).where(Partnership.id == partnership_id))


def people_names(session: Session, partnership_id: int) -> list[str]:
    """Display names and Slack ids of everyone who is or was in the partnership's teams.

    What comments are scrubbed of: two plain columns, past members included.
    """
    teams = select(PartnershipTeam.team_id).where(PartnershipTeam.partnership_id == partnership_id)
    rows = session.execute(
        select(Member.display_name, Member.slack_user_id)
        .join(TeamMembership, TeamMembership.member_id == Member.id)
        .where(TeamMembership.team_id.in_(teams))
        .distinct()
    )
    return [text for name, slack_id in rows for text in (name, slack_id) if text]
