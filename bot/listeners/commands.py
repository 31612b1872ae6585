"""The `/tandem` slash command."""

from __future__ import annotations

from slack_bolt import App

from bot.admin import AdminCheck, AdminCommands
from bot.commands import CommandRouter
from bot.services import Services

COMMAND = "/tandem"


def build_router(services: Services) -> CommandRouter:
    router = CommandRouter()
    router.add("admin", AdminCommands(services, AdminCheck(services.settings.admin_user_ids)))
    return router


def register(app: App, services: Services) -> None:
    router = build_router(services)

    @app.command(COMMAND)
    def tandem(ack, body, respond, client) -> None:  # type: ignore[no-untyped-def]
        router(ack, body, respond, client, services)
