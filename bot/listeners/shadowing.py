"""Shadowing surfaces: the pair's three buttons and the reflection form after "We met"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import payloads
from bot.clock import utcnow
from bot.listeners.answered import answered
from bot.services import Services
from bot.shadowing import ButtonResult, ShadowingService
from bot.views.shadowing import (
    ANSWER_ACTION,
    HANDOFF_BLOCK,
    LEARNED_BLOCK,
    MET_ACTION_ID,
    REFLECTION_CALLBACK_ID,
    RESCHEDULE_ACTION_ID,
    SKIP_ACTION_ID,
    reflection_modal,
    saved_modal,
)

log = logging.getLogger(__name__)

Press = Callable[[int, str, int, datetime], ButtonResult]


def _team_id(body: dict[str, Any]) -> str:
    return str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or "")


def _pairing_id(body: dict[str, Any]) -> int | None:
    return payloads.row_id(payloads.first_action(body).get("value"))


def tell(body: dict[str, Any], respond: Callable[..., Any], client: WebClient, text: str) -> None:
    """A message only the presser sees, under the message they pressed."""
    if body.get("response_url"):
        respond(text=text, response_type="ephemeral", replace_original=False)
        return
    channel_id = (body.get("channel") or {}).get("id")
    if channel_id:
        try:
            client.chat_postEphemeral(channel=channel_id, user=str(body["user"]["id"]), text=text)
        except SlackApiError as exc:
            log.info("shadowing notice not shown: %s", exc.response.get("error"))


def press(
    action: Press,
    services: Services,
    client: WebClient,
    body: dict[str, Any],
    respond: Callable[..., Any],
) -> None:
    """Run one button's action and show its outcome; "We met" opens the reflection form."""
    pairing_id = _pairing_id(body)
    if pairing_id is None:
        tell(body, respond, client, "This button is out of date, so nothing was recorded.")
        return
    user_id = str(body["user"]["id"])
    result = action(services.workspace_id(_team_id(body)), user_id, pairing_id, utcnow())
    if result.reflection_for is not None:
        reflected_id, partners = result.reflection_for
        try:
            client.views_open(
                trigger_id=str(body["trigger_id"]), view=reflection_modal(reflected_id, partners)
            )
        except SlackApiError as exc:
            log.warning("reflection form did not open: %s", exc.response.get("error"))
            tell(body, respond, client, "Recorded that you met. Thank you!")
        return
    if result.message:
        tell(body, respond, client, result.message)


def _answer(values: dict[str, Any], block_id: str) -> str:
    return str((values.get(block_id, {}).get(ANSWER_ACTION) or {}).get("value") or "").strip()


def submit_reflection(
    service: ShadowingService, services: Services, body: dict[str, Any], ack: Callable[..., Any]
) -> None:
    """Save both answers, or point at what is missing without closing the form."""
    view = body["view"]
    values = (view.get("state") or {}).get("values") or {}
    learned, handoff = _answer(values, LEARNED_BLOCK), _answer(values, HANDOFF_BLOCK)
    missing = {
        block: "A few words are enough, but please write something."
        for block, answer in ((LEARNED_BLOCK, learned), (HANDOFF_BLOCK, handoff))
        if not answer
    }
    if missing:
        ack(response_action="errors", errors=missing)
        return
    pairing_id = payloads.row_id(view.get("private_metadata"))
    if pairing_id is None:
        ack(
            response_action="errors",
            errors={LEARNED_BLOCK: "This form expired; press We met again."},
        )
        return
    problem = service.reflect(
        services.workspace_id(_team_id(body)),
        str(body["user"]["id"]),
        pairing_id,
        learned,
        handoff,
        utcnow(),
    )
    if problem is not None:
        ack(response_action="errors", errors={LEARNED_BLOCK: problem})
        return
    ack(response_action="update", view=saved_modal())


def register(app: App, services: Services) -> None:
    service = ShadowingService(services)

    def met(body, respond, client) -> None:  # type: ignore[no-untyped-def]
        press(service.met, services, client, body, respond)

    def reschedule(body, respond, client) -> None:  # type: ignore[no-untyped-def]
        press(service.reschedule, services, client, body, respond)

    def skip(body, respond, client) -> None:  # type: ignore[no-untyped-def]
        press(service.skip, services, client, body, respond)

    app.action(MET_ACTION_ID)(answered(met))
    app.action(RESCHEDULE_ACTION_ID)(answered(reschedule))
    app.action(SKIP_ACTION_ID)(answered(skip))

    @app.view(REFLECTION_CALLBACK_ID)
    def reflection(ack, body) -> None:  # type: ignore[no-untyped-def]
        submit_reflection(service, services, body, ack)
