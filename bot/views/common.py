"""Small message shapes shared by several replies."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock


def notice(text: str, *, hint: str | None = None) -> dict[str, Any]:
    """An ephemeral reply: the text, plus an optional grey hint underneath."""
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text=text))]
    if hint:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=hint)]))
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}
