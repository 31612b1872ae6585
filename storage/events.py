"""Requests we already acted on, so each is handled once.

Slack retries an event it thinks we missed (same `event_id`), and anyone who
captured a signed request can replay it while its signature is valid (five
minutes, as Bolt checks it). Each row holds one request key: an
event id as Slack sent it, or `trigger:<trigger_id>` for a slash command or
an interaction. Keys longer than the column are stored as a digest.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from storage.models import SlackEvent
from storage.upsert import insert_for, inserted, rowcount

# The signature window is five minutes and Slack's last event retry comes
# about five minutes after the first delivery; an hour leaves room for clock
# skew between Slack and us. Older keys cannot come back with a valid signature.
KEEP_FOR = timedelta(hours=1)
KEY_LENGTH = 64  # slack_event.event_id
_DIGEST_PREFIX = "sha256:"


def stored_key(key: str) -> str:
    """`key` as it fits the column: itself, or a digest when it is too long."""
    if len(key) <= KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return (_DIGEST_PREFIX + digest)[:KEY_LENGTH]


def first_delivery(session: Session, key: str, now: datetime) -> bool:
    """True the first time this request key is seen, False for a retry or replay."""
    stmt = (
        insert_for(session, SlackEvent)
        .values(event_id=stored_key(key), received_at=now)
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    return bool(inserted(session, stmt, SlackEvent.event_id))


def prune(session: Session, now: datetime) -> int:
    """Forget keys older than KEEP_FOR; returns how many went."""
    return rowcount(
        session.execute(delete(SlackEvent).where(SlackEvent.received_at < now - KEEP_FOR))
    )
