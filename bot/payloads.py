"""Strict readers for what a member's client sends back: button values and private_metadata.

We wrote these values, but the client returns whatever it likes, so each
is read with the shape we gave it or not at all: row ids follow the one rule
of rituals.slack_text.record_id ("²", "-1", " 7", "1e3" and 25-digit numbers
are not ids), metadata is a small JSON object, and Slack ids have Slack's id
shape. A reader returns None for anything else; the caller then refuses
politely and changes nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rituals.slack_text import record_id

MAX_METADATA = 3000  # Slack's own limit for private_metadata
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,30}")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
_OPTION_VALUE = re.compile(r"[^\s<>&#|`]{1,150}")


def row_id(value: object) -> int | None:
    """A database id written as text (a button value, a block id's suffix), else None."""
    return record_id(value) if isinstance(value, str) else None


def metadata_id(value: object) -> int | None:
    """A database id written as a JSON number in private_metadata, else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return record_id(value)


def row_ids(value: object, count: int) -> tuple[int, ...] | None:
    """`count` row ids joined by ":" (for example "ask:helper"), else None."""
    if not isinstance(value, str):
        return None
    parts = value.split(":")
    ids = tuple(row_id(part) for part in parts)
    if len(ids) != count or any(i is None for i in ids):
        return None
    return tuple(i for i in ids if i is not None)


def metadata(raw: object) -> dict[str, Any] | None:
    """private_metadata as the JSON object we wrote, else None."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_METADATA:
        return None
    try:
        found = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return found if isinstance(found, dict) else None


def channel_id(value: object) -> str | None:
    """A Slack conversation id (public, private or DM), else None."""
    return value if isinstance(value, str) and _CHANNEL_ID.fullmatch(value) else None


def user_id(value: object) -> str | None:
    """A Slack user id, else None."""
    return value if isinstance(value, str) and _USER_ID.fullmatch(value) else None


def option_values(options: object) -> list[str] | None:
    """The values of a multi-select's selected options: short words without markup, else None."""
    if not isinstance(options, list):
        return None
    found = [o.get("value") if isinstance(o, dict) else None for o in options]
    if not all(isinstance(v, str) and _OPTION_VALUE.fullmatch(v) for v in found):
        return None
    return [str(v) for v in found]


def first_action(body: dict[str, Any]) -> dict[str, Any]:
    """The clicked element of a block_actions payload; {} when the payload has none."""
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        return actions[0]
    return {}
