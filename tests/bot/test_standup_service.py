"""Joint standups below Slack: the builder the tick calls, answers, edits, asks and help."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.services import Services
from bot.settings import load_settings
from bot.standup import (
    Saved,
    answer_view,
    build_standup,
    config_of,
    create_standup,
    offer_help,
    resolve_help,
    standup_cron,
    submit_answer,
    todays_view,
)
from bot.tick import run_now, tick
from bot.views.rich_text import from_mrkdwn, input_to_mrkdwn, to_mrkdwn
from bot.views.standup import answer_message, greeting, no_blocker_ticked, summary_message
from rituals.interactions import InteractionKind, InterdependenceType
from rituals.refusal import Refusal
from rituals.standup import (
    ANSWER_LENGTH_LIMIT,
    MAX_QUESTIONS,
    NO_BLOCKER,
    QUESTION_TEXT_LIMIT,
    AnswerView,
    CutoffAfter,
    CutoffAt,
    Question,
    StandupSettings,
    TeamProfile,
    build_summary,
)
from rituals.text_chunks import MAX_BLOCKS_PER_MESSAGE, SECTION_TEXT_LIMIT
from storage import holidays, member_settings, org
from storage import rituals as ritual_store
from storage import standups as store
from storage.db import make_engine, make_session_factory, transaction
from storage.models import (
    AuditLog,
    Interaction,
    Occurrence,
    Outbox,
    Ritual,
    StandupAnswer,
    StandupAsk,
)
from storage.outbox import OutboxStatus

TEAM = "T0001"
MONDAY = datetime(2026, 1, 12, tzinfo=UTC)  # London is on UTC in January
LONDON_PROMPT = MONDAY + timedelta(hours=9, minutes=30)


@dataclass
class World:
    services: Services
    workspace: int
    partnership: int
    ritual: int
    members: dict[str, int]  # slack id -> member id
    teams: dict[str, int]


def make_services(db_url: str) -> Services:
    engine = make_engine(db_url)
    settings = load_settings(_env_file=None, TANDEM_DATABASE_URL=db_url)
    return Services(settings, engine, make_session_factory(engine))


@pytest.fixture
def services(db_url: str) -> Iterator[Services]:
    made = make_services(db_url)
    yield made
    made.close()


PEOPLE = [
    ("UM1", "Ana", "Europe/London", "Marketing"),
    ("UM2", "Bea", "America/New_York", "Marketing"),
    ("UI1", "Raj", "Asia/Kolkata", "IT"),
    ("UI2", "Ian", "Europe/London", "IT"),
]


def seed(
    services: Services,
    *,
    settings: StandupSettings | None = None,
    people: list[tuple[str, str, str | None, str]] = PEOPLE,
    channel: str = "CJOINT",
    channel_timezone: str = "Europe/London",
) -> World:
    workspace = services.workspace_id(TEAM)
    with transaction(services.sessions) as session:
        teams = {
            "Marketing": org.add_team(
                session, workspace, "Marketing", "usergroup", "SMKT", MONDAY
            ).id,
            "IT": org.add_team(session, workspace, "IT", "channel", "CIT", MONDAY).id,
        }
        ids = org.upsert_members(
            session,
            workspace,
            [org.MemberProfile(uid, name, tz) for uid, name, tz, _ in people],
            MONDAY,
        )
        for team, team_id in teams.items():
            org.set_team_roster(
                session, team_id, {ids[uid] for uid, _, _, t in people if t == team}, MONDAY
            )
        partnership = org.add_partnership(
            session,
            workspace,
            "Launch",
            ["Marketing", "IT"],
            channel,
            ["UM1"],
            InterdependenceType.RECIPROCAL,
            MONDAY,
        )
        ritual = create_standup(
            session,
            partnership.id,
            MONDAY,
            settings=settings,
            channel_timezone=channel_timezone,
        )
    return World(services, workspace, partnership.id, ritual.id, ids, teams)


def rich(*parts: str) -> dict[str, Any]:
    """A rich_text_input's state: "@U1" parts are mentions, the rest text."""
    elements = [
        {"type": "user", "user_id": part[1:]}
        if part.startswith("@U")
        else {"type": "text", "text": part}
        for part in parts
    ]
    return {
        "type": "rich_text_input",
        "rich_text_value": {
            "type": "rich_text",
            "elements": [{"type": "rich_text_section", "elements": elements}],
        },
    }


def state(**answers: str | tuple[str, ...]) -> dict[str, Any]:
    return {
        key: {"answer": rich(*(value if isinstance(value, tuple) else (value,)))}
        for key, value in answers.items()
    }


def submit(
    world: World, user: str, day_id: int, now: datetime, **answers: str | tuple[str, ...]
) -> Saved | Refusal:
    return submit_answer(
        world.services, TEAM, user, json.dumps({"day": day_id}), state(**answers), now
    )


def day_id(world: World, local: date) -> int:
    with world.services.sessions() as session:
        found = store.find_day(session, world.ritual, local)
    assert found is not None
    return found.id


def rows(world: World) -> list[Outbox]:
    with world.services.sessions() as session:
        return list(session.scalars(select(Outbox).order_by(Outbox.id)))


def by_key(world: World) -> dict[str, Outbox]:
    return {row.idempotency_key: row for row in rows(world)}


def interactions(world: World, kind: InteractionKind) -> list[Interaction]:
    with world.services.sessions() as session:
        return list(
            session.scalars(
                select(Interaction).where(Interaction.kind == kind.value).order_by(Interaction.id)
            )
        )


def mark_sent(world: World, key: str, result: dict[str, Any]) -> None:
    with transaction(world.services.sessions) as session:
        session.execute(
            update(Outbox).where(Outbox.idempotency_key == key).values(status="sent", result=result)
        )


# --- configuration ---------------------------------------------------------------------


def test_a_new_standup_runs_weekdays_at_0930_member_local_with_a_four_hour_cutoff(
    services: Services,
) -> None:
    world = seed(services)
    with services.sessions() as session:
        ritual = ritual_store.get(session, world.ritual)
    assert ritual is not None
    assert (ritual.kind, ritual.cron, ritual.timezone) == (
        "standup",
        "30 9 * * 1,2,3,4,5",
        "member-local",
    )
    config = config_of(ritual.settings)
    assert config.settings == StandupSettings()
    assert config.settings.cutoff == CutoffAfter(timedelta(hours=4))
    assert str(config.channel_tz) == "Europe/London"
    assert [q.key for q in config.settings.questions] == ["done", "today", "blockers", "ask"]


def test_custom_days_time_fixed_cutoff_and_questions_are_read_from_ritual_settings() -> None:
    config = config_of(
        {
            "days": ["mon", "wed"],
            "time": "10:15",
            "cutoff": {"at": "17:00"},
            "questions": ["How do you feel?", {"key": "ask", "text": "Need from {other_team}?"}],
            "grace_minutes": 30,
            "channel_timezone": "America/New_York",
        }
    )
    assert config.settings.cutoff == CutoffAt(datetime(2026, 1, 1, 17).time())
    assert [q.key for q in config.settings.questions] == ["how_do_you_feel", "ask"]
    assert standup_cron(config.settings) == "15 10 * * 1,3"
    assert str(config.channel_tz) == "America/New_York"
    with pytest.raises(ValueError, match="channel_timezone"):
        config_of({"channel_timezone": "Mars/Base"})
    with pytest.raises(ValueError, match="unknown setting"):
        config_of({"colour": "blue"})


# --- the builder -------------------------------------------------------------------------


def test_the_prompt_greets_for_the_members_own_hour(services: Services) -> None:
    world = seed(services, settings=StandupSettings(local_time=time(14, 0)))
    tick(services, MONDAY + timedelta(hours=14, seconds=10))  # 14:00 in London
    [prompt] = [r for k, r in by_key(world).items() if ":prompt:UM1" in k]
    text = json.dumps(prompt.payload)
    assert "Good afternoon! Time for the joint standup" in text and "Good morning" not in text
    assert [greeting(h) for h in (6, 9, 12, 17, 18, 22, 23, 3, None)] == [
        "Good morning!",
        "Good morning!",
        "Good afternoon!",
        "Good afternoon!",
        "Good evening!",
        "Good evening!",
        "Hello!",
        "Hello!",
        "Hello!",
    ]


def test_members_are_prompted_at_their_own_0930_with_one_reminder_before_the_cutoff(
    services: Services,
) -> None:
    world = seed(services)
    kolkata_prompt = MONDAY + timedelta(hours=4)  # 09:30 IST
    tick(services, kolkata_prompt + timedelta(seconds=10))
    tick(services, LONDON_PROMPT + timedelta(seconds=20))
    found = by_key(world)
    monday = MONDAY.date()
    prompts = sorted(k for k in found if ":prompt:" in k)
    assert prompts == [f"standup:{world.ritual}:{monday}:prompt:{u}" for u in ("UI1", "UI2", "UM1")]
    reminder = found[f"standup:{world.ritual}:{monday}:reminder:UM1"]
    assert reminder.next_attempt_at == LONDON_PROMPT + timedelta(hours=3)  # cutoff 13:30 - 1h
    prompt = found[f"standup:{world.ritual}:{monday}:prompt:UI1"]
    assert prompt.created_at - kolkata_prompt <= timedelta(seconds=30)
    assert prompt.payload["channel"] == "UI1"
    button = prompt.payload["blocks"][1]["elements"][0]
    assert button["action_id"] == "standup_answer"
    assert int(button["value"]) == day_id(world, monday)
    with services.sessions() as session:
        day = store.get_day(session, day_id(world, monday))
        statuses = set(session.scalars(select(Occurrence.status)))
    assert day is not None and day.cutoff_at == LONDON_PROMPT + timedelta(hours=4)
    assert statuses == {"done"}


def test_away_opted_out_holiday_and_weekend_members_get_no_prompt(services: Services) -> None:
    world = seed(services)
    with transaction(services.sessions) as session:
        member_settings.set_away(session, world.members["UM1"], MONDAY.date(), MONDAY)
        member_settings.set_opted_out(session, world.members["UI2"], "standup", True, MONDAY)
    tick(services, LONDON_PROMPT + timedelta(seconds=5))
    saturday = LONDON_PROMPT + timedelta(days=5)
    with transaction(services.sessions) as session:
        holidays.add(session, world.teams["IT"], (MONDAY + timedelta(days=1)).date())
        member_settings.set_opted_out(session, world.members["UI2"], "standup", False, MONDAY)
    tick(services, LONDON_PROMPT + timedelta(days=1, seconds=5))  # Tuesday: IT on holiday
    with services.sessions() as session:
        details = sorted(
            (o.subject, o.fire_key[:10], o.status, o.detail or "")
            for o in session.scalars(select(Occurrence))
        )
    ana, ian = f"member:{world.members['UM1']}", f"member:{world.members['UI2']}"
    assert [d for d in details if d[0] in (ana, ian)] == [
        (ana, "2026-01-12", "skipped", "Not prompted: away."),
        (ana, "2026-01-13", "done", ""),
        (ian, "2026-01-12", "skipped", "Not prompted: opted out of standups."),
        (ian, "2026-01-13", "skipped", "Not prompted: team holiday."),
    ]
    assert sorted(k.split(":prompt:")[1] for k in by_key(world) if ":prompt:" in k) == ["UM1"]
    # Weekends are not in the cron; a stray occurrence is still refused by the settings.
    won = run_now(services, world.ritual, saturday)[0]
    assert won.subject == ""
    assert not [k for k in by_key(world) if "2026-01-17" in k]


def test_no_prompt_outside_0600_2100_local_and_admins_are_told_once(services: Services) -> None:
    settings = StandupSettings(local_time=datetime(2026, 1, 1, 5, 0).time())
    world = seed(services, settings=settings)
    for day in range(2):
        tick(services, MONDAY + timedelta(days=day, hours=5, seconds=5))
    with services.sessions() as session:
        skipped = session.scalars(
            select(Occurrence.detail).where(Occurrence.subject == f"member:{world.members['UM1']}")
        ).all()
        notes = session.scalars(
            select(AuditLog.target).where(AuditLog.action == "standup.prompt_outside_hours")
        ).all()
    assert len(skipped) == 2 and all("outside 06:00-21:00" in (d or "") for d in skipped)
    assert sorted(notes) == ["member:UI2 tz:Europe/London", "member:UM1 tz:Europe/London"]
    assert not [k for k in by_key(world) if ":prompt:" in k]


def test_a_member_without_a_time_zone_is_prompted_in_the_default_zone_and_admins_told_once(
    services: Services,
) -> None:
    people = [*PEOPLE, ("UM3", "Noa", None, "Marketing")]
    world = seed(services, people=people)
    tick(services, LONDON_PROMPT + timedelta(seconds=5))  # default zone is UTC
    tick(services, LONDON_PROMPT + timedelta(days=1, seconds=5))
    with services.sessions() as session:
        notes = session.scalars(
            select(AuditLog.target).where(AuditLog.action == "standup.tz_fallback")
        ).all()
        fallback = session.scalars(
            select(Occurrence.tz_fallback).where(
                Occurrence.subject == f"member:{world.members['UM3']}"
            )
        ).all()
    assert notes == ["member:UM3 tz:none"]
    assert fallback == [True, True]
    assert f"standup:{world.ritual}:2026-01-12:prompt:UM3" in by_key(world)


def test_invalid_settings_fail_the_occurrences_with_a_reason(services: Services) -> None:
    world = seed(services)
    with transaction(services.sessions) as session:
        session.execute(
            update(Ritual).where(Ritual.id == world.ritual).values(settings={"days": ["someday"]})
        )
    occurrence = run_now(services, world.ritual, LONDON_PROMPT)[0]
    with services.sessions() as session:
        row = session.get(Occurrence, occurrence.id)
        assert row is not None and row.status == "failed" and "someday" in (row.detail or "")
    assert not rows(world)
    assert build_standup  # the tick's registry holds it (see bot.ritual_builders)


# --- answering ------------------------------------------------------------------------------


def prompted(services: Services, **kwargs: Any) -> tuple[World, int]:
    world = seed(services, **kwargs)
    tick(services, MONDAY + timedelta(hours=4, seconds=5))  # Kolkata
    tick(services, LONDON_PROMPT + timedelta(seconds=5))
    return world, day_id(world, MONDAY.date())


def test_an_answer_is_saved_logged_posted_and_its_reminder_cancelled(services: Services) -> None:
    world, day = prompted(services)
    answered = LONDON_PROMPT + timedelta(minutes=10)
    outcome = submit(
        world,
        "UM1",
        day,
        answered,
        done="launch plan",
        today=("pairing with ", "@UI1", " and ", "@UM2"),
        blockers="waiting on IT for the DNS change",
        ask="a staging login",
    )
    assert isinstance(outcome, Saved) and outcome.title == "Posted" and not outcome.late
    found = by_key(world)
    summary = found[f"standup:day:{day}:summary"]
    assert summary.method == "chat.postMessage" and summary.payload["channel"] == "CJOINT"
    reply = found[f"standup:day:{day}:answer:{world.members['UM1']}:post1"]
    assert reply.parent_key == summary.idempotency_key
    assert reply.payload["thread_ts"] == {"$parent": "ts"}
    rendered = json.dumps(reply.payload["blocks"])
    assert "pairing with <@UI1> and <@UM2>" in rendered and "standup_offer_help" in rendered
    assert found[f"standup:{world.ritual}:2026-01-12:reminder:UM1"].status == "cancelled"
    assert found[f"standup:{world.ritual}:2026-01-12:reminder:UI2"].status == "pending"

    [answer] = interactions(world, InteractionKind.STANDUP_ANSWER)
    assert (
        answer.provider_member_id == world.members["UM1"] and answer.beneficiary_member_id is None
    )
    [mention] = interactions(world, InteractionKind.MENTION)  # UM2 is on the same team
    assert (mention.provider_member_id, mention.beneficiary_member_id) == (
        world.members["UI1"],
        world.members["UM1"],
    )
    assert (mention.provider_team_id, mention.beneficiary_team_id) == (
        world.teams["IT"],
        world.teams["Marketing"],
    )
    [blocker] = interactions(world, InteractionKind.BLOCKER)
    assert blocker.beneficiary_team_id == world.teams["IT"]
    with services.sessions() as session:
        ask = session.scalars(select(StandupAsk)).one()
    assert ask.requester_member_id == world.members["UM1"] and ask.resolved_at is None


def test_editing_before_the_cutoff_updates_in_place_and_logs_idempotently(
    services: Services,
) -> None:
    world, day = prompted(services)
    ana = world.members["UM1"]
    first = LONDON_PROMPT + timedelta(minutes=10)
    submit(world, "UM1", day, first, today=("with ", "@UI1"), blockers="IT owes us DNS")
    submit(world, "UI2", day, first + timedelta(minutes=1), today="patching")
    edited = submit(
        world, "UM1", day, first + timedelta(minutes=2), today=("with ", "@UI1"), blockers="none"
    )
    assert isinstance(edited, Saved) and edited.title == "Updated" and edited.edited
    found = by_key(world)
    update_row = found[f"standup:day:{day}:answer:{ana}:r2"]
    assert update_row.method == "chat.update"
    assert update_row.parent_key == f"standup:day:{day}:answer:{ana}:post1"
    assert update_row.payload["ts"] == {"$parent": "ts"}
    # The summary: posted once, then updated; an update still queued is superseded.
    assert found[f"standup:day:{day}:summary:r1"].status == "cancelled"
    latest = found[f"standup:day:{day}:summary:r2"]
    assert latest.status == "pending" and latest.parent_key == f"standup:day:{day}:summary"
    assert "1 blocker" not in latest.payload["text"]
    assert len(interactions(world, InteractionKind.STANDUP_ANSWER)) == 2
    assert len(interactions(world, InteractionKind.MENTION)) == 1
    assert interactions(world, InteractionKind.BLOCKER) == []  # "none" is no blocker
    # A third edit supersedes the second one's queued update.
    submit(world, "UM1", day, first + timedelta(minutes=3), today="solo work")
    found = by_key(world)
    assert found[f"standup:day:{day}:answer:{ana}:r2"].status == "cancelled"
    assert interactions(world, InteractionKind.MENTION) == []


def test_an_answer_after_the_cutoff_is_added_as_late(services: Services) -> None:
    world, day = prompted(services)
    ana = world.members["UM1"]
    submit(world, "UM1", day, LONDON_PROMPT + timedelta(hours=1), today="on time")
    late_edit = submit(
        world, "UM1", day, LONDON_PROMPT + timedelta(hours=5), today="second thoughts"
    )
    assert isinstance(late_edit, Saved) and late_edit.late and late_edit.title == "Posted as late"
    assert "late answer" in late_edit.text
    late_post = by_key(world)[f"standup:day:{day}:answer:{ana}:late"]
    assert late_post.method == "chat.postMessage"
    assert "Updated after the cutoff" in json.dumps(late_post.payload["blocks"])
    # From now on the late reply is the one edited in place.
    again = submit(world, "UM1", day, LONDON_PROMPT + timedelta(hours=6), today="third thoughts")
    assert isinstance(again, Saved) and again.title == "Updated"
    assert (
        by_key(world)[f"standup:day:{day}:answer:{ana}:r3"].parent_key == late_post.idempotency_key
    )

    first_time_late = submit(world, "UI2", day, LONDON_PROMPT + timedelta(hours=7), today="late")
    assert isinstance(first_time_late, Saved) and first_time_late.late
    assert (
        "(late)"
        in by_key(world)[f"standup:day:{day}:answer:{world.members['UI2']}:post1"].payload["text"]
    )
    with services.sessions() as session:
        late_flags = {
            member: late
            for member, late in session.execute(select(StandupAnswer.member_id, StandupAnswer.late))
        }
    assert late_flags[ana] and late_flags[world.members["UI2"]]


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({}, "Answer at least one question."),
        ({"done": "   ", "today": "\n\t"}, "Answer at least one question."),
        ({"blockers": "none"}, "“none” on its own does not count"),
        ({"today": "x" * 2001}, "limited to 2,000 characters; this one has 2,001"),
    ],
)
def test_bad_answers_get_inline_errors_and_change_nothing(
    services: Services, answers: dict[str, str], message: str
) -> None:
    world, day = prompted(services)
    before = len(rows(world))
    outcome = submit(world, "UM1", day, LONDON_PROMPT + timedelta(minutes=1), **answers)
    assert isinstance(outcome, Refusal)
    assert any(message in text for text in outcome.errors.values())
    assert len(rows(world)) == before
    with services.sessions() as session:
        answer = store.get_answer(session, day, world.members["UM1"])
    assert answer is not None and answer.answered_at is None


def test_an_edit_that_fails_validation_keeps_the_saved_answer(services: Services) -> None:
    world, day = prompted(services)
    submit(world, "UM1", day, LONDON_PROMPT + timedelta(minutes=1), today="kept")
    outcome = submit(world, "UM1", day, LONDON_PROMPT + timedelta(minutes=2), today="   ")
    assert isinstance(outcome, Refusal)
    with services.sessions() as session:
        answer = store.get_answer(session, day, world.members["UM1"])
    assert answer is not None and answer.answers == {"today": "kept"} and answer.revision == 1


def test_someone_outside_the_partnership_cannot_answer_or_open_the_modal(
    services: Services,
) -> None:
    world, day = prompted(services)
    with transaction(services.sessions) as session:
        org.upsert_members(
            session, world.workspace, [org.MemberProfile("UX1", "Out", "UTC")], MONDAY
        )
    outcome = submit(world, "UX1", day, LONDON_PROMPT, today="hello")
    assert isinstance(outcome, Refusal)
    assert "not a member of those teams" in next(iter(outcome.errors.values()))
    with pytest.raises(Refusal, match="not a member"):
        answer_view(services, TEAM, "UX1", day, LONDON_PROMPT)
    with pytest.raises(Refusal, match="no longer exists"):
        answer_view(services, TEAM, "UM1", 999_999, LONDON_PROMPT)
    assert isinstance(
        submit_answer(services, TEAM, "UM1", "garbage", state(today="x"), LONDON_PROMPT), Refusal
    )


def test_a_dead_summary_post_keeps_answers_saved_and_says_so(services: Services) -> None:
    world, day = prompted(services, channel="CGONE")
    submit(world, "UM1", day, LONDON_PROMPT + timedelta(minutes=1), today="first")
    with transaction(services.sessions) as session:
        session.execute(
            update(Outbox)
            .where(Outbox.idempotency_key == f"standup:day:{day}:summary")
            .values(status=OutboxStatus.DEAD, last_error="channel_not_found")
        )
    before = len(rows(world))
    outcome = submit(world, "UI2", day, LONDON_PROMPT + timedelta(minutes=2), today="second")
    assert isinstance(outcome, Saved) and outcome.title == "Saved, not posted"
    assert "nothing you wrote is lost" in outcome.text
    assert len(rows(world)) == before  # no rows queued behind a dead parent
    with services.sessions() as session:
        answer = store.get_answer(session, day, world.members["UI2"])
    assert answer is not None and answer.answers == {"today": "second"}


# --- the modal -------------------------------------------------------------------------------


def test_the_modal_prefills_done_from_the_last_plan_and_edits_show_the_answer(
    services: Services,
) -> None:
    world, monday = prompted(services)
    submit(
        world, "UM1", monday, LONDON_PROMPT + timedelta(minutes=5), today=("review with ", "@UI1")
    )
    tick(services, LONDON_PROMPT + timedelta(days=1, seconds=5))
    tuesday = day_id(world, (MONDAY + timedelta(days=1)).date())
    view = answer_view(services, TEAM, "UM1", tuesday, LONDON_PROMPT + timedelta(days=1, minutes=1))
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    done = blocks["done"]["element"]["initial_value"]
    assert done["elements"][0]["elements"] == [
        {"type": "text", "text": "review with "},
        {"type": "user", "user_id": "UI1"},
    ]
    assert "initial_value" not in blocks["today"]["element"]
    assert blocks["ask"]["label"]["text"] == "What do you need from IT?"
    assert view["submit"]["text"] == "Post" and "prefilled" in json.dumps(view["blocks"][0])
    editing = answer_view(services, TEAM, "UM1", monday, LONDON_PROMPT + timedelta(minutes=6))
    assert editing["submit"]["text"] == "Update"
    late = answer_view(services, TEAM, "UI2", monday, LONDON_PROMPT + timedelta(hours=5))
    assert "late answer" in json.dumps(late["blocks"][0])


def test_tandem_standup_opens_todays_modal_or_says_when_the_next_prompt_is(
    services: Services,
) -> None:
    world = seed(services)
    thursday = (MONDAY + timedelta(days=3)).date()
    with transaction(services.sessions) as session:
        member_settings.set_away(session, world.members["UI2"], thursday, MONDAY)
    with pytest.raises(Refusal, match="next prompt is <!date") as early:
        todays_view(services, TEAM, "UM1", MONDAY + timedelta(hours=8))
    assert str(int(LONDON_PROMPT.timestamp())) in str(early.value)
    tick(services, LONDON_PROMPT + timedelta(seconds=5))
    view = todays_view(services, TEAM, "UM1", LONDON_PROMPT + timedelta(minutes=3))
    assert json.loads(view["private_metadata"]) == {"day": day_id(world, MONDAY.date())}
    with pytest.raises(Refusal, match="away until Thu 15 Jan") as away:
        todays_view(services, TEAM, "UI2", LONDON_PROMPT + timedelta(minutes=3))
    friday_prompt = LONDON_PROMPT + timedelta(days=4)
    assert str(int(friday_prompt.timestamp())) in str(away.value)
    with pytest.raises(Refusal, match="not in a team with a joint standup"):
        todays_view(services, TEAM, "UNOBODY", LONDON_PROMPT)


# --- asks and help --------------------------------------------------------------------------------


def asked(services: Services) -> tuple[World, int, int]:
    world, day = prompted(services)
    submit(world, "UM1", day, LONDON_PROMPT + timedelta(minutes=5), ask="a staging login")
    with services.sessions() as session:
        ask_id = session.scalars(select(StandupAsk.id)).one()
    return world, day, ask_id


def test_help_offered_by_the_other_team_opens_a_group_dm(services: Services) -> None:
    world, _, ask_id = asked(services)
    now = LONDON_PROMPT + timedelta(minutes=30)
    reply = offer_help(services, TEAM, "UI1", str(ask_id), now)
    assert "group DM between you and <@UM1>" in reply
    found = by_key(world)
    opened = found[f"standup:ask:{ask_id}:offer:{world.members['UI1']}:open"]
    assert opened.method == "conversations.open" and opened.payload == {"users": "UI1,UM1"}
    post = found[f"standup:ask:{ask_id}:offer:{world.members['UI1']}:post"]
    assert post.parent_key == opened.idempotency_key
    assert post.payload["channel"] == {"$parent": "channel.id"}
    assert "standup_resolve_ask" in json.dumps(post.payload["blocks"])
    again = offer_help(services, TEAM, "UI1", str(ask_id), now)
    assert "already offered" in again
    [offered] = interactions(world, InteractionKind.HELP_OFFERED)
    assert (offered.provider_member_id, offered.beneficiary_member_id) == (
        world.members["UI1"],
        world.members["UM1"],
    )


def test_help_from_the_same_team_outsiders_or_oneself_is_refused(services: Services) -> None:
    world, _, ask_id = asked(services)
    assert "Reply in the thread instead" in offer_help(
        services, TEAM, "UM2", str(ask_id), LONDON_PROMPT
    )
    assert "your own ask" in offer_help(services, TEAM, "UM1", str(ask_id), LONDON_PROMPT)
    assert "not in one of them" in offer_help(services, TEAM, "UX9", str(ask_id), LONDON_PROMPT)
    assert "withdrawn" in offer_help(services, TEAM, "UI1", "999999", LONDON_PROMPT)
    assert interactions(world, InteractionKind.HELP_OFFERED) == []
    assert not [k for k in by_key(world) if k.startswith("standup:ask:")]


def test_only_the_requester_resolves_and_that_logs_help_given(services: Services) -> None:
    world, _, ask_id = asked(services)
    helper = world.members["UI1"]
    offer_help(services, TEAM, "UI1", str(ask_id), LONDON_PROMPT + timedelta(minutes=30))
    value = f"{ask_id}:{helper}"
    refused = resolve_help(services, TEAM, "UI1", value, LONDON_PROMPT + timedelta(hours=1))
    assert refused.message is None and "Only <@UM1>" in (refused.reply or "")
    assert interactions(world, InteractionKind.HELP_GIVEN) == []
    done = resolve_help(services, TEAM, "UM1", value, LONDON_PROMPT + timedelta(hours=1))
    assert (
        done.message is not None
        and "marked this resolved" in done.message["blocks"][0]["text"]["text"]
    )
    resolve_help(services, TEAM, "UM1", value, LONDON_PROMPT + timedelta(hours=2))
    [given] = interactions(world, InteractionKind.HELP_GIVEN)
    assert (given.provider_member_id, given.beneficiary_member_id) == (helper, world.members["UM1"])
    assert "already marked this ask resolved" in offer_help(
        services, TEAM, "UI2", str(ask_id), LONDON_PROMPT
    )


def test_open_asks_older_than_n_days_are_listed_in_the_next_summary(services: Services) -> None:
    world, _, _ = asked(services)
    friday = LONDON_PROMPT + timedelta(days=4)
    tick(services, friday + timedelta(seconds=5))
    friday_day = day_id(world, friday.date())
    submit(world, "UI2", friday_day, friday + timedelta(minutes=1), today="patching")
    summary = by_key(world)[f"standup:day:{friday_day}:summary"]
    text = json.dumps(summary.payload["blocks"])
    assert (
        "Still open from earlier days" in text
        and "a staging login" in text
        and "4 days ago" in text
    )


def test_withdrawing_an_ask_in_an_edit_removes_the_button(services: Services) -> None:
    world, day, _ = asked(services)
    submit(world, "UM1", day, LONDON_PROMPT + timedelta(minutes=6), today="no ask now")
    with services.sessions() as session:
        assert session.scalars(select(StandupAsk)).all() == []
    update_row = by_key(world)[f"standup:day:{day}:answer:{world.members['UM1']}:r2"]
    assert "standup_offer_help" not in json.dumps(update_row.payload["blocks"])


# --- Block Kit limits ---------------------------------------------------------------------------------


def _summary_for(count: int, text: str) -> Any:
    teams = [
        TeamProfile("1", "Marketing", member_ids=frozenset(f"UM{i}" for i in range(count))),
        TeamProfile("2", "IT", member_ids=frozenset({"UI1"})),
    ]
    views = [
        AnswerView(
            f"Member {i}",
            "1",
            {"blockers": f"{text} IT {i}", "ask": f"{text} {i}"},
            LONDON_PROMPT,
            False,
        )
        for i in range(count)
    ]
    return build_summary(MONDAY.date(), views, teams, [], 3, prompted={"1": count, "2": 1})


def test_a_summary_of_many_long_blockers_and_asks_stays_within_slacks_limits() -> None:
    summary = _summary_for(300, "word " * 500)
    message = summary_message(summary, "Launch", {"1": "Marketing", "2": "IT"})
    assert len(message["blocks"]) <= MAX_BLOCKS_PER_MESSAGE
    for block in message["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_TEXT_LIMIT
    assert "more in the thread" in json.dumps(message["blocks"])


def test_the_longest_possible_answer_fits_one_thread_message() -> None:
    questions = tuple(Question(f"q{i}", "L" * QUESTION_TEXT_LIMIT) for i in range(MAX_QUESTIONS))
    settings = StandupSettings(questions=questions, max_answer_length=ANSWER_LENGTH_LIMIT)
    answers = {q.key: ("é" * 80 + " ") * 37 for q in settings.questions}
    teams = [TeamProfile("1", "Marketing"), TeamProfile("2", "IT")]
    view = AnswerView("A" * 200, "1", answers, LONDON_PROMPT, True)
    summary = build_summary(MONDAY.date(), [view], teams, [], 3, prompted={}, questions=questions)
    [section] = summary.sections
    message = answer_message(section, ask_id=1, note="_Updated after the cutoff._")
    assert len(message["blocks"]) <= MAX_BLOCKS_PER_MESSAGE
    assert all(
        len(b["text"]["text"]) <= SECTION_TEXT_LIMIT
        for b in message["blocks"]
        if b["type"] == "section"
    )


# --- rich text -------------------------------------------------------------------------------------


def test_rich_text_becomes_escaped_mrkdwn_and_back() -> None:
    block = {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": "R&D <script> "},
                    {"type": "text", "text": "urgent ", "style": {"bold": True}},
                    {"type": "user", "user_id": "UI1"},
                    {"type": "broadcast", "range": "channel"},
                    {"type": "link", "url": "https://x.test/?a=1&b=2", "text": "doc"},
                    {"type": "emoji", "name": "tada"},
                ],
            },
            {
                "type": "rich_text_list",
                "style": "bullet",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "one"}]},
                    {
                        "type": "rich_text_section",
                        "elements": [{"type": "usergroup", "usergroup_id": "S01"}],
                    },
                ],
            },
        ],
    }
    text = to_mrkdwn(block)
    assert text == (
        "R&amp;D &lt;script&gt; *urgent* <@UI1>@channel<https://x.test/?a=1&amp;b=2|doc>:tada:\n"
        "• one\n• <!subteam^S01>"
    )
    assert input_to_mrkdwn({"type": "plain_text_input", "value": "a < b"}) == "a &lt; b"
    back = from_mrkdwn("see <@UI1> & <https://x.test|doc>")
    assert back["elements"][0]["elements"] == [
        {"type": "text", "text": "see "},
        {"type": "user", "user_id": "UI1"},
        {"type": "text", "text": " & "},
        {"type": "link", "url": "https://x.test", "text": "doc"},
    ]


def test_answers_saved_at_the_same_moment_all_reach_the_summary(services: Services) -> None:
    world, day = prompted(services)
    barrier = threading.Barrier(len(PEOPLE))
    outcomes: list[object] = []

    def answer(user: str) -> None:
        barrier.wait()
        outcomes.append(submit(world, user, day, LONDON_PROMPT + timedelta(minutes=10), today=user))

    threads = [threading.Thread(target=answer, args=(uid,)) for uid, *_ in PEOPLE]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(outcome, Saved) for outcome in outcomes), outcomes
    with services.sessions() as session:
        current = store.get_day(session, day)
    assert current is not None and current.summary_key is not None
    latest = by_key(world)[current.summary_key]
    assert latest.status == "pending"
    assert "Marketing 2/2, IT 2/2 answered" in latest.payload["text"]
    keys = by_key(world)
    assert sum(1 for k in keys if k.startswith(f"standup:day:{day}:summary")) == len(PEOPLE)


@pytest.mark.parametrize(
    "box",
    [
        {"no_blocker": {"type": "checkboxes", "selected_options": [{"value": "no"}]}},
        {"no_blocker": {"type": "checkboxes", "selected_options": "yes"}},
        {"no_blocker": {"type": "rich_text_input", "selected_options": [{"value": "yes"}]}},
        {"no_blocker": "yes"},
        "yes",
        {"answer": rich("yes")},  # a forged rich text input under the box's block id
    ],
)
def test_a_malformed_no_blocker_box_is_not_ticked_and_never_stored(
    services: Services, box: object
) -> None:
    world, day = prompted(services)
    raw = {**state(today="copy", blockers="waiting on IT for the DNS"), NO_BLOCKER: box}
    outcome = submit_answer(
        services, TEAM, "UM1", json.dumps({"day": day}), raw, LONDON_PROMPT + timedelta(minutes=5)
    )
    assert isinstance(outcome, Saved)
    with services.sessions() as session:
        answer = store.get_answer(session, day, world.members["UM1"])
    assert answer is not None and NO_BLOCKER not in answer.answers
    assert len(interactions(world, InteractionKind.BLOCKER)) == 1


def test_the_no_blocker_box_parses_strictly() -> None:
    ticked = {
        NO_BLOCKER: {"no_blocker": {"type": "checkboxes", "selected_options": [{"value": "yes"}]}}
    }
    assert no_blocker_ticked(ticked)
    assert not no_blocker_ticked({})
    assert not no_blocker_ticked({NO_BLOCKER: None})
