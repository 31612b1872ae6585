"""Chaos: `kill -9` of every Tandem process at a random moment loses and doubles nothing.

A real `tandem run` (gunicorn, two web processes, each with the worker's
threads) serves a burst of 60 `/tandem kudos` commands and 20 standup
answers over signed HTTP, with the fake Slack in this process. The whole
process group is killed with SIGKILL before, during or after the acks (and
while the outbox is sending), then `tandem run` starts again on the same
database. Every action the member was told succeeded must be stored exactly
once, and every stored action's message posted exactly once. On PostgreSQL,
every connection to the database is also terminated while work is pending.

A killed sender's lease would run out after two minutes; rather than
sleeping through them, the test moves the leases' end to the past, which is
all that waiting would change.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import func, select, text, update

from bot.services import Services
from bot.views.standup import VIEW_ANSWER
from storage import standups as standup_store
from storage.db import transaction
from storage.models import Job, Kudos, Outbox, Partnership, StandupAnswer
from tests.bot.test_standup_service import seed, state
from tests.e2e.conftest import SIGNING_SECRET, e2e_settings
from tests.e2e.test_server import _free_port, _wait_until_listening
from tests.fakes import FakeSlack, SlackSender
from tests.fakes.signed import view_submission_payload
from tests.fakes.slack_api import DEFAULT_TOKEN

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
KUDOS = 60
ANSWERS = 20
MARKETING = [f"UM{n:02d}" for n in range(1, 11)]
IT = [f"UI{n:02d}" for n in range(1, 11)]
PEOPLE = [(uid, uid.lower(), "Europe/London", "Marketing") for uid in MARKETING] + [
    (uid, uid.lower(), "Europe/London", "IT") for uid in IT
]
CHANNEL = "CJOINT"
DRAIN_SECONDS = 90


@dataclass
class World:
    db_url: str
    fake: FakeSlack
    services: Services
    day_id: int
    log: IO[bytes]  # tandem run's stderr, kept for a failing test's report


@dataclass
class Burst:
    """What the members sent and which of them were told it worked."""

    acked_kudos: set[int] = field(default_factory=set)
    acked_answers: set[str] = field(default_factory=set)
    done: int = 0
    lock: threading.Condition = field(default_factory=threading.Condition)

    def finished_one(self) -> None:
        with self.lock:
            self.done += 1
            self.lock.notify_all()

    def wait_until_done(self, count: int, timeout: float = 60) -> None:
        with self.lock:
            assert self.lock.wait_for(lambda: self.done >= count, timeout), "requests hung"


class Tandem:
    """`tandem run` in a process group of its own, so one signal reaches every process."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Tandem:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TANDEM_"))},
            "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.world.fake.url,
            "TANDEM_DATABASE_URL": self.world.db_url,
            "TANDEM_HOST": "127.0.0.1",
            "TANDEM_PORT": str(self.port),
            "TANDEM_LOG_LEVEL": "ERROR",
            "TANDEM_WEB_WORKERS": "2",
            "TANDEM_WORKSPACE_RATE_PER_SECOND": "500",
            "TANDEM_CHANNEL_POSTS_PER_SECOND": "500",
            # No tick or team sync during the test: only the burst's own work.
            "TANDEM_TICK_SECONDS": "3600",
            "TANDEM_SYNC_INTERVAL_MINUTES": "600",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            # A file, not a pipe nobody reads: a full pipe would block every logging thread.
            stderr=self.world.log,
            start_new_session=True,
        )
        _wait_until_listening(self.port, self.proc)
        return self

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def world(db_url: str, fake_slack: FakeSlack, tmp_path: Path) -> Iterator[World]:
    for uid, name, tz, _ in PEOPLE:
        fake_slack.add_user(uid, name=name, tz=tz)
    fake_slack.add_channel(CHANNEL, "mkt-it", [uid for uid, *_ in PEOPLE])
    services = Services.from_settings(e2e_settings(db_url, fake_slack))
    made = seed(services, people=PEOPLE, channel=CHANNEL)
    now = datetime.now(UTC)
    with transaction(services.sessions) as session:
        partnership = session.get(Partnership, made.partnership)
        assert partnership is not None
        partnership.settings = {"kudos_daily_limit": 1000}
        days = standup_store.ensure_days(
            session, made.ritual, {now.date(): now + timedelta(hours=12)}, now
        )
    with (tmp_path / "tandem.log").open("wb") as log:
        try:
            yield World(db_url, fake_slack, services, days[now.date()], log)
        finally:
            services.close()


def tag(n: int) -> str:
    return f"chaos-kudos-{n:02d}"


def answer_tag(uid: str) -> str:
    return f"chaos-answer-{uid}"


def send_burst(world: World, url: str, seed: int, burst: Burst) -> Callable[[], None]:
    """Send the 80 requests from 10 threads in a seeded order; returns `wait` for them."""
    slack = SlackSender(url, SIGNING_SECRET, world.fake, timeout=20)
    requests: list[Callable[[], None]] = []

    def kudos(n: int) -> Callable[[], None]:
        def send() -> None:
            giver, receiver = MARKETING[n % 10], IT[(n * 3) % 10]
            response = slack.command(f"kudos <@{receiver}> for {tag(n)}", user_id=giver)
            if response.status == 200 and "Your kudos are on their way" in response.text:
                with burst.lock:
                    burst.acked_kudos.add(n)

        return send

    def answer(uid: str) -> Callable[[], None]:
        def send() -> None:
            payload = view_submission_payload(
                VIEW_ANSWER,
                state(today=answer_tag(uid)),
                user_id=uid,
                private_metadata=json.dumps({"day": world.day_id}),
            )
            response = slack.interaction(payload)
            if response.status == 200 and response.json().get("response_action") == "update":
                with burst.lock:
                    burst.acked_answers.add(uid)

        return send

    requests = [kudos(n) for n in range(KUDOS)] + [answer(uid) for uid in (MARKETING + IT)]
    random.Random(seed).shuffle(requests)

    def guarded(send: Callable[[], None]) -> None:
        try:
            send()
        except OSError:
            pass  # the server was killed under this request: it was never acknowledged
        finally:
            burst.finished_one()

    pool = ThreadPoolExecutor(max_workers=10)
    for send in requests:
        pool.submit(guarded, send)

    def wait() -> None:
        pool.shutdown(wait=True)

    return wait


def expire_leases(world: World) -> None:
    """What waiting out a dead process's leases would do, without the wait."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    with transaction(world.services.sessions) as session:
        session.execute(
            update(Outbox).where(Outbox.lease_until.is_not(None)).values(lease_until=past)
        )
        session.execute(update(Job).where(Job.lease_until.is_not(None)).values(lease_until=past))


def drained(world: World, seconds: float = DRAIN_SECONDS) -> bool:
    """Poll the database until nothing is left to send; False if rows are still pending."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with world.services.sessions() as session:
            pending = session.scalar(
                select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
            )
        if pending == 0:
            return True
        time.sleep(0.2)  # polling for a condition, not waiting on a schedule
    return False


def wait_until_drained(world: World) -> None:
    assert drained(world), f"outbox rows still pending after {DRAIN_SECONDS}s"


def check_exactly_once(world: World, burst: Burst) -> None:
    with world.services.sessions() as session:
        reasons = list(session.scalars(select(Kudos.reason)))
        answers = {
            str(row.answers): row.answered_at
            for row in session.scalars(select(StandupAnswer))
            if row.answered_at is not None
        }
        dead = session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.status == "dead")
        )
    stored_kudos = {n for n in range(KUDOS) if any(tag(n) in r for r in reasons)}
    for n in range(KUDOS):
        assert sum(tag(n) in r for r in reasons) <= 1, f"kudos {n} stored twice"
    assert burst.acked_kudos <= stored_kudos, "an acknowledged kudos was lost"
    stored_answers = {uid for uid in MARKETING + IT if any(answer_tag(uid) in a for a in answers)}
    assert burst.acked_answers <= stored_answers, "an acknowledged standup answer was lost"
    assert dead == 0, _debug_dead(world)
    messages = [json.dumps(m) for m in world.fake.messages(CHANNEL)]
    for n in range(KUDOS):
        posts = sum(tag(n) in m for m in messages)
        assert posts == (1 if n in stored_kudos else 0), f"kudos {n} posted {posts} times"
    for uid in MARKETING + IT:
        posts = sum(answer_tag(uid) in m and "thread_ts" in m for m in messages)
        assert posts == (1 if uid in stored_answers else 0), f"answer {uid} posted {posts} times"
    assert world.fake.duplicates() == 0


# Seeds and where in the burst each kills: before any ack, during, after (while sending).
SCENARIOS = [(11, "before"), (12, "during"), (13, "after")]


@pytest.mark.parametrize(("seed", "when"), SCENARIOS, ids=[w for _, w in SCENARIOS])
def test_kill_9_of_every_process_loses_and_doubles_nothing(
    world: World, seed: int, when: str
) -> None:
    rng = random.Random(seed)
    tandem = Tandem(world).start()
    burst = Burst()
    world.fake.slow_down("chat.postMessage", 0.02)  # so posts are in flight at the kill
    try:
        wait = send_burst(world, tandem.url, seed, burst)
        if when == "before":
            tandem.kill9()  # the burst is under way; at most the first requests arrived
        elif when == "during":
            burst.wait_until_done(rng.randint(10, KUDOS + ANSWERS - 10))
            tandem.kill9()
        else:
            burst.wait_until_done(KUDOS + ANSWERS)
            world.fake.wait_for("chat.postMessage", rng.randint(1, 40), timeout=30)
            tandem.kill9()
        wait()
        if when == "after":
            assert len(burst.acked_kudos) == KUDOS and len(burst.acked_answers) == ANSWERS
        expire_leases(world)
        tandem = Tandem(world).start()
        wait_until_drained(world)
    finally:
        tandem.stop()
    check_exactly_once(world, burst)


@pytest.mark.postgres
def test_dropped_database_connections_while_work_is_pending_lose_and_double_nothing(
    world: World,
) -> None:
    if not world.db_url.startswith("postgresql"):
        pytest.skip("terminates PostgreSQL backends")
    tandem = Tandem(world).start()
    burst = Burst()
    world.fake.slow_down("chat.postMessage", 0.02)
    try:
        wait = send_burst(world, tandem.url, 21, burst)
        for acks in (20, 60):
            burst.wait_until_done(acks)
            terminate_connections(world)
        wait()
        world.fake.wait_for("chat.postMessage", 20, timeout=30)
        terminate_connections(world)
        if not drained(world, 20):
            # A claim whose commit was cut off leaves rows leased by a sender that never
            # learnt it holds them: they wait out their lease, and, as the call may
            # have reached Slack, are looked up before being sent again. Stop, let
            # the leases run out (moved to the past) and start again.
            tandem.stop()
            expire_leases(world)
            tandem = Tandem(world).start()
            wait_until_drained(world)
    finally:
        tandem.stop()
    check_exactly_once(world, burst)
    assert len(burst.acked_kudos) + len(burst.acked_answers) > 0


def terminate_connections(world: World) -> None:
    """Every other connection to the test database is cut, as in a database restart."""
    with world.services.engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        conn.commit()


def _debug_dead(world: World) -> list[tuple[str, str | None]]:
    with world.services.sessions() as session:
        return list(
            session.execute(
                select(Outbox.idempotency_key, Outbox.last_error).where(Outbox.status == "dead")
            ).all()
        )
