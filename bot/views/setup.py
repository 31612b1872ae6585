"""Setting Tandem up: the App Home invitation, the one-form setup, and what happens next.

Everything here is built from values the server read itself (user groups
from `usergroups.list`, ritual schedules from the database); the ids a
submitted form carries are parsed again by `bot.first_run`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from rituals.interactions import InterdependenceType
from rituals.slack_text import escape
from rituals.upcoming import ACTIONS, Firing

SETUP_ACTION = "tandem_setup_open"
SETUP_CALLBACK = "tandem_setup"

TEAM_SLOTS = ("a", "b")
GROUP_ACTION = "usergroup"
CHANNEL_ACTION = "channel"
JOINT_BLOCK = "setup_joint"
LEADERS_BLOCK = "setup_leaders"
LEADERS_ACTION = "users"
TYPE_BLOCK = "setup_type"
TYPE_ACTION = "type"
PAUSED_BLOCK = "setup_paused"
PAUSED_ACTION = "paused"
PAUSED_VALUE = "paused"
MAX_OPTIONS = 100  # Slack's limit for a static select

TYPE_WORDS: dict[InterdependenceType, tuple[str, str]] = {
    InterdependenceType.RECIPROCAL: (
        "Reciprocal",
        "Each team's work feeds the other's, back and forth.",
    ),
    InterdependenceType.SEQUENTIAL: (
        "Sequential",
        "One team's output is the other's input, mostly one way.",
    ),
    InterdependenceType.POOLED: (
        "Pooled",
        "The teams share a budget, tools or goal, but work mostly apart.",
    ),
}

WHAT_TANDEM_DOES = (
    "• *Shadowing*: each week, someone from one team is paired with someone from the other "
    "to spend time in each other's work.\n"
    "• *Joint standup*: each weekday at 09:30 your time, three short questions by DM; one "
    "summary lands in the joint channel.\n"
    "• *Kudos*: `/tandem kudos @someone for …` thanks someone in public; a weekly nudge "
    "suggests thanking the other team.\n"
    "• *Monthly digest*: the leaders get the balance of give and take between the teams "
    "by DM, as team totals only."
)


def group_block_id(slot: str) -> str:
    return f"setup_team_{slot}_group"


def channel_block_id(slot: str) -> str:
    return f"setup_team_{slot}_channel"


@dataclass(frozen=True, slots=True)
class Usergroup:
    id: str
    label: str


# --- App Home, before any partnership ----------------------------------------------


def admin_invitation() -> list[Block]:
    """What an admin sees on App Home while the workspace has no partnership."""
    return [
        HeaderBlock(text="Set up Tandem"),
        SectionBlock(
            text=MarkdownTextObject(
                text="Tandem isn't running anything here yet. One form picks the two teams, "
                "their joint channel and their leaders, and starts the four rituals:\n"
                + WHAT_TANDEM_DOES
            )
        ),
        ActionsBlock(
            block_id="setup",
            elements=[
                ButtonElement(
                    action_id=SETUP_ACTION, text="Set up Tandem", value="setup", style="primary"
                )
            ],
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Prefer slash commands? `/tandem admin team add …` then "
                    "`/tandem admin partnership add …` (`/tandem admin help` shows how)."
                )
            ]
        ),
    ]


def member_before_setup(admin_ids: Sequence[str]) -> list[Block]:
    """What a member sees on App Home while nobody has set Tandem up."""
    named = ", ".join(f"<@{u}>" for u in admin_ids)
    who = (
        f"Your Tandem admins are {named}, and the workspace's admins and owners."
        if named
        else "Your Tandem admins are the workspace's admins and owners."
    )
    return [
        HeaderBlock(text="Tandem"),
        SectionBlock(
            text=MarkdownTextObject(
                text="Tandem isn't set up in this workspace yet. " + who + " They set it up "
                "from this tab in a minute; then this is what Tandem does:\n" + WHAT_TANDEM_DOES
            )
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="You can opt out of any ritual, or pause them all while you're away, "
                    "from this tab. `/tandem help` lists what you can do."
                )
            ]
        ),
    ]


# --- the form ------------------------------------------------------------------------


def setup_modal(usergroups: Sequence[Usergroup], notice: str | None = None) -> dict[str, Any]:
    """Two teams, the joint channel, the leaders and the kind of interdependence, in one form."""
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text="Pick two teams, each by its user group or by a channel its members are "
                "in. Tandem creates the teams, the partnership and its four rituals in one step."
                + (f"\n_{escape(notice)}_" if notice else "")
            )
        )
    ]
    options = [Option(value=g.id, text=g.label[:75]) for g in usergroups[:MAX_OPTIONS]]
    for number, slot in enumerate(TEAM_SLOTS, start=1):
        if options:
            blocks.append(
                InputBlock(
                    block_id=group_block_id(slot),
                    label=f"Team {number}: its user group",
                    optional=True,
                    element=StaticSelectElement(
                        action_id=GROUP_ACTION, placeholder="Pick a user group", options=options
                    ),
                )
            )
        blocks.append(
            InputBlock(
                block_id=channel_block_id(slot),
                label=f"Team {number}: or a channel its members are in"
                if options
                else f"Team {number}: a channel its members are in",
                optional=bool(options),
                element=ConversationSelectElement(
                    action_id=CHANNEL_ACTION,
                    placeholder="Pick a channel",
                    filter=ConversationFilter(include=["public", "private"]),
                ),
            )
        )
    blocks += [
        InputBlock(
            block_id=JOINT_BLOCK,
            label="Joint channel",
            hint="Standup summaries and kudos are posted here. Invite Tandem to it first.",
            element=ConversationSelectElement(
                action_id=CHANNEL_ACTION,
                placeholder="Pick the channel both teams share",
                filter=ConversationFilter(include=["public", "private"]),
            ),
        ),
        InputBlock(
            block_id=LEADERS_BLOCK,
            label="Leaders",
            hint="They get the monthly digest by DM: team totals, never individuals.",
            element=UserMultiSelectElement(action_id=LEADERS_ACTION, placeholder="Pick people"),
        ),
        InputBlock(
            block_id=TYPE_BLOCK,
            label="How the teams depend on each other",
            element=RadioButtonsElement(
                action_id=TYPE_ACTION,
                options=[_type_option(kind) for kind in TYPE_WORDS],
                initial_option=_type_option(InterdependenceType.RECIPROCAL),
            ),
        ),
        InputBlock(
            block_id=PAUSED_BLOCK,
            label="Start",
            optional=True,
            element=CheckboxesElement(
                action_id=PAUSED_ACTION,
                options=[
                    Option(
                        value=PAUSED_VALUE,
                        text="Start with the rituals paused",
                        description="Nothing is sent until you resume them from App Home.",
                    )
                ],
            ),
        ),
    ]
    view = View(
        type="modal",
        callback_id=SETUP_CALLBACK,
        title="Set up Tandem",
        submit="Set up",
        close="Cancel",
        blocks=blocks,
    )
    return view.to_dict()


def _type_option(kind: InterdependenceType) -> Option:
    title, line = TYPE_WORDS[kind]
    return Option(value=kind.value, text=title, description=line)


# --- after it is done ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetupDone:
    partnership: str
    channel_id: str
    interdependence: str
    teams: tuple[str, ...]
    next_steps: str  # rituals.upcoming.next_steps
    week: tuple[Firing, ...]
    paused: bool
    zone: str  # the admin's zone the times are in


def week_lines(week: Sequence[Firing]) -> str:
    if not week:
        return "Nothing fires in the next seven days."
    return "\n".join(
        f"• {f.local:%a %d %b}, {f.when(with_date=False)}: {ACTIONS[f.kind]}" for f in week
    )


def done_text(done: SetupDone) -> str:
    """The partnership's first week in words (the slash command's answer uses it too)."""
    teams = " and ".join(f"*{escape(t)}*" for t in done.teams)
    head = (
        f"*{escape(done.partnership)}* runs between {teams} around <#{done.channel_id}> "
        f"({done.interdependence}), with weekly shadowing, weekday standups, a weekly kudos "
        "prompt and the monthly digest."
    )
    if done.paused:
        return (
            f"{head}\nThe rituals start *paused*: nothing is sent until you resume them "
            "(App Home, or `/tandem admin ritual <id> resume`). Once resumed: "
            f"{escape(done.next_steps)}\n_Times in {done.zone}._"
        )
    return f"{head}\n{escape(done.next_steps)}\n_Times in {done.zone}._"


def done_view(done: SetupDone, warning: str | None = None) -> dict[str, Any]:
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=done_text(done)))]
    if warning:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f":warning: {warning}")))
    blocks += [
        DividerBlock(),
        SectionBlock(
            text=MarkdownTextObject(
                text=("*The coming week, once resumed*\n" if done.paused else "*The coming week*\n")
                + week_lines(done.week)
            )
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Team members are being read from Slack now. App Home lists the "
                    "rituals: edit, pause or run any of them there."
                )
            ]
        ),
    ]
    view = View(
        type="modal",
        callback_id=f"{SETUP_CALLBACK}_done",
        title="Tandem is set up",
        close="Done",
        blocks=blocks,
    )
    return view.to_dict()


def started_reply(done: SetupDone, channel_problem: str | None) -> dict[str, Any]:
    """The answer to `/tandem admin partnership add`: what was made and what happens next."""
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=done_text(done)))]
    if channel_problem:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f":warning: {channel_problem}")))
    blocks.append(
        SectionBlock(
            text=MarkdownTextObject(
                text=("*The coming week, once resumed*\n" if done.paused else "*The coming week*\n")
                + week_lines(done.week)
            )
        )
    )
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="`/tandem admin rituals` lists the rituals with their ids; App Home "
                    "edits, pauses or runs them."
                )
            ]
        )
    )
    text = f"Partnership {done.partnership} created with its four rituals."
    return {"text": escape(text), "blocks": [b.to_dict() for b in blocks]}
