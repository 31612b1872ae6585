"""The leaders' digest: its "What do these numbers mean?" button opens the definitions."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners.answered import answered
from bot.services import Services
from bot.views.digest import EXPLAIN_ACTION_ID, explain_modal

__all__ = ["EXPLAIN_ACTION_ID", "register"]


def register(app: App, services: Services) -> None:
    def explain(body, client) -> None:  # type: ignore[no-untyped-def]
        # The direct answer to the click: a trigger id is only valid for three seconds,
        # so this cannot wait for the outbox.
        client.views_open(trigger_id=body["trigger_id"], view=explain_modal())

    app.action(EXPLAIN_ACTION_ID)(answered(explain))
