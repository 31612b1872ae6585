"""A member's joint KPIs in their App Home, and the button that opens the KPI form."""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement
from sqlalchemy.orm import Session

from bot.kpi.form import EDIT_OPEN_ACTION_ID, OPEN_ACTION_ID
from bot.kpi.views import kpi_line
from storage import kpis
from storage.org import partnership_team_names

_MAX = 8


def member_kpi_text(session: Session, member_id: int, today: date) -> str:
    """The "Your joint KPIs" section; empty when the member owns none."""
    states = kpis.states(session, member_id=member_id)
    if not states:
        return ""
    names: dict[int, str] = {}
    for pid in {s.partnership_id for s in states}:
        names.update(partnership_team_names(session, pid))
    lines = [kpi_line(s, today, names) for s in states[:_MAX]]
    if len(states) > _MAX:
        lines.append(f"…and {len(states) - _MAX} more: `/tandem kpi`.")
    return (
        "*Your joint KPIs*\n"
        + "\n".join(lines)
        + '\nCheck in with `/tandem kpi update "NAME" VALUE note`.'
    )


def form_button() -> Block:
    """Shown to admins and the partnerships' leaders: they may define and change joint KPIs."""
    return ActionsBlock(
        block_id="kpi_form",
        elements=[
            ButtonElement(text="Add a joint KPI", action_id=OPEN_ACTION_ID),
            ButtonElement(text="Edit or remove a joint KPI", action_id=EDIT_OPEN_ACTION_ID),
        ],
    )


def may_define(session: Session, workspace_id: int, user_id: str) -> bool:
    return any(user_id in p.leader_ids for p in kpis.partnerships(session, workspace_id))
