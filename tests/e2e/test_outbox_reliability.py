"""The outbox under stress: real sender threads, the fake Slack over loopback, both databases.

Nothing here sleeps: tests wait on the fake (`wait_for`) or join sender
threads that stop once the outbox is drained, and leases are made to expire
by handing a sender a clock that runs ahead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.web import SlackResponse
from sqlalchemy import Engine, select

from bot import cli
from bot.clock import utcnow
from bot.outbox import OutboxSender, Pacer, RetryPolicy
from bot.runtime import start_senders
from bot.services import Services
from bot.settings import Settings, load_settings
from storage import outbox
from storage.db import make_engine, make_session_factory, transaction
from storage.models import Outbox
from storage.outbox import OutboundCall, from_parent
from tests.fakes import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
LEASE = timedelta(minutes=2)
FAST_RETRIES = RetryPolicy(base_seconds=0.05, cap_seconds=0.2)
JOIN_SECONDS = 60.0


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        for i in range(200):
            server.add_channel(f"C{i:03d}", f"team-{i}", ["U1"])
        server.add_channel("CNOTIN", "no-bot", ["U1"], is_member=False)
        server.add_user("U1", "ana")
        server.add_user("U2", "raj")
        yield server


def _settings(fake: FakeSlack, **extra: Any) -> Settings:
    return load_settings(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=fake.url,
        TANDEM_WORKSPACE_RATE_PER_SECOND=1000,
        **extra,
    )


class Killed(BaseException):
    """Stands for the process dying: nothing after it runs, no handler catches it."""


class CountingClient(WebClient):
    """Counts the posts it made; optionally dies right after Slack applied the n-th one."""

    def __init__(self, *args: Any, die_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.posts = 0
        self.die_after = die_after

    def chat_postMessage(self, **kwargs: Any) -> SlackResponse:
        answer = super().chat_postMessage(**kwargs)
        self.posts += 1
        if self.die_after is not None and self.posts >= self.die_after:
            raise Killed
        return answer


def _client(fake: FakeSlack, die_after: int | None = None) -> CountingClient:
    return CountingClient(
        token="xoxb-test", base_url=fake.url, timeout=10, retry_handlers=[], die_after=die_after
    )


def _sender(
    url: str,
    fake: FakeSlack,
    worker: str,
    *,
    client: WebClient | None = None,
    clock: Callable[[], datetime] = utcnow,
    batch_size: int = 10,
    channel_interval: float = 1.0,
) -> tuple[OutboxSender, Engine]:
    """A sender with an engine and pacer of its own, as a separate process would have."""
    engine = make_engine(url)
    settings = _settings(fake)
    sender = OutboxSender(
        make_session_factory(engine),
        client or _client(fake),
        settings,
        worker,
        clock,
        pacer=Pacer(settings.workspace_rate_per_second, channel_interval=channel_interval),
        policy=FAST_RETRIES,
        lease_for=LEASE,
        batch_size=batch_size,
        poll_seconds=0.2,
    )
    return sender, engine


def _drain(*senders: OutboxSender) -> None:
    """Run each sender in its own thread until nothing is pending, and wait for them."""
    threads = [
        threading.Thread(
            target=s.run_forever, args=(threading.Event(),), kwargs={"until_drained": True}
        )
        for s in senders
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "senders did not drain the outbox"


def _enqueue(url: str, calls: list[OutboundCall], now: datetime | None = None) -> None:
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        outbox.enqueue(session, calls, now or utcnow())
    engine.dispose()


def _rows(url: str) -> dict[str, Outbox]:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        rows = {r.idempotency_key: r for r in session.scalars(select(Outbox))}
    engine.dispose()
    return rows


def _posted_keys(fake: FakeSlack) -> Counter[str]:
    """Idempotency keys of the posts Slack applied (a dropped-after-processing post counts)."""
    applied = [
        c
        for c in fake.calls_to("chat.postMessage")
        if c.ok or (c.dropped and c.reply and c.reply.get("ok"))
    ]
    return Counter(c.json_param("metadata")["event_payload"]["idempotency_key"] for c in applied)


def _posts(count: int, channels: int) -> list[OutboundCall]:
    return [
        OutboundCall(
            f"post:{i}",
            "chat.postMessage",
            {"channel": f"C{i % channels:03d}", "text": f"message {i}"},
        )
        for i in range(count)
    ]


# --- many senders, one outbox ----------------------------------------------------------


def test_two_senders_send_every_row_exactly_once(db_url: str, fake: FakeSlack) -> None:
    calls = _posts(200, channels=200)
    _enqueue(db_url, calls)
    clients = [_client(fake), _client(fake)]
    pairs = [_sender(db_url, fake, f"w{i}", client=clients[i]) for i in range(2)]

    _drain(*(s for s, _ in pairs))

    assert _posted_keys(fake) == Counter({c.idempotency_key: 1 for c in calls})
    assert fake.duplicates() == 0
    assert all(clients[i].posts > 0 for i in range(2)), "both senders should have taken rows"
    assert {r.status for r in _rows(db_url).values()} == {"sent"}
    for _, engine in pairs:
        engine.dispose()


@pytest.mark.parametrize("dies_after_posts", [0, 5])
def test_a_sender_killed_mid_batch_loses_nothing_and_doubles_nothing(
    db_url: str, fake: FakeSlack, dies_after_posts: int
) -> None:
    calls = _posts(40, channels=40)
    _enqueue(db_url, calls)

    doomed_client = _client(fake, die_after=dies_after_posts or None)
    doomed, doomed_engine = _sender(db_url, fake, "doomed", client=doomed_client, batch_size=20)
    if dies_after_posts == 0:
        with transaction(doomed.sessions) as session:  # claims a batch, then vanishes
            assert len(outbox.claim(session, "doomed", utcnow(), 20, LEASE)) == 20
    else:
        crashed: list[BaseException] = []

        def run_and_die() -> None:
            try:
                doomed.run_once()
            except Killed as exc:
                crashed.append(exc)

        thread = threading.Thread(target=run_and_die)
        thread.start()
        thread.join(JOIN_SECONDS)
        assert crashed and doomed_client.posts == dies_after_posts
    held = {k for k, r in _rows(db_url).items() if r.leased_by == "doomed"}
    assert len(held) == 20 - max(0, dies_after_posts - 1)  # the last post was never recorded

    def later() -> datetime:
        return utcnow() + LEASE + timedelta(seconds=1)

    survivor, survivor_engine = _sender(db_url, fake, "survivor", clock=later)
    _drain(survivor)

    assert _posted_keys(fake) == Counter({c.idempotency_key: 1 for c in calls})
    assert fake.duplicates() == 0
    rows = _rows(db_url)
    assert {r.status for r in rows.values()} == {"sent"}
    if dies_after_posts:
        recovered = [k for k, r in rows.items() if r.result and r.result.get("recovered")]
        assert len(recovered) == 1  # posted by the doomed sender, found by the survivor
    assert len(fake.calls_to("conversations.history")) == len(held)
    doomed_engine.dispose()
    survivor_engine.dispose()


def test_429s_5xx_and_dropped_connections_still_deliver_each_message_once(
    db_url: str, fake: FakeSlack
) -> None:
    # 20 channels with two messages each, under Slack's one post per second per channel.
    calls = _posts(40, channels=20)
    _enqueue(db_url, calls)
    fake.rate_limit(per_channel_per_second=1.0)
    fake.fail_next("chat.postMessage", count=3, status=429, retry_after=1)
    fake.fail_next("chat.postMessage", count=3, status=500)
    fake.fail_next("chat.postMessage", count=1, status=503)
    fake.drop_next("chat.postMessage", count=2)
    fake.drop_next("chat.postMessage", count=3, after_processing=True)
    pairs = [_sender(db_url, fake, f"w{i}", batch_size=5) for i in range(2)]

    _drain(*(s for s, _ in pairs))

    assert _posted_keys(fake) == Counter({c.idempotency_key: 1 for c in calls})
    assert fake.duplicates() == 0
    stats = fake.stats
    assert stats.ratelimited >= 3 and stats.errors >= 4 and stats.dropped == 5
    for i in range(20):
        assert len(fake.messages(f"C{i:03d}")) == 2
    rows = _rows(db_url)
    assert {r.status for r in rows.values()} == {"sent"}
    assert sum(bool(r.result and r.result.get("recovered")) for r in rows.values()) == 3
    for _, engine in pairs:
        engine.dispose()


# --- dead rows and the CLI ---------------------------------------------------------------


def test_a_permanent_error_is_dead_and_tandem_outbox_retry_brings_it_back(
    db_url: str,
    fake: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _enqueue(
        db_url, [OutboundCall("kudos:9", "chat.postMessage", {"channel": "CNOTIN", "text": "x"})]
    )
    sender, engine = _sender(db_url, fake, "w1")
    _drain(sender)
    dead = _rows(db_url)["kudos:9"]
    assert dead.status == "dead"
    assert dead.last_error == (
        "Slack refused chat.postMessage: not_in_channel (retrying will not help)"
    )

    monkeypatch.setenv("TANDEM_DATABASE_URL", db_url)
    monkeypatch.setenv("TANDEM_LOG_LEVEL", "WARNING")
    assert cli.main(["outbox"]) == 0
    listing = capsys.readouterr().out
    assert "outbox: 0 pending, 0 retrying, 1 dead" in listing
    assert f"{dead.id}" in listing and "kudos:9" in listing and "not_in_channel" in listing

    assert cli.main(["outbox", "retry", "999"]) == 1
    out = capsys.readouterr()
    assert out.err == "tandem: there is no outbox row with id 999\n" and out.out == ""
    assert cli.main(["outbox", "retry", "nine"]) == 1
    assert capsys.readouterr().err.count("\n") == 1

    WebClient(token="xoxb-test", base_url=fake.url).conversations_join(channel="CNOTIN")
    assert cli.main(["outbox", "retry", str(dead.id)]) == 0
    assert capsys.readouterr().out == (
        f"re-queued outbox row {dead.id}: chat.postMessage to CNOTIN (key kudos:9), "
        "attempts reset to 0, due now\n"
    )
    revived = _rows(db_url)["kudos:9"]
    assert (revived.status, revived.attempts) == ("pending", 0)

    _drain(sender)
    assert _rows(db_url)["kudos:9"].status == "sent"
    assert len(fake.messages("CNOTIN")) == 1
    assert cli.main(["outbox", "retry", str(dead.id)]) == 1
    assert "is sent, not dead" in capsys.readouterr().err
    engine.dispose()


# --- parents and children -----------------------------------------------------------------


def test_a_dm_is_opened_then_posted_into_and_replied_to(db_url: str, fake: FakeSlack) -> None:
    calls: list[OutboundCall] = []
    for user in ("U1", "U2"):
        calls += [
            OutboundCall(f"open:{user}", "conversations.open", {"users": user}, channel_key=user),
            OutboundCall(
                f"pair:{user}",
                "chat.postMessage",
                {"channel": from_parent("channel.id"), "text": "Your shadowing pair"},
                channel_key=user,
                parent_key=f"open:{user}",
            ),
            OutboundCall(
                f"pair:{user}:tip",
                "chat.postMessage",
                {
                    "channel": from_parent("channel"),
                    "thread_ts": from_parent("ts"),
                    "text": "A tip",
                },
                channel_key=user,
                parent_key=f"pair:{user}",
            ),
        ]
    _enqueue(db_url, list(reversed(calls)))  # children first: order must not matter
    fake.drop_next("chat.postMessage", after_processing=True)
    pairs = [_sender(db_url, fake, f"w{i}", channel_interval=0.05) for i in range(2)]

    _drain(*(s for s, _ in pairs))

    rows = _rows(db_url)
    assert {r.status for r in rows.values()} == {"sent"}
    for user in ("U1", "U2"):
        dm = rows[f"open:{user}"].result["channel"]["id"]  # type: ignore[index]
        assert dm.startswith("D")
        head, tip = fake.messages(dm)
        assert head["text"] == "Your shadowing pair" and "thread_ts" not in head
        assert tip["text"] == "A tip" and tip["thread_ts"] == head["ts"]
    assert fake.duplicates() == 0
    for _, engine in pairs:
        engine.dispose()


# --- the senders in `tandem run` and `tandem worker` ------------------------------------------


def test_tandem_run_starts_its_sender_threads(db_url: str, fake: FakeSlack) -> None:
    _enqueue(db_url, _posts(10, channels=10))
    services = Services.from_settings(
        _settings(fake, TANDEM_DATABASE_URL=db_url, TANDEM_SENDER_THREADS=3)
    )
    pool = start_senders(services)
    assert pool is not None
    try:
        assert pool.running == 3
        fake.wait_for("chat.postMessage", 10, timeout=20)
    finally:
        pool.stop()
        services.close()
    assert pool.running == 0
    assert fake.duplicates() == 0


def test_tandem_worker_sends_until_sigterm_and_exits_cleanly(db_url: str, fake: FakeSlack) -> None:
    _enqueue(db_url, _posts(12, channels=12))
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": fake.url,
        "TANDEM_DATABASE_URL": db_url,
        "TANDEM_SENDER_THREADS": "2",
        "TANDEM_WORKSPACE_RATE_PER_SECOND": "200",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        fake.wait_for("chat.postMessage", 12, timeout=30)
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert "tandem worker: 2 outbox sender(s)" in out and "tandem worker stopped" in out
    assert "xoxb-test" not in err and "message 3" not in err
    assert {r.status for r in _rows(db_url).values()} == {"sent"}
    assert fake.duplicates() == 0


def test_tandem_worker_without_a_token_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.chdir(ROOT / "tests")  # no .env here
    assert cli.main(["worker"]) == cli.EXIT_CONFIG
    err = capsys.readouterr().err
    assert err.startswith("tandem: SLACK_BOT_TOKEN is not set") and err.count("\n") == 1
