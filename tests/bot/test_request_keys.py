"""The request-key middleware's keys, and the worker job that prunes them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from slack_sdk import WebClient
from sqlalchemy import select

from bot.middleware import prune_job, request_key
from bot.runtime import start_background
from bot.services import Services
from storage import events
from storage.db import transaction
from storage.models import SlackEvent
from tests.bot.test_tick import make_services

NOW = datetime(2026, 3, 9, 9, 30, tzinfo=UTC)


@pytest.fixture
def services(db_url: str) -> Iterator[Services]:
    found = make_services(db_url)
    yield found
    found.close()


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"type": "event_callback", "event_id": "Ev1", "event": {}}, "Ev1"),
        ({"command": "/tandem", "trigger_id": "1.2.3"}, "trigger:1.2.3"),
        ({"type": "block_actions", "trigger_id": "4.5.6", "actions": []}, "trigger:4.5.6"),
        ({"type": "view_submission", "trigger_id": "7.8.9", "view": {}}, "trigger:7.8.9"),
        ({"type": "event_callback", "trigger_id": "1.2.3"}, None),  # an event without its id
        ({"type": "block_suggestion", "value": "an"}, None),
        ({"type": "view_closed", "view": {}}, None),
        ({"trigger_id": ["not", "a", "string"]}, None),
        ("not a dict", None),
    ],
)
def test_the_key_of_a_request(body: object, key: str | None) -> None:
    assert request_key(body) == key


def test_the_prune_job_forgets_old_keys(services: Services) -> None:
    with transaction(services.sessions) as session:
        events.first_delivery(session, "trigger:old", NOW - events.KEEP_FOR - timedelta(minutes=1))
        events.first_delivery(session, "trigger:new", NOW - timedelta(minutes=1))
    with freeze_time(NOW):
        prune_job(services)()
    with services.sessions() as session:
        assert list(session.scalars(select(SlackEvent.event_id))) == ["trigger:new"]


def test_the_worker_prunes_request_keys_periodically(sqlite_url: str) -> None:
    services = make_services(sqlite_url, TANDEM_SENDER_THREADS=0)
    background = start_background(services, WebClient(token="xoxb-test"))
    try:
        job = background.scheduler.get_job("request-key-prune")
        assert job is not None
    finally:
        background.stop()
        services.close()
