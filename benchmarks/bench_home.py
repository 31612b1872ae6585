"""How long building and queueing one App Home takes, in a partnership of 10,000 members with 20 rituals.

The database holds a partnership of two teams with 10,000 members over 40
time zones and 20 rituals (five of each kind), a month of activity
(20,000 kudos and their interactions, 60,000 more interactions), 4 rounds of
shadowing per shadowing ritual (5,000 pairings each) and 50,000 sent outbox
rows. Timed, on SQLite and PostgreSQL, up to the Slack call (which the
outbox sender makes later):
- a member's Home: build the view and queue it (one transaction: lock the
  member's Home row, read, render, hash, enqueue);
- an admin's Home: the same plus the admin section (20 rituals with their
  schedule in words and next fire time, team sizes, outbox counts);
- an unchanged Home: built and found identical, so nothing is queued.
Each changed publish carries a different notice line, so every run queues.

Run: .venv/bin/python benchmarks/bench_home.py [--postgres-url URL] [--skip-postgres] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import postgres_database, sqlite_database, summary_ms
from bot.home import publish_home
from bot.services import Services
from bot.settings import load_settings
from rituals.interactions import InteractionKind, InterdependenceType, RitualKind
from rituals.schedule import PRESETS
from storage import org, rituals
from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import upgrade
from storage.models import (
    Interaction,
    Kudos,
    KudosRecipient,
    Member,
    Outbox,
    ShadowPairing,
    ShadowParticipant,
    ShadowRound,
    TeamMembership,
)

MEMBERS = 10_000
RITUALS_PER_KIND = 5
KUDOS = 20_000
OTHER_INTERACTIONS = 60_000
ROUNDS = 4
SENT_OUTBOX = 50_000
NOW = datetime(2026, 3, 18, 10, tzinfo=UTC)
ZONES = (
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Helsinki",
    "Africa/Lagos",
    "Africa/Cairo",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Phoenix",
    "America/Mexico_City",
    "America/Halifax",
    "America/Argentina/Buenos_Aires",
    "Atlantic/Azores",
    "Europe/Istanbul",
    "Africa/Johannesburg",
    "Asia/Tehran",
    "Asia/Kathmandu",
    "Asia/Seoul",
    "Australia/Adelaide",
    "Australia/Brisbane",
    "Pacific/Tongatapu",
)
DEFAULT_POSTGRES = os.environ.get(
    "TANDEM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
CHUNK = 5_000  # rows per bulk INSERT while seeding


class Bench:
    def __init__(self, url: str) -> None:
        upgrade(url)
        engine = make_engine(url)
        settings = load_settings(_env_file=None, TANDEM_DATABASE_URL=url)
        self.services = Services(settings, engine, make_session_factory(engine))
        self.statements = 0
        event.listen(engine, "before_cursor_execute", self._count)
        self.rng = random.Random(7)
        self.workspace, self.member_user = self._seed()

    def _count(self, *_args: Any) -> None:
        self.statements += 1

    def _bulk(self, session: Any, model: Any, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), CHUNK):
            session.execute(insert(model), rows[start : start + CHUNK])

    def _seed(self) -> tuple[int, str]:
        created = NOW - timedelta(days=90)
        rng = self.rng
        with transaction(self.services.sessions) as session:
            workspace = org.ensure_workspace(session, "TBENCH", created)
            teams = [
                org.add_team(session, workspace, name, "usergroup", f"S{n}", created).id
                for n, name in enumerate(("Marketing", "IT"))
            ]
            self._bulk(
                session,
                Member,
                [
                    {
                        "workspace_id": workspace,
                        "slack_user_id": f"U{n:05d}",
                        "display_name": f"member {n}",
                        "tz": ZONES[n % len(ZONES)],
                        "opted_out": [],
                        "updated_at": created,
                    }
                    for n in range(MEMBERS)
                ],
            )
            ids = list(session.scalars(select(Member.id).order_by(Member.id)))
            team_of = {member_id: teams[n % 2] for n, member_id in enumerate(ids)}
            self._bulk(
                session,
                TeamMembership,
                [{"team_id": team_of[m], "member_id": m, "joined_at": created} for m in ids],
            )
            partnership = org.add_partnership(
                session,
                workspace,
                "Launch",
                ["Marketing", "IT"],
                "CJOINT",
                ["U00000", "U00001"],
                InterdependenceType.RECIPROCAL,
                created,
            ).id
            shadowing: list[int] = []
            presets = list(PRESETS.values())
            for kind in RitualKind:
                for n in range(RITUALS_PER_KIND):
                    preset = presets[n % len(presets)]
                    made = rituals.create(
                        session,
                        partnership_id=partnership,
                        kind=kind,
                        cron=preset.cron if kind is not RitualKind.STANDUP else "30 9 * * 1-5",
                        timezone="member-local" if n % 2 == 0 else ZONES[n],
                        now=created,
                        settings={"every_n_weeks": preset.every_n_weeks}
                        if preset.every_n_weeks > 1
                        else {},
                        paused=n == 4,
                    )
                    if kind is RitualKind.SHADOWING:
                        shadowing.append(made.id)
            self._seed_activity(session, workspace, partnership, ids, team_of, rng)
            self._seed_shadowing(session, shadowing, ids)
            self._bulk(
                session,
                Outbox,
                [
                    {
                        "idempotency_key": f"bench:sent:{n}",
                        "workspace_id": workspace,
                        "method": "chat.postMessage",
                        "channel_key": f"D{n % MEMBERS}",
                        "payload": {"channel": f"D{n % MEMBERS}", "text": "hello"},
                        "status": "sent",
                        "attempts": 1,
                        "next_attempt_at": NOW - timedelta(minutes=n % 40_000),
                        "created_at": NOW - timedelta(minutes=n % 40_000),
                        "sent_at": NOW - timedelta(minutes=n % 40_000),
                    }
                    for n in range(SENT_OUTBOX)
                ],
            )
        with self.services.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        return workspace, "U00000"

    def _seed_activity(
        self,
        session: Any,
        workspace: int,
        partnership: int,
        ids: list[int],
        team_of: dict[int, int],
        rng: random.Random,
    ) -> None:
        month_start = datetime(2026, 3, 1, tzinfo=UTC)
        span = (NOW - month_start).total_seconds()

        def moment() -> datetime:
            return month_start + timedelta(seconds=rng.random() * span)

        kudos_rows, recipients, interactions = [], [], []
        for n in range(KUDOS):
            giver, receiver = rng.sample(ids, 2)
            kudos_rows.append(
                {
                    "id": n + 1,
                    "partnership_id": partnership,
                    "giver_member_id": giver,
                    "reason": "thanks",
                    "values": [],
                    "cross_team": team_of[giver] != team_of[receiver],
                    "created_at": moment(),
                }
            )
            recipients.append({"kudos_id": n + 1, "member_id": receiver})
            interactions.append(
                self._interaction(
                    workspace,
                    partnership,
                    InteractionKind.KUDOS,
                    receiver,
                    giver,
                    team_of,
                    moment(),
                )
            )
        kinds = (InteractionKind.HELP_GIVEN, InteractionKind.MENTION, InteractionKind.SHADOWING)
        for n in range(OTHER_INTERACTIONS):
            provider, beneficiary = rng.sample(ids, 2)
            interactions.append(
                self._interaction(
                    workspace, partnership, kinds[n % 3], provider, beneficiary, team_of, moment()
                )
            )
        self._bulk(session, Kudos, kudos_rows)
        self._bulk(session, KudosRecipient, recipients)
        self._bulk(session, Interaction, interactions)

    @staticmethod
    def _interaction(
        workspace: int,
        partnership: int,
        kind: InteractionKind,
        provider: int,
        beneficiary: int,
        team_of: dict[int, int],
        at: datetime,
    ) -> dict[str, Any]:
        return {
            "workspace_id": workspace,
            "partnership_id": partnership,
            "kind": kind.value,
            "provider_member_id": provider,
            "beneficiary_member_id": beneficiary,
            "provider_team_id": team_of[provider],
            "beneficiary_team_id": team_of[beneficiary],
            "occurred_at": at,
            "tags": [],
        }

    def _seed_shadowing(self, session: Any, ritual_ids: list[int], ids: list[int]) -> None:
        pairing_id = 0
        for ritual_id in ritual_ids:
            for round_no in range(1, ROUNDS + 1):
                round_ = ShadowRound(
                    ritual_id=ritual_id,
                    round_no=round_no,
                    round_date=date(2026, 1, 1) + timedelta(weeks=2 * round_no),
                    created_at=NOW - timedelta(weeks=10 - 2 * round_no),
                )
                session.add(round_)
                session.flush()
                shuffled = ids[:]
                self.rng.shuffle(shuffled)
                pairings, participants = [], []
                for host, shadower in zip(shuffled[0::2], shuffled[1::2], strict=True):
                    pairing_id += 1
                    pairings.append({"id": pairing_id, "round_id": round_.id, "status": "proposed"})
                    participants += [
                        {"pairing_id": pairing_id, "member_id": host, "role": "host"},
                        {"pairing_id": pairing_id, "member_id": shadower, "role": "shadower"},
                    ]
                self._bulk(session, ShadowPairing, pairings)
                self._bulk(session, ShadowParticipant, participants)

    def publish(self, user: str, *, admin: bool, notice: str | None) -> tuple[float, int, bool]:
        before = self.statements
        started = time.perf_counter()
        done = publish_home(
            self.services, self.workspace, user, is_admin=admin, now=NOW, notice=notice
        )
        elapsed = time.perf_counter() - started
        return elapsed, self.statements - before, done.key is not None

    def close(self) -> None:
        self.services.close()


def run(url: str, label: str, runs: int) -> None:
    started = time.perf_counter()
    bench = Bench(url)
    seeded = time.perf_counter() - started
    try:
        results: dict[str, tuple[list[float], int, int]] = {}
        for name, user, admin in (
            ("member Home", bench.member_user, False),
            ("admin Home (member + admin section)", bench.member_user, True),
        ):
            bench.publish(user, admin=admin, notice="warm-up")  # caches, first plans
            times, statements, blocks = [], 0, 0
            for n in range(runs):
                elapsed, statements, queued = bench.publish(user, admin=admin, notice=f"run {n}")
                assert queued
                times.append(elapsed)
            with bench.services.sessions() as session:
                payload = session.scalars(
                    select(Outbox.payload)
                    .where(Outbox.method == "views.publish")
                    .order_by(Outbox.id.desc())
                    .limit(1)
                ).one()
                blocks = len(payload["view"]["blocks"])
            results[name] = (times, statements, blocks)
        unchanged = []
        bench.publish(bench.member_user, admin=False, notice="same")
        for _ in range(runs):
            elapsed, statements, queued = bench.publish(
                bench.member_user, admin=False, notice="same"
            )
            assert not queued
            unchanged.append(elapsed)
    finally:
        bench.close()
    print(
        f"\n{label}: {MEMBERS:,} members, {len(RitualKind) * RITUALS_PER_KIND} rituals, "
        f"{KUDOS + OTHER_INTERACTIONS:,} interactions this month, {SENT_OUTBOX:,} sent outbox rows "
        f"(seeded in {seeded:.0f} s); {runs} runs each, up to the Slack call"
    )
    for name, (times, statements, blocks) in results.items():
        print(f"  {name:38s} {summary_ms(times)}  {statements} statements, {blocks} blocks")
    print(f"  {'unchanged Home (nothing queued)':38s} {summary_ms(unchanged)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="an admin URL")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    backends: list[tuple[str, Callable[[], Any]]] = [("SQLite", sqlite_database)]
    if not args.skip_postgres:
        backends.append(("PostgreSQL", lambda: postgres_database(args.postgres_url)))
    for label, database in backends:
        with database() as url:
            run(url, label, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
