"""`/tandem mydata` and `/tandem forget me`, through the real endpoint and the outbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.outbox import OutboxSender, Pacer, sender_client
from rituals.interactions import RitualKind
from storage import rituals as ritual_store
from storage import shadowing as shadow_store
from storage.db import transaction
from storage.models import Member, Outbox
from tests.bot.test_standup_service import MONDAY, PEOPLE, World, seed
from tests.e2e.conftest import RunningBot


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Session:
    bot: RunningBot
    clock: Clock
    world: World

    def reply(self, text: str, user_id: str = "UM1") -> str:
        response = self.bot.slack.command(text, user_id=user_id)
        assert response.status == 200
        params = response.json()  # the answer is the ack itself
        assert params["response_type"] == "ephemeral"
        return f"{params['text']}\n{json.dumps(params.get('blocks', []))}"

    def send_outbox(self) -> None:
        settings = self.bot.services.settings
        sender = OutboxSender(
            self.bot.services.sessions,
            sender_client(settings),
            settings,
            "w1",
            pacer=Pacer(1e6, channel_interval=0.0),
        )
        while sender.run_once():
            pass

    def count(self, *where: Any) -> int:
        with self.bot.services.sessions() as session:
            return int(session.scalar(select(func.count()).where(*where)) or 0)


@pytest.fixture
def member(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    clock = Clock(MONDAY + timedelta(hours=8))
    monkeypatch.setattr("bot.my_data.utcnow", clock)
    for uid, name, tz, _ in PEOPLE:
        bot.fake.add_user(uid, name=name.lower(), tz=tz or "UTC")
    yield Session(bot, clock, seed(bot.services))


def test_mydata_sends_the_member_a_json_file_in_their_dm(member: Session) -> None:
    assert "on its way" in member.reply("mydata")
    member.send_outbox()
    fake = member.bot.fake
    (post,) = fake.calls_to("chat.postMessage")
    assert post.params["channel"] == "UM1"
    (complete,) = fake.calls_to("files.completeUploadExternal")
    dm = complete.params["channel_id"]
    assert dm.startswith("D")
    (shared,) = json.loads(complete.params["files"])
    content = fake.file_bytes(shared["id"])
    assert content is not None
    document = json.loads(content)
    assert document["format"] == "tandem-member-data"
    assert document["profile"]["slack_user_id"] == "UM1"
    assert document["profile"]["time_zone"] == "Europe/London"
    assert [seat["team"] for seat in document["teams"]] == ["Marketing"]
    assert set(document) >= {"settings", "interactions", "standup_answers", "kudos", "shadowing"}
    (message,) = [m for m in fake.messages(dm) if m.get("files")]
    assert message["files"][0]["name"].endswith(".json")

    again = member.reply("mydata")
    assert "already sent you your data at 08:00 UTC" in again and "after 08:10 UTC" in again
    member.clock.now += timedelta(minutes=11)
    assert "on its way" in member.reply("mydata")
    # Only the new export's rows are kept: the sent ones held a copy of the data.
    exports = Outbox.idempotency_key.startswith("mydata:")
    assert member.count(exports) == 2 and member.count(exports, Outbox.status == "sent") == 0


def test_mydata_for_someone_tandem_does_not_know(member: Session) -> None:
    member.bot.fake.add_user("UNEW")
    assert "keeps no data about you" in member.reply("mydata", user_id="UNEW")
    assert "takes no words" in member.reply("mydata <!channel>")
    assert member.count(Outbox.id.is_not(None)) == 0


def test_forget_me_asks_first_then_forgets(member: Session) -> None:
    member.reply("mydata")
    warning = member.reply("forget me")
    assert "stay in Slack" in warning and "/tandem forget me confirm" in warning
    assert "cannot be undone" in warning
    assert member.count(Member.slack_user_id == "UM1") == 1  # nothing happened yet

    assert "/tandem forget me" in member.reply("forget everything")
    assert member.count(Member.slack_user_id == "UM1") == 1

    done = member.reply("forget me confirm")
    assert "forgotten you" in done and "Kudos messages already posted stay in Slack" in done
    assert member.count(Member.slack_user_id == "UM1") == 0
    assert member.count(Member.id == member.world.members["UM1"], Member.is_deleted.is_(True)) == 1
    assert member.count(Outbox.idempotency_key.startswith("mydata:")) == 0  # its copy went too
    assert "keeps no data about you" in member.reply("mydata")
    assert "keeps no data about you" in member.reply("forget me confirm")


def test_a_shadowing_partner_hears_the_pairing_is_off_by_name(member: Session) -> None:
    services, world = member.bot.services, member.world
    with transaction(services.sessions) as session:
        ritual = ritual_store.create(
            session,
            partnership_id=world.partnership,
            kind=RitualKind.SHADOWING,
            cron="0 10 * * 1",
            timezone="UTC",
            now=MONDAY,
        )
        round_id = shadow_store.create_round(session, ritual.id, 1, MONDAY.date(), MONDAY)
        pairing = shadow_store.NewPairing(world.members["UI1"], (world.members["UM1"],))
        shadow_store.add_pairings(session, round_id, [pairing], None)
    member.reply("forget me confirm")
    with services.sessions() as session:
        payloads = {
            key: payload
            for key, payload in session.execute(select(Outbox.idempotency_key, Outbox.payload))
        }
    (left,) = [p for k, p in payloads.items() if "partner_left" in k]
    assert left["channel"] == "UI1" and "<@UM1>" in left["text"]
    assert "anon-" not in json.dumps(payloads)


def test_help_lists_the_new_commands(member: Session) -> None:
    response = member.bot.slack.command("help", user_id="UM1")
    text = json.dumps(response.json())
    assert "/tandem mydata" in text and "/tandem forget me" in text
