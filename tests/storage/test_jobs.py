"""The job table and housekeeping: leases, retries, withdrawal with a ritual, pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage import events, housekeeping, jobs, outbox
from storage.db import on_behalf_of_ritual, transaction
from storage.models import Job, Occurrence, Outbox, SlackEvent
from storage.outbox import OutboundCall
from tests.storage.test_rituals import _partnership, _standup

T0 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _job(key: str, ritual_id: int | None = None) -> jobs.NewJob:
    return jobs.NewJob(key, "team_sync", {"actor": "U1"}, ritual_id=ritual_id)


def _ritual(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as session:
        return _standup(session, _partnership(session)).id


def _claim(factory: sessionmaker[Session], worker: str, now: datetime) -> list[jobs.ClaimedJob]:
    with transaction(factory) as session:
        return jobs.claim(session, worker, now, 10, LEASE)


def _state(factory: sessionmaker[Session], key: str) -> tuple[str, int]:
    with factory() as session:
        job = session.scalars(select(Job).where(Job.idempotency_key == key)).one()
        return job.state, job.attempts


def test_a_job_is_queued_once_per_key(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        assert jobs.enqueue(session, _job("a"), T0)
        assert not jobs.enqueue(session, _job("a"), T0)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_a_leased_job_goes_to_one_worker_until_its_lease_runs_out(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        jobs.enqueue(session, _job("a"), T0)
    (first,) = _claim(session_factory, "w1", T0)
    assert first.payload == {"actor": "U1"}
    assert _claim(session_factory, "w2", T0 + timedelta(minutes=1)) == []
    # w1 died mid-job: once its lease runs out, another worker starts the job over.
    (again,) = _claim(session_factory, "w2", T0 + LEASE + timedelta(seconds=1))
    assert again.id == first.id
    with transaction(session_factory) as session:
        assert not jobs.mark_done(session, first.id, "w1", T0)  # w1 lost it
        assert jobs.mark_done(session, first.id, "w2", T0)
    assert _state(session_factory, "a") == ("done", 0)
    assert _claim(session_factory, "w3", T0 + timedelta(hours=1)) == []


def test_a_failing_job_is_retried_later_then_dead_and_can_be_requeued(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        jobs.enqueue(session, _job("a"), T0)
    (job,) = _claim(session_factory, "w1", T0)
    with transaction(session_factory) as session:
        jobs.retry_at(session, job.id, "w1", T0 + timedelta(minutes=1), attempts=1, error="boom")
    assert _claim(session_factory, "w1", T0 + timedelta(seconds=30)) == []
    (job,) = _claim(session_factory, "w1", T0 + timedelta(minutes=2))
    assert job.attempts == 1
    with transaction(session_factory) as session:
        jobs.mark_dead(session, job.id, "w1", T0, attempts=2, error="boom")
        assert jobs.counts(session) == {"dead": 1}
        (dead,) = jobs.rows(session, ["dead"])
        assert dead.last_error == "boom"
        assert jobs.requeue(session, job.id, T0)
    assert _state(session_factory, "a") == ("pending", 0)


def test_a_running_job_keeps_its_lease_only_while_its_worker_holds_it(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        jobs.enqueue(session, _job("a"), T0)
    (job,) = _claim(session_factory, "w1", T0)
    later = T0 + LEASE * 2
    with transaction(session_factory) as session:
        assert jobs.extend_lease(session, job.id, "w1", later + LEASE)
        assert not jobs.extend_lease(session, job.id, "w2", later + LEASE)  # not theirs
    assert _claim(session_factory, "w2", later) == []
    (taken,) = _claim(session_factory, "w2", later + LEASE + timedelta(seconds=1))
    with transaction(session_factory) as session:
        assert not jobs.extend_lease(session, taken.id, "w1", later + LEASE * 3)


def test_every_dead_job_can_be_requeued_at_once(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        for key in ("a", "b", "c"):
            jobs.enqueue(session, _job(key), T0)
    claimed = _claim(session_factory, "w1", T0)
    with transaction(session_factory) as session:
        for job in claimed[:2]:
            jobs.mark_dead(session, job.id, "w1", T0, attempts=6, error="boom")
        assert jobs.requeue_dead(session, T0 + LEASE) == sorted(j.id for j in claimed[:2])
        assert jobs.requeue_dead(session, T0 + LEASE) == []
        assert not jobs.requeue(session, claimed[2].id, T0)  # pending, not dead
    assert _state(session_factory, "a") == ("pending", 0)
    assert {j.idempotency_key for j in _claim(session_factory, "w2", T0 + LEASE)} == {"a", "b"}


def test_pausing_withdraws_a_rituals_unsent_work_but_not_what_is_in_flight(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    with transaction(session_factory) as session, on_behalf_of_ritual(session, ritual_id):
        jobs.enqueue(session, _job("j1"), T0)
        outbox.enqueue(
            session,
            [
                OutboundCall("dm", "conversations.open", {"users": "U1"}),
                OutboundCall(
                    "prompt",
                    "chat.postMessage",
                    {"channel": outbox.from_parent("channel.id"), "text": "hi"},
                    parent_key="dm",
                ),
                OutboundCall("leased", "chat.postMessage", {"channel": "C1", "text": "x"}),
            ],
            T0,
        )
    with transaction(session_factory) as session:
        outbox.enqueue(session, OutboundCall("other", "chat.postMessage", {"channel": "C2"}), T0)
        # A sender holds "leased": it may be on its way to Slack, so it is left alone.
        row = session.scalars(select(Outbox).where(Outbox.idempotency_key == "leased")).one()
        row.lease_until, row.leased_by = T0 + LEASE, "w1"
    with transaction(session_factory) as session:
        withdrawn = outbox.withdraw_for_ritual(session, ritual_id, "ritual paused")
        withdrawn += jobs.withdraw_for_ritual(session, ritual_id, "ritual paused", T0)
    assert withdrawn == 3  # dm, the prompt waiting on it, and the job
    with session_factory() as session:
        statuses = dict(session.execute(select(Outbox.idempotency_key, Outbox.status)).all())
    assert statuses == {
        "dm": "cancelled",
        "prompt": "cancelled",
        "leased": "pending",
        "other": "pending",
    }
    assert _state(session_factory, "j1") == ("cancelled", 0)


def test_housekeeping_prunes_what_is_past_its_time_and_keeps_the_rest(
    session_factory: sessionmaker[Session],
) -> None:
    ritual_id = _ritual(session_factory)
    retention = timedelta(days=30)
    now = T0 + timedelta(days=400)
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    with transaction(session_factory) as session:
        for key, at in (("old", old), ("recent", recent), ("old-dead", old), ("old-pending", old)):
            outbox.enqueue(session, OutboundCall(key, "chat.postMessage", {"channel": "C1"}), at)
        for key, at in (("old", old), ("recent", recent)):
            session.execute(
                Outbox.__table__.update()
                .where(Outbox.idempotency_key == key)
                .values(status="sent", sent_at=at)
            )
        session.execute(
            Outbox.__table__.update()
            .where(Outbox.idempotency_key == "old-dead")
            .values(status="dead")
        )
        for key, at, state in (
            ("j-old", old, "done"),
            ("j-new", recent, "done"),
            ("j-dead", old, "dead"),
        ):
            jobs.enqueue(session, _job(key), at)
            session.execute(
                Job.__table__.update()
                .where(Job.idempotency_key == key)
                .values(state=state, finished_at=at)
            )
        for key, at in (
            ("a-year-ago", now - timedelta(days=366)),
            ("this-year", now - timedelta(days=300)),
        ):
            session.add(
                Occurrence(
                    ritual_id=ritual_id,
                    subject="",
                    fire_key=key,
                    fire_at=at,
                    status="done",
                    created_at=at,
                )
            )
        events.first_delivery(session, "Ev-old", now - events.KEEP_FOR - timedelta(minutes=1))
        events.first_delivery(session, "Ev-new", now - timedelta(minutes=1))
    with transaction(session_factory) as session:
        pruned = housekeeping.prune_all(session, now, retention)
    assert pruned == housekeeping.Pruned(outbox=1, jobs=1, occurrences=1, events=1)
    with session_factory() as session:
        assert set(session.scalars(select(Outbox.idempotency_key))) == {
            "recent",
            "old-dead",
            "old-pending",
        }
        assert set(session.scalars(select(Job.idempotency_key))) == {"j-new", "j-dead"}
        assert set(session.scalars(select(Occurrence.fire_key))) == {"this-year"}
        assert set(session.scalars(select(SlackEvent.event_id))) == {"Ev-new"}
