"""Joint standups end to end: signed requests to the real endpoint, a fake Slack, the real outbox.

Prompt → "Answer" button → modal → submission → summary parent and thread
reply; edits in place, late answers, reminders, help between the teams, and
every kind of bad input. The tick and the outbox sender are driven with an
explicit `now`; the listeners' clock is pinned with monkeypatch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.outbox import OutboxSender, Pacer
from bot.tick import tick
from bot.views.standup import ACTION_ANSWER, ACTION_OFFER_HELP, ACTION_RESOLVE_ASK, VIEW_ANSWER
from rituals.interactions import InteractionKind
from rituals.standup import NO_BLOCKER
from storage import standups as store
from storage.models import Interaction, Outbox, StandupAsk
from tests.bot.test_standup_service import LONDON_PROMPT, MONDAY, PEOPLE, World, seed, state
from tests.e2e.conftest import ADMIN, RunningBot
from tests.fakes.signed import block_actions_payload, view_submission_payload
from tests.fakes.slack_api import DEFAULT_TOKEN, Call


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Standup:
    bot: RunningBot
    clock: Clock
    world: World

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

    def tick(self, at: datetime) -> None:
        self.clock.now = at
        tick(self.bot.services, at)
        self.drain()

    def day(self) -> int:
        with self.bot.services.sessions() as session:
            found = store.find_day(session, self.world.ritual, self.clock.now.date())
        assert found is not None
        return found.id

    def click_answer(self, user_id: str, value: str) -> dict[str, Any] | None:
        """Press the prompt's button; the modal Slack was asked to open, if any."""
        opened = len(self.bot.fake.calls_to("views.open"))
        answered = len(self.bot.fake.calls_to("response_url"))
        payload = block_actions_payload(
            ACTION_ANSWER,
            value,
            user_id=user_id,
            channel_id="DPROMPT",
            response_url=self.bot.fake.response_url(),
        )
        assert self.bot.slack.interaction(payload).status == 200
        if value.isdigit() and user_id in {uid for uid, *_ in PEOPLE}:
            view = self.bot.fake.wait_for("views.open", count=opened + 1)[opened]
            return dict(view.json_param("view"))
        self.bot.fake.wait_for("response_url", count=answered + 1)
        return None

    def submit(self, user_id: str, day_id: int, **answers: str | tuple[str, ...]) -> dict[str, Any]:
        payload = view_submission_payload(
            VIEW_ANSWER,
            state(**answers),
            user_id=user_id,
            private_metadata=json.dumps({"day": day_id}),
        )
        response = self.bot.slack.interaction(payload)
        assert response.status == 200
        return dict(response.json())

    def last_reply(self) -> dict[str, Any]:
        return dict(self.bot.fake.calls_to("response_url")[-1].params)


@pytest.fixture
def standup(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[Standup]:
    clock = Clock(MONDAY)
    monkeypatch.setattr("bot.listeners.standup.utcnow", clock)
    for uid, name, tz, _ in PEOPLE:
        bot.fake.add_user(uid, name=name.lower(), tz=tz or "UTC")
    bot.fake.add_user("UX1", name="outsider")
    bot.fake.add_channel("CJOINT", "mkt-it", [uid for uid, *_ in PEOPLE])
    yield Standup(bot, clock, seed(bot.services))


def _posts_to(calls: list[Call], channel: str) -> list[Call]:
    return [
        c for c in calls if c.method == "chat.postMessage" and c.params.get("channel") == channel
    ]


def _text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", [])) + message.get("text", "")


def test_prompt_button_modal_answer_summary_thread_edit_and_late(standup: Standup) -> None:
    fake = standup.bot.fake
    standup.tick(LONDON_PROMPT + timedelta(seconds=5))
    [prompt] = _posts_to(fake.calls, "UM1")
    button = prompt.json_param("blocks")[1]["elements"][0]
    assert button["action_id"] == ACTION_ANSWER and button["text"]["text"] == "Answer"

    standup.clock.now = LONDON_PROMPT + timedelta(minutes=10)
    modal = standup.click_answer("UM1", button["value"])
    assert modal is not None and modal["callback_id"] == VIEW_ANSWER
    assert [b.get("block_id") for b in modal["blocks"][1:]] == [
        "done",
        "today",
        "blockers",
        NO_BLOCKER,
        "ask",
    ]
    questions = [b for b in modal["blocks"][1:] if b["block_id"] != NO_BLOCKER]
    assert all(b["element"]["type"] == "rich_text_input" for b in questions)

    before = len(fake.calls)
    answer = standup.submit(
        "UM1",
        int(button["value"]),
        done="the launch plan",
        today=("pairing with ", "@UI1", " on <DNS> & certs"),
        blockers="IT has not approved the DNS change",
        ask="a staging login",
    )
    assert answer["response_action"] == "update"
    assert "Thanks!" in json.dumps(answer["view"])
    standup.drain()
    caused = fake.calls[before:]
    assert [c.method for c in caused] == ["chat.postMessage", "chat.postMessage"]
    parent, reply = fake.messages("CJOINT")
    assert reply["thread_ts"] == parent["ts"]
    assert "Marketing* 1/1 answered" in _text(parent) and "names IT" in _text(parent)
    assert "a staging login" in _text(parent)
    assert "pairing with <@UI1> on &lt;DNS&gt; &amp; certs" in _text(reply)
    assert ACTION_OFFER_HELP in _text(reply)

    # An edit before the cutoff changes both messages in place.
    standup.clock.now = LONDON_PROMPT + timedelta(minutes=20)
    edited = standup.submit("UM1", int(button["value"]), today="solo on the DNS", blockers="none")
    assert "edited in place" in json.dumps(edited["view"])
    before = len(fake.calls)
    standup.drain()
    assert sorted(c.method for c in fake.calls[before:]) == ["chat.update", "chat.update"]
    parent, reply = fake.messages("CJOINT")
    assert "solo on the DNS" in _text(reply) and "pairing" not in _text(reply)
    assert "Blockers" not in _text(parent) and "edited" in reply

    # After the cutoff an answer is accepted as late and added to the thread.
    standup.clock.now = LONDON_PROMPT + timedelta(hours=5)
    late = standup.submit("UI2", int(button["value"]), today="patching servers")
    assert "late answer" in json.dumps(late["view"]) and "Posted as late" in json.dumps(
        late["view"]
    )
    standup.drain()
    messages = fake.messages("CJOINT")
    assert len(messages) == 3 and messages[2]["thread_ts"] == messages[0]["ts"]
    assert "_late_" in _text(messages[2]) and "1 late" in _text(messages[0])
    with standup.bot.services.sessions() as session:
        kinds = sorted(session.scalars(select(Interaction.kind)))
    assert kinds == ["standup_answer", "standup_answer"]  # the mention and blocker were edited away


def no_blocker_box(ticked: bool) -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": "No blockers today"}, "value": "yes"}
    return {
        NO_BLOCKER: {
            "no_blocker": {"type": "checkboxes", "selected_options": [option] if ticked else []}
        }
    }


def test_no_blocker_ticked_or_said_is_not_a_blocker(standup: Standup) -> None:
    """The box wins over the text; "No blockers, thanks!" and "RAS" are no blockers either."""
    fake = standup.bot.fake
    standup.tick(LONDON_PROMPT + timedelta(seconds=5))
    standup.clock.now = LONDON_PROMPT + timedelta(minutes=10)
    day = standup.day()
    payload = view_submission_payload(
        VIEW_ANSWER,
        {**state(today="copy", blockers="IT has not approved the DNS"), **no_blocker_box(True)},
        user_id="UM1",
        private_metadata=json.dumps({"day": day}),
    )
    assert standup.bot.slack.interaction(payload).status == 200
    standup.submit("UI2", day, today="servers", blockers="No blockers, thanks!")
    standup.submit("UI1", day, today="certs", blockers="RAS")
    standup.drain()
    parent = fake.messages("CJOINT")[0]
    assert "blocker" not in parent["text"] and "Blockers" not in _text(parent)
    with standup.bot.services.sessions() as session:
        kinds = set(session.scalars(select(Interaction.kind)))
        answers = [a.answers for a in store.day_answers(session, day)]
    assert InteractionKind.BLOCKER.value not in kinds
    assert {"today": "copy", NO_BLOCKER: "yes"} in answers
    # Reopened, the modal shows the box ticked.
    standup.clock.now += timedelta(minutes=1)
    modal = standup.click_answer("UM1", str(day))
    assert modal is not None
    box = next(b for b in modal["blocks"] if b.get("block_id") == NO_BLOCKER)
    assert box["element"]["initial_options"][0]["value"] == "yes"

    # Unticked again, a real blocker counts.
    payload = view_submission_payload(
        VIEW_ANSWER,
        {**state(today="copy", blockers="IT has not approved the DNS"), **no_blocker_box(False)},
        user_id="UM1",
        private_metadata=json.dumps({"day": day}),
    )
    assert standup.bot.slack.interaction(payload).status == 200
    standup.drain()
    assert "1 blocker" in fake.messages("CJOINT")[0]["text"]


def test_the_reminder_goes_only_to_those_who_have_not_answered(standup: Standup) -> None:
    fake = standup.bot.fake
    standup.tick(LONDON_PROMPT + timedelta(seconds=5))
    standup.clock.now = LONDON_PROMPT + timedelta(minutes=5)
    standup.submit("UM1", standup.day(), today="writing copy")
    standup.clock.now = LONDON_PROMPT + timedelta(hours=3)
    standup.drain()
    assert len(_posts_to(fake.calls, "UI2")) == 2  # prompt, then the reminder
    assert len(_posts_to(fake.calls, "UM1")) == 1
    [reminder] = _posts_to(fake.calls, "UI2")[1:]
    assert "Reminder" in reminder.params["text"]
    with standup.bot.services.sessions() as session:
        cancelled = session.scalars(
            select(Outbox.idempotency_key).where(Outbox.status == "cancelled")
        ).all()
    assert [key.split(":")[-2:] for key in cancelled] == [["reminder", "UM1"]]


def _ask(standup: Standup) -> tuple[int, dict[str, Any]]:
    standup.tick(LONDON_PROMPT + timedelta(seconds=5))
    standup.clock.now = LONDON_PROMPT + timedelta(minutes=5)
    standup.submit("UM1", standup.day(), ask=("a staging login from ", "@UI1"))
    standup.drain()
    reply = standup.bot.fake.messages("CJOINT")[1]
    with standup.bot.services.sessions() as session:
        ask_id = session.scalars(select(StandupAsk.id)).one()
    return ask_id, reply


def _press(
    standup: Standup, action: str, value: str, user_id: str, ts: str, channel: str
) -> dict[str, Any]:
    fake = standup.bot.fake
    answered = len(fake.calls_to("response_url"))
    payload = block_actions_payload(
        action,
        value,
        user_id=user_id,
        channel_id=channel,
        message_ts=ts,
        response_url=fake.response_url(),
    )
    assert standup.bot.slack.interaction(payload).status == 200
    return dict(fake.wait_for("response_url", count=answered + 1)[answered].params)


def test_i_can_help_opens_a_group_dm_and_the_requester_resolves(standup: Standup) -> None:
    fake = standup.bot.fake
    ask_id, reply = _ask(standup)
    button = next(b for b in reply["blocks"] if b["type"] == "actions")["elements"][0]
    assert (button["action_id"], button["value"]) == (ACTION_OFFER_HELP, str(ask_id))

    same_team = _press(standup, ACTION_OFFER_HELP, str(ask_id), "UM2", reply["ts"], "CJOINT")
    assert (
        "Reply in the thread instead" in same_team["text"]
        and same_team["response_type"] == "ephemeral"
    )
    outsider = _press(standup, ACTION_OFFER_HELP, str(ask_id), "UX1", reply["ts"], "CJOINT")
    assert "not in one of them" in outsider["text"]

    offered = _press(standup, ACTION_OFFER_HELP, str(ask_id), "UI1", reply["ts"], "CJOINT")
    assert "group DM between you and <@UM1>" in offered["text"]
    standup.drain()
    [opened] = fake.calls_to("conversations.open")
    assert opened.params["users"] == "UI1,UM1"
    group = opened.reply["channel"]["id"] if opened.reply else ""
    [dm] = fake.messages(group)
    resolve = next(b for b in dm["blocks"] if b["type"] == "actions")["elements"][0]
    assert resolve["action_id"] == ACTION_RESOLVE_ASK

    by_helper = _press(standup, ACTION_RESOLVE_ASK, resolve["value"], "UI1", dm["ts"], group)
    assert "Only <@UM1>" in by_helper["text"]
    by_requester = _press(standup, ACTION_RESOLVE_ASK, resolve["value"], "UM1", dm["ts"], group)
    assert by_requester.get("replace_original") in (True, "true")
    assert "marked this resolved" in json.dumps(by_requester.get("blocks"))
    with standup.bot.services.sessions() as session:
        flows = [
            (i.kind, i.provider_member_id, i.beneficiary_member_id)
            for i in session.scalars(select(Interaction).order_by(Interaction.id))
            if i.kind in (InteractionKind.HELP_OFFERED.value, InteractionKind.HELP_GIVEN.value)
        ]
        resolved = session.scalars(select(StandupAsk.resolved_at)).one()
    helper, requester = standup.world.members["UI1"], standup.world.members["UM1"]
    assert flows == [("help_offered", helper, requester), ("help_given", helper, requester)]
    assert resolved is not None


BAD_ANSWERS: list[tuple[dict[str, str], str, str]] = [
    ({}, "done", "Answer at least one question"),
    ({"done": "  ", "today": "\n"}, "done", "Answer at least one question"),
    ({"today": "y" * 2500}, "today", "limited to 2,000 characters"),
]


def test_bad_answers_are_shown_inline_and_nothing_is_saved(standup: Standup) -> None:
    standup.tick(LONDON_PROMPT + timedelta(seconds=5))
    rows_before = _rows(standup)
    for answers, block, words in BAD_ANSWERS:
        response = standup.submit("UM1", standup.day(), **answers)
        assert response["response_action"] == "errors" and words in response["errors"][block]
    assert _rows(standup) == rows_before
    with standup.bot.services.sessions() as session:
        answer = store.get_answer(session, standup.day(), standup.world.members["UM1"])
    assert answer is not None and answer.answered_at is None


def _rows(standup: Standup) -> list[tuple[str, str]]:
    with standup.bot.services.sessions() as session:
        return [
            (r.idempotency_key, r.status)
            for r in session.scalars(select(Outbox).order_by(Outbox.id))
        ]


def test_someone_outside_the_partnership_is_told_and_nothing_changes(standup: Standup) -> None:
    standup.tick(LONDON_PROMPT + timedelta(seconds=5))
    day_id = standup.day()
    assert standup.click_answer("UX1", str(day_id)) is None
    assert "not a member of those teams" in standup.last_reply()["text"]
    response = standup.submit("UX1", day_id, today="let me in")
    assert response["response_action"] == "errors"
    assert "not a member of those teams" in next(iter(response["errors"].values()))
    assert standup.click_answer("UM1", "not-a-number") is None
    assert "out of date" in standup.last_reply()["text"]
    with standup.bot.services.sessions() as session:
        assert session.scalars(select(Interaction)).all() == []


def test_a_deleted_joint_channel_kills_the_post_but_keeps_answers(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(MONDAY)
    monkeypatch.setattr("bot.listeners.standup.utcnow", clock)
    for uid, name, tz, _ in PEOPLE:
        bot.fake.add_user(uid, name=name.lower(), tz=tz or "UTC")
    standup = Standup(bot, clock, seed(bot.services, channel="CDELETED"))
    standup.tick(LONDON_PROMPT + timedelta(seconds=5))
    standup.clock.now = LONDON_PROMPT + timedelta(minutes=1)
    first = standup.submit("UM1", standup.day(), today="first answer")
    assert first["response_action"] == "update"
    standup.drain()
    statuses = dict(_rows(standup))
    day_id = standup.day()
    assert statuses[f"standup:day:{day_id}:summary"] == "dead"
    assert statuses[f"standup:day:{day_id}:answer:{standup.world.members['UM1']}:post1"] == "dead"
    second = standup.submit("UI2", day_id, today="second answer")
    assert "couldn't post" in json.dumps(
        second["view"]
    ) and "nothing you wrote is lost" in json.dumps(second["view"])
    with bot.services.sessions() as session:
        saved = [a.answers for a in store.day_answers(session, day_id)]
    assert saved == [{"today": "first answer"}, {"today": "second answer"}]
    status = bot.slack.command("admin status", user_id=ADMIN).json()
    assert "2 dead" in status["text"] and "channel_not_found" in json.dumps(status["blocks"])


def test_tandem_standup_opens_the_modal_or_says_when_the_next_prompt_is(standup: Standup) -> None:
    fake = standup.bot.fake
    standup.clock.now = LONDON_PROMPT - timedelta(hours=1)
    early = standup.bot.slack.command("standup", user_id="UM1").json()
    assert "Your next prompt is" in early["text"]
    standup.tick(LONDON_PROMPT + timedelta(seconds=5))
    standup.clock.now = LONDON_PROMPT + timedelta(minutes=2)
    standup.bot.slack.command("standup", user_id="UM1")
    [opened] = fake.wait_for("views.open", count=1)
    assert json.loads(opened.json_param("view")["private_metadata"]) == {"day": standup.day()}
    outsider = standup.bot.slack.command("standup", user_id="UX1").json()
    assert "not in a team with a joint standup" in outsider["text"]


def test_admins_hear_once_about_members_prompted_without_a_usable_time_zone(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(LONDON_PROMPT + timedelta(seconds=5))
    monkeypatch.setattr("bot.admin.utcnow", clock)
    standup = Standup(
        bot, clock, seed(bot.services, people=[*PEOPLE, ("UM3", "Noa", None, "Marketing")])
    )
    standup.tick(LONDON_PROMPT + timedelta(seconds=5))
    standup.tick(LONDON_PROMPT + timedelta(days=1, seconds=5))
    status = bot.slack.command("admin status", user_id=ADMIN).json()
    rendered = json.dumps(status["blocks"])
    assert rendered.count("<@UM3> has no usable time zone") == 1
    prompts = [c for c in _posts_to(bot.fake.calls, "UM3") if "Reminder" not in c.params["text"]]
    assert len(prompts) == 2  # prompted at 09:30 in the default zone, both days


def _help_flows(standup: Standup) -> list[tuple[str, int | None]]:
    with standup.bot.services.sessions() as session:
        return [
            (i.kind, i.provider_member_id)
            for i in session.scalars(select(Interaction).order_by(Interaction.id))
            if i.kind in (InteractionKind.HELP_OFFERED.value, InteractionKind.HELP_GIVEN.value)
        ]


def _resolved_at(standup: Standup) -> datetime | None:
    with standup.bot.services.sessions() as session:
        return session.scalars(select(StandupAsk.resolved_at)).one()


def test_resolve_credits_only_someone_who_offered_help(standup: Standup) -> None:
    """Forged "Mark resolved" values: a polite refusal, and nothing credited or closed."""
    ask_id, reply = _ask(standup)
    helper, other = standup.world.members["UI1"], standup.world.members["UI2"]
    offered = _press(standup, ACTION_OFFER_HELP, str(ask_id), "UI1", reply["ts"], "CJOINT")
    assert "group DM" in offered["text"]
    before = _help_flows(standup)
    assert before == [("help_offered", helper)]

    forged = [
        (f"{ask_id}:{other}", "doesn't match anyone who offered help"),  # a member, no offer
        (f"{ask_id}:999999", "doesn't match anyone who offered help"),  # no such member
        (f"{ask_id}:{standup.world.members['UM1']}", "doesn't match anyone who offered"),
        (f"{ask_id}:²", "out of date"),
        (f"{ask_id}:-{helper}", "out of date"),
        (f"{ask_id}:{helper}:1", "out of date"),
        (f"{ask_id}:{'9' * 25}", "out of date"),
        (f"999999:{helper}", "withdrawn"),
        ("", "out of date"),
    ]
    for value, words in forged:
        answer = _press(standup, ACTION_RESOLVE_ASK, value, "UM1", "1.0", "GDM")
        assert words in answer["text"], (value, answer)
        assert answer.get("response_type") == "ephemeral"
    # The helper's own real value, clicked by someone other than the requester.
    by_helper = _press(standup, ACTION_RESOLVE_ASK, f"{ask_id}:{helper}", "UI1", "1.0", "GDM")
    assert "Only <@UM1>" in by_helper["text"]
    assert _help_flows(standup) == before and _resolved_at(standup) is None

    done = _press(standup, ACTION_RESOLVE_ASK, f"{ask_id}:{helper}", "UM1", "1.0", "GDM")
    assert "marked this resolved" in json.dumps(done.get("blocks"))
    assert _help_flows(standup) == [("help_offered", helper), ("help_given", helper)]


def test_forged_standup_buttons_and_metadata_change_nothing(standup: Standup) -> None:
    standup.tick(LONDON_PROMPT + timedelta(seconds=5))
    day_id = standup.day()
    for value in ("²", "-1", f" {day_id}", "9" * 25, "0"):
        answer = _press(standup, ACTION_ANSWER, value, "UM1", "1.0", "DPROMPT")
        assert "out of date" in answer["text"], value
    fake = standup.bot.fake
    for value in ("²", "9" * 25, "1e3"):
        answer = _press(standup, ACTION_OFFER_HELP, value, "UI1", "1.0", "CJOINT")
        assert "withdrawn" in answer["text"] and answer["response_type"] == "ephemeral"
    for metadata in (
        json.dumps({"day": True}),
        json.dumps({"day": str(day_id)}),
        json.dumps({"day": 2**70}),
        json.dumps([day_id]),
        "[" * 5000 + "]" * 5000,
        "not json",
    ):
        payload = view_submission_payload(
            VIEW_ANSWER, state(today="hello"), user_id="UM1", private_metadata=metadata
        )
        response = standup.bot.slack.interaction(payload)
        assert response.status == 200, metadata[:20]
        assert response.json()["response_action"] == "errors", metadata[:20]
    assert _rows(standup)  # the prompts are there ...
    with standup.bot.services.sessions() as session:
        assert session.scalars(select(Interaction)).all() == []  # ... and nothing was logged
    assert not fake.calls_to("views.open")
