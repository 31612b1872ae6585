"""Kudos end to end: signed requests to the real endpoint, posts arriving at the fake Slack."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.clock import utcnow
from bot.listeners.kudos import MESSAGE_SHORTCUT_ID
from bot.outbox import OutboxSender, Pacer
from bot.views.kudos import (
    MODAL_CALLBACK_ID,
    PROMPT_PICK_ACTION_ID,
    REASON_ACTION,
    REASON_BLOCK,
    RECIPIENTS_ACTION,
    RECIPIENTS_BLOCK,
    SECOND_ACTION_ID,
    VALUES_ACTION,
    VALUES_BLOCK,
)
from rituals.interactions import InteractionKind, InterdependenceType
from storage import org
from storage.db import transaction
from storage.kudos import DEFAULT_DAILY_LIMIT
from storage.models import (
    Interaction,
    Kudos,
    KudosRecipient,
    KudosSecond,
    Member,
    Outbox,
    Partnership,
)
from tests.e2e.conftest import RunningBot
from tests.fakes.signed import (
    VERIFICATION_TOKEN,
    block_actions_payload,
    view_submission_payload,
)
from tests.fakes.slack_api import APP_ID, DEFAULT_TOKEN, TEAM_DOMAIN, TEAM_ID

pytestmark = pytest.mark.e2e

VALUES = ["customer-first", "ownership"]


@pytest.fixture
def kudos_bot(bot: RunningBot) -> Iterator[RunningBot]:
    """Marketing (ana, ben) and IT (ivy, jo) around #mkt-it; a few people who can't get kudos."""
    fake = bot.fake
    for uid, tz in [
        ("UANA", "Europe/London"),
        ("UBEN", "Europe/London"),
        ("UIVY", "Asia/Kolkata"),
        ("UJO", "America/New_York"),
        ("UOUT", "UTC"),
    ]:
        fake.add_user(uid, name=uid[1:].lower(), tz=tz)
    fake.add_user("UROBOT", is_bot=True)
    fake.add_user("UGONE", deleted=True)
    fake.add_usergroup("SIT", "it-team", ["UIVY", "UJO", "UROBOT"])
    fake.add_channel("CJOINT", "mkt-it", ["UANA", "UBEN", "UIVY", "UJO"])
    fake.add_channel("CMKT", "marketing", ["UANA", "UBEN"])
    services = bot.services
    workspace = services.workspace_id(TEAM_ID)
    now = utcnow()
    with transaction(services.sessions) as session:
        marketing = org.add_team(session, workspace, "Marketing", "usergroup", "SMKT", now).id
        it = org.add_team(session, workspace, "IT", "usergroup", "SIT", now).id
        ids = org.upsert_members(
            session,
            workspace,
            [
                org.MemberProfile("UANA", "ana", "Europe/London"),
                org.MemberProfile("UBEN", "ben", "Europe/London"),
                org.MemberProfile("UIVY", "ivy", "Asia/Kolkata"),
                org.MemberProfile("UJO", "jo", "America/New_York"),
                org.MemberProfile("UROBOT", "robot", None, is_bot=True),
                org.MemberProfile("UGONE", "gone", None, is_deleted=True),
            ],
            now,
        )
        org.set_team_roster(session, marketing, {ids["UANA"], ids["UBEN"]}, now)
        org.set_team_roster(session, it, {ids["UIVY"], ids["UJO"]}, now)
        partnership = org.add_partnership(
            session,
            workspace,
            "Marketing + IT",
            ["Marketing", "IT"],
            "CJOINT",
            [],
            InterdependenceType.RECIPROCAL,
            now,
        )
        partnership.settings = {"kudos_values": VALUES}
    yield bot


def _settings(bot: RunningBot, **values: Any) -> None:
    with transaction(bot.services.sessions) as session:
        partnership = session.scalars(select(Partnership)).one()
        partnership.settings = {"kudos_values": VALUES, **values}


def _reply(bot: RunningBot, text: str, user_id: str = "UANA", channel_id: str = "CMKT") -> str:
    response = bot.slack.command(f"kudos {text}", user_id=user_id, channel_id=channel_id)
    assert response.status == 200
    params = response.json()  # the answer is the ack itself
    assert params["response_type"] == "ephemeral"
    return f"{params['text']}\n{json.dumps(params.get('blocks', []))}"


def _drain(bot: RunningBot) -> None:
    client = WebClient(token=DEFAULT_TOKEN, base_url=bot.fake.url, retry_handlers=[])
    settings = bot.services.settings
    sender = OutboxSender(
        bot.services.sessions,
        client,
        settings,
        "e2e",
        pacer=Pacer(1000, channel_interval=0.0),
    )
    while sender.run_once():
        pass


def _counts(bot: RunningBot) -> tuple[int, int, int, int]:
    with bot.services.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(Kudos)) or 0,
            session.scalar(select(func.count()).select_from(KudosRecipient)) or 0,
            session.scalar(select(func.count()).select_from(Interaction)) or 0,
            session.scalar(select(func.count()).select_from(Outbox)) or 0,
        )


def _posts(bot: RunningBot) -> list[dict[str, Any]]:
    return bot.fake.messages("CJOINT")


def test_kudos_are_posted_in_the_joint_channel_and_logged(kudos_bot: RunningBot) -> None:
    bot = kudos_bot
    text = _reply(bot, "<@UIVY|ivy> <@UBEN|ben> for the campaign launch #customer-first")
    assert "on their way to <#CJOINT>" in text
    assert _counts(bot) == (1, 2, 2, 1)
    with bot.services.sessions() as session:
        row = session.scalars(select(Outbox)).one()
        assert row.method == "chat.postMessage" and row.idempotency_key == "kudos:1:post"
        kudos = session.scalars(select(Kudos)).one()
        assert kudos.cross_team and kudos.values == ["customer-first"]
        assert kudos.reason == "the campaign launch" and kudos.post_key == "kudos:1:post"
        interactions = session.scalars(select(Interaction)).all()
        assert {i.kind for i in interactions} == {InteractionKind.KUDOS.value}
        assert all(i.tags == ["customer-first"] for i in interactions)

    _drain(bot)
    [post] = _posts(bot)
    shown = json.dumps(post["blocks"])
    assert "<@UANA>" in shown and "<@UIVY>" in shown and "<@UBEN>" in shown
    # Who thanked whom in words: an arrow would run against the digest's "who gave" arrows.
    assert "Cross-team kudos" in shown and "Marketing thanks IT" in shown
    assert "\\u2192" not in shown
    assert "#customer-first" in shown and ">the campaign launch" in shown
    assert post["blocks"][-1]["elements"][0]["action_id"] == SECOND_ACTION_ID


def test_same_team_kudos_are_not_marked_cross_team(kudos_bot: RunningBot) -> None:
    bot = kudos_bot
    _reply(bot, "<@UBEN> for covering the release notes")
    _drain(bot)
    [post] = _posts(bot)
    assert "Cross-team" not in json.dumps(post["blocks"])


def test_a_user_group_gives_to_each_member_but_not_its_bots(kudos_bot: RunningBot) -> None:
    bot = kudos_bot
    text = _reply(bot, "<!subteam^SIT|@it-team> for keeping the site up #ownership")
    assert "on their way" in text
    assert bot.fake.calls_to("usergroups.users.list")[-1].params["usergroup"] == "SIT"
    with bot.services.sessions() as session:
        receivers = session.scalars(
            select(Member.slack_user_id).join(KudosRecipient, KudosRecipient.member_id == Member.id)
        ).all()
    assert sorted(receivers) == ["UIVY", "UJO"]


def test_kudos_without_arguments_opens_the_form(kudos_bot: RunningBot) -> None:
    bot = kudos_bot
    response = bot.slack.command(
        "kudos", user_id="UANA", channel_id="CJOINT", trigger_id="42.trigger"
    )
    assert response.status == 200
    [call] = bot.fake.wait_for("views.open")
    assert call.params["trigger_id"] == "42.trigger"
    view = call.json_param("view")
    assert view["callback_id"] == MODAL_CALLBACK_ID
    elements = {b["block_id"]: b.get("element", {}) for b in view["blocks"] if b["type"] == "input"}
    assert elements[RECIPIENTS_BLOCK]["type"] == "multi_users_select"
    assert elements[REASON_BLOCK]["type"] == "plain_text_input"
    assert [o["value"] for o in elements[VALUES_BLOCK]["options"]] == VALUES
    assert _counts(bot) == (0, 0, 0, 0)


def _form(users: list[str], reason: str, values: Sequence[str] = ()) -> dict[str, Any]:
    return {
        RECIPIENTS_BLOCK: {
            RECIPIENTS_ACTION: {"type": "multi_users_select", "selected_users": users}
        },
        REASON_BLOCK: {REASON_ACTION: {"type": "plain_text_input", "value": reason}},
        VALUES_BLOCK: {
            VALUES_ACTION: {
                "type": "checkboxes",
                "selected_options": [
                    {"value": v, "text": {"type": "plain_text", "text": v}} for v in values
                ],
            }
        },
    }


def _opened_metadata(bot: RunningBot, index: int = -1) -> str:
    return str(bot.fake.calls_to("views.open")[index].json_param("view")["private_metadata"])


def test_the_form_posts_kudos_or_shows_mistakes_inline(kudos_bot: RunningBot) -> None:
    bot = kudos_bot
    bot.slack.command("kudos", user_id="UANA", channel_id="CMKT")
    bot.fake.wait_for("views.open")
    metadata = _opened_metadata(bot)

    mistakes = [
        (_form(["UANA"], "being me"), RECIPIENTS_BLOCK, "yourself"),
        (_form(["UIVY"], "fixing it for @here"), REASON_BLOCK, "whole channel"),
        (_form(["UIVY"], "x" * 501), REASON_BLOCK, "limit is 500"),
        (_form(["UIVY"], "fixing it #speed"), VALUES_BLOCK, "#speed"),
        (_form(["UROBOT", "UIVY"], "the fix"), RECIPIENTS_BLOCK, "@robot is a bot"),
    ]
    for values, block, words in mistakes:
        response = bot.slack.interaction(
            view_submission_payload(
                MODAL_CALLBACK_ID, values, user_id="UANA", private_metadata=metadata
            )
        )
        answer = response.json()
        assert answer["response_action"] == "errors", answer
        assert words in answer["errors"][block], answer
        assert _counts(bot) == (0, 0, 0, 0)

    response = bot.slack.interaction(
        view_submission_payload(
            MODAL_CALLBACK_ID,
            _form(["UIVY", "UJO"], "the <fast> fix & rollback", ["ownership"]),
            user_id="UANA",
            private_metadata=metadata,
        )
    )
    assert response.json()["response_action"] == "update"
    assert _counts(bot) == (1, 2, 2, 1)
    with bot.services.sessions() as session:
        kudos = session.scalars(select(Kudos)).one()
        assert kudos.reason == "the &lt;fast&gt; fix &amp; rollback"
        assert kudos.values == ["ownership"]


def test_a_tag_typed_in_the_form_without_values_is_flagged_on_the_reason(
    kudos_bot: RunningBot,
) -> None:
    bot = kudos_bot
    with transaction(bot.services.sessions) as session:
        session.scalars(select(Partnership)).one().settings = {}
    bot.slack.command("kudos", user_id="UANA", channel_id="CMKT")
    [call] = bot.fake.wait_for("views.open")
    view = call.json_param("view")
    assert VALUES_BLOCK not in {b.get("block_id") for b in view["blocks"]}
    form = _form(["UIVY"], "fixing it #speed")
    del form[VALUES_BLOCK]
    response = bot.slack.interaction(
        view_submission_payload(
            MODAL_CALLBACK_ID, form, user_id="UANA", private_metadata=view["private_metadata"]
        )
    )
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert "No values are set up" in answer["errors"][REASON_BLOCK]
    assert _counts(bot) == (0, 0, 0, 0)


def _seed_message(bot: RunningBot, channel: str = "CJOINT") -> str:
    client = WebClient(token=DEFAULT_TOKEN, base_url=bot.fake.url)
    return str(client.chat_postMessage(channel=channel, text="Shipped the landing page")["ts"])


def _message_shortcut(user_id: str, channel_id: str, ts: str, author: str) -> dict[str, Any]:
    return {
        "type": "message_action",
        "callback_id": MESSAGE_SHORTCUT_ID,
        "trigger_id": "77.shortcut",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "name": user_id.lower(), "team_id": TEAM_ID},
        "channel": {"id": channel_id, "name": channel_id.lower()},
        "message": {
            "type": "message",
            "user": author,
            "ts": ts,
            "text": "Shipped the landing page",
        },
        "message_ts": ts,
        "response_url": "http://127.0.0.1:9/unused",
        "token": VERIFICATION_TOKEN,
        "api_app_id": APP_ID,
        "action_ts": ts,
    }


def test_the_message_shortcut_prefills_the_author_and_links_the_message(
    kudos_bot: RunningBot,
) -> None:
    bot = kudos_bot
    ts = _seed_message(bot)
    response = bot.slack.interaction(_message_shortcut("UANA", "CJOINT", ts, author="UIVY"))
    assert response.status == 200
    [call] = bot.fake.wait_for("views.open")
    assert call.params["trigger_id"] == "77.shortcut"
    assert bot.fake.calls_to("chat.getPermalink")[0].params["message_ts"] == ts
    view = call.json_param("view")
    recipients = next(b for b in view["blocks"] if b.get("block_id") == RECIPIENTS_BLOCK)
    assert recipients["element"]["initial_users"] == ["UIVY"]
    permalink = f"https://{TEAM_DOMAIN}.slack.com/archives/CJOINT/p{ts.replace('.', '')}"
    assert permalink in json.dumps(view["blocks"])

    bot.slack.interaction(
        view_submission_payload(
            MODAL_CALLBACK_ID,
            _form(["UIVY"], "the landing page"),
            user_id="UANA",
            private_metadata=view["private_metadata"],
        )
    )
    with bot.services.sessions() as session:
        assert session.scalars(select(Kudos.source_link)).one() == permalink
    _drain(bot)
    assert permalink in json.dumps(_posts(bot)[-1]["blocks"])


def test_the_shortcut_tells_someone_outside_every_partnership_why(kudos_bot: RunningBot) -> None:
    bot = kudos_bot
    ts = _seed_message(bot)
    bot.slack.interaction(_message_shortcut("UOUT", "CJOINT", ts, author="UIVY"))
    [call] = bot.fake.wait_for("views.open")
    assert "not in a team of any Tandem partnership" in json.dumps(call.json_param("view"))


def _press(bot: RunningBot, user_id: str, kudos_id: int, ts: str) -> str:
    """Press +1; returns the ephemeral answer only the presser sees."""
    before = len(bot.fake.calls_to("response_url"))
    payload = block_actions_payload(
        SECOND_ACTION_ID,
        str(kudos_id),
        user_id=user_id,
        channel_id="CJOINT",
        block_id="kudos_actions",
        message_ts=ts,
        response_url=bot.fake.response_url(),
    )
    assert bot.slack.interaction(payload).status == 200
    calls = bot.fake.wait_for("response_url", count=before + 1)
    return str(calls[before].params["text"])


def test_plus_one_counts_each_person_once_and_updates_the_post(kudos_bot: RunningBot) -> None:
    bot = kudos_bot
    _reply(bot, "<@UIVY> for the fix")
    _drain(bot)
    [post] = _posts(bot)

    assert "Your +1 is in" in _press(bot, "UJO", 1, post["ts"])
    assert "already +1'd" in _press(bot, "UJO", 1, post["ts"])
    assert "you gave these kudos" in _press(bot, "UANA", 1, post["ts"]).lower()
    assert "for you" in _press(bot, "UIVY", 1, post["ts"])
    assert "Your +1 is in" in _press(bot, "UOUT", 1, post["ts"])  # anyone may agree

    with bot.services.sessions() as session:
        seconds = session.scalars(select(KudosSecond)).all()
        assert len(seconds) == 2
        updates = session.scalars(
            select(Outbox).where(Outbox.method == "chat.update").order_by(Outbox.id)
        ).all()
        assert [u.idempotency_key for u in updates] == ["kudos:1:seconds:1", "kudos:1:seconds:2"]
        assert all(u.parent_key == "kudos:1:post" for u in updates)
        logged = session.scalars(
            select(Interaction).where(Interaction.kind == InteractionKind.KUDOS_SECOND.value)
        ).all()
        assert len(logged) == 2
    _drain(bot)
    [updated] = _posts(bot)
    assert updated["ts"] == post["ts"]
    shown = json.dumps(updated["blocks"])
    assert "+1 (2)" in shown and "2 people added theirs" in shown


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("<@UNOPE> for the fix", "can't find <@UNOPE>"),
        ("<@UOUT|out> for the fix", "isn't in any team of this partnership"),
        ("<@UIVY|ivy> <@UJO|jo>", "I only see names"),
        ("<@UIVY> for " + "x" * 501, "the limit is 500"),
        ("<@UIVY> for the fix #speed", "I don't know the value #speed"),
        ("<@UANA> for being me", "can't give kudos to yourself"),
        ("<@UROBOT> for the fix", "is a bot"),
        ("<@UGONE> for the fix", "has left the workspace"),
        ("<@UIVY> for waking up <!here>", "whole channel"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    kudos_bot: RunningBot, text: str, words: str
) -> None:
    answer = _reply(kudos_bot, text)
    assert words in answer
    assert _counts(kudos_bot) == (0, 0, 0, 0)


def test_a_joint_channel_without_the_bot_is_refused_before_writing(kudos_bot: RunningBot) -> None:
    bot = kudos_bot
    bot.fake.add_channel("CJOINT", "mkt-it", ["UANA", "UIVY"], is_member=False)
    answer = _reply(bot, "<@UIVY> for the fix")
    assert "I'm not in <#CJOINT>" in answer and "/invite @Tandem" in answer
    assert bot.fake.calls_to("conversations.info")[-1].params["channel"] == "CJOINT"
    assert _counts(bot) == (0, 0, 0, 0)


def test_a_giver_in_no_partnership_is_told_what_to_do(kudos_bot: RunningBot) -> None:
    answer = _reply(kudos_bot, "<@UIVY> for the fix", user_id="UOUT")
    assert "not in a team of any Tandem partnership" in answer and "admin" in answer
    assert _counts(kudos_bot) == (0, 0, 0, 0)


def test_the_daily_allowance_says_when_it_resets(kudos_bot: RunningBot) -> None:
    bot = kudos_bot
    _settings(bot, kudos_daily_limit=2)
    assert "on their way" in _reply(bot, "<@UBEN> for the notes")
    assert "you have 1 left today" in _reply(bot, "<@UIVY> <@UJO> for the fix")
    assert "on their way" in _reply(bot, "<@UIVY> for the fix")
    refused = _reply(bot, "<@UJO> for the review")
    assert "your daily limit" in refused and "resets at midnight (in" in refused
    assert _counts(bot)[0] == 2

    _settings(bot, kudos_daily_limit=2, kudos_cross_team_exempt=True)
    assert "on their way" in _reply(bot, "<@UJO> for the review")  # cross-team: not counted
    # Only ben's first kudos counted then: one same-team recipient left today.
    assert "on their way" in _reply(bot, "<@UBEN> for the coffee")
    assert "daily limit" in _reply(bot, "<@UBEN> for the cake")


def test_stats_show_only_your_own_month(kudos_bot: RunningBot) -> None:
    bot = kudos_bot
    _reply(bot, "<@UIVY> <@UBEN> for the launch")
    _reply(bot, "<@UANA> for the brief", user_id="UIVY")
    text = _reply(bot, "stats", user_id="UANA")
    assert text.startswith("Your kudos in")
    assert "You gave *1* kudos to 2 people (1 cross-team)" in text
    assert "You received *1* kudos (1 cross-team)" in text
    assert "Only you can see this" in text


def test_picking_someone_in_the_prompt_opens_the_form_for_them(kudos_bot: RunningBot) -> None:
    bot = kudos_bot
    with bot.services.sessions() as session:
        partnership_id = session.scalars(select(Partnership.id)).one()
    payload = block_actions_payload(
        PROMPT_PICK_ACTION_ID,
        user_id="UANA",
        channel_id="DANA",
        block_id=f"kudos_prompt:{partnership_id}",
        trigger_id="88.pick",
    )
    action = payload["actions"][0]
    action.update(
        type="static_select",
        selected_option={"value": "UIVY", "text": {"type": "plain_text", "text": "ivy"}},
    )
    assert bot.slack.interaction(payload).status == 200
    [call] = bot.fake.wait_for("views.open")
    assert call.params["trigger_id"] == "88.pick"
    view = call.json_param("view")
    recipients = next(b for b in view["blocks"] if b.get("block_id") == RECIPIENTS_BLOCK)
    assert recipients["element"]["initial_users"] == ["UIVY"]
    assert json.loads(view["private_metadata"])["p"] == partnership_id


def test_simultaneous_kudos_from_one_giver_stop_at_the_daily_allowance(
    kudos_bot: RunningBot,
) -> None:
    """40 commands at once, each thanking one person: exactly the allowance (5) is kept."""
    bot = kudos_bot
    senders = 40
    start = threading.Barrier(senders)

    def send(n: int) -> tuple[int, str]:
        start.wait()
        response = bot.slack.command(
            f"kudos <@UIVY> for fix number {n}", user_id="UANA", channel_id="CMKT"
        )
        return response.status, str(response.json().get("text"))  # the answer is the ack

    with ThreadPoolExecutor(max_workers=senders) as pool:
        results = list(pool.map(send, range(senders)))
    assert [status for status, _ in results] == [200] * senders
    texts = [text for _, text in results]
    assert sum("on their way" in t for t in texts) == DEFAULT_DAILY_LIMIT
    assert sum("daily limit" in t for t in texts) == senders - DEFAULT_DAILY_LIMIT
    _drain(bot)
    kudos, recipients, interactions, outbox = _counts(bot)
    assert (kudos, recipients, interactions, outbox) == (DEFAULT_DAILY_LIMIT,) * 4
    assert len(_posts(bot)) == DEFAULT_DAILY_LIMIT


def _replayed(bot: RunningBot, caplog: pytest.LogCaptureFixture) -> bool:
    """Send the last request again; True when the app dropped it before any listener ran.

    The drop is decided (and logged) before the answer is sent, so this needs no waiting.
    """
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.middleware"):
        response = bot.slack.replay()
    dropped = any("repeated request" in r.getMessage() for r in caplog.records)
    return (response.status, response.body) == (200, b"") and dropped


def test_a_replayed_kudos_command_changes_nothing(
    kudos_bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """The same signed body sent again within the signature window: one kudos, one post."""
    bot = kudos_bot
    assert "on their way" in _reply(bot, "<@UIVY> for the launch")
    assert _replayed(bot, caplog)
    _drain(bot)
    assert _counts(bot) == (1, 1, 1, 1)
    assert len(_posts(bot)) == 1
    assert bot.fake.calls_to("response_url") == []  # the answer was the ack; the replay got none


def test_a_replayed_form_submission_changes_nothing(
    kudos_bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = kudos_bot
    bot.slack.command("kudos", user_id="UANA", channel_id="CMKT")
    bot.fake.wait_for("views.open")
    submission = view_submission_payload(
        MODAL_CALLBACK_ID,
        _form(["UIVY"], "the fix"),
        user_id="UANA",
        private_metadata=_opened_metadata(bot),
    )
    assert bot.slack.interaction(submission).json()["response_action"] == "update"
    assert _replayed(bot, caplog)
    assert _counts(bot) == (1, 1, 1, 1)
    # A new submission of the same form (a new trigger id) is a new action.
    submission["trigger_id"] = "1337.2.another"
    assert bot.slack.interaction(submission).json()["response_action"] == "update"
    assert _counts(bot)[0] == 2


def test_a_replayed_plus_one_changes_nothing(
    kudos_bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = kudos_bot
    assert "on their way" in _reply(bot, "<@UIVY> for the launch")
    _drain(bot)
    [post] = _posts(bot)
    with bot.services.sessions() as session:
        kudos_id = session.scalars(select(Kudos.id)).one()
    before = len(bot.fake.calls_to("response_url"))
    assert "Your +1 is in" in _press(bot, "UJO", kudos_id, post["ts"])
    assert _replayed(bot, caplog)
    with bot.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(KudosSecond)) == 1
    assert len(bot.fake.calls_to("response_url")) == before + 1


def test_forged_plus_one_values_are_refused(kudos_bot: RunningBot) -> None:
    bot = kudos_bot
    assert "on their way" in _reply(bot, "<@UIVY> for the launch")
    _drain(bot)
    [post] = _posts(bot)
    for value in ("²", "-1", "9" * 25, "1 ", "0"):
        answer = _press_value(bot, "UJO", value, post["ts"])
        assert "out of date" in answer, value
    assert "can't find these kudos" in _press_value(bot, "UJO", "999999", post["ts"])
    with bot.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(KudosSecond)) == 0


def _press_value(bot: RunningBot, user_id: str, value: str, ts: str) -> str:
    before = len(bot.fake.calls_to("response_url"))
    payload = block_actions_payload(
        SECOND_ACTION_ID,
        value,
        user_id=user_id,
        channel_id="CJOINT",
        block_id="kudos_actions",
        message_ts=ts,
        response_url=bot.fake.response_url(),
    )
    assert bot.slack.interaction(payload).status == 200
    calls = bot.fake.wait_for("response_url", count=before + 1)
    return str(calls[before].params["text"])


def test_forged_form_fields_are_refused_inline(kudos_bot: RunningBot) -> None:
    bot = kudos_bot
    bot.slack.command("kudos", user_id="UANA", channel_id="CMKT")
    bot.fake.wait_for("views.open")
    metadata = json.loads(_opened_metadata(bot))
    good = _form(["UIVY"], "the fix", ["ownership"])
    forged_users = _form(["UIVY> <!channel> <@UJO"], "the fix")
    forged_values = _form(["UIVY"], "the fix", ["ownership <!here>"])
    cases: list[tuple[dict[str, Any], str, str]] = [
        (forged_users, json.dumps(metadata), RECIPIENTS_BLOCK),
        (forged_values, json.dumps(metadata), VALUES_BLOCK),
        (good, json.dumps({**metadata, "p": str(metadata["p"])}), RECIPIENTS_BLOCK),
        (good, json.dumps({**metadata, "p": True}), RECIPIENTS_BLOCK),
        (good, json.dumps({**metadata, "c": "C1> <!everyone"}), RECIPIENTS_BLOCK),
        (good, "[" * 3000, RECIPIENTS_BLOCK),
    ]
    for values, private_metadata, block in cases:
        response = bot.slack.interaction(
            view_submission_payload(
                MODAL_CALLBACK_ID, values, user_id="UANA", private_metadata=private_metadata
            )
        )
        answer = response.json()
        assert answer["response_action"] == "errors" and block in answer["errors"], answer
    assert _counts(bot) == (0, 0, 0, 0)
