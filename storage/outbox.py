"""The outbox: every outbound Slack call is a row first, written in the caller's transaction.

A row is keyed by an idempotency key chosen by the caller from what the
message is about (e.g. "standup:12:2026-03-09:prompt:U42"), so writing the
same message twice is a no-op and a crash can never lose or double it.

Senders take rows with a lease (`claim`) rather than a long transaction, so a
sender that dies only delays its rows until the lease runs out. A lease that
ran out without an outcome means the call may have reached Slack: the next
claim marks the row `unconfirmed`, and the sender looks for the earlier
attempt before calling again.

Parent results: a row with `parent_key` waits until that row is sent, and
any top-level payload value written as `{"$parent": "dotted.path"}` (see
`from_parent`)
is replaced at claim time by that path in the parent's stored result, e.g.
`{"channel": {"$parent": "channel.id"}}` after conversations.open, or
`{"thread_ts": {"$parent": "ts"}}` under a posted message. A path the parent's
result lacks makes the child dead; a dead parent takes its waiting children
with it, and `requeue` brings them back together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, case, delete, exists, func, literal, or_, select, true, update
from sqlalchemy.orm import Session, aliased

from storage.batching import batches
from storage.db import current_ritual
from storage.models import Outbox
from storage.upsert import insert_new, rowcount

PARENT_REF = "$parent"
UNCONFIRMED: dict[str, Any] = {"unconfirmed": True}


class OutboxStatus:
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
    CANCELLED = "cancelled"  # withdrawn before sending (see `cancel`)


@dataclass(frozen=True, slots=True)
class OutboundCall:
    """One Slack Web API call to make later.

    `channel_key` groups calls that Slack rate-limits together (a channel, a
    DM's user id); `parent_key` names another row whose result this call
    needs (a DM channel from conversations.open, a thread's ts).
    """

    idempotency_key: str
    method: str
    payload: dict[str, Any]
    channel_key: str = ""
    parent_key: str | None = None
    not_before: datetime | None = None


def direct_message(key: str, slack_user_id: str, message: dict[str, Any]) -> OutboundCall:
    """A post to a member's DM, paced as that conversation (posting to a user id opens it)."""
    return OutboundCall(
        idempotency_key=key,
        method="chat.postMessage",
        payload={"channel": slack_user_id, **message},
        channel_key=slack_user_id,
    )


def from_parent(path: str) -> dict[str, str]:
    """A payload value to be filled from the parent row's result, e.g. from_parent("channel.id")."""
    return {PARENT_REF: path}


def enqueue(
    session: Session,
    calls: OutboundCall | list[OutboundCall],
    now: datetime,
    workspace_id: int | None = None,
    *,
    ritual_id: int | None = None,
) -> int:
    """Add calls to the outbox; a key already present is left as it is. Returns rows added.

    `ritual_id` names the ritual that queued them: pausing or deleting it
    withdraws those still unsent (`withdraw_for_ritual`).
    """
    batch = [calls] if isinstance(calls, OutboundCall) else calls
    if not batch:
        return 0
    for call in batch:
        if call.parent_key is None and _has_parent_ref(call.payload):
            raise ValueError(f"{call.idempotency_key}: {PARENT_REF} needs a parent_key")
    if ritual_id is None:
        ritual_id = current_ritual(session)
    rows = [
        {
            "idempotency_key": c.idempotency_key,
            "workspace_id": workspace_id,
            "ritual_id": ritual_id,
            "method": c.method,
            "channel_key": c.channel_key or _plain_channel(c.payload),
            "payload": c.payload,
            "parent_key": c.parent_key,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": c.not_before or now,
            "created_at": now,
        }
        for c in batch
    ]
    # One statement on PostgreSQL, pages of multi-row VALUES on SQLite (see
    # insert_new). RETURNING, not rowcount, counts the rows added: psycopg
    # reports -1 for an INSERT.
    return len(
        insert_new(session, Outbox, rows, conflict=["idempotency_key"], returning=[Outbox.id])
    )


def _plain_channel(payload: dict[str, Any]) -> str:
    channel = payload.get("channel")
    return channel if isinstance(channel, str) else ""


# --- claiming -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    """A row leased to one sender, its payload already filled from its parent."""

    id: int
    idempotency_key: str
    method: str
    channel_key: str
    payload: dict[str, Any]
    workspace_id: int | None
    attempts: int
    created_at: datetime
    lease_until: datetime
    unconfirmed: bool  # an earlier attempt may have reached Slack


class TemplateError(ValueError):
    """A {"$parent": path} the parent's result cannot fill."""


def claim(
    session: Session, worker_id: str, now: datetime, limit: int, lease_for: timedelta
) -> list[ClaimedRow]:
    """Lease up to `limit` due rows to `worker_id`; no two senders ever hold the same row."""
    if limit <= 0:
        return []
    candidates = _due(now, limit)
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(candidates.with_for_update(skip_locked=True)))
        if not ids:
            return []
        chosen = Outbox.id.in_(ids)
    else:
        _require_sqlite_returning()
        chosen = Outbox.id.in_(candidates)
    leased = session.execute(
        update(Outbox)
        .where(chosen)
        .values(
            leased_by=worker_id,
            lease_until=now + lease_for,
            # SET sees the old row: a lease still recorded here ran out mid-call.
            result=case(
                (Outbox.lease_until.is_not(None), literal(UNCONFIRMED, JSON)),
                else_=Outbox.result,
            ),
        )
        .returning(
            Outbox.id,
            Outbox.idempotency_key,
            Outbox.method,
            Outbox.channel_key,
            Outbox.payload,
            Outbox.parent_key,
            Outbox.workspace_id,
            Outbox.attempts,
            Outbox.created_at,
            Outbox.lease_until,
            Outbox.result,
            Outbox.next_attempt_at,
        )
        .execution_options(synchronize_session=False)
    ).all()
    leased = sorted(leased, key=lambda r: (r.next_attempt_at, r.id))
    parents = _parent_results(session, [r.parent_key for r in leased if r.parent_key])
    claimed: list[ClaimedRow] = []
    for r in leased:
        try:
            payload = fill_from_parent(r.payload, parents.get(r.parent_key or ""))
        except TemplateError as exc:
            _bury(session, r.id, r.idempotency_key, f"cannot build the call: {exc}")
            continue
        claimed.append(
            ClaimedRow(
                id=r.id,
                idempotency_key=r.idempotency_key,
                method=r.method,
                channel_key=r.channel_key or _plain_channel(payload),
                payload=payload,
                workspace_id=r.workspace_id,
                attempts=r.attempts,
                created_at=r.created_at,
                lease_until=r.lease_until,
                unconfirmed=bool(r.result and r.result.get("unconfirmed")),
            )
        )
    return claimed


def _due(now: datetime, limit: int) -> Any:
    row, parent = aliased(Outbox), aliased(Outbox)
    parent_sent = exists().where(
        parent.idempotency_key == row.parent_key, parent.status == OutboxStatus.SENT
    )
    return (
        select(row.id)
        .where(
            row.status == OutboxStatus.PENDING,
            row.next_attempt_at <= now,
            or_(row.lease_until.is_(None), row.lease_until < now),
            or_(row.parent_key.is_(None), parent_sent),
        )
        .order_by(row.next_attempt_at, row.id)
        .limit(limit)
    )


def _require_sqlite_returning() -> None:
    if sqlite3.sqlite_version_info < (3, 35):
        raise RuntimeError(
            f"SQLite {sqlite3.sqlite_version} lacks UPDATE … RETURNING (3.35+ needed); "
            "use PostgreSQL or a newer Python build."
        )


def _parent_results(session: Session, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    found = session.execute(
        select(Outbox.idempotency_key, Outbox.result).where(
            Outbox.idempotency_key.in_(set(keys)), Outbox.status == OutboxStatus.SENT
        )
    )
    return {key: result or {} for key, result in found}


def fill_from_parent(value: Any, parent_result: dict[str, Any] | None) -> Any:
    """`value` with every {"$parent": path} replaced by that path in the parent's result."""
    if isinstance(value, dict):
        if set(value) == {PARENT_REF}:
            if parent_result is None:
                raise TemplateError(f"{value[PARENT_REF]!r} refers to a parent that is not sent")
            return _at_path(parent_result, str(value[PARENT_REF]))
        return {k: fill_from_parent(v, parent_result) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_from_parent(v, parent_result) for v in value]
    return value


def _at_path(result: dict[str, Any], path: str) -> Any:
    current: Any = result
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise TemplateError(f"the parent's result has no {path!r}")
    return current


def _has_parent_ref(payload: dict[str, Any]) -> bool:
    # References stand at the top level (channel, ts, thread_ts); walking whole
    # Block Kit payloads here made large enqueues several times slower.
    return any(isinstance(v, dict) and PARENT_REF in v for v in payload.values())


# --- outcomes -----------------------------------------------------------------


def _finish(session: Session, row_id: int, worker_id: str, **values: Any) -> bool:
    """Apply an outcome if `worker_id` still holds the row; False when its lease was lost."""
    done = session.execute(
        update(Outbox)
        .where(
            Outbox.id == row_id,
            Outbox.status == OutboxStatus.PENDING,
            Outbox.leased_by == worker_id,
        )
        .values(lease_until=None, leased_by=None, **values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(done) == 1


def mark_sent(
    session: Session, row_id: int, worker_id: str, result: dict[str, Any], now: datetime
) -> bool:
    return _finish(
        session,
        row_id,
        worker_id,
        status=OutboxStatus.SENT,
        result=result,
        sent_at=now,
        last_error=None,
    )


def reschedule(
    session: Session,
    row_id: int,
    worker_id: str,
    at: datetime,
    *,
    attempts: int,
    error: str,
    unconfirmed: bool,
) -> bool:
    """Try again at `at`; `unconfirmed` says the failed call may still have been applied."""
    return _finish(
        session,
        row_id,
        worker_id,
        next_attempt_at=at,
        attempts=attempts,
        last_error=error,
        result=UNCONFIRMED if unconfirmed else None,
    )


def mark_dead(
    session: Session,
    row_id: int,
    worker_id: str,
    *,
    attempts: int,
    error: str,
    unconfirmed: bool,
) -> bool:
    """Give up on a row (and every row waiting on it)."""
    row = session.get(Outbox, row_id)
    if row is None:
        return False
    done = _finish(
        session,
        row_id,
        worker_id,
        status=OutboxStatus.DEAD,
        attempts=attempts,
        last_error=error,
        result=UNCONFIRMED if unconfirmed else None,
    )
    if done:
        _bury_dependents(session, row.idempotency_key)
    return done


def release(
    session: Session, row_ids: Sequence[int], worker_id: str, at: datetime | None = None
) -> int:
    """Hand rows back untried (pacing, shutdown), optionally not before `at`."""
    if not row_ids:
        return 0
    values: dict[str, Any] = {"lease_until": None, "leased_by": None}
    if at is not None:
        values["next_attempt_at"] = at
    done = session.execute(
        update(Outbox)
        .where(
            Outbox.id.in_(row_ids),
            Outbox.status == OutboxStatus.PENDING,
            Outbox.leased_by == worker_id,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(done)


def _bury(session: Session, row_id: int, key: str, error: str) -> None:
    session.execute(
        update(Outbox)
        .where(Outbox.id == row_id)
        .values(status=OutboxStatus.DEAD, last_error=error, lease_until=None, leased_by=None)
        .execution_options(synchronize_session=False)
    )
    _bury_dependents(session, key)


def _bury_dependents(session: Session, key: str) -> None:
    waiting = [key]
    while waiting:
        parent_key = waiting.pop()
        waiting.extend(
            session.scalars(
                update(Outbox)
                .where(Outbox.parent_key == parent_key, Outbox.status == OutboxStatus.PENDING)
                .values(
                    status=OutboxStatus.DEAD,
                    last_error=f"waited on {parent_key}, which is dead",
                    lease_until=None,
                    leased_by=None,
                )
                .returning(Outbox.idempotency_key)
                .execution_options(synchronize_session=False)
            ).all()
        )


# --- what admins see ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    pending: int  # never tried yet (or only rate-limited)
    retrying: int  # failed at least once, will try again
    dead: int


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    idempotency_key: str
    method: str
    channel_key: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime


def _in_workspace(workspace_id: int | None) -> Any:
    if workspace_id is None:
        return true()
    return or_(Outbox.workspace_id == workspace_id, Outbox.workspace_id.is_(None))


def counts(
    session: Session, workspace_id: int | None = None, *, except_method: str | None = None
) -> OutboxCounts:
    """Rows still to send or given up on; a workspace also sees rows that belong to none."""
    kind = case(
        (Outbox.status == OutboxStatus.DEAD, "dead"),
        (Outbox.attempts > 0, "retrying"),
        else_="pending",
    )
    grouped = session.execute(
        select(kind, func.count())
        .where(
            Outbox.status.in_((OutboxStatus.PENDING, OutboxStatus.DEAD)),
            _in_workspace(workspace_id),
            true() if except_method is None else Outbox.method != except_method,
        )
        .group_by(kind)
    )
    found: dict[str, int] = {str(name): int(n) for name, n in grouped}
    return OutboxCounts(
        pending=found.get("pending", 0),
        retrying=found.get("retrying", 0),
        dead=found.get("dead", 0),
    )


def _rows(session: Session, *where: Any, order: Any, limit: int) -> list[OutboxRow]:
    found = session.scalars(select(Outbox).where(*where).order_by(*order).limit(limit))
    return [
        OutboxRow(
            id=r.id,
            idempotency_key=r.idempotency_key,
            method=r.method,
            channel_key=r.channel_key,
            status=r.status,
            attempts=r.attempts,
            next_attempt_at=r.next_attempt_at,
            last_error=r.last_error,
            created_at=r.created_at,
        )
        for r in found
    ]


def pending_rows(session: Session, limit: int = 50) -> list[OutboxRow]:
    """Rows not tried yet (or only rate-limited), soonest first."""
    return _rows(
        session,
        Outbox.status == OutboxStatus.PENDING,
        Outbox.attempts == 0,
        order=(Outbox.next_attempt_at, Outbox.id),
        limit=limit,
    )


def retrying_rows(session: Session, limit: int = 50) -> list[OutboxRow]:
    """Rows that failed at least once and will be tried again, soonest first."""
    return _rows(
        session,
        Outbox.status == OutboxStatus.PENDING,
        Outbox.attempts > 0,
        order=(Outbox.next_attempt_at, Outbox.id),
        limit=limit,
    )


def dead_rows(
    session: Session, limit: int = 50, workspace_id: int | None = None
) -> list[OutboxRow]:
    """Dead rows, oldest first: the longest-standing problems lead."""
    return _rows(
        session,
        Outbox.status == OutboxStatus.DEAD,
        _in_workspace(workspace_id),
        order=(Outbox.created_at, Outbox.id),
        limit=limit,
    )


class NotRequeued(Exception):
    """The row cannot be re-queued; str(self) says why in one line."""


@dataclass(frozen=True, slots=True)
class Requeued:
    row: OutboxRow
    dependents: int  # rows that had died waiting on it, re-queued too


def requeue(session: Session, row_id: int, now: datetime) -> Requeued:
    """Bring a dead row back (status pending, attempts 0, due now), with the rows that waited on it."""
    row = session.get(Outbox, row_id)
    if row is None:
        raise NotRequeued(f"there is no outbox row with id {row_id}")
    if row.status != OutboxStatus.DEAD:
        raise NotRequeued(f"outbox row {row_id} is {row.status}, not dead; only dead rows retry")
    if row.parent_key is not None:
        parent = session.scalar(select(Outbox).where(Outbox.idempotency_key == row.parent_key))
        if parent is not None and parent.status == OutboxStatus.DEAD:
            raise NotRequeued(
                f"outbox row {row_id} waits on row {parent.id}, which is dead: retry that one"
            )
    revived = _revive(session, Outbox.id == row_id, now)
    dependents = 0
    waiting = [row.idempotency_key]
    while waiting:
        keys = session.scalars(
            select(Outbox.idempotency_key).where(
                Outbox.parent_key == waiting.pop(), Outbox.status == OutboxStatus.DEAD
            )
        ).all()
        for key in keys:
            dependents += _revive(session, Outbox.idempotency_key == key, now)
        waiting.extend(keys)
    session.refresh(row)
    assert revived == 1
    return Requeued(
        row=OutboxRow(
            id=row.id,
            idempotency_key=row.idempotency_key,
            method=row.method,
            channel_key=row.channel_key,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            created_at=row.created_at,
        ),
        dependents=dependents,
    )


def _revive(session: Session, which: Any, now: datetime) -> int:
    # `result` keeps an `unconfirmed` mark, so a row that died mid-call is checked first.
    return rowcount(
        session.execute(
            update(Outbox)
            .where(which, Outbox.status == OutboxStatus.DEAD)
            .values(
                status=OutboxStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                lease_until=None,
                leased_by=None,
            )
            .execution_options(synchronize_session=False)
        )
    )


def cancel(session: Session, keys: Sequence[str], reason: str) -> int:
    """Withdraw pending rows that no sender holds (e.g. a reminder whose answer came first).

    A row a sender has leased may already be on its way to Slack, so it is
    left alone; rows waiting on a cancelled row stay pending. Returns rows cancelled.
    """
    cancelled = 0
    for batch in batches(list(keys)):
        done = session.execute(
            update(Outbox)
            .where(
                Outbox.idempotency_key.in_(batch),
                Outbox.status == OutboxStatus.PENDING,
                Outbox.lease_until.is_(None),
            )
            .values(status=OutboxStatus.CANCELLED, last_error=reason)
            .execution_options(synchronize_session=False)
        )
        cancelled += rowcount(done)
    return cancelled


def withdraw_for_ritual(session: Session, ritual_id: int, reason: str) -> int:
    """Cancel a ritual's unsent rows that no sender holds, and the rows waiting on them.

    A row a sender has leased may already be on its way to Slack, so it is
    left alone (as in `cancel`). Returns how many rows were withdrawn.
    """
    done = session.scalars(
        update(Outbox)
        .where(
            Outbox.ritual_id == ritual_id,
            Outbox.status == OutboxStatus.PENDING,
            Outbox.lease_until.is_(None),
        )
        .values(status=OutboxStatus.CANCELLED, last_error=reason)
        .returning(Outbox.idempotency_key)
        .execution_options(synchronize_session=False)
    ).all()
    withdrawn = len(done)
    waiting = list(done)
    while waiting:
        children: list[str] = []
        for batch in batches(waiting):
            children.extend(
                session.scalars(
                    update(Outbox)
                    .where(
                        Outbox.parent_key.in_(batch),
                        Outbox.status == OutboxStatus.PENDING,
                        Outbox.lease_until.is_(None),
                    )
                    .values(status=OutboxStatus.CANCELLED, last_error=reason)
                    .returning(Outbox.idempotency_key)
                    .execution_options(synchronize_session=False)
                ).all()
            )
        withdrawn += len(children)
        waiting = children
    return withdrawn


def prune(session: Session, older_than: datetime) -> int:
    """Delete rows sent or withdrawn before `older_than`; dead rows stay for admins.

    A row another pending row still waits on is kept, so its result can fill the child.
    """
    waited_on = select(Outbox.parent_key).where(
        Outbox.parent_key.is_not(None), Outbox.status == OutboxStatus.PENDING
    )
    finished_at = func.coalesce(Outbox.sent_at, Outbox.created_at)
    return rowcount(
        session.execute(
            delete(Outbox).where(
                Outbox.status.in_((OutboxStatus.SENT, OutboxStatus.CANCELLED)),
                finished_at < older_than,
                Outbox.idempotency_key.not_in(waited_on),
            )
        )
    )


def has_pending(session: Session) -> bool:
    return session.scalar(select(exists().where(Outbox.status == OutboxStatus.PENDING))) or False


def next_due(session: Session, now: datetime) -> datetime | None:
    """When the earliest pending row not leased by anyone becomes due (or a lease runs out)."""
    free = session.scalar(
        select(func.min(Outbox.next_attempt_at)).where(
            Outbox.status == OutboxStatus.PENDING,
            or_(Outbox.lease_until.is_(None), Outbox.lease_until < now),
        )
    )
    leased = session.scalar(
        select(func.min(Outbox.lease_until)).where(
            Outbox.status == OutboxStatus.PENDING, Outbox.lease_until >= now
        )
    )
    times = [t for t in (free, leased) if t is not None]
    return min(times) if times else None
