"""The `/tandem` slash command."""

from __future__ import annotations

from slack_bolt import App

from bot.admin import AdminCheck, AdminCommands
from bot.commands import CommandRouter
from bot.kpi.listeners import command as kpi_command
from bot.kudos import KudosService
from bot.listeners.answered import ack_reply
from bot.listeners.standup import StandupCommand
from bot.member_balance import BalanceCommand
from bot.member_commands import MemberCommands
from bot.my_data import MyDataCommands
from bot.services import Services
from bot.shadowing import ShadowingService

COMMAND = "/tandem"


def build_router(services: Services) -> CommandRouter:
    is_admin = AdminCheck(services.settings.admin_user_ids)
    router = CommandRouter(is_admin)
    router.add("admin", AdminCommands(services, is_admin))
    router.add("kudos", KudosService(services))
    router.add("standup", StandupCommand(services))
    router.add("pair", ShadowingService(services).pair_command)
    members = MemberCommands(services)
    router.add("away", members.away)
    router.add("back", members.back)
    router.add("optout", members.optout)
    router.add("optin", members.optin)
    router.add("balance", BalanceCommand())
    router.add("kpi", kpi_command(services))
    own_data = MyDataCommands(services)
    router.add("mydata", own_data.mydata)
    router.add("forget", own_data.forget)
    return router


def register(app: App, services: Services) -> None:
    router = build_router(services)

    # Two listeners, so `help` (the most common request) touches neither the database
    # nor Slack; Bolt runs the first listener whose matchers agree.
    def is_help(body) -> bool:  # type: ignore[no-untyped-def]
        return router.answered_in_ack(body)

    def tandem_help(ack, body, client) -> None:  # type: ignore[no-untyped-def]
        router.answer(ack, body, client)

    def run_subcommand(ack, body, client) -> None:  # type: ignore[no-untyped-def]
        # The work commits inside the request; its answer is the ack itself.
        ack_reply(ack, router.work(body, client, services))

    app.command(COMMAND, matchers=[is_help])(tandem_help)
    app.command(COMMAND)(run_subcommand)
