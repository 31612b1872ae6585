"""The joint standup's buttons and modal, and `/tandem standup`.

Every surface does its work inside the request, then acks. The modal's
submission answers in its ack (inline errors, or the modal turned into a
confirmation): the answer is validated and saved, in one short database
transaction, before the ack; its Slack messages are queued in the outbox in
that same transaction and sent afterwards by the worker.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import payloads
from bot.clock import utcnow
from bot.commands import CommandRequest, Reply
from bot.listeners.answered import answered
from bot.services import Services
from bot.standup import (
    answer_view,
    offer_help,
    resolve_help,
    submit_answer,
    todays_view,
)
from bot.views.common import notice
from bot.views.standup import (
    ACTION_ANSWER,
    ACTION_OFFER_HELP,
    ACTION_RESOLVE_ASK,
    VIEW_ANSWER,
    result_view,
)
from rituals.refusal import Refusal

log = logging.getLogger(__name__)

TRY_AGAIN = "Sorry, something went wrong on our side and nothing was saved. Please try again."


def _ids(body: dict[str, Any]) -> tuple[str, str]:
    user = body.get("user") or {}
    team = body.get("team") or {}
    return str(user.get("id", "")), str(team.get("id") or user.get("team_id") or "")


def _value(body: dict[str, Any]) -> str:
    value = payloads.first_action(body).get("value")
    return value if isinstance(value, str) else ""


def _tell(respond: Respond | None, text: str) -> None:
    """An ephemeral answer to a click, through the click's response_url."""
    if respond is None:
        # The text may quote a member's answer: never above DEBUG.
        log.warning("no response_url to answer a click on")
        log.debug("unsent answer: %s", text)
        return
    respond(response_type="ephemeral", replace_original=False, **notice(text))


def register(app: App, services: Services) -> None:
    def answer_clicked(
        body: dict[str, Any], client: WebClient, respond: Respond | None = None
    ) -> None:
        user_id, team_id = _ids(body)
        day_id = payloads.row_id(_value(body))
        try:
            if day_id is None:
                raise Refusal("This button is out of date; use `/tandem standup` instead.")
            view = answer_view(services, team_id, user_id, day_id, utcnow())
        except Refusal as refusal:
            _tell(respond, str(refusal))
            return
        try:
            client.views_open(trigger_id=body.get("trigger_id", ""), view=view)
        except SlackApiError as exc:
            log.warning("views.open failed: %s", exc.response.get("error"))
            _tell(respond, "I couldn't open the form in time; please click the button again.")

    app.action(ACTION_ANSWER)(answered(answer_clicked))

    @app.view(VIEW_ANSWER)
    def answer_submitted(ack: Ack, body: dict[str, Any]) -> None:
        user_id, team_id = _ids(body)
        view = body.get("view") or {}
        values = (view.get("state") or {}).get("values") or {}
        try:
            outcome = submit_answer(
                services,
                team_id,
                user_id,
                str(view.get("private_metadata") or ""),
                values,
                utcnow(),
            )
        except Exception:
            log.exception("saving a standup answer failed")
            ack(response_action="errors", errors={next(iter(values), "done"): TRY_AGAIN})
            return
        if isinstance(outcome, Refusal):
            ack(response_action="errors", errors=outcome.errors)
            return
        ack(response_action="update", view=result_view(outcome.title, outcome.text))

    def help_offered(body: dict[str, Any], respond: Respond | None = None) -> None:
        user_id, team_id = _ids(body)
        _tell(respond, offer_help(services, team_id, user_id, _value(body), utcnow()))

    def ask_resolved(body: dict[str, Any], respond: Respond | None = None) -> None:
        user_id, team_id = _ids(body)
        outcome = resolve_help(services, team_id, user_id, _value(body), utcnow())
        if outcome.message is not None and respond is not None:
            respond(replace_original=True, **outcome.message)
        elif outcome.reply is not None:
            _tell(respond, outcome.reply)

    app.action(ACTION_OFFER_HELP)(answered(help_offered))
    app.action(ACTION_RESOLVE_ASK)(answered(ask_resolved))


class StandupCommand:
    """`/tandem standup`: open today's answer modal, or say when the next prompt is."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def __call__(self, req: CommandRequest) -> Reply:
        try:
            view = todays_view(self.services, req.slack_team_id, req.user_id, utcnow())
        except Refusal as refusal:
            return notice(str(refusal))
        try:
            req.client.views_open(trigger_id=req.trigger_id, view=view)
        except SlackApiError as exc:
            log.warning("views.open failed: %s", exc.response.get("error"))
            return notice("I couldn't open the form in time; please run `/tandem standup` again.")
        return None
