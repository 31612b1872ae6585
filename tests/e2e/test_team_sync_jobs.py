"""`admin team add` and `admin team sync` answer in the ack; a worker reads Slack and tells the admin.

Reading a large user group from Slack takes minutes under its rate limits, so
the commands write a durable job with the change and answer at once. The job
survives its worker: killed mid-run, it is run again once its lease expires.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot import cli
from bot.job_handlers import HANDLERS
from bot.jobs import LEASE, MAX_ATTEMPTS, JobRunner
from bot.services import Services
from bot.sync import TEAM_SYNC
from storage import jobs
from storage.db import transaction
from storage.models import Job, Member, TeamMembership
from tests.e2e.conftest import ADMIN, RunningBot, finish_jobs, send_outbox

READS = ("usergroups.users.list", "users.list", "conversations.members")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Killed(BaseException):
    """Stands for kill -9 in the middle of a job: nothing after it runs, no outcome recorded."""


def _seed(bot: RunningBot, people: int = 3) -> list[str]:
    ids = [f"UM{i}" for i in range(people)]
    for uid in ids:
        bot.fake.add_user(uid, tz="Europe/London")
    bot.fake.add_usergroup("SMKT", "marketing", ids)
    return ids


def _answer(bot: RunningBot, text: str) -> str:
    response = bot.slack.command(text, user_id=ADMIN)
    assert response.status == 200
    return str(response.json()["text"])


def _slack_reads(bot: RunningBot) -> int:
    return sum(len(bot.fake.calls_to(method)) for method in READS)


def _job(services: Services) -> Job:
    with services.sessions() as session:
        return session.scalars(select(Job)).one()


def _members(services: Services) -> int:
    with services.sessions() as session:
        return len(
            session.scalars(select(TeamMembership).where(TeamMembership.left_at.is_(None))).all()
        )


def test_team_add_answers_in_its_ack_without_reading_slack(bot: RunningBot) -> None:
    _seed(bot)
    answer = _answer(bot, "admin team add Marketing <!subteam^SMKT|@marketing>")
    assert answer.startswith("Added team *Marketing*. I'm reading its members from Slack")
    assert _slack_reads(bot) == 0
    job = _job(bot.services)  # committed with the team, before the answer
    assert (job.kind, job.state) == (TEAM_SYNC, "pending")
    assert job.payload == {"actor": ADMIN, "tell": "dm", "team": "Marketing", "added": True}
    assert _members(bot.services) == 0

    assert finish_jobs(bot) == ["Added team *Marketing* with 3 members."]
    assert _job(bot.services).state == "done" and _members(bot.services) == 3


def test_team_sync_answers_at_once_and_the_admin_hears_when_it_is_done(bot: RunningBot) -> None:
    people = _seed(bot)
    _answer(bot, "admin team add Marketing <!subteam^SMKT>")
    finish_jobs(bot)
    bot.fake.add_usergroup("SMKT", "marketing", people[1:])
    reads = _slack_reads(bot)
    answer = _answer(bot, "admin team sync marketing")
    assert (
        answer
        == "Syncing *Marketing*'s members from Slack; I'll send you a direct message when it's done."
    )
    assert _slack_reads(bot) == reads
    assert finish_jobs(bot) == ["Synced: Marketing 2 (+0 / -1)"]
    # The whole-workspace form, and a name that is not a team: answered from the database.
    assert "every team's members" in _answer(bot, "admin team sync")
    assert "No team called `Sales`" in _answer(bot, "admin team sync Sales")
    assert finish_jobs(bot) == ["Synced: Marketing 2 (+0 / -0)"]


def test_a_job_killed_mid_run_runs_again_once_its_lease_expires(bot: RunningBot) -> None:
    _seed(bot)
    _answer(bot, "admin team add Marketing <!subteam^SMKT>")
    start = _job(bot.services).run_after
    clock = Clock(start)

    def dies(*_args: Any) -> None:
        raise Killed

    first = JobRunner(bot.services, bot.app.client, {TEAM_SYNC: dies}, clock=clock)
    with pytest.raises(Killed):
        first.run_once()
    job = _job(bot.services)
    assert (job.state, job.attempts, job.leased_by) == ("pending", 0, first.worker_id)

    second = JobRunner(bot.services, bot.app.client, HANDLERS, index=1, clock=clock)
    clock.now = start + LEASE - timedelta(seconds=1)
    assert second.run_once() == 0  # the first worker might still be at it
    clock.now = start + LEASE + timedelta(seconds=1)
    assert second.run_once() == 1
    send_outbox(bot, clock.now)
    job = _job(bot.services)
    assert (job.state, job.attempts) == ("done", 0) and _members(bot.services) == 3
    told = [c.params["text"] for c in bot.fake.calls_to("chat.postMessage")]
    assert told == ["Added team *Marketing* with 3 members."]


def test_a_long_job_keeps_its_lease_while_its_worker_lives(bot: RunningBot) -> None:
    _seed(bot)
    _answer(bot, "admin team add Marketing <!subteam^SMKT>")
    start = _job(bot.services).run_after
    clock = Clock(start)
    renewed = threading.Event()

    def slow(*_args: Any) -> None:
        # Time moves past the first lease while the job runs; the runner renews it.
        clock.now = start + LEASE * 3
        assert renewed.wait(10)

    runner = JobRunner(
        bot.services, bot.app.client, {TEAM_SYNC: slow}, clock=clock, renew_seconds=0.01
    )
    thief = JobRunner(bot.services, bot.app.client, HANDLERS, index=1, clock=clock)

    def watch() -> None:
        for _ in range(1_000):
            with bot.services.sessions() as session:
                until = session.scalar(select(Job.lease_until))
            if until is not None and until > start + LEASE * 3:
                assert thief.run_once() == 0  # still held: nobody else starts it
                renewed.set()
                return
            threading.Event().wait(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    assert runner.run_once() == 1
    watcher.join()
    assert renewed.is_set() and _job(bot.services).state == "done"


def test_on_the_last_attempt_the_admin_is_told_it_failed(bot: RunningBot) -> None:
    _seed(bot)
    _answer(bot, "admin team add Marketing <!subteam^SMKT>")
    with transaction(bot.services.sessions) as session:
        session.execute(Job.__table__.update().values(attempts=MAX_ATTEMPTS - 1))
    bot.fake.drop_next("usergroups.users.list", count=5)
    client = WebClient(token=bot.app.client.token, base_url=bot.fake.url, retry_handlers=[])
    assert JobRunner(bot.services, client, HANDLERS).run_once() == 1
    send_outbox(bot)
    job = _job(bot.services)
    assert job.state == "dead" and "RemoteDisconnected" in (job.last_error or "")
    (told,) = [c.params["text"] for c in bot.fake.calls_to("chat.postMessage")]
    assert "couldn't read its members yet (`RemoteDisconnected`)" in str(told)
    with bot.services.sessions() as session:
        assert jobs.counts(session) == {"dead": 1}
        assert session.scalars(select(Member).where(Member.slack_user_id == "UM0")).all() == []


def test_a_rate_limit_outlasting_the_retries_is_tried_again_later(bot: RunningBot) -> None:
    _seed(bot)
    _answer(bot, "admin team add Marketing <!subteam^SMKT>")
    bot.fake.fail_next("usergroups.users.list", count=2, status=429, retry_after=0)
    client = WebClient(token=bot.app.client.token, base_url=bot.fake.url, retry_handlers=[])
    assert JobRunner(bot.services, client, HANDLERS).run_once() == 1
    job = _job(bot.services)
    assert (job.state, job.attempts) == ("pending", 1) and "ratelimited" in (job.last_error or "")
    assert bot.fake.calls_to("chat.postMessage") == []  # nothing to tell yet


def test_tandem_jobs_lists_and_requeues_dead_jobs(
    bot: RunningBot,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(bot)
    for name in ("A", "B"):
        _answer(bot, f"admin team add {name} <!subteam^SMKT>")
    with transaction(bot.services.sessions) as session:
        session.execute(
            Job.__table__.update().values(state="dead", attempts=MAX_ATTEMPTS, last_error="boom")
        )
        first, second = sorted(session.scalars(select(Job.id)))
    monkeypatch.setenv("TANDEM_DATABASE_URL", db_url)
    monkeypatch.setenv("TANDEM_LOG_LEVEL", "WARNING")
    assert cli.main(["jobs"]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith("jobs: 0 pending, 2 dead\n")
    assert f"job {first} team_sync dead, 6 attempt(s)" in listing and "— boom" in listing
    assert "tandem jobs retry --all-dead" in listing

    assert cli.main(["jobs", "retry", str(first)]) == 0
    assert capsys.readouterr().out == f"re-queued job {first}: pending, due now\n"
    assert cli.main(["jobs", "retry", str(first)]) == 1  # pending now, not dead
    assert "only dead jobs retry" in capsys.readouterr().err
    assert cli.main(["jobs", "retry", "nine"]) == 1
    assert cli.main(["jobs", "retry"]) == 1
    assert cli.main(["jobs", "retry", str(first), "--all-dead"]) == 1
    capsys.readouterr()
    assert cli.main(["jobs", "retry", "--all-dead"]) == 0
    assert capsys.readouterr().out == f"re-queued 1 dead job(s): {second}\n"

    told = finish_jobs(bot)
    assert sorted(told) == ["Added team *A* with 3 members.", "Added team *B* with 3 members."]
