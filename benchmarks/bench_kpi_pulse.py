"""Joint KPIs and the pulse: the board, the pulse results, and the digest with both sections.

The database holds a partnership of two teams (200 members each), 50 joint
KPIs with two owners and 20 weekly check-ins each, a closed pulse round of
10,000 answers (a fifth with a comment) and the month before it, and 20,000
interactions in the month. Timed, on SQLite and PostgreSQL, each beside an
anchor measured in the same run:
- the KPI board for 50 KPIs built and queued (one transaction: read the KPIs,
  owners and latest check-ins, render, hash, revision, enqueue the chat.update);
  anchor: one transaction enqueuing one plain outbox row;
- the pulse results over 10,000 answers, worked out as the round's close
  does once (grouped counts per team and score, the comments, shuffling and
  scrubbing them of the names of 400 members); anchor: counting the round's
  answers;
- the digest's pulse section read from the closed round (this month and the
  one before, for the trend);
- the whole digest (compute and render) with both new sections against the
  same digest without them, interleaved run by run.

Run: .venv/bin/python benchmarks/bench_kpi_pulse.py [--postgres-url URL] [--skip-postgres] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import postgres_database, sqlite_database, summary_ms
from bot import digest as digest_module
from bot.digest import Month, compute_digest, render
from bot.digest_sections import Sections
from bot.kpi.board import queue_board
from bot.pulse.closing import close_round, results_of
from bot.pulse.digest_section import section_blocks
from rituals.interactions import InteractionKind, InterdependenceType
from rituals.kpi import Cadence, Direction, period_of
from storage import kpis, org, pulse
from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import upgrade
from storage.models import Interaction, PulseAnswer
from storage.outbox import OutboundCall, enqueue

MEMBERS_PER_TEAM = 200
KPIS = 50
CHECKINS = 20
ANSWERS = 10_000
INTERACTIONS = 20_000
NOW = datetime(2026, 4, 1, 9, tzinfo=UTC)
MONTH = Month(2026, 3)


def _seed(sessions: object) -> tuple[int, dict[int, str]]:
    rng = random.Random(16)
    with transaction(sessions) as s:  # type: ignore[arg-type]
        ws = org.ensure_workspace(s, "TBENCH", NOW)
        mkt = org.add_team(s, ws, "Marketing", "usergroup", "S1", NOW - timedelta(days=90)).id
        it = org.add_team(s, ws, "IT", "usergroup", "S2", NOW - timedelta(days=90)).id
        profiles = [
            org.MemberProfile(f"U{t}{i:04d}", f"person {t}{i}", "Europe/London")
            for t in ("M", "I")
            for i in range(MEMBERS_PER_TEAM)
        ]
        ids = org.upsert_members(s, ws, profiles, NOW - timedelta(days=90))
        team_people = {
            mkt: [ids[f"UM{i:04d}"] for i in range(MEMBERS_PER_TEAM)],
            it: [ids[f"UI{i:04d}"] for i in range(MEMBERS_PER_TEAM)],
        }
        for team, people in team_people.items():
            org.set_team_roster(s, team, set(people), NOW - timedelta(days=90))
        partnership = org.add_partnership(
            s,
            ws,
            "Bench",
            ["Marketing", "IT"],
            "CBENCH",
            ["UM0000"],
            InterdependenceType.RECIPROCAL,
            NOW - timedelta(days=90),
        )
        pid = partnership.id
        start = date(2026, 1, 5)
        for k in range(KPIS):
            owners = ((team_people[mkt][k], mkt), (team_people[it][k], it))
            kpi_id = kpis.add_kpi(
                s,
                kpis.NewKpi(
                    ws,
                    pid,
                    f"KPI {k:02d}",
                    "%",
                    Direction.HIGHER,
                    10.0,
                    50.0,
                    start,
                    date(2026, 12, 31),
                    Cadence.WEEKLY,
                    "UM0000",
                    owners,
                ),
                NOW - timedelta(days=90),
            )
            for week in range(CHECKINS):
                at = datetime(2026, 1, 5, 10, tzinfo=UTC) + timedelta(weeks=week)
                member, team = owners[week % 2]
                kpis.add_checkin(
                    s,
                    kpi_id,
                    member,
                    team,
                    period_of(Cadence.WEEKLY, at.date()),
                    10.0 + week * rng.uniform(0.5, 1.5),
                    "",
                    at,
                )
        for month in ("2026-02", "2026-03"):
            rnd = pulse.open_round(s, pid, month, {mkt: 6000, it: 6000})
            rows = [
                {
                    "round_id": rnd.id,
                    "team_id": (mkt, it)[i % 2],
                    "score": rng.randint(1, 5),
                    "comment": f"comment {i} from person M{i % 200}" if i % 5 == 0 else None,
                }
                for i in range(ANSWERS)
            ]
            s.execute(insert(PulseAnswer), rows)
            close_round(s, rnd.id, NOW)
        month_start = datetime(2026, 3, 1, tzinfo=UTC)
        kinds = [InteractionKind.KUDOS, InteractionKind.HELP_GIVEN, InteractionKind.MENTION]
        s.execute(
            insert(Interaction),
            [
                {
                    "workspace_id": ws,
                    "partnership_id": pid,
                    "kind": rng.choice(kinds).value,
                    "provider_member_id": team_people[a][rng.randrange(MEMBERS_PER_TEAM)],
                    "beneficiary_member_id": team_people[b][rng.randrange(MEMBERS_PER_TEAM)],
                    "provider_team_id": a,
                    "beneficiary_team_id": b,
                    "occurred_at": month_start + timedelta(minutes=rng.randrange(30 * 24 * 60)),
                    "tags": [],
                }
                for a, b in (
                    ((mkt, it) if rng.random() < 0.4 else (it, mkt)) for _ in range(INTERACTIONS)
                )
            ],
        )
    return pid, {mkt: "Marketing", it: "IT"}


def _timed(runs: int, work: Callable[[int], object]) -> list[float]:
    samples = []
    for run in range(runs):
        began = time.perf_counter()
        work(run)
        samples.append(time.perf_counter() - began)
    return samples


def bench(url: str, label: str, runs: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    pid, names = _seed(sessions)
    with sessions() as s:
        round_id = pulse.closed_rounds(s, pid, "2026-03")[0].id

    def board(run: int) -> None:
        with transaction(sessions) as s:
            # A different "today" each run, so the board changes and is queued.
            queue_board(s, 1, pid, "CBENCH", date(2026, 3, 1) + timedelta(days=run), NOW)

    def anchor_enqueue(run: int) -> None:
        with transaction(sessions) as s:
            enqueue(
                s,
                OutboundCall(
                    f"anchor:{label}:{run}", "chat.postMessage", {"channel": "CBENCH", "text": "x"}
                ),
                NOW,
            )

    def pulse_results(_run: int) -> None:
        with sessions() as s:
            results_of(s, round_id, pid)

    def pulse_section(_run: int) -> None:
        with sessions() as s:
            section_blocks(s, pid, "2026-03", names, {})

    def anchor_count(_run: int) -> None:
        with sessions() as s:
            s.scalar(
                select(func.count())
                .select_from(PulseAnswer)
                .where(PulseAnswer.round_id == round_id)
            )

    def with_sections(_run: int) -> None:
        with sessions() as s:
            render(compute_digest(s, pid, MONTH))

    original = digest_module.extra_sections

    def without_sections(_run: int) -> None:
        digest_module.extra_sections = lambda *args, **kwargs: Sections()  # type: ignore[assignment]
        try:
            with sessions() as s:
                render(compute_digest(s, pid, MONTH))
        finally:
            digest_module.extra_sections = original

    for name, work, anchor in (
        ("KPI board, 50 KPIs, built and queued", board, anchor_enqueue),
        ("pulse results, 10,000 answers", pulse_results, anchor_count),
        ("pulse section of the digest, kept results", pulse_section, anchor_count),
    ):
        work(runs + 1)  # warm up
        anchor(runs + 1)
        measured = _timed(runs, work)
        anchored = _timed(runs, anchor)
        print(f"{label:10} {name:40} {summary_ms(measured)}")
        print(f"{label:10} {'  anchor':40} {summary_ms(anchored)}")
    with_sections(0)
    without_sections(0)
    both: list[float] = []
    bare: list[float] = []
    for _run in range(runs):  # interleaved, so load changes hit both alike
        both += _timed(1, with_sections)
        bare += _timed(1, without_sections)
    ratio = statistics.median(both) / statistics.median(bare)
    print(f"{label:10} {'digest with KPI and pulse sections':40} {summary_ms(both)}")
    print(f"{label:10} {'  the same digest without them':40} {summary_ms(bare)}")
    print(f"{label:10} {'  ratio of medians':40} {ratio:.3f}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "TANDEM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with sqlite_database() as url:
        bench(url, "SQLite", args.runs)
    if not args.skip_postgres:
        with postgres_database(args.postgres_url) as url:
            bench(url, "PostgreSQL", args.runs)


if __name__ == "__main__":
    main()
