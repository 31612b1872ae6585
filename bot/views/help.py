"""The `/tandem help` message: every subcommand, one line each."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from rituals.commands import ADMIN_USAGE, SUBCOMMANDS


def help_message(
    available: Collection[str], *, show_admin: bool, preface: str | None = None
) -> dict[str, Any]:
    """Only subcommands that are wired up are listed, and admin ones only to admins."""
    offered = [s for s in SUBCOMMANDS if s.name in available]
    lines = [f"`{s.usage}`\n{s.summary}" for s in offered if not s.admin]
    blocks: list[Any] = []
    if preface:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=preface)))
    blocks.append(HeaderBlock(text="Tandem: rituals between teams"))
    blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(lines))))
    if show_admin:
        blocks.append(DividerBlock())
        admin_lines = "\n".join(f"`{usage}`\n{summary}" for usage, summary in ADMIN_USAGE)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*Admin*\n{admin_lines}")))
    else:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="Your Tandem admins set up teams and rituals; "
                        "App Home shows your rituals and switches."
                    )
                ]
            )
        )
    names = [s.name for s in offered if show_admin or not s.admin]
    text = (preface + "\n" if preface else "") + "Tandem commands: " + ", ".join(names)
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}
