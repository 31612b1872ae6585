"""Admin status comes from Slack and is cached for at most a minute."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.admin import ADMIN_TTL_SECONDS, AdminCheck
from bot.settings import load_settings
from bot.slack_client import make_client
from tests.fakes import FakeSlack
from tests.fakes.slack_api import DEFAULT_TOKEN


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as running:
        yield running


def test_a_change_of_admin_status_counts_within_a_minute(fake: FakeSlack) -> None:
    client = make_client(
        load_settings(_env_file=None, SLACK_BOT_TOKEN=DEFAULT_TOKEN, SLACK_API_URL=fake.url)
    )
    clock = Clock()
    check = AdminCheck(frozenset(), clock=clock)
    fake.add_user("UANA", is_admin=True)
    fake.add_user("URAJ")
    assert check(client, "UANA") and not check(client, "URAJ")
    fake.add_user("UANA")  # no longer an admin
    fake.add_user("URAJ", is_owner=True)  # now an owner
    clock.now += 30
    assert check(client, "UANA") and not check(client, "URAJ")  # cached
    assert len(fake.calls_to("users.info")) == 2
    clock.now += 30
    assert not check(client, "UANA") and check(client, "URAJ")
    assert len(fake.calls_to("users.info")) == 4
    assert ADMIN_TTL_SECONDS <= 60


def test_configured_admins_never_ask_slack(fake: FakeSlack) -> None:
    client = make_client(
        load_settings(_env_file=None, SLACK_BOT_TOKEN=DEFAULT_TOKEN, SLACK_API_URL=fake.url)
    )
    assert AdminCheck(frozenset({"UCONF"}), clock=Clock())(client, "UCONF")
    assert fake.calls_to("users.info") == []
