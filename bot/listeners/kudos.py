"""Kudos surfaces: the message shortcut, the form, the +1 button and the weekly prompt's picker."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import payloads
from bot.clock import utcnow
from bot.kudos import Field, GiveRequest, KudosService, Posted, form_text, plain
from bot.listeners.answered import answered
from bot.services import Services
from bot.views.kudos import (
    MODAL_CALLBACK_ID,
    PROMPT_BLOCK_PREFIX,
    PROMPT_PICK_ACTION_ID,
    REASON_ACTION,
    REASON_BLOCK,
    RECIPIENTS_ACTION,
    RECIPIENTS_BLOCK,
    SECOND_ACTION_ID,
    VALUES_ACTION,
    VALUES_BLOCK,
    ModalContext,
    notice_modal,
)
from rituals.refusal import Refusal

MESSAGE_SHORTCUT_ID = "give_kudos_for_message"

log = logging.getLogger(__name__)

_BLOCK_OF_FIELD = {
    Field.RECIPIENTS: RECIPIENTS_BLOCK,
    Field.REASON: REASON_BLOCK,
    Field.VALUES: VALUES_BLOCK,
}


def _team_id(body: dict[str, Any]) -> str:
    return str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or "")


def _open(client: WebClient, trigger_id: str, view: dict[str, Any]) -> None:
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("kudos form did not open: %s", exc.response.get("error"))


def open_for_message(
    service: KudosService, services: Services, client: WebClient, body: dict[str, Any]
) -> None:
    """The form, prefilled with the message's author and a link to the message."""
    user_id = str(body["user"]["id"])
    channel_id = str((body.get("channel") or {}).get("id") or "")
    message = body.get("message") or {}
    author = message.get("user")
    by_a_person = author and not message.get("bot_id") and message.get("subtype") != "bot_message"
    link = None
    ts = message.get("ts") or body.get("message_ts")
    if channel_id and ts:
        try:
            link = client.chat_getPermalink(channel=channel_id, message_ts=ts).get("permalink")
        except SlackApiError as exc:
            log.info("no permalink for %s/%s: %s", channel_id, ts, exc.response.get("error"))
    view = service.form(
        services.workspace_id(_team_id(body)),
        user_id,
        channel_id,
        initial_users=[str(author)] if by_a_person else [],
        link=link,
    )
    _open(client, str(body["trigger_id"]), _view_or_notice(view))


def _view_or_notice(view: dict[str, Any] | Refusal) -> dict[str, Any]:
    if isinstance(view, Refusal):
        return notice_modal(view.message + (f"\n\n{view.hint}" if view.hint else ""))
    return view


def submit_form(
    service: KudosService,
    services: Services,
    client: WebClient,
    body: dict[str, Any],
    ack: Callable[..., Any],
) -> None:
    """Validate and post; mistakes come back inline on the field they are about."""
    view = body["view"]
    values = (view.get("state") or {}).get("values") or {}
    users = (values.get(RECIPIENTS_BLOCK, {}).get(RECIPIENTS_ACTION) or {}).get(
        "selected_users"
    ) or []
    reason = (values.get(REASON_BLOCK, {}).get(REASON_ACTION) or {}).get("value") or ""
    chosen = (values.get(VALUES_BLOCK, {}).get(VALUES_ACTION) or {}).get("selected_options") or []
    context = ModalContext.load(str(view.get("private_metadata") or ""))
    if context is None:
        ack(
            response_action="errors", errors={RECIPIENTS_BLOCK: "This form expired; open it again."}
        )
        return
    picked_values = payloads.option_values(chosen)
    if not isinstance(users, list) or not all(payloads.user_id(u) for u in users):
        ack(response_action="errors", errors={RECIPIENTS_BLOCK: "Pick people from the list."})
        return
    if not isinstance(reason, str):
        ack(response_action="errors", errors={REASON_BLOCK: "Write a few words of thanks."})
        return
    if picked_values is None:
        ack(response_action="errors", errors={VALUES_BLOCK: "Pick values from the list."})
        return
    try:
        result = _give_from_form(
            service, services, client, body, context, users, reason, picked_values
        )
    except Exception:
        log.exception("kudos form submission failed")
        ack(
            response_action="errors",
            errors={
                RECIPIENTS_BLOCK: "Sorry, something went wrong on our side and nothing was "
                "posted. Please try again in a minute."
            },
        )
        return
    if isinstance(result, Refusal):
        present = set(values) | {b.get("block_id") for b in view.get("blocks") or []}
        block = _BLOCK_OF_FIELD[Field(result.field or Field.RECIPIENTS)]
        if block not in present:  # no values are offered: a stray #tag was typed in the reason
            block = REASON_BLOCK
        ack(response_action="errors", errors={block: plain(result.message, result.names)})
        return
    ack(
        response_action="update",
        view=notice_modal(f"Thanks! Your kudos are on their way to <#{result.channel_id}>."),
    )


def _give_from_form(
    service: KudosService,
    services: Services,
    client: WebClient,
    body: dict[str, Any],
    context: ModalContext,
    users: list[str],
    reason: str,
    chosen: list[str],
) -> Posted | Refusal:
    return service.give(
        client,
        GiveRequest(
            workspace_id=services.workspace_id(_team_id(body)),
            giver_id=str(body["user"]["id"]),
            channel_id=context.channel_id,
            text=form_text(users, reason, chosen),
            link=context.link,
            partnership_id=context.partnership_id,
        ),
        utcnow(),
    )


def second(
    service: KudosService,
    services: Services,
    client: WebClient,
    body: dict[str, Any],
    respond: Callable[..., Any],
) -> None:
    """A +1 on a public post; only the presser sees the answer."""
    user_id = str(body["user"]["id"])
    kudos_id = payloads.row_id(payloads.first_action(body).get("value"))
    answer = "This button is out of date, so nothing was added."
    if kudos_id is not None:
        refusal = service.second(
            client, services.workspace_id(_team_id(body)), user_id, kudos_id, utcnow()
        )
        # The post shows the new count once the outbox sends the update; say so at once.
        answer = refusal or "Your +1 is in. Thanks for adding your voice!"
    if body.get("response_url"):
        respond(text=answer, response_type="ephemeral", replace_original=False)
        return
    channel_id = (body.get("channel") or {}).get("id")
    if channel_id:
        client.chat_postEphemeral(channel=channel_id, user=user_id, text=answer)


def pick_from_prompt(
    service: KudosService, services: Services, client: WebClient, body: dict[str, Any]
) -> None:
    """Someone picked a person in the weekly prompt: the form, with that person filled in."""
    action = payloads.first_action(body)
    option = action.get("selected_option")
    picked = payloads.user_id(option.get("value") if isinstance(option, dict) else None)
    block_id = str(action.get("block_id") or "")
    partnership_id = (
        payloads.row_id(block_id.removeprefix(PROMPT_BLOCK_PREFIX))
        if block_id.startswith(PROMPT_BLOCK_PREFIX)
        else None
    )
    channel_id = str(
        (body.get("channel") or {}).get("id")
        or (body.get("container") or {}).get("channel_id")
        or ""
    )
    view = service.form(
        services.workspace_id(_team_id(body)),
        str(body["user"]["id"]),
        channel_id,
        initial_users=[picked] if picked else [],
        partnership_id=partnership_id,
    )
    _open(client, str(body["trigger_id"]), _view_or_notice(view))


def register(app: App, services: Services) -> None:
    service = KudosService(services)

    def give_for_message(body, client) -> None:  # type: ignore[no-untyped-def]
        open_for_message(service, services, client, body)

    app.message_shortcut(MESSAGE_SHORTCUT_ID)(answered(give_for_message))

    @app.view(MODAL_CALLBACK_ID)
    def give_from_form(ack, body, client) -> None:  # type: ignore[no-untyped-def]
        submit_form(service, services, client, body, ack)

    def plus_one(body, respond, client) -> None:  # type: ignore[no-untyped-def]
        second(service, services, client, body, respond)

    def picked(body, client) -> None:  # type: ignore[no-untyped-def]
        pick_from_prompt(service, services, client, body)

    app.action(SECOND_ACTION_ID)(answered(plus_one))
    app.action(PROMPT_PICK_ACTION_ID)(answered(picked))
