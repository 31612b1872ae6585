"""Shadowing end to end: a round built by the ritual builder, delivered to a fake Slack, then
buttons, the reflection form and `/tandem pair` through the signed HTTP endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.clock import utcnow
from bot.outbox import OutboxSender, Pacer
from bot.shadowing import departure_job
from bot.tick import run_now
from bot.views.shadowing import (
    ANSWER_ACTION,
    HANDOFF_BLOCK,
    LEARNED_BLOCK,
    MET_ACTION_ID,
    REFLECTION_CALLBACK_ID,
    RESCHEDULE_ACTION_ID,
    SKIP_ACTION_ID,
)
from rituals.interactions import InteractionKind
from storage.db import transaction
from storage.models import Interaction, Member, ShadowPairing
from tests.e2e.conftest import ADMIN, RunningBot, finish_jobs
from tests.fakes.signed import block_actions_payload, fresh_trigger_id, view_submission_payload
from tests.fakes.slack_api import DEFAULT_TOKEN
from tests.storage.test_shadowing import World, make_world

pytestmark = pytest.mark.e2e

LONDON, BERLIN = "Europe/London", "Europe/Berlin"


def _world(bot: RunningBot, people: dict[str, list[tuple[str, str]]]) -> World:
    fake = bot.fake
    for roster in people.values():
        for uid, tz in roster:
            fake.add_user(uid, name=uid.lower(), tz=tz)
    for team, roster in people.items():
        fake.add_usergroup(f"S{team.upper()}", team.lower(), [uid for uid, _ in roster])
    members = [uid for roster in people.values() for uid, _ in roster]
    fake.add_channel("CJOINT", "mkt-it", members)
    bot.services.workspace_id("T0001")
    with transaction(bot.services.sessions) as session:
        return make_world(session, people, now=utcnow() - timedelta(days=1))


@pytest.fixture
def pair_bot(bot: RunningBot) -> Iterator[tuple[RunningBot, World]]:
    """Marketing (UM1, London) and IT (UI1, Berlin): one pair per round."""
    world = _world(bot, {"Marketing": [("UM1", LONDON)], "IT": [("UI1", BERLIN)]})
    yield bot, world


def _round(bot: RunningBot, world: World) -> None:
    run_now(bot.services, world.ritual.id, utcnow())


def _drain(bot: RunningBot, now: datetime | None = None) -> None:
    client = WebClient(token=DEFAULT_TOKEN, base_url=bot.fake.url, retry_handlers=[])
    sender = OutboxSender(
        bot.services.sessions,
        client,
        bot.services.settings,
        "e2e",
        pacer=Pacer(1000, channel_interval=0.0),
    )
    while sender.run_once(now):
        pass


def _text(message: dict[str, Any]) -> str:
    return f"{message.get('text', '')}\n{json.dumps(message.get('blocks', []))}"


def _group_dm(bot: RunningBot) -> str:
    [opened] = bot.fake.calls_to("conversations.open")
    assert opened.reply is not None
    return str(opened.reply["channel"]["id"])


def _pairing(bot: RunningBot) -> ShadowPairing:
    with bot.services.sessions() as session:
        return session.scalars(select(ShadowPairing)).one()


def _ephemeral(bot: RunningBot, send: Any) -> str:
    before = len(bot.fake.calls_to("response_url"))
    response = send()
    assert response.status == 200
    params = bot.fake.wait_for("response_url", count=before + 1)[before].params
    assert params["response_type"] == "ephemeral"
    return f"{params['text']}\n{json.dumps(params.get('blocks', []))}"


def _press(bot: RunningBot, action_id: str, pairing_id: int, user_id: str, channel: str) -> Any:
    return bot.slack.interaction(
        block_actions_payload(
            action_id,
            str(pairing_id),
            user_id=user_id,
            channel_id=channel,
            response_url=bot.fake.response_url(),
            trigger_id=f"trigger.{user_id}.{action_id}.{fresh_trigger_id()}",
        )
    )


def _told(bot: RunningBot, action_id: str, pairing_id: int, user_id: str, channel: str) -> str:
    return _ephemeral(bot, lambda: _press(bot, action_id, pairing_id, user_id, channel))


def _command(bot: RunningBot, text: str, user_id: str) -> str:
    response = bot.slack.command(text, user_id=user_id)
    assert response.status == 200
    params = response.json()  # the answer is the ack itself
    assert params["response_type"] == "ephemeral"
    return f"{params['text']}\n{json.dumps(params.get('blocks', []))}"


# --- the whole loop ---------------------------------------------------------------------------


def test_a_round_from_introduction_to_reflection(pair_bot: tuple[RunningBot, World]) -> None:
    bot, world = pair_bot
    _round(bot, world)
    _drain(bot)
    [opened] = bot.fake.calls_to("conversations.open")
    assert sorted(opened.params["users"].split(",")) == ["UI1", "UM1"]
    dm = _group_dm(bot)
    [intro] = bot.fake.messages(dm)
    shown = _text(intro)
    pairing = _pairing(bot)
    host = "UM1" if "<@UM1> (Marketing) hosts" in shown else "UI1"
    guest = "UI1" if host == "UM1" else "UM1"
    assert f"<@{host}> (" in shown and f"<@{guest}> (" in shown
    assert "A suggested agenda" in shown and shown.count("<!date^") == 3
    buttons = [e for b in intro["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        (MET_ACTION_ID, str(pairing.id)),
        (RESCHEDULE_ACTION_ID, str(pairing.id)),
        (SKIP_ACTION_ID, str(pairing.id)),
    ]
    [summary] = bot.fake.messages("CJOINT")
    assert "Shadowing, round 1: Marketing × IT" in _text(summary) and "1 pair made" in _text(
        summary
    )

    # "We met" opens the reflection form for whoever pressed it.
    assert _press(bot, MET_ACTION_ID, pairing.id, guest, dm).status == 200
    [opened_view] = bot.fake.wait_for("views.open")
    assert opened_view.params["trigger_id"].startswith(f"trigger.{guest}.{MET_ACTION_ID}.")
    view = opened_view.json_param("view")
    assert view["callback_id"] == REFLECTION_CALLBACK_ID
    assert view["private_metadata"] == str(pairing.id)
    labels = json.dumps(view["blocks"])
    assert (
        "What did you learn about their work?" in labels
        and "One hand-off we could improve" in labels
    )

    # Empty answers stay on the form with an inline error; real ones are stored.
    empty = bot.slack.interaction(
        view_submission_payload(
            REFLECTION_CALLBACK_ID,
            {LEARNED_BLOCK: {ANSWER_ACTION: {"type": "plain_text_input", "value": "  "}}},
            user_id=guest,
            private_metadata=str(pairing.id),
        )
    )
    assert empty.json()["response_action"] == "errors"
    assert set(empty.json()["errors"]) == {LEARNED_BLOCK, HANDOFF_BLOCK}
    answers = {
        LEARNED_BLOCK: {
            ANSWER_ACTION: {"type": "plain_text_input", "value": "They plan in sprints"}
        },
        HANDOFF_BLOCK: {
            ANSWER_ACTION: {"type": "plain_text_input", "value": "Briefs name an owner"}
        },
    }
    saved = bot.slack.interaction(
        view_submission_payload(
            REFLECTION_CALLBACK_ID, answers, user_id=guest, private_metadata=str(pairing.id)
        )
    )
    assert saved.status == 200 and saved.json()["response_action"] == "update"
    with bot.services.sessions() as session:
        row = session.get(ShadowPairing, pairing.id)
        assert row is not None and row.status == "met"
        assert (row.reflection_learned, row.reflection_handoff) == (
            "They plan in sprints",
            "Briefs name an owner",
        )
        [logged] = session.scalars(select(Interaction)).all()
        ids = {m.slack_user_id: m.id for m in session.scalars(select(Member))}
    assert logged.kind == InteractionKind.SHADOWING.value
    assert (logged.provider_member_id, logged.beneficiary_member_id) == (ids[host], ids[guest])
    assert logged.source == f"shadow:{pairing.id}:{ids[guest]}"

    # The pair hears about it; the reminder three days later never comes.
    _drain(bot, utcnow() + timedelta(days=4))
    later = [_text(m) for m in bot.fake.messages(dm)]
    assert len(later) == 2 and f"<@{guest}> recorded that you met" in later[1]

    # Pressed twice, or by someone else: nothing changes, and the presser is told why.
    assert "Already recorded" in _told(bot, MET_ACTION_ID, pairing.id, host, dm)
    bot.fake.add_user("UX", tz=LONDON)
    outsider = _told(bot, SKIP_ACTION_ID, pairing.id, "UX", dm)
    assert "This pairing belongs to" in outsider and "<@UM1>" in outsider and "<@UI1>" in outsider
    with bot.services.sessions() as session:
        assert len(session.scalars(select(Interaction)).all()) == 1
    assert len(bot.fake.calls_to("views.open")) == 1

    status = _command(bot, "pair", host)
    assert f"you host <@{guest}>" in status and "You met on" in status


def test_the_reminder_comes_when_nobody_met_and_reschedule_then_skip(
    pair_bot: tuple[RunningBot, World],
) -> None:
    bot, world = pair_bot
    _round(bot, world)
    _drain(bot)
    dm = _group_dm(bot)
    pairing = _pairing(bot)
    _drain(bot, utcnow() + timedelta(days=3, minutes=1))
    messages = bot.fake.messages(dm)
    assert len(messages) == 2 and "did your shadowing session happen?" in _text(messages[1])
    assert "Not met yet" in _command(bot, "pair", "UM1")

    told = _told(bot, RESCHEDULE_ACTION_ID, pairing.id, "UM1", dm)
    assert "posted new times in your group DM" in told
    assert "already in your group DM" in _told(bot, RESCHEDULE_ACTION_ID, pairing.id, "UI1", dm)
    _drain(bot)
    new_times = _text(bot.fake.messages(dm)[-1])
    assert "<@UM1> asked for new times" in new_times and "<!date^" in new_times
    assert "Rescheduled" in _command(bot, "pair", "UI1")

    assert "this round is skipped" in _told(bot, SKIP_ACTION_ID, pairing.id, "UI1", dm)
    assert "Already recorded" in _told(bot, RESCHEDULE_ACTION_ID, pairing.id, "UM1", dm)
    _drain(bot, utcnow() + timedelta(days=10))
    after = [_text(m) for m in bot.fake.messages(dm)]
    assert "<@UI1> skipped this round" in after[-1]
    assert sum("did your shadowing session happen?" in t for t in after) == 1  # no second reminder
    assert _pairing(bot).status == "skipped"
    assert "Skipped this round" in _command(bot, "pair", "UM1")


def test_a_member_leaving_mid_round_frees_their_partner(
    pair_bot: tuple[RunningBot, World],
) -> None:
    bot, world = pair_bot
    _round(bot, world)
    _drain(bot)
    dm = _group_dm(bot)
    pairing = _pairing(bot)

    bot.fake.add_usergroup("SIT", "it", [])  # UI1 leaves IT in Slack
    assert "Syncing *IT*'s members" in _command(bot, "admin team sync IT", ADMIN)
    assert finish_jobs(bot)[0].startswith("Synced: IT 0 (+0 / -1)")
    departure_job(bot.services)()
    _drain(bot)
    [note] = [c for c in bot.fake.calls_to("chat.postMessage") if c.params["channel"] == "UM1"]
    assert note.ok and "<@UI1> is no longer in the partnership's teams" in str(note.params["text"])
    assert not [c for c in bot.fake.calls_to("chat.postMessage") if c.params["channel"] == "UI1"]
    assert _pairing(bot).status == "partner_left"
    assert "Your partner left the team" in _command(bot, "pair", "UM1")
    assert "This pairing is off" in _told(bot, MET_ACTION_ID, pairing.id, "UM1", dm)


# --- rounds nobody can be paired in -------------------------------------------------------------


@pytest.mark.parametrize(
    ("people", "opted_out", "expected", "told"),
    [
        (
            {"Marketing": [("UM1", LONDON), ("UM2", LONDON)], "IT": []},
            [],
            "IT has nobody in it yet",
            ["UM1", "UM2"],
        ),
        (
            {"Marketing": [("UM1", LONDON)], "IT": [("UI1", BERLIN)]},
            ["UI1"],
            "nobody in IT is available",
            ["UM1"],
        ),
        (
            {"Marketing": [("UM1", LONDON)], "IT": [("UI1", BERLIN)]},
            ["UM1", "UI1"],
            "everyone is away or has opted out",
            [],
        ),
    ],
    ids=["empty-team", "one-eligible-person", "everyone-opted-out"],
)
def test_a_round_without_pairs_explains_itself(
    bot: RunningBot,
    people: dict[str, list[tuple[str, str]]],
    opted_out: list[str],
    expected: str,
    told: list[str],
) -> None:
    world = _world(bot, people)
    for uid in opted_out:  # the member command every ritual shares
        assert "shadowing" in _command(bot, "optout shadowing", uid)
    _round(bot, world)
    _drain(bot)
    [summary] = bot.fake.messages("CJOINT")
    assert f"No pairs this round: {expected}." in _text(summary)
    dms = {
        call.params["channel"]: call
        for call in bot.fake.calls_to("chat.postMessage")
        if call.params["channel"] != "CJOINT"
    }
    assert sorted(dms) == told
    for call in dms.values():
        assert call.ok and "nobody in IT is available this round" in str(call.params["text"])
    assert bot.fake.calls_to("conversations.open") == []
    for uid in told:
        assert "not paired this round: nobody in the other team was available" in _command(
            bot, "pair", uid
        )


def test_pair_for_someone_tandem_does_not_know(bot: RunningBot) -> None:
    bot.fake.add_user("UNEW", tz=LONDON)
    assert "You're not in a shadowing round yet" in _command(bot, "pair", "UNEW")


def test_forged_pairing_values_are_refused(pair_bot: tuple[RunningBot, World]) -> None:
    bot, world = pair_bot
    _round(bot, world)
    _drain(bot)
    dm = _group_dm(bot)
    pairing = _pairing(bot)
    for value in ("²", "-1", "9" * 25, f"{pairing.id} "):
        told = _ephemeral(
            bot,
            lambda value=value: bot.slack.interaction(
                block_actions_payload(
                    MET_ACTION_ID,
                    value,
                    user_id="UM1",
                    channel_id=dm,
                    response_url=bot.fake.response_url(),
                )
            ),
        )
        assert "out of date" in told, value
    answers = {
        LEARNED_BLOCK: {ANSWER_ACTION: {"type": "plain_text_input", "value": "a lot"}},
        HANDOFF_BLOCK: {ANSWER_ACTION: {"type": "plain_text_input", "value": "briefs"}},
    }
    for metadata in ("²", "9" * 25, f"-{pairing.id}", json.dumps({"id": pairing.id})):
        response = bot.slack.interaction(
            view_submission_payload(
                REFLECTION_CALLBACK_ID, answers, user_id="UM1", private_metadata=metadata
            )
        )
        assert response.json()["response_action"] == "errors", metadata
    with bot.services.sessions() as session:
        assert (
            session.scalars(
                select(ShadowPairing.status).where(ShadowPairing.id == pairing.id)
            ).one()
            == pairing.status
        )
        assert session.scalars(select(Interaction)).all() == []
