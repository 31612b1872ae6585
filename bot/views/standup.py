"""The joint standup in Slack: prompt DM, answer modal, summary parent, thread answers, help DM.

Every message stays inside Block Kit's limits (50 blocks, 3,000 characters
a section): answers arrive already cut by rituals.standup, and the summary
shortens each blocker and ask to one line and says how many more are in
the thread rather than growing past 50 blocks. slack_sdk's models check
each block as it is built.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    RichTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot import payloads
from bot.views.rich_text import from_mrkdwn
from rituals.slack_text import escape, sanitize
from rituals.standup import BLOCKERS, NO_BLOCKER, AnswerSection, StandupSummary
from rituals.text_chunks import MAX_BLOCKS_PER_MESSAGE, SECTION_TEXT_LIMIT, split_text

ACTION_ANSWER = "standup_answer"  # the prompt's button: opens the modal
VIEW_ANSWER = "standup_answer_modal"  # the modal's callback id
ANSWER_INPUT = "answer"  # each question's input element (its block id is the question key)
# The "No blockers" checkbox: its block id is rituals.standup.NO_BLOCKER, right after blockers.
NO_BLOCKER_ACTION = "no_blocker"
NO_BLOCKER_VALUE = "yes"
NO_BLOCKER_TEXT = "No blockers today"
ACTION_OFFER_HELP = "standup_offer_help"  # "I can help" under an ask in the thread
ACTION_RESOLVE_ASK = "standup_resolve_ask"  # "Mark resolved" in the helper's group DM

LINE_LIMIT = 280  # one blocker or ask in the summary, before "…"
LABEL_LIMIT = 2000  # Slack's limit for an input label
MODAL_TITLE = "Joint standup"


@dataclass(frozen=True, slots=True)
class ModalQuestion:
    key: str
    label: str
    initial: str | None  # escaped mrkdwn to prefill, if any


def _message(text: str, blocks: Sequence[Block]) -> dict[str, Any]:
    if len(blocks) > MAX_BLOCKS_PER_MESSAGE:
        raise ValueError(f"{len(blocks)} blocks is over Slack's {MAX_BLOCKS_PER_MESSAGE}")
    return {"text": text, "blocks": [block.to_dict() for block in blocks]}


def _when(moment: datetime, fmt: str = "{time}") -> str:
    """A time every reader sees in their own zone (Slack's date token)."""
    fallback = moment.strftime("%H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{fmt}|{fallback}>"


# --- prompt -----------------------------------------------------------------


def greeting(local_hour: int | None) -> str:
    """A greeting that fits the member's own hour (a standup can be set for any time)."""
    if local_hour is None:
        return "Hello!"
    if 5 <= local_hour < 12:
        return "Good morning!"
    if 12 <= local_hour < 18:
        return "Good afternoon!"
    if 18 <= local_hour < 23:
        return "Good evening!"
    return "Hello!"


def prompt_message(
    day_id: int,
    partnership: str,
    other_team: str,
    cutoff: datetime,
    *,
    reminder: bool,
    local_hour: int | None = None,
) -> dict[str, Any]:
    """The DM that asks a member for today's standup (or reminds them once)."""
    if reminder:
        text = f"Reminder: your joint standup for {escape(partnership)} closes at {_when(cutoff)}."
    else:
        text = (
            f"{greeting(local_hour)} Time for the joint standup with {escape(other_team)} "
            f"({escape(partnership)}). Answer by {_when(cutoff)} to be in today's summary."
        )
    button = ButtonElement(
        text="Answer", action_id=ACTION_ANSWER, value=str(day_id), style="primary"
    )
    fallback = "Reminder: answer the joint standup" if reminder else "Time for the joint standup"
    return _message(
        fallback,
        [SectionBlock(text=MarkdownTextObject(text=text)), ActionsBlock(elements=[button])],
    )


# --- modal ------------------------------------------------------------------


def answer_modal(
    day_id: int,
    questions: Sequence[ModalQuestion],
    *,
    channel_id: str,
    cutoff: datetime,
    editing: bool,
    late: bool,
    prefilled_from_last: bool,
    no_blocker: bool = False,
) -> dict[str, Any]:
    """One rich text input per question; the block id is the question's key.

    Under the blockers question, a "No blockers today" box (ticked when
    `no_blocker`): ticked, the blockers field does not count as a blocker.
    """
    notes = [f"Posted in the thread of today's summary in <#{channel_id}>."]
    if late:
        notes.append(
            f"The cutoff ({_when(cutoff)}) has passed: this will be added as a late answer."
        )
    elif editing:
        notes.append(f"You can edit your answer until {_when(cutoff)}; it is updated in place.")
    else:
        notes.append(f"On time until {_when(cutoff)}.")
    if prefilled_from_last and not editing:
        notes.append("“Done” is prefilled from what you planned last time; edit it freely.")
    blocks: list[Block] = [ContextBlock(elements=[MarkdownTextObject(text=" ".join(notes))])]
    for question in questions:
        initial = from_mrkdwn(question.initial) if question.initial else None
        blocks.append(
            InputBlock(
                block_id=question.key,
                label=_cut(question.label, LABEL_LIMIT),
                optional=True,
                element=RichTextInputElement(action_id=ANSWER_INPUT, initial_value=initial),
            )
        )
        if question.key == BLOCKERS:
            blocks.append(_no_blocker_box(no_blocker))
    view = View(
        type="modal",
        callback_id=VIEW_ANSWER,
        title=MODAL_TITLE,
        submit="Update" if editing else "Post",
        close="Cancel",
        private_metadata=json.dumps({"day": day_id}),
        blocks=blocks,
    )
    return view.to_dict()


def _no_blocker_box(checked: bool) -> InputBlock:
    option = Option(value=NO_BLOCKER_VALUE, text=NO_BLOCKER_TEXT)
    return InputBlock(
        block_id=NO_BLOCKER,
        label="Blockers",
        optional=True,
        element=CheckboxesElement(
            action_id=NO_BLOCKER_ACTION,
            options=[option],
            initial_options=[option] if checked else None,
        ),
    )


def no_blocker_ticked(state_values: Mapping[str, Any]) -> bool:
    """Whether the submitted modal has "No blockers" ticked; anything malformed is no."""
    block = state_values.get(NO_BLOCKER)
    if not isinstance(block, Mapping):
        return False
    value = block.get(NO_BLOCKER_ACTION)
    if not isinstance(value, Mapping) or value.get("type") != "checkboxes":
        return False
    selected = value.get("selected_options")
    if not isinstance(selected, list):
        return False
    return any(
        isinstance(option, Mapping) and option.get("value") == NO_BLOCKER_VALUE
        for option in selected
    )


def day_from_metadata(private_metadata: str) -> int | None:
    found = payloads.metadata(private_metadata)
    return payloads.metadata_id(found.get("day")) if found is not None else None


def result_view(title: str, text: str) -> dict[str, Any]:
    """What the modal turns into once the answer is saved (or cannot be)."""
    view = View(
        type="modal",
        title=_cut(title, 24),
        close="Done",
        blocks=[SectionBlock(text=MarkdownTextObject(text=_cut(text, SECTION_TEXT_LIMIT)))],
    )
    return view.to_dict()


# --- the summary and its thread ----------------------------------------------


def summary_message(
    summary: StandupSummary, partnership: str, team_names: Mapping[str, str]
) -> dict[str, Any]:
    """The day's parent message: counts by team, blockers and asks first, older open asks."""
    day = summary.day
    blocks: list[Block] = [
        HeaderBlock(text=_cut(f"Joint standup · {day:%a} {day.day} {day:%b}", 150)),
    ]
    counts = " · ".join(
        f"*{escape(count.team_name)}* {count.answered}/{count.prompted} answered"
        for count in summary.counts
    )
    late = sum(1 for section in summary.sections if section.late)
    if late:
        counts += f" · {late} late"
    blocks.append(SectionBlock(text=MarkdownTextObject(text=counts)))

    def team(team_id: str) -> str:
        return escape(team_names.get(team_id, team_id))

    groups: list[tuple[str, list[str]]] = []
    if summary.blockers:
        groups.append(
            (
                ":construction: *Blockers*",
                [
                    f"• *{escape(b.member_name)}* ({team(b.team_id)})"
                    + (
                        f" → names {', '.join(team(t) for t in b.named_team_ids)}"
                        if b.names_other_team
                        else ""
                    )
                    + f": {_line(b.text)}"
                    for b in summary.blockers
                ],
            )
        )
    if summary.asks:
        groups.append(
            (
                ":raised_hand: *Asks for the other team* (offer help in the thread)",
                [
                    f"• *{escape(a.member_name)}* ({team(a.team_id)}): {_line(a.text)}"
                    for a in summary.asks
                ],
            )
        )
    if summary.stale_asks:
        groups.append(
            (
                ":hourglass: *Still open from earlier days*",
                [
                    f"• *{escape(s.ask.member_name)}* ({team(s.ask.team_id)}), "
                    f"{s.age_days} days ago: {_line(s.ask.text)}"
                    for s in summary.stale_asks
                ],
            )
        )
    footer = ContextBlock(
        elements=[
            MarkdownTextObject(
                text=f"{escape(partnership)} · every answer is in the thread; late ones are marked."
            )
        ]
    )
    budget = MAX_BLOCKS_PER_MESSAGE - len(blocks) - 1
    for title, lines in groups:
        sections, budget = _sections(title, lines, budget)
        blocks.extend(sections)
    blocks.append(footer)
    return _message(summary.headline, blocks)


def _sections(title: str, lines: Sequence[str], budget: int) -> tuple[list[Block], int]:
    """Lines packed into sections within `budget` blocks, ending in "…and N more" if cut."""
    if budget < 1:
        return [], budget
    texts: list[str] = []
    current = title
    for index, line in enumerate(lines):
        candidate = f"{current}\n{line}"
        if len(candidate) <= SECTION_TEXT_LIMIT:
            current = candidate
            continue
        if len(texts) + 2 > budget:
            more = f"\n…and {len(lines) - index} more in the thread."
            texts.append(current + more if len(current + more) <= SECTION_TEXT_LIMIT else current)
            return [_section(t) for t in texts], budget - len(texts)
        texts.append(current)
        current = line
    texts.append(current)
    return [_section(t) for t in texts], budget - len(texts)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def _line(text: str) -> str:
    """Escaped mrkdwn shortened to one line, never cutting a mention or an entity."""
    flat = " ".join(sanitize(text).split())
    if len(flat) <= LINE_LIMIT:
        return flat
    return split_text(flat, LINE_LIMIT - 1)[0] + "…"


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def answer_message(
    section: AnswerSection, *, ask_id: int | None, note: str | None = None
) -> dict[str, Any]:
    """One member's answers in the thread, with an "I can help" button under a cross-team ask."""
    blocks: list[Block] = [_section(chunk) for chunk in section.chunks]
    if note:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    if ask_id is not None:
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(text="I can help", action_id=ACTION_OFFER_HELP, value=str(ask_id))
                ]
            )
        )
    late = " (late)" if section.late else ""
    return _message(f"Standup from {escape(section.member_name)}{late}", blocks)


# --- help between two people ------------------------------------------------------


def help_offer_message(
    ask_text: str, requester_slack_id: str, helper_slack_id: str, resolve_value: str
) -> dict[str, Any]:
    """Opens the group DM between a helper and the person who asked."""
    text = (
        f"<@{helper_slack_id}> offered to help with <@{requester_slack_id}>'s ask "
        f"from the joint standup:\n>{_line(ask_text)}"
    )
    return _message(
        "An offer of help from the joint standup",
        [
            _section(text),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Mark resolved",
                        action_id=ACTION_RESOLVE_ASK,
                        value=resolve_value,
                        style="primary",
                    )
                ]
            ),
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"Only <@{requester_slack_id}> can mark it resolved, once the help landed."
                    )
                ]
            ),
        ],
    )


def help_resolved_message(
    ask_text: str, requester_slack_id: str, helper_slack_id: str
) -> dict[str, Any]:
    """The group DM's message once the requester marked the ask resolved (no button left)."""
    text = (
        f":white_check_mark: <@{requester_slack_id}> marked this resolved: thank you, "
        f"<@{helper_slack_id}>!\n>{_line(ask_text)}"
    )
    return _message("Ask resolved", [_section(text)])


def with_admin_notes(reply: dict[str, Any], notes: Sequence[str]) -> dict[str, Any]:
    """An admin status reply with the standup's notes about members appended, if any."""
    if not notes:
        return reply
    text = _cut(
        "*Standup prompts*\n" + "\n".join(f"• {note}" for note in notes), SECTION_TEXT_LIMIT
    )
    blocks = [*reply.get("blocks", []), _section(text).to_dict()]
    return {**reply, "blocks": blocks[:MAX_BLOCKS_PER_MESSAGE]}
