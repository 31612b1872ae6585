"""Claiming occurrences: one row per natural key, and the claim says who won."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from rituals.interactions import InterdependenceType, RitualKind
from rituals.schedule import DueOccurrence, OccurrenceStatus
from storage import occurrences, org, outbox, rituals
from storage.db import make_engine, make_session_factory, transaction
from storage.models import Occurrence, Outbox
from storage.occurrences import WonOccurrence
from storage.outbox import OutboundCall

NOW = datetime(2026, 3, 9, 9, 31, tzinfo=UTC)


def _ritual(sessions: sessionmaker[Session]) -> int:
    with transaction(sessions) as session:
        workspace = org.ensure_workspace(session, "T1", NOW)
        org.add_team(session, workspace, "Marketing", "usergroup", "S1", NOW)
        partnership = org.add_partnership(
            session,
            workspace,
            "Launch",
            ["Marketing"],
            "C1",
            [],
            InterdependenceType.RECIPROCAL,
            NOW,
        )
        ritual = rituals.create(
            session,
            partnership_id=partnership.id,
            kind=RitualKind.STANDUP,
            cron="30 9 * * 1-5",
            timezone="member-local",
            now=NOW - timedelta(days=30),
        )
    return ritual.id


def _due(
    ritual_id: int,
    subject: str,
    day: int,
    status: OccurrenceStatus = OccurrenceStatus.DUE,
    tz_fallback: bool = False,
) -> DueOccurrence:
    fire_at = datetime(2026, 3, day, 9, 30, tzinfo=UTC)
    key = fire_at.strftime("%Y-%m-%dT%H:%M")
    return DueOccurrence(ritual_id, subject, key, fire_at, "UTC", status, tz_fallback)


def test_a_claim_wins_new_rows_once_and_records_skipped_ones(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    batch = [
        _due(ritual_id, "member:1", 9),
        _due(ritual_id, "member:2", 9, tz_fallback=True),
        _due(ritual_id, "member:1", 6, OccurrenceStatus.SKIPPED),
    ]
    with transaction(session_factory) as session:
        first = occurrences.claim(session, batch, NOW, grace=timedelta(hours=2))
    with transaction(session_factory) as session:
        again = occurrences.claim(session, batch, NOW, grace=timedelta(hours=2))

    assert [(o.subject, o.fire_key, o.member_id) for o in first.won] == [
        ("member:1", "2026-03-09T09:30", 1),
        ("member:2", "2026-03-09T09:30", 2),
    ]
    assert first.won[1].tz_fallback
    assert first.skipped == 1
    assert again.won == [] and again.skipped == 0
    with session_factory() as session:
        assert occurrences.counts_by_status(session, ritual_id) == {
            "done": 2,
            "skipped": 1,
            "failed": 0,
        }
        entries = occurrences.recent(session, ritual_id, limit=10)
    assert [e.fire_key for e in entries][-1] == "2026-03-06T09:30"
    skipped = entries[-1]
    assert skipped.status == "skipped"
    assert skipped.detail == "missed: more than 2 hours late when the bot caught up"
    assert [e.tz_fallback for e in entries if e.subject == "member:2"] == [True]


def test_an_overlapping_claim_wins_only_the_rows_not_yet_there(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    with transaction(session_factory) as session:
        occurrences.claim(session, [_due(ritual_id, "member:1", 9)], NOW)
    with transaction(session_factory) as session:
        claimed = occurrences.claim(
            session, [_due(ritual_id, "member:1", 9), _due(ritual_id, "member:3", 9)], NOW
        )
    assert [o.subject for o in claimed.won] == ["member:3"]


def test_a_claim_of_thousands_of_rows_wins_every_row_once(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    count = occurrences.INSERT_PAGE_SIZE + 500
    batch = [_due(ritual_id, f"member:{n}", 9) for n in range(count)]
    with transaction(session_factory) as session:
        claimed = occurrences.claim(session, batch, NOW)
    assert len(claimed.won) == count
    assert len({o.id for o in claimed.won}) == count
    with transaction(session_factory) as session:
        assert occurrences.claim(session, batch, NOW).won == []


def test_a_claim_for_a_kind_nobody_builds_records_failed_rows_with_the_reason(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    with transaction(session_factory) as session:
        claimed = occurrences.claim(
            session, [_due(ritual_id, "", 9)], NOW, failed_detail="no builder for 'standup'"
        )
    assert len(claimed.won) == 1
    with session_factory() as session:
        (entry,) = occurrences.recent(session, ritual_id)
        assert occurrences.counts_by_status(session, ritual_id)["failed"] == 1
    assert (entry.status, entry.detail) == ("failed", "no builder for 'standup'")


def test_a_rolled_back_claim_leaves_the_rows_to_be_won_again(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    with session_factory() as session, session.begin():
        occurrences.claim(session, [_due(ritual_id, "", 9)], NOW)
        session.rollback()
    with transaction(session_factory) as session:
        assert len(occurrences.claim(session, [_due(ritual_id, "", 9)], NOW).won) == 1


def test_manual_runs_never_collide_and_are_listed(session_factory: sessionmaker[Session]) -> None:
    ritual_id = _ritual(session_factory)
    with transaction(session_factory) as session:
        first = occurrences.insert_manual(session, ritual_id, NOW)
        second = occurrences.insert_manual(session, ritual_id, NOW, tz="Europe/Berlin")
    assert first.fire_key != second.fire_key
    assert first.is_manual and first.fire_key.startswith("manual:")
    assert (second.subject, second.tz, second.member_id) == ("", "Europe/Berlin", None)
    with session_factory() as session:
        assert occurrences.counts_by_status(session, ritual_id)["done"] == 2


def test_a_builder_can_mark_occurrences_it_decided_not_to_run(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    with transaction(session_factory) as session:
        claimed = occurrences.claim(
            session, [_due(ritual_id, "member:1", 9), _due(ritual_id, "member:2", 9)], NOW
        )
        changed = occurrences.mark(
            session, [claimed.won[0].id], occurrences.Status.SKIPPED, "away until Friday"
        )
    assert changed == 1
    with session_factory() as session:
        counts = occurrences.counts_by_status(session, ritual_id)
        total = session.scalar(select(func.count()).select_from(Occurrence))
    assert counts == {"done": 1, "skipped": 1, "failed": 0}
    assert total == 2


def test_counts_can_be_limited_to_recent_fire_times(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    with transaction(session_factory) as session:
        occurrences.claim(session, [_due(ritual_id, "", day) for day in (2, 3, 4, 5, 6)], NOW)
    with session_factory() as session:
        since = datetime(2026, 3, 5, tzinfo=UTC)
        assert occurrences.counts_by_status(session, ritual_id, since=since)["done"] == 2


def test_a_claim_larger_than_one_statement_wins_each_new_row_once_with_its_own_id(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    count = 2 * occurrences.INSERT_PAGE_SIZE + 321
    batch = [_due(ritual_id, f"member:{n}", 9, tz_fallback=n % 2 == 0) for n in range(count)]
    batch += [_due(ritual_id, f"member:{n}", 6, OccurrenceStatus.SKIPPED) for n in range(50)]
    earlier = batch[::5]
    with transaction(session_factory) as session:
        occurrences.claim(session, earlier, NOW, grace=timedelta(hours=2))
    with transaction(session_factory) as session:
        claimed = occurrences.claim(session, list(reversed(batch)), NOW, grace=timedelta(hours=2))

    fresh = [o for o in batch[:count] if o not in earlier]
    assert [(o.subject, o.tz_fallback) for o in claimed.won] == sorted(
        (o.subject, o.tz_fallback) for o in fresh
    )
    assert claimed.skipped == len([o for o in batch[count:] if o not in earlier])
    with session_factory() as session:
        stored = dict(
            session.execute(
                select(Occurrence.id, Occurrence.subject).where(Occurrence.fire_key.like("%-09T%"))
            ).all()
        )
        total = session.scalar(select(func.count()).select_from(Occurrence))
    assert total == len(batch)
    # Each id RETURNed is the row of the occurrence it was handed back with.
    assert all(stored[o.id] == o.subject for o in claimed.won)
    assert all(o.fire_at == datetime(2026, 3, 9, 9, 30, tzinfo=UTC) for o in claimed.won)


def _claim_and_build(
    sessions: sessionmaker[Session], replica: str, batch: list[DueOccurrence]
) -> list[WonOccurrence]:
    """What a replica's tick does: claim, then build an outbox row per won occurrence."""
    with transaction(sessions) as session:
        won = occurrences.claim(session, batch, NOW).won
        _enqueue_builds(session, replica, won)
    return won


def _enqueue_builds(session: Session, replica: str, won: list[WonOccurrence]) -> None:
    # A key per replica, so a double build would be two rows, not absorbed.
    calls = [
        OutboundCall(f"{replica}:{o.subject}:{o.fire_key}", "chat.postMessage", {"text": "x"})
        for o in won
    ]
    outbox.enqueue(session, calls, NOW)


def _builds(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    """(replica, subject) of every outbox row."""
    with sessions() as session:
        keys = session.scalars(select(Outbox.idempotency_key)).all()
    return [(key.split(":")[0], ":".join(key.split(":")[1:3])) for key in keys]


def test_replicas_racing_over_overlapping_batches_never_both_win_a_row(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(2)]
    factories = [make_session_factory(engine) for engine in engines]
    ritual_id = _ritual(factories[0])
    size = occurrences.INSERT_PAGE_SIZE + 500
    # Overlapping halves, handed over in opposite orders.
    batches = {
        "a": [_due(ritual_id, f"member:{n}", 9) for n in range(size)],
        "b": [_due(ritual_id, f"member:{n}", 9) for n in reversed(range(size // 2, 2 * size))],
    }
    won: dict[str, list[WonOccurrence]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def replica(name: str, sessions: sessionmaker[Session]) -> None:
        try:
            start.wait()
            won[name] = _claim_and_build(sessions, name, batches[name])
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=replica, args=(name, factory))
        for name, factory in zip(batches, factories, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    subjects = {name: {o.subject for o in rows} for name, rows in won.items()}
    assert not subjects["a"] & subjects["b"]
    assert subjects["a"] | subjects["b"] == {f"member:{n}" for n in range(2 * size)}
    builds = _builds(factories[0])
    assert len(builds) == 2 * size
    assert sorted(builds) == sorted((name, s) for name, names in subjects.items() for s in names)
    for engine in engines:
        engine.dispose()


def _backend_waits_on_a_lock(sessions: sessionmaker[Session], pid: int) -> bool:
    with sessions() as session:
        return bool(
            session.scalar(
                text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            )
        )


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
@pytest.mark.parametrize("first_commits", [True, False], ids=["commits", "rolls-back"])
def test_a_replica_claiming_rows_another_is_inserting_waits_and_wins_only_what_was_left(
    db_url: str, first_commits: bool
) -> None:
    first_engine, second_engine = make_engine(db_url), make_engine(db_url)
    first, second = make_session_factory(first_engine), make_session_factory(second_engine)
    ritual_id = _ritual(first)
    batch = [_due(ritual_id, f"member:{n}", 9) for n in range(occurrences.INSERT_PAGE_SIZE + 500)]
    pid: list[int] = []
    second_won: list[WonOccurrence] = []
    started = threading.Event()

    def second_replica() -> None:
        with transaction(second) as session:
            pid.append(int(session.scalar(text("SELECT pg_backend_pid()")) or 0))
            started.set()
            second_won.extend(occurrences.claim(session, list(reversed(batch)), NOW).won)
            _enqueue_builds(session, "b", second_won)

    with first() as session:
        session.begin()
        first_won = occurrences.claim(session, batch, NOW).won
        _enqueue_builds(session, "a", first_won)
        thread = threading.Thread(target=second_replica)
        thread.start()
        assert started.wait(10)
        # Poll the server (for up to ~10 s) until the second claim waits on our rows.
        for _ in range(1000):
            if _backend_waits_on_a_lock(first, pid[0]):
                break
            time.sleep(0.01)
        else:
            pytest.fail("the second replica never waited for the first one's rows")
        if first_commits:
            session.commit()
        else:
            session.rollback()
    thread.join()

    assert len(first_won) == len(batch)
    # Only the insert that stays wins: after a commit the waiting replica
    # gets nothing; after a rollback it wins (and builds) every row.
    assert len(second_won) == (0 if first_commits else len(batch))
    winner = "a" if first_commits else "b"
    assert sorted(_builds(first)) == sorted((winner, o.subject) for o in batch)
    first_engine.dispose()
    second_engine.dispose()
