"""Listeners, one module per surface; each exposes `register(app, services)`."""

from __future__ import annotations

from slack_bolt import App

from bot.kpi import listeners as kpi_listeners
from bot.listeners import commands, digest, home, kudos, shadowing, standup
from bot.pulse import listeners as pulse_listeners
from bot.services import Services


def register(app: App, services: Services) -> None:
    commands.register(app, services)
    kudos.register(app, services)
    standup.register(app, services)
    shadowing.register(app, services)
    digest.register(app, services)
    home.register(app, services)
    kpi_listeners.register(app, services)
    pulse_listeners.register(app, services)
