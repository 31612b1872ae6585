"""Joint KPIs end to end: define → prompt → check-in → board updated in place → celebration."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.kpi.views import KUDOS_ACTION_ID
from bot.outbox import OutboxSender, Pacer
from bot.tick import tick
from rituals.interactions import InteractionKind, InterdependenceType, RitualKind
from storage import audit, kpis, org
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


def _audit(kpi_bot: Kpis) -> list[audit.AuditEntry]:
    with kpi_bot.bot.services.sessions() as session:
        found = audit.recent(session, kpi_bot.bot.services.workspace_id(TEAM_ID), limit=100)
    return [e for e in reversed(found) if e.action.startswith("kpi.")]


def _board_updates(kpi_bot: Kpis) -> list[Call]:
    return [c for c in kpi_bot.bot.fake.calls if c.method == "chat.update"]


def test_leaders_edit_remove_and_restore_every_change_audited_and_undoable(
    kpi_bot: Kpis,
) -> None:
    fake = kpi_bot.bot.fake
    kpi_bot.command(ADD, "ULEAD")
    [board] = _posts(fake.calls, "CJOINT")
    assert board.reply is not None
    board_ts = board.reply["ts"]

    # An owner or a member who leads nothing may not change it; nothing is written.
    for who in ("UIVY", "UBEN"):
        refused = kpi_bot.command('kpi edit "Lead time" target=3', who)
        assert "Only admins and the partnership's leaders" in refused
        assert "Only admins" in kpi_bot.command('kpi remove "Lead time"', who)
    assert [e.action for e in _audit(kpi_bot)] == ["kpi.add"]
    # Bad edits change nothing either.
    for text, why in (
        ('kpi edit "Lead time" target=12', "below the baseline"),
        ('kpi edit "Lead time" by=2026-01-01', "after today"),
        ('kpi edit "Lead time" owners=<@UANA|ana>,<@UBEN|ben>', "two teams"),
        ('kpi edit "Nope" target=3', "No partnership has a KPI named"),
        ('kpi edit "Lead time" target=2', "nothing changed"),
    ):
        assert why in kpi_bot.command(text, "ULEAD"), text
    assert [e.action for e in _audit(kpi_bot)] == ["kpi.add"] and _board_updates(kpi_bot) == []

    # A leader moves the target and the date, and hands the KPI to two other owners.
    changed = kpi_bot.command(
        'kpi edit "Lead time" target=3 by=2026-07-01 owners=<@UBEN|ben>,<@UJO|jo>', "ULEAD"
    )
    assert "Changed *Lead time*: target 2 days → 3 days; target date 01 Jun 2026 → 01 Jul 2026" in (
        changed
    )
    assert "owners: <@UBEN>, <@UJO>" in changed
    undo = changed.split("To undo: `")[1].split("`")[0]
    assert undo == '/tandem kpi edit "Lead time" target=2 by=2026-06-01'
    assert "owners back to <@UANA>, <@UIVY>" in changed
    [edit] = [e for e in _audit(kpi_bot) if e.action == "kpi.edit"]
    assert edit.actor_user_id == "ULEAD" and edit.target.startswith("kpi:")
    assert edit.before == {"target": 2.0, "target_date": "2026-06-01", "owners": ["UANA", "UIVY"]}
    assert edit.after == {"target": 3.0, "target_date": "2026-07-01", "owners": ["UBEN", "UJO"]}
    [update] = _board_updates(kpi_bot)
    assert update.params["ts"] == board_ts  # the same board, edited in place
    assert "of 3 days by 01 Jul 2026" in json.dumps(update.json_param("blocks"))

    # The new owners are prompted, the old ones no longer.
    kpi_bot.tick(PROMPT_AT)
    assert len(_posts(fake.calls, "UBEN")) == 1 and len(_posts(fake.calls, "UJO")) == 1
    assert _posts(fake.calls, "UANA") == [] and _posts(fake.calls, "UIVY") == []

    # The undo the answer gave is a command like any other (the admin runs it here).
    undone = kpi_bot.command(undo.removeprefix("/tandem "), ADMIN)
    assert "target 3 days → 2 days" in undone
    assert [e.actor_user_id for e in _audit(kpi_bot) if e.action == "kpi.edit"] == [
        "ULEAD",
        ADMIN,
    ]

    # Removing it: the board drops it, check-ins and prompts stop; restoring brings it back.
    removed = kpi_bot.command('kpi remove "Lead time"', "ULEAD")
    assert "Removed *Lead time*" in removed and '`/tandem kpi restore "Lead time"`' in removed
    last = _board_updates(kpi_bot)[-1]
    assert last.params["ts"] == board_ts
    assert "No joint KPI at the moment" in json.dumps(last.json_param("blocks"))
    assert "has a KPI named `Lead time`" in kpi_bot.command('kpi update "Lead time" 5 done', "UBEN")
    assert "You own no joint KPI" in kpi_bot.command("kpi", "UBEN")
    assert "has a removed KPI" in kpi_bot.command(ADD, "ULEAD")
    kpi_bot.tick(PROMPT_AT + timedelta(days=7))
    assert len(_posts(fake.calls, "UBEN")) == 1  # no new prompt for a removed KPI
    assert "Restored *Lead time*" in kpi_bot.command('kpi restore "Lead time"', "ULEAD")
    assert "Lead time" in json.dumps(_board_updates(kpi_bot)[-1].json_param("blocks"))
    assert "Checked in" in kpi_bot.command('kpi update "Lead time" 8 back on', "UBEN")
    assert [e.action for e in _audit(kpi_bot)] == [
        "kpi.add",
        "kpi.edit",
        "kpi.edit",
        "kpi.remove",
        "kpi.restore",
    ]
    assert len(_posts(fake.calls, "CJOINT")) == 2  # the board once, and one celebration
    assert "No partnership has a removed KPI" in kpi_bot.command('kpi restore "Lead time"', "ULEAD")


def test_app_home_edits_and_removes_a_kpi_through_the_same_rules(kpi_bot: Kpis) -> None:
    from bot.kpi.form import EDIT_CALLBACK_ID, EDIT_OPEN_ACTION_ID, PICK_CALLBACK_ID
    from tests.fakes.signed import view_submission_payload

    fake = kpi_bot.bot.fake
    kpi_bot.command(ADD, "ULEAD")
    assert EDIT_OPEN_ACTION_ID in _open_home(kpi_bot, "ULEAD")
    assert EDIT_OPEN_ACTION_ID not in _open_home(kpi_bot, "UANA")  # an owner, not a leader

    def open_form(user_id: str) -> dict[str, Any]:
        opened = len(fake.calls_to("views.open"))
        click = block_actions_payload(EDIT_OPEN_ACTION_ID, None, user_id=user_id, channel_id=None)
        assert kpi_bot.bot.slack.interaction(click).status == 200
        return dict(fake.wait_for("views.open", count=opened + 1)[opened].json_param("view"))

    assert "Only admins and the partnership's leaders" in json.dumps(open_form("UANA"))
    pick = open_form("ULEAD")
    assert pick["callback_id"] == PICK_CALLBACK_ID
    [option] = pick["blocks"][0]["element"]["options"]
    assert option["text"]["text"] == "Lead time"

    def submit(callback: str, values: dict[str, Any], metadata: str = "") -> dict[str, Any]:
        sent = view_submission_payload(callback, values, user_id="ULEAD", private_metadata=metadata)
        response = kpi_bot.bot.slack.interaction(sent)
        assert response.status == 200
        return dict(response.json())

    picked = submit(
        PICK_CALLBACK_ID,
        {"kpi": {"value": {"type": "static_select", "selected_option": option}}},
    )
    assert picked["response_action"] == "update"
    form = picked["view"]
    assert form["callback_id"] == EDIT_CALLBACK_ID
    # The form comes filled in with the KPI as it is; read the values back as Slack would.
    values: dict[str, Any] = {}
    for block in form["blocks"]:
        element, kind = block["element"], block["element"]["type"]
        if kind == "plain_text_input":
            state = {"type": kind, "value": element.get("initial_value")}
        elif kind == "radio_buttons":
            state = {"type": kind, "selected_option": element.get("initial_option")}
        elif kind == "datepicker":
            state = {"type": kind, "selected_date": element.get("initial_date")}
        elif kind == "multi_users_select":
            state = {"type": kind, "selected_users": element.get("initial_users")}
        else:
            state = {"type": kind, "selected_options": []}
        values[block["block_id"]] = {"value": state}
    assert values["target"]["value"]["value"] == "2"
    assert values["owners"]["value"]["selected_users"] == ["UANA", "UIVY"]
    assert values["direction"]["value"]["selected_option"]["value"] == "lower"
    unchanged = submit(EDIT_CALLBACK_ID, values, form["private_metadata"])
    assert unchanged["response_action"] == "errors" and "nothing changed" in json.dumps(unchanged)

    values["target"]["value"]["value"] = "4"
    values["name"]["value"]["value"] = "Cycle time"
    done = submit(EDIT_CALLBACK_ID, values, form["private_metadata"])
    assert done["response_action"] == "update"
    assert "name Lead time → Cycle time; target 2 days → 4 days" in json.dumps(
        done, ensure_ascii=False
    )
    values["remove"]["value"]["selected_options"] = [{"value": "remove"}]
    values["target"]["value"]["value"] = "1"  # ignored: removing wins
    removed = submit(EDIT_CALLBACK_ID, values, form["private_metadata"])
    assert "Removed *Lead time*" not in json.dumps(removed)  # the form knew it by its old name
    assert "No partnership has a KPI named" in json.dumps(removed)
    # Picked again, the renamed KPI is removed.
    again = submit(
        PICK_CALLBACK_ID, {"kpi": {"value": {"type": "static_select", "selected_option": option}}}
    )
    values["name"]["value"]["value"] = "Cycle time"
    removed = submit(EDIT_CALLBACK_ID, values, again["view"]["private_metadata"])
    assert "Removed *Cycle time*" in json.dumps(removed)
    assert [e.action for e in _audit(kpi_bot)] == ["kpi.add", "kpi.edit", "kpi.remove"]


def test_the_prompt_opens_a_check_in_form_for_the_owners(kpi_bot: Kpis) -> None:
    from bot.kpi.views import CHECKIN_ACTION_ID, CHECKIN_CALLBACK_ID, NOTE_BLOCK, VALUE_BLOCK
    from tests.fakes.signed import view_submission_payload

    fake = kpi_bot.bot.fake
    kpi_bot.command(ADD, "ULEAD")
    kpi_bot.tick(PROMPT_AT)
    [prompt] = _posts(fake.calls, "UANA")
    button = next(
        e
        for b in prompt.json_param("blocks")
        for e in b.get("elements", [])
        if e.get("action_id") == CHECKIN_ACTION_ID
    )

    def click(user_id: str) -> dict[str, Any]:
        opened = len(fake.calls_to("views.open"))
        payload = block_actions_payload(
            CHECKIN_ACTION_ID, button["value"], user_id=user_id, channel_id="DUANA"
        )
        assert kpi_bot.bot.slack.interaction(payload).status == 200
        return dict(fake.wait_for("views.open", count=opened + 1)[opened].json_param("view"))

    assert "Only the KPI's owners" in json.dumps(click("UBEN"))
    form = click("UANA")
    assert form["callback_id"] == CHECKIN_CALLBACK_ID and "last value none yet" in json.dumps(form)

    def submit(value: str, note: str) -> dict[str, Any]:
        values = {
            VALUE_BLOCK: {"value": {"type": "plain_text_input", "value": value}},
            NOTE_BLOCK: {"value": {"type": "plain_text_input", "value": note}},
        }
        sent = view_submission_payload(
            CHECKIN_CALLBACK_ID, values, user_id="UANA", private_metadata=form["private_metadata"]
        )
        response = kpi_bot.bot.slack.interaction(sent)
        assert response.status == 200
        kpi_bot.drain()
        return dict(response.json())

    refused = submit("soon", "")
    assert refused["response_action"] == "errors" and VALUE_BLOCK in refused["errors"]
    done = submit("6", "new review rota <!here>\nsecond line")
    assert done["response_action"] == "update" and "Checked in" in json.dumps(done)
    assert "50 % of the way" in json.dumps(done)
    with kpi_bot.bot.services.sessions() as session:
        [state] = kpis.states(session, partnership_id=1)
    assert state.latest == 6.0
    update = _board_updates(kpi_bot)[-1]
    assert "6 days of 2 days" in json.dumps(update.json_param("blocks"))
    assert all(
        "<!here>" not in json.dumps(c.params) for c in fake.calls if c.method != "views.open"
    )
