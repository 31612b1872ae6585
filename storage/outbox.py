"""The outbox: every outbound Slack call is a row first, written in the caller's transaction.

A row is keyed by an idempotency key chosen by the caller from what the
message is about (e.g. "standup:12:2026-03-09:prompt:U42"), so writing the
same message twice is a no-op and a crash can never lose or double it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storage.models import Outbox
from storage.upsert import insert_for, rowcount


class OutboxStatus:
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


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


def enqueue(
    session: Session,
    calls: OutboundCall | list[OutboundCall],
    now: datetime,
    workspace_id: int | None = None,
) -> int:
    """Add calls to the outbox; a key already present is left as it is. Returns rows added."""
    batch = [calls] if isinstance(calls, OutboundCall) else calls
    if not batch:
        return 0
    rows = [
        {
            "idempotency_key": c.idempotency_key,
            "workspace_id": workspace_id,
            "method": c.method,
            "channel_key": c.channel_key or str(c.payload.get("channel", "")),
            "payload": c.payload,
            "parent_key": c.parent_key,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": c.not_before or now,
            "created_at": now,
        }
        for c in batch
    ]
    stmt = (
        insert_for(session, Outbox)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return rowcount(session.execute(stmt))
