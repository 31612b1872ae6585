"""Sections other features add to the leaders' digest, after the balance of each pair.

Each returns Block Kit dicts that name no person; the digest places them
above its footer.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from bot.kpi.digest_section import section_blocks as kpi_section
from bot.pulse.digest_section import section_blocks as pulse_section
from rituals.balance import PairSummary
from rituals.slack_text import unescape
from storage.org import partnership_roster, partnership_team_names
from storage.pulse import closed_rounds


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
    session: Session, partnership_id: int, year: int, month: int, summaries: Sequence[PairSummary]
) -> tuple[dict[str, Any], ...]:
    names = partnership_team_names(session, partnership_id)
    month_end = date(year, month, calendar.monthrange(year, month)[1])
    key = f"{year:04d}-{month:02d}"
    # Names and raw Slack ids of everyone in the partnership are removed from comments,
    # so the roster is read only when the month has a pulse to show: at 100,000 members
    # it would cost more than the rest of the digest.
    people: list[str] = []
    if any(r.month == key for r in closed_rounds(session, partnership_id, key, limit=1)):
        roster = partnership_roster(session, partnership_id)
        people = [e.display_name for e in roster if e.display_name]
        people += [e.slack_user_id for e in roster]
    return (
        *kpi_section(session, partnership_id, month_end, names),
        *pulse_section(session, partnership_id, key, names, give_percentages(summaries), people),
    )


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
