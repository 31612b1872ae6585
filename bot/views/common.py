"""Small message shapes shared by several replies."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from rituals.slack_text import truncate
from rituals.text_chunks import SECTION_TEXT_LIMIT

# A context element's text, like a section's, is limited; Slack refuses the whole reply if over.
CONTEXT_TEXT_LIMIT = 3000


def notice(text: str, *, hint: str | None = None) -> dict[str, Any]:
    """An ephemeral reply: the text, plus an optional grey hint underneath.

    Both are cut to Slack's limits, so a reply that repeats a member's words
    is still sent when those words are long.
    """
    text = truncate(text, SECTION_TEXT_LIMIT)
    blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text=text))]
    if hint:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=truncate(hint, CONTEXT_TEXT_LIMIT))])
        )
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}
