"""Slack entry points for the pulse: the DM's button opens the form; the form records the answer.

The answer is recorded in the request and the form closes with the ack, so a
member who sees it close knows it is stored.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.clock import utcnow
from bot.listeners.answered import answered
from bot.pulse.answering import PulseAnswers
from bot.pulse.views import (
    COMMENT_ACTION,
    COMMENT_BLOCK,
    OPEN_ACTION_ID,
    SCORE_ACTION,
    SCORE_BLOCK,
    VIEW_CALLBACK_ID,
    answer_modal,
    notice_view,
)
from bot.services import Services
from rituals.pulse import valid_score
from rituals.slack_text import escape, record_id

log = logging.getLogger(__name__)


def _now() -> datetime:
    """The clock, looked up at each call so tests pin it in one place."""
    return utcnow()


def _team_id(body: dict[str, Any]) -> str:
    return str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or "")


def open_form(
    answers: PulseAnswers, services: Services, client: WebClient, body: dict[str, Any]
) -> None:
    try:
        round_id = record_id(body["actions"][0]["value"])
        user_id = str(body["user"]["id"])
        trigger_id = str(body["trigger_id"])
    except (KeyError, IndexError, TypeError):
        return
    if round_id is None:
        return
    form = answers.form(services.workspace_id(_team_id(body)), user_id, round_id)
    view = (
        notice_view(form) if isinstance(form, str) else answer_modal(form.round_id, form.other_team)
    )
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("pulse form did not open: %s", exc.response.get("error"))


def submit(answers: PulseAnswers, services: Services, ack: Ack, body: dict[str, Any]) -> None:
    view = body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}
    round_id = record_id(view.get("private_metadata"))
    picked = ((values.get(SCORE_BLOCK) or {}).get(SCORE_ACTION) or {}).get("selected_option") or {}
    score = valid_score(str(picked.get("value") or ""))
    comment = ((values.get(COMMENT_BLOCK) or {}).get(COMMENT_ACTION) or {}).get("value") or ""
    if round_id is None or not isinstance(comment, str):
        ack(
            response_action="update",
            view=notice_view("This form could not be read; nothing was recorded."),
        )
        return
    if score is None:
        ack(response_action="errors", errors={SCORE_BLOCK: "Pick a number from 1 to 5."})
        return
    user_id = str((body.get("user") or {}).get("id") or "")
    refused = answers.answer(
        services.workspace_id(_team_id(body)), user_id, round_id, score, comment
    )
    if refused:
        ack(response_action="update", view=notice_view(escape(refused)))
        return
    ack(
        response_action="update",
        view=notice_view(
            "Thank you: your answer is in, stored with your team and the month only. "
            "You can change it until the month ends."
        ),
    )


def register(app: App, services: Services) -> None:
    answers = PulseAnswers(services.sessions, _now)

    def open_pulse(body, client) -> None:  # type: ignore[no-untyped-def]
        open_form(answers, services, client, body)

    def send_pulse(ack, body) -> None:  # type: ignore[no-untyped-def]
        submit(answers, services, ack, body)

    app.action(OPEN_ACTION_ID)(answered(open_pulse))
    app.view(VIEW_CALLBACK_ID)(send_pulse)
