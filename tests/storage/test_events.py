"""Request keys: each request is acted on once, and keys are forgotten after the replay window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage import events
from storage.db import transaction
from storage.models import SlackEvent

NOW = datetime(2026, 3, 9, 9, 30, tzinfo=UTC)


def _first(sessions: sessionmaker[Session], key: str, at: datetime = NOW) -> bool:
    with transaction(sessions) as session:
        return events.first_delivery(session, key, at)


def _keys(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(SlackEvent.event_id)))


def test_a_key_is_first_once(session_factory: sessionmaker[Session]) -> None:
    assert _first(session_factory, "trigger:1.2.3")
    assert not _first(session_factory, "trigger:1.2.3")
    assert _first(session_factory, "Ev123")  # an event id and a trigger id never collide
    assert not _first(session_factory, "Ev123", NOW + timedelta(minutes=5))


def test_a_key_longer_than_the_column_is_kept_as_a_digest(
    session_factory: sessionmaker[Session],
) -> None:
    long_key = "trigger:" + "9" * 200
    other = "trigger:" + "9" * 199 + "8"
    assert _first(session_factory, long_key)
    assert not _first(session_factory, long_key)
    assert _first(session_factory, other)
    stored = _keys(session_factory)
    assert len(stored) == 2 and all(len(k) <= events.KEY_LENGTH for k in stored)


def test_prune_forgets_keys_older_than_the_window_only(
    session_factory: sessionmaker[Session],
) -> None:
    old = NOW - events.KEEP_FOR - timedelta(seconds=1)
    edge = NOW - events.KEEP_FOR
    _first(session_factory, "trigger:old", old)
    _first(session_factory, "trigger:edge", edge)
    _first(session_factory, "trigger:new", NOW - timedelta(minutes=1))
    with transaction(session_factory) as session:
        assert events.prune(session, NOW) == 1
    assert _keys(session_factory) == {"trigger:edge", "trigger:new"}
    # Kept at least as long as a signature is valid (five minutes) with a margin.
    assert timedelta(minutes=30) <= events.KEEP_FOR


def test_a_pruned_key_is_new_again(session_factory: sessionmaker[Session]) -> None:
    """After the window a replayed body fails its signature check; the key is not needed."""
    _first(session_factory, "trigger:1.2.3", NOW)
    later = NOW + events.KEEP_FOR + timedelta(minutes=1)
    with transaction(session_factory) as session:
        assert events.prune(session, later) == 1
    assert _first(session_factory, "trigger:1.2.3", later)
