"""The `/tandem` slash command."""

from __future__ import annotations

from slack_bolt import App

from bot.admin import AdminCheck, AdminCommands
from bot.commands import CommandRouter
from bot.kudos import KudosService
from bot.listeners.standup import StandupCommand
from bot.member_balance import BalanceCommand
from bot.member_commands import MemberCommands
from bot.services import Services
from bot.shadowing import ShadowingService

COMMAND = "/tandem"


def build_router(services: Services) -> CommandRouter:
    router = CommandRouter()
    router.add("admin", AdminCommands(services, AdminCheck(services.settings.admin_user_ids)))
    router.add("kudos", KudosService(services))
    router.add("standup", StandupCommand(services))
    router.add("pair", ShadowingService(services).pair_command)
    members = MemberCommands(services)
    router.add("away", members.away)
    router.add("back", members.back)
    router.add("optout", members.optout)
    router.add("optin", members.optin)
    router.add("balance", BalanceCommand())
    return router


def register(app: App, services: Services) -> None:
    router = build_router(services)

    @app.command(COMMAND)
    def tandem(ack, body, respond, client) -> None:  # type: ignore[no-untyped-def]
        router(ack, body, respond, client, services)
