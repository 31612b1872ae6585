"""Occurrences: the database decides which replica runs each firing of a ritual.

Every replica computes the same due occurrences and inserts them on their
natural key (ritual, subject, fire_key) with ON CONFLICT DO NOTHING; the
rows an insert RETURNs are the ones this replica won and must build, in the
same transaction. Skipped firings are recorded too, so admins can see what
an outage cost.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rituals.schedule import DueOccurrence, OccurrenceStatus
from storage.batching import batches
from storage.models import Occurrence
from storage.upsert import insert_new, rowcount

MEMBER_PREFIX = "member:"
MANUAL_PREFIX = "manual:"

# Rows per INSERT statement on SQLite: large enough that a tick over 10,000
# members is a few statements, small enough for its limit on bound
# parameters (SQLAlchemy splits further by that limit if needed).
INSERT_PAGE_SIZE = 4000


class Status(StrEnum):
    DONE = "done"  # built: its domain rows and outbox rows exist
    SKIPPED = "skipped"  # too late to run, recorded for admins
    FAILED = "failed"  # recorded but could not be built; `detail` says why


@dataclass(frozen=True, slots=True)
class WonOccurrence:
    """An occurrence this replica inserted and must now build."""

    id: int
    ritual_id: int
    subject: str
    fire_key: str
    fire_at: datetime
    tz: str
    tz_fallback: bool

    @property
    def member_id(self) -> int | None:
        """The member a member-local occurrence is for; None for the whole ritual."""
        if self.subject.startswith(MEMBER_PREFIX):
            return int(self.subject[len(MEMBER_PREFIX) :])
        return None

    @property
    def is_manual(self) -> bool:
        return self.fire_key.startswith(MANUAL_PREFIX)


@dataclass(frozen=True, slots=True)
class Claim:
    """What one claim inserted: due occurrences won, and how many skipped ones it recorded."""

    won: list[WonOccurrence]
    skipped: int


@dataclass(frozen=True, slots=True)
class OccurrenceEntry:
    id: int
    subject: str
    fire_key: str
    fire_at: datetime
    status: str
    tz_fallback: bool
    detail: str | None
    created_at: datetime


def member_subject(member_id: int) -> str:
    return f"{MEMBER_PREFIX}{member_id}"


def claim(
    session: Session,
    due: Sequence[DueOccurrence],
    now: datetime,
    *,
    grace: timedelta | None = None,
    failed_detail: str | None = None,
) -> Claim:
    """Insert occurrences nobody has inserted yet; return the due ones this call won.

    Due rows are recorded as done (the caller builds them in this
    transaction, or rolls everything back), or as failed with
    `failed_detail` when the caller knows it cannot build them. Rows are
    inserted in key order, so two replicas claiming overlapping batches on
    PostgreSQL wait for each other instead of deadlocking.
    """
    if not due:
        return Claim(won=[], skipped=0)
    ordered = sorted(due, key=lambda o: (o.ritual_id, o.subject, o.fire_key))
    by_key = {(o.ritual_id, o.subject, o.fire_key): o for o in ordered}
    rows = [
        {
            "ritual_id": o.ritual_id,
            "subject": o.subject,
            "fire_key": o.fire_key,
            "fire_at": o.fire_at,
            "status": _status(o, failed_detail),
            "tz_fallback": o.tz_fallback,
            "detail": _detail(o, now, grace, failed_detail),
            "created_at": now,
        }
        for o in ordered
    ]
    result = insert_new(
        session,
        Occurrence,
        rows,
        conflict=["ritual_id", "subject", "fire_key"],
        returning=[Occurrence.id, Occurrence.ritual_id, Occurrence.subject, Occurrence.fire_key],
        page_size=INSERT_PAGE_SIZE,
    )
    won: list[WonOccurrence] = []
    skipped = 0
    for occurrence_id, ritual_id, subject, fire_key in result:
        source = by_key[(ritual_id, subject, fire_key)]
        if source.status is OccurrenceStatus.SKIPPED:
            skipped += 1
            continue
        won.append(_won(occurrence_id, source))
    won.sort(key=lambda o: (o.subject, o.fire_key))
    return Claim(won=won, skipped=skipped)


def insert_manual(
    session: Session, ritual_id: int, now: datetime, *, subject: str = "", tz: str = "UTC"
) -> WonOccurrence:
    """An extra occurrence an admin asked for ("run now"); its key never collides."""
    fire_key = f"{MANUAL_PREFIX}{uuid.uuid4().hex}"
    occurrence = Occurrence(
        ritual_id=ritual_id,
        subject=subject,
        fire_key=fire_key,
        fire_at=now,
        status=Status.DONE.value,
        tz_fallback=False,
        detail="run now",
        created_at=now,
    )
    session.add(occurrence)
    session.flush()
    return WonOccurrence(occurrence.id, ritual_id, subject, fire_key, now, tz, False)


def mark(
    session: Session, occurrence_ids: Iterable[int], status: Status, detail: str | None = None
) -> int:
    """Change the status of occurrences a builder decided not to run (e.g. member away)."""
    changed = 0
    for batch in batches(occurrence_ids):
        result = session.execute(
            update(Occurrence)
            .where(Occurrence.id.in_(batch))
            .values(status=status.value, detail=detail)
            .execution_options(synchronize_session=False)
        )
        changed += rowcount(result)
    return changed


def recent(session: Session, ritual_id: int, limit: int = 20) -> list[OccurrenceEntry]:
    """The ritual's latest occurrences, newest fire time first, skipped ones included."""
    rows = session.execute(
        select(
            Occurrence.id,
            Occurrence.subject,
            Occurrence.fire_key,
            Occurrence.fire_at,
            Occurrence.status,
            Occurrence.tz_fallback,
            Occurrence.detail,
            Occurrence.created_at,
        )
        .where(Occurrence.ritual_id == ritual_id)
        .order_by(Occurrence.fire_at.desc(), Occurrence.id.desc())
        .limit(limit)
    )
    return [OccurrenceEntry(*row) for row in rows]


def counts_by_status(
    session: Session, ritual_id: int, since: datetime | None = None
) -> dict[str, int]:
    """How many of the ritual's occurrences are done, skipped or failed (since a time)."""
    query = (
        select(Occurrence.status, func.count())
        .where(Occurrence.ritual_id == ritual_id)
        .group_by(Occurrence.status)
    )
    if since is not None:
        query = query.where(Occurrence.fire_at >= since)
    counts = {status.value: 0 for status in Status}
    for status, count in session.execute(query):
        counts[status] = int(count)
    return counts


def _status(occurrence: DueOccurrence, failed_detail: str | None) -> str:
    if occurrence.status is OccurrenceStatus.SKIPPED:
        return Status.SKIPPED.value
    return Status.FAILED.value if failed_detail is not None else Status.DONE.value


def _detail(
    occurrence: DueOccurrence, now: datetime, grace: timedelta | None, failed_detail: str | None
) -> str | None:
    if occurrence.status is OccurrenceStatus.DUE:
        return failed_detail
    if grace is not None and now - occurrence.fire_at > grace:
        return f"missed: more than {_words(grace)} late when the bot caught up"
    return "superseded: a later occurrence ran instead"


def _won(occurrence_id: int, source: DueOccurrence) -> WonOccurrence:
    return WonOccurrence(
        id=occurrence_id,
        ritual_id=source.ritual_id,
        subject=source.subject,
        fire_key=source.fire_key,
        fire_at=source.fire_at,
        tz=source.tz,
        tz_fallback=source.tz_fallback,
    )


def _words(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minutes"
