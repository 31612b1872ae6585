"""The monthly balance at scale: one partnership-month from a large interaction log.

Generates 1,000,000 interactions (default) among 10,000 members of two teams
(6,000 and 4,000) over the 12 months of 2024, all in one partnership (the
worst case: every row of the month belongs to the partnership being
summarised), plus standup asks and blockers. About 5 % of people change
team mid-year, and every interaction carries the team at the time.

Then, on SQLite and on PostgreSQL, it times:
- one partnership-month: the grouped queries (storage.balance) plus team
  sizes and metrics_from_aggregates, i.e. everything the digest needs for
  one month (median of several warm runs, and the first run);
- the whole digest computation (six months for trend and chart, summary);
- the plain-Python reference (tests/rituals/balance_reference.py) on the same
  month's rows, already in memory, and the ratio SQL / reference; and the
  reference as it would really run, loading the month's rows from the
  database first;
and reports peak memory: Python allocations while computing (tracemalloc)
and the process's maximum resident set size. The two paths are checked to
agree on the month.

Run: .venv/bin/python benchmarks/bench_digest.py [--interactions N] [--members M]
     [--repeat R] [--postgres-url URL] [--skip-postgres] [--skip-sqlite]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, create_engine, insert, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.digest import Month, compute_digest
from rituals.balance import (
    PairMetrics,
    metrics_from_aggregates,
)
from rituals.interactions import InteractionKind, InterdependenceType
from storage.balance import pair_aggregates, sizes_by_window
from storage.db import make_engine, make_session_factory, transaction
from storage.migrate import upgrade
from storage.models import (
    Interaction,
    Member,
    Partnership,
    PartnershipTeam,
    Ritual,
    StandupAnswer,
    StandupAsk,
    StandupDay,
    Team,
    TeamMembership,
    Workspace,
)
from tests.rituals.balance_reference import AskRecord, InteractionRecord, reference_metrics

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
YEAR_START = datetime(2024, 1, 1, tzinfo=UTC)
YEAR_SECONDS = 366 * 24 * 3600
TZ = "UTC"
MONTH = Month(2024, 6)
A, B = 1, 2
PARTNERSHIP = 1
K = InteractionKind
# Share of rows per kind: cross flows, internal flows, standup answers, blockers.
MIX = {"cross": 0.50, "internal": 0.20, "answer": 0.25, "blocker": 0.05}
FLOW_KINDS = [K.HELP_GIVEN, K.HELP_OFFERED, K.KUDOS, K.KUDOS_SECOND, K.SHADOWING, K.MENTION]
ASKS_PER_INTERACTION = 0.02
CHUNK = 100_000
NULL = "\\N"  # COPY text format


@dataclasses.dataclass
class Data:
    """The generated log as numpy columns (ids are 1-based member ids)."""

    kind: np.ndarray  # indexes into KIND_NAMES
    provider: np.ndarray
    beneficiary: np.ndarray  # 0 = none
    provider_team: np.ndarray
    beneficiary_team: np.ndarray  # 0 = none
    seconds: np.ndarray  # since YEAR_START
    ask_requester_team: np.ndarray
    ask_helper_team: np.ndarray  # 0 = none
    ask_created: np.ndarray
    ask_wait: np.ndarray  # seconds; -1 = no offer
    home: np.ndarray  # team per member (index = member id)
    moved_at: np.ndarray  # seconds; > YEAR_SECONDS = never


KIND_NAMES = [k.value for k in (*FLOW_KINDS, K.STANDUP_ANSWER, K.BLOCKER)]
ANSWER_KIND, BLOCKER_KIND = len(FLOW_KINDS), len(FLOW_KINDS) + 1


def generate(interactions: int, members: int, seed: int = 7) -> Data:
    rng = np.random.default_rng(seed)
    size_a = members * 6 // 10
    home = np.zeros(members + 1, dtype=np.int64)
    home[1 : size_a + 1] = A
    home[size_a + 1 :] = B
    moved_at = np.full(members + 1, YEAR_SECONDS + 1, dtype=np.int64)
    movers = rng.choice(np.arange(1, members + 1), size=members // 20, replace=False)
    moved_at[movers] = rng.integers(0, YEAR_SECONDS, size=len(movers))

    def team_at(person: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        own = home[person]
        return np.where(seconds >= moved_at[person], np.where(own == A, B, A), own)

    n = interactions
    seconds = np.sort(rng.integers(0, YEAR_SECONDS, size=n))
    category = rng.choice(
        4, size=n, p=[MIX["cross"], MIX["internal"], MIX["answer"], MIX["blocker"]]
    )
    # Activity is skewed: a minority of people do most of the cross-team work.
    activity = rng.pareto(1.5, size=members) + 1
    activity /= activity.sum()
    provider = rng.choice(np.arange(1, members + 1), size=n, p=activity)
    provider_team = team_at(provider, seconds)
    # Each person has a few regular partners on the other side: repeated pairs make ties.
    partner_a = rng.integers(size_a + 1, members + 1, size=(members + 1, 4))
    partner_b = rng.integers(1, size_a + 1, size=(members + 1, 4))
    regular = np.where((home == A)[provider][:, None], partner_a[provider], partner_b[provider])
    pick = regular[np.arange(n), rng.integers(0, 4, size=n)]
    random_other = np.where(
        provider_team == A,
        rng.integers(size_a + 1, members + 1, size=n),
        rng.integers(1, size_a + 1, size=n),
    )
    cross_partner = np.where(rng.random(n) < 0.6, pick, random_other)
    same_team = np.where(
        home[provider] == A,
        rng.integers(1, size_a + 1, size=n),
        rng.integers(size_a + 1, members + 1, size=n),
    )
    beneficiary = np.where(category == 0, cross_partner, np.where(category == 1, same_team, 0))
    kind = np.where(
        category <= 1,
        rng.integers(0, len(FLOW_KINDS), size=n),
        np.where(category == 2, ANSWER_KIND, BLOCKER_KIND),
    )
    beneficiary_team = np.where(beneficiary > 0, team_at(np.maximum(beneficiary, 1), seconds), 0)
    # Blockers name the other team 40 % of the time.
    names_other = (category == 3) & (rng.random(n) < 0.4)
    beneficiary_team = np.where(names_other, np.where(provider_team == A, B, A), beneficiary_team)

    asks = int(n * ASKS_PER_INTERACTION)
    ask_created = np.sort(rng.integers(0, YEAR_SECONDS, size=asks))
    ask_requester_team = rng.choice([A, B], size=asks)
    answered = rng.random(asks) < 0.8
    other = np.where(ask_requester_team == A, B, A)
    ask_helper_team = np.where(
        answered, np.where(rng.random(asks) < 0.85, other, ask_requester_team), 0
    )
    ask_wait = np.where(answered, rng.exponential(8 * 3600, size=asks).astype(np.int64), -1)
    return Data(
        kind=kind,
        provider=provider,
        beneficiary=beneficiary,
        provider_team=provider_team,
        beneficiary_team=beneficiary_team,
        seconds=seconds,
        ask_requester_team=ask_requester_team,
        ask_helper_team=ask_helper_team,
        ask_created=ask_created,
        ask_wait=ask_wait,
        home=home,
        moved_at=moved_at,
    )


# --- loading ----------------------------------------------------------------------


def seed_org(engine: Engine, data: Data) -> None:
    """Workspace, two teams, members with their memberships (movers have two), partnership."""
    t0 = YEAR_START - timedelta(days=30)
    members = len(data.home) - 1
    sessions = make_session_factory(engine)
    with transaction(sessions) as s:
        s.execute(insert(Workspace), [{"id": 1, "slack_team_id": "TBENCH", "created_at": t0}])
        s.execute(
            insert(Team),
            [
                {
                    "id": t,
                    "workspace_id": 1,
                    "name": name,
                    "source_kind": "usergroup",
                    "source_id": f"S{t}",
                    "aliases": [],
                    "created_at": t0,
                }
                for t, name in ((A, "Marketing"), (B, "IT"))
            ],
        )
        s.execute(
            insert(Member),
            [
                {
                    "id": m,
                    "workspace_id": 1,
                    "slack_user_id": f"U{m:06d}",
                    "display_name": "",
                    "tz": "UTC",
                    "opted_out": [],
                    "updated_at": t0,
                }
                for m in range(1, members + 1)
            ],
        )
        memberships = []
        for m in range(1, members + 1):
            home = int(data.home[m])
            moved = int(data.moved_at[m])
            if moved <= YEAR_SECONDS:
                at = YEAR_START + timedelta(seconds=moved)
                memberships.append(
                    {"team_id": home, "member_id": m, "joined_at": t0, "left_at": at}
                )
                memberships.append(
                    {
                        "team_id": A if home == B else B,
                        "member_id": m,
                        "joined_at": at,
                        "left_at": None,
                    }
                )
            else:
                memberships.append(
                    {"team_id": home, "member_id": m, "joined_at": t0, "left_at": None}
                )
        s.execute(insert(TeamMembership), memberships)
        s.execute(
            insert(Partnership),
            [
                {
                    "id": PARTNERSHIP,
                    "workspace_id": 1,
                    "name": "Marketing + IT",
                    "channel_id": "C1",
                    "interdependence_type": InterdependenceType.RECIPROCAL.value,
                    "settings": {},
                    "created_at": t0,
                }
            ],
        )
        s.execute(
            insert(PartnershipTeam),
            [
                {"partnership_id": PARTNERSHIP, "team_id": A, "position": 0},
                {"partnership_id": PARTNERSHIP, "team_id": B, "position": 1},
            ],
        )
        s.execute(
            insert(Ritual),
            [
                {
                    "id": 1,
                    "partnership_id": PARTNERSHIP,
                    "kind": "standup",
                    "cron": "30 9 * * 1-5",
                    "timezone": "member-local",
                    "settings": {},
                    "paused": False,
                    "version": 1,
                    "created_at": t0,
                    "updated_at": t0,
                }
            ],
        )
        s.execute(
            insert(StandupDay),
            [{"id": 1, "ritual_id": 1, "local_date": t0.date(), "cutoff_at": t0, "created_at": t0}],
        )
        s.execute(
            insert(StandupAnswer),
            [{"id": 1, "standup_day_id": 1, "member_id": 1, "answers": {}, "revision": 0}],
        )


def _sqlite_time(seconds: int) -> str:
    return (YEAR_START + timedelta(seconds=int(seconds))).strftime("%Y-%m-%d %H:%M:%S.%f")


def load_sqlite(engine: Engine, data: Data) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        n = len(data.kind)
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            rows = [
                (
                    1,
                    PARTNERSHIP,
                    KIND_NAMES[k],
                    int(p),
                    int(b) or None,
                    int(pt),
                    int(bt) or None,
                    _sqlite_time(t),
                    "[]",
                )
                for k, p, b, pt, bt, t in zip(
                    data.kind[lo:hi],
                    data.provider[lo:hi],
                    data.beneficiary[lo:hi],
                    data.provider_team[lo:hi],
                    data.beneficiary_team[lo:hi],
                    data.seconds[lo:hi],
                    strict=True,
                )
            ]
            cursor.executemany(
                "INSERT INTO interaction (workspace_id, partnership_id, kind, provider_member_id, "
                "beneficiary_member_id, provider_team_id, beneficiary_team_id, occurred_at, tags) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        cursor.executemany(
            "INSERT INTO standup_ask (answer_id, partnership_id, requester_member_id, "
            "requester_team_id, helper_member_id, helper_team_id, created_at, first_offer_at) "
            "VALUES (1, ?, 1, ?, NULL, ?, ?, ?)",
            [
                (
                    PARTNERSHIP,
                    int(rt),
                    int(ht) or None,
                    _sqlite_time(c),
                    _sqlite_time(c + w) if w >= 0 else None,
                )
                for rt, ht, c, w in zip(
                    data.ask_requester_team,
                    data.ask_helper_team,
                    data.ask_created,
                    data.ask_wait,
                    strict=True,
                )
            ],
        )
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def load_postgres(engine: Engine, data: Data) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        n = len(data.kind)
        columns = (
            "workspace_id, partnership_id, kind, provider_member_id, beneficiary_member_id, "
            "provider_team_id, beneficiary_team_id, occurred_at, tags"
        )
        with cursor.copy(f"COPY interaction ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for lo in range(0, n, CHUNK):
                hi = min(n, lo + CHUNK)
                buffer = io.StringIO()
                for k, p, b, pt, bt, t in zip(
                    data.kind[lo:hi],
                    data.provider[lo:hi],
                    data.beneficiary[lo:hi],
                    data.provider_team[lo:hi],
                    data.beneficiary_team[lo:hi],
                    data.seconds[lo:hi],
                    strict=True,
                ):
                    when = YEAR_START + timedelta(seconds=int(t))
                    buffer.write(
                        f"1\t{PARTNERSHIP}\t{KIND_NAMES[k]}\t{p}\t{b or NULL}\t{pt}\t{bt or NULL}\t"
                        f"{when.isoformat()}\t[]\n"
                    )
                copy.write(buffer.getvalue())
        with cursor.copy(  # type: ignore[attr-defined]
            "COPY standup_ask (answer_id, partnership_id, requester_member_id, requester_team_id, "
            "helper_member_id, helper_team_id, created_at, first_offer_at) FROM STDIN"
        ) as copy:
            for rt, ht, c, w in zip(
                data.ask_requester_team,
                data.ask_helper_team,
                data.ask_created,
                data.ask_wait,
                strict=True,
            ):
                created = YEAR_START + timedelta(seconds=int(c))
                offer = (created + timedelta(seconds=int(w))).isoformat() if w >= 0 else NULL
                copy.write(
                    f"1\t{PARTNERSHIP}\t1\t{rt}\t\\N\t{ht or NULL}\t{created.isoformat()}\t{offer}\n"
                )
        raw.commit()
    finally:
        raw.close()
    # What autovacuum would have done by the time a month is summarised: the
    # visibility map lets PostgreSQL skip heap visibility checks.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE interaction"))
        conn.execute(text("VACUUM ANALYZE standup_ask"))


# --- measuring ----------------------------------------------------------------------


def month_records(
    data: Data, start: datetime, end: datetime
) -> tuple[list[InteractionRecord], list[AskRecord]]:
    lo_s, hi_s = (int((t - YEAR_START).total_seconds()) for t in (start, end))
    lo, hi = np.searchsorted(data.seconds, [lo_s, hi_s])
    kinds = [K(name) for name in KIND_NAMES]
    records = [
        InteractionRecord(
            kinds[int(k)],
            int(p),
            int(b) or None,
            int(pt),
            int(bt) or None,
            YEAR_START + timedelta(seconds=int(t)),
        )
        for k, p, b, pt, bt, t in zip(
            data.kind[lo:hi],
            data.provider[lo:hi],
            data.beneficiary[lo:hi],
            data.provider_team[lo:hi],
            data.beneficiary_team[lo:hi],
            data.seconds[lo:hi],
            strict=True,
        )
    ]
    alo, ahi = np.searchsorted(data.ask_created, [lo_s, hi_s])
    asks = [
        AskRecord(
            YEAR_START + timedelta(seconds=int(c)),
            YEAR_START + timedelta(seconds=int(c + w)) if w >= 0 else None,
            int(rt),
            int(ht) or None,
        )
        for rt, ht, c, w in zip(
            data.ask_requester_team[alo:ahi],
            data.ask_helper_team[alo:ahi],
            data.ask_created[alo:ahi],
            data.ask_wait[alo:ahi],
            strict=True,
        )
    ]
    return records, asks


@dataclasses.dataclass
class Runs:
    wall: list[float]
    cpu: list[float]  # this process, plus the PostgreSQL backend's when it can be read

    @property
    def median_wall(self) -> float:
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


def _backend_cpu_seconds(session: Session) -> float | None:
    """CPU time of this session's PostgreSQL backend, from /proc (same host only)."""
    if session.get_bind().dialect.name != "postgresql":
        return 0.0
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(engine: Engine, work: Callable[[Session], object], repeat: int) -> Runs:
    """Wall and CPU time of `work`, `repeat` times on one warm session."""
    runs = Runs([], [])
    with make_session_factory(engine)() as session:
        work(session)
        session.rollback()
        for _ in range(repeat):
            backend = _backend_cpu_seconds(session)
            cpu, wall = time.process_time(), time.perf_counter()
            work(session)
            session.rollback()
            wall = time.perf_counter() - wall
            cpu = time.process_time() - cpu
            backend_after = _backend_cpu_seconds(session)
            if backend is not None and backend_after is not None:
                cpu += backend_after - backend
            runs.wall.append(wall)
            runs.cpu.append(cpu)
    return runs


def peak_python_bytes(function) -> int:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-6 + 1e-9 * abs(b)


def agree(left: PairMetrics, right: PairMetrics) -> bool:
    def flat(m: PairMetrics) -> dict[str, object]:
        out: dict[str, object] = {}
        for f in dataclasses.fields(m):
            value = getattr(m, f.name)
            if dataclasses.is_dataclass(value):
                out.update(
                    {
                        f"{f.name}.{g.name}": getattr(value, g.name)
                        for g in dataclasses.fields(value)
                    }
                )
            else:
                out[f.name] = value
        return out

    fl, fr = flat(left), flat(right)
    return all(
        close(v, fr[k]) if isinstance(v, float) or isinstance(fr[k], float) else v == fr[k]
        for k, v in fl.items()
    )


def one_month(session: Session) -> PairMetrics:
    start, end = MONTH.bounds(TZ)
    agg = pair_aggregates(session, PARTNERSHIP, A, B, start, end)
    (sizes,) = sizes_by_window(session, PARTNERSHIP, (A, B), (start, end))
    return metrics_from_aggregates(agg, sizes.teams, sizes.people[(A, B)])


def reference_from_database(session: Session) -> PairMetrics:
    """The long way: load the month's rows into Python objects, then compute."""
    start, end = MONTH.bounds(TZ)
    i = Interaction
    rows = session.execute(
        select(
            i.kind,
            i.provider_member_id,
            i.beneficiary_member_id,
            i.provider_team_id,
            i.beneficiary_team_id,
            i.occurred_at,
        ).where(i.partnership_id == PARTNERSHIP, i.occurred_at >= start, i.occurred_at < end)
    )
    records = [InteractionRecord(K(k), p, b, pt, bt, t) for k, p, b, pt, bt, t in rows]
    a = StandupAsk
    asks = [
        AskRecord(c, f, rt, ht)
        for c, f, rt, ht in session.execute(
            select(a.created_at, a.first_offer_at, a.requester_team_id, a.helper_team_id).where(
                a.partnership_id == PARTNERSHIP, a.created_at >= start, a.created_at < end
            )
        )
    ]
    (sizes,) = sizes_by_window(session, PARTNERSHIP, (A, B), (start, end))
    return reference_metrics(records, asks, sizes.teams, A, B, start, end, sizes.people[(A, B)])


def whole_digest(session: Session) -> object:
    return compute_digest(session, PARTNERSHIP, MONTH)


def bench(
    backend: str,
    engine: Engine,
    rows: int,
    reference: PairMetrics,
    reference_seconds: float,
    repeat: int,
) -> None:
    started = time.perf_counter()
    with make_session_factory(engine)() as session:
        result = one_month(session)
    first = time.perf_counter() - started
    month = measure(engine, one_month, repeat)
    loaded = measure(engine, reference_from_database, 3)
    digest = measure(engine, whole_digest, max(3, repeat // 2))
    with make_session_factory(engine)() as session:
        peak = peak_python_bytes(lambda: one_month(session))
    ms = 1000
    print(
        f"[{backend}] {MONTH.key}: {rows:,} interactions in the month; agrees with the reference: {agree(result, reference)}"
    )
    print(
        f"[{backend}] one partnership-month: median {month.median_wall * ms:.0f} ms wall, "
        f"{month.median_cpu * ms:.0f} ms CPU (min {min(month.wall) * ms:.0f} ms wall) over {repeat} warm runs; "
        f"first run {first * ms:.0f} ms"
    )
    print(
        f"[{backend}] reference on the same month's rows, already in memory: {reference_seconds * ms:.0f} ms; "
        f"SQL / reference = {month.median_wall / reference_seconds:.2f}"
    )
    print(
        f"[{backend}] reference including loading the month's rows from the database: "
        f"median {loaded.median_wall * ms:.0f} ms; SQL / that = {month.median_wall / loaded.median_wall:.2f}"
    )
    print(
        f"[{backend}] whole digest (6 months for the trend and chart, summary): median "
        f"{digest.median_wall * ms:.0f} ms wall, {digest.median_cpu * ms:.0f} ms CPU"
    )
    print(f"[{backend}] peak Python allocations while computing the month: {peak / 1e6:.2f} MB")


@contextmanager
def sqlite_engine() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench_digest.db"
        upgrade(url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def postgres_engine(admin_url: str) -> Iterator[Engine]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"tandem_bench_digest_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    data = generate(args.interactions, args.members)
    print(
        f"generated {args.interactions:,} interactions, {len(data.ask_created):,} asks, {args.members:,} members in {time.perf_counter() - began:.1f} s"
    )
    start, end = MONTH.bounds(TZ)
    rows = int(
        np.searchsorted(data.seconds, (end - YEAR_START).total_seconds())
        - np.searchsorted(data.seconds, (start - YEAR_START).total_seconds())
    )
    records_peak = peak_python_bytes(lambda: month_records(data, start, end))
    records, asks = month_records(data, start, end)
    reference: PairMetrics | None = None
    reference_seconds = 0.0
    backends: list[tuple[str, Callable[[], AbstractContextManager[Engine]]]] = []
    if not args.skip_sqlite:
        backends.append(("sqlite", sqlite_engine))
    if not args.skip_postgres:
        backends.append(("postgres", lambda: postgres_engine(args.postgres_url)))
    print(
        f"load average before measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)"
    )
    for backend, manager in backends:
        try:
            with manager() as engine:
                loading = time.perf_counter()
                seed_org(engine, data)
                (load_sqlite if backend == "sqlite" else load_postgres)(engine, data)
                print(f"[{backend}] loaded in {time.perf_counter() - loading:.1f} s")
                if reference is None:
                    with make_session_factory(engine)() as session:
                        (window,) = sizes_by_window(session, PARTNERSHIP, (A, B), (start, end))
                    sizes, people = window.teams, window.people[(A, B)]
                    times = []
                    for _ in range(3):
                        began_reference = time.perf_counter()
                        reference = reference_metrics(
                            records, asks, sizes, A, B, start, end, people
                        )
                        times.append(time.perf_counter() - began_reference)
                    reference_seconds = statistics.median(times)
                    reference_peak = peak_python_bytes(
                        lambda sizes=sizes: reference_metrics(  # type: ignore[misc]
                            records, asks, sizes, A, B, start, end
                        )
                    )
                    print(
                        f"reference path memory: the month's rows as Python objects {records_peak / 1e6:.1f} MB, "
                        f"plus {reference_peak / 1e6:.1f} MB while computing"
                    )
                bench(backend, engine, rows, reference, reference_seconds, args.repeat)
        except Exception as exc:  # a missing PostgreSQL should not hide the SQLite figures
            if backend != "postgres":
                raise
            print(f"[postgres] skipped: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak resident memory (whole run, incl. data generation): {rss:.0f} MB")
    print(f"total {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
