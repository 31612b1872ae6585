"""The leaders' digest at scale: closed months from snapshots, the month in progress from the log.

Generates a log of 1,000,000 interactions (default) among 10,000 members of
two teams (60 % and 40 %) over the 12 months of 2024, all in one partnership
(the worst case: every row of the month belongs to the partnership being
summarised), plus standup asks and blockers. About 5 % of people change team
mid-year, and every interaction carries the team at the time. `--full` (what
`make bench` runs) measures 10,000,000 interactions among 100,000 members
too.

Then, on SQLite and on PostgreSQL, it times (median of warm runs, wall and
CPU; CPU includes the PostgreSQL backend's when it can be read):
- one live month: everything a digest needs from the log for one month
  (flows, blockers, asks, team sizes) and the metrics, beside the anchor of
  one bare GROUP BY of the same month's rows by pair of people;
- the whole digest for June 2024 (six months for the trend and the chart),
  cold (the six closed months computed and stored, rolled back after each
  run) and warm (read from their snapshots), beside the anchor of one bare
  count of the six months' rows; and the monthly run, when five months are
  stored and the one just over is computed and stored;
- the digest of June as a month in progress (now mid-June): five months
  from snapshots and June from the log;
and checks that the paths agree: one month from SQL against the plain-Python
reference (tests/rituals/balance_reference.py), the digest from snapshots
(with June's rows deleted first) against the digest computed live, and the
month in progress against the live digest.

tests/benchmarks/test_bench_digest.py runs this code at a tiny size, for
correctness only.

Run: .venv/bin/python benchmarks/bench_digest.py [--full] [--interactions N] [--members M]
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, Table, create_engine, delete, func, insert, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.digest import HISTORY_MONTHS, Digest, Month, compute_digest
from rituals.balance import (
    PairMetrics,
    metrics_from_aggregates,
)
from rituals.interactions import InteractionKind, InterdependenceType
from storage.balance import pair_aggregates, sizes_by_window
from storage.balance_snapshots import drop_snapshots, stored_months
from storage.db import make_engine, make_session_factory, ping, transaction
from storage.migrate import upgrade
from storage.models import (
    Interaction,
    Member,
    Partnership,
    PartnershipTeam,
    Ritual,
    StandupAnswer,
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
# `--full`: ten times the log, among ten times the people.
FULL = (10_000_000, 100_000)
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
        cursor.execute("PRAGMA cache_size = -262144")  # 256 MB while loading, this connection only
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


def analyse(backend: str, engine: Engine) -> None:
    """What autovacuum would have done by the time a month is summarised.

    Statistics for every table (without them PostgreSQL reads the memberships
    behind the team sizes one index probe at a time), and on PostgreSQL the
    log's visibility map, which lets it skip heap visibility checks.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
        if backend == "postgres":
            conn.execute(text("VACUUM interaction"))
            conn.execute(text("VACUUM standup_ask"))


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


def whole_digest(now: datetime | None) -> Callable[[Session], Digest]:
    """The digest of MONTH (six months for the trend and the chart), as the ritual computes it."""

    def work(session: Session) -> Digest:
        return compute_digest(session, PARTNERSHIP, MONTH, now)

    return work


def monthly_run(now: datetime) -> Callable[[Session], Digest]:
    """The ritual's monthly run: five months stored already, the month just over computed."""

    def work(session: Session) -> Digest:
        drop_snapshots(session, PARTNERSHIP, [MONTH.key])
        return compute_digest(session, PARTNERSHIP, MONTH, now)

    return work


def _month_rows() -> Any:
    start, end = MONTH.bounds(TZ)
    i = Interaction
    return (i.partnership_id == PARTNERSHIP, i.occurred_at >= start, i.occurred_at < end)


def anchor_pairs_of_people(session: Session) -> object:
    """Anchor: one bare GROUP BY of the month's rows by pair of people, the least any count does."""
    i = Interaction
    grouped = (
        select(i.provider_member_id, i.beneficiary_member_id)
        .where(*_month_rows())
        .group_by(i.provider_member_id, i.beneficiary_member_id)
        .subquery()
    )
    return session.execute(select(func.count()).select_from(grouped)).scalar()


def anchor_count_six_months(session: Session) -> object:
    """Anchor: one bare count of the rows the digest's six months hold."""
    first = MONTH.shifted(1 - HISTORY_MONTHS).bounds(TZ)[0]
    _, end = MONTH.bounds(TZ)
    i = Interaction
    return session.execute(
        select(func.count()).where(
            i.partnership_id == PARTNERSHIP, i.occurred_at >= first, i.occurred_at < end
        )
    ).scalar()


@dataclasses.dataclass
class Figures:
    """One backend at one size: what was measured and whether the paths agree."""

    backend: str
    interactions: int
    month_rows: int
    agrees_with_reference: bool  # one month from SQL == the plain-Python reference
    snapshots_equal_live: bool  # the digest from snapshots == the digest computed live
    in_progress_equals_live: bool  # the month in progress read live == computed live
    live_month: Runs
    first_live_month: float
    anchor_month: Runs
    cold: Runs
    warm: Runs
    monthly: Runs
    in_progress: Runs
    anchor_six: Runs
    stored_months: int
    peak_bytes: int


def measure_backend(
    backend: str, engine: Engine, data: Data, reference: PairMetrics, repeat: int
) -> Figures:
    """Everything for one backend whose database holds `data`; the caller prints it."""
    sessions = make_session_factory(engine)
    start, end = MONTH.bounds(TZ)
    lo, hi = np.searchsorted(data.seconds, [(t - YEAR_START).total_seconds() for t in (start, end)])
    began = time.perf_counter()
    with sessions() as session:
        month = one_month(session)
    first_live_month = time.perf_counter() - began
    live_month = measure(engine, one_month, repeat)
    anchor_month = measure(engine, anchor_pairs_of_people, repeat)
    with sessions() as session:
        peak = peak_python_bytes(lambda: one_month(session))
        live_digest = whole_digest(None)(session)
    # Cold: the first computation, storing the six closed months (rolled back after each run).
    after = end + timedelta(days=1)
    with transaction(sessions) as session:
        drop_snapshots(session, PARTNERSHIP)
    cold = measure(engine, whole_digest(after), max(3, repeat // 2))
    with transaction(sessions) as session:
        whole_digest(after)(session)
    with sessions() as session:
        stored = len(stored_months(session, PARTNERSHIP))
        # Read back with the log's month emptied: the figures must come from the snapshots.
        session.execute(delete(Interaction).where(*_month_rows()))
        from_snapshots = whole_digest(after)(session)
        session.rollback()
    warm = measure(engine, whole_digest(after), repeat)
    monthly = measure(engine, monthly_run(after), repeat)
    anchor_six = measure(engine, anchor_count_six_months, repeat)
    # The month in progress: five months from snapshots, MONTH itself from the log.
    during = start + (end - start) / 2
    in_progress = measure(engine, whole_digest(during), repeat)
    with sessions() as session:
        progress_digest = whole_digest(during)(session)
    return Figures(
        backend=backend,
        interactions=len(data.kind),
        month_rows=int(hi - lo),
        agrees_with_reference=agree(month, reference),
        snapshots_equal_live=from_snapshots == live_digest,
        in_progress_equals_live=progress_digest == live_digest,
        live_month=live_month,
        first_live_month=first_live_month,
        anchor_month=anchor_month,
        cold=cold,
        warm=warm,
        monthly=monthly,
        in_progress=in_progress,
        anchor_six=anchor_six,
        stored_months=stored,
        peak_bytes=peak,
    )


def report(f: Figures, reference_seconds: float) -> None:
    ms = 1000
    tag = f"[{f.backend} {f.interactions:,}]"

    def runs(r: Runs) -> str:
        return f"{r.median_wall * ms:.1f} ms (CPU {r.median_cpu * ms:.1f} ms, min {min(r.wall) * ms:.1f} ms)"

    print(
        f"{tag} {MONTH.key}: {f.month_rows:,} interactions in the month; one month agrees with "
        f"the reference: {f.agrees_with_reference}; digest from snapshots == digest computed "
        f"live: {f.snapshots_equal_live}; month in progress == live: {f.in_progress_equals_live}"
    )
    print(f"{tag} anchor, the month's rows grouped by pair of people: {runs(f.anchor_month)}")
    print(
        f"{tag} one live month (flows, blockers, asks, sizes, metrics): {runs(f.live_month)}; "
        f"{f.live_month.median_wall / f.anchor_month.median_wall:.1f}x the anchor; "
        f"first run {f.first_live_month * ms:.0f} ms"
    )
    print(
        f"{tag} plain-Python reference on the month's rows in memory: {reference_seconds * ms:.0f} ms"
    )
    print(
        f"{tag} whole digest, cold (computes and stores {f.stored_months} months): {runs(f.cold)}"
    )
    print(f"{tag} anchor, a bare count of the six months' rows: {runs(f.anchor_six)}")
    print(
        f"{tag} whole digest, warm (six months from snapshots): {runs(f.warm)}; "
        f"{f.warm.median_wall / f.anchor_six.median_wall:.1f}x the anchor"
    )
    print(
        f"{tag} the monthly run (five months from snapshots, the month just over computed "
        f"and stored): {runs(f.monthly)}"
    )
    print(
        f"{tag} digest of the month in progress (five months from snapshots, one live): "
        f"{runs(f.in_progress)}"
    )
    print(f"{tag} peak Python allocations while computing one month: {f.peak_bytes / 1e6:.2f} MB")


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


def load(backend: str, engine: Engine, data: Data) -> None:
    """The organisation and the log, the log's indexes built after its rows as a restore would."""
    seed_org(engine, data)
    table: Table = Interaction.__table__  # type: ignore[assignment]
    indexes = sorted(table.indexes, key=lambda index: str(index.name))
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
    try:
        (load_sqlite if backend == "sqlite" else load_postgres)(engine, data)
    finally:
        with engine.begin() as conn:
            for index in indexes:
                index.create(conn)
    analyse(backend, engine)


def run_size(
    interactions: int,
    members: int,
    backends: Sequence[tuple[str, Callable[[], AbstractContextManager[Engine]]]],
    repeat: int,
) -> list[Figures]:
    """Generate one log, load it into each backend, measure and print; returns the figures."""
    began = time.perf_counter()
    data = generate(interactions, members)
    print(
        f"generated {interactions:,} interactions, {len(data.ask_created):,} asks, "
        f"{members:,} members in {time.perf_counter() - began:.1f} s",
        flush=True,
    )
    start, end = MONTH.bounds(TZ)
    records, asks = month_records(data, start, end)
    reference: PairMetrics | None = None
    reference_seconds = 0.0
    found: list[Figures] = []
    for backend, manager in backends:
        with manager() as engine:
            loading = time.perf_counter()
            load(backend, engine, data)
            print(f"[{backend} {interactions:,}] loaded in {time.perf_counter() - loading:.1f} s")
            if reference is None:
                with make_session_factory(engine)() as session:
                    (window,) = sizes_by_window(session, PARTNERSHIP, (A, B), (start, end))
                began = time.perf_counter()
                reference = reference_metrics(
                    records, asks, window.teams, A, B, start, end, window.people[(A, B)]
                )
                reference_seconds = time.perf_counter() - began
            figures = measure_backend(backend, engine, data, reference, repeat)
            report(figures, reference_seconds)
            found.append(figures)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--full",
        action="store_true",
        help="also 10,000,000 interactions among 100,000 members (what `make bench` runs)",
    )
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    backends: list[tuple[str, Callable[[], AbstractContextManager[Engine]]]] = []
    if not args.skip_sqlite:
        backends.append(("sqlite", sqlite_engine))
    if not args.skip_postgres:
        admin = create_engine(args.postgres_url)
        problem = ping(admin)
        admin.dispose()
        if problem is None:
            backends.append(("postgres", lambda: postgres_engine(args.postgres_url)))
        else:  # a missing PostgreSQL should not hide the SQLite figures
            print(f"[postgres] skipped: {problem}")
    sizes = [(args.interactions, args.members)]
    if args.full:
        sizes.append(FULL)
    print(
        f"load average before measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"({os.cpu_count()} CPUs)"
    )
    for interactions, members in sizes:
        run_size(interactions, members, backends, args.repeat)
        print(f"load average now: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak resident memory (whole run, incl. data generation): {rss:.0f} MB")
    print(f"total {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
