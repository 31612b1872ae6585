"""The Bolt app factory: settings in, a configured App out."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient

from bot import listeners
from bot.middleware import drop_retried_events
from bot.services import Services
from bot.slack_client import make_client

LISTENER_THREADS = 64


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
        # Bolt runs each listener (its ack and the work after it) on this pool;
        # with Bolt's default of 10 threads, a burst of slow work left new
        # requests queueing for a thread before they could even ack.
        listener_executor=ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="tandem-listener"
        ),
    )
    app.use(drop_retried_events(services))
    listeners.register(app, services)
    return app
