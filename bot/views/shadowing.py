"""Shadowing on screen: the introduction, its follow-ups, the round summary, the reflection form.

Times are written with Slack's date token, so host and shadower each read
the suggested slots in their own time zone. The buttons carry the pairing
id; the listener checks that whoever presses one belongs to the pairing.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from rituals.slack_text import escape

MET_ACTION_ID = "shadow_met"
RESCHEDULE_ACTION_ID = "shadow_reschedule"
SKIP_ACTION_ID = "shadow_skip"

REFLECTION_CALLBACK_ID = "shadow_reflection"
LEARNED_BLOCK = "shadow_learned"
HANDOFF_BLOCK = "shadow_handoff"
ANSWER_ACTION = "answer"
ANSWER_MAX_LENGTH = 2000

LEARNED_QUESTION = "What did you learn about their work?"
HANDOFF_QUESTION = "One hand-off we could improve"

# Why someone was not paired, by the matcher's reason code, as the member reads it later.
UNPAIRED_REASONS: dict[str, str] = {
    "deactivated": "your Slack account is deactivated",
    "opted_out": "you opted out of shadowing (`/tandem optin shadowing` brings you back)",
    "away": "you were away on the round's date",
    "unknown_time_zone": "Slack doesn't tell me your time zone, so I couldn't find shared hours",
    "partner_team_empty": "nobody in the other team was available",
    "no_overlap": "nobody in the other team shares enough working hours with you",
    "teams_unequal": "the teams were unequal in size; you'll be paired first next round",
    "no_free_partner": (
        "everyone whose hours overlap yours was already paired; you'll be paired first next round"
    ),
}


def slack_time(moment: datetime, fmt: str = "{date_short_pretty} at {time}") -> str:
    """A time each reader sees in their own zone, with a UTC fallback for old clients."""
    fallback = moment.astimezone(UTC).strftime("%a %d %b %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{fmt}|{fallback}>"


def people(user_ids: Sequence[str]) -> str:
    names = [f"<@{u}>" for u in user_ids]
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + f" and {names[-1]}"


def next_round_text(next_at: datetime | None) -> str:
    if next_at is None:
        return "No further round is scheduled yet."
    return f"Your next round is {slack_time(next_at, '{date_long_pretty}')}."


def _message(text: str, blocks: Sequence[Block | dict[str, Any]]) -> dict[str, Any]:
    return {"text": text, "blocks": [b if isinstance(b, dict) else b.to_dict() for b in blocks]}


def _buttons(pairing_id: int) -> dict[str, Any]:
    """The three buttons for one pairing.

    A round of thousands of pairs renders them thousands of times, and
    slack_sdk's validation dominates that cost, so the row is built and
    checked once and then copied with the pairing's id.
    """
    row = copy.deepcopy(_button_row())
    row["block_id"] = f"shadow_actions:{pairing_id}"
    for element in row["elements"]:
        element["value"] = str(pairing_id)
    return row


@cache
def _button_row() -> dict[str, Any]:
    value = "0"
    return ActionsBlock(
        block_id="shadow_actions:0",
        elements=[
            ButtonElement(
                text=PlainTextObject(text="We met", emoji=True),
                action_id=MET_ACTION_ID,
                value=value,
                style="primary",
            ),
            ButtonElement(
                text=PlainTextObject(text="Reschedule", emoji=True),
                action_id=RESCHEDULE_ACTION_ID,
                value=value,
            ),
            ButtonElement(
                text=PlainTextObject(text="Skip this round", emoji=True),
                action_id=SKIP_ACTION_ID,
                value=value,
            ),
        ],
    ).to_dict()


def _slot_lines(slots: Sequence[datetime]) -> str:
    return "\n".join(f"• {slack_time(s)}" for s in slots)


# --- the introduction --------------------------------------------------------------------


def default_agenda(
    host_id: str, host_team: str, shadower_ids: Sequence[str], shadower_team: str, minutes: int
) -> str:
    """What a good session looks like when someone from `host_team` shows their work."""
    host, team, guests, guest_team = (
        f"<@{host_id}>",
        escape(host_team),
        people(shadower_ids),
        escape(shadower_team),
    )
    watch = "watches" if len(shadower_ids) == 1 else "watch"
    steps = _agenda_minutes(minutes)
    return (
        f"*A suggested agenda ({minutes} min)*\n"
        f"1. *{steps[0]}the map.* {host} sketches what {team} is working on this month "
        f"and where requests from {guest_team} enter it.\n"
        f"2. *{steps[1]}real work.* {guests} {watch} {host} do a real task, not slides: "
        "the tools, the queue, who gets pinged and what they wait for.\n"
        f"3. *{steps[2]}one hand-off.* Together, follow one piece of work that crossed between "
        f"{guest_team} and {team}: what arrived, what was missing, how long it waited.\n"
        f"4. *{steps[3]}one change.* Each of you names one small thing to try next week.\n\n"
        f"*Things {guests} could ask to see*\n"
        f"• The last request {team} got from {guest_team}, exactly as it arrived.\n"
        f"• Where work waits in {team}, and on whom.\n"
        f"• What {team} wishes {guest_team} knew before asking for something.\n"
        f"• How {team} decides what is urgent, and what “done” means to them."
    )


def _agenda_minutes(minutes: int) -> list[str]:
    """Step labels like "5 min, " that add up to the session; none when it is too short to split."""
    change = 10 if minutes >= 45 else 5
    parts = (5, minutes - 15 - change, 10, change)
    if parts[1] < 5:
        return ["", "", "", ""]
    return [f"{p} min, " for p in parts]


@dataclass(frozen=True, slots=True)
class Intro:
    pairing_id: int
    round_no: int
    host_id: str
    host_team: str
    shadower_ids: tuple[str, ...]
    shadower_team: str
    slots: tuple[datetime, ...]
    agenda: str  # mrkdwn
    reminder_days: int


def intro_message(intro: Intro) -> dict[str, Any]:
    """The group DM that introduces a pair: who hosts, what to do, when, and three buttons."""
    host, guests = f"<@{intro.host_id}>", people(intro.shadower_ids)
    verb = "shadows" if len(intro.shadower_ids) == 1 else "shadow"
    headline = (
        f":wave: *Shadowing, round {intro.round_no}*\n"
        f"{host} ({escape(intro.host_team)}) hosts, {guests} ({escape(intro.shadower_team)}) {verb}. "
        f"{host}, this is a chance to show how {escape(intro.host_team)} really works; "
        f"{guests}, come curious."
    )
    if intro.slots:
        when = (
            "*Times that fit both your working days* (each of you sees your own time zone)\n"
            + _slot_lines(intro.slots)
        )
    else:
        when = (
            "*When:* your working days overlap only briefly this week; "
            "pick any time that works and press *Reschedule* for more suggestions."
        )
    blocks: list[Block | dict[str, Any]] = [
        SectionBlock(block_id="shadow_intro", text=MarkdownTextObject(text=headline)),
        SectionBlock(block_id="shadow_agenda", text=MarkdownTextObject(text=intro.agenda[:3000])),
        SectionBlock(block_id="shadow_slots", text=MarkdownTextObject(text=when)),
        _buttons(intro.pairing_id),
        ContextBlock(
            block_id="shadow_hint",
            elements=[
                MarkdownTextObject(
                    text="Press *We met* afterwards: two short questions, and it counts for both "
                    f"teams. If nobody does, I'll check in after {intro.reminder_days} days."
                )
            ],
        ),
    ]
    text = f"Shadowing: {host} hosts {guests} this round."
    return _message(text, blocks)


def reminder_message(pairing_id: int, user_ids: Sequence[str]) -> dict[str, Any]:
    text = (
        f":alarm_clock: A nudge for {people(user_ids)}: did your shadowing session happen? "
        "If it did, press *We met*. If the times didn't work, *Reschedule* suggests new ones."
    )
    return _message(
        text,
        [
            SectionBlock(block_id="shadow_reminder", text=MarkdownTextObject(text=text)),
            _buttons(pairing_id),
        ],
    )


def new_times_message(pairing_id: int, asked_by: str, slots: Sequence[datetime]) -> dict[str, Any]:
    if slots:
        text = (
            f":calendar: <@{asked_by}> asked for new times. These fit both your working days:\n"
            + _slot_lines(slots)
        )
    else:
        text = (
            f":calendar: <@{asked_by}> asked for new times, but your working days barely overlap "
            "in the next two weeks. Pick any time that suits you both."
        )
    return _message(
        text,
        [
            SectionBlock(block_id="shadow_new_times", text=MarkdownTextObject(text=text)),
            _buttons(pairing_id),
        ],
    )


def met_message(recorded_by: str) -> dict[str, Any]:
    text = (
        f":white_check_mark: <@{recorded_by}> recorded that you met. Thank you both! "
        "It now counts in the teams' monthly balance."
    )
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=text))])


def skipped_message(skipped_by: str, next_at: datetime | None) -> dict[str, Any]:
    text = f"<@{skipped_by}> skipped this round, no harm done. {next_round_text(next_at)}"
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=text))])


def partner_left_message(left_ids: Sequence[str], next_at: datetime | None) -> dict[str, Any]:
    gone = people(left_ids)
    text = (
        f"{gone} is no longer in the partnership's teams, so your shadowing pairing for this "
        f"round is off. Sorry about that! {next_round_text(next_at)}"
    )
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=text))])


def unpaired_message(teams: str, detail: str, next_at: datetime | None) -> dict[str, Any]:
    text = (
        f"No shadowing partner for you this round ({escape(teams)}): {escape(detail)}. "
        f"{next_round_text(next_at)}"
    )
    return _message(text, [SectionBlock(text=MarkdownTextObject(text=text))])


# --- the round summary in the joint channel ------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoundSummary:
    round_no: int
    teams: tuple[str, str]
    pairs: int
    trios: int
    left_out: int  # eligible people not paired (told why in a DM)
    not_taking_part: int  # opted out, away or deactivated
    no_pairs_reason: str | None  # why nobody was paired, when nobody was
    last_round: tuple[int, int, int] | None  # (pairs, met, people newly connected)
    next_teams: tuple[str, str] | None  # in a partnership of three or more teams


def round_summary(summary: RoundSummary) -> dict[str, Any]:
    team_a, team_b = (escape(t) for t in summary.teams)
    lines = [f":handshake: *Shadowing, round {summary.round_no}: {team_a} × {team_b}*"]
    if summary.pairs:
        made = f"{summary.pairs} pair{'s' if summary.pairs != 1 else ''} made"
        if summary.trios:
            made += (
                " (one of them a trio)"
                if summary.trios == 1
                else f" ({summary.trios} of them trios)"
            )
        lines.append(f"{made}; each pair has a group DM with times that suit both.")
    else:
        lines.append(
            f"No pairs this round: {escape(summary.no_pairs_reason or 'nobody was available')}."
        )
    if summary.left_out:
        who = "person" if summary.left_out == 1 else "people"
        lines.append(f"{summary.left_out} {who} without a partner this time (told why in a DM).")
    if summary.not_taking_part:
        who = "person is" if summary.not_taking_part == 1 else "people are"
        lines.append(f"{summary.not_taking_part} {who} away or opted out.")
    if summary.last_round is not None:
        pairs, met, new = summary.last_round
        line = f"Last round: {met} of {pairs} pair{'s' if pairs != 1 else ''} met"
        if new:
            line += f", and {new} {'person' if new == 1 else 'people'} met someone new to them"
        lines.append(line + ".")
    if summary.next_teams is not None:
        lines.append(
            f"Next round: {escape(summary.next_teams[0])} × {escape(summary.next_teams[1])}."
        )
    text = "\n".join(lines)
    return _message(
        text, [SectionBlock(block_id="shadow_summary", text=MarkdownTextObject(text=text))]
    )


# --- the reflection form -----------------------------------------------------------------


def reflection_modal(pairing_id: int, partner_ids: Sequence[str]) -> dict[str, Any]:
    """Two questions after a session; the answers stay with Tandem (not posted anywhere)."""
    blocks: list[Block] = [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Thanks for meeting {people(partner_ids)}! Two questions, a sentence each is plenty."
                )
            ]
        ),
        InputBlock(
            block_id=LEARNED_BLOCK,
            label=LEARNED_QUESTION,
            element=PlainTextInputElement(
                action_id=ANSWER_ACTION,
                multiline=True,
                max_length=ANSWER_MAX_LENGTH,
                placeholder="Their week is driven by the release train, not by tickets",
            ),
        ),
        InputBlock(
            block_id=HANDOFF_BLOCK,
            label=HANDOFF_QUESTION,
            element=PlainTextInputElement(
                action_id=ANSWER_ACTION,
                multiline=True,
                max_length=ANSWER_MAX_LENGTH,
                placeholder="Campaign briefs could name the landing page owner up front",
            ),
        ),
    ]
    view = View(
        type="modal",
        callback_id=REFLECTION_CALLBACK_ID,
        private_metadata=str(pairing_id),
        title=PlainTextObject(text="Shadowing reflection"),
        submit=PlainTextObject(text="Save"),
        close=PlainTextObject(text="Later"),
        blocks=blocks,
    )
    return view.to_dict()


def saved_modal() -> dict[str, Any]:
    view = View(
        type="modal",
        title=PlainTextObject(text="Shadowing reflection"),
        close=PlainTextObject(text="Done"),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text="Saved. Thank you for taking the time!"))
        ],
    )
    return view.to_dict()


# --- /tandem pair ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairStatus:
    partnership: str
    round_no: int | None
    round_date: date | None
    role: str | None  # "host" | "shadower" when paired
    partner_ids: tuple[str, ...]
    status: str | None  # the pairing's status when paired
    met_at: datetime | None
    unpaired_reason: str | None
    next_at: datetime | None


_STATUS_LINES = {
    "proposed": "Not met yet: pick a time in your group DM, then press *We met*.",
    "rescheduled": "Rescheduled: the new times are in your group DM; press *We met* once you've met.",
    "skipped": "Skipped this round.",
    "partner_left": "Your partner left the team, so this pairing is off. You'll be paired again next round.",
}


def pair_status_message(entries: Sequence[PairStatus]) -> dict[str, Any]:
    if not entries:
        text = "You're not in a shadowing round yet."
        hint = "Shadowing runs between the teams of a partnership; ask a Tandem admin to set it up."
        return _message(
            text,
            [
                SectionBlock(text=MarkdownTextObject(text=text)),
                ContextBlock(elements=[MarkdownTextObject(text=hint)]),
            ],
        )
    blocks: list[Block] = []
    for i, entry in enumerate(entries):
        if i:
            blocks.append(DividerBlock())
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_pair_status_text(entry))))
    text = "\n".join(_pair_status_text(e) for e in entries)
    return _message(text, blocks)


def _pair_status_text(entry: PairStatus) -> str:
    title = f"*Shadowing in {escape(entry.partnership)}*"
    if entry.round_no is None:
        return f"{title}\nNo round has run yet. {next_round_text(entry.next_at)}"
    round_label = f"Round {entry.round_no}"
    if entry.round_date is not None:
        round_label += f" ({entry.round_date.strftime('%a %d %b')})"
    if entry.role is None:
        if entry.unpaired_reason is not None:
            why = UNPAIRED_REASONS.get(
                entry.unpaired_reason, entry.unpaired_reason.replace("_", " ")
            )
            body = f"You're not paired this round: {why}."
        else:
            body = "This round is between other teams, or started before you joined."
        return f"{title}\n{round_label}: {body} {next_round_text(entry.next_at)}"
    partners = people(entry.partner_ids)
    doing = f"you host {partners}" if entry.role == "host" else f"{partners} hosts you"
    if entry.status == "met":
        when = f" on {slack_time(entry.met_at, '{date_short_pretty}')}" if entry.met_at else ""
        state = f"You met{when}. Thank you!"
    else:
        state = _STATUS_LINES.get(entry.status or "", entry.status or "")
    line = f"{title}\n{round_label}: {doing}. {state}"
    if entry.status in ("met", "skipped", "partner_left"):
        line += f" {next_round_text(entry.next_at)}"
    return line
