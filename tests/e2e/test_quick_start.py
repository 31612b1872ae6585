"""The README's Quick start, as a new admin follows it, through signed requests and the fake Slack.

Both paths are walked to the end: App Home's "Set up Tandem" form, and the
slash commands. Then a week passes (the tick is handed each hour's `now`,
the outbox drained into the fake Slack) and the first standup prompt, a
shadowing introduction and a kudos prompt must have reached people.

The admin's clock is pinned to Friday 9 January 2026, 12:00 UTC (London is
on UTC then), so what the admin is told can be read word for word.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.job_handlers import HANDLERS
from bot.jobs import JobRunner
from bot.outbox import OutboxSender, Pacer
from bot.tick import tick
from bot.views.setup import (
    CHANNEL_ACTION,
    GROUP_ACTION,
    JOINT_BLOCK,
    LEADERS_ACTION,
    LEADERS_BLOCK,
    PAUSED_ACTION,
    PAUSED_BLOCK,
    SETUP_ACTION,
    SETUP_CALLBACK,
    TYPE_ACTION,
    TYPE_BLOCK,
    channel_block_id,
    group_block_id,
)
from storage.models import AuditLog, Job, Partnership, Ritual, Team, TeamMembership
from tests.e2e.conftest import ADMIN, RunningBot
from tests.fakes.signed import block_actions_payload, view_submission_payload
from tests.fakes.slack_api import DEFAULT_TOKEN, Call

README = Path(__file__).resolve().parents[2] / "README.md"
FRIDAY_NOON = datetime(2026, 1, 9, 12, tzinfo=UTC)
PEOPLE = [
    ("UM1", "ana", "Europe/London"),
    ("UM2", "bea", "America/New_York"),
    ("UI1", "raj", "Asia/Kolkata"),
    ("UI2", "ian", "Europe/London"),
]
NEXT_STEPS = (
    "First standup prompts: Monday 12 January, 09:30 each person's time; "
    "first shadowing pairings: Thursday 15 January, 15:00 your time; "
    "first kudos prompt: Thursday 15 January, 15:00 each person's time; "
    "first digest (to the leaders by DM): Monday 2 February, 09:00 each leader's time."
)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    bot: RunningBot
    clock: Clock

    def reply(self, text: str, user_id: str = ADMIN) -> str:
        """A slash command's ephemeral answer, text and blocks as one string."""
        before = len(self.bot.fake.calls_to("response_url"))
        response = self.bot.slack.command(text, user_id=user_id)
        assert response.status == 200
        body = response.body.decode()
        if body:  # answered in the ack itself
            found = json.loads(body)
            return f"{found.get('text', '')}\n{json.dumps(found.get('blocks', []))}"
        params = self.bot.fake.wait_for("response_url", count=before + 1)[before].params
        return f"{params['text']}\n{json.dumps(params.get('blocks', []))}"

    def drain(self) -> None:
        client = WebClient(token=DEFAULT_TOKEN, base_url=self.bot.fake.url, retry_handlers=[])
        sender = OutboxSender(
            self.bot.services.sessions,
            client,
            self.bot.services.settings,
            "e2e",
            clock=self.clock,
            pacer=Pacer(1000, channel_interval=0.0),
        )
        while sender.run_once(self.clock.now):
            pass

    def finish_jobs(self) -> None:
        """What a worker does after the acks: run the queued jobs, send what they queued."""
        runner = JobRunner(self.bot.services, self.bot.app.client, HANDLERS, clock=self.clock)
        while runner.run_once():
            pass
        self.drain()

    def week_passes(self) -> None:
        """Tick every hour for seven days, sending what each tick queued."""
        start = self.clock.now
        for hour in range(1, 7 * 24 + 1):
            self.clock.now = start + timedelta(hours=hour)
            report = tick(self.bot.services, self.clock.now)
            assert report.errors == 0
            self.drain()

    def posts(self) -> list[Call]:
        return self.bot.fake.calls_to("chat.postMessage")

    def open_home(self, user_id: str) -> dict[str, Any]:
        before = len(self.bot.fake.calls_to("views.publish"))
        event = {"type": "app_home_opened", "user": user_id, "channel": "DHOME", "tab": "home"}
        assert self.bot.slack.event(event).status == 200
        return dict(self.drain_until("views.publish", before + 1)[before].json_param("view"))

    def drain_until(self, method: str, count: int) -> list[Call]:
        """Send the outbox until `count` calls to `method` reached Slack (work runs after acks)."""
        for _ in range(200):
            self.drain()
            found = self.bot.fake.calls_to(method)
            if len(found) >= count:
                return found
            time.sleep(0.025)
        raise AssertionError(f"fewer than {count} calls to {method}")


@pytest.fixture
def world(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    clock = Clock(FRIDAY_NOON)
    for module in ("bot.admin", "bot.first_run", "bot.sync", "bot.listeners.home"):
        monkeypatch.setattr(f"{module}.utcnow", clock)
    for uid, name, tz in PEOPLE:
        bot.fake.add_user(uid, name=name, tz=tz)
    bot.fake.add_user("UOTHER", name="someone", tz="Europe/Paris")
    bot.fake.add_usergroup("SMKT", "marketing", ["UM1", "UM2"], name="Marketing")
    bot.fake.add_channel("CIT", "it-team", ["UI1", "UI2"])
    bot.fake.add_channel("CJOINT", "mkt-it", [uid for uid, *_ in PEOPLE])
    yield World(bot, clock)


def _text(view: dict[str, Any]) -> str:
    return json.dumps(view)


def _assert_first_week(world: World) -> None:
    """The standup prompts, a shadowing introduction and a kudos prompt all went out."""
    posts = world.posts()
    texts = [json.dumps(c.params) for c in posts]
    standup = [t for t in texts if "Time for the joint standup" in t]
    # Monday to Friday, four people: one prompt each per working day.
    assert len(standup) == 20
    first_prompt = next(c for c in posts if "Time for the joint standup" in json.dumps(c.params))
    assert "Good morning" in json.dumps(first_prompt.params)
    assert any("Shadowing, round 1" in t for t in texts)
    kudos = [t for t in texts if "helped you this week" in t]
    assert len(kudos) == 4
    # Nothing was sent before the first slot the admin was told about.
    assert world.clock.now == FRIDAY_NOON + timedelta(days=7)


def _quick_start_commands() -> list[str]:
    """The slash commands the README's Quick start shows, in order."""
    text = README.read_text()
    quick = text[text.index("## Quick start") : text.index("## See it without Slack")]
    return re.findall(r"^\s*(/tandem [^\n]+)$", quick, flags=re.MULTILINE)


# --- the shortest path: App Home -------------------------------------------------------


def _setup_values(**override: Any) -> dict[str, dict[str, dict[str, Any]]]:
    values: dict[str, dict[str, dict[str, Any]]] = {
        group_block_id("a"): {
            GROUP_ACTION: {
                "type": "static_select",
                "selected_option": {"value": "SMKT", "text": {"type": "plain_text", "text": "x"}},
            }
        },
        channel_block_id("a"): {
            CHANNEL_ACTION: {"type": "conversations_select", "selected_conversation": None}
        },
        group_block_id("b"): {GROUP_ACTION: {"type": "static_select", "selected_option": None}},
        channel_block_id("b"): {
            CHANNEL_ACTION: {"type": "conversations_select", "selected_conversation": "CIT"}
        },
        JOINT_BLOCK: {
            CHANNEL_ACTION: {"type": "conversations_select", "selected_conversation": "CJOINT"}
        },
        LEADERS_BLOCK: {
            LEADERS_ACTION: {"type": "multi_users_select", "selected_users": ["UM1", "UI1"]}
        },
        TYPE_BLOCK: {
            TYPE_ACTION: {"type": "radio_buttons", "selected_option": {"value": "reciprocal"}}
        },
        PAUSED_BLOCK: {PAUSED_ACTION: {"type": "checkboxes", "selected_options": []}},
    }
    values.update(override)
    return values


def _submit(world: World, values: dict[str, Any], user_id: str = ADMIN) -> dict[str, Any]:
    payload = view_submission_payload(SETUP_CALLBACK, values, user_id=user_id)
    response = world.bot.slack.interaction(payload)
    assert response.status == 200
    return dict(response.json()) if response.body else {}


def _open_form(world: World, user_id: str = ADMIN) -> dict[str, Any]:
    before = len(world.bot.fake.calls_to("views.open"))
    payload = block_actions_payload(
        SETUP_ACTION,
        "setup",
        user_id=user_id,
        view={"id": "VHOME", "type": "home", "hash": "h", "blocks": []},
    )
    assert world.bot.slack.interaction(payload).status == 200
    call = world.bot.fake.wait_for("views.open", count=before + 1)[before]
    return dict(call.json_param("view"))


def test_app_home_setup_then_a_week_of_rituals(world: World) -> None:
    home = world.open_home(ADMIN)
    assert "Set up Tandem" in _text(home) and SETUP_ACTION in _text(home)

    form = _open_form(world)
    assert form["callback_id"] == SETUP_CALLBACK
    shown = _text(form)
    # User groups come from usergroups.list; channels and people from Slack's own selects.
    assert '"value": "SMKT"' in shown and "Marketing (@marketing)" in shown
    assert "conversations_select" in shown and "multi_users_select" in shown
    for kind in ("reciprocal", "sequential", "pooled"):
        assert f'"value": "{kind}"' in shown
    assert "back and forth" in shown and "mostly one way" in shown and "mostly apart" in shown

    answer = _submit(world, _setup_values())
    assert answer["response_action"] == "update", answer
    done = _text(answer["view"])
    assert "*Marketing + it-team*" in done
    assert NEXT_STEPS in done
    # The coming week, in the admin's zone: five standups, shadowing and a kudos prompt.
    assert done.count("joint standup prompts to every member by DM") == 5
    assert "Thu 15 Jan, 15:00 your time: shadowing pairs introduced" in done
    assert "Thu 15 Jan, 15:00 each person's time: kudos prompt" in done

    # Reading the teams from Slack is a durable job, queued with the answer; a worker runs it,
    # and the admin's Home then shows the rituals.
    with world.bot.services.sessions() as session:
        assert session.scalar(select(Job.kind).where(Job.state == "pending")) == "team_sync"
    runner = JobRunner(world.bot.services, world.bot.app.client, HANDLERS, clock=world.clock)
    assert runner.run_once() == 1
    world.bot.fake.wait_for("conversations.members")
    with world.bot.services.sessions() as session:
        teams = {t.name: (t.source_kind, t.source_id) for t in session.scalars(select(Team))}
        kinds = sorted(r.kind for r in session.scalars(select(Ritual)))
        actions = [a.action for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert teams == {"Marketing": ("usergroup", "SMKT"), "it-team": ("channel", "CIT")}
    assert kinds == ["digest", "kudos_prompt", "shadowing", "standup"]
    assert actions == ["team.add", "team.add", "partnership.add"] + ["ritual.add"] * 4 + [
        "team.sync"
    ]
    _wait_for_members(world, 4)
    # The admin's Home is published again once the teams are read: the invitation is gone.
    refreshed = _text(world.drain_until("views.publish", 2)[1].json_param("view"))
    assert SETUP_ACTION not in refreshed and "Marketing (2 members" in refreshed
    assert "goes to the leaders by DM" in refreshed and "ritual_pause" in refreshed

    world.week_passes()
    _assert_first_week(world)


def _wait_for_members(world: World, count: int) -> None:
    for _ in range(100):
        with world.bot.services.sessions() as session:
            found = len(
                session.scalars(
                    select(TeamMembership).where(TeamMembership.left_at.is_(None))
                ).all()
            )
        if found == count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{found} team members read from Slack, expected {count}")


def test_setup_form_refuses_what_it_cannot_use(world: World) -> None:
    # Nothing picked for a team, the same team twice, a DM as the joint channel, no leaders.
    answer = _submit(
        world,
        _setup_values(
            **{
                group_block_id("a"): {GROUP_ACTION: {"selected_option": None}},
                JOINT_BLOCK: {CHANNEL_ACTION: {"selected_conversation": "D123"}},
                LEADERS_BLOCK: {LEADERS_ACTION: {"selected_users": []}},
            }
        ),
    )
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {channel_block_id("a"), JOINT_BLOCK, LEADERS_BLOCK}

    both = _submit(
        world,
        _setup_values(
            **{
                channel_block_id("a"): {CHANNEL_ACTION: {"selected_conversation": "CIT"}},
            }
        ),
    )
    assert "not both" in both["errors"][channel_block_id("a")]

    # Tandem is not in the joint channel: the form says how to invite it, nothing is created.
    world.bot.fake.add_channel("COUT", "elsewhere", ["UM1"], is_member=False)
    outside = _submit(
        world, _setup_values(**{JOINT_BLOCK: {CHANNEL_ACTION: {"selected_conversation": "COUT"}}})
    )
    assert "/invite @Tandem" in outside["errors"][JOINT_BLOCK]

    # A member who is not an admin cannot set Tandem up, by the form or by a forged submission.
    refused = _submit(world, _setup_values(), user_id="UM1")
    assert "Only Tandem admins" in refused["errors"][JOINT_BLOCK]
    assert "Only Tandem admins" in _text(_open_form(world, user_id="UM1"))
    with world.bot.services.sessions() as session:
        assert session.scalars(select(Partnership)).all() == []
        assert session.scalars(select(Team)).all() == []


def test_setup_can_start_paused(world: World) -> None:
    paused = {PAUSED_ACTION: {"selected_options": [{"value": "paused"}]}}
    answer = _submit(world, _setup_values(**{PAUSED_BLOCK: paused}))
    assert "start *paused*" in _text(answer["view"])
    with world.bot.services.sessions() as session:
        assert all(r.paused for r in session.scalars(select(Ritual)))
    JobRunner(world.bot.services, world.bot.app.client, HANDLERS, clock=world.clock).run_once()
    _wait_for_members(world, 4)
    world.week_passes()
    assert world.posts() == []


def test_a_member_before_setup_sees_their_admins_and_what_tandem_does(world: World) -> None:
    home = _text(world.open_home("UOTHER"))
    assert "isn't set up" in home and f"<@{ADMIN}>" in home
    assert "Shadowing" in home and "Monthly digest" in home
    assert SETUP_ACTION not in home


# --- the alternative: slash commands ---------------------------------------------------


def test_readme_quick_start_slash_commands_then_a_week_of_rituals(world: World) -> None:
    commands = _quick_start_commands()
    assert [c.split()[1:4] for c in commands[:3]] == [
        ["admin", "team", "add"],
        ["admin", "team", "add"],
        ["admin", "partnership", "add"],
    ]
    # Slack turns the names picked from autocomplete into links before Tandem sees them.
    links = {
        "@marketing": "<!subteam^SMKT|@marketing>",
        "#it-team": "<#CIT|it-team>",
        "#mkt-it": "<#CJOINT|mkt-it>",
        "@ana": "<@UM1|ana>",
        "@raj": "<@UI1|raj>",
    }
    answers = []
    for command in commands:
        text = command.removeprefix("/tandem ")
        for word, link in links.items():
            text = re.sub(rf"(?<![\w<]){re.escape(word)}\b", link, text)
        answers.append(world.reply(text))
    assert "Added team *Marketing*. I'm reading its members" in answers[0]
    assert "Added team *IT*. I'm reading its members" in answers[1]
    assert "*Marketing + IT*" in answers[2] and NEXT_STEPS in answers[2]
    assert "Not in" not in answers[2] and ":warning:" not in answers[2]
    assert "Tandem commands" in answers[3]  # /tandem help
    # A worker reads the teams from Slack and tells the admin by DM.
    world.finish_jobs()
    told = [str(c.params["text"]) for c in world.posts() if c.params["channel"] == ADMIN]
    assert "Added team *Marketing* with 2 members." in told
    assert "Added team *IT* with 2 members." in told

    world.week_passes()
    _assert_first_week(world)


def test_partnership_add_says_when_tandem_is_not_in_the_channel(world: World) -> None:
    world.bot.fake.add_channel("COUT", "elsewhere", ["UM1"], is_member=False)
    world.reply("admin team add Marketing <!subteam^SMKT>")
    world.reply("admin team add IT <#CIT>")
    world.finish_jobs()
    answer = world.reply("admin partnership add Marketing IT channel=<#COUT> leaders=<@UM1> paused")
    assert "/invite @Tandem" in answer and "start *paused*" in answer
    with world.bot.services.sessions() as session:
        rituals = session.scalars(select(Ritual)).all()
    assert len(rituals) == 4 and all(r.paused for r in rituals)
