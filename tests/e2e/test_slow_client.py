"""A client that sends its headers and stalls cannot starve the health check or Slack.

Runs `tandem run` (gunicorn) with one web worker of two threads and a one
second read timeout, then holds more stalled requests open than there are
threads.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import SIGNING_SECRET
from tests.e2e.test_server import ROOT, _free_port, _wait_until_listening
from tests.fakes import FakeSlack, SlackSender
from tests.fakes.slack_api import DEFAULT_TOKEN

pytestmark = pytest.mark.e2e

READ_TIMEOUT = 1


@pytest.fixture
def narrow_server(sqlite_url: str, fake_slack: FakeSlack) -> Iterator[SlackSender]:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TANDEM_"))},
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.url,
        "TANDEM_DATABASE_URL": sqlite_url,
        "TANDEM_HOST": "127.0.0.1",
        "TANDEM_PORT": str(port),
        "TANDEM_LOG_LEVEL": "WARNING",
        "TANDEM_WEB_WORKERS": "1",
        "TANDEM_WEB_THREADS": "2",
        "TANDEM_READ_TIMEOUT": str(READ_TIMEOUT),
        "TANDEM_SCHEDULER_ENABLED": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_listening(port, proc)
        yield SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, fake_slack, timeout=15)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _stall(port: int) -> socket.socket:
    """Headers promising a body, a few bytes of it, then nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    sock.sendall(
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\ncommand="
    )
    return sock


def test_stalled_bodies_time_out_and_the_health_check_still_answers(
    narrow_server: SlackSender,
) -> None:
    port = int(narrow_server.base_url.rsplit(":", 1)[1])
    stalled = [_stall(port) for _ in range(6)]  # three times the web threads
    try:
        # Without a read timeout both threads would wait for ever and this would time out.
        health = narrow_server.raw(b"", {}, path="/healthz", method="GET")
        assert health.status == 200
        assert narrow_server.command("help").status == 200
        for sock in stalled:
            answer = sock.recv(200)
            assert answer.startswith(b"HTTP/1.1 408"), answer
    finally:
        for sock in stalled:
            sock.close()
