"""Cross-cutting request handling that runs before any listener."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse

from bot.clock import utcnow
from bot.services import Services
from storage.db import transaction
from storage.events import first_delivery

log = logging.getLogger(__name__)


def drop_retried_events(services: Services) -> Callable[..., Any]:
    """Slack redelivers an event when our answer was slow; handle each event id once."""

    def middleware(request: BoltRequest, body: dict[str, Any], next: Callable[[], Any]) -> Any:
        # A lazy-only request is our own hand-off of an event already counted (bot/handoff.py).
        if request.lazy_only:
            return next()
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id:
            return next()
        with transaction(services.sessions) as session:
            first = first_delivery(session, str(event_id), utcnow())
        if not first:
            log.info("dropping a repeated delivery of event %s", event_id)
            return BoltResponse(status=200, body="")
        return next()

    return middleware
