"""Sender threads for one process (`tandem run` or `tandem worker`), sharing one pacer."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import utcnow
from bot.outbox.pacing import Pacer
from bot.outbox.sender import Clock, OutboxSender
from bot.settings import Settings
from bot.threads import LoopThreads

log = logging.getLogger(__name__)


def sender_client(settings: Settings, *, timeout: int = 10) -> WebClient:
    """A client that never re-sends on its own.

    WebClient installs a ConnectionErrorRetryHandler by default, which repeats
    a POST whose connection dropped even if Slack applied it; 429s are
    rescheduled by the sender rather than slept on. So: no retry handlers.
    """
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(
        token=token, base_url=settings.slack_api_url, timeout=timeout, retry_handlers=[]
    )


def worker_id(index: int) -> str:
    """Unique per thread across hosts, short enough for the lease column."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{index}"


class SenderPool:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        count: int,
        *,
        client_factory: Callable[[], WebClient] | None = None,
        clock: Clock = utcnow,
    ) -> None:
        pacer = Pacer(
            settings.workspace_rate_per_second,
            channel_interval=1.0 / settings.channel_posts_per_second,
        )
        make_client = client_factory or (lambda: sender_client(settings))
        self.senders = [
            OutboxSender(sessions, make_client(), settings, worker_id(i), clock, pacer=pacer)
            for i in range(count)
        ]
        self._threads = LoopThreads("outbox-sender", [s.run_forever for s in self.senders])

    def start(self) -> None:
        self._threads.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Ask every sender to finish its current call and hand back the rest of its batch."""
        self._threads.stop(timeout)

    @property
    def running(self) -> int:
        return self._threads.running
