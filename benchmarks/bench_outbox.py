"""How close the outbox senders get to the rate Slack allows, and whether they ever double a post.

2,000 DMs to 400 people (five each, in shuffled order) against a FakeSlack
that enforces one post per second per channel and W posts per second per
workspace as strict spacing, answering 429 with Retry-After beyond either.
The allowed rate is min(400 channels × 1/s, W); with W = 50/s a perfect run
takes 40 s. The senders are configured with TANDEM_WORKSPACE_RATE_PER_SECOND
= W, as an operator would, and run as threads of one process sharing one
pacer, on SQLite and (when reachable) PostgreSQL.

The fake runs in a process of its own, as Slack would be elsewhere. Strict
spacing turns arrival jitter into 429s, and jitter depends on how busy the
machine is, so a reference run comes first: one bare client, no database,
posting on a fixed clock at the pacer's starting spacing. It is about the
best any client can do on this machine at this moment.

Throughput is measured between the first and the last accepted post, as the
fake saw them arrive.

Run: .venv/bin/python benchmarks/bench_outbox.py [--messages N] [--people N]
     [--workspace-rate W] [--threads N] [--postgres-url URL] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clock import utcnow
from bot.outbox import OutboxSender, Pacer, sender_client
from bot.outbox.pacing import HEADROOM
from bot.settings import load_settings
from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import upgrade
from storage.outbox import OutboundCall, enqueue
from tests.fakes import FakeSlack

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REFERENCE_POSTS = 1000


# --- the fake Slack, in a process of its own --------------------------------------------


@dataclass(frozen=True)
class FakeReport:
    accepted_at: list[float]  # arrival (time.monotonic, system-wide) of each accepted post
    keys: list[str | None]  # idempotency key of each accepted post
    ratelimited: int
    duplicates: int


def _serve_fake(conn: Connection, people: list[str], workspace_rate: float) -> None:
    with FakeSlack() as fake:
        for user in people:
            fake.add_user(user)
        fake.rate_limit(per_channel_per_second=1.0, workspace_per_second=workspace_rate)
        conn.send(fake.url)
        while (command := conn.recv()) != "stop":
            if command == "report":
                accepted = [c for c in fake.calls_to("chat.postMessage") if c.ok]
                conn.send(
                    FakeReport(
                        accepted_at=[c.at for c in accepted],
                        keys=[_key(c.json_param("metadata")) for c in accepted],
                        ratelimited=fake.stats.ratelimited,
                        duplicates=fake.duplicates(),
                    )
                )
            elif command == "reset":
                fake.reset()
                fake.rate_limit(per_channel_per_second=1.0, workspace_per_second=workspace_rate)
                conn.send("ok")


def _key(metadata: Any) -> str | None:
    if not isinstance(metadata, dict):
        return None
    return (metadata.get("event_payload") or {}).get("idempotency_key")


class RemoteFake:
    def __init__(self, people: list[str], workspace_rate: float) -> None:
        self._conn, child = multiprocessing.Pipe()
        context = multiprocessing.get_context("spawn")
        self._process = context.Process(
            target=_serve_fake, args=(child, people, workspace_rate), daemon=True
        )
        self._process.start()
        self.url: str = self._conn.recv()

    def report(self) -> FakeReport:
        self._conn.send("report")
        report: FakeReport = self._conn.recv()
        return report

    def reset(self) -> None:
        self._conn.send("reset")
        self._conn.recv()

    def close(self) -> None:
        self._conn.send("stop")
        self._process.join(10)


# --- databases ------------------------------------------------------------------------------


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench_outbox.db"
        upgrade(url)
        yield url


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"tandem_bench_outbox_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- runs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    label: str
    posts: int
    allowed_rate: float
    seconds: float
    ratelimited: int
    duplicates: int
    missing: int
    dead: int

    @property
    def rate(self) -> float:
        # n posts at the allowed rate span n - 1 intervals.
        return (self.posts - 1) / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        share = self.rate / self.allowed_rate
        return (
            f"{self.label:<34} {self.posts:5d} posts in {self.seconds:5.1f} s = "
            f"{self.rate:5.1f}/s = {share:6.1%} of allowed | 429s {self.ratelimited:4d} | "
            f"duplicates {self.duplicates} | missing {self.missing} | dead {self.dead}"
        )


def _span(report: FakeReport) -> float:
    return report.accepted_at[-1] - report.accepted_at[0] if len(report.accepted_at) > 1 else 0.0


def reference(fake: RemoteFake, people: list[str], workspace_rate: float) -> Result:
    """A bare client posting on a fixed clock: no database, no pacing logic, no retries."""
    client = WebClient(token="xoxb-test", base_url=fake.url, retry_handlers=[])
    spacing = 1.0 / (workspace_rate * HEADROOM)
    due = time.monotonic()
    for i in range(REFERENCE_POSTS):
        due += spacing
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        with suppress(SlackApiError):  # a 429 is what we count
            client.chat_postMessage(channel=people[i % len(people)], text=f"reference {i}")
    report = fake.report()
    fake.reset()
    return Result(
        label=f"reference (1 client @ {HEADROOM:.0%} of W)",
        posts=len(report.accepted_at),
        allowed_rate=min(float(len(people)), workspace_rate),
        seconds=_span(report),
        ratelimited=report.ratelimited,
        duplicates=report.duplicates,
        missing=0,
        dead=0,
    )


def senders(
    label: str, url: str, fake: RemoteFake, people: list[str], args: argparse.Namespace
) -> Result:
    calls = [
        OutboundCall(
            f"digest:{round_no}:{user}",
            "chat.postMessage",
            {"channel": user, "text": f"Round {round_no} for you"},
            channel_key=user,
        )
        for round_no in range(args.messages // len(people))
        for user in people
    ]
    random.Random(7).shuffle(calls)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        enqueue(session, calls, utcnow())
    settings = load_settings(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=fake.url,
        TANDEM_WORKSPACE_RATE_PER_SECOND=args.workspace_rate,
        TANDEM_DATABASE_URL=url,
    )
    pacer = Pacer(settings.workspace_rate_per_second)
    workers = [
        OutboxSender(sessions, sender_client(settings), settings, f"bench-{i}", pacer=pacer)
        for i in range(args.threads)
    ]
    threads = [
        threading.Thread(
            target=w.run_forever, args=(threading.Event(),), kwargs={"until_drained": True}
        )
        for w in workers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with sessions() as session:
        dead = int(
            session.execute(text("SELECT count(*) FROM outbox WHERE status = 'dead'")).scalar_one()
        )
    engine.dispose()

    report = fake.report()
    fake.reset()
    sent = Counter(report.keys)
    return Result(
        label=f"{label} ({args.threads} sender threads)",
        posts=len(report.accepted_at),
        allowed_rate=min(float(len(people)), args.workspace_rate),
        seconds=_span(report),
        ratelimited=report.ratelimited,
        duplicates=report.duplicates,
        missing=len({c.idempotency_key for c in calls} - set(sent)),
        dead=dead,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--people", type=int, default=400)
    parser.add_argument("--workspace-rate", type=float, default=50.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    people = [f"U{i:05d}" for i in range(args.people)]

    print(
        f"{args.messages} DMs to {args.people} people; the fake allows 1 post/s per channel and "
        f"{args.workspace_rate:g}/s per workspace, so {min(args.people, args.workspace_rate):g}/s; "
        f"TANDEM_WORKSPACE_RATE_PER_SECOND={args.workspace_rate:g}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    fake = RemoteFake(people, args.workspace_rate)
    results: list[Result] = []
    try:
        results.append(reference(fake, people, args.workspace_rate))
        print(results[-1].line(), flush=True)
        with sqlite_database() as url:
            results.append(senders("sqlite", url, fake, people, args))
        print(results[-1].line(), flush=True)
        if not args.skip_postgres:
            try:
                with postgres_database(args.postgres_url) as url:
                    results.append(senders("postgres", url, fake, people, args))
                print(results[-1].line(), flush=True)
            except Exception as exc:
                print(f"postgres skipped: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        fake.close()
    print(f"load average afterwards {os.getloadavg()[0]:.1f}")
    return 1 if any(r.duplicates or r.missing for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
