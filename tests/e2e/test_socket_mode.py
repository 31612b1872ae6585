"""Socket Mode, the manifest's default, end to end: `tandem run` with an app-level token.

The fake Web API's apps.connections.open hands out the address of a local
WebSocket server (tests/fakes/socket_mode.py). Through it the test sends a
slash command, a button click and an event as Socket Mode envelopes, and
checks that the bot acknowledges each envelope_id and answers; then it cuts
the connection and checks the bot opens a new one and keeps answering.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.views.digest import EXPLAIN_ACTION_ID, EXPLAIN_CALLBACK_ID
from tests.e2e.conftest import ADMIN
from tests.fakes import FakeSlack, block_actions_payload
from tests.fakes.slack_api import APP_TOKEN, DEFAULT_TOKEN
from tests.fakes.socket_mode import FakeSocketMode

ROOT = Path(__file__).parents[2]


@pytest.fixture
def socket_mode(fake_slack: FakeSlack) -> Iterator[FakeSocketMode]:
    server = FakeSocketMode().start()
    fake_slack.serve_socket_mode(server.url)
    yield server
    server.stop()


@pytest.fixture
def running(
    sqlite_url: str, fake_slack: FakeSlack, socket_mode: FakeSocketMode, tmp_path: Path
) -> Iterator[FakeSocketMode]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TANDEM_"))},
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_SIGNING_SECRET": "",  # empty means unset: Socket Mode needs none
        "SLACK_API_URL": fake_slack.url,
        "TANDEM_DATABASE_URL": sqlite_url,
        "TANDEM_ADMIN_USER_IDS": ADMIN,
        # The outbox senders run (App Home is published through the outbox); the tick and
        # team sync are far off.
        "TANDEM_TICK_SECONDS": "3600",
        "TANDEM_SYNC_INTERVAL_MINUTES": "600",
        "TANDEM_LOG_LEVEL": "WARNING",
        # A silently dropped connection is noticed after four missed pings.
        "TANDEM_SOCKET_PING_SECONDS": "1",
    }
    log = (tmp_path / "tandem.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        socket_mode.wait_for_connections(1, timeout=60)
        yield socket_mode
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
    assert "Traceback" not in (tmp_path / "tandem.log").read_text()


def test_a_slash_command_is_acknowledged_with_its_answer(running: FakeSocketMode) -> None:
    envelope_id = running.command("help", user_id=ADMIN)
    ack = running.wait_for_ack(envelope_id)
    assert ack["envelope_id"] == envelope_id
    assert "Tandem commands" in ack["payload"]["text"]


def test_a_button_is_acknowledged_and_answered(
    running: FakeSocketMode, fake_slack: FakeSlack
) -> None:
    payload = block_actions_payload(EXPLAIN_ACTION_ID, user_id=ADMIN, trigger_id="42.1.abc")
    envelope_id = running.interaction(payload)
    assert running.wait_for_ack(envelope_id)["envelope_id"] == envelope_id
    (call,) = fake_slack.wait_for("views.open", count=1, timeout=30)
    assert call.params["trigger_id"] == "42.1.abc"
    assert call.json_param("view")["callback_id"] == EXPLAIN_CALLBACK_ID


def test_an_event_is_acknowledged_and_answered(
    running: FakeSocketMode, fake_slack: FakeSlack
) -> None:
    event = {"type": "app_home_opened", "user": ADMIN, "channel": "DHOME", "tab": "home"}
    envelope_id = running.event(event)
    assert running.wait_for_ack(envelope_id)["envelope_id"] == envelope_id
    (call,) = fake_slack.wait_for("views.publish", count=1, timeout=30)
    assert call.params["user_id"] == ADMIN
    assert json.dumps(call.json_param("view"))


def _reconnects(running: FakeSocketMode, fake_slack: FakeSlack, cut: str, timeout: float) -> None:
    assert "Tandem commands" in running.wait_for_ack(running.command("help"))["payload"]["text"]
    opened = len(fake_slack.calls_to("apps.connections.open"))

    getattr(running, cut)()

    running.wait_for_connections(2, timeout=timeout)
    assert len(fake_slack.calls_to("apps.connections.open")) > opened  # a fresh URL was asked for
    envelope_id = running.command("help")
    assert "Tandem commands" in running.wait_for_ack(envelope_id)["payload"]["text"]


def test_a_closed_connection_is_reopened(running: FakeSocketMode, fake_slack: FakeSlack) -> None:
    _reconnects(running, fake_slack, "close", timeout=30)


def test_a_refresh_notice_moves_to_a_new_connection(
    running: FakeSocketMode, fake_slack: FakeSlack
) -> None:
    _reconnects(running, fake_slack, "ask_to_reconnect", timeout=30)


def test_a_dropped_connection_is_reopened(running: FakeSocketMode, fake_slack: FakeSlack) -> None:
    """No closing handshake: only the missing pongs tell (after 4 ping intervals)."""
    _reconnects(running, fake_slack, "drop", timeout=60)
