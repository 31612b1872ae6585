"""Replies to the ritual admin commands: the ritual listing and the audit log."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.views.home import KIND_TITLES
from bot.views.shadowing import slack_time
from rituals.slack_text import escape
from storage.audit import AuditEntry
from storage.home import PartnershipLine
from storage.rituals import RitualSnapshot

SECTION_TEXT_LIMIT = 3000
MAX_BLOCKS = 50  # a message's limit
_VALUE_LIMIT = 300


def _message(text: str, blocks: Sequence[Block]) -> dict[str, Any]:
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}


def _sections(lines: Sequence[str]) -> list[Block]:
    """Lines packed into as few sections as Slack's text limit allows."""
    blocks: list[Block] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        line = line if len(line) <= SECTION_TEXT_LIMIT else line[: SECTION_TEXT_LIMIT - 1] + "…"
        if chunk and size + len(line) + 1 > SECTION_TEXT_LIMIT:
            blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    return blocks


def ritual_line(
    ritual: RitualSnapshot, schedule_text: str, next_at: datetime | None, default_tz: str
) -> str:
    title = KIND_TITLES.get(ritual.kind, ritual.kind)
    if ritual.paused:
        when = "*paused*"
    elif next_at is None:
        when = "never fires"
    else:
        where = f" (in {default_tz})" if ritual.is_member_local else ""
        when = f"next {slack_time(next_at)}{where}"
    return f"`#{ritual.id}` *{title}* · {escape(schedule_text)} · {when}"


def ritual_list(partnerships: Sequence[tuple[PartnershipLine, Sequence[str]]]) -> dict[str, Any]:
    """Each partnership with its rituals' lines (see `ritual_line`)."""
    if not partnerships:
        return _message(
            "No partnerships yet.",
            [SectionBlock(text=MarkdownTextObject(text="No partnerships yet, so no rituals."))],
        )
    lines: list[str] = []
    count = 0
    for partnership, rituals in partnerships:
        lines.append(f"*{escape(partnership.name)}* (partnership {partnership.id})")
        lines += list(rituals) or ["_No rituals: `/tandem admin ritual add …` adds one._"]
        count += len(rituals)
    blocks: list[Block] = [HeaderBlock(text="Rituals"), *_sections(lines)]
    blocks = blocks[: MAX_BLOCKS - 1]
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="`/tandem admin ritual <id> schedule|pause|resume|run-now|delete` "
                    "changes one; the Home tab has the same as buttons."
                )
            ]
        )
    )
    return _message(f"{count} ritual{'s' if count != 1 else ''}", blocks)


def audit_list(entries: Sequence[AuditEntry]) -> dict[str, Any]:
    if not entries:
        return _message(
            "Nothing has been changed yet.",
            [SectionBlock(text=MarkdownTextObject(text="Nothing has been changed yet."))],
        )
    lines = [_audit_line(entry) for entry in entries]
    blocks: list[Block] = [HeaderBlock(text="Latest changes"), *_sections(lines)]
    return _message(f"The last {len(entries)} changes", blocks[:MAX_BLOCKS])


def _audit_line(entry: AuditEntry) -> str:
    before, after = _changed(entry.before, entry.after)
    return (
        f"{slack_time(entry.at)} · <@{entry.actor_user_id}> · *{escape(entry.action)}* "
        f"`{escape(entry.target)}`\n    before: `{_short(before)}`\n    after: `{_short(after)}`"
    )


def _changed(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Only the keys that differ, when both sides are there."""
    if before is None or after is None:
        return before, after
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _short(value: dict[str, Any] | None) -> str:
    text = "—" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = text.replace("`", "'")
    return escape(text if len(text) <= _VALUE_LIMIT else text[: _VALUE_LIMIT - 1] + "…")
