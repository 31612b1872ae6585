"""The Bolt app factory: settings in, a configured App out."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

from bot import listeners
from bot.middleware import drop_retried_events
from bot.services import Services
from bot.slack_client import make_client


def create_app(services: Services, *, client: WebClient | None = None) -> App:
    settings = services.settings
    settings.require_slack_credentials()
    signing_secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    app = App(
        client=client or make_client(settings),
        signing_secret=signing_secret,
        # Signatures are always checked over HTTP; Socket Mode has no signature to check.
        request_verification_enabled=not settings.socket_mode,
        token_verification_enabled=True,
        logger=logging.getLogger("tandem.bolt"),
    )
    app.use(drop_retried_events(services))
    listeners.register(app, services)
    return app
