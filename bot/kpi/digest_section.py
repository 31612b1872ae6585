"""The "Joint KPIs" section of the leaders' digest: where each shared goal stood at the month's end.

Read as of the end of the digest's month: the KPIs that existed then, with
the goal they had then and the check-ins made by then, so a closed month
reads the same whenever it is asked for. Lines say which teams checked in,
never who, so the digest names no person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock
from sqlalchemy.orm import Session

from bot.kpi.views import kpi_line
from rituals.kpi import checkin_gap, progress, status
from rituals.slack_text import truncate
from storage import kpis

_MAX_LINES = 15


def states_at(session: Session, partnership_id: int, end: datetime) -> list[kpis.KpiState]:
    """The partnership's KPIs as they stood just before `end` (the month's end)."""
    return kpis.states(session, partnership_id=partnership_id, as_of=end)


def blocks(
    states: Sequence[kpis.KpiState], last_day: date, names: Mapping[int, str]
) -> list[dict[str, Any]]:
    if not states:
        return []
    lines = [kpi_line(s, last_day, names, people=False) for s in states[:_MAX_LINES]]
    if len(states) > _MAX_LINES:
        lines.append(f"…and {len(states) - _MAX_LINES} more on the board in the joint channel.")
    text = f"*Joint KPIs* (as of {last_day:%d %B})\n" + "\n".join(lines)
    return [SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000))).to_dict()]


def as_dicts(
    states: Sequence[kpis.KpiState], last_day: date, names: Mapping[int, str]
) -> list[dict[str, Any]]:
    """Plain JSON types, for `tandem digest --json`: teams that checked in, never people."""
    rows = []
    for s in states:
        gap = checkin_gap(s.cadence, s.latest_period, s.goal.start, last_day)
        rows.append(
            {
                "name": s.name,
                "unit": s.unit,
                "direction": s.goal.direction.value,
                "baseline": s.goal.baseline,
                "target": s.goal.target,
                "target_date": s.goal.target_date.isoformat(),
                "cadence": s.cadence.value,
                "value": s.latest,
                "previous": s.previous,
                "progress_pct": None
                if s.latest is None
                else round(100 * progress(s.goal, s.latest)),
                "status": status(s.goal, s.latest, last_day).value,
                "checkin": gap.value if gap is not None else "done",
                "checked_in_by": [
                    names.get(team or 0, "other") for team, slack_id in s.latest_by if slack_id
                ],
            }
        )
    return rows
