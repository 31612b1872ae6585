"""`/tandem balance`, the digest's explanation button, and a digest delivered to leaders' DMs."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from bot.digest import build_occurrences
from bot.outbox import OutboxSender, Pacer, sender_client
from bot.views.digest import EXPLAIN_ACTION_ID, EXPLAIN_CALLBACK_ID
from rituals.interactions import InteractionKind
from storage.db import transaction
from tests.bot.test_digest import (
    APRIL_FIRST_0900_BERLIN,
    MARCH,
    World,
    _occurrence,
    _ritual,
    add,
    busy_month,
    flows,
    in_month,
    seed_world,
)
from tests.e2e.conftest import RunningBot
from tests.fakes.signed import block_actions_payload
from tests.fakes.slack_api import TEAM_ID

K = InteractionKind
NOW = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def world(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr("bot.member_balance.utcnow", lambda: NOW)
    return seed_world(bot.services.sessions, slack_team_id=TEAM_ID)


def reply(bot: RunningBot, text: str, user_id: str) -> str:
    response = bot.slack.command(text, user_id=user_id)
    assert response.status == 200
    params = response.json()  # the answer is the ack itself
    assert params["response_type"] == "ephemeral"
    return f"{params['text']}\n{json.dumps(params.get('blocks', []), ensure_ascii=False)}"


def test_a_member_sees_their_own_give_and_take_and_what_would_balance_it(
    bot: RunningBot, world: World
) -> None:
    rows = flows(world, "IT", "UIT1", "Marketing", "UMAR2", in_month(MARCH), 3)
    rows += flows(world, "Marketing", "UMAR2", "IT", "UIT2", in_month(MARCH), 1, K.SHADOWING)
    rows += flows(world, "IT", "UIT3", "Marketing", "UMAR3", in_month(MARCH), 5)  # someone else's
    add(bot.services.sessions, rows)
    text = reply(bot, "balance", "UMAR2")
    assert "You gave IT 1: 1× shadowing hosted" in text
    assert "IT gave you 3: 3× help received" in text
    assert "IT gave you 2 more than you gave them" in text
    assert "offer help on an ask from IT" in text
    assert "March 2025 so far" in text
    for other in ("UIT1", "UIT2", "UIT3", "UMAR3", "IT person", "Marketing person"):
        assert other not in text


def test_a_kudos_giver_reads_the_thanks_they_gave_as_something_they_got(
    bot: RunningBot, world: World
) -> None:
    # UMAR2 thanked UIT1: the interaction runs from the person thanked to the one thanking.
    add(
        bot.services.sessions,
        flows(world, "IT", "UIT1", "Marketing", "UMAR2", in_month(MARCH), 1, K.KUDOS),
    )
    text = reply(bot, "balance", "UMAR2")
    assert "IT gave you 1: 1× thanks you gave for their help" in text
    assert "You received" not in text and "You gave IT 0" in text
    # The convention is said once, in plain words, beside the numbers.
    assert text.count("counts as given by whoever was thanked") == 1
    thanked = reply(bot, "balance", "UIT1")
    assert "You gave Marketing 1: 1× thanks you received for your help" in thanked


def test_without_activity_the_reply_says_so_and_what_to_try(bot: RunningBot, world: World) -> None:
    text = reply(bot, "balance", "UMAR4")
    assert "Not enough activity yet" in text and "/tandem kudos @someone" in text


def test_someone_outside_every_partnership_is_told_how_to_join(
    bot: RunningBot, world: World
) -> None:
    text = reply(bot, "balance", "UNOBODY")
    assert "not in a team that takes part" in text


def test_the_explanation_button_opens_the_definitions(bot: RunningBot, world: World) -> None:
    payload = block_actions_payload(EXPLAIN_ACTION_ID, user_id="UMAR1", trigger_id="42.1.abc")
    assert bot.slack.interaction(payload).status == 200
    (call,) = bot.fake.wait_for("views.open", count=1)
    assert call.params["trigger_id"] == "42.1.abc"
    view = call.json_param("view")
    assert view["callback_id"] == EXPLAIN_CALLBACK_ID and "Give share" in json.dumps(view)


def test_the_digest_reaches_each_leaders_dm_with_its_chart(bot: RunningBot, world: World) -> None:
    fake, sessions = bot.fake, bot.services.sessions
    for uid in ("UMAR1", "UIT1"):
        fake.add_user(uid)
    fake.add_channel("CLEADERS", "leaders", ["UMAR1", "UIT1"])
    add(sessions, busy_month(world, MARCH, 6, 18))
    ritual = _ritual(sessions, world, leaders_channel="CLEADERS")
    with transaction(sessions) as s:
        build_occurrences(
            s, ritual, [_occurrence(ritual.id, APRIL_FIRST_0900_BERLIN)], APRIL_FIRST_0900_BERLIN
        )
    sender = OutboxSender(
        sessions,
        sender_client(bot.services.settings),
        bot.services.settings,
        "test",
        pacer=Pacer(1e6, channel_interval=0.0),
        rng=random.Random(1),
    )
    later = datetime(2025, 4, 1, 16, 0, 1, tzinfo=UTC)  # past 09:00 in Los Angeles too
    while sender.run_once(later):
        pass
    posts = fake.calls_to("chat.postMessage")
    assert sorted(p.params["channel"] for p in posts) == ["CLEADERS", "UIT1", "UMAR1"]
    completed = fake.calls_to("files.completeUploadExternal")
    assert len(completed) == 3
    dm_channels = {c.params["channel_id"] for c in completed}
    assert "CLEADERS" in dm_channels and all(c.startswith(("C", "D")) for c in dm_channels)
    blocks = json.dumps([p.json_param("blocks") for p in posts], ensure_ascii=False)
    assert "Marketing ↔ IT" in blocks and "hosts the next two shadowing rounds" in blocks
