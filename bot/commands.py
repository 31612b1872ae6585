"""Routing `/tandem <subcommand>` to the code that answers it.

Every subcommand runs inside the request: its change is committed in one
transaction and its answer is the ack itself, so a member is told something
worked only once it is stored. `help` and unknown words need no work at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient

from bot.services import Services
from bot.views.common import notice
from bot.views.help import help_message
from rituals.commands import split_subcommand, suggest
from rituals.slack_text import echo

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CommandRequest:
    user_id: str
    slack_team_id: str
    channel_id: str
    text: str  # the words after the subcommand, Slack-escaped
    trigger_id: str
    client: WebClient
    services: Services

    @property
    def workspace_id(self) -> int:
        return self.services.workspace_id(self.slack_team_id)


Reply = dict[str, Any] | None
Handler = Callable[[CommandRequest], Reply]


AdminTest = Callable[[WebClient, str], bool]


class CommandRouter:
    def __init__(self, is_admin: AdminTest | None = None) -> None:
        """`is_admin` decides who sees the admin commands in help (nobody without it)."""
        self._handlers: dict[str, Handler] = {}
        self._help: dict[bool, dict[str, Any]] = {}
        self._is_admin = is_admin

    def add(self, name: str, handler: Handler) -> None:
        self._handlers[name] = handler
        self._help = {}

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._handlers) | {"help"}

    def answered_in_ack(self, body: dict[str, Any]) -> bool:
        """True for `help` and unknown words: their whole answer is the ack, with no work after."""
        name, _ = split_subcommand(str(body.get("text", "")))
        return name not in self._handlers

    def answer(
        self, ack: Callable[..., Any], body: dict[str, Any], client: WebClient | None = None
    ) -> None:
        name, _ = split_subcommand(str(body.get("text", "")))
        user_id = str(body.get("user_id", ""))
        show_admin = (
            self._is_admin is not None
            and client is not None
            and bool(user_id)
            and self._is_admin(client, user_id)
        )
        ack(self._help_reply(name, show_admin))

    def work(self, body: dict[str, Any], client: WebClient, services: Services) -> Reply:
        """Run the subcommand; its answer, for the ack, or None for an empty ack."""
        name, rest = split_subcommand(str(body.get("text", "")))
        handler = self._handlers.get(name)
        if handler is None:
            return self._help_reply(name)
        request = CommandRequest(
            user_id=str(body.get("user_id", "")),
            slack_team_id=str(body.get("team_id", "")),
            channel_id=str(body.get("channel_id", "")),
            text=rest,
            trigger_id=str(body.get("trigger_id", "")),
            client=client,
            services=services,
        )
        try:
            reply = handler(request)
        except Exception:
            log.exception("/tandem %s failed", name)
            reply = notice(
                "Sorry, something went wrong on our side and nothing was changed. "
                "Please try again in a minute."
            )
        return reply

    def _help_reply(self, name: str, show_admin: bool) -> dict[str, Any]:
        if name == "help":
            # The most common request, one version for admins and one for everyone else.
            if show_admin not in self._help:
                self._help[show_admin] = help_message(self.names, show_admin=show_admin)
            return self._help[show_admin]
        hint = suggest(name, tuple(sorted(self.names)))
        preface = f"I don't know `/tandem {echo(name)}`." + (
            f" Did you mean `/tandem {hint}`?" if hint else ""
        )
        return help_message(self.names, show_admin=show_admin, preface=preface)
