"""The job table: follow-up work a request or a ritual queued, finished by a worker.

Work that must call Slack before it can finish (re-reading a team's
members, say) cannot all happen inside a request. It is written here in
the same transaction as the change that asked for it, so once a member is
told it was accepted it survives any crash. Workers take jobs the way the
outbox senders take rows: a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL),
retries with backoff, and `dead` once the attempts run out, for admins to see.
A job's handler must be safe to run again: a worker that dies mid-job leaves
its lease to run out, and the next worker starts that job over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from storage.db import current_ritual
from storage.models import Job
from storage.upsert import insert_for, inserted, rowcount


class JobState:
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"
    CANCELLED = "cancelled"  # withdrawn before it ran (its ritual was paused or deleted)


@dataclass(frozen=True, slots=True)
class NewJob:
    idempotency_key: str
    kind: str
    payload: dict[str, Any]
    workspace_id: int | None = None
    ritual_id: int | None = None
    run_after: datetime | None = None
    # Work that must happen even if the ritual that queued it is paused or deleted
    # (closing a pulse forgets who answered): not tied to the ritual, so never withdrawn.
    outlives_ritual: bool = False


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    idempotency_key: str
    kind: str
    payload: dict[str, Any]
    workspace_id: int | None
    ritual_id: int | None
    attempts: int  # failed attempts before this one


@dataclass(frozen=True, slots=True)
class JobRow:
    id: int
    idempotency_key: str
    kind: str
    state: str
    attempts: int
    run_after: datetime
    last_error: str | None
    created_at: datetime


def enqueue(session: Session, job: NewJob, now: datetime) -> bool:
    """Queue `job` in the caller's transaction; False when its key was already queued."""
    stmt = (
        insert_for(session, Job)
        .values(
            idempotency_key=job.idempotency_key,
            kind=job.kind,
            payload=job.payload,
            workspace_id=job.workspace_id,
            ritual_id=None
            if job.outlives_ritual
            else job.ritual_id
            if job.ritual_id is not None
            else current_ritual(session),
            state=JobState.PENDING,
            attempts=0,
            run_after=job.run_after or now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return bool(inserted(session, stmt, Job.id))


def claim(
    session: Session, worker_id: str, now: datetime, limit: int, lease_for: timedelta
) -> list[ClaimedJob]:
    """Lease up to `limit` due jobs to `worker_id`; no two workers ever hold the same job."""
    if limit <= 0:
        return []
    due = (
        select(Job.id)
        .where(
            Job.state == JobState.PENDING,
            Job.run_after <= now,
            or_(Job.lease_until.is_(None), Job.lease_until < now),
        )
        .order_by(Job.run_after, Job.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(due.with_for_update(skip_locked=True)))
        if not ids:
            return []
        chosen = Job.id.in_(ids)
    else:
        chosen = Job.id.in_(due)
    rows = session.execute(
        update(Job)
        .where(chosen)
        .values(leased_by=worker_id, lease_until=now + lease_for)
        .returning(
            Job.id,
            Job.idempotency_key,
            Job.kind,
            Job.payload,
            Job.workspace_id,
            Job.ritual_id,
            Job.attempts,
            Job.run_after,
        )
        .execution_options(synchronize_session=False)
    ).all()
    return [
        ClaimedJob(
            id=r.id,
            idempotency_key=r.idempotency_key,
            kind=r.kind,
            payload=dict(r.payload or {}),
            workspace_id=r.workspace_id,
            ritual_id=r.ritual_id,
            attempts=r.attempts,
        )
        for r in sorted(rows, key=lambda r: (r.run_after, r.id))
    ]


def _finish(session: Session, job_id: int, worker_id: str, **values: Any) -> bool:
    """Apply an outcome if `worker_id` still holds the job; False when its lease was lost."""
    done = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.PENDING, Job.leased_by == worker_id)
        .values(lease_until=None, leased_by=None, **values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(done) == 1


def extend_lease(session: Session, job_id: int, worker_id: str, until: datetime) -> bool:
    """Keep a long job's lease while its worker is alive; False when the lease was lost."""
    done = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.PENDING, Job.leased_by == worker_id)
        .values(lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return rowcount(done) == 1


def mark_done(session: Session, job_id: int, worker_id: str, now: datetime) -> bool:
    return _finish(
        session, job_id, worker_id, state=JobState.DONE, finished_at=now, last_error=None
    )


def retry_at(
    session: Session, job_id: int, worker_id: str, at: datetime, *, attempts: int, error: str
) -> bool:
    return _finish(
        session, job_id, worker_id, run_after=at, attempts=attempts, last_error=error[:2000]
    )


def mark_dead(
    session: Session, job_id: int, worker_id: str, now: datetime, *, attempts: int, error: str
) -> bool:
    return _finish(
        session,
        job_id,
        worker_id,
        state=JobState.DEAD,
        attempts=attempts,
        last_error=error[:2000],
        finished_at=now,
    )


def withdraw_for_ritual(session: Session, ritual_id: int, reason: str, now: datetime) -> int:
    """Cancel a ritual's jobs that have not started (no live lease); returns how many."""
    done = session.execute(
        update(Job)
        .where(
            Job.ritual_id == ritual_id,
            Job.state == JobState.PENDING,
            or_(Job.lease_until.is_(None), Job.lease_until < now),
        )
        .values(
            state=JobState.CANCELLED,
            last_error=reason,
            finished_at=now,
            lease_until=None,
            leased_by=None,
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(done)


def prune(session: Session, older_than: datetime) -> int:
    """Delete jobs that finished (done or cancelled) before `older_than`; dead ones stay."""
    return rowcount(
        session.execute(
            delete(Job).where(
                Job.state.in_((JobState.DONE, JobState.CANCELLED)),
                Job.finished_at < older_than,
            )
        )
    )


def _revive(session: Session, which: Any, now: datetime) -> list[int]:
    """Dead jobs matching `which` back to pending, due now with their attempts reset."""
    revived = session.execute(
        update(Job)
        .where(which, Job.state == JobState.DEAD)
        .values(
            state=JobState.PENDING,
            attempts=0,
            run_after=now,
            lease_until=None,
            leased_by=None,
            finished_at=None,
        )
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(revived.scalars())


def requeue(session: Session, job_id: int, now: datetime) -> bool:
    """Bring a dead job back, due now with its attempts reset."""
    return bool(_revive(session, Job.id == job_id, now))


def requeue_dead(session: Session, now: datetime) -> list[int]:
    """Bring every dead job back (as `requeue`); returns their ids."""
    return _revive(session, Job.state == JobState.DEAD, now)


def counts(session: Session) -> dict[str, int]:
    """Jobs by state (pending, dead, ...), for admins."""
    found = session.execute(select(Job.state, func.count()).group_by(Job.state))
    return {str(state): int(n) for state, n in found}


def rows(session: Session, states: Sequence[str], limit: int = 50) -> list[JobRow]:
    found = session.scalars(
        select(Job).where(Job.state.in_(list(states))).order_by(Job.run_after, Job.id).limit(limit)
    )
    return [
        JobRow(
            id=j.id,
            idempotency_key=j.idempotency_key,
            kind=j.kind,
            state=j.state,
            attempts=j.attempts,
            run_after=j.run_after,
            last_error=j.last_error,
            created_at=j.created_at,
        )
        for j in found
    ]
