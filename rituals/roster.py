"""Who counts for which team, when Slack says a person is in more than one.

Rule: inside one partnership a person belongs to exactly one team, the one
they joined first (by the time Tandem first saw them there); ties go to the
team listed first in the partnership. Everywhere else they may be in any
number of teams. The rule is stable: syncing again never moves someone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Seat:
    member_id: int
    team_id: int
    joined_at: datetime


def assign_teams(seats: Iterable[Seat], team_order: Mapping[int, int]) -> dict[int, int]:
    """member id -> the one team they count for in this partnership."""
    best: dict[int, Seat] = {}
    for seat in seats:
        current = best.get(seat.member_id)
        key = (seat.joined_at, team_order.get(seat.team_id, len(team_order)))
        if current is None or key < (
            current.joined_at,
            team_order.get(current.team_id, len(team_order)),
        ):
            best[seat.member_id] = seat
    return {member_id: seat.team_id for member_id, seat in best.items()}
