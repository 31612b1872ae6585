"""Two replicas ticking the same database for a simulated month build every occurrence once.

Each replica is its own `Services` (own engine and connection pool) and runs
in its own thread; a barrier makes them tick at the same moment, with
interleaved `now` values (the second replica's clock is sometimes a little
behind, sometimes a little ahead), so their claims genuinely race.

Simulated time, not 86,400 ticks of 30 s: near every fire time the replicas
tick every 30 s (from 30 s before to 30 s after, which is where two
replicas compete for the same rows), and once an hour elsewhere. Every fire
time is then reached by a tick within a few seconds, far inside the
standup's 2 h grace, so the expected result is exactly the pure schedule
module's slots for the month, all built, none skipped; a longer step would
only add skipped rows, not duplicates, which the restart test covers.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.ritual_builders import BuilderRegistry
from bot.services import Services
from bot.tick import TickReport, tick
from rituals.interactions import RitualKind
from rituals.schedule import Schedule, slots_between
from storage.models import Occurrence, Outbox
from storage.occurrences import WonOccurrence
from storage.outbox import OutboundCall, enqueue
from storage.rituals import RitualSnapshot
from tests.bot.test_tick import add_partnership, add_ritual, make_services

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 4, 1, tzinfo=UTC)
# Six members in four zones; New York and Berlin change to summer time this
# month, Sydney does not.
ZONES = [
    "America/New_York",
    "America/New_York",
    "Europe/Berlin",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Sydney",
]
STANDUP = Schedule("30 9 * * 1-5", "member-local")
SHADOWING = Schedule("0 15 * * 4", "Europe/Berlin")


class LedgerBuilder:
    """Enqueues one outbox row per occurrence under a key unique to this build.

    A unique key per build means a double build would show as two outbox
    rows instead of being absorbed by the outbox's own idempotency.
    """

    def __init__(self) -> None:
        self.built: list[tuple[int, str, str]] = []
        self._lock = threading.Lock()

    def __call__(
        self, session: Session, ritual: RitualSnapshot, won: list[WonOccurrence], now: datetime
    ) -> None:
        calls = [
            OutboundCall(
                f"test:{uuid.uuid4().hex}",
                "chat.postMessage",
                {
                    "channel": ritual.channel_id,
                    "text": "Time for the standup",
                    "ritual": ritual.id,
                    "subject": o.subject,
                    "key": o.fire_key,
                },
            )
            for o in won
        ]
        enqueue(session, calls, now, workspace_id=ritual.workspace_id)
        with self._lock:
            self.built.extend((ritual.id, o.subject, o.fire_key) for o in won)


def tick_plan(fire_times: set[datetime]) -> list[tuple[datetime, datetime]]:
    """(replica A's now, replica B's now) for each step, in time order."""
    steps: set[datetime] = set()
    moment = START
    while moment <= END:
        steps.add(moment)
        moment += timedelta(hours=1)
    for fire_at in fire_times:
        steps.update(fire_at + timedelta(seconds=s) for s in (-30, 0, 30))
    plan = []
    for index, step in enumerate(sorted(steps)):
        skew = timedelta(seconds=(-10, 0, 15)[index % 3])
        plan.append((step, step + skew))
    return plan


def run_replica(
    services: Services,
    builders: BuilderRegistry,
    moments: list[datetime],
    barrier: threading.Barrier,
    reports: list[TickReport],
    errors: list[BaseException],
) -> None:
    try:
        for now in moments:
            barrier.wait()
            reports.append(tick(services, now, builders=builders))
    except BaseException as error:  # surface it in the test thread
        errors.append(error)
        barrier.abort()


def test_two_replicas_over_a_month_build_every_occurrence_exactly_once(db_url: str) -> None:
    first, second = make_services(db_url), make_services(db_url)
    try:
        partnership_id, member_ids = add_partnership(first, ZONES)
        standup = add_ritual(
            first, partnership_id, RitualKind.STANDUP, STANDUP.cron, STANDUP.timezone, START
        )
        shadowing = add_ritual(
            first, partnership_id, RitualKind.SHADOWING, SHADOWING.cron, SHADOWING.timezone, START
        )
        expected = {
            (standup, f"member:{member_id}", slot.fire_key): slot.fire_at
            for member_id, zone in zip(member_ids, ZONES, strict=True)
            for slot in slots_between(STANDUP, START, END, zone)
        } | {
            (shadowing, "", slot.fire_key): slot.fire_at
            for slot in slots_between(SHADOWING, START, END)
        }
        plan = tick_plan(set(expected.values()))
        assert plan[-1][0] == END

        builder = LedgerBuilder()
        builders = BuilderRegistry({RitualKind.STANDUP: builder, RitualKind.SHADOWING: builder})
        barrier = threading.Barrier(2, timeout=60)
        reports: tuple[list[TickReport], list[TickReport]] = ([], [])
        errors: list[BaseException] = []
        threads = [
            threading.Thread(
                target=run_replica,
                args=(
                    replica,
                    builders,
                    [step[side] for step in plan],
                    barrier,
                    reports[side],
                    errors,
                ),
            )
            for side, replica in enumerate((first, second))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []

        with first.sessions() as session:
            rows = session.execute(
                select(
                    Occurrence.ritual_id, Occurrence.subject, Occurrence.fire_key, Occurrence.status
                )
            ).all()
            outbox = [payload for (payload,) in session.execute(select(Outbox.payload))]
    finally:
        first.close()
        second.close()

    occurrences = {(r, s, k) for r, s, k, _ in rows}
    assert len(rows) == len(occurrences) == len(expected)
    assert occurrences == set(expected)
    assert {status for *_, status in rows} == {"done"}
    assert sorted(builder.built) == sorted(expected)
    assert len(outbox) == len(expected)
    assert {(p["ritual"], p["subject"], p["key"]) for p in outbox} == set(expected)
    assert sum(r.won for side in reports for r in side) == len(expected)
    # The race was real: both replicas built some, and both saw some of the same rows due.
    assert all(sum(r.won for r in side) > 0 for side in reports)
    assert sum(r.due for side in reports for r in side) > len(expected)
    assert all(r.errors == 0 for side in reports for r in side)
    # 22 weekdays in March for each of the 6 members (the 1st is a Sunday), plus
    # Sydney's 1 April (09:30 there is 22:30 UTC on 31 March), and 4 Thursdays.
    assert len(expected) == 6 * 22 + 1 + 4
