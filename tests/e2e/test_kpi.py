"""Joint KPIs end to end: define → prompt → check-in → board updated in place → celebration."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.kpi.views import KUDOS_ACTION_ID
from bot.outbox import OutboxSender, Pacer
from bot.tick import tick
from rituals.interactions import InteractionKind, InterdependenceType, RitualKind
from storage import audit, org
from storage import rituals as ritual_store
from storage.db import transaction
from storage.models import Interaction
from tests.e2e.conftest import ADMIN, RunningBot
from tests.fakes.signed import block_actions_payload
from tests.fakes.slack_api import DEFAULT_TOKEN, TEAM_ID, Call

pytestmark = pytest.mark.e2e

MONDAY = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
PROMPT_AT = datetime(2026, 3, 9, 10, 0, 5, tzinfo=UTC)  # 10:00 in London (GMT in March)
THURSDAY = PROMPT_AT + timedelta(days=3)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Kpis:
    bot: RunningBot
    clock: Clock
    ids: dict[str, int]

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

    def command(self, text: str, user_id: str) -> str:
        response = self.bot.slack.command(text, user_id=user_id, channel_id="CJOINT")
        assert response.status == 200
        params = response.json()  # the answer is the ack itself
        self.drain()
        return f"{params['text']}\n{json.dumps(params.get('blocks', []))}"


@pytest.fixture
def kpi_bot(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[Kpis]:
    clock = Clock(MONDAY)
    monkeypatch.setattr("bot.kpi.listeners.utcnow", clock)
    monkeypatch.setattr("bot.listeners.home.utcnow", clock)
    fake = bot.fake
    people = [
        ("UANA", "Europe/London"),
        ("UBEN", "Europe/London"),
        ("UIVY", "Asia/Kolkata"),
        ("UJO", "America/New_York"),
        ("ULEAD", "Europe/London"),
    ]
    for uid, tz in people:
        fake.add_user(uid, name=uid[1:].lower(), tz=tz)
    fake.add_channel("CJOINT", "mkt-it", [uid for uid, _ in people])
    workspace = bot.services.workspace_id(TEAM_ID)
    with transaction(bot.services.sessions) as session:
        marketing = org.add_team(session, workspace, "Marketing", "usergroup", "SMKT", MONDAY).id
        it = org.add_team(session, workspace, "IT", "usergroup", "SIT", MONDAY).id
        ids = org.upsert_members(
            session,
            workspace,
            [org.MemberProfile(uid, uid[1:].lower(), tz) for uid, tz in people],
            MONDAY,
        )
        org.set_team_roster(session, marketing, {ids["UANA"], ids["UBEN"]}, MONDAY)
        org.set_team_roster(session, it, {ids["UIVY"], ids["UJO"]}, MONDAY)
        partnership = org.add_partnership(
            session,
            workspace,
            "Marketing + IT",
            ["Marketing", "IT"],
            "CJOINT",
            ["ULEAD"],
            InterdependenceType.RECIPROCAL,
            MONDAY,
        )
        ritual_store.create(
            session,
            partnership_id=partnership.id,
            kind=RitualKind.KPI_CHECKIN,
            cron="0 10 * * 1,4",
            timezone="Europe/London",
            now=MONDAY,
        )
    yield Kpis(bot, clock, ids)


ADD = (
    'kpi add "Lead time" baseline=10 target=2 by=2026-06-01 lower unit=days '
    "owners=<@UANA|ana>,<@UIVY|ivy>"
)


def _posts(calls: list[Call], channel: str) -> list[Call]:
    return [
        c for c in calls if c.method == "chat.postMessage" and c.params.get("channel") == channel
    ]


def test_define_prompt_remind_check_in_board_in_place_and_celebrate(kpi_bot: Kpis) -> None:
    fake = kpi_bot.bot.fake
    # A member who is neither admin nor leader cannot define one; nothing is written.
    refused = kpi_bot.command(ADD, "UBEN")
    assert "Only admins and the partnership's leaders" in refused
    assert _posts(fake.calls, "CJOINT") == []

    added = kpi_bot.command(ADD, "ULEAD")
    assert "Joint KPI *Lead time* added" in added
    with kpi_bot.bot.services.sessions() as session:
        [entry] = [
            e
            for e in audit.recent(session, kpi_bot.bot.services.workspace_id(TEAM_ID))
            if e.action == "kpi.add"
        ]
    assert entry.actor_user_id == "ULEAD" and entry.after and entry.after["target"] == 2
    [board] = _posts(fake.calls, "CJOINT")
    assert "Lead time" in json.dumps(board.json_param("blocks"))
    assert board.reply is not None
    board_ts = board.reply["ts"]

    # Monday 10:00: both owners are prompted by DM, nobody else.
    kpi_bot.tick(PROMPT_AT)
    assert {
        c.params["channel"]
        for c in fake.calls
        if c.method == "chat.postMessage" and c.params["channel"].startswith("U")
    } == {"UANA", "UIVY"}
    assert "Time to check in" in _posts(fake.calls, "UANA")[0].params["text"]
    # Thursday: one reminder each; the next Thursday tick of the same week adds nothing.
    kpi_bot.tick(THURSDAY)
    assert len(_posts(fake.calls, "UANA")) == 2
    assert "Reminder" in _posts(fake.calls, "UANA")[1].params["text"]
    kpi_bot.tick(THURSDAY + timedelta(hours=1))
    assert len(_posts(fake.calls, "UANA")) == 2

    # Check-in from IT: 25 % of the way from 10 to 2 days.
    kpi_bot.clock.now = THURSDAY + timedelta(hours=2)
    reply = kpi_bot.command('kpi update "Lead time" 8 faster reviews <!channel>', "UIVY")
    assert "Checked in" in reply and "25 %" in reply
    updates = [c for c in fake.calls if c.method == "chat.update"]
    assert len(updates) == 1
    assert updates[0].params["channel"] == "CJOINT"
    assert updates[0].params["ts"] == board_ts  # the same message, edited in place
    blocks = json.dumps(updates[0].json_param("blocks"))
    assert "8 days of 2 days" in blocks and "<@UIVY>" in blocks
    celebrations = [
        c for c in _posts(fake.calls, "CJOINT") if ":tada:" in json.dumps(c.json_param("blocks"))
    ]
    [celebration] = celebrations
    text = json.dumps(celebration.json_param("blocks"))
    assert "<@UANA>" in text and "<@UIVY>" in text and "Marketing" in text and "IT" in text
    assert KUDOS_ACTION_ID in text
    # `/tandem kpi` lists the member's KPIs with where they stand.
    listed = kpi_bot.command("kpi", "UANA")
    assert "Lead time" in listed and "8 days of 2 days" in listed
    # The same value again celebrates nothing new and leaves the board as it was.
    kpi_bot.command('kpi update "Lead time" 8 same', "UANA")
    assert len([c for c in fake.calls if ":tada:" in json.dumps(c.params.get("blocks", ""))]) == 1

    # Co-delivery between the owners, both ways once each check-in.
    with kpi_bot.bot.services.sessions() as session:
        kinds = session.execute(
            select(Interaction.provider_member_id, Interaction.beneficiary_member_id).where(
                Interaction.kind == InteractionKind.CO_DELIVERY.value
            )
        ).all()
    assert sorted(kinds) == sorted(
        [(kpi_bot.ids["UIVY"], kpi_bot.ids["UANA"]), (kpi_bot.ids["UANA"], kpi_bot.ids["UIVY"])]
    )
    # No broadcast was ever built from the note.
    assert all(
        "<!channel>" not in json.dumps(c.params)
        for c in fake.calls
        if c.method in ("chat.postMessage", "chat.update")
    )

    # The kudos button opens the kudos form with the other owner filled in.
    opened = len(fake.calls_to("views.open"))
    payload = block_actions_payload(KUDOS_ACTION_ID, "1", user_id="UANA", channel_id="CJOINT")
    assert kpi_bot.bot.slack.interaction(payload).status == 200
    view = fake.wait_for("views.open", count=opened + 1)[opened].json_param("view")
    assert "UIVY" in json.dumps(view)


def test_bad_kpi_input_changes_nothing(kpi_bot: Kpis) -> None:
    fake = kpi_bot.bot.fake
    for text in (
        'kpi add "Lead time" baseline=x target=2 by=2026-06-01 owners=<@UANA>,<@UIVY>',
        'kpi add "Lead time" baseline=1 target=2 by=2026-06-01 owners=<@UANA>,<@UBEN>',
        'kpi add "Lead time" baseline=1 target=2 by=2026-01-01 owners=<@UANA>,<@UIVY>',
        'kpi add "Lead time" baseline=1 target=2 by=2026-06-01 owners=<!channel>',
        "kpi update nothing",
        'kpi update "Nope" 3',
        "kpi frobnicate",
    ):
        reply = kpi_bot.command(text, ADMIN if "add" in text else "UANA")
        assert "Joint KPI" not in reply.split("\n")[0] or "added" not in reply
    assert _posts(fake.calls, "CJOINT") == []
    assert "You own no joint KPI" in kpi_bot.command("kpi", "UANA")


def test_admins_add_the_kpi_and_pulse_rituals_with_their_defaults(kpi_bot: Kpis) -> None:
    pulse = kpi_bot.command('admin ritual add "Marketing + IT" pulse', ADMIN)
    assert "Added pulse" in pulse, pulse
    # The partnership already has a KPI check-in ritual from the fixture.
    again = kpi_bot.command('admin ritual add "Marketing + IT" kpi_checkin', ADMIN)
    assert "already has a kpi_checkin ritual" in again or "already has a kpi checkin" in again
    with kpi_bot.bot.services.sessions() as session:
        kinds = {r.kind: r for r in ritual_store.list_active(session)}
    assert kinds["pulse"].timezone == "member-local"
    assert kinds["pulse"].cron == "0 15 20-31 * 1-5"


def _publishes(kpi_bot: Kpis, user_id: str) -> list[dict[str, object]]:
    return [
        dict(c.json_param("view"))
        for c in kpi_bot.bot.fake.calls_to("views.publish")
        if c.params.get("user_id") == user_id
    ]


def _open_home(kpi_bot: Kpis, user_id: str) -> str:
    before = len(_publishes(kpi_bot, user_id))
    event = {"type": "app_home_opened", "user": user_id, "channel": "DHOME", "tab": "home"}
    assert kpi_bot.bot.slack.event(event).status == 200
    for _ in range(200):  # the event is handled after its ack: a bounded number of polls
        kpi_bot.drain()
        published = _publishes(kpi_bot, user_id)
        if len(published) > before:
            return json.dumps(published[-1])
        time.sleep(0.05)
    raise AssertionError("no Home was published")


def test_app_home_form_defines_a_kpi_and_owners_see_it_at_home(kpi_bot: Kpis) -> None:
    from bot.kpi.form import CALLBACK_ID, OPEN_ACTION_ID
    from tests.fakes.signed import view_submission_payload

    fake = kpi_bot.bot.fake
    assert OPEN_ACTION_ID in _open_home(kpi_bot, "ULEAD")  # a leader gets the button
    assert OPEN_ACTION_ID not in _open_home(kpi_bot, "UBEN")  # a member does not

    opened = len(fake.calls_to("views.open"))
    payload = block_actions_payload(OPEN_ACTION_ID, None, user_id="ULEAD", channel_id=None)
    assert kpi_bot.bot.slack.interaction(payload).status == 200
    modal = fake.wait_for("views.open", count=opened + 1)[opened].json_param("view")
    assert modal["callback_id"] == CALLBACK_ID

    def submit(owners: list[str], name: str = "Lead time") -> dict[str, object]:
        values = {
            "name": {"value": {"type": "plain_text_input", "value": name}},
            "unit": {"value": {"type": "plain_text_input", "value": "days"}},
            "direction": {
                "value": {"type": "radio_buttons", "selected_option": {"value": "lower"}}
            },
            "baseline": {"value": {"type": "plain_text_input", "value": "10"}},
            "target": {"value": {"type": "plain_text_input", "value": "2"}},
            "by": {"value": {"type": "datepicker", "selected_date": "2026-06-01"}},
            "cadence": {"value": {"type": "radio_buttons", "selected_option": {"value": "weekly"}}},
            "owners": {"value": {"type": "multi_users_select", "selected_users": owners}},
        }
        sent = view_submission_payload(
            CALLBACK_ID, values, user_id="ULEAD", private_metadata=modal["private_metadata"]
        )
        response = kpi_bot.bot.slack.interaction(sent)
        assert response.status == 200
        return dict(response.json())

    refused = submit(["UANA", "UBEN"])  # both from Marketing
    assert refused["response_action"] == "errors"
    assert "two teams" in json.dumps(refused)
    added = submit(["UANA", "UIVY"])
    assert added["response_action"] == "update" and "added" in json.dumps(added)
    kpi_bot.drain()
    home = _open_home(kpi_bot, "UIVY")
    assert "Your joint KPIs" in home and "Lead time" in home
    assert "You own no joint KPI" in kpi_bot.command("kpi", "UBEN")  # not an owner


def test_member_local_check_ins_reach_each_owner_at_their_own_ten_oclock(kpi_bot: Kpis) -> None:
    fake = kpi_bot.bot.fake
    with transaction(kpi_bot.bot.services.sessions) as session:
        [ritual] = ritual_store.list_active(session)
        ritual_store.delete(session, ritual.id)
        ritual_store.create(
            session,
            partnership_id=ritual.partnership_id,
            kind=RitualKind.KPI_CHECKIN,
            cron="0 10 * * 1,4",
            timezone="member-local",
            now=MONDAY - timedelta(days=1),
        )
    kpi_bot.clock.now = MONDAY - timedelta(days=1)
    kpi_bot.command(ADD, "ULEAD")
    kpi_bot.tick(datetime(2026, 3, 9, 4, 30, 5, tzinfo=UTC))  # 10:00 in Kolkata
    assert len(_posts(fake.calls, "UIVY")) == 1 and _posts(fake.calls, "UANA") == []
    kpi_bot.tick(PROMPT_AT)  # 10:00 in London
    assert len(_posts(fake.calls, "UANA")) == 1 and len(_posts(fake.calls, "UIVY")) == 1
    assert _posts(fake.calls, "UBEN") == []  # not an owner
