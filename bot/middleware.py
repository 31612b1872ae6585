"""Cross-cutting request handling that runs before any listener."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse

from bot.clock import utcnow
from bot.services import Services
from storage import events
from storage.db import transaction

log = logging.getLogger(__name__)

Job = Callable[[], None]


def request_key(body: Any) -> str | None:
    """What makes a request the same request: its event id, else its trigger id.

    Slack sends a retried event with the same `event_id`; slash commands and
    interactions carry a `trigger_id` unique to the member's action. Payloads
    without either (options loads, a closed modal) change nothing and are not keyed.
    """
    if not isinstance(body, dict):
        return None
    if body.get("type") == "event_callback":
        event_id = body.get("event_id")
        return event_id if isinstance(event_id, str) and event_id else None
    trigger_id = body.get("trigger_id")
    if isinstance(trigger_id, str) and trigger_id:
        return f"trigger:{trigger_id}"
    return None


def drop_repeated_requests(services: Services) -> Callable[..., Any]:
    """Act on each request once: Slack's retried events and replayed requests get an empty 200.

    A replay is the same signed body sent again while its signature is still
    valid; its key was stored when it first came, so it changes nothing.
    """

    def middleware(request: BoltRequest, body: dict[str, Any], next: Callable[[], Any]) -> Any:
        key = request_key(body)
        if key is None:
            return next()
        with transaction(services.sessions) as session:
            first = events.first_delivery(session, key, utcnow())
        if not first:
            log.info("dropping a repeated request (%s)", key.partition(":")[0] or "event")
            return BoltResponse(status=200, body="")
        return next()

    return middleware


def prune_job(services: Services) -> Job:
    """The worker's periodic clean-up of request keys past the replay window."""

    def run() -> None:
        try:
            with transaction(services.sessions) as session:
                gone = events.prune(session, utcnow())
        except Exception:
            log.exception("pruning request keys failed")
            return
        if gone:
            log.debug("pruned %d request keys", gone)

    return run
