"""Daily pruning: what has served its purpose leaves the database.

Sent and withdrawn outbox rows and finished jobs go after the retention
period (TANDEM_RETENTION_DAYS); dead ones stay until an admin has seen to
them. Occurrences go after a year: the tick only ever looks forward from a
ritual's `scheduled_through`, so old ones are history nobody reads. Slack
event ids go once past the window in which Slack redelivers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from storage import events, jobs, outbox
from storage.models import Occurrence
from storage.upsert import rowcount

OCCURRENCES_KEPT_FOR = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Pruned:
    outbox: int
    jobs: int
    occurrences: int
    events: int


def prune_occurrences(session: Session, older_than: datetime) -> int:
    return rowcount(session.execute(delete(Occurrence).where(Occurrence.fire_at < older_than)))


def prune_all(session: Session, now: datetime, retention: timedelta) -> Pruned:
    """Everything past its time, in the caller's transaction."""
    return Pruned(
        outbox=outbox.prune(session, now - retention),
        jobs=jobs.prune(session, now - retention),
        occurrences=prune_occurrences(session, now - OCCURRENCES_KEPT_FOR),
        events=events.prune(session, now),
    )
