"""The App Home forms for joint KPIs, read back into the `/tandem kpi …` language.

Adding: one form. Editing: a first form picks the KPI, a second shows it
filled in, with a box to remove it instead. A submission is turned into the
words of the slash command (`kpi add …`, `kpi edit …`, `kpi remove …`) and
parsed by the same parser, so both ways accept and refuse the same things.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from rituals.slack_text import is_user_id, record_id, user_mention
from storage.kpis import KpiState, PartnershipInfo

OPEN_ACTION_ID = "kpi_form_open"
EDIT_OPEN_ACTION_ID = "kpi_edit_open"
CALLBACK_ID = "kpi_add"
PICK_CALLBACK_ID = "kpi_pick"
EDIT_CALLBACK_ID = "kpi_edit"
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
_MAX_OPTIONS = 100  # Slack's limit for a static select


def _radio(
    block: str, label: str, options: Sequence[tuple[str, str]], initial: str | None
) -> Block:
    choices = [Option(value=value, label=text) for value, text in options]
    chosen = next((o for o in choices if o.value == initial), None)
    return InputBlock(
        block_id=block,
        label=label,
        element=RadioButtonsElement(action_id="value", options=choices, initial_option=chosen),
    )


def _number(value: float) -> str:
    return f"{value:g}"


def _kpi_blocks(state: KpiState | None) -> list[Block]:
    """The KPI's fields, empty for a new one, filled in with `state` to edit it."""
    goal = state.goal if state is not None else None
    return [
        InputBlock(
            block_id="name",
            label="Name",
            element=PlainTextInputElement(
                action_id="value", max_length=60, initial_value=state.name if state else None
            ),
        ),
        InputBlock(
            block_id="unit",
            label="Unit",
            optional=True,
            element=PlainTextInputElement(
                action_id="value",
                max_length=20,
                placeholder="%, days, €",
                initial_value=(state.unit or None) if state else None,
            ),
        ),
        _radio(
            "direction",
            "Better is",
            [("higher", "Higher"), ("lower", "Lower")],
            goal.direction.value if goal else None,
        ),
        InputBlock(
            block_id="baseline",
            label="Baseline (the value when the KPI was defined)",
            element=PlainTextInputElement(
                action_id="value",
                max_length=20,
                initial_value=_number(goal.baseline) if goal else None,
            ),
        ),
        InputBlock(
            block_id="target",
            label="Target",
            element=PlainTextInputElement(
                action_id="value",
                max_length=20,
                initial_value=_number(goal.target) if goal else None,
            ),
        ),
        InputBlock(
            block_id="by",
            label="Target date",
            element=DatePickerElement(
                action_id="value",
                initial_date=goal.target_date.isoformat() if goal else None,
            ),
        ),
        _radio(
            "cadence",
            "Check-in",
            [("weekly", "Weekly"), ("monthly", "Monthly")],
            state.cadence.value if state else None,
        ),
        InputBlock(
            block_id="owners",
            label="Owners (at least one from each team)",
            element=UserMultiSelectElement(
                action_id="value",
                max_selected_items=10,
                initial_users=[o.slack_user_id for o in state.owners] if state else None,
            ),
        ),
    ]


def modal(partnerships: Sequence[PartnershipInfo]) -> dict[str, Any]:
    blocks: list[Block] = []
    if len(partnerships) > 1:
        options = [Option(value=str(p.id), label=p.name[:75]) for p in partnerships]
        blocks.append(
            InputBlock(
                block_id="partnership",
                label="Partnership",
                element=StaticSelectElement(action_id="value", options=options),
            )
        )
    blocks += _kpi_blocks(None)
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


def pick_modal(
    states: Sequence[KpiState], partnerships: Sequence[PartnershipInfo]
) -> dict[str, Any]:
    """The first step of editing: which KPI (of the partnerships this person may change)."""
    names = {p.id: p.name for p in partnerships}
    several = len({s.partnership_id for s in states}) > 1
    options = [
        Option(
            value=str(s.id),
            label=(f"{s.name} ({names.get(s.partnership_id, '')})" if several else s.name)[:75],
        )
        for s in states[:_MAX_OPTIONS]
    ]
    view = View(
        type="modal",
        callback_id=PICK_CALLBACK_ID,
        title="Edit a joint KPI",
        submit="Next",
        close="Cancel",
        blocks=[
            InputBlock(
                block_id="kpi",
                label="Which KPI?",
                element=StaticSelectElement(action_id="value", options=options),
            )
        ],
    )
    return view.to_dict()


def edit_modal(state: KpiState, partnership: PartnershipInfo) -> dict[str, Any]:
    """The KPI filled in; ticking "Remove" removes it instead (restorable)."""
    blocks = _kpi_blocks(state)
    blocks.append(
        InputBlock(
            block_id="remove",
            label="Remove",
            optional=True,
            element=CheckboxesElement(
                action_id="value",
                options=[
                    Option(
                        value="remove",
                        label="Remove this KPI",
                        description=(
                            "Prompts stop and the board drops it; its check-ins are kept and "
                            "`/tandem kpi restore` brings it back."
                        ),
                    )
                ],
            ),
        )
    )
    view = View(
        type="modal",
        callback_id=EDIT_CALLBACK_ID,
        title="Edit a joint KPI",
        submit="Save",
        close="Cancel",
        private_metadata=json.dumps(
            {"kpi": state.id, "name": state.name, "partnership": partnership.id}
        ),
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
    if "selected_options" in element:
        chosen = element["selected_options"]
        if not isinstance(chosen, list):
            return None
        return [o.get("value") for o in chosen if isinstance(o, dict)]
    selected = element.get("selected_option")
    return selected.get("value") if isinstance(selected, dict) else None


def _metadata(view: dict[str, Any]) -> dict[str, Any] | None:
    try:
        found = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def picked_kpi(view: dict[str, Any]) -> int | None:
    values = (view.get("state") or {}).get("values") or {}
    return record_id(_value(values, "kpi")) if isinstance(values, dict) else None


def _fields_text(values: dict[str, Any], owners: list[str]) -> str:
    def text(block: str) -> str:
        raw = _value(values, block)
        return str(raw or "").translate(_QUOTE_FREE).strip()

    words = (
        f"baseline={text('baseline') or '?'} target={text('target') or '?'} "
        f"by={text('by')} {text('direction') or 'higher'} {text('cadence') or 'weekly'} "
        f"owners={','.join(user_mention(u) for u in owners)}"
    )
    return words + f' unit="{text("unit")}"'


def command_text(
    view: dict[str, Any], partnerships: Sequence[PartnershipInfo]
) -> tuple[str, str] | str:
    """(partnership name, `kpi add …` words) from a submission, or why it cannot be read."""
    values = (view.get("state") or {}).get("values") or {}
    metadata = _metadata(view)
    if not isinstance(values, dict) or metadata is None:
        return "The form could not be read."
    chosen = _value(values, "partnership") or metadata.get("partnership")
    found = [p for p in partnerships if str(p.id) == str(chosen)]
    if not found:
        return "Pick a partnership."
    owners = _value(values, "owners") or []
    if not isinstance(owners, list) or not all(is_user_id(u) for u in owners):
        return "Pick the owners from the list."
    name = str(_value(values, "name") or "").translate(_QUOTE_FREE).strip()
    words = f'add "{name}" {_fields_text(values, owners)}'
    words += f' partnership="{found[0].name.translate(_QUOTE_FREE)}"'
    return found[0].name, words


def edit_command_text(
    view: dict[str, Any], partnerships: Sequence[PartnershipInfo]
) -> tuple[str, str] | str:
    """(KPI's name, `kpi edit …` or `kpi remove …` words) from the edit form, or why not."""
    values = (view.get("state") or {}).get("values") or {}
    metadata = _metadata(view)
    if not isinstance(values, dict) or metadata is None:
        return "The form could not be read."
    found = [p for p in partnerships if str(p.id) == str(metadata.get("partnership"))]
    old = str(metadata.get("name") or "").translate(_QUOTE_FREE).strip()
    if not found or not old:
        return "You can no longer change this KPI."
    where = f' partnership="{found[0].name.translate(_QUOTE_FREE)}"'
    if "remove" in (_value(values, "remove") or []):
        return old, f'remove "{old}"{where}'
    owners = _value(values, "owners") or []
    if not isinstance(owners, list) or not all(is_user_id(u) for u in owners):
        return "Pick the owners from the list."
    name = str(_value(values, "name") or "").translate(_QUOTE_FREE).strip()
    return old, f'edit "{old}" name="{name}" {_fields_text(values, owners)}{where}'
