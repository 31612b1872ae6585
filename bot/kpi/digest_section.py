"""The "Joint KPIs" section of the leaders' digest: where each shared goal stands.

Lines say which teams checked in, never who, so the digest names no person.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from slack_sdk.models.blocks import MarkdownTextObject, SectionBlock
from sqlalchemy.orm import Session

from bot.kpi.views import kpi_line
from rituals.slack_text import truncate
from storage import kpis

_MAX_LINES = 15


def section_blocks(
    session: Session, partnership_id: int, as_of: date, names: Mapping[int, str]
) -> list[dict[str, Any]]:
    states = kpis.states(session, partnership_id=partnership_id)
    if not states:
        return []
    lines = [kpi_line(s, as_of, names, people=False) for s in states[:_MAX_LINES]]
    if len(states) > _MAX_LINES:
        lines.append(f"…and {len(states) - _MAX_LINES} more on the board in the joint channel.")
    text = "*Joint KPIs*\n" + "\n".join(lines)
    return [SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000))).to_dict()]
