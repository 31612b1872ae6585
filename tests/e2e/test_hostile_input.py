"""Hostile input through the real endpoint: no ping a member could not send, never a 500.

Every message Tandem posts is read back from the fake Slack and checked for
broadcasts (`<!channel>`, `<!here>`, `<!everyone>`), user-group pings and
mentions of anyone the test did not expect; every bad request must get a
4xx or a polite answer, and nothing may be logged with a traceback.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.views.kudos import MODAL_CALLBACK_ID
from bot.views.standup import ACTION_ANSWER, ACTION_OFFER_HELP, ACTION_RESOLVE_ASK, VIEW_ANSWER
from storage.db import transaction
from storage.models import Kudos, Partnership, Team
from tests.bot.test_standup_service import LONDON_PROMPT
from tests.e2e.conftest import ADMIN, RunningBot
from tests.e2e.test_kudos import _drain as drain_kudos
from tests.e2e.test_kudos import _form as kudos_form
from tests.e2e.test_kudos import kudos_bot  # noqa: F401  (fixture)
from tests.e2e.test_standup import Standup, standup  # noqa: F401  (fixture)
from tests.fakes.signed import block_actions_payload, sign, view_submission_payload
from tests.fakes.slack_api import Call

pytestmark = pytest.mark.e2e

FORBIDDEN = ("<!channel", "<!here", "<!everyone")
_MENTION = re.compile(r"<@([^>|]*)")
_GROUP = re.compile(r"<!subteam\^([^>|]*)")


def _posted(calls: list[Call]) -> list[str]:
    """Everything Tandem sent as message text or blocks, as JSON text."""
    out = []
    for call in calls:
        if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            out.append(json.dumps(call.params.get("blocks")) + str(call.params.get("text")))
        elif call.method == "response_url":
            out.append(json.dumps(call.params))
    return out


def assert_no_ping(
    texts: list[str], allowed_users: set[str], allowed_groups: frozenset[str] = frozenset()
) -> None:
    assert texts, "nothing was posted"
    for text in texts:
        for marker in FORBIDDEN:
            assert marker not in text, (marker, text)
        assert "\\u0000" not in text and "\x00" not in text
        assert set(_MENTION.findall(text)) <= allowed_users, text
        assert set(_GROUP.findall(text)) <= allowed_groups, text


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    failures = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert failures == [], [r.getMessage() for r in failures]


# --- point 1: rich-text answers -----------------------------------------------------------

HOSTILE_ELEMENTS: list[dict[str, Any]] = [
    {"type": "text", "text": "blocked by "},
    {"type": "user", "user_id": "UIT001> <!channel> <@UIT002"},
    {"type": "text", "text": " and "},
    {"type": "emoji", "name": "x: <!here> :y"},
    {"type": "usergroup", "usergroup_id": "SIT> <!everyone"},
    {"type": "channel", "channel_id": "C1> <!here"},
    {"type": "link", "url": "!channel"},
    {"type": "link", "url": "https://x.test/|<!here>", "text": "doc"},
    {"type": "text", "text": "nul\x00 bell\x07 <!channel>"},
    {"type": "broadcast", "range": "everyone"},
]


def _rich(elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "rich_text_input",
        "rich_text_value": {
            "type": "rich_text",
            "elements": [{"type": "rich_text_section", "elements": elements}],
        },
    }


def test_forged_rich_text_elements_never_ping_the_joint_channel(
    standup: Standup,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = standup.bot.fake
    standup.tick(LONDON_PROMPT + timedelta(seconds=5))
    standup.clock.now = LONDON_PROMPT + timedelta(minutes=5)
    values = {
        key: {"answer": _rich(HOSTILE_ELEMENTS)} for key in ("done", "today", "blockers", "ask")
    }
    payload = view_submission_payload(
        VIEW_ANSWER, values, user_id="UM1", private_metadata=json.dumps({"day": standup.day()})
    )
    response = standup.bot.slack.interaction(payload)
    assert response.status == 200 and response.json()["response_action"] == "update"
    standup.drain()
    joint = [c for c in fake.calls if c.params.get("channel") == "CJOINT"]
    assert len(joint) >= 2  # the summary and the answer in its thread
    assert "blocked by @UIT001&gt; &lt;!channel&gt;" in "".join(_posted(joint))
    assert_no_ping(_posted(fake.calls), allowed_users=set())
    assert_no_traceback(caplog)


def test_team_and_partnership_names_with_broadcasts_stay_text(
    standup: Standup,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    with transaction(standup.bot.services.sessions) as session:
        session.execute(update(Team).values(name=Team.name + " <!channel> <@UEVIL1>"))
        session.execute(update(Partnership).values(name="Joint <!here> <!subteam^SALL>"))
    fake = standup.bot.fake
    standup.tick(LONDON_PROMPT + timedelta(seconds=5))
    standup.clock.now = LONDON_PROMPT + timedelta(minutes=5)
    standup.submit("UM1", standup.day(), today="copy", blockers="IT", ask="a login")
    standup.drain()
    texts = _posted(fake.calls)
    assert any("&lt;!channel&gt;" in t for t in texts)  # the names did reach the messages
    assert_no_ping(texts, allowed_users=set())
    answers = []  # each answer is the command's ack
    for command in ("admin team list", "admin partnership list", "admin rituals"):
        answers.append(json.dumps(standup.bot.slack.command(command, user_id=ADMIN).json()))
    # The admin's team list shows each team's own user group; nothing else may ping.
    groups = frozenset({"SMKT", "SIT"})
    people = {ADMIN, "UM1", "UM2", "UI1", "UI2"}  # leaders are listed by mention
    assert_no_ping(answers, people, groups)
    assert_no_traceback(caplog)


# --- point 1: the kudos form's private_metadata ---------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.test/phish",
        "https://tandem-test.slack.com.evil.test/archives/CJOINT/p1700000000000100",
        "https://tandem-test.slack.com/archives/CJOINT/p1700000000000100|<!channel>",
        "!channel",
        "javascript:alert(1)",
    ],
)
def test_a_forged_source_link_is_dropped(
    kudos_bot: RunningBot,  # noqa: F811
    link: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot = kudos_bot
    with bot.services.sessions() as session:
        partnership_id = session.scalars(select(Partnership.id)).one()
    metadata = json.dumps({"p": partnership_id, "c": "CJOINT", "l": link})
    payload = view_submission_payload(
        MODAL_CALLBACK_ID,
        kudos_form(["UIVY"], "the launch <!channel> \x00"),
        user_id="UANA",
        private_metadata=metadata,
    )
    assert bot.slack.interaction(payload).status == 200
    with bot.services.sessions() as session:
        kudos = session.scalars(select(Kudos)).one()
    assert kudos.source_link is None
    drain_kudos(bot)
    texts = _posted(bot.fake.calls)
    assert not any("evil" in t or "javascript" in t for t in texts)
    assert_no_ping(texts, allowed_users={"UANA", "UIVY"})
    assert_no_traceback(caplog)


def test_forged_recipient_ids_in_the_kudos_form_never_ping(
    kudos_bot: RunningBot,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot = kudos_bot
    with bot.services.sessions() as session:
        partnership_id = session.scalars(select(Partnership.id)).one()
    payload = view_submission_payload(
        MODAL_CALLBACK_ID,
        kudos_form(["UIVY> <!channel> <@UJO"], "the launch"),
        user_id="UANA",
        private_metadata=json.dumps({"p": partnership_id, "c": "CJOINT", "l": None}),
    )
    response = bot.slack.interaction(payload)
    assert response.status == 200
    drain_kudos(bot)
    assert_no_ping(_posted(bot.fake.calls) or [response.text], allowed_users={"UANA"})
    assert_no_traceback(caplog)


# --- point 7: bad input is a 4xx or a polite answer, never a 500 ----------------------------

_COMMAND = b"command=%2Ftandem&text=help&user_id=U1&team_id=T0001"


@pytest.mark.parametrize("timestamp", [None, "", "abc", "1e9", "-1", " 1", "9" * 5000])
def test_bad_signature_timestamps_are_401(
    bot: RunningBot, timestamp: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Signature": "v0=0"}
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    response = bot.slack.raw(_COMMAND, headers)
    assert response.status == 401
    assert "Traceback" not in response.text
    assert_no_traceback(caplog)


def _bad_payloads() -> list[tuple[str, dict[str, Any]]]:
    base = block_actions_payload("kudos_second", "1")
    actions_as_string = {**base, "actions": "abc"}
    no_action_id = {**base, "actions": [{"type": "button", "value": "1", "block_id": "b"}]}
    action_ints = {**base, "actions": [1, 2]}
    value_int = {**base, "actions": [{**base["actions"][0], "value": 7}]}
    user_string = {**base, "user": "U1"}
    team_list = {**base, "team": ["T0001"]}
    view = view_submission_payload("kudos_form", {})
    no_view_type = {**view, "view": {k: v for k, v in view["view"].items() if k != "type"}}
    view_string = {**view, "view": "modal"}
    metadata_dict = {**view, "view": {**view["view"], "private_metadata": {"p": 1}}}
    state_list = {**view, "view": {**view["view"], "state": []}}

    def with_state(values: Any) -> dict[str, Any]:
        return {**view, "view": {**view["view"], "state": {"values": values}}}

    reason = {"type": "plain_text_input", "value": 5}
    users = {"type": "multi_users_select", "selected_users": "UIVY"}
    option = {"type": "static_select", "selected_option": "ownership"}
    rich = {"type": "rich_text_input", "rich_text_value": ["x"]}
    return [
        ("actions as a string", actions_as_string),
        ("missing action_id", no_action_id),
        ("actions of numbers", action_ints),
        ("a number as value", value_int),
        ("user as a string", user_string),
        ("team as a list", team_list),
        ("view without type", no_view_type),
        ("view as a string", view_string),
        ("private_metadata as an object", metadata_dict),
        ("state as a list", state_list),
        ("type as a number", {**base, "type": 3}),
        ("a state block as a list", with_state({"kudos_reason": ["x"]})),
        ("a number as an input's value", with_state({"b": {"a": reason}})),
        ("selected_users as a string", with_state({"b": {"a": users}})),
        ("selected_option as a string", with_state({"b": {"a": option}})),
        ("rich_text_value as a list", with_state({"b": {"a": rich}})),
        ("view blocks as a string", {**view, "view": {**view["view"], "blocks": "x"}}),
        (
            "selected_options of strings",
            {**base, "actions": [{**base["actions"][0], "selected_options": ["a"]}]},
        ),
    ]


@pytest.mark.parametrize(("name", "payload"), _bad_payloads(), ids=[n for n, _ in _bad_payloads()])
def test_wrongly_shaped_interactions_are_400(
    bot: RunningBot, name: str, payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    response = bot.slack.interaction(payload)
    assert response.status == 400, (name, response.status, response.text)
    assert "Traceback" not in response.text
    assert_no_traceback(caplog)


def test_json_nested_100000_deep_is_400(bot: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    secret = bot.slack.signing_secret
    deep = b'{"type": "event_callback", "event": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = bot.slack.raw(deep, {**sign(deep, secret), "Content-Type": "application/json"})
    assert response.status == 400
    nested = json.dumps({"type": "block_actions"})[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000
    form = b"payload=" + (nested + "}").encode()
    headers = {**sign(form, secret), "Content-Type": "application/x-www-form-urlencoded"}
    assert bot.slack.raw(form, headers).status == 400
    event = json.dumps({"type": "event_callback", "event": "hi"}).encode()
    assert (
        bot.slack.raw(event, {**sign(event, secret), "Content-Type": "application/json"}).status
        == 400
    )
    assert_no_traceback(caplog)


def test_a_20000_character_command_gets_a_short_answer(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    response = bot.slack.command("x" * 20_000)
    assert response.status == 200
    body = response.json()
    assert "I don't know" in body["text"]
    for block in body["blocks"]:
        text = (block.get("text") or {}).get("text", "")
        assert len(text) <= 3000
    assert len(json.dumps(body)) < 10_000
    reply = bot.slack.command("admin team add " + "y" * 20_000 + " <!channel>", user_id=ADMIN)
    answer = reply.json()  # the answer is the ack itself
    assert "<!channel" not in json.dumps(answer) and len(answer["text"]) <= 3000
    assert_no_traceback(caplog)


@pytest.mark.parametrize(
    "words", ["²", "99999999999999999999", "#²", "12345678901", "-1", "0", "1e3", "١"]
)
def test_admin_ritual_ids_out_of_shape_are_not_a_ritual_id(
    bot: RunningBot, words: str, caplog: pytest.LogCaptureFixture
) -> None:
    reply = bot.slack.command(f"admin ritual {words} pause", user_id=ADMIN).json()
    assert "not a ritual id" in reply["text"]
    assert_no_traceback(caplog)


def test_an_unknown_but_well_formed_ritual_id_is_a_polite_answer(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    reply = bot.slack.command("admin ritual 2147483647 pause", user_id=ADMIN).json()
    assert reply["response_type"] == "ephemeral"
    assert_no_traceback(caplog)


@pytest.mark.parametrize(
    ("action", "value", "words"),
    [
        (ACTION_ANSWER, "²", "out of date"),
        (ACTION_ANSWER, "99999999999999999999", "out of date"),
        (ACTION_OFFER_HELP, "²", "nothing to help with"),
        (ACTION_OFFER_HELP, "99999999999999999999", "nothing to help with"),
        (ACTION_RESOLVE_ASK, "²:²", "out of date"),
        (ACTION_RESOLVE_ASK, "99999999999999999999:1", "out of date"),
    ],
)
def test_button_values_out_of_shape_get_a_polite_answer(
    bot: RunningBot, action: str, value: str, words: str, caplog: pytest.LogCaptureFixture
) -> None:
    payload = block_actions_payload(
        action, value, user_id=ADMIN, response_url=bot.fake.response_url()
    )
    assert bot.slack.interaction(payload).status == 200
    [reply] = bot.fake.wait_for("response_url", count=1)
    assert words in reply.params["text"]
    assert_no_traceback(caplog)
