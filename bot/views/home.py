"""App Home on screen: the member's rituals and month, their switches, and the admins' ritual overview.

Slack allows 100 blocks in a view. The member's part is bounded (a few
sections whose lists are cut with "and N more"); the admin section spends
what is left, partnership by partnership and ritual by ritual, and ends
with "and N more" (pointing at `/tandem admin rituals`) when it runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.kpi.home import form_button
from bot.member_balance import OwnBalance
from bot.views.setup import admin_invitation, member_before_setup
from bot.views.shadowing import PairStatus, pair_status_message, slack_time
from rituals.interactions import RitualKind
from rituals.slack_text import escape
from storage.home import PartnershipLine
from storage.kudos import MonthStats
from storage.outbox import OutboxCounts
from storage.rituals import RitualSnapshot

MAX_BLOCKS = 100
SECTION_TEXT_LIMIT = 3000
MAX_LIST_LINES = 5  # standups and shadowing rounds listed before "and N more"

# The member's switches.
OPT_ACTION = "home_rituals"
AWAY_ACTION = "home_away_until"
BACK_ACTION = "home_back"
OPT_BLOCK = "home_rituals"
AWAY_BLOCK = "home_away"

# Admin actions; each handler checks again that the presser is an admin.
EDIT_ACTION = "ritual_edit"
PAUSE_ACTION = "ritual_pause"
RESUME_ACTION = "ritual_resume"
RUN_NOW_ACTION = "ritual_run_now"
DELETE_ACTION = "ritual_delete"
ADD_ACTION = "ritual_add"
SYNC_ACTION = "teams_sync_now"
ADMIN_ACTIONS = (
    EDIT_ACTION,
    PAUSE_ACTION,
    RESUME_ACTION,
    RUN_NOW_ACTION,
    DELETE_ACTION,
    ADD_ACTION,
    SYNC_ACTION,
)

# Opt-out names members use (`/tandem optout kudos`), as the ritual kinds stored.
OPT_CHOICES: tuple[tuple[str, str], ...] = (
    (RitualKind.STANDUP.value, "Joint standups"),
    (RitualKind.SHADOWING.value, "Shadowing"),
    (RitualKind.KUDOS_PROMPT.value, "Weekly kudos prompt"),
    (RitualKind.PULSE.value, "Monthly collaboration pulse"),
)
KIND_TITLES = {
    RitualKind.STANDUP.value: "Standup",
    RitualKind.SHADOWING.value: "Shadowing",
    RitualKind.KUDOS_PROMPT.value: "Kudos prompt",
    RitualKind.DIGEST.value: "Monthly digest",
    RitualKind.KPI_CHECKIN.value: "KPI check-in",
    RitualKind.PULSE.value: "Collaboration pulse",
}


@dataclass(frozen=True, slots=True)
class StandupLine:
    partnership: str
    next_at: datetime | None  # the member's next prompt
    note: str  # why there is none, or what to know


@dataclass(frozen=True, slots=True)
class MemberHome:
    user_id: str
    zone: str  # the member's zone (or the default one when theirs is unknown)
    today: date
    standups: tuple[StandupLine, ...]
    shadowing: tuple[PairStatus, ...]
    month_label: str
    kudos: MonthStats
    balances: tuple[OwnBalance, ...]
    opted_out: frozenset[str]
    away_until: date | None  # only while it lasts
    in_team: bool
    kpis: str = ""  # the member's joint KPIs, already escaped (bot/kpi/home.py)
    kpi_form: bool = False  # an admin or a partnership's leader: may define joint KPIs
    pulse: str = ""  # the member's team's last closed pulse, already escaped (bot/pulse/home.py)


@dataclass(frozen=True, slots=True)
class RitualRow:
    ritual: RitualSnapshot
    schedule_text: str
    next_at: datetime | None


@dataclass(frozen=True, slots=True)
class PartnershipSection:
    partnership: PartnershipLine
    rituals: tuple[RitualRow, ...]


@dataclass(frozen=True, slots=True)
class AdminHome:
    partnerships: tuple[PartnershipSection, ...]
    outbox: OutboxCounts
    default_tz: str


def home_view(
    member: MemberHome | None,
    admin: AdminHome | None,
    notice: str | None = None,
    *,
    before_setup: Sequence[str] | None = None,
) -> dict[str, Any]:
    """`before_setup`: the configured admins, when the workspace has no partnership yet."""
    blocks: list[Block] = []
    if notice:
        blocks.append(_section(f":information_source: {notice}"))
    if admin is not None and not admin.partnerships:
        blocks += admin_invitation()
    elif before_setup is not None and (member is None or not member.in_team):
        blocks += member_before_setup(before_setup)
    else:
        blocks += member_blocks(member)
        if member is not None and member.kpi_form:
            blocks.append(form_button())
    if admin is not None:
        blocks += admin_blocks(admin, MAX_BLOCKS - len(blocks))
    return View(type="home", blocks=blocks).to_dict()


# --- the member -------------------------------------------------------------------


def member_blocks(member: MemberHome | None) -> list[Block]:
    if member is None or not member.in_team:
        return [
            HeaderBlock(text="Tandem"),
            _section(
                "You're not in a team Tandem runs rituals for yet. When an admin adds your "
                "team to a partnership, your standups, shadowing pairings and kudos show here."
            ),
            ContextBlock(
                elements=[MarkdownTextObject(text="`/tandem help` lists what you can do.")]
            ),
        ]
    blocks: list[Block] = [HeaderBlock(text="Your Tandem")]
    blocks.append(_section(_standup_text(member)))
    blocks.append(_section(_shadowing_text(member.shadowing)))
    blocks.append(_section(_month_text(member)))
    if member.kpis:
        blocks.append(_section(member.kpis))
    if member.pulse:
        blocks.append(_section(member.pulse))
    blocks.append(_section("*Rituals you take part in*"))
    blocks.append(_switches(member))
    blocks += _away(member)
    return blocks


def _standup_text(member: MemberHome) -> str:
    title = "*Your next standup prompt*"
    if not member.standups:
        return f"{title}\nYour teams have no joint standup."
    lines = [title]
    for line in member.standups[:MAX_LIST_LINES]:
        where = f" ({escape(line.partnership)})" if len(member.standups) > 1 else ""
        if line.next_at is None:
            lines.append(f"None coming up{where}. {line.note}".strip())
            continue
        # One time, in the reader's own zone (Slack renders the token for each viewer).
        lines.append(f"{slack_time(line.next_at)}{where}. {line.note}".strip())
    lines += _more(len(member.standups) - MAX_LIST_LINES, "standup")
    return "\n".join(lines)


def _shadowing_text(rounds: Sequence[PairStatus]) -> str:
    shown = pair_status_message(list(rounds[:MAX_LIST_LINES]))["text"]
    return "\n".join([f"*Shadowing*\n{shown}", *_more(len(rounds) - MAX_LIST_LINES, "round")])


def _month_text(member: MemberHome) -> str:
    k = member.kudos
    lines = [
        f"*Your month ({member.month_label})*",
        f"Kudos given: {k.given} ({k.cross_team_given} to the other team) · "
        f"received: {k.received} ({k.cross_team_received} from the other team)"
        + (f" · +1s on yours: {k.seconds_received}" if k.seconds_received else ""),
    ]
    for balance in member.balances[:MAX_LIST_LINES]:
        other = " and ".join(balance.other_teams) or "the other team"
        lines.append(
            f"Give and take in {escape(balance.partnership)}: you gave {escape(other)} "
            f"{balance.gave}, {escape(other)} gave you {balance.took}. {escape(balance.advice)}"
        )
    lines += _more(len(member.balances) - MAX_LIST_LINES, "partnership")
    lines.append(
        "_Only you see these numbers; leaders only ever see team totals. "
        "In give and take, a thank-you counts as given by whoever was thanked._"
    )
    return "\n".join(lines)


def _switches(member: MemberHome) -> ActionsBlock:
    options = [Option(value=kind, text=label) for kind, label in OPT_CHOICES]
    taking_part = [o for o in options if o.value not in member.opted_out]
    return ActionsBlock(
        block_id=OPT_BLOCK,
        elements=[
            CheckboxesElement(
                action_id=OPT_ACTION,
                options=options,
                initial_options=taking_part or None,
            )
        ],
    )


def _away(member: MemberHome) -> list[Block]:
    text = (
        f"*Away* until {member.away_until:%a %d %b %Y} (inclusive): no prompts until then."
        if member.away_until is not None
        else "*Away?* Pick your last day away and every ritual pauses for you until then."
    )
    picker = DatePickerElement(
        action_id=AWAY_ACTION,
        placeholder="Last day away",
        initial_date=member.away_until.isoformat() if member.away_until else None,
    )
    blocks: list[Block] = [
        SectionBlock(block_id=AWAY_BLOCK, text=MarkdownTextObject(text=text), accessory=picker)
    ]
    if member.away_until is not None:
        blocks.append(
            ActionsBlock(
                block_id="home_back",
                elements=[ButtonElement(action_id=BACK_ACTION, text="I'm back", value="back")],
            )
        )
    return blocks


# --- the admins -------------------------------------------------------------------


def admin_blocks(admin: AdminHome, budget: int) -> list[Block]:
    counts = admin.outbox
    blocks: list[Block] = [
        DividerBlock(),
        HeaderBlock(text="Admin: partnerships and rituals"),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Outbox: {counts.pending} pending, {counts.retrying} retrying, "
                    f"{counts.dead} dead (`/tandem admin status` shows them)."
                )
            ]
        ),
        ActionsBlock(
            block_id="admin_tools",
            elements=[ButtonElement(action_id=SYNC_ACTION, text="Sync teams now", value="all")],
        ),
    ]
    if not admin.partnerships:
        blocks.append(_section("No partnerships yet: *Set up Tandem* above creates the first."))
        return blocks
    total_rituals = sum(len(p.rituals) for p in admin.partnerships)
    shown_rituals = shown_partnerships = 0
    room = budget - len(blocks) - 1  # one kept for "and N more"
    for section in admin.partnerships:
        if room < 1:
            break
        blocks.append(_partnership(section.partnership))
        room -= 1
        shown_partnerships += 1
        for row in section.rituals:
            if room < 2:
                break
            blocks += _ritual(row, admin.default_tz)
            room -= 2
            shown_rituals += 1
    hidden_rituals = total_rituals - shown_rituals
    hidden_partnerships = len(admin.partnerships) - shown_partnerships
    if hidden_rituals or hidden_partnerships:
        parts = []
        if hidden_rituals:
            parts.append(f"{hidden_rituals} more ritual{'s' if hidden_rituals != 1 else ''}")
        if hidden_partnerships:
            parts.append(
                f"{hidden_partnerships} more partnership{'s' if hidden_partnerships != 1 else ''}"
            )
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"…and {' and '.join(parts)}: `/tandem admin rituals` lists them all."
                    )
                ]
            )
        )
    return blocks


def _partnership(line: PartnershipLine) -> SectionBlock:
    teams = " + ".join(
        f"{escape(t.name)} ({t.member_count} member{'s' if t.member_count != 1 else ''}, "
        + (
            f"synced {slack_time(t.last_synced_at, '{date_short_pretty} {time}')})"
            if t.last_synced_at
            else "never synced)"
        )
        for t in line.teams
    )
    text = f"*{escape(line.name)}* · <#{line.channel_id}> · {line.interdependence_type}\n{teams}"
    return SectionBlock(
        block_id=f"partnership:{line.id}",
        text=MarkdownTextObject(text=_cut(text)),
        accessory=ButtonElement(action_id=ADD_ACTION, text="Add ritual", value=str(line.id)),
    )


def _ritual(row: RitualRow, default_tz: str) -> list[Block]:
    ritual = row.ritual
    title = KIND_TITLES.get(ritual.kind, ritual.kind)
    state = ":double_vertical_bar: *Paused*" if ritual.paused else "Running"
    if row.next_at is None:
        when = "no next firing"
    elif ritual.is_member_local:
        # Each person at their own wall time: the day, and the time as everyone reads it.
        local = row.next_at.astimezone(ZoneInfo(default_tz))
        when = f"next {slack_time(row.next_at, '{date_short_pretty}')}, {local:%H:%M} each person's time"
    else:
        when = f"next {slack_time(row.next_at)}"
    if ritual.kind == RitualKind.DIGEST.value:
        copy = ritual.settings.get("leaders_channel")
        where = "goes to the leaders by DM" + (
            f" and to <#{copy}>" if isinstance(copy, str) and copy else ""
        )
    else:
        where = f"posts in <#{ritual.channel_id}>"
    text = f"*{title}* #{ritual.id} · {escape(row.schedule_text)}\n{state} · {when} · {where}"
    value = str(ritual.id)
    toggle = (
        ButtonElement(action_id=RESUME_ACTION, text="Resume", value=value, style="primary")
        if ritual.paused
        else ButtonElement(action_id=PAUSE_ACTION, text="Pause", value=value)
    )
    delete = ButtonElement(
        action_id=DELETE_ACTION,
        text="Delete",
        value=value,
        style="danger",
        confirm=ConfirmObject(
            title="Delete this ritual?",
            text=f"{title} #{ritual.id} stops for everyone and its history goes with it.",
            confirm="Delete",
            deny="Keep it",
            style="danger",
        ),
    )
    return [
        _section(text),
        ActionsBlock(
            block_id=f"ritual:{ritual.id}",
            elements=[
                ButtonElement(action_id=EDIT_ACTION, text="Edit", value=value),
                toggle,
                ButtonElement(action_id=RUN_NOW_ACTION, text="Run now", value=value),
                delete,
            ],
        ),
    ]


# --- small helpers ----------------------------------------------------------------


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=_cut(text)))


def _cut(text: str) -> str:
    if len(text) <= SECTION_TEXT_LIMIT:
        return text
    return text[: SECTION_TEXT_LIMIT - 1] + "…"


def _more(hidden: int, noun: str) -> list[str]:
    return [f"…and {hidden} more {noun}{'s' if hidden != 1 else ''}."] if hidden > 0 else []
