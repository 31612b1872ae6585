"""Team sync reads Slack page by page, keeps only eligible people, and runs periodically."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.runtime import periodic_sync
from bot.services import Services
from bot.settings import load_settings
from bot.slack_client import make_client
from bot.sync import eligible, sync_teams
from storage.db import transaction
from storage.models import Member, TeamMembership
from storage.org import MemberProfile, add_team, ensure_workspace, list_teams
from tests.fakes import FakeSlack
from tests.fakes.slack_api import DEFAULT_TOKEN, TEAM_ID


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as running:
        yield running


@pytest.fixture
def services(db_url: str, fake: FakeSlack) -> Iterator[Services]:
    settings = load_settings(
        _env_file=None,
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,
        SLACK_API_URL=fake.url,
        TANDEM_DATABASE_URL=db_url,
    )
    running = Services.from_settings(settings)
    yield running
    running.close()


@pytest.mark.parametrize(
    ("profile", "guests", "expected"),
    [
        (MemberProfile("U1", "a", "UTC"), False, True),
        (MemberProfile("U1", "a", "UTC", is_bot=True), True, False),
        (MemberProfile("U1", "a", "UTC", is_deleted=True), True, False),
        (MemberProfile("U1", "a", "UTC", is_guest=True), False, False),
        (MemberProfile("U1", "a", "UTC", is_guest=True), True, True),
    ],
)
def test_eligibility(profile: MemberProfile, guests: bool, expected: bool) -> None:
    assert eligible(profile, guests) is expected


def test_large_channel_is_read_across_pages(services: Services, fake: FakeSlack) -> None:
    people = [f"U{i:04d}" for i in range(450)]
    for uid in people:
        fake.add_user(uid, tz="Asia/Kolkata")
    fake.add_channel("CBIG", "big", people)
    now = datetime.now(UTC)
    with transaction(services.sessions) as session:
        ws = ensure_workspace(session, TEAM_ID, now)
        add_team(session, ws, "Big", "channel", "CBIG", now)
    (result,) = sync_teams(services, make_client(services.settings), ws)
    assert result.members == 450  # the bot itself is in the channel but never a member
    assert len(fake.calls_to("conversations.members")) >= 3
    assert len(fake.calls_to("users.list")) >= 3
    with services.sessions() as session:
        assert {m.tz for m in session.scalars(select(Member).where(Member.is_bot.is_(False)))} == {
            "Asia/Kolkata"
        }


@pytest.mark.usefixtures("old_sqlite_limit")
def test_a_user_group_of_20000_syncs(services: Services, fake: FakeSlack) -> None:
    """Far more people than one statement may bind parameters for, on either database."""
    people = [f"U{i:05d}" for i in range(20_000)]
    for uid in people:
        fake.add_user(uid, tz="Europe/Madrid")
    fake.add_usergroup("SHUGE", "everyone", people)
    now = datetime.now(UTC)
    with transaction(services.sessions) as session:
        ws = ensure_workspace(session, TEAM_ID, now)
        add_team(session, ws, "Everyone", "usergroup", "SHUGE", now)
    client = make_client(services.settings)
    (result,) = sync_teams(services, client, ws)
    assert (result.members, result.added, result.removed) == (20_000, 20_000, 0)
    assert len(fake.calls_to("users.list")) >= 100  # read page by page
    fake.add_usergroup("SHUGE", "everyone", people[5_000:])
    (again,) = sync_teams(services, client, ws)
    assert (again.members, again.added, again.removed) == (15_000, 0, 5_000)
    with services.sessions() as session:
        assert list_teams(session, ws)[0].member_count == 15_000
        humans = select(func.count()).select_from(Member).where(Member.is_bot.is_(False))
        assert session.scalar(humans) == 20_000


def test_periodic_sync_refreshes_every_workspace(services: Services, fake: FakeSlack) -> None:
    fake.add_user("UA", tz="Europe/Paris")
    fake.add_usergroup("SG", "group", ["UA"])
    now = datetime.now(UTC)
    with transaction(services.sessions) as session:
        ws = ensure_workspace(session, TEAM_ID, now)
        add_team(session, ws, "Group", "usergroup", "SG", now)
    periodic_sync(services, make_client(services.settings))()
    with services.sessions() as session:
        (team,) = list_teams(session, ws)
        assert team.member_count == 1 and team.last_synced_at is not None
        assert session.scalars(select(TeamMembership)).one().left_at is None
    fake.add_usergroup("SG", "group", [])
    periodic_sync(services, make_client(services.settings))()
    with services.sessions() as session:
        assert list_teams(session, ws)[0].member_count == 0


def test_periodic_sync_survives_a_slack_failure(services: Services, fake: FakeSlack) -> None:
    now = datetime.now(UTC)
    with transaction(services.sessions) as session:
        ws = ensure_workspace(session, TEAM_ID, now)
        add_team(session, ws, "Group", "usergroup", "SMISSING", now)
    fake.fail_next("users.list", status=500)
    periodic_sync(services, make_client(services.settings))()  # logged, not raised
