"""`tandem run` for real: gunicorn serving the app, health and a signed round trip."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import SIGNING_SECRET
from tests.fakes import FakeSlack, SlackSender
from tests.fakes.slack_api import DEFAULT_TOKEN

ROOT = Path(__file__).parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"tandem run exited with {proc.returncode}: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)  # polling a socket for start-up, not waiting on a schedule
    raise AssertionError("tandem run did not start listening")


def _start(sqlite_url: str, fake_slack: FakeSlack, port: int) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TANDEM_"))},
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.url,
        "TANDEM_DATABASE_URL": sqlite_url,
        "TANDEM_HOST": "127.0.0.1",
        "TANDEM_PORT": str(port),
        "TANDEM_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def served(sqlite_url: str, fake_slack: FakeSlack) -> Iterator[SlackSender]:
    port = _free_port()
    proc = _start(sqlite_url, fake_slack, port)
    try:
        _wait_until_listening(port, proc)
        yield SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, fake_slack)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def test_gunicorn_serves_health_and_commands(served: SlackSender, fake_slack: FakeSlack) -> None:
    health = served.raw(b"", {}, path="/healthz", method="GET")
    assert health.status == 200 and health.json()["database"] == "ok"
    assert "gunicorn" in health.headers.get("server", "")
    response = served.command("help")
    assert response.status == 200
    assert "Tandem commands" in response.json()["text"]
    bad = served.raw(
        b"command=%2Ftandem&text=help",
        {"X-Slack-Signature": "v0=bad", "X-Slack-Request-Timestamp": str(int(time.time()))},
    )
    assert bad.status == 401


def test_a_writing_command_is_stored_before_its_answer_which_is_the_ack(
    served: SlackSender, fake_slack: FakeSlack
) -> None:
    response = served.command("away until 2030-01-01", user_id="UNKNOWN")
    assert response.status == 200
    assert "I don't know you yet" in response.json()["text"]
    assert fake_slack.calls_to("response_url") == []


def test_stopping_waits_for_requests_in_flight(sqlite_url: str, fake_slack: FakeSlack) -> None:
    port = _free_port()
    proc = _start(sqlite_url, fake_slack, port)
    sender = SlackSender(f"http://127.0.0.1:{port}", SIGNING_SECRET, fake_slack)
    try:
        _wait_until_listening(port, proc)
        for n in range(10):
            assert sender.command("back", user_id=f"UNOBODY{n}").status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def test_the_web_and_worker_commands_exist() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert "web" in out.stdout and "worker" in out.stdout


def test_one_web_process_runs_the_worker_and_another_takes_over_when_it_dies(
    sqlite_url: str, fake_slack: FakeSlack
) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TANDEM_"))},
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.url,
        "TANDEM_DATABASE_URL": sqlite_url,
        "TANDEM_HOST": "127.0.0.1",
        "TANDEM_PORT": str(port),
        "TANDEM_LOG_LEVEL": "INFO",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    holders: queue.Queue[int] = queue.Queue()

    def watch() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if found := re.search(r"web process (\d+) runs the worker's threads", line):
                holders.put(int(found[1]))

    threading.Thread(target=watch, daemon=True).start()
    try:
        first = holders.get(timeout=30)
        os.kill(first, signal.SIGKILL)
        second = holders.get(timeout=30)
        assert second != first
        assert holders.empty()  # only ever one at a time
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
