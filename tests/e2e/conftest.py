"""A running Tandem: the real WSGI app on a loopback port, talking to a fake Slack.

The server here is a threaded wsgiref server so tests can share the process
(and freezegun) with the app; `test_server.py` also starts the production
gunicorn server through `tandem run` once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import App
from slack_sdk import WebClient

from bot.app import create_app
from bot.clock import utcnow
from bot.job_handlers import HANDLERS
from bot.jobs import JobRunner
from bot.outbox import OutboxSender, Pacer
from bot.services import Services
from bot.settings import Settings, load_settings
from bot.web import TandemWSGI
from tests.fakes import FakeSlack, SlackSender
from tests.fakes.slack_api import DEFAULT_TOKEN

SIGNING_SECRET = "e2e-signing-secret"
ADMIN = "UADMIN"


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of simultaneous requests (the default backlog is 5)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class RunningBot:
    url: str
    services: Services
    app: App
    slack: SlackSender
    fake: FakeSlack


def send_outbox(bot: RunningBot, now: datetime | None = None) -> None:
    """What a worker's sender does: deliver every outbox row due by `now` (default: now)."""
    client = WebClient(token=DEFAULT_TOKEN, base_url=bot.fake.url, retry_handlers=[])
    sender = OutboxSender(
        bot.services.sessions,
        client,
        bot.services.settings,
        "e2e",
        pacer=Pacer(1000, channel_interval=0.0),
    )
    while sender.run_once(now or utcnow()):
        pass


def finish_jobs(bot: RunningBot) -> list[str]:
    """What a worker does after an ack: run the queued jobs, send what they queued.

    Returns the texts of the direct messages the admin got meanwhile.
    """
    before = len(bot.fake.calls_to("chat.postMessage"))
    runner = JobRunner(bot.services, bot.app.client, HANDLERS)
    while runner.run_once():
        pass
    send_outbox(bot)
    return [
        str(call.params.get("text", ""))
        for call in bot.fake.calls_to("chat.postMessage")[before:]
        if call.params.get("channel") == ADMIN
    ]


def e2e_settings(db_url: str, fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.url,
        "TANDEM_DATABASE_URL": db_url,
        "TANDEM_ADMIN_USER_IDS": ADMIN,
        "TANDEM_SCHEDULER_ENABLED": False,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    fake.add_user(ADMIN, name="admin", tz="Europe/London")
    yield fake
    fake.stop()


@pytest.fixture
def bot(db_url: str, fake_slack: FakeSlack) -> Iterator[RunningBot]:
    services = Services.from_settings(e2e_settings(db_url, fake_slack))
    app = create_app(services)
    server = make_server(
        "127.0.0.1",
        0,
        TandemWSGI(app, services),
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield RunningBot(
            url, services, app, SlackSender(url, SIGNING_SECRET, fake_slack), fake_slack
        )
    finally:
        server.shutdown()
        server.server_close()
        services.close()
