"""Acks in the web worker, work in the work process: the hand-off between them.

Here both apps run in this process, joined by the same socket pair `tandem
run` uses, so the tests can see which side did what; test_server.py runs the
real process tree.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from wsgiref.simple_server import make_server

import pytest
from slack_bolt import App, BoltRequest
from sqlalchemy import select

from bot import handoff
from bot.app import create_app
from bot.handoff import HandOff, channel_pair, decode, encode, serve_work
from bot.services import Services
from bot.web import TandemWSGI
from storage.models import Member, Outbox
from tests.bot.test_standup_service import MONDAY, PEOPLE, seed
from tests.e2e.conftest import (
    SIGNING_SECRET,
    RunningBot,
    _QuietHandler,
    _ThreadingWSGIServer,
    e2e_settings,
)
from tests.fakes import FakeSlack, SlackSender
from tests.fakes.signed import sign

AWAY_UNTIL = date(2026, 1, 13)


@dataclass
class Split:
    slack: SlackSender
    fake: FakeSlack
    web: Services
    handoff: HandOff
    work_end_closed: threading.Event
    handed_off: list[str] = field(default_factory=list)  # what the work app ran
    ran_in_web: list[str] = field(default_factory=list)  # work the web app kept
    done: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))

    def wait_for_work(self, count: int = 1) -> None:
        for _ in range(count):
            assert self.done.acquire(timeout=10), "handed-off work did not finish"


@pytest.fixture
def split(db_url: str, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Split]:
    monkeypatch.setattr("bot.member_commands.utcnow", lambda: MONDAY + timedelta(hours=8))
    for uid, name, tz, _ in PEOPLE:
        fake_slack.add_user(uid, name=name.lower(), tz=tz or "UTC")
    web = Services.from_settings(e2e_settings(db_url, fake_slack))
    work = Services.from_settings(e2e_settings(db_url, fake_slack))
    seed(web)
    web_app, work_app = create_app(web), create_app(work, handed_off=True)
    web_end, work_end = channel_pair()
    ends = HandOff(web_app, web_end)
    state = Split(
        SlackSender("", SIGNING_SECRET, fake_slack), fake_slack, web, ends, threading.Event()
    )

    real_run = handoff.run_handed_off

    def recording_run(app: App, data: bytes) -> None:
        state.handed_off.append(json.loads(data)["name"])
        try:
            real_run(app, data)
        finally:
            state.done.release()

    monkeypatch.setattr(handoff, "run_handed_off", recording_run)
    local = ends._local
    real_start = local.start

    def recording_start(function: Any, request: BoltRequest) -> None:
        state.ran_in_web.append(str(request.lazy_function_name))
        real_start(function, request)

    monkeypatch.setattr(local, "start", recording_start)

    def work_process() -> None:
        serve_work(work_app, work_end, threads=4)
        work_end.close()
        state.work_end_closed.set()

    worker = threading.Thread(target=work_process, daemon=True)
    worker.start()
    server = make_server(
        "127.0.0.1",
        0,
        TandemWSGI(web_app, web, ends),
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.slack.base_url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        assert ends.close(timeout=10)
        web_end.close()  # the work process sees EOF, finishes its queue and returns
        worker.join(timeout=10)
        web.close()
        work.close()


def away_until(services: Services, slack_id: str) -> date | None:
    with services.sessions() as session:
        return session.scalars(
            select(Member.away_until).where(Member.slack_user_id == slack_id)
        ).one()


def test_a_writing_command_is_acked_at_once_and_worked_in_the_work_process(split: Split) -> None:
    response = split.slack.command(f"away until {AWAY_UNTIL}", user_id="UM1")
    assert response.status == 200 and response.body == b""  # the empty ack
    split.wait_for_work()
    assert split.handed_off == ["run_subcommand"] and split.ran_in_web == []
    (answer,) = split.fake.wait_for("response_url")
    assert "away until Tue 13 Jan 2026" in answer.params["text"]
    assert away_until(split.web, "UM1") == AWAY_UNTIL


def test_help_is_answered_by_the_ack_alone_and_hands_nothing_off(split: Split) -> None:
    response = split.slack.command("help", user_id="UM1")
    assert "Tandem commands" in response.json()["text"]
    # The hand-off is one queue in order: once the next command's work is done,
    # anything `help` had handed off would have been run before it.
    split.slack.command("back", user_id="UM1")
    split.wait_for_work()
    assert split.handed_off == ["run_subcommand"]


def test_an_event_is_deduplicated_by_the_web_worker_and_still_worked(split: Split) -> None:
    event = {"type": "app_home_opened", "user": "UM1", "channel": "D1", "tab": "home"}
    assert split.slack.event(event, event_id="EvHOME1").status == 200
    assert split.slack.event(event, event_id="EvHOME1", retry_num=1).status == 200
    split.wait_for_work()
    assert split.handed_off == ["home_opened"]  # the retry was dropped before any hand-off
    with split.web.sessions() as session:
        published = session.scalars(select(Outbox).where(Outbox.method == "views.publish")).all()
    assert [row.payload["user_id"] for row in published] == ["UM1"]


def test_work_runs_in_the_web_worker_when_the_work_process_is_gone(split: Split) -> None:
    health = split.slack.raw(b"", {}, path="/healthz", method="GET")
    assert health.status == 200 and health.json()["work"] == "ok"
    split.handoff._channel.shutdown(1)  # as if the work process had exited: no more sends
    split.slack.command(f"away until {AWAY_UNTIL}", user_id="UM1")
    (answer,) = split.fake.wait_for("response_url")
    assert "away until" in answer.params["text"]
    assert split.ran_in_web == ["run_subcommand"] and split.handed_off == []
    assert away_until(split.web, "UM1") == AWAY_UNTIL


def test_health_fails_when_the_work_process_has_stopped(split: Split) -> None:
    split.handoff._channel.shutdown(1)  # the web end stops sending: serve_work sees EOF
    assert split.work_end_closed.wait(10)
    health = split.slack.raw(b"", {}, path="/healthz", method="GET")
    assert health.status == 503
    assert health.json() == {"status": "degraded", "database": "ok", "work": "stopped"}


def test_requests_from_outside_cannot_skip_the_ack(bot: RunningBot) -> None:
    """Bolt's lazy-only headers are for our own hand-off; from the network they are dropped."""
    body = (
        b"command=%2Ftandem&text=help&team_id=T0001&user_id=U1&channel_id=C1"
        b"&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fr&trigger_id=1.2.3"
    )
    headers = {
        **sign(body, SIGNING_SECRET),
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Bolt-Lazy-Only": "1",
        "X-Slack-Bolt-Lazy-Function-Name": "run_subcommand",
    }
    response = bot.slack.raw(body, headers)
    assert response.status == 200 and "Tandem commands" in response.json()["text"]


def test_a_handed_off_request_keeps_its_body_and_headers_and_names_its_work() -> None:
    original = BoltRequest(
        body="command=%2Ftandem&text=back",
        headers={"content-type": "application/x-www-form-urlencoded", "x-slack-signature": "v0=1"},
    )
    original.lazy_function_name = "run_subcommand"
    copied = decode(encode(original))
    assert copied.raw_body == original.raw_body
    assert copied.body == original.body
    assert copied.headers["x-slack-signature"] == ["v0=1"]
    assert copied.lazy_only and copied.lazy_function_name == "run_subcommand"


class _Ends:
    def __init__(self, alive: bool, waited: float) -> None:
        self.alive, self.waited = alive, waited

    def work_process_alive(self) -> bool:
        return self.alive

    def waited_seconds(self, now: float) -> float:
        return self.waited


@pytest.mark.parametrize(
    ("alive", "waited", "state"),
    [(True, 0.0, "ok"), (True, 59.0, "ok"), (True, 61.0, "behind"), (False, 0.0, "stopped")],
)
def test_health_names_the_work_process_state(alive: bool, waited: float, state: str) -> None:
    assert TandemWSGI._work_state(_Ends(alive, waited)) == state  # type: ignore[arg-type]
