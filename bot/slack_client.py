"""The Web API client, pointed at SLACK_API_URL."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryState
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.settings import Settings

# Reads in the worker (team sync walks users.list, a Tier 2 method) may meet
# several 429s in a row when another worker shares the app's quota.
WORKER_RATE_LIMIT_RETRIES = 8


class RateLimitWaits(RateLimitErrorRetryHandler):
    """slack-sdk's 429 handler, waiting `Retry-After` through an injected `sleep`.

    The stock handler calls `time.sleep` itself; tests pass a fake sleep (no
    real wait), and benchmarks read `waited` to report time without the waits.
    """

    def __init__(
        self,
        max_retry_count: int = 1,
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep
        self._jitter = jitter
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds slept on Retry-After, all calls together
        self.waits = 0

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:  # only a 429 answer gets here (see can_retry)
            raise error or RuntimeError("rate-limit retry without a response")
        state.next_attempt_requested = True
        duration = retry_after_seconds(response) + self._jitter()
        with self._lock:
            self.waited += duration
            self.waits += 1
        self._sleep(duration)
        state.increment_current_attempt()


def retry_after_seconds(response: HttpResponse) -> float:
    """Slack's Retry-After header in seconds (1 when it is missing or unreadable)."""
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return max(0.0, float(values[0]))
            except ValueError:
                break
    return 1.0


def make_client(
    settings: Settings,
    *,
    timeout: int = 10,
    rate_limit_retries: int = 1,
    waits: RateLimitWaits | None = None,
) -> WebClient:
    """A client for reads and direct answers.

    slack-sdk's default retry handler re-sends a request after a dropped
    connection; a POST that may already have landed must not be repeated
    blindly, so only rate-limit retries (which Slack did not apply) remain.
    `waits` replaces the rate-limit handler (a fake sleep in tests).
    """
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[waits or RateLimitWaits(max_retry_count=rate_limit_retries)],
    )


def make_worker_client(settings: Settings) -> WebClient:
    """The worker's client: off the request path, it may wait out several 429s in a row."""
    return make_client(settings, rate_limit_retries=WORKER_RATE_LIMIT_RETRIES)
