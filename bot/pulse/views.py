"""Block Kit for the pulse: the monthly DM, the answer form, and a notice in a modal."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from rituals.pulse import MAX_COMMENT, SCALE
from rituals.slack_text import escape

OPEN_ACTION_ID = "pulse_open"
VIEW_CALLBACK_ID = "pulse_answer"
SCORE_BLOCK, SCORE_ACTION = "pulse_score", "score"
COMMENT_BLOCK, COMMENT_ACTION = "pulse_comment", "comment"


def question(other_team: str) -> str:
    return f"How effective was our collaboration with {other_team} this month?"


def ask_message(round_id: int, other_team: str, *, reminder: bool = False) -> dict[str, Any]:
    opening = "A reminder: the pulse closes at the end of the month." if reminder else ":wave:"
    text = (
        f"{opening} Two quick questions about working with {escape(other_team)}. Your answer is "
        "stored with your team and the month only, never your name; leaders see a team's "
        "result only when at least 5 people answered."
    )
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Answer", action_id=OPEN_ACTION_ID, value=str(round_id), style="primary"
                )
            ]
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="You can change your answer until the month ends. "
                    "`/tandem optout pulse` stops these questions."
                )
            ]
        ),
    ]
    return {"text": escape(question(other_team)), "blocks": [b.to_dict() for b in blocks]}


def answer_modal(round_id: int, other_team: str) -> dict[str, Any]:
    options = [Option(value=str(score), label=label) for score, label in SCALE.items()]
    view = View(
        type="modal",
        callback_id=VIEW_CALLBACK_ID,
        private_metadata=str(round_id),
        title="Collaboration pulse",
        submit="Send",
        close="Cancel",
        blocks=[
            InputBlock(
                block_id=SCORE_BLOCK,
                label=question(other_team)[:2000],
                element=RadioButtonsElement(action_id=SCORE_ACTION, options=options),
            ),
            InputBlock(
                block_id=COMMENT_BLOCK,
                label="What one thing would help most?",
                optional=True,
                element=PlainTextInputElement(
                    action_id=COMMENT_ACTION, multiline=True, max_length=MAX_COMMENT
                ),
                hint="Shared with leaders only among 5 or more comments, with names removed.",
            ),
        ],
    )
    return view.to_dict()


def notice_view(text: str) -> dict[str, Any]:
    view = View(
        type="modal",
        title="Collaboration pulse",
        close="Close",
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    )
    return view.to_dict()
