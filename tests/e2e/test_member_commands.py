"""`/tandem away|back|optout|optin` and `/tandem admin holiday …`, through the real endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.tick import tick
from storage.models import AuditLog, Member, Occurrence, Outbox, TeamHoliday
from tests.bot.test_standup_service import LONDON_PROMPT, MONDAY, PEOPLE, World, seed
from tests.e2e.conftest import ADMIN, RunningBot


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Members:
    bot: RunningBot
    clock: Clock
    world: World

    def reply(self, text: str, user_id: str = "UM1") -> str:
        response = self.bot.slack.command(text, user_id=user_id)
        assert response.status == 200
        params = response.json()  # the answer is the ack itself
        assert params["response_type"] == "ephemeral"
        return f"{params['text']}\n{json.dumps(params.get('blocks', []))}"

    def member(self, slack_id: str) -> Member:
        with self.bot.services.sessions() as session:
            found = session.scalars(select(Member).where(Member.slack_user_id == slack_id)).one()
            session.expunge(found)
            return found

    def occurrence_detail(self, slack_id: str, local_day: date) -> str | None:
        subject = f"member:{self.world.members[slack_id]}"
        with self.bot.services.sessions() as session:
            return session.scalars(
                select(Occurrence.detail).where(
                    Occurrence.subject == subject,
                    Occurrence.fire_key.startswith(local_day.isoformat()),
                )
            ).one()


@pytest.fixture
def members(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[Members]:
    clock = Clock(MONDAY + timedelta(hours=8))
    monkeypatch.setattr("bot.member_commands.utcnow", clock)
    monkeypatch.setattr("bot.holidays.utcnow", clock)
    for uid, name, tz, _ in PEOPLE:
        bot.fake.add_user(uid, name=name.lower(), tz=tz or "UTC")
    yield Members(bot, clock, seed(bot.services))


def test_away_skips_prompts_until_the_date_and_back_ends_it(members: Members) -> None:
    text = members.reply("away until 2026-01-13")
    assert "away until Tue 13 Jan 2026" in text and "/tandem back" in text
    assert members.member("UM1").away_until == date(2026, 1, 13)
    tick(members.bot.services, LONDON_PROMPT + timedelta(seconds=5))
    assert members.occurrence_detail("UM1", MONDAY.date()) == "Not prompted: away."
    assert "Welcome back" in members.reply("back")
    assert members.member("UM1").away_until is None
    assert "weren't away" in members.reply("back")
    tick(members.bot.services, LONDON_PROMPT + timedelta(days=1, seconds=5))
    assert members.occurrence_detail("UM1", date(2026, 1, 13)) is None  # prompted again


def test_going_away_withdraws_a_reminder_already_queued(members: Members) -> None:
    tick(members.bot.services, LONDON_PROMPT + timedelta(seconds=5))
    members.clock.now = LONDON_PROMPT + timedelta(minutes=30)
    members.reply("away until 2026-01-16", user_id="UI2")
    with members.bot.services.sessions() as session:
        statuses = {
            key.split(":")[-2] + ":" + key.split(":")[-1]: status
            for key, status in session.execute(select(Outbox.idempotency_key, Outbox.status))
        }
    assert statuses["reminder:UI2"] == "cancelled" and statuses["reminder:UM1"] == "pending"
    assert statuses["prompt:UI2"] == "cancelled"  # no sender ran yet: it is not sent at all


AWAY_MISTAKES = [
    ("away", "Usage: `/tandem away until"),
    ("away until next week", "`next week` is not a date"),
    ("away until 2026-13-01", "is not a date"),
    ("away until 2026-01-11", "has already passed"),
    ("away until 2027-06-01", "at most a year ahead"),
]


def test_away_mistakes_get_clear_answers_and_change_nothing(members: Members) -> None:
    for text, words in AWAY_MISTAKES:
        assert words in members.reply(text), text
    assert members.member("UM1").away_until is None


def test_people_tandem_does_not_know_are_told_why(members: Members) -> None:
    members.bot.fake.add_user("UNEW", name="new")
    for text in ("away until 2026-02-01", "back", "optout standup", "optin kudos"):
        assert "I don't know you yet" in members.reply(text, user_id="UNEW")


def test_optout_and_optin_per_ritual(members: Members) -> None:
    text = members.reply("optout standup")
    assert "out of standup" in text and "/tandem optin standup" in text
    assert "already out of standup" in members.reply("optout standup")
    members.reply("optout kudos")
    members.reply("optout Shadowing")
    assert members.member("UM1").opted_out == ["kudos_prompt", "shadowing", "standup"]
    tick(members.bot.services, LONDON_PROMPT + timedelta(seconds=5))
    assert members.occurrence_detail("UM1", MONDAY.date()) == "Not prompted: opted out of standups."
    assert "back in standup" in members.reply("optin standup")
    assert "already in standup" in members.reply("optin standup")
    assert members.member("UM1").opted_out == ["kudos_prompt", "shadowing"]
    assert "Which ritual?" in members.reply("optout")
    assert "`lunch` is not one of them" in members.reply("optout lunch")


def test_help_lists_the_member_commands(members: Members) -> None:
    body = members.bot.slack.command("help", user_id="UM1").json()
    rendered = json.dumps(body["blocks"])
    for usage in (
        "/tandem away until",
        "/tandem back",
        "/tandem optout",
        "/tandem optin",
        "/tandem standup",
    ):
        assert usage in rendered
    assert "/tandem admin" not in rendered  # UM1 is not an admin


def test_admins_manage_team_holidays_and_nobody_on_the_team_is_prompted(
    members: Members,
) -> None:
    added = members.reply("admin holiday add IT 2026-01-12", user_id=ADMIN)
    assert "*IT* has Mon 12 Jan 2026 off" in added
    assert "already has" in members.reply("admin holiday add it 2026-01-12", user_id=ADMIN)
    members.reply('admin holiday add "Marketing" 2026-02-02', user_id=ADMIN)
    listing = members.reply("admin holiday list", user_id=ADMIN)
    assert "Mon 12 Jan 2026 · *IT*" in listing and "Mon 02 Feb 2026 · *Marketing*" in listing
    assert "Marketing" not in members.reply("admin holiday list IT", user_id=ADMIN)

    tick(members.bot.services, LONDON_PROMPT + timedelta(seconds=5))
    assert members.occurrence_detail("UI2", MONDAY.date()) == "Not prompted: team holiday."
    assert members.occurrence_detail("UM1", MONDAY.date()) is None

    assert "Removed Mon 12 Jan 2026" in members.reply(
        "admin holiday remove IT 2026-01-12", user_id=ADMIN
    )
    assert "has no holiday" in members.reply("admin holiday remove IT 2026-01-12", user_id=ADMIN)
    with members.bot.services.sessions() as session:
        actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
        days = session.scalars(select(TeamHoliday.day)).all()
    assert actions == ["holiday.add", "holiday.add", "holiday.remove"]
    assert days == [date(2026, 2, 2)]


HOLIDAY_MISTAKES = [
    ("admin holiday add IT", "Usage: `/tandem admin holiday add"),
    ("admin holiday add IT 12/01/2026", "is not a date"),
    ("admin holiday add Sales 2026-01-12", "can't find a team called `Sales`"),
    ("admin holiday add IT 2025-01-12", "in the past"),
    ("admin holiday ad IT 2026-01-12", "Did you mean `add`?"),
    ('admin holiday add "IT 2026-01-12', "quote is not closed"),
]


def test_holiday_mistakes_get_clear_answers(members: Members) -> None:
    for text, words in HOLIDAY_MISTAKES:
        assert words in members.reply(text, user_id=ADMIN), text
    with members.bot.services.sessions() as session:
        assert session.scalars(select(TeamHoliday)).all() == []


def test_only_admins_set_holidays(members: Members) -> None:
    assert "Only Tandem admins" in members.reply("admin holiday add IT 2026-01-12", user_id="UM1")
