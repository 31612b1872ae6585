"""Kudos on screen: the public post, the form to give them, the weekly prompt, your own stats,
and the monthly leaderboard a partnership may turn on."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    OptionGroup,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot import payloads
from rituals.kudos import MAX_REASON_LENGTH
from rituals.slack_text import escape, permalink, user_mention
from storage.kudos import Leaderboard, MonthStats

MODAL_CALLBACK_ID = "kudos_give"
SECOND_ACTION_ID = "kudos_second"
PROMPT_PICK_ACTION_ID = "kudos_prompt_pick"
PROMPT_BLOCK_PREFIX = "kudos_prompt:"

RECIPIENTS_BLOCK = "kudos_recipients"
RECIPIENTS_ACTION = "users"
REASON_BLOCK = "kudos_reason"
REASON_ACTION = "reason"
VALUES_BLOCK = "kudos_values"
VALUES_ACTION = "values"

# Slack's limits: checkboxes take 10 options, a select 100, an option's text 75 characters.
MAX_CHECKBOXES = 10
MAX_SELECT_OPTIONS = 100
MAX_OPTION_TEXT = 75


def _message(text: str, blocks: Sequence[Block]) -> dict[str, Any]:
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}


def _people(user_ids: Sequence[str]) -> str:
    names = [user_mention(u) for u in user_ids]
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + f" and {names[-1]}"


def _quote(text: str) -> str:
    return "\n".join(f">{line}" for line in text.splitlines() or [""])


# --- the public post ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostContent:
    kudos_id: int
    giver_id: str
    receiver_ids: tuple[str, ...]
    reason: str  # Slack-escaped, as it will be posted
    values: tuple[str, ...]
    cross_team: str | None  # e.g. "Marketing thanks IT", None when not cross-team
    link: str | None


def kudos_post(post: PostContent, seconds: int = 0) -> dict[str, Any]:
    """The message in the joint channel; re-rendered whole when someone adds a +1."""
    headline = f":tada: *Kudos* from <@{post.giver_id}> to {_people(post.receiver_ids)}"
    blocks: list[Block] = [
        SectionBlock(block_id="kudos_text", text=MarkdownTextObject(text=headline)),
        SectionBlock(block_id="kudos_reason", text=MarkdownTextObject(text=_quote(post.reason))),
    ]
    details = []
    if post.cross_team:
        details.append(f":handshake: Cross-team kudos · {escape(post.cross_team)}")
    if post.values:
        details.append(" ".join(f"`#{v}`" for v in post.values))
    if link := permalink(post.link):
        details.append(f"<{link}|The message these kudos are for>")
    if details:
        blocks.append(
            ContextBlock(
                block_id="kudos_details",
                elements=[MarkdownTextObject(text=" · ".join(details))],
            )
        )
    label = "+1" if seconds == 0 else f"+1 ({seconds})"
    blocks.append(
        ActionsBlock(
            block_id="kudos_actions",
            elements=[
                ButtonElement(
                    text=PlainTextObject(text=label, emoji=True),
                    action_id=SECOND_ACTION_ID,
                    value=str(post.kudos_id),
                )
            ],
        )
    )
    if seconds:
        voices = "1 person added their voice" if seconds == 1 else f"{seconds} people added theirs"
        blocks.append(
            ContextBlock(block_id="kudos_seconds", elements=[MarkdownTextObject(text=voices)])
        )
    text = f"Kudos from <@{post.giver_id}> to {_people(post.receiver_ids)}: {post.reason}"
    return _message(text, blocks)


# --- the form ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModalContext:
    """What the form carries from opening to submission (in private_metadata)."""

    partnership_id: int
    channel_id: str  # where the form was opened from; picks the partnership again on submit
    link: str | None = None

    def dump(self) -> str:
        return json.dumps({"p": self.partnership_id, "c": self.channel_id, "l": self.link})

    @classmethod
    def load(cls, raw: str) -> ModalContext | None:
        """The context we wrote, or None for anything else the client sends back."""
        found = payloads.metadata(raw)
        if found is None:
            return None
        partnership_id = payloads.metadata_id(found.get("p"))
        channel = found.get("c")
        link = found.get("l")
        if partnership_id is None or not (channel == "" or payloads.channel_id(channel)):
            return None
        # The link came back from the member's client: only a Slack permalink is kept.
        return cls(partnership_id, str(channel), permalink(link))


def _option(text: str, value: str) -> Option:
    shown = text if len(text) <= MAX_OPTION_TEXT else text[: MAX_OPTION_TEXT - 1] + "…"
    return Option(text=PlainTextObject(text=shown), value=value)


def kudos_modal(
    context: ModalContext,
    *,
    channel_id: str,
    values: Sequence[str],
    initial_users: Sequence[str] = (),
) -> dict[str, Any]:
    """The form: people, what for, and the values (when the partnership has any)."""
    blocks: list[Block] = [
        ContextBlock(
            elements=[MarkdownTextObject(text=f"Your kudos will be posted in <#{channel_id}>.")]
        )
    ]
    if link := permalink(context.link):
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"For <{link}|this message>.")))
    blocks.append(
        InputBlock(
            block_id=RECIPIENTS_BLOCK,
            label="Who do you want to thank?",
            element=UserMultiSelectElement(
                action_id=RECIPIENTS_ACTION,
                placeholder="Pick people",
                initial_users=list(initial_users) or None,
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id=REASON_BLOCK,
            label="What for?",
            element=PlainTextInputElement(
                action_id=REASON_ACTION,
                multiline=True,
                max_length=MAX_REASON_LENGTH,
                placeholder="the campaign launch: the landing page was up in a day",
            ),
        )
    )
    if values:
        options = [_option(f"#{v}", v) for v in values[:MAX_SELECT_OPTIONS]]
        element: CheckboxesElement | StaticMultiSelectElement = (
            CheckboxesElement(action_id=VALUES_ACTION, options=options)
            if len(options) <= MAX_CHECKBOXES
            else StaticMultiSelectElement(
                action_id=VALUES_ACTION, placeholder="Pick values", options=options
            )
        )
        blocks.append(
            InputBlock(block_id=VALUES_BLOCK, label="Values", element=element, optional=True)
        )
    view = View(
        type="modal",
        callback_id=MODAL_CALLBACK_ID,
        title="Give kudos",
        submit="Post kudos",
        close="Cancel",
        blocks=blocks,
        private_metadata=context.dump(),
    )
    return view.to_dict()


def notice_modal(text: str) -> dict[str, Any]:
    """A form that only explains why there is nothing to fill in."""
    view = View(
        type="modal",
        title="Give kudos",
        close="Close",
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    )
    return view.to_dict()


# --- the weekly prompt --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    user_id: str
    name: str


@dataclass(frozen=True, slots=True)
class PromptPicker:
    """One side's people as select options, rendered once and shared by every prompt.

    Everyone on a team is offered the same people, so their options are
    rendered once per team: rendering 100 options per member through
    slack_sdk took over a minute for a 10,000-member partnership.
    """

    other_team: str
    order: tuple[str, ...]  # Slack ids, by name
    options: dict[str, dict[str, Any]]  # Slack id -> rendered option

    @classmethod
    def of(cls, other_team: str, people: Sequence[Person]) -> PromptPicker:
        ordered = sorted(people, key=lambda p: (p.name.casefold(), p.user_id))
        return cls(
            other_team=other_team,
            order=tuple(p.user_id for p in ordered),
            options={p.user_id: _option(p.name, p.user_id).to_dict() for p in ordered},
        )


def prompt_choices(picker: PromptPicker, suggested: Sequence[str]) -> tuple[list[str], list[str]]:
    """Suggested people first, then the rest by name, at most 100 in all (a select's limit)."""
    first = [u for u in dict.fromkeys(suggested) if u in picker.options][:MAX_SELECT_OPTIONS]
    taken = set(first)
    rest = list(
        islice((u for u in picker.order if u not in taken), MAX_SELECT_OPTIONS - len(first))
    )
    return first, rest


def kudos_prompt(
    *, partnership_id: int, picker: PromptPicker, suggested: Sequence[str] = ()
) -> dict[str, Any]:
    """The DM: "Who on <other team> helped you this week?" with a picker of that team."""
    first, rest = prompt_choices(picker, suggested)
    groups = [
        (label, ids)
        for label, ids in (
            ("People you worked with", first),
            (f"Everyone on {picker.other_team}", rest),
        )
        if ids
    ]
    shape = _prompt_shape(partnership_id, picker.other_team, tuple(label for label, _ in groups))
    # Copy only the path down to the options: the shape is cached and shared.
    section = dict(shape["blocks"][0])
    select = dict(section["accessory"])
    if len(groups) == 1:
        select["options"] = [picker.options[u] for u in groups[0][1]]
    else:
        select["option_groups"] = [
            {**rendered, "options": [picker.options[u] for u in ids]}
            for rendered, (_, ids) in zip(select["option_groups"], groups, strict=True)
        ]
    section["accessory"] = select
    return {**shape, "blocks": [section, *shape["blocks"][1:]]}


@lru_cache(maxsize=256)
def _prompt_shape(partnership_id: int, other_team: str, labels: tuple[str, ...]) -> dict[str, Any]:
    """The prompt with placeholder options, rendered once per team and shape, never mutated."""
    question = f"Who on {escape(other_team)} helped you this week?"
    placeholder = [_option("-", "-")]
    select = StaticSelectElement(
        action_id=PROMPT_PICK_ACTION_ID,
        placeholder="Pick someone",
        options=placeholder if len(labels) <= 1 else None,
        option_groups=[OptionGroup(label=_label(label), options=placeholder) for label in labels]
        if len(labels) > 1
        else None,
    )
    hint = (
        "Picking someone opens a short form; nothing is posted until you send it. "
        "Someone missing? `/tandem kudos @name for …` works for anyone. "
        "`/tandem optout kudos` stops these reminders."
    )
    return _message(
        question,
        [
            SectionBlock(
                block_id=f"{PROMPT_BLOCK_PREFIX}{partnership_id}",
                text=MarkdownTextObject(text=f"*{question}* A public thank-you goes a long way."),
                accessory=select,
            ),
            ContextBlock(elements=[MarkdownTextObject(text=hint)]),
        ],
    )


def _label(text: str) -> str:
    return text if len(text) <= MAX_OPTION_TEXT else text[: MAX_OPTION_TEXT - 1] + "…"


# --- your own stats -------------------------------------------------------------------


def kudos_stats(stats: MonthStats, month: str) -> dict[str, Any]:
    """Only the person asking sees this; teams appear in the monthly summary, never a ranking."""
    given = f"You gave *{stats.given}* kudos" + (
        f" to {stats.people_thanked} {'person' if stats.people_thanked == 1 else 'people'}"
        if stats.given
        else ""
    )
    lines = [
        f"{given} ({stats.cross_team_given} cross-team).",
        f"You received *{stats.received}* kudos ({stats.cross_team_received} cross-team)"
        + (f", with {stats.seconds_received} +1s from others." if stats.seconds_received else "."),
    ]
    text = f"Your kudos in {month}"
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f"*{text}*\n" + "\n".join(lines))),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Only you can see this. Team totals go to the monthly summary."
                )
            ]
        ),
    ]
    return _message(f"{text}: gave {stats.given}, received {stats.received}", blocks)


# --- the optional monthly leaderboard ---------------------------------------------------


def kudos_leaderboard(board: Leaderboard, month: str) -> dict[str, Any]:
    """The joint channel's monthly thank-you board, posted only where admins turned it on."""
    medals = ("🥇", "🥈", "🥉")
    lines = [
        f"{medals[rank] if rank < len(medals) else f'{rank + 1}.'} <@{leader.slack_user_id}>"
        f" · {leader.received} kudos"
        for rank, leader in enumerate(board.top)
    ]
    across = f"{board.cross_team} of {board.kudos} kudos went across teams."
    text = f"Most thanked in {month}"
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f"*{text}* :tada:\n" + "\n".join(lines))),
        ContextBlock(
            elements=[MarkdownTextObject(text=f"{across} Thank someone with `/tandem kudos`.")]
        ),
    ]
    # Display names are whatever each member typed in their Slack profile.
    names = escape(", ".join(leader.display_name or leader.slack_user_id for leader in board.top))
    return _message(f"{text}: {names}", blocks)
