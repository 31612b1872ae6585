"""How long one ritual tick takes, and how many SQL statements it sends, at 10,000 members.

A partnership of two teams with 10,000 members spread over 40 time zones
runs a member-local weekday standup at 09:30. Measured on SQLite and
PostgreSQL:
- a tick with nothing due (almost every tick of the day);
- a tick when 09:30 arrives somewhere (a chunk of members, 250 per zone,
  more when zones share an offset);
- the largest chunk (the zones sharing an offset, a tenth of everyone) due
  at one instant, over several days, each tick followed by the anchor: the
  same number of occurrence and outbox rows written by one bare SQL
  statement per table, built in the database (the floor any tick pays);
- a catch-up tick after a day-long outage, where every member has an
  occurrence to record (most skipped, a few due).
The builder enqueues one outbox row per occurrence, as real ones will.
`--members 100000` is the organisation of ten times the size (10,000 due at
one instant); the default is the size CI and the README table use.

Run: .venv/bin/python benchmarks/bench_tick.py [--members N] [--postgres-url URL] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, event, insert, select, text, update
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import postgres_database, sqlite_database
from bot.ritual_builders import BuilderRegistry
from bot.services import Services
from bot.settings import load_settings
from bot.tick import TickReport, tick
from rituals.interactions import InterdependenceType, RitualKind
from rituals.schedule import Schedule, slots_between
from storage import org, rituals
from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import upgrade
from storage.models import Member, Ritual, TeamMembership
from storage.occurrences import WonOccurrence
from storage.outbox import OutboundCall, enqueue
from storage.rituals import RitualSnapshot
from storage.types import UTCDateTime

MEMBERS = 10_000  # the default; --members changes it
ZONES = (
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Denver",
    "America/Phoenix",
    "America/Chicago",
    "America/Mexico_City",
    "America/New_York",
    "America/Halifax",
    "America/St_Johns",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "Atlantic/Azores",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Warsaw",
    "Africa/Lagos",
    "Europe/Athens",
    "Europe/Helsinki",
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Africa/Nairobi",
    "Europe/Istanbul",
    "Asia/Dubai",
    "Asia/Tehran",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Adelaide",
    "Australia/Brisbane",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Tongatapu",
)
STANDUP = Schedule("30 9 * * 1-5", "member-local")
MONDAY = datetime(2026, 1, 12, tzinfo=UTC)
DEFAULT_POSTGRES = os.environ.get(
    "TANDEM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# Weekdays (days after MONDAY) whose largest fire instant is measured with the
# anchor; clear of the days the other measurements use and of the catch-up.
AT_ONCE_DAYS = (9, 10, 11, 14, 15, 16, 17, 18)


def build_one_message_each(
    session: Session, ritual: RitualSnapshot, won: list[WonOccurrence], now: datetime
) -> None:
    calls = [
        OutboundCall(
            f"standup:{ritual.id}:{o.fire_key}:{o.subject}",
            "chat.postMessage",
            {"channel": f"D{o.member_id}", "text": "Time for the joint standup"},
        )
        for o in won
    ]
    # One call, as bot.standup's builder does; storage batches under each driver's limits.
    enqueue(session, calls, now, ritual.workspace_id)


def build_nothing(
    session: Session, ritual: RitualSnapshot, won: list[WonOccurrence], now: datetime
) -> None:
    """Stands in for a builder, so the tick's own share of the time shows."""


@dataclass
class Sample:
    ms: float
    queries: int
    report: TickReport


class Bench:
    def __init__(self, url: str, members: int) -> None:
        self.members = members
        upgrade(url)
        engine = make_engine(url)
        settings = load_settings(_env_file=None, TANDEM_DATABASE_URL=url)
        self.services = Services(settings, engine, make_session_factory(engine))
        self.builders = BuilderRegistry({RitualKind.STANDUP: build_one_message_each})
        self.statements = 0
        event.listen(engine, "before_cursor_execute", self._count)
        self.ritual_id = self._seed()

    def _count(self, *_args: Any) -> None:
        self.statements += 1

    def _seed(self) -> int:
        members = self.members
        with transaction(self.services.sessions) as session:
            workspace = org.ensure_workspace(session, "TBENCH", MONDAY)
            teams = [
                org.add_team(session, workspace, name, "usergroup", f"S{n}", MONDAY).id
                for n, name in enumerate(("Marketing", "IT"))
            ]
            session.execute(
                insert(Member),
                [
                    {
                        "workspace_id": workspace,
                        "slack_user_id": f"U{n:05d}",
                        "display_name": f"member {n}",
                        "tz": ZONES[n % len(ZONES)],
                        "opted_out": [],
                        "updated_at": MONDAY,
                    }
                    for n in range(members)
                ],
            )
            member_ids = session.scalars(select(Member.id).order_by(Member.id)).all()
            session.execute(
                insert(TeamMembership),
                [
                    {"team_id": teams[n % 2], "member_id": member_id, "joined_at": MONDAY}
                    for n, member_id in enumerate(member_ids)
                ],
            )
            partnership = org.add_partnership(
                session,
                workspace,
                "Launch",
                ["Marketing", "IT"],
                "CJOINT",
                [],
                InterdependenceType.RECIPROCAL,
                MONDAY,
            )
            ritual = rituals.create(
                session,
                partnership_id=partnership.id,
                kind=RitualKind.STANDUP,
                cron=STANDUP.cron,
                timezone=STANDUP.timezone,
                now=MONDAY,
            )
        with self.services.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        self.workspace_id = workspace
        return ritual.id

    def set_scheduled_through(self, moment: datetime) -> None:
        with transaction(self.services.sessions) as session:
            session.execute(
                update(Ritual).where(Ritual.id == self.ritual_id).values(scheduled_through=moment)
            )

    def tick(self, now: datetime) -> Sample:
        before = self.statements
        started = time.perf_counter()
        report = tick(self.services, now, builders=self.builders)
        elapsed = (time.perf_counter() - started) * 1000
        return Sample(elapsed, self.statements - before, report)

    def anchor(self, count: int, at: datetime) -> float:
        """Milliseconds to write `count` occurrence and outbox rows with bare SQL, then commit.

        The rows are numbered by the database itself (a recursive CTE, which
        both backends know), so no Python builds, sends or converts them:
        what is left is the database's own work on the same tables, indexes
        and constraints. They are deleted afterwards, untimed.
        """
        engine = self.services.engine
        numbers = (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
        )
        text_payload = '\'{"channel": "D\' || i || \'", "text": "Time for the joint standup"}\''
        payload = (
            f"CAST({text_payload} AS JSON)" if engine.dialect.name == "postgresql" else text_payload
        )
        # WHERE true: SQLite needs it to tell the upsert's ON from a join's.
        occurrences = text(
            numbers + "INSERT INTO occurrence (ritual_id, subject, fire_key, fire_at, status,"
            " tz_fallback, detail, created_at) SELECT :ritual, 'member:' || i, 'anchor', :at,"
            " 'done', false, NULL, :at FROM n WHERE true"
            " ON CONFLICT (ritual_id, subject, fire_key) DO NOTHING RETURNING id"
        ).bindparams(bindparam("at", type_=UTCDateTime()))
        outbox = text(
            numbers + "INSERT INTO outbox (idempotency_key, workspace_id, method, channel_key,"
            " payload, parent_key, status, attempts, next_attempt_at, created_at)"
            " SELECT 'anchor:' || i, :workspace, 'chat.postMessage', 'D' || i, "
            + payload
            + ", NULL, 'pending', 0, :at, :at FROM n WHERE true"
            " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
        ).bindparams(bindparam("at", type_=UTCDateTime()))
        params = {"count": count, "ritual": self.ritual_id, "workspace": self.workspace_id}
        started = time.perf_counter()
        with engine.begin() as conn:
            written = len(conn.execute(occurrences, {**params, "at": at}).all())
            written += len(conn.execute(outbox, {**params, "at": at}).all())
        elapsed = (time.perf_counter() - started) * 1000
        assert written == 2 * count, written
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM occurrence WHERE fire_key = 'anchor'"))
            conn.execute(text("DELETE FROM outbox WHERE idempotency_key LIKE 'anchor:%'"))
        return elapsed

    def close(self) -> None:
        self.services.close()


def fire_instants(day: datetime, members: int) -> Counter[datetime]:
    """When 09:30 arrives in each zone on `day`'s local date, and for how many members."""
    members_per_zone = Counter(ZONES[n % len(ZONES)] for n in range(members))
    instants: Counter[datetime] = Counter()
    for zone, count in members_per_zone.items():
        for slot in slots_between(
            STANDUP, day - timedelta(hours=15), day + timedelta(hours=15), zone
        ):
            if slot.local.date() == day.date():
                instants[slot.fire_at] += count
    return instants


def run(url: str, label: str, members: int) -> None:
    bench = Bench(url, members)
    try:
        # Nothing due: 30 s ticks between fire times (minutes 05-15 past the hour).
        idle: list[Sample] = []
        for hour in range(24):
            moment = MONDAY + timedelta(days=1, hours=hour, minutes=5)
            bench.set_scheduled_through(moment)
            for step in range(1, 4):
                sample = bench.tick(moment + timedelta(seconds=30 * step))
                assert sample.report.due == 0, sample.report
                idle.append(sample)

        # A chunk due: one tick just after each zone group's 09:30 (two weekdays
        # each), first with a builder that writes nothing, so the tick's own
        # cost shows, then with one that enqueues a message per occurrence.
        chunks: dict[str, list[tuple[int, Sample]]] = {"tick only": [], "+ outbox": []}
        for name, builder, days in (
            ("tick only", build_nothing, (1, 2)),
            ("+ outbox", build_one_message_each, (3, 4)),
        ):
            bench.builders = BuilderRegistry({RitualKind.STANDUP: builder})
            for day in days:
                instants = fire_instants(MONDAY + timedelta(days=day), members)
                for fire_at, count in sorted(instants.items()):
                    bench.set_scheduled_through(fire_at - timedelta(seconds=25))
                    sample = bench.tick(fire_at + timedelta(seconds=5))
                    assert sample.report.won == count, (count, sample.report)
                    chunks[name].append((count, sample))

        # Catch-up after a day without ticks: every member gets a row.
        catch_up_at = MONDAY + timedelta(days=8)
        bench.set_scheduled_through(catch_up_at - timedelta(days=1))
        catch_up = bench.tick(catch_up_at)

        # The largest chunk due at one instant, each tick beside the anchor.
        at_once: list[tuple[Sample, float]] = []
        for day in AT_ONCE_DAYS:
            instants = fire_instants(MONDAY + timedelta(days=day), members)
            largest = max(instants.values())
            for fire_at, due in sorted(instants.items()):
                if due != largest:
                    continue
                bench.set_scheduled_through(fire_at - timedelta(seconds=25))
                sample = bench.tick(fire_at + timedelta(seconds=5))
                assert sample.report.won == due, (due, sample.report)
                at_once.append((sample, bench.anchor(due, fire_at)))
    finally:
        bench.close()

    print(f"\n{label}: {members:,} members, {len(ZONES)} zones, one member-local standup")
    idle_ms = [s.ms for s in idle]
    print(
        f"  nothing due             {len(idle):3d} ticks  median {statistics.median(idle_ms):6.1f} ms"
        f"  p95 {percentile(idle_ms, 95):6.1f} ms  max {max(idle_ms):6.1f} ms"
        f"  statements/tick {max(s.queries for s in idle)}"
    )
    for name, samples_of in chunks.items():
        by_size: dict[int, list[Sample]] = {}
        for count, sample in samples_of:
            by_size.setdefault(count, []).append(sample)
        for count, samples in sorted(by_size.items()):
            ms = [s.ms for s in samples]
            print(
                f"  {count:6d} due {name:9s} {len(samples):3d} ticks"
                f"  median {statistics.median(ms):6.1f} ms  max {max(ms):6.1f} ms"
                f"  statements/tick {max(s.queries for s in samples)}"
            )
    due = at_once[0][0].report.won
    tick_ms = [sample.ms for sample, _ in at_once]
    anchor_ms = [anchor for _, anchor in at_once]
    print(
        f"  {due:,} due at one instant, with outbox rows, {len(at_once)} ticks:"
        f" median {statistics.median(tick_ms):.1f} ms, max {max(tick_ms):.1f} ms,"
        f" statements/tick {max(s.queries for s, _ in at_once)}"
        f"\n    anchor, the same {due:,} occurrence + {due:,} outbox rows in bare SQL:"
        f" median {statistics.median(anchor_ms):.1f} ms"
        f" (tick / anchor {statistics.median(tick_ms) / statistics.median(anchor_ms):.2f})"
    )
    report = catch_up.report
    print(
        f"  catch-up after 1 day: {report.won} built + {report.skipped} skipped rows (+ outbox)"
        f" {catch_up.ms:.1f} ms, {catch_up.queries} statements"
    )


def percentile(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="an admin URL")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--members",
        type=int,
        default=MEMBERS,
        help=f"organisation size (default {MEMBERS:,}; 100000 for ten times the organisation)",
    )
    args = parser.parse_args(argv)
    if args.members < len(ZONES):
        parser.error(f"--members must be at least {len(ZONES)}, one per zone")
    backends: list[tuple[str, Callable[[], Any]]] = [("SQLite", sqlite_database)]
    if not args.skip_postgres:
        backends.append(("PostgreSQL", lambda: postgres_database(args.postgres_url)))
    for label, database in backends:
        with database() as url:
            run(url, label, args.members)
    return 0


if __name__ == "__main__":
    sys.exit(main())
