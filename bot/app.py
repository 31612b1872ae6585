"""The Bolt app factory: settings in, a configured App out."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient

from bot import listeners
from bot.middleware import drop_repeated_requests
from bot.services import Services
from bot.slack_client import make_client

BOLT_LOGGER = "tandem.bolt"


class _KnownTokenNotice(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN is unused when given a client; ours carries it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def create_app(
    services: Services, *, client: WebClient | None = None, handed_off: bool = False
) -> App:
    """The app; `handed_off` for the work process, whose requests come from our web workers.

    Listeners ack in the request's own thread (`process_before_response`) and
    do their work as Bolt lazy functions on `TANDEM_WORK_THREADS` threads,
    or in the work process when the web server hands it over (bot/handoff.py).
    """
    settings = services.settings
    settings.require_slack_credentials()
    signing_secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    logger = logging.getLogger(BOLT_LOGGER)
    if not any(isinstance(f, _KnownTokenNotice) for f in logger.filters):
        logger.addFilter(_KnownTokenNotice())
    app = App(
        client=client or make_client(settings),
        signing_secret=signing_secret,
        # Signatures are always checked over HTTP; Socket Mode has no signature to check,
        # and handed-off work was checked by the web worker that received it (possibly
        # more than the five minutes a signature stays valid ago).
        request_verification_enabled=not (settings.socket_mode or handed_off),
        token_verification_enabled=True,
        process_before_response=True,
        logger=logger,
        listener_executor=ThreadPoolExecutor(
            max_workers=settings.work_threads, thread_name_prefix="tandem-work"
        ),
    )
    app.use(drop_repeated_requests(services))
    listeners.register(app, services)
    return app
