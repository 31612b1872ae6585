"""Block Kit for joint KPIs: the board, a celebration, a check-in prompt and a member's list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from rituals.kpi import MAX_NOTE, Gap, Status, checkin_gap, format_value, progress, status
from rituals.slack_text import escape, truncate, user_mention
from storage.kpis import KpiState

KUDOS_ACTION_ID = "kpi_kudos"
CHECKIN_ACTION_ID = "kpi_checkin_open"
CHECKIN_CALLBACK_ID = "kpi_checkin"
VALUE_BLOCK, NOTE_BLOCK = "kpi_value", "kpi_note"
BOARD_TITLE = "Joint KPIs"
_ICONS = {
    Status.ON_TRACK: ":large_green_circle:",
    Status.AT_RISK: ":large_yellow_circle:",
    Status.OFF_TRACK: ":red_circle:",
    Status.NO_DATA: ":white_circle:",
}
_MAX_BOARD_KPIS = 45  # Slack allows 50 blocks; the header and footer take the rest


def change(state: KpiState) -> str:
    if state.latest is None or state.previous is None:
        return "first check-in" if state.latest is not None else "no check-in yet"
    delta = state.latest - state.previous
    sign = "+" if delta >= 0 else "−"
    return f"{sign}{format_value(abs(delta), state.unit)} since last check-in"


def kpi_line(state: KpiState, today: date, teams: Mapping[int, str], *, people: bool = True) -> str:
    """One KPI in words, for the board, App Home and the digest (names escaped once here).

    With `people=False` (leaders' digest, as of a month's end) the line says
    which teams checked in, not who, and a check-in still due is not news.
    """
    now = status(state.goal, state.latest, today)
    value = "—" if state.latest is None else format_value(state.latest, state.unit)
    target = format_value(state.goal.target, state.unit)
    done = "" if state.latest is None else f" ({progress(state.goal, state.latest):.0%} of the way)"
    who = ", ".join(
        f"{escape(teams.get(team or 0, 'other'))}: {user_mention(slack_id)}"
        if people
        else escape(teams.get(team or 0, "other"))
        for team, slack_id in state.latest_by
        if slack_id
    )
    line = (
        f"{_ICONS[now]} *{escape(state.name)}* — {value} of {target} by "
        f"{state.goal.target_date:%d %b %Y}{done} · _{now.value}_ · {change(state)}"
    )
    gap = checkin_gap(state.cadence, state.latest_period, state.goal.start, today)
    period = "week" if state.cadence.value == "weekly" else "month"
    if gap is Gap.MISSED:
        line += f" · :warning: check-in missed last {period}"
    elif gap is Gap.DUE and people:
        line += f" · check-in due this {period}"
    return line + (f"\nChecked in by {who}" if who else "")


def board(states: Sequence[KpiState], today: date, teams: Mapping[int, str]) -> dict[str, Any]:
    """The weekly board: one section per KPI; the same message is updated in place."""
    blocks: list[Block] = [HeaderBlock(text=BOARD_TITLE)]
    shown = states[:_MAX_BOARD_KPIS]
    if not states:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text="No joint KPI at the moment. Admins and leaders add them with "
                    "`/tandem kpi add …` or from Tandem's App Home."
                )
            )
        )
    for state in shown:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=truncate(kpi_line(state, today, teams), 3000))
            )
        )
    footer = (
        "Status: on track when the progress is at least the straight line from baseline to "
        "target by the target date; at risk up to 15 points behind it; off track beyond."
    )
    if len(states) > len(shown):
        footer = f"{len(states) - len(shown)} more in App Home. " + footer
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=footer)]))
    counts = {s: 0 for s in Status}
    for state in states:
        counts[status(state.goal, state.latest, today)] += 1
    text = f"{BOARD_TITLE}: " + (
        ", ".join(f"{n} {s.value}" for s, n in counts.items() if n) or "none at the moment"
    )
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}


def celebration(state: KpiState, milestone: int, teams: Mapping[int, str]) -> dict[str, Any]:
    by_team: dict[int, list[str]] = {}
    for owner in state.owners:
        by_team.setdefault(owner.team_id or 0, []).append(user_mention(owner.slack_user_id))
    owners = "; ".join(
        f"{escape(teams.get(team, 'other'))}: {', '.join(people)}"
        for team, people in sorted(by_team.items())
    )
    what = "reached its target" if milestone == 100 else f"is {milestone} % of the way"
    value = format_value(state.latest or 0.0, state.unit)
    text = f":tada: *{escape(state.name)}* {what} ({value}). Delivered together by {owners}."
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000))),
        ActionsBlock(
            elements=[
                ButtonElement(text="Give kudos", action_id=KUDOS_ACTION_ID, value=str(state.id))
            ]
        ),
    ]
    plain = f"{state.name} {what}"
    return {"text": plain, "blocks": [b.to_dict() for b in blocks]}


def prompt(state: KpiState, *, reminder: bool) -> dict[str, Any]:
    opening = "Reminder: no check-in yet" if reminder else "Time to check in"
    last = "none yet" if state.latest is None else format_value(state.latest, state.unit)
    text = (
        f"{opening} for the joint KPI *{escape(state.name)}* (last value: {last}; target "
        f"{format_value(state.goal.target, state.unit)} by {state.goal.target_date:%d %b %Y}). "
        "One owner's entry counts for everyone."
    )
    hint = f'Or, from anywhere: `/tandem kpi update "{escape(state.name)}" <value> <one-line note>`'
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000))),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Check in",
                    action_id=CHECKIN_ACTION_ID,
                    value=str(state.id),
                    style="primary",
                )
            ]
        ),
        ContextBlock(elements=[MarkdownTextObject(text=hint)]),
    ]
    return {"text": f"{opening}: {state.name}", "blocks": [b.to_dict() for b in blocks]}


def member_list(states: Sequence[KpiState], today: date, teams: Mapping[int, str]) -> str:
    if not states:
        return "You own no joint KPI yet. Admins and leaders add them with `/tandem kpi add …`."
    return "\n".join(kpi_line(s, today, teams) for s in states)


def notice_modal(text: str) -> dict[str, Any]:
    """What a KPI form turns into once done, or shows instead of fields it cannot offer."""
    view = View(
        type="modal",
        title=BOARD_TITLE,
        close="Close",
        blocks=[SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000)))],
    )
    return view.to_dict()


def checkin_modal(state: KpiState) -> dict[str, Any]:
    """The prompt's form: the current value and a one-line note."""
    last = "none yet" if state.latest is None else format_value(state.latest, state.unit)
    target = format_value(state.goal.target, state.unit)
    view = View(
        type="modal",
        callback_id=CHECKIN_CALLBACK_ID,
        private_metadata=str(state.id),
        title="Check in",
        submit="Check in",
        close="Cancel",
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=truncate(
                        f"*{escape(state.name)}*: last value {last}; target {target} by "
                        f"{state.goal.target_date:%d %b %Y}.",
                        3000,
                    )
                )
            ),
            InputBlock(
                block_id=VALUE_BLOCK,
                label=f"Current value{f' ({state.unit})' if state.unit else ''}"[:2000],
                element=PlainTextInputElement(action_id="value", max_length=20),
            ),
            InputBlock(
                block_id=NOTE_BLOCK,
                label="What changed, in one line",
                optional=True,
                element=PlainTextInputElement(action_id="value", max_length=MAX_NOTE),
            ),
        ],
    )
    return view.to_dict()
