"""The Web API client, pointed at SLACK_API_URL."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.settings import Settings


def make_client(settings: Settings, *, timeout: int = 10) -> WebClient:
    """A client for reads and direct answers.

    slack-sdk's default retry handler re-sends a request after a dropped
    connection; a POST that may already have landed must not be repeated
    blindly, so only rate-limit retries (which Slack did not apply) remain.
    """
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
