"""The demo's joint KPIs and pulse: two shared goals with weekly check-ins, and a closed pulse.

Seeded from the demo's random generator so every run prints the same lines.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from bot.pulse.closing import close_round
from rituals.interactions import InteractionKind
from rituals.kpi import Cadence, Direction, period_of
from storage import kpis, pulse
from storage.interactions import NewInteraction, log

_KPIS = (
    # name, unit, direction, baseline, target, target date, weekly values Jan-Mar
    ("Campaign launch lead time", "days", Direction.LOWER, 21.0, 10.0, date(2025, 6, 30), -0.45),
    ("Web conversion", "%", Direction.HIGHER, 2.0, 3.0, date(2025, 12, 31), 0.02),
)
# Scores per team for March: Marketing rates the partnership low while taking most help.
_SCORES = {"Marketing": (2, 3, 3, 4, 2, 3, 4, 2, 3, 5), "IT": (2, 2, 3, 4, 1, 2, 3)}
_COMMENTS = {
    "IT": (
        "Tell us about campaigns before the brief is final",
        "A shared backlog for launch work",
        "UMKT03 keeps asking on chat instead of the board",
        "More thanks for the unglamorous fixes",
        "Fewer last-minute landing pages",
    ),
}


@dataclass(frozen=True, slots=True)
class Seeded:
    kpis: int
    checkins: int
    pulses: tuple[str, ...]  # months
    answers: int  # in the last pulse


def seed(
    session: Session,
    rng: random.Random,
    *,
    workspace_id: int,
    partnership_id: int,
    teams: dict[str, int],
    people: dict[int, list[int]],
    created: datetime,
) -> Seeded:
    """KPIs with check-ins (and their co-deliveries), and two pulses closed as the job closes them."""
    marketing, it = teams["Marketing"], teams["IT"]
    checkins = 0
    owners = ((people[marketing][1], marketing), (people[it][1], it))
    for name, unit, direction, baseline, target, by, step in _KPIS:
        kpi_id = kpis.add_kpi(
            session,
            kpis.NewKpi(
                workspace_id,
                partnership_id,
                name,
                unit,
                direction,
                baseline,
                target,
                date(2025, 1, 6),
                by,
                Cadence.WEEKLY,
                "UMKT01",
                owners,
            ),
            created,
        )
        value = baseline
        monday = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
        for week in range(12):
            at = monday + timedelta(weeks=week, hours=rng.randint(0, 30))
            value = round(value + step * rng.uniform(0.5, 1.5), 2)
            member, team = owners[week % 2]
            checkin = kpis.add_checkin(
                session, kpi_id, member, team, period_of(Cadence.WEEKLY, at.date()), value, "", at
            )
            checkins += 1
            other, other_team = owners[1 - week % 2]
            log(
                session,
                NewInteraction(
                    workspace_id,
                    partnership_id,
                    InteractionKind.CO_DELIVERY,
                    member,
                    other,
                    team,
                    other_team,
                    at,
                    source=f"kpi-checkin:{checkin}:{other}",
                ),
            )
    for month in ("2025-02", "2025-03"):
        asked = {marketing: len(people[marketing]), it: len(people[it])}
        round_ = pulse.open_round(session, partnership_id, month, asked)
        answers = 0
        for team_name, scores in _SCORES.items():
            team = teams[team_name]
            comments = list(_COMMENTS.get(team_name, ())) if month == "2025-03" else []
            shift = 1 if month == "2025-02" else 0
            for index, score in enumerate(scores):
                member = people[team][index]
                comment = comments[index] if index < len(comments) else None
                pulse.answer(session, round_.id, member, team, min(5, score + shift), comment)
                answers += 1
        close_round(session, round_.id, created)
    return Seeded(len(_KPIS), checkins, ("February 2025", "March 2025"), answers)
