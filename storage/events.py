"""Slack retries an event it thinks we missed; these rows make us handle it once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from storage.models import SlackEvent
from storage.upsert import insert_for, inserted, rowcount

KEEP_FOR = timedelta(days=2)  # Slack retries within minutes; two days is generous.


def first_delivery(session: Session, event_id: str, now: datetime) -> bool:
    """True for the first delivery of this event id, False for any retry."""
    stmt = (
        insert_for(session, SlackEvent)
        .values(event_id=event_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    return bool(inserted(session, stmt, SlackEvent.event_id))


def prune(session: Session, now: datetime) -> int:
    return rowcount(
        session.execute(delete(SlackEvent).where(SlackEvent.received_at < now - KEEP_FOR))
    )
