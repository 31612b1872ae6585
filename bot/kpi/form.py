"""The App Home form to define a joint KPI, read back into the `/tandem kpi add` language.

The submission is turned into the words of the slash command and parsed by
the same parser, so both ways of adding a KPI accept and refuse the same things.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from rituals.slack_text import is_user_id, user_mention
from storage.kpis import PartnershipInfo

OPEN_ACTION_ID = "kpi_form_open"
CALLBACK_ID = "kpi_add"
FIELDS = (
    "partnership",
    "name",
    "unit",
    "direction",
    "baseline",
    "target",
    "by",
    "cadence",
    "owners",
)
_QUOTE_FREE = str.maketrans("", "", '"\\')


def modal(partnerships: Sequence[PartnershipInfo]) -> dict[str, Any]:
    blocks: list[Any] = []
    if len(partnerships) > 1:
        options = [Option(value=str(p.id), label=p.name[:75]) for p in partnerships]
        blocks.append(
            InputBlock(
                block_id="partnership",
                label="Partnership",
                element=StaticSelectElement(action_id="value", options=options),
            )
        )
    blocks += [
        InputBlock(
            block_id="name",
            label="Name",
            element=PlainTextInputElement(action_id="value", max_length=60),
        ),
        InputBlock(
            block_id="unit",
            label="Unit",
            optional=True,
            element=PlainTextInputElement(
                action_id="value", max_length=20, placeholder="%, days, €"
            ),
        ),
        InputBlock(
            block_id="direction",
            label="Better is",
            element=RadioButtonsElement(
                action_id="value",
                options=[
                    Option(value="higher", label="Higher"),
                    Option(value="lower", label="Lower"),
                ],
            ),
        ),
        InputBlock(
            block_id="baseline",
            label="Baseline (today's value)",
            element=PlainTextInputElement(action_id="value", max_length=20),
        ),
        InputBlock(
            block_id="target",
            label="Target",
            element=PlainTextInputElement(action_id="value", max_length=20),
        ),
        InputBlock(
            block_id="by", label="Target date", element=DatePickerElement(action_id="value")
        ),
        InputBlock(
            block_id="cadence",
            label="Check-in",
            element=RadioButtonsElement(
                action_id="value",
                options=[
                    Option(value="weekly", label="Weekly"),
                    Option(value="monthly", label="Monthly"),
                ],
            ),
        ),
        InputBlock(
            block_id="owners",
            label="Owners (at least one from each team)",
            element=UserMultiSelectElement(action_id="value", max_selected_items=10),
        ),
    ]
    metadata = json.dumps({"partnership": partnerships[0].id} if len(partnerships) == 1 else {})
    view = View(
        type="modal",
        callback_id=CALLBACK_ID,
        title="Add a joint KPI",
        submit="Add",
        close="Cancel",
        private_metadata=metadata,
        blocks=blocks,
    )
    return view.to_dict()


def _value(values: dict[str, Any], block: str) -> Any:
    element = (values.get(block) or {}).get("value") or {}
    if not isinstance(element, dict):
        return None
    for key in ("value", "selected_date", "selected_users"):
        if key in element:
            return element[key]
    selected = element.get("selected_option")
    return selected.get("value") if isinstance(selected, dict) else None


def command_text(
    view: dict[str, Any], partnerships: Sequence[PartnershipInfo]
) -> tuple[str, str] | str:
    """(partnership name, `kpi add …` words) from a submission, or why it cannot be read."""
    values = (view.get("state") or {}).get("values") or {}
    if not isinstance(values, dict):
        return "The form could not be read."
    try:
        metadata = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        return "The form could not be read."
    chosen = _value(values, "partnership") or (metadata or {}).get("partnership")
    found = [p for p in partnerships if str(p.id) == str(chosen)]
    if not found:
        return "Pick a partnership."
    owners = _value(values, "owners") or []
    if not isinstance(owners, list) or not all(is_user_id(u) for u in owners):
        return "Pick the owners from the list."

    def text(block: str) -> str:
        raw = _value(values, block)
        return str(raw or "").translate(_QUOTE_FREE).strip()

    words = (
        f'add "{text("name")}" baseline={text("baseline") or "?"} target={text("target") or "?"} '
        f"by={text('by')} {text('direction') or 'higher'} {text('cadence') or 'weekly'} "
        f"owners={','.join(user_mention(u) for u in owners)}"
    )
    if text("unit"):
        words += f' unit="{text("unit")}"'
    words += f' partnership="{found[0].name.translate(_QUOTE_FREE)}"'
    return found[0].name, words
