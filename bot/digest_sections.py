"""Sections other features add to the leaders' digest, after the balance of each pair.

Each comes twice from the same data: as Block Kit dicts for Slack, which
the digest places above its footer, and as plain JSON types for
`tandem digest --json`. Neither names a person.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.kpi import digest_section as kpi_section
from bot.pulse import digest_section as pulse_section
from rituals.balance import PairSummary
from rituals.slack_text import unescape


@dataclass(frozen=True, slots=True)
class Sections:
    blocks: tuple[dict[str, Any], ...] = ()
    data: dict[str, Any] = field(default_factory=dict)


def give_percentages(summaries: Sequence[PairSummary]) -> dict[int, int | None]:
    """Each team's share of the cross-team help it took part in, from pairs leaders may see."""
    gave: dict[int, int] = defaultdict(int)
    total: dict[int, int] = defaultdict(int)
    for s in summaries:
        if s.team_a.hidden or s.team_b.hidden:
            continue
        a, b = s.team_a.team.id, s.team_b.team.id
        gave[a] += s.flows_a_to_b
        gave[b] += s.flows_b_to_a
        total[a] += s.flows_a_to_b + s.flows_b_to_a
        total[b] += s.flows_a_to_b + s.flows_b_to_a
    return {team: round(100 * gave[team] / n) if n else None for team, n in total.items()}


def extra_sections(
    session: Session,
    partnership_id: int,
    month: str,
    end: datetime,
    timezone: str,
    names: Mapping[int, str],
    summaries: Sequence[PairSummary],
) -> Sections:
    """The joint KPIs as of the month's `end`, and the month's closed pulse.

    `names` are the partnership's teams (the digest has read them already).
    """
    last_day = (end - timedelta(microseconds=1)).astimezone(ZoneInfo(timezone)).date()
    states = kpi_section.states_at(session, partnership_id, end)
    pulse = pulse_section.section(
        session, partnership_id, month, names, give_percentages(summaries)
    )
    blocks = (
        *kpi_section.blocks(states, last_day, names),
        *(pulse_section.blocks(pulse) if pulse is not None else ()),
    )
    data = {
        "joint_kpis": {
            "as_of": last_day.isoformat(),
            "kpis": kpi_section.as_dicts(states, last_day, names),
        },
        "pulse": pulse.as_dict() if pulse is not None else None,
    }
    return Sections(tuple(blocks), data)


def sections_text(sections: Sequence[dict[str, Any]]) -> str:
    """The sections as plain text, for the terminal (`tandem demo`, `tandem digest`)."""
    lines: list[str] = []
    for block in sections:
        texts = [block.get("text") or {}, *(block.get("elements") or [])]
        for item in texts:
            text = str(item.get("text") or "") if isinstance(item, dict) else ""
            if text:
                plain = unescape(text.replace("*", "")).replace("\n> ", "\n  > ")
                lines.append(
                    plain[1:-1] if plain.startswith("_") and plain.endswith("_") else plain
                )
    return re.sub(r"(?m)^_(.*)_$", r"\1", "\n".join(lines))
