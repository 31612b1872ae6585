"""The Bolt app factory: settings in, a configured App out."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

from bot import listeners
from bot.middleware import drop_repeated_requests
from bot.services import Services
from bot.slack_client import make_client

BOLT_LOGGER = "tandem.bolt"


# Bolt warns, when given a client, that SLACK_BOT_TOKEN from the environment is
# unused; our client carries that very token. Matched on the warning's own words.
_UNUSED_TOKEN_WARNING = "`token` will be unused"


class _KnownTokenNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _UNUSED_TOKEN_WARNING not in record.getMessage()


def create_app(services: Services, *, client: WebClient | None = None) -> App:
    """The app, with Bolt's stock listener runner.

    Listeners run in the request's own thread (`process_before_response`):
    each does its work, commits, and acks with its answer, so the HTTP
    response leaves only once what the member did is stored.
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
        # Signatures are always checked over HTTP; Socket Mode has no signature to check.
        request_verification_enabled=not settings.socket_mode,
        token_verification_enabled=True,
        process_before_response=True,
        logger=logger,
    )
    app.use(drop_repeated_requests(services))
    listeners.register(app, services)
    return app
