"""Team sync reads Slack page by page, keeps only eligible people, and runs periodically."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select

from bot.job_handlers import HANDLERS
from bot.jobs import JobRunner
from bot.runtime import periodic_sync
from bot.services import Services
from bot.settings import load_settings
from bot.slack_client import RateLimitWaits, make_client
from bot.sync import eligible, sync_teams
from storage.batching import batch_size
from storage.db import transaction
from storage.member_data import forget_member
from storage.models import ForgottenMember, Job, Member, Team, TeamMembership
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


def _run_jobs(services: Services) -> int:
    runner = JobRunner(services, make_client(services.settings), HANDLERS)
    ran = 0
    while runner.run_once():
        ran += 1
    return ran


def test_periodic_sync_refreshes_every_workspace(services: Services, fake: FakeSlack) -> None:
    fake.add_user("UA", tz="Europe/Paris")
    fake.add_usergroup("SG", "group", ["UA"])
    now = datetime.now(UTC)
    with transaction(services.sessions) as session:
        ws = ensure_workspace(session, TEAM_ID, now)
        add_team(session, ws, "Group", "usergroup", "SG", now)
        other = ensure_workspace(session, "T0002", now)
    with freeze_time(now):
        periodic_sync(services)()
        periodic_sync(services)()  # another worker, same interval: nothing more queued
    assert _run_jobs(services) == 2  # one per workspace
    with services.sessions() as session:
        (team,) = list_teams(session, ws)
        assert team.member_count == 1 and team.last_synced_at is not None
        assert session.scalars(select(TeamMembership)).one().left_at is None
        assert list_teams(session, other) == []
    fake.add_usergroup("SG", "group", [])
    with freeze_time(now + timedelta(minutes=services.settings.sync_interval_minutes)):
        periodic_sync(services)()
        assert _run_jobs(services) == 2
    with services.sessions() as session:
        assert list_teams(session, ws)[0].member_count == 0
    assert fake.calls_to("chat.postMessage") == []  # nobody to tell


def test_periodic_sync_survives_a_slack_failure(services: Services, fake: FakeSlack) -> None:
    now = datetime.now(UTC)
    with transaction(services.sessions) as session:
        ws = ensure_workspace(session, TEAM_ID, now)
        add_team(session, ws, "Group", "usergroup", "SMISSING", now)
    periodic_sync(services)()
    assert _run_jobs(services) == 1  # failed: logged, retried later
    with services.sessions() as session:
        (job,) = session.scalars(select(Job)).all()
        assert (job.state, job.attempts) == ("pending", 1) and "no_such_subteam" in str(
            job.last_error
        )


# --- large groups, rate limits, forgotten people -------------------------------------------


class FakeTime:
    """One clock for the fake Slack's rate limits and the client's waits: no real sleeping."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _client(services: Services, time: FakeTime, retries: int = 8) -> WebClient:
    waits = RateLimitWaits(retries, sleep=time.sleep, jitter=lambda: 0.0)
    return make_client(services.settings, waits=waits)


def _current(services: Services, team: str) -> set[str]:
    with services.sessions() as session:
        return set(
            session.scalars(
                select(Member.slack_user_id)
                .join(TeamMembership, TeamMembership.member_id == Member.id)
                .join(Team, Team.id == TeamMembership.team_id)
                .where(Team.name == team, TeamMembership.left_at.is_(None))
            )
        )


@pytest.mark.usefixtures("old_sqlite_limit")
def test_a_group_larger_than_a_batch_adds_removes_and_keeps_the_right_people(
    services: Services, fake: FakeSlack
) -> None:
    """1,200 people: more than one statement's batch of ids (900) or of member rows."""
    assert batch_size() < 1_200 and batch_size(per_item=10) < 1_200
    people = [f"U{i:05d}" for i in range(1_500)]
    for uid in people:
        fake.add_user(uid, tz="Europe/Madrid")
    fake.add_user("UBOTTY", is_bot=True)
    first = people[:1_200]
    fake.add_usergroup("SBIG", "big", [*first, "UBOTTY"])
    fake.add_usergroup("SOTHER", "other", people[1_000:])  # overlaps the first group
    now = datetime.now(UTC)
    with transaction(services.sessions) as session:
        ws = ensure_workspace(session, TEAM_ID, now)
        add_team(session, ws, "Big", "usergroup", "SBIG", now)
        add_team(session, ws, "Other", "usergroup", "SOTHER", now)
    client = make_client(services.settings)
    big, other = sync_teams(services, client, ws)
    assert (big.members, big.added, big.removed, big.excluded) == (1_200, 1_200, 0, 1)
    assert (other.members, other.added, other.removed) == (500, 500, 0)
    assert _current(services, "Big") == set(first)
    assert _current(services, "Other") == set(people[1_000:])
    # 300 leave, 250 join, 900 stay.
    second = people[300:1_200] + people[1_250:1_500]
    fake.add_usergroup("SBIG", "big", second)
    (again,) = sync_teams(services, client, ws, "big")
    assert (again.members, again.added, again.removed, again.excluded) == (1_150, 250, 300, 0)
    assert _current(services, "Big") == set(second)
    assert _current(services, "Other") == set(people[1_000:])  # not synced, not touched
    with services.sessions() as session:
        # Those who left keep their history: a closed membership, not a deleted one.
        closed = select(func.count()).select_from(TeamMembership)
        assert session.scalar(closed.where(TeamMembership.left_at.is_not(None))) == 300


def test_rate_limits_are_waited_out_as_slack_says(services: Services, fake: FakeSlack) -> None:
    """users.list at 2 calls a minute: every 429's Retry-After is slept (on a fake clock)."""
    time = FakeTime()
    fake.limit_methods({"users.list": 2, "usergroups.users.list": 20}, clock=time)
    people = [f"U{i:04d}" for i in range(900)]  # 5 pages of 200 (the bot makes 901 people)
    for uid in people:
        fake.add_user(uid)
    fake.add_usergroup("SG", "group", people)
    now = datetime.now(UTC)
    with transaction(services.sessions) as session:
        ws = ensure_workspace(session, TEAM_ID, now)
        add_team(session, ws, "Group", "usergroup", "SG", now)
    pages: list[int] = []
    (result,) = sync_teams(
        services, _client(services, time), ws, on_page=lambda: pages.append(len(pages))
    )
    assert result.members == 900 and len(pages) == 5
    calls = fake.calls_to("users.list")
    limited = [c for c in calls if c.status == 429]
    assert len(calls) - len(limited) == 5
    # Two calls, then a wait until the first leaves the 60 s window: twice.
    assert len(limited) == 2 and time.slept == [60.0, 60.0]
    assert all(c.reply == {"ok": False, "error": "ratelimited"} for c in limited)


def test_a_single_429_is_retried_after_its_retry_after(services: Services, fake: FakeSlack) -> None:
    time = FakeTime()
    fake.add_user("UA")
    fake.add_usergroup("SG", "group", ["UA"])
    now = datetime.now(UTC)
    with transaction(services.sessions) as session:
        ws = ensure_workspace(session, TEAM_ID, now)
        add_team(session, ws, "Group", "usergroup", "SG", now)
    fake.fail_next("usergroups.users.list", status=429, retry_after=7)
    fake.fail_next("users.list", status=429, retry_after=3)
    (result,) = sync_teams(services, _client(services, time), ws)
    assert result.members == 1 and time.slept == [7.0, 3.0]
    # Out of retries, the rate limit is an error for the caller (a job then tries later).
    fake.fail_next("users.list", count=2, status=429, retry_after=5)
    with pytest.raises(SlackApiError, match="ratelimited"):
        sync_teams(services, _client(services, time, retries=1), ws)


def test_a_forgotten_member_still_in_the_group_does_not_come_back(
    services: Services, fake: FakeSlack
) -> None:
    for uid in ("UA", "UB"):
        fake.add_user(uid, tz="Europe/Paris")
    fake.add_usergroup("SG", "group", ["UA", "UB"])
    now = datetime.now(UTC)
    with transaction(services.sessions) as session:
        ws = ensure_workspace(session, TEAM_ID, now)
        add_team(session, ws, "Group", "usergroup", "SG", now)
    client = make_client(services.settings)
    sync_teams(services, client, ws)
    with transaction(services.sessions) as session:
        assert forget_member(session, ws, "UA", now) is not None
    (result,) = sync_teams(services, client, ws)
    assert (result.members, result.added, result.removed, result.excluded) == (1, 0, 0, 1)
    assert _current(services, "Group") == {"UB"}
    with services.sessions() as session:
        ids = set(session.scalars(select(Member.slack_user_id)))
        assert "UA" not in ids  # no new row named after them either
        (marker,) = session.scalars(select(ForgottenMember)).all()
        assert "UA" not in marker.id_hash and marker.workspace_id == ws


def test_a_resync_writes_only_the_people_whose_profile_changed(
    services: Services, fake: FakeSlack
) -> None:
    for uid in ("UA", "UB"):
        fake.add_user(uid, tz="Europe/Paris")
    fake.add_usergroup("SG", "group", ["UA", "UB"])
    now = datetime.now(UTC)
    with transaction(services.sessions) as session:
        ws = ensure_workspace(session, TEAM_ID, now)
        add_team(session, ws, "Group", "usergroup", "SG", now)
    client = make_client(services.settings)
    sync_teams(services, client, ws)

    def stamps() -> dict[str, tuple[datetime, str | None]]:
        with services.sessions() as session:
            found = session.execute(select(Member.slack_user_id, Member.updated_at, Member.tz))
            return {uid: (at, tz) for uid, at, tz in found if uid in ("UA", "UB")}

    before = stamps()
    fake.add_user("UB", tz="Asia/Tokyo")  # moved; UA unchanged
    with freeze_time(now + timedelta(hours=1)):
        (result,) = sync_teams(services, client, ws)
    after = stamps()
    assert (result.members, result.added, result.removed) == (2, 0, 0)
    assert after["UA"] == before["UA"]
    assert after["UB"] == (now + timedelta(hours=1), "Asia/Tokyo")
