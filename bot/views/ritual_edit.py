"""The ritual edit and add forms, with the live preview of the next fire times.

The preset, cron and time zone inputs dispatch an action on change, and the
form is redrawn (views.update) with a fresh preview; block and action ids
stay the same across redraws, so what the admin typed is kept. The
ritual's id and the version the admin is editing travel in
private_metadata, so a save over someone else's newer one is refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.blocks.basic_components import DispatchActionConfig
from slack_sdk.models.views import View

from bot import payloads
from bot.ritual_form import (
    CHANNEL_BLOCK,
    CRON_BLOCK,
    CUSTOM,
    LEADERS_BLOCK,
    PRESET_BLOCK,
    PREVIEW_COUNT,
    TIMEZONE_BLOCK,
    FormState,
    fields_for,
)
from bot.views.home import KIND_TITLES
from bot.views.shadowing import slack_time
from rituals.interactions import RitualKind
from rituals.schedule import MEMBER_LOCAL, PRESETS, describe
from rituals.slack_text import escape

EDIT_CALLBACK = "ritual_edit_form"
ADD_CALLBACK = "ritual_add_form"

PRESET_ACTION = "ritual_form_preset"
CRON_ACTION = "ritual_form_cron"
TIMEZONE_ACTION = "ritual_form_timezone"
CHANNEL_ACTION = "ritual_form_channel"
SETTING_ACTION = "ritual_form_setting"
LEADERS_ACTION = "ritual_form_leaders"
# The inputs whose change redraws the preview.
PREVIEW_ACTIONS = (PRESET_ACTION, CRON_ACTION, TIMEZONE_ACTION)

KIND_BLOCK = "ritual_kind"
KIND_ACTION = "ritual_form_kind"
PREVIEW_BLOCK = "ritual_preview"
USUAL_PRESET = "usual"

_LIVE = DispatchActionConfig(trigger_actions_on=["on_enter_pressed", "on_character_entered"])


@dataclass(frozen=True, slots=True)
class Preview:
    times: Sequence[datetime]  # aware UTC
    zone: str  # where the wall times are shown
    problem: str | None


@dataclass(frozen=True, slots=True)
class EditContext:
    """What private_metadata carries: which ritual, at which version, of which kind."""

    ritual_id: int
    version: int
    kind: str

    def dump(self) -> str:
        return json.dumps({"ritual": self.ritual_id, "version": self.version, "kind": self.kind})

    @classmethod
    def load(cls, text: str) -> EditContext | None:
        """The context we wrote, or None for anything else the client sends back."""
        data = payloads.metadata(text)
        if data is None:
            return None
        ritual_id = payloads.metadata_id(data.get("ritual"))
        version, kind = data.get("version"), data.get("kind")
        if ritual_id is None or not isinstance(kind, str):
            return None
        if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= 2**31:
            return None
        return cls(ritual_id, version, kind)


def edit_modal(
    context: EditContext, partnership_name: str, state: FormState, preview: Preview
) -> dict[str, Any]:
    title = KIND_TITLES.get(context.kind, context.kind)
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*{title}* #{context.ritual_id} of *{escape(partnership_name)}*. "
                "Changes apply at the next tick, on every replica."
            )
        ),
        *schedule_inputs(state),
        preview_block(preview),
        InputBlock(
            block_id=CHANNEL_BLOCK,
            label="Channel",
            optional=True,
            hint="Empty: the partnership's joint channel. Tandem must be a member.",
            element=ConversationSelectElement(
                action_id=CHANNEL_ACTION,
                initial_conversation=state.channel_id,
                filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True),
            ),
        ),
    ]
    if state.leaders is not None:
        blocks.append(
            InputBlock(
                block_id=LEADERS_BLOCK,
                label="Leaders (get the digest)",
                element=UserMultiSelectElement(
                    action_id=LEADERS_ACTION, initial_users=list(state.leaders) or None
                ),
            )
        )
    for field in fields_for(context.kind):
        blocks.append(
            InputBlock(
                block_id=field.block_id,
                label=field.label,
                hint=f"{field.hint} Empty: the default."
                + (" (A partnership setting.)" if field.partnership else ""),
                optional=True,
                element=PlainTextInputElement(
                    action_id=SETTING_ACTION,
                    initial_value=state.settings.get(field.key) or None,
                    multiline=field.multiline,
                ),
            )
        )
    if context.kind == RitualKind.STANDUP.value:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="A standup's time and days follow its schedule: "
                        "members are prompted at that time in their own zone."
                    )
                ]
            )
        )
    return View(
        type="modal",
        callback_id=EDIT_CALLBACK,
        title="Edit ritual",
        submit="Save",
        close="Cancel",
        private_metadata=context.dump(),
        blocks=blocks,
    ).to_dict()


def schedule_inputs(state: FormState) -> list[Block]:
    options = [Option(value=name, text=_preset_label(name)) for name in PRESETS]
    custom = Option(value=CUSTOM, text="Custom: the cron expression below")
    options.append(custom)
    chosen = next((o for o in options if o.value == state.preset), custom)
    return [
        InputBlock(
            block_id=PRESET_BLOCK,
            label="Schedule",
            dispatch_action=True,
            element=StaticSelectElement(
                action_id=PRESET_ACTION, options=options, initial_option=chosen
            ),
        ),
        InputBlock(
            block_id=CRON_BLOCK,
            label="Cron expression (for Custom)",
            dispatch_action=True,
            optional=True,
            hint="minute hour day month weekday, e.g. 30 9 * * 1-5 (0 or 7 = Sunday)",
            element=PlainTextInputElement(
                action_id=CRON_ACTION,
                initial_value=state.cron or None,
                dispatch_action_config=_LIVE,
            ),
        ),
        InputBlock(
            block_id=TIMEZONE_BLOCK,
            label="Time zone",
            dispatch_action=True,
            hint=f"An IANA name such as Europe/London, or {MEMBER_LOCAL}: each member's own time.",
            element=PlainTextInputElement(
                action_id=TIMEZONE_ACTION,
                initial_value=state.timezone or None,
                dispatch_action_config=_LIVE,
            ),
        ),
    ]


def preview_block(preview: Preview) -> SectionBlock:
    if preview.problem:
        text = f":warning: {escape(preview.problem)}"
    elif not preview.times:
        text = "This schedule does not fire in the next 30 years."
    else:
        zone = ZoneInfo(preview.zone)
        lines = [
            f"• {moment.astimezone(zone):%a %d %b %Y, %H:%M} {preview.zone} ({slack_time(moment)} for you)"
            for moment in preview.times
        ]
        text = f"*Next {PREVIEW_COUNT} fire times*\n" + "\n".join(lines)
    return SectionBlock(block_id=PREVIEW_BLOCK, text=MarkdownTextObject(text=text))


def add_modal(partnership_id: int, partnership_name: str, kinds: Sequence[str]) -> dict[str, Any]:
    """Kind, preset and zone for a new ritual; everything else starts at the kind's defaults."""
    kind_options = [Option(value=kind, text=KIND_TITLES.get(kind, kind)) for kind in kinds]
    usual = Option(value=USUAL_PRESET, text="The kind's usual schedule")
    presets = [usual, *(Option(value=name, text=_preset_label(name)) for name in PRESETS)]
    return View(
        type="modal",
        callback_id=ADD_CALLBACK,
        title="Add a ritual",
        submit="Add",
        close="Cancel",
        private_metadata=json.dumps({"partnership": partnership_id}),
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"A new ritual for *{escape(partnership_name)}*, with its kind's "
                    "default settings; edit it afterwards to fine-tune."
                )
            ),
            InputBlock(
                block_id=KIND_BLOCK,
                label="Kind",
                element=StaticSelectElement(action_id=KIND_ACTION, options=kind_options),
            ),
            InputBlock(
                block_id=PRESET_BLOCK,
                label="Schedule",
                element=StaticSelectElement(
                    action_id=PRESET_ACTION, options=presets, initial_option=usual
                ),
            ),
            InputBlock(
                block_id=TIMEZONE_BLOCK,
                label="Time zone",
                optional=True,
                hint=f"Empty: {MEMBER_LOCAL} for standups and kudos prompts, "
                "the partnership's zone otherwise.",
                element=PlainTextInputElement(action_id=TIMEZONE_ACTION),
            ),
        ],
    ).to_dict()


def message_modal(title: str, text: str) -> dict[str, Any]:
    """A form that only says why there is nothing to edit."""
    return View(
        type="modal",
        title=title[:24],
        close="Close",
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    ).to_dict()


def _preset_label(name: str) -> str:
    words = describe(PRESETS[name].schedule("UTC")).removesuffix(", UTC")
    return words[:75]
